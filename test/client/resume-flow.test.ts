// The SDK's resumption flow (client/client.ts authenticate, askForTicket; docs/CLIENT.md
// "Resumption") against a scripted gateway that issues and checks tickets as section 13
// of docs/PROTOCOL.md says, with the real secret derivation and proof: every op the
// client writes is recorded, so each check is on the wire. The same against the real
// gateway: resume-gateway.test.ts.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { HushwireClient, MemoryStore, type ProfileStore, type StateChange } from '../../client/index.ts';
import { writeDevice, writeGateways } from '../../client/profile-data.ts';
import { generateIdentity, verify, authInput } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { x25519KeyPair, x25519SharedSecret } from '../../relay/crypto/engines.ts';
import { ticketSecret, resumeProof } from '../../relay/crypto/resume.ts';
import type { OpProps } from '../../relay/wire.ts';
import { startFakeGateway, until, type FakeConn, type FakeGateway } from './fake-gateway.ts';

const oprfPublicKey = new Uint8Array(32).fill(7);

interface Device {
  store: ProfileStore;
  route: Uint8Array;
  device: Uint8Array;
  identityPublic: Uint8Array;
}

async function profile(): Promise<Device> {
  const id = generateIdentity();
  const pk = generateKeyPair();
  const d = {
    device: new Uint8Array(randomBytes(16)),
    identitySecret: id.secretKey,
    identityPublic: id.publicKey,
    prekeySecret: pk.secretKey,
    prekeyPublic: pk.publicKey,
    number: '+15550100001',
    route: new Uint8Array(randomBytes(32)),
    oprfPublicKey,
    registeredAt: new Date().toISOString(),
    prekeySince: Date.now(),
  };
  const store = new MemoryStore();
  await writeDevice(store, d);
  await writeGateways(store, ['ws://127.0.0.1:1/ws']);
  return { store, route: d.route, device: d.device, identityPublic: d.identityPublic };
}

interface Ticketing {
  gw: FakeGateway;
  /** Per connection: 'signed', 'resumed', 'refused' (then signed), in order. */
  auths: string[][];
  ticketRequests: number;
  /** Tickets issued, by hex, with their secret (shared by gateways sharing the key). */
  tickets: Map<string, Uint8Array>;
  /** Its X25519 resume key pair (the challenge's resume_key is the public half). */
  key: { secretKey: Uint8Array; publicKey: Uint8Array };
}

interface TicketingOptions {
  /** Challenge without resume_key (a gateway older than tickets, or tickets off). */
  noResumeKey?: boolean;
  expiresInS?: number;
  /** Answer ticket requests with this error code instead. */
  ticketError?: string;
  /** Never answer ticket requests. */
  ticketSilent?: boolean;
  /** Answer a ticket auth AUTH_FAILED and close 4002, as a gateway answers a resume it
   *  takes as malformed or as the connection's second (a disagreement over the rules). */
  failResume?: boolean;
  /** Close 4002 on a ticket auth without answering it (its AUTH_FAILED answer lost, or
   *  overtaken by the close). */
  closeResume?: boolean;
  /** Answer signed auths AUTH_FAILED and close 4002 (a key the gateway refuses). */
  refuseSigned?: boolean;
  /** Share this gateway's ticket key (as --resume-key-file): the same resume_key in the
   *  challenge, and each opens the other's tickets. */
  sharing?: Ticketing;
}

/** A scripted gateway issuing tickets: the secret as relay/crypto/resume.ts derives it
 *  from its own X25519 key, a random 69-byte ticket, the proof checked over the nonce.
 *  Closed at the end of `t` (every test here wants that, so it is said once). */
