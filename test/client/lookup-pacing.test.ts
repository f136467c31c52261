// The SDK's lookup pacer (client/lookup-pacing.ts): a lookup op (evaluate, lookup) the
// gateway refuses whole, RATE_LIMITED or UNAVAILABLE, slows every lookup of the client,
// as a refused send op slows its sends (send-op-pacing.test.ts), and the refused lookup
// asks again in its turn until its deadline. Before, discover(), safetyNumber() and the
// own-number look failed at the first refusal, and a send's lookup retried on its own
// backoff: many lookups at once at a busy gateway kept coming back together.
//
// Against a real gateway (embedded bus) whose per-connection bound on lookup work in
// flight (relay/limits.ts maxDiscoveryPerConnection: an evaluate op, or a lookup's
// routes) is lowered to 2: a burst of lookups from one client has all but two refused
// RATE_LIMITED retry_after_ms 1000 (relay/session.ts #discovery). No timing is asserted: every call must succeed, and
// the gateway's refusals (hushwire_rate_limited_total{limit="discovery_in_flight"}) stay
// within what pacing allows. Plus the pacer's queue arithmetic, without a gateway.
import t, { type Test } from 'tap';
import { HushwireClient, MemoryStore, HushwireError, ErrorCode, type ClientOptions } from '../../client/index.ts';
import { SendPacer, SendStop, retryLookup } from '../../client/outgoing.ts';
import { paceLookups, lookupTurn, pacedOut } from '../../client/lookup-pacing.ts';
import { wasAnsweredByGateway, type OpBuilder } from '../../client/connection-core.ts';
import { blindNumbers } from '../../relay/crypto/oprf.ts';
import { startTestGateway, warmEvaluator, type TestGateway } from '../helpers/gateway.ts';
import { freshNumber } from '../helpers/handsets.ts';
import type { OpProps } from '../../relay/wire.ts';

t.setTimeout(180_000);

type Conn = { request(op: OpBuilder, timeoutMs?: number): Promise<OpProps> };

/** A gateway (`config` over the test defaults), its evaluator warm, a registered
 *  contact B (with `withContact`), and a connected send-only client of another
 *  registered number (`options` over no own-number looks or prekey rotations); its
 *  connection's raw request for the tests that pace by hand. */
async function clientAtGateway(t: Test, config: Parameters<typeof startTestGateway>[0] = {}, options: Partial<ClientOptions> = {}, withContact = true): Promise<{ gw: TestGateway; B: string; c: HushwireClient; conn: Conn }> {
  const gw = await startTestGateway({ logLevel: 'warn', ...config });
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  const B = freshNumber();
  if (withContact) await HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number: B });
  const store = new MemoryStore();
  await HushwireClient.register({ store, gateways: [gw.url], number: freshNumber() });
  const c = await HushwireClient.open(store, { gateways: [gw.url], receive: false, ownDevicesCheckMs: 0, prekeyRotationMs: 0, ...options });
  t.teardown(() => c.close());
  await c.connect();
  return { gw, B, c, conn: (c as unknown as { conn: Conn }).conn };
}

async function lookupRefusals(gw: TestGateway): Promise<number> {
  return (await gw.metrics.rateLimited.get()).values.find((v) => v.labels.limit === 'discovery_in_flight')?.value ?? 0;
}

t.test('a burst of lookups at a gateway taking two at a time: every one answered, paced', async (t) => {
  // requestTimeoutMs: the deadline of each lookup, its waits included; the burst below
  // takes ~1 s a lookup once paced, more than the 10 s default on a slow machine.
  const { gw, B, c } = await clientAtGateway(t, {}, { requestTimeoutMs: 60_000 });
  gw.relay.limits.maxDiscoveryPerConnection = 2;
  const before = await lookupRefusals(gw);

  const K = 6;
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < K; i++) calls.push(i % 2 === 0 ? c.discover([B, freshNumber()]) : c.safetyNumber(B));
  const settled = await Promise.allSettled(calls);
  const failed = settled.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason));
  t.same(failed, [], 'no lookup failed');
  for (let i = 0; i < K; i += 2) {
    const found = (settled[i] as PromiseFulfilledResult<Map<string, { registered: boolean }>>).value;
    t.equal(found.get(B)?.registered, true, 'the contact is found');
  }
  const refused = (await lookupRefusals(gw)) - before;
  t.ok(refused >= 1, `the gateway refused some (${refused})`);
  // Paced: the first burst's refusals (K - 2), and slack for ops that went out as the
  // pacing lapsed; unpaced, each refused lookup came back on its own and met the others.
  t.ok(refused <= 2 * K, `refusals bounded by pacing: ${refused} <= ${2 * K}`);
});

