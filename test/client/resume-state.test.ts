// The handset's resumption rules (client/resume.ts) without I/O: when a ticket is
// presented, asked for, renewed, forgotten; the secret it derives is the gateway's;
// what a request's answer does after a forget; what the stats show (never a secret).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Resumption, RESUME_EXPIRY_MARGIN_MS, RESUME_MAX_GATEWAYS, wipe } from '../../client/resume.ts';
import { x25519KeyPair, x25519SharedSecret } from '../../relay/crypto/engines.ts';
import { ticketSecret, resumeProof } from '../../relay/crypto/resume.ts';

const route = new Uint8Array(randomBytes(32));
const device = new Uint8Array(randomBytes(16));
const nonce = () => new Uint8Array(randomBytes(32));
const noKey = new Uint8Array(0);
const URL = 'wss://gw-a.example/ws';

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
  const ask = r.begin(URL, gw.resumeKey, device)!;
  const ticket = new Uint8Array(randomBytes(69));
  t.ok(ask.accept({ ticket, expiresInS: lifetimeS }));
  return { r, gw, ticket, secret: gw.secretFor(ask.publicKey), advance: (ms: number) => { now += ms; } };
}

t.test('a ticket is asked for after a signed auth only where the gateway announced a resume key', async (t) => {
  const r = new Resumption(true);
  const gw = gateway();
  t.equal(r.wantsTicket(noKey, null), false, 'no resume key (an older gateway): no request');
  t.equal(r.wantsTicket(gw.resumeKey, null), true, 'resume key: request');
  t.equal(r.presentable(URL, gw.resumeKey, nonce(), route, device), null, 'nothing held: sign');
  const off = new Resumption(false);
  t.equal(off.wantsTicket(gw.resumeKey, null), false, 'turned off: never asks');
  t.equal(off.begin(URL, gw.resumeKey, device), null);
  t.equal(off.stats.requested, 0);
});

t.test('the secret is the one the gateway derives; the proof is over the new nonce', async (t) => {
  const { r, gw, ticket, secret } = holding(3600);
  const n = nonce();
  const p = r.presentable(URL, gw.resumeKey, n, route, device)!;
  t.same(p.ticket, ticket, 'the ticket as received');
  t.same(p.proof, resumeProof(secret, n, route, device), 'HMAC over this nonce with the shared secret');
  const n2 = nonce();
  t.notSame(r.presentable(URL, gw.resumeKey, n2, route, device)!.proof, p.proof, 'another nonce, another proof');
  t.equal(r.presentable(URL, noKey, nonce(), route, device), null, 'not to a gateway without a resume key');
  t.same(r.stats, { resumed: 0, refused: 0, requested: 1, issued: 1, failed: 0, lastError: '', holding: true, held: 1 });
});

t.test('not presented within 60 s of its expiry: forgotten, and the signed auth asks again', async (t) => {
  const { r, gw, advance } = holding(3600);
  advance(3600_000 - RESUME_EXPIRY_MARGIN_MS - 1);
  t.not(r.presentable(URL, gw.resumeKey, nonce(), route, device), null, 'just outside the margin: presented');
  advance(1);
  t.equal(r.presentable(URL, gw.resumeKey, nonce(), route, device), null, 'at the margin: sign');
  t.equal(r.stats.holding, false, 'forgotten');
  t.equal(r.wantsTicket(gw.resumeKey, null), true);
});

t.test('after a resumed auth, renewed once less than a quarter of its lifetime is left', async (t) => {
  const { r, gw, advance } = holding(4000);
  t.equal(r.wantsTicket(gw.resumeKey, URL), false, 'fresh: no renewal');
  advance(3000_000);
  t.equal(r.wantsTicket(gw.resumeKey, URL), false, 'exactly a quarter left: not yet');
  advance(1);
  t.equal(r.wantsTicket(gw.resumeKey, URL), true, 'less than a quarter left: renew');
  t.equal(r.wantsTicket(noKey, URL), false, 'not at a gateway without a resume key');
  // The renewal replaces the ticket.
  const ask = r.begin(URL, gw.resumeKey, device)!;
  const next = new Uint8Array(randomBytes(69));
  t.ok(ask.accept({ ticket: next, expiresInS: 4000 }));
  t.same(r.presentable(URL, gw.resumeKey, nonce(), route, device)!.ticket, next);
  t.equal(r.wantsTicket(gw.resumeKey, URL), false, 'renewed: fresh again');
});