async function ticketing(t: { teardown(fn: () => unknown): void }, dev: Device, opts: TicketingOptions = {}): Promise<Ticketing> {
  const key = opts.sharing?.key ?? x25519KeyPair();
  const state: Omit<Ticketing, 'gw'> = { auths: [], ticketRequests: 0, tickets: opts.sharing?.tickets ?? new Map(), key };
  const perConn = new WeakMap<FakeConn, string[]>();
  const log = (c: FakeConn) => {
    let l = perConn.get(c);
    if (!l) {
      l = [];
      perConn.set(c, l);
      state.auths.push(l);
    }
    return l;
  };
  const handler = (c: FakeConn, op: OpProps) => {
    const reply = (body: OpProps) => c.send([{ req: op.req!, ...body }]);
    if (op.auth) {
      const a = op.auth;
      if (a.ticket && a.ticket.length > 0) {
        const secret = state.tickets.get(bytesToHex(a.ticket));
        if (!secret) {
          log(c).push('refused');
          return reply({ error: { code: 'RESUME_REFUSED', message: 'resume refused' } });
        }
        if (opts.closeResume) {
          log(c).push('rejected, unanswered');
          return c.close(4002, 'authentication failed');
        }
        if (opts.failResume) {
          log(c).push('rejected');
          reply({ error: { code: 'AUTH_FAILED', message: 'authentication failed' } });
          return c.close(4002, 'authentication failed');
        }
        const ok = bytesToHex(resumeProof(secret, c.nonce, dev.route, dev.device)) === bytesToHex(a.proof!);
        log(c).push(ok ? 'resumed' : 'bad proof');
        return reply(ok ? { ok: {} } : { error: { code: 'RESUME_REFUSED', message: 'resume refused' } });
      }
      const ok = !opts.refuseSigned && verify(dev.identityPublic, authInput(c.nonce, dev.route, dev.device), a.signature!);
      log(c).push(ok ? (a.sendOnly ? 'signed send-only' : 'signed') : 'bad signature');
      if (!ok) {
        reply({ error: { code: 'AUTH_FAILED', message: 'authentication failed' } });
        return c.close(4002, 'authentication failed');
      }
      return reply({ ok: {} });
    }
    if (op.ticketRequest) {
      state.ticketRequests++;
      if (opts.ticketSilent) return;
      if (opts.ticketError) return reply({ error: { code: opts.ticketError, message: 'no ticket' } });
      const pub = op.ticketRequest.publicKey!;
      const secret = ticketSecret(x25519SharedSecret(key.secretKey, pub), dev.device, pub, key.publicKey);
      const ticket = new Uint8Array(randomBytes(69));
      state.tickets.set(bytesToHex(ticket), secret);
      return reply({ ticket: { ticket, expiresInS: opts.expiresInS ?? 3600 } });
    }
    if (op.unregister) return reply({ ok: {} });
  };
  const gw = await startFakeGateway({ oprfPublicKey, handler, ...(opts.noResumeKey ? {} : { resumeKey: key.publicKey }) });
  t.teardown(() => gw.close());
  return Object.assign(state, { gw });
}

async function open(t: { teardown(fn: () => unknown): void }, dev: Device, gw: FakeGateway, extra: Record<string, unknown> = {}): Promise<HushwireClient> {
  const c = await HushwireClient.open(dev.store, { gateways: [gw.url], prekeyRotationMs: 0, ownDevicesCheckMs: 0, resumeSpreadMs: 0, ...extra });
  t.teardown(() => c.close());
  return c;
}

/** A client opened on `g` (open's options and `extra`), connected, once it holds the
 *  ticket the gateway issued after that first signed auth: most tests start there. */
async function withTicket(t: { teardown(fn: () => unknown): void }, dev: Device, g: Ticketing, extra: Record<string, unknown> = {}): Promise<HushwireClient> {
  const c = await open(t, dev, g.gw, extra);
  await c.connect();
  await until(() => c.resumeStats.issued === 1, 5_000, 'a ticket');
  return c;
}

/** Drops the client's current socket from the gateway's side (1001: going away) and
 *  waits for the connection after it to be authenticated. */
async function dropAndReconnect(c: HushwireClient, g: Ticketing): Promise<void> {
  const n = g.gw.conns.length;
  g.gw.conns[n - 1]!.close(1001, 'going away');
  await g.gw.waitConn(n + 1, 10_000);
  await until(() => c.connectionState === 'connected' && g.auths.length === n + 1 && /resumed|signed/.test(g.auths[n]!.at(-1) ?? ''), 10_000, 'reconnected');
}