t.test('a send, discover and a safety number (the own number looked up too) at once ride out the same refusals', async (t) => {
  const { gw, B, c } = await clientAtGateway(t, {}, { requestTimeoutMs: 60_000, sendTimeoutMs: 60_000 });
  gw.relay.limits.maxDiscoveryPerConnection = 2;
  const results = await Promise.allSettled([c.send(B, 'one'), c.discover([freshNumber(), freshNumber()]), c.safetyNumber(B), c.discover([B])]);
  t.same(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), [], 'all answered');
});

t.test('a spent discovery budget: the lookups it holds back say the gateway\'s refusal and its time, not only "not sent"', async (t) => {
  // A gateway whose device discovery budget is 2 numbers (--discovery-first-sync,
  // --discovery-daily): the third number evaluated is refused RATE_LIMITED with
  // retry_after_ms until the budget's window ends, ~24 h away. The evaluate pacer takes
  // it as a 60 s gap, so the next evaluations (discover, a safety number of a new
  // contact) are held back unsent: they must say why (the budget), with that wait.
  const { B, c } = await clientAtGateway(t, { discoveryFirstSync: 2, discoveryDaily: 2 });

  t.equal((await c.discover([B, freshNumber()])).get(B)?.registered, true, 'the budget\'s 2 numbers');
  const budget = await c.discover([freshNumber()]).then(() => null, (e: unknown) => e as HushwireError);
  t.ok(budget && wasAnsweredByGateway(budget), 'the third: the gateway\'s own refusal');
  t.match(budget, { code: ErrorCode.RATE_LIMITED, message: 'discovery budget of this device used up (2 numbers in its first 24 h)' });
  t.ok(budget!.retryAfterMs > 3_600_000, `until the window ends (${budget!.retryAfterMs} ms)`);

  for (const [what, call] of [['discover', () => c.discover([freshNumber()])], ['a new contact\'s safety number', () => c.safetyNumber(freshNumber())]] as const) {
    const e = await (call as () => Promise<unknown>)().then(() => null, (err: unknown) => err as HushwireError);
    t.ok(e instanceof HushwireError, `${what}: fails`);
    t.equal(e!.code, ErrorCode.RATE_LIMITED, `${what}: the gateway's code`);
    t.equal(e!.message, `lookup not sent: the gateway refused the last one: ${budget!.message}`, `${what}: not sent, and why`);
    t.equal(e!.cause, budget, `${what}: the gateway's refusal as its cause`);
    t.ok(e!.retryAfterMs > 3_600_000 && e!.retryAfterMs <= budget!.retryAfterMs, `${what}: retryAfterMs the gateway's time left (${e!.retryAfterMs} ms), not the pacer's gap (60 s at most)`);
  }
  // Lookups of a known contact (no evaluate) are not held (5e775d4).
  t.equal((await c.safetyNumber(B)).devices, 1, 'a known contact\'s safety number is answered');
});