t.test("RESUME_REFUSED of a gateway's own ticket forgets it; the next signed auth asks again", async (t) => {
  const { r, gw } = holding(3600);
  r.noteRefused(URL, URL);
  t.equal(r.presentable(URL, gw.resumeKey, nonce(), route, device), null);
  t.equal(r.stats.refused, 1);
  t.equal(r.stats.holding, false);
  t.equal(r.wantsTicket(gw.resumeKey, null), true);
});

t.test('an answer to a request begun before a forget or a disable is thrown away', async (t) => {
  const r = new Resumption(true);
  const gw = gateway();
  const ask = r.begin(URL, gw.resumeKey, device)!;
  r.forget();
  t.equal(ask.accept({ ticket: new Uint8Array(69), expiresInS: 3600 }), false, 'forgotten meanwhile (an opt-out began)');
  t.equal(r.stats.holding, false);
  const ask2 = r.begin(URL, gw.resumeKey, device)!;
  r.disable();
  t.equal(ask2.accept({ ticket: new Uint8Array(69), expiresInS: 3600 }), false, 'closed meanwhile');
  t.equal(r.stats.holding, false);
  t.equal(r.wantsTicket(gw.resumeKey, null), false, 'disabled: no more requests');
  t.equal(r.begin(URL, gw.resumeKey, device), null);
});

t.test('failures are counted by code, an unusable answer too; the connect is not affected', async (t) => {
  const r = new Resumption(true);
  const gw = gateway();
  r.begin(URL, gw.resumeKey, device)!.fail('UNAVAILABLE');
  t.equal(r.stats.failed, 1);
  t.equal(r.stats.lastError, 'UNAVAILABLE');
  t.equal(r.begin(URL, gw.resumeKey, device)!.accept({ ticket: new Uint8Array(0), expiresInS: 3600 }), false, 'empty ticket');
  t.equal(r.begin(URL, gw.resumeKey, device)!.accept({ ticket: new Uint8Array(69), expiresInS: 0 }), false, 'no lifetime');
  t.equal(r.stats.failed, 3);
  t.equal(r.stats.holding, false);
  // A low-order resume key (all zeros): the derivation fails, nothing is sent.
  t.equal(r.begin(URL, new Uint8Array(32), device), null);
  t.equal(r.stats.failed, 4);
  t.equal(r.stats.requested, 3, 'that one was not sent');
  const ask = r.begin(URL, gw.resumeKey, device)!;
  ask.fail('TIMEOUT');
  t.equal(ask.accept({ ticket: new Uint8Array(69), expiresInS: 3600 }), false, 'settled once');
});