t.test('after a signed connect a ticket is asked for; the reconnect resumes with it', async (t) => {
  const dev = await profile();
  const g = await ticketing(t, dev);
  const c = await withTicket(t, dev, g);
  t.same(g.auths, [['signed']], 'the first connect signed');
  t.equal(g.ticketRequests, 1);
  t.same(g.gw.conns[0]!.ops.map((o) => Object.keys(o).find((k) => k !== 'req')), ['auth', 'ticketRequest'], 'the request after the auth, on the same socket');
  await dropAndReconnect(c, g);
  t.same(g.auths[1], ['resumed'], 'the reconnect presented the ticket with a proof over its new nonce');
  const auth = g.gw.conns[1]!.ops.find((o) => o.auth)!.auth!;
  t.equal(auth.signature?.length ?? 0, 0, 'no signature with the ticket');
  t.equal(auth.sendOnly ?? false, false);
  t.equal(g.ticketRequests, 1, 'a fresh ticket is not renewed');
  t.same({ ...c.resumeStats }, { resumed: 1, refused: 0, authFailed: 0, requested: 1, issued: 1, failed: 0, lastError: '', holding: true, held: 1 });
  await dropAndReconnect(c, g);
  t.same(g.auths[2], ['resumed'], 'and again');
});

t.test('resumeSpreadMs: the ticket request waits a random moment after the connect; a drop first cancels it', async (t) => {
  const dev = await profile();
  const g = await ticketing(t, dev);
  // A spread of 10 minutes: the request (almost surely) has not been made when the
  // connection drops; the drop cancels it, and the next connect signs again (no ticket
  // held) and waits anew.
  const c = await open(t, dev, g.gw, { resumeSpreadMs: 600_000 });
  await c.connect();
  t.equal(g.ticketRequests, 0, 'no ticket request at the connect itself');
  await dropAndReconnect(c, g);
  t.same(g.auths[1], ['signed'], 'no ticket yet: the reconnect signs');
  t.equal(g.ticketRequests, 0);
  await c.close();
  // A short spread: the request comes once the timer fires (a deadline against a hang).
  const dev2 = await profile();
  const g2 = await ticketing(t, dev2);
  const c2 = await open(t, dev2, g2.gw, { resumeSpreadMs: 300 });
  await c2.connect();
  await until(() => c2.resumeStats.issued === 1, 10_000, 'a ticket within the spread');
  t.equal(g2.ticketRequests, 1);
});

t.test('resumeSpreadMs is checked: a number of ms from 0 to 600,000', async (t) => {
  const dev = await profile();
  for (const bad of [-1, 600_001, Number.NaN, '5' as unknown as number]) {
    await t.rejects(HushwireClient.open(dev.store, { resumeSpreadMs: bad }), { code: 'BAD_REQUEST', message: /option resumeSpreadMs/ });
  }
});

t.test('a ticket the gateway cannot open: RESUME_REFUSED, then a signed auth on the same socket, then a new ticket', async (t) => {
  const dev = await profile();
  const g = await ticketing(t, dev);
  const c = await withTicket(t, dev, g);
  g.tickets.clear(); // as if the device's record changed: the same resume_key, the ticket no longer opens
  await dropAndReconnect(c, g);
  t.same(g.auths[1], ['refused', 'signed'], 'one socket: the ticket refused, then signed');
  t.equal(g.gw.conns.length, 2, 'no further socket');
  await until(() => c.resumeStats.issued === 2, 5_000, 'a new ticket');
  t.equal(c.resumeStats.refused, 1);
  t.same(g.gw.conns[1]!.ops.filter((o) => !o.ping).map((o) => Object.keys(o).find((k) => k !== 'req')), ['auth', 'auth', 'ticketRequest']);
  await dropAndReconnect(c, g);
  t.same(g.auths[2], ['resumed'], 'the new ticket resumes');
});

t.test('a gateway whose challenge has no resume_key: signed every time, no ticket asked for', async (t) => {
  const dev = await profile();
  const g = await ticketing(t, dev, { noResumeKey: true });
  const c = await open(t, dev, g.gw);
  await c.connect();
  await dropAndReconnect(c, g);
  t.same(g.auths, [['signed'], ['signed']]);
  t.equal(g.ticketRequests, 0);
});