t.test('a lookup the gateway refused ends with that refusal, however it gives up; one never sent says the refusal that held it back', async (t) => {
  // The client's own connection to a real gateway taking no lookup work at all
  // (maxDiscoveryPerConnection 0: every evaluate RATE_LIMITED retry_after_ms 1000,
  // 'too many lookups in flight on this connection'), paced with a queue of 1.
  const { gw, conn } = await clientAtGateway(t, {}, {}, false);
  gw.relay.limits.maxDiscoveryPerConnection = 0;
  const evaluations = new SendPacer();
  const request = paceLookups({
    request: (op, ms) => conn.request(op, ms), requestTimeoutMs: 2_500, maxWaiting: 1,
    pacers: { evaluate: evaluations, lookup: new SendPacer() },
  });
  const evaluate = () => request({ evaluate: { blinded: blindNumbers([freshNumber()]).blinded } });
  const GATEWAY = /^too many lookups in flight on this connection/;

  // Two at once, both sent: the first refusal back waits for its retry (the queue's one
  // place), the second, refused while the queue is full, ends with the gateway's refusal.
  const both = [evaluate(), evaluate()];
  const full = await Promise.any(both.map((p) => p.then(() => { throw new Error('answered'); }, (e: unknown) => e as HushwireError)));
  t.ok(wasAnsweredByGateway(full), 'refused while the queue is full: the gateway\'s refusal itself');
  t.match(full, { code: ErrorCode.RATE_LIMITED, message: GATEWAY });
  // One more while the other waits: held back unsent, saying the refusal.
  const unsent = await evaluate().then(() => null, (e: unknown) => e as HushwireError);
  t.match(unsent, { code: ErrorCode.RATE_LIMITED });
  t.match(unsent!.message, /^lookup not sent: 1 lookups of this client are already waiting for their turn; the gateway refused the last one: too many lookups in flight on this connection/, 'not sent, and the gateway\'s reason');
  t.ok(wasAnsweredByGateway(unsent!.cause), 'its cause: the gateway\'s refusal');
  t.ok(unsent!.retryAfterMs > 0, 'with a time to wait');
  const held = await Promise.allSettled(both);
  const last = held.map((r) => (r as PromiseRejectedResult).reason as HushwireError).find((e) => e !== full)!;
  t.ok(wasAnsweredByGateway(last), 'the one that waited: refused to its deadline, the gateway\'s refusal of its last try');

  // Sent, refused, and its next turn past its deadline (the evaluations paced 60 s apart
  // meanwhile): it was sent, so the gateway's refusal, not "lookup not sent".
  const once = evaluate();
  const caught = once.catch((e: unknown) => e as HushwireError);
  await new Promise((r) => setTimeout(r, 300));
  evaluations.limited(60_000);
  const e = await caught;
  t.ok(wasAnsweredByGateway(e), 'the gateway\'s refusal of its try');
  t.match(e, { code: ErrorCode.RATE_LIMITED, message: GATEWAY });
});

t.test('pacedOut: the refusal\'s code, message, cause and the time left of its retry_after_ms', async (t) => {
  const refusal = new HushwireError(ErrorCode.UNAVAILABLE, 'directory unavailable', { retryAfterMs: 5_000 });
  const late = pacedOut('deadline', 800, { error: refusal, at: 1_000 }, 256, 2_000);
  t.match(late, { code: ErrorCode.UNAVAILABLE, message: 'lookup not sent: the gateway refused the last one: directory unavailable', retryAfterMs: 4_000 });
  t.equal(late.cause, refusal);
  t.equal(pacedOut('deadline', 800, { error: refusal, at: 1_000 }, 256, 9_000).retryAfterMs, 800, 'its time passed: the turn\'s wait');
  const full = pacedOut('full', 800, { error: refusal, at: 1_000 }, 256, 2_000);
  t.match(full, { code: ErrorCode.RATE_LIMITED, message: 'lookup not sent: 256 lookups of this client are already waiting for their turn; the gateway refused the last one: directory unavailable', retryAfterMs: 4_000 });
  t.match(pacedOut('deadline', 800, null, 256), { code: ErrorCode.RATE_LIMITED, message: /turn would come only after its deadline/, retryAfterMs: 800 }, 'no refusal seen: the generic words');
});

t.test('lookupTurn: go, deadline, full', async (t) => {
  t.equal(lookupTurn(0, 1000, 1001, 99, 1), 'go', 'no wait: goes, whatever is held back');
  t.equal(lookupTurn(500, 1000, 1600, 0, 1), 'go', 'a turn before the deadline');
  t.equal(lookupTurn(600, 1000, 1600, 0, 1), 'deadline', 'a turn at the deadline fails at once');
  t.equal(lookupTurn(500, 1000, 1600, 1, 1), 'full', 'the queue full: fails at once');
  t.equal(lookupTurn(700, 1000, 1600, 1, 1), 'deadline', 'past the deadline is said first');
});

