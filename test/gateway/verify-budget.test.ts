// What verification codes may cost a gateway (relay/verify-gate.ts), against real
// in-process gateways with the dev verifier on the embedded bus, spoken raw:
// - the code budget (--verify-start-rate, --verify-start-burst): past the burst a
//   verify_start gets RATE_LIMITED with the bucket's retry_after_ms, the socket stays on
//   its short auth deadline, and the number's own 24 h budget was not charged (after the
//   refill it gets its usual 5 codes); a start its number's budget refuses gives the
//   gateway its code back;
// - the cap on sockets waiting for a code (--max-pending-verifications): over it,
//   RATE_LIMITED before anything is sent or charged; the count goes back down on every
//   way out (socket closed, registered, code voided by wrong codes, code expired, drain);
// - what operators see: hushwire_verify_starts_refused_total{reason},
//   hushwire_verify_pending, one warn line per reason per 10 s with the count since the
//   last, none of which carries a number.
// The budget's clock is a test clock (StartOptions.verification), so no test waits for
// a refill; the code lifetime is shortened for the expiry case only.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { httpGet, sample, until } from '../ops/fixtures.ts';
import { generateIdentity, sign, registerInput, prekeyInput, authInput } from '../../relay/crypto/sign.ts';
import { registerRaw } from '../helpers/raw-device.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { blindNumbers } from '../../relay/crypto/oprf.ts';
import { CloseCode, ErrorCode } from '../../relay/errors.ts';
import { REFUSAL_LINE_EVERY_MS, PENDING_RETRY_MS } from '../../relay/verify-gate.ts';

/** Distinct valid numbers per test, recognisable in logs (the privacy checks look for them). */
let seq = 0;
const PREFIX = `+1555${String(3_000 + Math.floor(Math.random() * 6_000))}`;
function fresh(): string {
  return `${PREFIX}${String(seq++).padStart(3, '0')}`;
}

async function open(url: string): Promise<{ c: RawClient; nonce: Uint8Array }> {
  const c = await connectRaw(url);
  const nonce = (await c.next((o) => o.body === 'challenge')).challenge!.nonce!;
  return { c, nonce };
}

let req = 100;
async function start(c: RawClient, number: string) {
  const r = ++req;
  c.send([{ req: r, verifyStart: { number } }]);
  return c.reply(r);
}

async function register(c: RawClient, nonce: Uint8Array, number: string, code: string) {
  const id = generateIdentity();
  const prekey = generateKeyPair();
  const device = new Uint8Array(randomBytes(16));
  const r = ++req;
  c.send([{
    req: r,
    register: {
      number, code, device, identityKey: id.publicKey, prekey: prekey.publicKey,
      prekeySignature: sign(id.secretKey, prekeyInput(prekey.publicKey)),
      signature: sign(id.secretKey, registerInput(nonce, device, id.publicKey, prekey.publicKey)),
      blinded: blindNumbers([number]).blinded[0],
    },
  }]);
  return c.reply(r);
}

async function metrics(gw: TestGateway): Promise<string> {
  return (await httpGet(gw.url, '/metrics')).body;
}

/** A webhook verifier on loopback (an SMS bridge) whose answer the test switches: `ok`
 *  (204), `refuse` (503: it did not send), `fail` (500: it may have), `hang` (reads the
 *  request, never answers: the gateway's --verifier-timeout-ms ends the call). */