t.test('a held ticket is not presented to a gateway without a resume_key (it would close 4002), and is kept', async (t) => {
  const dev = await profile();
  const withKey = await ticketing(t, dev);
  const old = await ticketing(t, dev, { noResumeKey: true });
  // The client starts at a random one of the two; a 1001 close moves it to the other.
  const c = await open(t, dev, withKey.gw, { gateways: [withKey.gw.url, old.gw.url] });
  await c.connect();
  const first = withKey.gw.conns.length > 0 ? withKey : old;
  const second = first === withKey ? old : withKey;
  if (first === withKey) {
    await until(() => c.resumeStats.issued === 1, 5_000, 'a ticket');
    // Going away (1001) moves the client to the next gateway in the list: the old one.
    withKey.gw.conns[0]!.close(1001, 'going away');
    await second.gw.waitConn(1, 10_000);
    await until(() => c.connectionState === 'connected' && old.auths.length === 1, 10_000, 'connected to the old gateway');
    t.same(old.auths, [['signed']], 'signed at the old gateway');
    t.equal(old.ticketRequests, 0, 'asked it for nothing');
    t.equal(c.resumeStats.holding, true, 'the ticket is kept for a gateway that takes it');
    old.gw.conns[0]!.close(1001, 'going away');
    await withKey.gw.waitConn(2, 10_000);
    await until(() => c.connectionState === 'connected' && withKey.auths.length === 2, 10_000, 'back');
    t.same(withKey.auths[1], ['resumed'], 'resumed back at the ticketing gateway');
  } else {
    t.same(old.auths, [['signed']], 'signed at the old gateway');
    t.equal(c.resumeStats.requested, 0, 'asked it for nothing');
    old.gw.conns[0]!.close(1001, 'going away');
    await withKey.gw.waitConn(1, 10_000);
    await until(() => c.resumeStats.issued === 1, 10_000, 'a ticket from the ticketing gateway');
    withKey.gw.conns[0]!.close(1001, 'going away');
    await old.gw.waitConn(2, 10_000);
    await until(() => c.connectionState === 'connected' && old.auths.length === 2, 10_000, 'at the old gateway again');
    t.same(old.auths[1], ['signed'], 'signed at the old gateway, no ticket presented');
    t.equal(c.resumeStats.holding, true, 'the ticket is kept');
  }
});

/** A client on two scripted gateways (it starts at a random one): the first one it
 *  connected to, the other, and a hop by a 1001 close from one to the other that
 *  returns the auths of the connection it lands on. */
async function alternating(t: { teardown(fn: () => unknown): void }, dev: Device, gx: Ticketing, gy: Ticketing) {
  const c = await open(t, dev, gx.gw, { gateways: [gx.gw.url, gy.gw.url] });
  await c.connect();
  const [first, second] = gx.gw.conns.length > 0 ? [gx, gy] : [gy, gx];
  await until(() => c.resumeStats.issued === 1, 5_000, 'a ticket from the first');
  const hop = async (from: Ticketing, to: Ticketing) => {
    const n = to.auths.length;
    from.gw.conns.at(-1)!.close(1001, 'going away');
    await to.gw.waitConn(n + 1, 10_000);
    await until(() => c.connectionState === 'connected' && to.auths.length === n + 1 && /resumed|signed/.test(to.auths[n]!.at(-1) ?? ''), 10_000, 'reconnected');
    return to.auths[n];
  };
  return { c, first, second, hop };
}

t.test('two gateways with their own keys (two resume keys), alternated by 1001 closes: one signed auth and one ticket at each, then each resumes; no refusal', async (t) => {
  const dev = await profile();
  const gx = await ticketing(t, dev);
  const gy = await ticketing(t, dev);
  const { c, first, second, hop } = await alternating(t, dev, gx, gy);
  t.same(first.auths, [['signed']]);
  t.same(await hop(first, second), ['signed'], "the second shows another resume key: the first's ticket is not presented there, signed at once");
  await until(() => c.resumeStats.issued === 2, 5_000, "the second's own ticket");
  t.equal(c.resumeStats.held, 2, "both kept (the first's still good where its key is shown)");
  for (let i = 0; i < 3; i++) {
    t.same(await hop(second, first), ['resumed'], 'at the first: the ticket issued under its key');
    t.same(await hop(first, second), ['resumed'], 'at the second: its own');
  }
  t.same([first.ticketRequests, second.ticketRequests], [1, 1], 'one ticket request at each, none after');
  t.same([...first.auths, ...second.auths].flat().filter((a) => a === 'refused'), [], 'no ticket refused anywhere');
  t.same({ ...c.resumeStats }, { resumed: 6, refused: 0, authFailed: 0, requested: 2, issued: 2, failed: 0, lastError: '', holding: true, held: 2 });
});