t.test('paceLookups: the queue is bounded, the deadline kept, close ends the waits; the SDK\'s own errors never pace', async (t) => {
  const sent: number[] = [];
  const answer: OpProps = { req: 1, pong: {} } as unknown as OpProps;
  const pacer = new SendPacer();
  const stop = new SendStop();
  const request = paceLookups({
    request: async (_op, timeoutMs) => { sent.push(timeoutMs); return answer; },
    requestTimeoutMs: 60_000, pacers: { evaluate: new SendPacer(), lookup: pacer }, stop, maxWaiting: 2,
  });
  // Not engaged: straight out, with the request deadline (or the shorter one given).
  await request({ ping: {} });
  await request({ ping: {} }, 5_000);
  t.ok(sent[0]! > 59_000 && sent[0]! <= 60_000, 'requestTimeoutMs');
  t.ok(sent[1]! > 4_000 && sent[1]! <= 5_000, 'a shorter timeout given is kept');
  pacer.limited(10_000);
  const first = request({ ping: {} });
  const second = request({ ping: {} });
  await t.rejects(request({ ping: {} }), { code: ErrorCode.RATE_LIMITED, message: /2 lookups of this client are already waiting/ }, 'one past the bound fails at once');
  await t.rejects(request({ ping: {} }, 5_000), { code: ErrorCode.RATE_LIMITED, message: /turn would come only after its deadline/ }, 'one whose turn is past its deadline fails at once');
  t.equal(sent.length, 2, 'neither was sent');
  stop.stop(new HushwireError(ErrorCode.UNAVAILABLE, 'client closed'));
  await t.rejects(first, { message: 'client closed' });
  await t.rejects(second, { message: 'client closed' });
  t.equal(sent.length, 2, 'nothing sent after the stop');

  // The SDK's own RATE_LIMITED ('too many requests pending') is not the gateway's: passed
  // on, not retried, the pacer untouched.
  const quiet = new SendPacer();
  let calls = 0;
  const own = paceLookups({
    request: async () => { calls++; throw new HushwireError(ErrorCode.RATE_LIMITED, 'too many requests pending'); },
    requestTimeoutMs: 30_000, pacers: { evaluate: new SendPacer(), lookup: quiet },
  });
  await t.rejects(own({ ping: {} }), { message: 'too many requests pending' });
  t.equal(calls, 1, 'not retried');
  t.equal(quiet.peek(), 0, 'no pacing');

  // Evaluations and lookups keep apart: a refused evaluate (the discovery budget, hours
  // off) does not hold a lookup of a known route.
  const evaluations = new SendPacer();
  evaluations.limited(60_000);
  const sentOps: string[] = [];
  const split = paceLookups({
    request: async (op) => { sentOps.push(Object.keys(op)[0]!); return answer; },
    requestTimeoutMs: 10_000, pacers: { evaluate: evaluations, lookup: new SendPacer() },
  });
  await split({ lookup: { route: new Uint8Array(32) } });
  await t.rejects(split({ evaluate: { blinded: [new Uint8Array(32)] } }), { code: ErrorCode.RATE_LIMITED, message: /turn would come only after its deadline/ });
  t.same(sentOps, ['lookup'], 'the lookup went out at once; the evaluate waits for its own pacer');
});

t.test('a last try that times out after the gateway refused the lookup: the refusal is the error, in the pacer and in a send\'s lookup retries', async (t) => {
  // A real refusal (maxDiscoveryPerConnection 0: RATE_LIMITED with retry_after_ms 1000),
  // then a try that finds no answer before its deadline (the few ms a send had left:
  // the e2e test's send to a contact while the evaluator was down ended 'request timed
  // out' under load, where the gateway had said UNAVAILABLE).
  const { gw, conn } = await clientAtGateway(t, {}, {}, false);
  gw.relay.limits.maxDiscoveryPerConnection = 0;
  const evaluate: OpBuilder = { evaluate: { blinded: blindNumbers([freshNumber()]).blinded } };
  const timedOut = () => new HushwireError(ErrorCode.TIMEOUT, 'request timed out');

  let tries = 0;
  const request = paceLookups({
    request: (op, ms) => (++tries === 1 ? conn.request(op, ms) : Promise.reject(timedOut())),
    requestTimeoutMs: 5_000, pacers: { evaluate: new SendPacer(), lookup: new SendPacer() },
  });
  const paced = await request(evaluate).then(() => null, (e: unknown) => e as HushwireError);
  t.equal(tries, 2, 'refused, then tried again in its turn');
  t.ok(wasAnsweredByGateway(paced), 'the pacer ends with the gateway\'s refusal');
  t.match(paced, { code: ErrorCode.RATE_LIMITED, message: /^too many lookups in flight on this connection/ });

  let steps = 0;
  const refusal = await conn.request(evaluate).then(() => null, (e: unknown) => e as HushwireError);
  t.ok(wasAnsweredByGateway(refusal), 'a refusal of the gateway\'s to replay');
  const looked = await retryLookup(async () => { if (++steps === 1) throw refusal!; throw timedOut(); }, { deadline: Date.now() + 3_000, random: () => 0 })
    .then(() => null, (e: unknown) => e as HushwireError);
  t.ok(steps >= 2, `tried again after the refusal (${steps} tries)`);
  t.equal(looked, refusal, 'at the deadline: the gateway\'s refusal, not the last try\'s TIMEOUT');

  const unanswered = await retryLookup(async () => { throw timedOut(); }, { deadline: Date.now() + 600, random: () => 0 })
    .then(() => null, (e: unknown) => e as HushwireError);
  t.match(unanswered, { code: ErrorCode.TIMEOUT }, 'nothing but timeouts: TIMEOUT');
});

