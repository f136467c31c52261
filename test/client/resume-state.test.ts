// The handset's resumption rules (client/resume.ts) without I/O: when a ticket is
// presented, asked for, renewed, forgotten; the secret it derives is the gateway's;
// what a request's answer does after a forget; what the stats show (never a secret);
// tickets kept by the resume key they were issued under, across simulated gateways.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Resumption, RESUME_EXPIRY_MARGIN_MS, RESUME_MAX_KEYS, RESUME_MAX_TICKETS, RESUME_REJECT_FORGET_MS, wipe } from '../../client/resume.ts';
import { MAX_RESUME_VERIFIERS } from '../../relay/crypto/resume.ts';
import { x25519KeyPair, x25519SharedSecret } from '../../relay/crypto/engines.ts';
import { ticketSecret, resumeProof } from '../../relay/crypto/resume.ts';
import { bytesToHex } from '@noble/hashes/utils.js';

const route = new Uint8Array(randomBytes(32));
const device = new Uint8Array(randomBytes(16));
const nonce = () => new Uint8Array(randomBytes(32));
const noKey = new Uint8Array(0);

function gateway() {
  const kp = x25519KeyPair();
  return {
    resumeKey: kp.publicKey,
    /** The gateway's side of the secret, from the device's public key. */
    secretFor: (devicePublicKey: Uint8Array) => ticketSecret(x25519SharedSecret(kp.secretKey, devicePublicKey), device, devicePublicKey, kp.publicKey),
  };
}

/** A Resumption on a clock the test moves, holding one ticket of `lifetimeS` seconds. */
function holding(lifetimeS: number) {
  let now = 1_000_000;
  const r = new Resumption(true, () => now);
  const gw = gateway();
  const ask = r.begin(gw.resumeKey, device)!;
  const ticket = new Uint8Array(randomBytes(69));
  t.ok(ask.accept({ ticket, expiresInS: lifetimeS }));
  return { r, gw, ticket, secret: gw.secretFor(ask.publicKey), advance: (ms: number) => { now += ms; } };
}

t.test('a ticket is asked for after a signed auth only where the gateway announced a resume key', async (t) => {
  const r = new Resumption(true);
  const gw = gateway();
  t.equal(r.wantsTicket(noKey, false), false, 'no resume key (an older gateway): no request');
  t.equal(r.wantsTicket(gw.resumeKey, false), true, 'resume key: request');
  t.equal(r.presentable(gw.resumeKey, nonce(), route, device), null, 'nothing held: sign');
  const off = new Resumption(false);
  t.equal(off.wantsTicket(gw.resumeKey, false), false, 'turned off: never asks');
  t.equal(off.begin(gw.resumeKey, device), null);
  t.equal(off.stats.requested, 0);
});

t.test('the secret is the one the gateway derives; the proof is over the new nonce', async (t) => {
  const { r, gw, ticket, secret } = holding(3600);
  const n = nonce();
  const p = r.presentable(gw.resumeKey, n, route, device)!;
  t.same(p.ticket, ticket, 'the ticket as received');
  t.same(p.proof, resumeProof(secret, n, route, device), 'HMAC over this nonce with the shared secret');
  const n2 = nonce();
  t.notSame(r.presentable(gw.resumeKey, n2, route, device)!.proof, p.proof, 'another nonce, another proof');
  t.equal(r.presentable(noKey, nonce(), route, device), null, 'not to a gateway without a resume key');
  t.same(r.stats, { resumed: 0, refused: 0, authFailed: 0, requested: 1, issued: 1, failed: 0, lastError: '', holding: true, held: 1 });
});

t.test('not presented within 60 s of its expiry: forgotten, and the signed auth asks again', async (t) => {
  const { r, gw, advance } = holding(3600);
  advance(3600_000 - RESUME_EXPIRY_MARGIN_MS - 1);
  t.not(r.presentable(gw.resumeKey, nonce(), route, device), null, 'just outside the margin: presented');
  advance(1);
  t.equal(r.presentable(gw.resumeKey, nonce(), route, device), null, 'at the margin: sign');
  t.equal(r.stats.holding, false, 'forgotten');
  t.equal(r.wantsTicket(gw.resumeKey, false), true);
});