t.test('two gateways sharing their key (one resume key), alternated: one ticket, from the first, resumes at both; no refusal', async (t) => {
  const dev = await profile();
  const gx = await ticketing(t, dev);
  const gy = await ticketing(t, dev, { sharing: gx });
  const { c, first, second, hop } = await alternating(t, dev, gx, gy);
  t.same(first.auths, [['signed']]);
  for (let i = 0; i < 3; i++) {
    t.same(await hop(first, second), ['resumed'], 'at the second: the same resume key, the ticket the first issued');
    t.same(await hop(second, first), ['resumed'], 'back at the first');
  }
  t.same([first.ticketRequests, second.ticketRequests], [1, 0], 'one ticket request in all');
  t.same([...first.auths, ...second.auths].flat().filter((a) => a === 'refused'), [], 'no ticket refused anywhere');
  t.same({ ...c.resumeStats }, { resumed: 6, refused: 0, authFailed: 0, requested: 1, issued: 1, failed: 0, lastError: '', holding: true, held: 1 });
});

t.test('resume: false never asks for a ticket; a send-only client neither', async (t) => {
  const dev = await profile();
  const g = await ticketing(t, dev);
  const c = await open(t, dev, g.gw, { resume: false });
  await c.connect();
  await dropAndReconnect(c, g);
  await c.close();
  t.same(g.auths, [['signed'], ['signed']]);
  const s = await open(t, dev, g.gw, { receive: false });
  await s.connect();
  await until(() => g.auths.length === 3, 5_000, 'send-only auth');
  await s.close();
  t.same(g.auths[2], ['signed send-only']);
  t.equal(g.ticketRequests, 0, 'no ticket_request op from either');
  t.equal(s.resumeStats.requested, 0);
});

t.test('a failed ticket request does not fail the connect; it is counted, and the next signed connect asks again', async (t) => {
  const dev = await profile();
  const g = await ticketing(t, dev, { ticketError: 'UNAVAILABLE' });
  const c = await open(t, dev, g.gw);
  await c.connect();
  await until(() => c.resumeStats.failed === 1, 5_000, 'the failure counted');
  t.equal(c.connectionState, 'connected');
  t.equal(c.resumeStats.lastError, 'UNAVAILABLE');
  await dropAndReconnect(c, g);
  t.same(g.auths[1], ['signed']);
  await until(() => g.ticketRequests === 2, 5_000, 'asked again');
});

t.test('an unanswered ticket request does not hold up the connect', async (t) => {
  const dev = await profile();
  const g = await ticketing(t, dev, { ticketSilent: true });
  const c = await open(t, dev, g.gw, { requestTimeoutMs: 300 });
  await c.connect();
  t.equal(c.connectionState, 'connected');
  await until(() => c.resumeStats.failed === 1, 5_000, 'timed out');
  t.equal(c.resumeStats.lastError, 'TIMEOUT');
  t.equal(c.connectionState, 'connected', 'still connected');
});

t.test('a ticket within a minute of its expiry is not presented: signed, and a new one asked for', async (t) => {
  const dev = await profile();
  const g = await ticketing(t, dev, { expiresInS: 30 });
  const c = await withTicket(t, dev, g);
  await dropAndReconnect(c, g);
  t.same(g.auths[1], ['signed']);
  await until(() => c.resumeStats.issued === 2, 5_000, 'a new ticket');
});

t.test('after a resumed connect, a ticket with under a quarter of its lifetime left is renewed on that socket', async (t) => {
  const dev = await profile();
  const g = await ticketing(t, dev, { expiresInS: 4000 });
  const c = await withTicket(t, dev, g);
  // The ticket's clock (client/resume.ts) moved 3,100 s on: 900 s of 4,000 left.
  const r = (c as unknown as { resumption: { now: () => number } }).resumption;
  r.now = () => Date.now() + 3_100_000;
  await dropAndReconnect(c, g);
  t.same(g.auths[1], ['resumed'], 'still presented (more than a minute left)');
  await until(() => c.resumeStats.issued === 2, 5_000, 'renewed');
  t.same(g.gw.conns[1]!.ops.filter((o) => !o.ping).map((o) => Object.keys(o).find((k) => k !== 'req')), ['auth', 'ticketRequest'], 'the request on the resumed socket');
  await dropAndReconnect(c, g);
  t.same(g.auths[2], ['resumed'], 'the renewed ticket resumes');
  t.equal(g.ticketRequests, 2, 'and, fresh, is not renewed again');
});