t.test('ClientOptions.maxWaitingLookups: the lookup one past it fails at once, unsent, with the documented refusal; none of those waiting is lost', async (t) => {
  // A client opened with maxWaitingLookups 3. The gateway refuses one of its evaluations
  // (maxDiscoveryPerConnection 0: RATE_LIMITED retry_after_ms 1000), which paces its
  // evaluations 1 s apart; the gateway then takes lookups again. Four discover() calls
  // at once: three wait for their turn, the fourth finds the queue full.
  const N = 3;
  const { gw, B, c } = await clientAtGateway(t, {}, { requestTimeoutMs: 60_000, maxWaitingLookups: N });
  const inner = c as unknown as { lookups: (op: OpBuilder, timeoutMs?: number) => Promise<OpProps>; lookupPacers: { evaluate: SendPacer } };
  const limit = gw.relay.limits.maxDiscoveryPerConnection;
  gw.relay.limits.maxDiscoveryPerConnection = 0;
  // Its deadline (300 ms) is before its retry: it ends with the refusal, waiting for nothing.
  const refusal = await inner.lookups({ evaluate: { blinded: blindNumbers([freshNumber()]).blinded } }, 300).then(() => null, (e: unknown) => e as HushwireError);
  t.ok(wasAnsweredByGateway(refusal), 'the gateway refused an evaluation');
  gw.relay.limits.maxDiscoveryPerConnection = limit;
  // The turns 1 s apart from now on, whatever ran since the refusal (the pacer's own
  // answer to it, renewed): the calls below all wait.
  inner.lookupPacers.evaluate.limited(1_000);

  const numbers = [B, ...Array.from({ length: N - 1 }, () => freshNumber())];
  const waiting = numbers.map((n) => c.discover([n]));
  const over = await c.discover([freshNumber()]).then(() => null, (e: unknown) => e as HushwireError);
  t.ok(over instanceof HushwireError, 'the one past the bound fails');
  t.equal(over!.code, ErrorCode.RATE_LIMITED);
  t.equal(over!.message, `lookup not sent: ${N} lookups of this client are already waiting for their turn; the gateway refused the last one: ${refusal!.message}`);
  t.notOk(wasAnsweredByGateway(over), 'the client\'s own refusal: it was never sent');
  t.equal(over!.cause, refusal, 'its cause: the gateway\'s refusal that paced it');
  t.ok(over!.retryAfterMs > 0, `with a time to wait (${over!.retryAfterMs} ms)`);

  const answered = await Promise.allSettled(waiting);
  t.same(answered.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), [], `the ${N} waiting are all answered`);
  numbers.forEach((n, i) => {
    const found = (answered[i] as PromiseFulfilledResult<Map<string, { registered: boolean }>>).value;
    t.equal(found?.get(n)?.registered, i === 0, i === 0 ? 'the contact is found' : 'a number nobody registered is not');
  });
});

t.test('maxWaitingLookups by default: 256 lookups wait, the 257th fails at once; close() ends the waits', async (t) => {
  // A day's requestTimeoutMs, and the evaluations paced 60 s apart (no gateway refusal
  // seen: the generic words): every turn is before its deadline, so only the queue's
  // bound can refuse one.
  const { c } = await clientAtGateway(t, {}, { requestTimeoutMs: 86_400_000 }, false);
  (c as unknown as { lookupPacers: { evaluate: SendPacer } }).lookupPacers.evaluate.limited(60_000);
  const waiting = Array.from({ length: 256 }, () => c.discover([freshNumber()]));
  const over = await c.discover([freshNumber()]).then(() => null, (e: unknown) => e as HushwireError);
  t.match(over, { code: ErrorCode.RATE_LIMITED, message: 'lookup not sent: 256 lookups of this client are already waiting for their turn; try again later' }, 'the 257th');
  const settled = Promise.allSettled(waiting);
  await c.close();
  const ended = await settled;
  t.equal(ended.filter((r) => r.status === 'rejected' && /the client is closed/.test(String((r as PromiseRejectedResult).reason))).length, 256, 'the 256 waiting end at close(), none sent');
});