t.test('after a resumed auth, renewed once less than a quarter of its lifetime is left', async (t) => {
  const { r, gw, advance } = holding(4000);
  t.equal(r.wantsTicket(gw.resumeKey, true), false, 'fresh: no renewal');
  advance(3000_000);
  t.equal(r.wantsTicket(gw.resumeKey, true), false, 'exactly a quarter left: not yet');
  advance(1);
  t.equal(r.wantsTicket(gw.resumeKey, true), true, 'less than a quarter left: renew');
  t.equal(r.wantsTicket(noKey, true), false, 'not at a gateway without a resume key');
  // The renewal replaces the ticket.
  const ask = r.begin(gw.resumeKey, device)!;
  const next = new Uint8Array(randomBytes(69));
  t.ok(ask.accept({ ticket: next, expiresInS: 4000 }));
  t.same(r.presentable(gw.resumeKey, nonce(), route, device)!.ticket, next);
  t.equal(r.wantsTicket(gw.resumeKey, true), false, 'renewed: fresh again');
});

t.test('RESUME_REFUSED of the ticket held for a resume key forgets it; the next signed auth asks again', async (t) => {
  const { r, gw } = holding(3600);
  r.noteRefused(gw.resumeKey);
  t.equal(r.presentable(gw.resumeKey, nonce(), route, device), null);
  t.equal(r.stats.refused, 1);
  t.equal(r.stats.holding, false);
  t.equal(r.wantsTicket(gw.resumeKey, false), true);
});

t.test('an answer to a request begun before a forget or a disable is thrown away', async (t) => {
  const r = new Resumption(true);
  const gw = gateway();
  const ask = r.begin(gw.resumeKey, device)!;
  r.forget();
  t.equal(ask.accept({ ticket: new Uint8Array(69), expiresInS: 3600 }), false, 'forgotten meanwhile (an opt-out began)');
  t.equal(r.stats.holding, false);
  const ask2 = r.begin(gw.resumeKey, device)!;
  r.disable();
  t.equal(ask2.accept({ ticket: new Uint8Array(69), expiresInS: 3600 }), false, 'closed meanwhile');
  t.equal(r.stats.holding, false);
  t.equal(r.wantsTicket(gw.resumeKey, false), false, 'disabled: no more requests');
  t.equal(r.begin(gw.resumeKey, device), null);
});

t.test('failures are counted by code, an unusable answer too; the connect is not affected', async (t) => {
  const r = new Resumption(true);
  const gw = gateway();
  r.begin(gw.resumeKey, device)!.fail('UNAVAILABLE');
  t.equal(r.stats.failed, 1);
  t.equal(r.stats.lastError, 'UNAVAILABLE');
  t.equal(r.begin(gw.resumeKey, device)!.accept({ ticket: new Uint8Array(0), expiresInS: 3600 }), false, 'empty ticket');
  t.equal(r.begin(gw.resumeKey, device)!.accept({ ticket: new Uint8Array(69), expiresInS: 0 }), false, 'no lifetime');
  t.equal(r.stats.failed, 3);
  t.equal(r.stats.holding, false);
  // A low-order resume key (all zeros): the derivation fails, nothing is sent.
  t.equal(r.begin(new Uint8Array(32), device), null);
  t.equal(r.stats.failed, 4);
  t.equal(r.stats.requested, 3, 'that one was not sent');
  const ask = r.begin(gw.resumeKey, device)!;
  ask.fail('TIMEOUT');
  t.equal(ask.accept({ ticket: new Uint8Array(69), expiresInS: 3600 }), false, 'settled once');
});