/** Drops the client's socket (1001) and waits until it is connected again with a signed
 *  auth on a later socket, passing through a rejected resume on the way. */
async function dropThroughRejectedResume(t: Test, c: HushwireClient, g: Ticketing, states: StateChange[], rejected: string): Promise<void> {
  const n = g.gw.conns.length;
  g.gw.conns[n - 1]!.close(1001, 'going away');
  await g.gw.waitConn(n + 2, 10_000);
  await until(() => c.connectionState === 'connected' && g.auths.length === n + 2 && g.auths[n + 1]!.at(-1) === 'signed', 10_000, 'connected again, signed');
  t.same(g.auths[n], [rejected], 'the ticket presented, and nothing signed on that socket');
  t.same(g.auths[n + 1], ['signed'], 'the next socket signed');
  t.notOk(states.some((s) => s.to === 'closed'), 'never closed');
  t.ok(states.some((s) => s.to === 'disconnected' && s.code === 4002), 'a disconnect with the 4002 close, then a reconnect');
}

for (const [how, opt, rejected, extra] of [
  ['answered AUTH_FAILED, then closed 4002', 'failResume', 'rejected', {}],
  ['closed 4002 before any answer', 'closeResume', 'rejected, unanswered', {}],
  // Its own terminal close codes (4002 and 4006, not 4003): the same.
  ['answered AUTH_FAILED, with reclaimAfterTakeover', 'failResume', 'rejected', { reclaimAfterTakeover: true }],
] as const) {
  t.test(`a resume ${how}: not the end; tickets forgotten, counted; the reconnect signs; that resume key gets no ticket again; a signed AUTH_FAILED is final`, async (t) => {
    const dev = await profile();
    const opts: TicketingOptions = {};
    const g = await ticketing(t, dev, opts);
    const states: StateChange[] = [];
    const c = await withTicket(t, dev, g, { ...extra, onState: (s: StateChange) => { states.push(s); } });
    opts[opt] = true;
    await dropThroughRejectedResume(t, c, g, states, rejected);
    t.same({ ...c.resumeStats }, { resumed: 0, refused: 0, authFailed: 1, requested: 1, issued: 1, failed: 0, lastError: 'AUTH_FAILED', holding: false, held: 0 });
    // The gateway would now take a resume again: the client presents none under this
    // resume key, and asks for none there.
    opts[opt] = false;
    await dropAndReconnect(c, g);
    t.same(g.auths.at(-1), ['signed'], 'signed again, no ticket presented');
    t.equal(g.ticketRequests, 1, 'no ticket asked for under that resume key');
    t.equal(c.resumeStats.requested, 1);
    // A signature refused: final, as ever.
    opts.refuseSigned = true;
    const n = g.gw.conns.length;
    g.gw.conns[n - 1]!.close(1001, 'going away');
    await until(() => c.connectionState === 'closed', 10_000, 'closed');
    t.same(g.auths.at(-1), ['bad signature']);
    t.equal(g.gw.conns.length, n + 1, 'no further connect');
    t.equal(states.at(-1)?.error?.code, 'AUTH_FAILED');
  });
}

t.test('a resume rejected AUTH_FAILED, then the signed auth of the retry refused AUTH_FAILED too: that is final', async (t) => {
  const dev = await profile();
  const opts: TicketingOptions = {};
  const g = await ticketing(t, dev, opts);
  const c = await withTicket(t, dev, g);
  opts.failResume = true;
  opts.refuseSigned = true;
  g.gw.conns[0]!.close(1001, 'going away');
  await until(() => c.connectionState === 'closed', 10_000, 'closed');
  t.same(g.auths.slice(1), [['rejected'], ['bad signature']], 'the resume rejected, the retry signed and refused');
  t.equal(g.gw.conns.length, 3, 'no further connect');
  t.equal(c.resumeStats.authFailed, 1);
  await t.rejects(c.connect(), { code: 'AUTH_FAILED' });
});