t.test('a lookup asked while others wait for their turn goes out behind them, in the order asked, after the quiet period too', async (t) => {
  // A client whose evaluations the gateway refused once (maxDiscoveryPerConnection 0:
  // RATE_LIMITED retry_after_ms 1000) and then takes again; its evaluations paced 1 s
  // apart (renewed from now, as above): four discover() calls wait for their turns,
  // ~1, 2, 3 and 4 s away, while the pacer's quiet period (2 s after the last refusal)
  // ends before the third goes. A fifth discover() asked as the third goes out joins the
  // queue behind the fourth. Before, the pacer counted as paced only until 2 s after the
  // refusal: the fifth went straight out, ahead of the fourth. The calls are told apart
  // by their sizes (1 to 5 numbers: one evaluate op each), as the connection sends them.
  const { gw, c } = await clientAtGateway(t, {}, { requestTimeoutMs: 60_000 }, false);
  const inner = c as unknown as { conn: Conn; lookups: (op: OpBuilder, timeoutMs?: number) => Promise<OpProps>; lookupPacers: { evaluate: SendPacer } };
  const limit = gw.relay.limits.maxDiscoveryPerConnection;
  gw.relay.limits.maxDiscoveryPerConnection = 0;
  const refusal = await inner.lookups({ evaluate: { blinded: blindNumbers([freshNumber()]).blinded } }, 300).then(() => null, (e: unknown) => e as HushwireError);
  t.ok(wasAnsweredByGateway(refusal), 'the gateway refused an evaluation');
  gw.relay.limits.maxDiscoveryPerConnection = limit;

  const numbers = (n: number) => Array.from({ length: n }, () => freshNumber());
  const sizes: number[] = [];
  let fifth: Promise<unknown> | null = null;
  const raw = inner.conn.request.bind(inner.conn);
  inner.conn.request = (op, timeoutMs) => {
    if (typeof op === 'object' && op.evaluate) {
      sizes.push(op.evaluate.blinded?.length ?? 0);
      // The third goes out a turn (1 s) past the quiet period: the fifth is asked now.
      if (sizes.length === 3) fifth = c.discover(numbers(5));
    }
    return raw(op, timeoutMs);
  };
  inner.lookupPacers.evaluate.limited(1_000);
  const first = [1, 2, 3, 4].map((n) => c.discover(numbers(n)));
  const settled: PromiseSettledResult<unknown>[] = await Promise.allSettled(first);
  t.ok(fifth !== null, 'the fifth was asked as the third went out');
  settled.push(...(await Promise.allSettled([fifth!])));
  t.same(settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), [], 'all five answered');
  t.same(sizes, [1, 2, 3, 4, 5], 'sent in the order asked: the fifth behind the fourth, which was waiting');
});

t.test('SendPacer join/leave: paced while an op waits in the queue, and until the turn after the last one; then no more', async (t) => {
  const p = new SendPacer();
  p.limited(1_000, 0); // gap 1 s, quiet from 2 s on (no refusal since)
  const turns = [p.delay(0), p.delay(0), p.delay(0)];
  t.same(turns, [1_000, 2_000, 3_000], 'three turns taken 1 s apart');
  for (let i = 0; i < 3; i++) p.join();
  p.leave(); // the first went out at 1 s
  p.leave(); // the second at 2 s
  t.equal(p.peek(2_500), 1_500, 'past the quiet period with one still waiting: a new op queues behind it (its turn at 4 s)');
  t.equal(p.delay(2_500), 1_500, 'and takes that turn');
  p.join();
  p.leave(); // the third at 3 s
  p.leave(); // the new one at 4 s
  t.equal(p.peek(4_000), 1_000, 'the queue empty: the op after it keeps the gap');
  t.equal(p.peek(5_000), 0, 'the queue empty and the quiet period over: not paced');
  t.equal(p.delay(5_000), 0, 'an op goes at once');
  t.equal(p.peek(5_001), 0, 'and the pacing is over (no turn kept from the queue)');
});