t.test('stats carry no ticket or secret bytes', async (t) => {
  const { r } = holding(3600);
  const s = r.stats;
  t.same(Object.keys(s).sort(), ['failed', 'held', 'holding', 'issued', 'lastError', 'refused', 'requested', 'resumed']);
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

// ---- Tickets per gateway: a client rotating through a list of gateways. ----

/** Which ticket key sealed each ticket a simulated gateway issued (by hex). */
type Sealed = Map<string, object>;

/** A simulated gateway at `url`: its resume key (drawn anew at each restart) and its
 *  ticket key (its own, drawn anew at a restart, unless `shared`, as --resume-key-file). */
function simGateway(url: string, sealed: Sealed, shared?: object) {
  const g = {
    url,
    resumeKey: x25519KeyPair().publicKey,
    ticketKey: shared ?? {},
    restart() {
      g.resumeKey = x25519KeyPair().publicKey;
      if (!shared) g.ticketKey = {};
    },
    opens: (ticket: Uint8Array) => sealed.get(Buffer.from(ticket).toString('hex')) === g.ticketKey,
    issue(): Uint8Array {
      const ticket = new Uint8Array(randomBytes(69));
      sealed.set(Buffer.from(ticket).toString('hex'), g.ticketKey);
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
  const p = r.presentable(g.url, g.resumeKey, nonce(), route, device);
  let resumedWith: string | null = null;
  let out = 'signed';
  if (p !== null) {
    if (g.opens(p.ticket)) {
      r.noteResumed();
      resumedWith = p.issuer;
      out = 'resumed';
    } else {
      r.noteRefused(g.url, p.issuer);
      out = 'refused';
    }
  }
  if (r.wantsTicket(g.resumeKey, resumedWith)) {
    const ask = r.begin(g.url, g.resumeKey, device, resumedWith)!;
    ask.accept({ ticket: g.issue(), expiresInS: 3600 });
    out += '+ticket';
  }
  return out;
}

t.test('two gateways with their own ticket keys, alternated: after one round each resumes with its own ticket', async (t) => {
  const sealed: Sealed = new Map();
  const x = simGateway('wss://x.example/ws', sealed);
  const y = simGateway('wss://y.example/ws', sealed);
  const r = new Resumption(true);
  t.equal(connectTo(r, x), 'signed+ticket', 'first connect, at X');
  t.equal(connectTo(r, y), 'refused+ticket', "Y cannot open X's ticket: signed, and Y's own asked for");
  t.same([r.stats.held, r.stats.refused], [2, 1], "X's ticket kept (good at X), Y's added");
  t.equal(connectTo(r, x), 'resumed', "back at X: X's own ticket");
  t.equal(connectTo(r, y), 'resumed', "at Y: Y's own");
  for (let i = 0; i < 10; i++) {
    t.equal(connectTo(r, x), 'resumed');
    t.equal(connectTo(r, y), 'resumed');
  }
  t.same({ ...r.stats }, { resumed: 22, refused: 1, requested: 2, issued: 2, failed: 0, lastError: '', holding: true, held: 2 }, 'one refusal in all, two tickets asked for');
});

t.test('a third gateway is not offered a ticket of an issuer it refused; it resumes with its own once it has one', async (t) => {
  const sealed: Sealed = new Map();
  const [x, y, z] = ['x', 'y', 'z'].map((n) => simGateway(`wss://${n}.example/ws`, sealed));
  let now = 1_000_000;
  const r = new Resumption(true, () => now);
  t.equal(connectTo(r, x), 'signed+ticket');
  now += 1000;
  t.equal(connectTo(r, y), 'refused+ticket');
  now += 1000;
  // Z's ticket requests fail: it refuses Y's ticket (the newest), then X's, then none is offered.
  const failing = (g: SimGateway) => {
    const p = r.presentable(g.url, g.resumeKey, nonce(), route, device);
    if (p !== null) r.noteRefused(g.url, p.issuer);
    if (r.wantsTicket(g.resumeKey, null)) r.begin(g.url, g.resumeKey, device)!.fail('UNAVAILABLE');
    return p === null ? 'signed' : `refused ${p.issuer === y!.url ? 'Y' : 'X'}`;
  };
  t.equal(failing(z!), 'refused Y', 'the most recently issued other ticket first');
  t.equal(failing(z!), 'refused X', 'then the next issuer not refused there');
  t.equal(failing(z!), 'signed', 'then none: signed at once, no refused round trip');
  t.equal(r.stats.refused, 3, "one at Y (X's ticket), two at Z");
  t.equal(connectTo(r, x), 'resumed', "X's and Y's tickets still held for their own gateways");
  t.equal(connectTo(r, y), 'resumed');
  t.equal(connectTo(r, z!), 'signed+ticket');
  t.equal(connectTo(r, z!), 'resumed');
  t.equal(r.stats.held, 3);
});

t.test('gateways sharing ticket keys: a ticket from X resumes at Y without a refusal, and is the only one asked for', async (t) => {
  const sealed: Sealed = new Map();
  const key = {};
  const x = simGateway('wss://x.example/ws', sealed, key);
  const y = simGateway('wss://y.example/ws', sealed, key);
  const r = new Resumption(true);
  t.equal(connectTo(r, x), 'signed+ticket');
  t.equal(connectTo(r, y), 'resumed', "X's ticket at Y");
  t.equal(connectTo(r, x), 'resumed');
  t.same([r.stats.refused, r.stats.requested, r.stats.held], [0, 1, 1], 'no refusal, one ticket');
});

t.test("shared keys: a renewal at Y of X's ticket replaces it (one ticket, not one per gateway)", async (t) => {
  const sealed: Sealed = new Map();
  const key = {};
  const x = simGateway('wss://x.example/ws', sealed, key);
  const y = simGateway('wss://y.example/ws', sealed, key);
  let now = 1_000_000;
  const r = new Resumption(true, () => now);
  connectTo(r, x);
  now += 3000_000; // 600 s of 3,600 left: under a quarter
  t.equal(connectTo(r, y), 'resumed+ticket', 'renewed at Y');
  t.equal(r.stats.held, 1, "Y's new ticket replaced X's");
  t.equal(connectTo(r, x), 'resumed', "Y's ticket at X");
  t.equal(r.stats.requested, 2);
});

t.test('at most 8 gateways\' tickets, the least recently used dropped (its secret wiped)', async (t) => {
  t.equal(RESUME_MAX_GATEWAYS, 8);
  const sealed: Sealed = new Map();
  const gws = Array.from({ length: 10 }, (_, i) => simGateway(`wss://gw${i}.example/ws`, sealed));
  const r = new Resumption(true);
  const secrets = () => (r as unknown as { tickets: Map<string, { secret: Uint8Array }> }).tickets;
  for (const g of gws.slice(0, 8)) connectTo(r, g);
  t.equal(r.stats.held, 8);
  t.equal(connectTo(r, gws[0]!), 'resumed', 'gw0 used again: now the most recent');
  const gw1Secret = secrets().get(gws[1]!.url)!.secret;
  t.equal(connectTo(r, gws[8]!), 'refused+ticket', 'a ninth gateway');
  t.equal(r.stats.held, 8, 'still 8');
  t.notOk(secrets().has(gws[1]!.url), 'gw1, the least recently used, dropped');
  t.ok(gw1Secret.every((b) => b === 0), 'and its secret wiped');
  t.equal(connectTo(r, gws[0]!), 'resumed', 'gw0 kept');
  t.equal(connectTo(r, gws[1]!), 'refused+ticket', 'gw1 has to sign again (refused a newer ticket of another gateway)');
  t.equal(r.stats.held, 8);
});

t.test("a gateway restart (a new resume_key at X): X's old ticket refused once, then a fresh one; its refusals forgotten", async (t) => {
  const sealed: Sealed = new Map();
  const x = simGateway('wss://x.example/ws', sealed);
  const y = simGateway('wss://y.example/ws', sealed);
  const r = new Resumption(true);
  connectTo(r, y);
  t.equal(connectTo(r, x), 'refused+ticket', "X refuses Y's ticket");
  x.restart();
  t.equal(connectTo(r, x), 'refused+ticket', "X's own old ticket: refused once, signed, a fresh one");
  t.equal(connectTo(r, x), 'resumed', 'the fresh one resumes');
  t.equal(connectTo(r, y), 'resumed', "Y's ticket still good at Y");
  t.equal(r.stats.refused, 2);
  // X's refusal of Y's tickets was under its old key: after another restart, now sharing
  // Y's ticket key, X is offered Y's ticket again (its own old one refused first).
  const shared = simGateway('wss://x.example/ws', sealed, y.ticketKey);
  shared.resumeKey = x25519KeyPair().publicKey;
  t.equal(connectTo(r, shared), 'refused+ticket', "X's own old ticket refused");
  (r as unknown as { tickets: Map<string, unknown> }).tickets.delete(shared.url); // as if X's request had failed
  t.equal(connectTo(r, shared), 'resumed', "Y's ticket offered at X again: X's key changed since it refused Y's");
});

t.test("a refusal of another gateway's ticket is remembered only under X's resume key at the time", async (t) => {
  const sealed: Sealed = new Map();
  const x = simGateway('wss://x.example/ws', sealed);
  const y = simGateway('wss://y.example/ws', sealed);
  const r = new Resumption(true);
  connectTo(r, y);
  const p = r.presentable(x.url, x.resumeKey, nonce(), route, device)!;
  r.noteRefused(x.url, p.issuer);
  t.equal(r.presentable(x.url, x.resumeKey, nonce(), route, device), null, "not offered Y's again at X");
  t.not(r.presentable(y.url, y.resumeKey, nonce(), route, device), null, 'still presented at Y');
  t.not(r.presentable(x.url, x25519KeyPair().publicKey, nonce(), route, device), null, 'X restarted (a new resume key): offered again');
});

t.test('close (disable) wipes every gateway\'s ticket and forgets the refusals', async (t) => {
  const sealed: Sealed = new Map();
  const x = simGateway('wss://x.example/ws', sealed);
  const y = simGateway('wss://y.example/ws', sealed);
  const r = new Resumption(true);
  connectTo(r, x);
  connectTo(r, y);
  const held = [...(r as unknown as { tickets: Map<string, { secret: Uint8Array }> }).tickets.values()];
  t.equal(held.length, 2);
  r.disable();
  t.same([r.stats.held, r.stats.holding], [0, false]);
  for (const h of held) t.ok(h.secret.every((b) => b === 0), 'secret wiped');
  t.equal((r as unknown as { refusals: Map<string, unknown> }).refusals.size, 0, 'refusals forgotten');
});