t.test('stats carry no ticket or secret bytes', async (t) => {
  const { r } = holding(3600);
  const s = r.stats;
  t.same(Object.keys(s).sort(), ['authFailed', 'failed', 'held', 'holding', 'issued', 'lastError', 'refused', 'requested', 'resumed']);
  for (const v of Object.values(s)) t.ok(typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string');
});

t.test('wipe zeroes a buffer of its own, never a view into a shared one', async (t) => {
  const own = new Uint8Array([1, 2, 3]);
  wipe(own);
  t.same([...own], [0, 0, 0]);
  const slab = new Uint8Array([1, 2, 3, 4]);
  wipe(slab.subarray(1, 3));
  t.same([...slab], [1, 2, 3, 4], 'a view is left alone');
});

// ---- Tickets by resume key: a client moving through a list of gateways. ----

/** Which ticket key sealed each ticket a simulated gateway issued (by hex). */
type Sealed = Map<string, TicketKey>;

/** A sealing ticket key, and the resume_key a gateway derives from it (relay/relay.ts
 *  resumeKeyFromTicketKey; here simply drawn with it). */
interface TicketKey {
  resumeKey: Uint8Array;
}
const ticketKey = (): TicketKey => ({ resumeKey: x25519KeyPair().publicKey });

/** The keys a gateway uses, first seals, all open: its own (`own: true`, drawn anew at
 *  each restart), or a --resume-key-file shared with others (one object). */
interface KeyRing {
  keys: TicketKey[];
  own: boolean;
}
const ownKeys = (): KeyRing => ({ keys: [ticketKey()], own: true });
const sharedKeys = (): KeyRing => ({ keys: [ticketKey()], own: false });

/** A simulated gateway at `url`. Its challenge shows the resume key of the ring's first
 *  key as it read it at its last start (a shared file changed later is read at a roll). */
function simGateway(url: string, sealed: Sealed, ring: KeyRing = ownKeys()) {
  const g = {
    url,
    ring,
    keys: [...ring.keys],
    get resumeKey(): Uint8Array {
      return g.keys[0]!.resumeKey;
    },
    /** A restart: an own key is drawn anew, a shared file read again. */
    restart() {
      if (g.ring.own) g.ring.keys = [ticketKey()];
      g.keys = [...g.ring.keys];
    },
    opens: (ticket: Uint8Array) => g.keys.includes(sealed.get(bytesToHex(ticket))!),
    issue(): Uint8Array {
      const ticket = new Uint8Array(randomBytes(69));
      sealed.set(bytesToHex(ticket), g.keys[0]!);
      return ticket;
    },
  };
  return g;
}
type SimGateway = ReturnType<typeof simGateway>;

/** One connect as client/client.ts authenticate + askForTicket make it, the gateway
 *  answering at once: 'resumed', 'refused' (then signed) or 'signed', and '+ticket'
 *  when a ticket was asked for (and issued). */
function connectTo(r: Resumption, g: SimGateway): string {
  const p = r.presentable(g.resumeKey, nonce(), route, device);
  let resumed = false;
  let out = 'signed';
  if (p !== null) {
    if (g.opens(p.ticket)) {
      r.noteResumed();
      resumed = true;
      out = 'resumed';
    } else {
      r.noteRefused(g.resumeKey);
      out = 'refused';
    }
  }
  if (r.wantsTicket(g.resumeKey, resumed)) {
    const ask = r.begin(g.resumeKey, device)!;
    ask.accept({ ticket: g.issue(), expiresInS: 3600 });
    out += '+ticket';
  }
  return out;
}

/** The client's held tickets, by resume key (hex). */
const heldOf = (r: Resumption) => (r as unknown as { tickets: Map<string, { secret: Uint8Array }> }).tickets;

/** Gateways X and Y sealing into one map, with their own ticket keys or both with `ring`
 *  (a shared --resume-key-file), and a client's Resumption on the clock `now`: the
 *  start of most tests below, written once. */
function xAndY(ring?: KeyRing, now?: () => number) {
  const sealed: Sealed = new Map();
  const x = simGateway('wss://x.example/ws', sealed, ring);
  const y = simGateway('wss://y.example/ws', sealed, ring);
  return { sealed, x, y, r: new Resumption(true, now) };
}

/** xAndY with their own keys, the client having connected to X, then Y: a signed auth
 *  and a ticket at each (connectTo's results are checked where a test is about them). */
function holdingAtXAndY() {
  const g = xAndY();
  connectTo(g.r, g.x);
  connectTo(g.r, g.y);
  return g;
}

t.test('two gateways with their own ticket keys, alternated: each signs once and gets its ticket, then both resume; no refusal', async (t) => {
  const { x, y, r } = xAndY();
  t.equal(connectTo(r, x), 'signed+ticket', 'first connect, at X');
  t.equal(connectTo(r, y), 'signed+ticket', "Y shows another resume key: X's ticket is not tried there; signed, and Y's asked for");
  t.same([r.stats.held, r.stats.refused], [2, 0], "X's ticket kept (good where X's key is shown), Y's added");
  for (let i = 0; i < 10; i++) {
    t.equal(connectTo(r, x), 'resumed', 'at X: the ticket held for its key');
    t.equal(connectTo(r, y), 'resumed', "at Y: Y's");
  }
  t.same({ ...r.stats }, { resumed: 20, refused: 0, authFailed: 0, requested: 2, issued: 2, failed: 0, lastError: '', holding: true, held: 2 }, 'no refusal at all, two tickets asked for');
});

t.test('a gateway showing a resume key no ticket was issued under: signed at once, no other ticket tried', async (t) => {
  const { sealed, x, y, r } = holdingAtXAndY();
  const z = simGateway('wss://z.example/ws', sealed);
  t.equal(r.presentable(z.resumeKey, nonce(), route, device), null, 'two tickets held, none for Z\'s key: nothing presented');
  // Z's ticket requests fail: it is signed at every connect, never shown a ticket.
  for (let i = 0; i < 3; i++) {
    t.equal(r.presentable(z.resumeKey, nonce(), route, device), null);
    t.equal(r.wantsTicket(z.resumeKey, false), true, 'asked for its own');
    r.begin(z.resumeKey, device)!.fail('UNAVAILABLE');
  }
  t.equal(r.stats.refused, 0, 'no refusal');
  t.equal(connectTo(r, x), 'resumed', "X's and Y's tickets still held for their keys");
  t.equal(connectTo(r, y), 'resumed');
  t.equal(connectTo(r, z), 'signed+ticket');
  t.equal(connectTo(r, z), 'resumed');
  t.same([r.stats.held, r.stats.refused], [3, 0]);
});

t.test('gateways sharing ticket keys show the same resume key: one ticket resumes at both, no refusal', async (t) => {
  const ring = sharedKeys();
  const { x, y, r } = xAndY(ring);
  t.equal(connectTo(r, x), 'signed+ticket');
  t.equal(connectTo(r, y), 'resumed', "X's ticket at Y: the same resume key");
  t.equal(connectTo(r, x), 'resumed');
  t.equal(connectTo(r, y), 'resumed');
  t.same([r.stats.refused, r.stats.requested, r.stats.held], [0, 1, 1], 'no refusal, one ticket');
});

t.test('shared keys: a renewal at Y replaces the ticket X issued (one ticket per key)', async (t) => {
  let now = 1_000_000;
  const { x, y, r } = xAndY(sharedKeys(), () => now);
  connectTo(r, x);
  const first = [...heldOf(r).values()][0]!.secret;
  now += 3000_000; // 600 s of 3,600 left: under a quarter
  t.equal(connectTo(r, y), 'resumed+ticket', 'renewed at Y');
  t.equal(r.stats.held, 1, "Y's new ticket replaced X's");
  t.ok(first.every((b) => b === 0), "the replaced ticket's secret wiped");
  t.equal(connectTo(r, x), 'resumed', "Y's ticket at X");
  t.equal(r.wantsTicket(x.resumeKey, true), false, 'fresh: not renewed again');
  t.equal(r.stats.requested, 2);
});

t.test("a gateway restart with its own key (a new resume key): signed once, no refusal, a new ticket; the other gateway's unaffected", async (t) => {
  const { sealed, x, y, r } = holdingAtXAndY();
  x.restart();
  t.equal(connectTo(r, x), 'signed+ticket', "X's old ticket is not shown to the new key: signed, a fresh one");
  t.equal(connectTo(r, x), 'resumed', 'the fresh one resumes');
  t.equal(connectTo(r, y), 'resumed', "Y's still good at Y");
  t.equal(r.stats.refused, 0, 'no refusal');
  t.equal(r.stats.requested, 3);
  // A restart of gateways sharing a key file: the same resume key, the ticket still resumes.
  const ring = sharedKeys();
  const a = simGateway('wss://a.example/ws', sealed, ring);
  const b = simGateway('wss://b.example/ws', sealed, ring);
  t.equal(connectTo(r, a), 'signed+ticket');
  a.restart();
  b.restart();
  t.equal(connectTo(r, a), 'resumed', 'shared key across a restart: the same resume key, resumed');
  t.equal(connectTo(r, b), 'resumed');
  t.equal(r.stats.refused, 0);
});

t.test('a rotation of the shared key (a new first key, rolled gateway by gateway): signed once at the first rolled one, then the new ticket serves both', async (t) => {
  const ring = sharedKeys();
  const { x, y, r } = xAndY(ring);
  t.equal(connectTo(r, x), 'signed+ticket');
  ring.keys = [ticketKey(), ...ring.keys]; // OPERATIONS "Rolling restarts", step 2
  x.restart();
  t.equal(connectTo(r, x), 'signed+ticket', 'X rolled: a new resume key, signed once, a ticket under it');
  t.equal(connectTo(r, y), 'resumed', 'Y not rolled yet: still the old key, the old ticket');
  y.restart();
  t.equal(connectTo(r, y), 'resumed', 'Y rolled: the new key, the ticket X issued under it');
  t.equal(connectTo(r, x), 'resumed');
  t.same([r.stats.refused, r.stats.requested], [0, 2]);
});

t.test('a refusal forgets only the ticket held for that resume key', async (t) => {
  const { sealed, x, y, r } = holdingAtXAndY();
  sealed.clear(); // the device's record changed: no ticket opens any more
  t.equal(connectTo(r, x), 'refused+ticket', 'refused at X, signed on the same socket, asked again');
  t.equal(r.stats.held, 2, "Y's ticket kept");
  t.equal(connectTo(r, x), 'resumed', 'the new one resumes at X');
  t.equal(r.stats.refused, 1);
});

t.test('at most 4 resume keys\' tickets (as many as the record keeps verifiers), the least recently used dropped (its secret wiped)', async (t) => {
  t.equal(RESUME_MAX_TICKETS, 4);
  t.equal(RESUME_MAX_TICKETS, MAX_RESUME_VERIFIERS, 'the directory record\'s bound');
  const sealed: Sealed = new Map();
  const gws = Array.from({ length: 6 }, (_, i) => simGateway(`wss://gw${i}.example/ws`, sealed));
  const r = new Resumption(true);
  for (const g of gws.slice(0, 4)) t.equal(connectTo(r, g), 'signed+ticket');
  t.equal(r.stats.held, 4);
  t.equal(connectTo(r, gws[0]!), 'resumed', 'gw0 used again: now the most recent');
  const gw1Secret = heldOf(r).get(bytesToHex(gws[1]!.resumeKey))!.secret;
  t.equal(connectTo(r, gws[4]!), 'signed+ticket', 'a fifth key');
  t.equal(r.stats.held, 4, 'still 4');
  t.notOk(heldOf(r).has(bytesToHex(gws[1]!.resumeKey)), 'gw1, the least recently used, dropped');
  t.ok(gw1Secret.every((b) => b === 0), 'and its secret wiped');
  t.equal(connectTo(r, gws[0]!), 'resumed', 'gw0 kept');
  t.equal(connectTo(r, gws[1]!), 'signed+ticket', 'gw1 signs again (no refusal: nothing held for its key)');
  t.equal(r.stats.held, 4);
  t.equal(r.stats.refused, 0);
});

t.test('AUTH_FAILED to a resume: every ticket forgotten (wiped), counted; no ticket asked for or presented under that resume key again; other keys resume', async (t) => {
  const { x, y, r } = holdingAtXAndY();
  const held = [...heldOf(r).values()];
  const late = r.begin(x.resumeKey, device)!; // a request under way meanwhile
  r.noteAuthFailed(x.resumeKey);
  t.same({ ...r.stats }, { resumed: 0, refused: 0, authFailed: 1, requested: 3, issued: 2, failed: 0, lastError: 'AUTH_FAILED', holding: false, held: 0 });
  for (const h of held) t.ok(h.secret.every((b) => b === 0), 'secret wiped');
  t.equal(late.accept({ ticket: x.issue(), expiresInS: 3600 }), false, 'an answer to a request begun before is thrown away');
  for (let i = 0; i < 3; i++) t.equal(connectTo(r, x), 'signed', 'X: signed, no ticket asked for');
  const direct = r.begin(x.resumeKey, device)!;
  t.equal(direct.accept({ ticket: x.issue(), expiresInS: 3600 }), false, 'a ticket for that key is not kept, however it came');
  t.equal(r.presentable(x.resumeKey, nonce(), route, device), null);
  t.equal(connectTo(r, y), 'signed+ticket', "Y: its ticket was forgotten too; signed, and a new one asked for");
  t.equal(connectTo(r, y), 'resumed');
  r.forget();
  t.equal(connectTo(r, x), 'signed', 'a forget (an opt-out begun and failed) does not clear it');
  t.equal(r.stats.authFailed, 1);
  // A restart of X with a key of its own, or a rotation: a new resume key, which resumes.
  x.restart();
  t.equal(connectTo(r, x), 'signed+ticket');
  t.equal(connectTo(r, x), 'resumed');
});

t.test('a resume key remembered as rejecting is forgotten after RESUME_REJECT_FORGET_MS: a ticket is tried there again', async (t) => {
  t.equal(RESUME_REJECT_FORGET_MS, 6 * 3600_000, '6 hours');
  let now = 1_000_000;
  const sealed: Sealed = new Map();
  const x = simGateway('wss://x.example/ws', sealed, sharedKeys());
  const r = new Resumption(true, () => now);
  t.equal(connectTo(r, x), 'signed+ticket');
  r.noteAuthFailed(x.resumeKey);
  now += RESUME_REJECT_FORGET_MS - 1;
  t.equal(connectTo(r, x), 'signed', 'within 6 hours: no ticket asked for there');
  now += 1;
  t.equal(connectTo(r, x), 'signed+ticket', 'then (the gateway fixed, its resume key the same) a ticket is asked for');
  t.equal(connectTo(r, x), 'resumed', 'and presented');
  // Still rejecting: one more AUTH_FAILED, then another 6 hours without.
  r.noteAuthFailed(x.resumeKey);
  t.equal(connectTo(r, x), 'signed', 'remembered again');
  now += RESUME_REJECT_FORGET_MS / 2;
  t.equal(connectTo(r, x), 'signed', 'counted from the last AUTH_FAILED');
  t.equal(r.stats.authFailed, 2);
});

t.test('at most 8 resume keys are remembered as rejecting, the least recently seen dropped first', async (t) => {
  const sealed: Sealed = new Map();
  const gws = Array.from({ length: 10 }, (_, i) => simGateway(`wss://gw${i}.example/ws`, sealed));
  const r = new Resumption(true);
  for (const g of gws.slice(0, 8)) {
    t.equal(connectTo(r, g), 'signed+ticket');
    r.noteAuthFailed(g.resumeKey);
  }
  t.equal(connectTo(r, gws[0]!), 'signed', 'gw0 seen again: now the most recent');
  t.equal(connectTo(r, gws[8]!), 'signed+ticket', 'a ninth');
  r.noteAuthFailed(gws[8]!.resumeKey);
  t.equal(connectTo(r, gws[1]!), 'signed+ticket', 'gw1, the least recently seen, dropped: a ticket is asked for there again');
  t.equal(connectTo(r, gws[1]!), 'resumed', 'and presented (one more rejection at most, then remembered again)');
  for (const i of [0, 2, 3, 4, 5, 6, 7, 8]) t.equal(connectTo(r, gws[i]!), 'signed', `gw${i} still remembered`);
  t.equal(r.stats.authFailed, 9);
});

t.test('close (disable) wipes every ticket', async (t) => {
  const { x, y, r } = holdingAtXAndY();
  const held = [...heldOf(r).values()];
  t.equal(held.length, 2);
  r.disable();
  t.same([r.stats.held, r.stats.holding], [0, false]);
  for (const h of held) t.ok(h.secret.every((b) => b === 0), 'secret wiped');
  t.equal(connectTo(r, x), 'signed', 'nothing presented or asked for after');
});