type BridgeMode = 'ok' | 'refuse' | 'fail' | 'hang';
async function bridge(t: Test): Promise<{ url: string; mode: BridgeMode; posts: number }> {
  const state = { url: '', mode: 'ok' as BridgeMode, posts: 0 };
  const server = createServer((rq, rs) => {
    rq.resume();
    rq.on('end', () => {
      state.posts++;
      if (state.mode === 'hang') return;
      rs.writeHead(state.mode === 'ok' ? 204 : state.mode === 'refuse' ? 503 : 500).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send-code`;
  return state;
}

const pendingIs = (gw: TestGateway, n: number, what: string) => until(() => gw.relay.verifyGate.pending === n, 10_000, `${n} pending (${what})`);

t.test('code budget: past the burst RATE_LIMITED with the bucket\'s retry_after_ms; the number is not charged', async (t) => {
  let now = 0;
  const gw = await startTestGateway(
    { verifyStartRate: 1, verifyStartBurst: 5, authTimeoutMs: 3_000, logLevel: 'warn' },
    { verification: { clock: () => now } },
  );
  t.teardown(() => gw.close());
  // The burst: five codes to five numbers on one connection.
  const a = await open(gw.url);
  for (let i = 0; i < 5; i++) t.equal((await start(a.c, fresh())).body, 'verifyStarted', `code ${i + 1} of the burst sent`);
  // The sixth, to a number that has had no code, on a fresh connection.
  const x = fresh();
  const b = await open(gw.url);
  const refused = await start(b.c, x);
  t.equal(refused.error?.code, ErrorCode.RATE_LIMITED, 'past the burst: RATE_LIMITED');
  t.equal(refused.error?.retryAfterMs, 1_000, 'retry_after_ms from the bucket: one code at 1/s');
  t.notMatch(refused.error?.message ?? '', /\d{4}/, 'the refusal echoes no number');
  // Nothing pending on that socket: it keeps the short auth deadline (3 s here, the code's
  // would be 5 minutes) and is closed AUTH_TIMEOUT, while the one with codes stays.
  const closed = await b.c.closed;
  t.equal(closed.code, CloseCode.AUTH_TIMEOUT, 'the refused socket closes at its auth deadline');
  t.equal(closed.reason, 'auth timeout');
  t.equal(a.c.ws.readyState, a.c.ws.OPEN, 'the socket waiting for codes is still open');
  let m = await metrics(gw);
  t.equal(sample(m, 'hushwire_verify_starts_refused_total', { reason: 'code_budget' }), 1, 'counted by reason');
  t.equal(sample(m, 'hushwire_verify_starts_refused_total', { reason: 'pending_cap' }), 0);
  t.equal(sample(m, 'hushwire_rate_limited_total', { limit: 'verify_code_budget' }), 1, 'and among the rate limits');
  t.equal(sample(m, 'hushwire_verifier_deliveries_total', { outcome: 'ok' }), 5, 'the verifier was asked for five codes only');

  // The bucket refills (the test clock moves, no waiting): the refused number still has
  // its whole 24 h budget, five codes (--verify-starts-per-number).
  now += 5_000;
  const c = await open(gw.url);
  for (let i = 0; i < 5; i++) t.equal((await start(c.c, x)).body, 'verifyStarted', `code ${i + 1} of 5 to the number refused before`);
  now += 1_000;
  const d = await open(gw.url);
  const sixth = await start(d.c, x);
  t.equal(sixth.error?.code, ErrorCode.RATE_LIMITED, 'its sixth code: the number\'s own budget refuses');
  t.not(sixth.error?.message, refused.error?.message, 'a refusal of the number\'s budget, not the gateway\'s');
  // That start sent nothing, so the gateway got its code back: the clock has not moved
  // and another number still gets one.
  t.equal((await start(d.c, fresh())).body, 'verifyStarted', 'the code of a start the number\'s budget refused is given back');
  t.equal((await start(d.c, fresh())).error?.code, ErrorCode.RATE_LIMITED, 'and then the budget is spent again');
  m = await metrics(gw);
  t.equal(sample(m, 'hushwire_verify_starts_refused_total', { reason: 'code_budget' }), 2);
  for (const s of [a, c, d]) s.c.close();
});

t.test('refusals do not count against the connection\'s five starts', async (t) => {
  let now = 0;
  const gw = await startTestGateway({ verifyStartRate: 1, verifyStartBurst: 1, logLevel: 'warn' }, { verification: { clock: () => now } });
  t.teardown(() => gw.close());
  const a = await open(gw.url);
  t.equal((await start(a.c, fresh())).body, 'verifyStarted');
  for (let i = 0; i < 6; i++) t.equal((await start(a.c, fresh())).error?.code, ErrorCode.RATE_LIMITED, `refused ${i + 1}`);
  for (let i = 0; i < 4; i++) {
    now += 1_000;
    t.equal((await start(a.c, fresh())).body, 'verifyStarted', `start ${i + 2} of 5 after a refill`);
  }
  now += 1_000;
  const sixth = await start(a.c, fresh());
  t.equal(sixth.error?.code, ErrorCode.RATE_LIMITED, 'the sixth accepted start is one too many');
  t.equal((await a.c.closed).code, CloseCode.FLOOD, 'closed 4008 as before');
});

t.test('pending cap: RATE_LIMITED over it; closing or registering frees a slot', async (t) => {
  const gw = await startTestGateway({ maxConnections: 20, maxPendingVerifications: 2, logLevel: 'warn' });
  t.teardown(() => gw.close());
  const a = await open(gw.url);
  const b = await open(gw.url);
  const c = await open(gw.url);
  const na = fresh();
  const nb = fresh();
  const nc = fresh();
  t.equal((await start(a.c, na)).body, 'verifyStarted');
  const codeB = (await start(b.c, nb)).verifyStarted!.devCode!;
  t.equal(gw.relay.verifyGate.pending, 2, 'two sockets wait for their codes');
  // A resend on a socket already waiting takes no second slot.
  t.equal((await start(a.c, na)).body, 'verifyStarted', 'a resend on a waiting socket passes the cap');
  const over = await start(c.c, nc);
  t.equal(over.error?.code, ErrorCode.RATE_LIMITED, 'a third socket is refused');
  t.equal(over.error?.retryAfterMs, PENDING_RETRY_MS, 'with a retry hint');
  let m = await metrics(gw);
  t.equal(sample(m, 'hushwire_verify_pending'), 2, 'the gauge');
  t.equal(sample(m, 'hushwire_verify_pending_limit'), 2, 'and its limit');
  t.equal(sample(m, 'hushwire_verify_starts_refused_total', { reason: 'pending_cap' }), 1);
  t.equal(sample(m, 'hushwire_verifier_deliveries_total', { outcome: 'ok' }), 3, 'nothing was sent for the refused start');
  // Closed by its client: the slot comes back, and the refused socket gets it.
  a.c.close();
  await pendingIs(gw, 1, 'closed');
  const codeC = (await start(c.c, nc)).verifyStarted?.devCode;
  t.ok(codeC, 'the refused socket starts once a slot is free');
  t.equal(gw.relay.verifyGate.pending, 2);
  // Registered: the slot comes back.
  t.equal((await register(b.c, b.nonce, nb, codeB)).body, 'registered');
  t.equal(gw.relay.verifyGate.pending, 1, 'registration gives the slot back');
  // Authenticated by auth instead of register: also gives it back (c registers here; the
  // auth path shares #becomeAuthenticated with it).
  t.equal((await register(c.c, c.nonce, nc, codeC!)).body, 'registered');
  t.equal(gw.relay.verifyGate.pending, 0, 'back to 0');
  m = await metrics(gw);
  t.equal(sample(m, 'hushwire_verify_pending'), 0);
  b.c.close();
  c.c.close();
});

t.test('pending cap: five wrong codes void the code, give the slot back and restore the short deadline', async (t) => {
  const gw = await startTestGateway({ maxConnections: 20, maxPendingVerifications: 1, authTimeoutMs: 2_000, logLevel: 'warn' });
  t.teardown(() => gw.close());
  const a = await open(gw.url);
  const n = fresh();
  const code = (await start(a.c, n)).verifyStarted!.devCode!;
  const wrong = code === '000000' ? '000001' : '000000';
  t.equal(gw.relay.verifyGate.pending, 1);
  for (let i = 1; i <= 4; i++) {
    t.equal((await register(a.c, a.nonce, n, wrong)).error?.code, ErrorCode.VERIFY_FAILED, `wrong code ${i}`);
    t.equal(gw.relay.verifyGate.pending, 1, 'still waiting: attempts left');
  }
  t.equal((await register(a.c, a.nonce, n, wrong)).error?.code, ErrorCode.VERIFY_FAILED, 'wrong code 5');
  t.equal(gw.relay.verifyGate.pending, 0, 'the voided code gave its slot back');
  // Back on the short auth deadline (2 s here, the code's would be 5 minutes).
  const closed = await a.c.closed;
  t.equal(closed.code, CloseCode.AUTH_TIMEOUT);
  t.equal(closed.reason, 'auth timeout', 'closed at the auth deadline, not the code\'s expiry');
});

t.test('pending cap: an expired code closes its socket and gives the slot back', async (t) => {
  const gw = await startTestGateway({ maxConnections: 20, maxPendingVerifications: 1, logLevel: 'warn' }, { verification: { codeTtlMs: 300 } });
  t.teardown(() => gw.close());
  const a = await open(gw.url);
  t.equal((await start(a.c, fresh())).body, 'verifyStarted');
  t.equal(gw.relay.verifyGate.pending, 1);
  const closed = await a.c.closed;
  t.equal(closed.code, CloseCode.AUTH_TIMEOUT);
  t.equal(closed.reason, 'verification expired');
  await pendingIs(gw, 0, 'expired');
  const b = await open(gw.url);
  t.equal((await start(b.c, fresh())).body, 'verifyStarted', 'the slot serves the next socket');
  b.c.close();
});

t.test('pending cap: a drain closes waiting sockets and the count returns to 0', async (t) => {
  const gw = await startTestGateway({ maxConnections: 20, maxPendingVerifications: 5, logLevel: 'warn' });
  t.teardown(() => gw.close());
  const socks = [await open(gw.url), await open(gw.url), await open(gw.url)];
  for (const s of socks) t.equal((await start(s.c, fresh())).body, 'verifyStarted');
  t.equal(gw.relay.verifyGate.pending, 3);
  await gw.drain({ timeoutMs: 5_000, ratePerSecond: 1_000 });
  for (const s of socks) t.equal((await s.c.closed).code, CloseCode.DRAINING, 'moved away');
  t.equal(gw.relay.verifyGate.pending, 0, 'back to 0 after the drain');
});

t.test('what operators see carries no number; the warn line comes at most once per 10 s per reason, with a count', async (t) => {
  let now = 0;
  const gw = await startTestGateway(
    { verifyStartRate: 1, verifyStartBurst: 1, maxConnections: 20, maxPendingVerifications: 1, logLevel: 'debug' },
    { verification: { clock: () => now } },
  );
  t.teardown(() => gw.close());
  const numbers: string[] = [];
  const a = await open(gw.url);
  const first = fresh();
  numbers.push(first);
  t.equal((await start(a.c, first)).body, 'verifyStarted');
  // Three over the pending cap (another socket), then, on the waiting socket, three over
  // the code budget (a resend passes the cap).
  const b = await open(gw.url);
  for (let i = 0; i < 3; i++) {
    const n = fresh();
    numbers.push(n);
    t.equal((await start(b.c, n)).error?.code, ErrorCode.RATE_LIMITED);
  }
  for (let i = 0; i < 3; i++) {
    const n = fresh();
    numbers.push(n);
    t.equal((await start(a.c, n)).error?.code, ErrorCode.RATE_LIMITED);
  }
  const lines = () => gw.logs().split('\n').filter((l) => l.includes('verify_start refused')).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(lines().map((l) => [l['reason'], l['refused']]), [['pending_cap', 1], ['code_budget', 1]], 'one line per reason so far');
  // Before 10 s: counted, not logged. At 10 s: one line with the count since the last.
  now += REFUSAL_LINE_EVERY_MS - 1;
  const n1 = fresh();
  numbers.push(n1);
  t.equal((await start(b.c, n1)).error?.code, ErrorCode.RATE_LIMITED);
  t.equal(lines().length, 2, 'no line within 10 s');
  now += 1;
  const n2 = fresh();
  numbers.push(n2);
  t.equal((await start(b.c, n2)).error?.code, ErrorCode.RATE_LIMITED);
  const last = lines().at(-1)!;
  t.same([last['reason'], last['refused'], last['level']], ['pending_cap', 4, 40], 'a warn line with the refusals since the last one');
  const m = await metrics(gw);
  t.equal(sample(m, 'hushwire_verify_starts_refused_total', { reason: 'pending_cap' }), 5);
  t.equal(sample(m, 'hushwire_verify_starts_refused_total', { reason: 'code_budget' }), 3);
  // No number (in full, without its +, or its national part), anywhere.
  const logs = gw.logs();
  for (const n of numbers) {
    for (const form of [n, n.slice(1), n.slice(2)]) {
      t.notOk(logs.includes(form), `the log holds no ${form}`);
      t.notOk(m.includes(form), `/metrics holds no ${form}`);
    }
  }
  t.notMatch(logs, /\+1555/, 'no number-like string in the log');
  a.c.close();
  b.c.close();
});

t.test('a failed delivery gives the slot back; the code only when the bridge certainly did not send it', async (t) => {
  const v = await bridge(t);
  let now = 0;
  const gw = await startTestGateway(
    { verifier: 'webhook', verifierUrl: v.url, verifierTimeoutMs: 500, verifyStartRate: 1, verifyStartBurst: 1, maxConnections: 20, maxPendingVerifications: 1, logLevel: 'warn' },
    { verification: { clock: () => now } },
  );
  t.teardown(() => gw.close());
  const refusedForBudget = async (what: string) => {
    const s = await open(gw.url);
    const r = await start(s.c, fresh());
    t.equal(r.error?.code, ErrorCode.RATE_LIMITED, `${what}: the next start is refused`);
    t.match(r.error?.message, /verification codes from this service/, `${what}: by the code budget (the code stays spent)`);
    s.c.close();
  };

  // 503: the bridge refused, nothing went out. Slot and code come back: with a budget of
  // one code and the clock standing still, another socket gets both.
  v.mode = 'refuse';
  const a = await open(gw.url);
  t.equal((await start(a.c, fresh())).error?.code, ErrorCode.UNAVAILABLE, '503: the start fails');
  t.equal(gw.relay.verifyGate.pending, 0, '503: the slot is given back');
  v.mode = 'ok';
  const b = await open(gw.url);
  t.equal((await start(b.c, fresh())).body, 'verifyStarted', '503: the code was given back, the slot is free');
  b.c.close();
  await pendingIs(gw, 0, 'closed');

  // 500 and no answer in time: the code may have gone out. The slot comes back, the code
  // does not (nor twice: one start, one code).
  for (const mode of ['fail', 'hang'] as const) {
    now += 1_000;
    v.mode = mode;
    const c = await open(gw.url);
    t.equal((await start(c.c, fresh())).error?.code, ErrorCode.UNAVAILABLE, `${mode}: the start fails`);
    t.equal(gw.relay.verifyGate.pending, 0, `${mode}: the slot is given back`);
    v.mode = 'ok';
    await refusedForBudget(mode);
    // The failed socket is on its short auth deadline, and may start again.
    now += 1_000;
    t.equal((await start(c.c, fresh())).body, 'verifyStarted', `${mode}: the same socket starts again after a refill`);
    t.equal(gw.relay.verifyGate.pending, 1);
    c.c.close();
    await pendingIs(gw, 0, 'closed');
  }

  // The socket closes while its code is at the bridge (hung): the slot comes back at the
  // close, and when the call then times out nothing is given back twice.
  now += 1_000;
  v.mode = 'hang';
  const d = await open(gw.url);
  const posts = v.posts;
  d.c.send([{ req: ++req, verifyStart: { number: fresh() } }]);
  await until(() => v.posts > posts, 10_000, 'the POST at the bridge');
  t.equal(gw.relay.verifyGate.pending, 1, 'the socket holds a slot while its code is being delivered');
  d.c.close();
  await pendingIs(gw, 0, 'closed while delivering');
  const timeouts = async () => sample(await metrics(gw), 'hushwire_verifier_deliveries_total', { outcome: 'timeout' }) ?? 0;
  await until(async () => (await timeouts()) === 2, 10_000, 'the delivery of the closed socket timed out');
  t.equal(gw.relay.verifyGate.pending, 0, 'still 0 after the delivery ended');
  v.mode = 'ok';
  await refusedForBudget('closed while delivering');
  // The cap still counts right: one socket may wait, a second is refused.
  now += 1_000;
  const e = await open(gw.url);
  t.equal((await start(e.c, fresh())).body, 'verifyStarted');
  now += 1_000;
  const f = await open(gw.url);
  t.equal((await start(f.c, fresh())).error?.retryAfterMs, PENDING_RETRY_MS, 'the cap of 1 holds');
  e.c.close();
  f.c.close();
});

t.test('a register that fails after using the code gives the slot back and restores the short deadline', async (t) => {
  const gw = await startTestGateway({ maxDevicesPerRoute: 1, maxConnections: 20, maxPendingVerifications: 1, authTimeoutMs: 2_000, logLevel: 'warn' });
  t.teardown(() => gw.close());
  const n = fresh();
  const a = await open(gw.url);
  t.equal((await register(a.c, a.nonce, n, (await start(a.c, n)).verifyStarted!.devCode!)).body, 'registered', 'the number\'s one device');
  a.c.close();
  t.equal(gw.relay.verifyGate.pending, 0);
  // A second device on that number: the right code, then the directory refuses it.
  const b = await open(gw.url);
  const code = (await start(b.c, n)).verifyStarted!.devCode!;
  t.equal(gw.relay.verifyGate.pending, 1);
  t.equal((await register(b.c, b.nonce, n, code)).error?.code, ErrorCode.TOO_MANY_DEVICES, 'the register fails after the code was checked');
  t.equal(gw.relay.verifyGate.pending, 0, 'the code is used up: the slot is given back');
  const again = await register(b.c, b.nonce, n, code);
  t.match(again.error?.message, /no pending verification/, 'one code, one registration');
  // The slot serves another socket; the failed one is back on the short auth deadline
  // (2 s here; the code's would be 5 minutes).
  const c = await open(gw.url);
  t.equal((await start(c.c, fresh())).body, 'verifyStarted', 'the slot serves the next socket');
  const closed = await b.c.closed;
  t.equal(closed.code, CloseCode.AUTH_TIMEOUT);
  t.equal(closed.reason, 'auth timeout', 'closed at the auth deadline, not the code\'s expiry');
  c.c.close();
});

t.test('two starts in one frame: a refusal of the second leaves the first its slot and its code\'s deadline', async (t) => {
  let now = 0;
  const gw = await startTestGateway(
    { verifyStartRate: 1, verifyStartBurst: 1, maxConnections: 20, maxPendingVerifications: 2, authTimeoutMs: 1_500, logLevel: 'warn' },
    { verification: { clock: () => now, codeTtlMs: 4_000 } },
  );
  t.teardown(() => gw.close());
  const a = await open(gw.url);
  // The second is refused by the code budget while the first is still being charged.
  const [r1, r2] = [++req, ++req];
  a.c.send([{ req: r1, verifyStart: { number: fresh() } }, { req: r2, verifyStart: { number: fresh() } }]);
  const [first, second] = await Promise.all([a.c.reply(r1), a.c.reply(r2)]);
  t.equal(first.body, 'verifyStarted', 'the first start sends its code');
  t.equal(second.error?.code, ErrorCode.RATE_LIMITED, 'the second is refused');
  t.equal(gw.relay.verifyGate.pending, 1, 'the socket waiting for the first code holds its slot');
  // It stays open until that code expires (4 s here), not its auth deadline (1.5 s).
  const closed = await a.c.closed;
  t.equal(closed.reason, 'verification expired', 'the code\'s deadline, as verify_started told');
  await pendingIs(gw, 0, 'expired');
});

t.test('a resend whose first start\'s delivery fails meanwhile keeps the resent code', async (t) => {
  // The bridge holds the first POST until the second arrives, answers it 503, and answers
  // the second 204 once the gateway has handled that failure.
  const codes: string[] = [];
  let gw: TestGateway | undefined;
  const failed = async () => sample(await metrics(gw!), 'hushwire_verifier_deliveries_total', { outcome: 'failed' }) ?? 0;
  let releaseFirst: (() => void) | undefined;
  const server = createServer((rq, rs) => {
    const chunks: Buffer[] = [];
    rq.on('data', (c: Buffer) => chunks.push(c));
    rq.on('end', () => {
      codes.push((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code: string }).code);
      if (codes.length === 1) {
        releaseFirst = () => rs.writeHead(503).end();
        return;
      }
      releaseFirst!();
      void until(async () => (await failed()) === 1, 10_000, 'the first delivery\'s failure').then(() => rs.writeHead(204).end());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send-code`;
  gw = await startTestGateway({ verifier: 'webhook', verifierUrl: url, maxConnections: 20, maxPendingVerifications: 2, logLevel: 'warn' });
  t.teardown(() => gw!.close());
  const a = await open(gw.url);
  const n = fresh();
  const [r1, r2] = [++req, ++req];
  a.c.send([{ req: r1, verifyStart: { number: n } }]);
  await until(() => codes.length === 1, 10_000, 'the first POST');
  a.c.send([{ req: r2, verifyStart: { number: n } }]);
  t.equal((await a.c.reply(r1)).error?.code, ErrorCode.UNAVAILABLE, 'the first delivery fails (503)');
  t.equal((await a.c.reply(r2)).body, 'verifyStarted', 'the resend is sent');
  t.equal(gw.relay.verifyGate.pending, 1, 'the socket waits for the resent code');
  t.equal((await register(a.c, a.nonce, n, codes[1]!)).body, 'registered', 'the resent code registers');
  t.equal(gw.relay.verifyGate.pending, 0);
  a.c.close();
});

t.test('an auth on a socket waiting for a code gives the slot back', async (t) => {
  const gw = await startTestGateway({ maxConnections: 20, maxPendingVerifications: 1, logLevel: 'warn' });
  t.teardown(() => gw.close());
  const { c: first, dev } = await registerRaw(gw.url, fresh());
  first.close();
  // A handset that asked for a code, then logs in with the device it already has.
  const a = await open(gw.url);
  t.equal((await start(a.c, fresh())).body, 'verifyStarted');
  t.equal(gw.relay.verifyGate.pending, 1);
  const r = ++req;
  a.c.send([{ req: r, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(a.nonce, dev.route, dev.device)) } }]);
  t.equal((await a.c.reply(r)).body, 'ok', 'authenticated');
  t.equal(gw.relay.verifyGate.pending, 0, 'the slot is given back');
  const b = await open(gw.url);
  t.equal((await start(b.c, fresh())).body, 'verifyStarted', 'and serves the next socket');
  a.c.close();
  b.c.close();
});