t.test('a rejected resume at one resume key leaves resumption at another: that gateway signs and resumes again', async (t) => {
  const dev = await profile();
  const optsX: TicketingOptions = {};
  const gx = await ticketing(t, dev, optsX);
  const gy = await ticketing(t, dev);
  const { c, first, second, hop } = await alternating(t, dev, gx, gy);
  t.same(await hop(first, second), ['signed']);
  await until(() => c.resumeStats.issued === 2, 5_000, "the second's ticket");
  // X now rejects resumes AUTH_FAILED. The client goes to Y (if not there), then, by a
  // 1001 close, to X: its ticket rejected there, it reconnects to X (a 4002 close moves
  // it to no other gateway) and signs.
  if (second === gx) t.same(await hop(gx, gy), ['resumed'], 'at Y');
  optsX.failResume = true;
  const n = gx.auths.length;
  gy.gw.conns.at(-1)!.close(1001, 'going away');
  await until(() => c.connectionState === 'connected' && gx.auths.length === n + 2 && gx.auths[n + 1]!.at(-1) === 'signed', 10_000, 'at X, signed after the rejection');
  t.same(gx.auths[n], ['rejected'], "X's ticket rejected");
  t.same([c.resumeStats.authFailed, c.resumeStats.held], [1, 0], 'counted; every ticket forgotten');
  const xRequests = gx.ticketRequests;
  optsX.failResume = false;
  t.same(await hop(gx, gy), ['signed'], "at Y: its ticket was forgotten too, signed");
  await until(() => c.resumeStats.issued === 3, 5_000, 'a new ticket from Y');
  t.same(await hop(gy, gx), ['signed'], 'at X: signed, no ticket presented');
  t.same(await hop(gx, gy), ['resumed'], "at Y: resumed with Y's new ticket");
  t.same(await hop(gy, gx), ['signed'], 'at X: signed');
  t.equal(gx.ticketRequests, xRequests, 'X was asked for no ticket after the rejection');
  t.equal(c.resumeStats.authFailed, 1, 'one rejection in all');
});

t.test('after RESUME_REFUSED the ticket is never presented again, even when no new one could be had; a ticket request carries no ticket', async (t) => {
  const dev = await profile();
  const opts: TicketingOptions = {};
  const g = await ticketing(t, dev, opts);
  const c = await withTicket(t, dev, g);
  const ticket = [...g.tickets.keys()][0]!;
  g.tickets.clear(); // no longer opens
  opts.ticketError = 'UNAVAILABLE'; // and no new one is issued
  await dropAndReconnect(c, g);
  t.same(g.auths[1], ['refused', 'signed']);
  await until(() => c.resumeStats.failed === 1, 5_000, 'the ticket request failed');
  await dropAndReconnect(c, g);
  t.same(g.auths[2], ['signed'], 'the refused ticket is not presented again');
  await dropAndReconnect(c, g);
  t.same(g.auths[3], ['signed']);
  const presented = g.gw.conns.flatMap((k) => k.ops).filter((o) => o.auth?.ticket?.length).map((o) => bytesToHex(o.auth!.ticket!));
  t.same(presented, [ticket], 'presented once, at the refusal');
  for (const o of g.gw.conns.flatMap((k) => k.ops).filter((o) => o.ticketRequest)) {
    t.same(Object.keys(o.ticketRequest!).filter((k) => (o.ticketRequest as Record<string, unknown>)[k] !== undefined), ['publicKey'], 'a ticket request is its public key alone');
  }
});

t.test('close() and unregister() forget the ticket', async (t) => {
  const dev = await profile();
  const g = await ticketing(t, dev);
  const c = await open(t, dev, g.gw);
  await c.connect();
  await until(() => c.resumeStats.holding, 5_000, 'a ticket');
  await c.close();
  t.equal(c.resumeStats.holding, false, 'close');
  const u = await open(t, dev, g.gw);
  await u.connect();
  await until(() => u.resumeStats.holding, 5_000, 'a ticket');
  await u.unregister();
  t.equal(u.resumeStats.holding, false, 'unregister');
});

t.test('option resume must be a boolean', async (t) => {
  const dev = await profile();
  await t.rejects(HushwireClient.open(dev.store, { resume: 'no' as unknown as boolean }), { code: 'BAD_REQUEST', message: /option resume/ });
});
