// Opt-in that means it (docs/PRIVACY.md): codes expire, wrong codes are limited, a
// number gets at most N codes a day over all gateways (counted under its route tag,
// never a plain hash), a new device on a number is announced to the number's other
// devices (connected now, offline on their next auth, through the SDK too), and the
// verifier sees the number once per verification and nothing else. A code the verifier
// did not send (it failed or timed out) gives the number its budget back.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { verifyStart, verifyStartCharges } from '../helpers/verify-start.ts';
import { registerRaw, authenticateRaw, type RawDevice } from '../helpers/raw-device.ts';
import { connectRaw } from '../helpers/raw.ts';
import { registerHandset } from '../helpers/handsets.ts';
import { until } from '../helpers/poll.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { HushwireClient, type Notice } from '../../client/index.ts';
import { ErrorCode, CloseCode } from '../../relay/errors.ts';
import { routeTag } from '../../relay/tokens.ts';
import type { RelayLimits } from '../../relay/limits.ts';
import type { DecodedOp } from '../../relay/wire.ts';
import { createWebhookVerifier } from '../../relay/verifier/webhook.ts';
import { VerifierFailure } from '../../relay/verifier/verifier.ts';

let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(6000 + ++seq).padStart(4, '0')}`;

function noticeOps(ops: DecodedOp[]): DecodedOp[] {
  return ops.filter((o) => o.body === 'notice');
}

/** Waits until the directory no longer holds a new-device notice for `dev` (cleared
 *  once shown, live or at its next auth); `what` names the wait in a timeout. */
async function noticeCleared(gw: TestGateway, dev: RawDevice, what: string): Promise<void> {
  await until(what, async () => {
    const d = (await gw.relay.directory.devices(routeTag(dev.route))).find((x) => Buffer.from(x.device).equals(dev.device));
    return Number(d?.newDeviceNoticeAtMs ?? 1) === 0;
  }, 10_000);
}

t.test('embedded gateway', async (t) => {
  const gw = await startTestGateway({ verifyStartsPerNumber: 3 });
  t.teardown(() => gw.close());
  // Short code lifetime for this gateway only (not a setting: a test knob on its limits).
  const limits = gw.relay.limits as RelayLimits;

  await t.test('a code expires', async (t) => {
    limits.verifyCodeTtlMs = 150;
    t.teardown(() => { limits.verifyCodeTtlMs = 5 * 60_000; });
    const c = await connectRaw(gw.url);
    await c.next((o) => o.body === 'challenge');
    const number = freshNumber();
    c.send([{ req: 1, verifyStart: { number } }]);
    const code = (await c.reply(1)).verifyStarted!.devCode;
    // The pending code lives only on this socket, which closes when the code expires.
    const closed = await Promise.race([c.closed, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    t.equal(closed?.code, CloseCode.AUTH_TIMEOUT, 'the connection holding the code closes when it expires');
    const c2 = await connectRaw(gw.url);
    await c2.next((o) => o.body === 'challenge');
    c2.send([{ req: 2, register: { number, code } }]);
    t.equal((await c2.reply(2)).error?.code, ErrorCode.VERIFY_FAILED, 'and the code is worth nothing on another connection');
    c2.close();
  });

  await t.test('wrong codes are limited; then even the right code fails', async (t) => {
    const c = await connectRaw(gw.url);
    await c.next((o) => o.body === 'challenge');
    const number = freshNumber();
    c.send([{ req: 1, verifyStart: { number } }]);
    const code = (await c.reply(1)).verifyStarted!.devCode;
    const wrong = code === '000000' ? '000001' : '000000';
    for (let i = 0; i < limits.verifyAttempts; i++) {
      c.send([{ req: 10 + i, register: { number, code: wrong } }]);
      t.equal((await c.reply(10 + i)).error?.code, ErrorCode.VERIFY_FAILED, `wrong code ${i + 1}`);
    }
    c.send([{ req: 20, register: { number, code } }]);
    t.equal((await c.reply(20)).error?.code, ErrorCode.VERIFY_FAILED, 'the verification is void after the attempts');
    c.close();
  });

  await t.test('a number gets at most N codes per day, over all connections', async (t) => {
    const number = freshNumber();
    for (let i = 0; i < 3; i++) t.equal((await verifyStart(gw.url, number)).body, 'verifyStarted', `code ${i + 1}`);
    const r = await verifyStart(gw.url, number);
    t.equal(r.error?.code, ErrorCode.RATE_LIMITED, 'the 4th is refused');
    t.ok(r.error!.retryAfterMs > 0 && r.error!.retryAfterMs <= 24 * 3600 * 1000, `with retry_after_ms (${r.error!.retryAfterMs})`);
    t.notOk(r.error!.message.includes(number.slice(1)), 'the error does not name the number');
    t.equal(r.error!.message, 'verification codes for this phone number used up (3 per 24 h)', 'in plain words, not the metric\'s label (verify_start)');
    t.equal((await verifyStart(gw.url, freshNumber())).body, 'verifyStarted', 'another number is not affected');
    // The counter is keyed by the number's route tag (OPRF-derived), not by a hash of it.
    const tag = routeTag(await gw.relay.evaluator.routeForNumber(number));
    t.ok(await gw.bus.counterGet(`vs.${tag}`), 'counter under vs.<route tag>');
    const sha = createHash('sha256').update(number).digest('hex').slice(0, 32);
    t.equal(await gw.bus.counterGet(`vs.${sha}`), null, 'nothing under a plain hash of the number');
  });

  await t.test('a new device is announced to the number\'s other devices', async (t) => {
    const number = freshNumber();
    const first = await registerRaw(gw.url, number); // stays connected
    const offline = await registerRaw(gw.url, number);
    offline.c.close();
    await offline.c.closed;
    // Wait for the offline device's own notice (about... nothing: it was the newest).
    const before = Date.now();
    const third = await registerRaw(gw.url, number);
    const live = await first.c.next((o) => o.body === 'notice', 10_000);
    t.equal(live.notice!.kind, 'new_device', 'the connected device is told at once');
    t.ok(Number(live.notice!.atMs) >= before - 1000, 'with the time');
    t.equal(noticeOps(third.c.ops).length, 0, 'the new device itself gets no notice');
    // The offline device hears of it on its next authentication, once.
    const back = await authenticateRaw(gw.url, offline.dev);
    const stored = await back.next((o) => o.body === 'notice', 10_000);
    t.equal(stored.notice!.kind, 'new_device', 'an offline device gets it on its next auth');
    back.close();
    await back.closed;
    await noticeCleared(gw, offline.dev, 'the delivered notice to be cleared');
    const again = await authenticateRaw(gw.url, offline.dev);
    await new Promise((r) => setTimeout(r, 300));
    t.equal(noticeOps(again.ops).length, 0, 'and only once');
    again.close();
    // The connected one was cleared too (it was shown live).
    first.c.close();
    await first.c.closed;
    await noticeCleared(gw, first.dev, 'the live notice to be cleared');
    const firstAgain = await authenticateRaw(gw.url, first.dev);
    await new Promise((r) => setTimeout(r, 300));
    t.equal(noticeOps(firstAgain.ops).length, 0, 'a notice shown live is not shown again');
    firstAgain.close();
    third.c.close();
  });

  await t.test('the SDK surfaces the notice (onNotice)', async (t) => {
    const number = freshNumber();
    const h = await registerHandset([gw.url], number);
    const notices: Notice[] = [];
    const client = await HushwireClient.open(h.profileDir, { onNotice: (n) => notices.push(n) });
    t.teardown(() => client.close());
    await client.connect();
    await registerHandset([gw.url], number); // "someone" registers the number elsewhere
    await until('the SDK to report the notice', () => notices.length > 0, 10_000);
    t.equal(notices[0]!.kind, 'new_device');
    t.type(notices[0]!.atMs, 'number');
  });
});

t.test('the verifier sees the number once per verification and keeps nothing', async (t) => {
  const posts: Array<{ body: string; path: string }> = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      posts.push({ body, path: req.url ?? '' });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send-code`;
  const gw = await startTestGateway({ verifier: 'webhook', verifierUrl: url });
  t.teardown(() => gw.close());

  const number = freshNumber();
  const c = await connectRaw(gw.url);
  await c.next((o) => o.body === 'challenge');
  c.send([{ req: 1, verifyStart: { number } }]);
  const started = await c.reply(1);
  t.equal(started.body, 'verifyStarted');
  t.equal(started.verifyStarted!.devCode, '', 'a real verifier: the code is not handed back');
  t.equal(posts.length, 1, 'one POST');
  const sent = JSON.parse(posts[0]!.body) as Record<string, unknown>;
  t.same(Object.keys(sent).sort(), ['code', 'number'], 'it carries the number and the code, nothing else');
  t.equal(sent['number'], number);
  // Register with that code on the same socket: no second call to the verifier.
  c.send([{ req: 2, register: { number, code: String(sent['code']) } }]);
  const reg = await c.reply(2);
  t.not(reg.error?.code, ErrorCode.VERIFY_FAILED, 'the code matched (the register op itself lacks keys here)');
  c.close();
  // Lookups, discovery, auth: the verifier never hears of the number again.
  const other = await registerRaw((await startTestGatewayShared(t)).url, freshNumber());
  other.c.close();
  t.equal(posts.length, 1, 'still one POST: registration, auth and discovery never reach the verifier');
  t.same(posts.map((p) => p.path), ['/send-code']);
  t.notOk(gw.logs().includes(number.slice(2)), 'the gateway log does not hold the number');
});

/** A webhook verifier on loopback whose behaviour the test switches: `ok` (204),
 *  `refuse` (503: the bridge says it did not send), `fail` (500: it may have),
 *  `hang` (reads the request, never answers). `delayMs` before answering. */
type VerifierMode = 'ok' | 'refuse' | 'fail' | 'hang';
async function switchableVerifier(t: Test): Promise<{ url: string; mode: VerifierMode; delayMs: number; posts: number }> {
  const state = { url: '', mode: 'ok' as VerifierMode, delayMs: 0, posts: 0 };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.posts++;
      const mode = state.mode;
      if (mode === 'hang') return;
      setTimeout(() => res.writeHead(mode === 'ok' ? 204 : mode === 'refuse' ? 503 : 500).end(), state.delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send-code`;
  return state;
}

async function deliveries(gw: TestGateway): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await gw.metrics.verifierDeliveries.get()).values) out[String(v.labels.outcome)] = v.value;
  for (const v of (await gw.metrics.verifyStartRefunds.get()).values) out[`refund_${String(v.labels.result)}`] = v.value;
  return out;
}

t.test('a verifier outage does not use up the numbers\' verification budget', async (t) => {
  const v = await switchableVerifier(t);
  const gw = await startTestGateway({ verifier: 'webhook', verifierUrl: v.url, verifierTimeoutMs: 500, verifyStartsPerNumber: 2, logLevel: 'info' });
  t.teardown(() => gw.close());
  const number = freshNumber();

  v.mode = 'refuse';
  for (let i = 0; i < 5; i++) {
    const r = await verifyStart(gw.url, number);
    t.equal(r.error?.code, ErrorCode.UNAVAILABLE, `attempt ${i + 1} while the verifier answers 503: UNAVAILABLE`);
  }
  t.equal(await verifyStartCharges(gw, number), 0, 'the budget is unchanged: every charge was given back');
  v.mode = 'hang';
  const r = await verifyStart(gw.url, number);
  t.equal(r.error?.code, ErrorCode.UNAVAILABLE, 'while the verifier does not answer: UNAVAILABLE');
  t.match(r.error?.message, /did not answer in time/);
  t.equal(await verifyStartCharges(gw, number), 1, 'a timeout keeps its charge: the bridge may have sent the code (no SMS pumping through a slow bridge)');
  t.same(await deliveries(gw), { ok: 0, failed: 5, timeout: 1, refund_refunded: 5, refund_kept: 0, refund_withheld: 1 }, 'deliveries and refunds counted by outcome');

  // The verifier is back: the number has what the outage did not take.
  v.mode = 'ok';
  t.equal((await verifyStart(gw.url, number)).body, 'verifyStarted', 'after the outage: a code is sent (budget 2, one used by the timeout)');
  t.equal((await verifyStart(gw.url, number)).error?.code, ErrorCode.RATE_LIMITED, 'then the budget applies as always');
  t.equal(await verifyStartCharges(gw, number), 2, 'codes sent, or perhaps sent, are counted');
  t.match(await deliveries(gw), { ok: 1, failed: 5, timeout: 1 });

  // The log says why, without the number; a burst of failures is one line.
  const warns = gw.logs().split('\n').filter((l) => l.includes('verifier delivery')).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(warns[0], { level: 40, outcome: 'failed', reason: 'HTTP 503', refunded: true, msg: /^verifier delivery failed: HTTP 503; the number's verify_start charge was given back/ }, 'a warn line with the reason');
  t.ok(warns.length >= 1 && warns.length <= 2, `throttled: ${warns.length} line(s) for 6 failures within seconds`);
  t.notOk(gw.logs().includes(number.slice(2)), 'the log does not hold the number');
});

t.test('a code that may have been sent keeps its charge; a failed delivery leaves no code to guess', async (t) => {
  const v = await switchableVerifier(t);
  const gw = await startTestGateway({ verifier: 'webhook', verifierUrl: v.url, verifyStartsPerNumber: 2, logLevel: 'warn' });
  t.teardown(() => gw.close());
  const number = freshNumber();
  v.mode = 'fail'; // HTTP 500: perhaps after the bridge sent the SMS
  t.equal((await verifyStart(gw.url, number)).error?.code, ErrorCode.UNAVAILABLE);
  t.equal(await verifyStartCharges(gw, number), 1, 'a 500 keeps the charge (no SMS pumping through an erroring bridge)');
  t.match(await deliveries(gw), { failed: 1, refund_withheld: 1, refund_refunded: 0 });

  // The same socket then tries codes: there is nothing pending to guess against, for a
  // refused delivery (refunded, so free) as for one that may have gone out.
  for (const mode of ['refuse', 'fail'] as const) {
    v.mode = mode;
    const c = await connectRaw(gw.url);
    await c.next((o) => o.body === 'challenge');
    const victim = freshNumber();
    c.send([{ req: 1, verifyStart: { number: victim } }]);
    t.equal((await c.reply(1)).error?.code, ErrorCode.UNAVAILABLE, `${mode}: the start fails`);
    c.send([{ req: 2, register: { number: victim, code: '000000' } }]);
    const r = await c.reply(2);
    t.equal(r.error?.code, ErrorCode.VERIFY_FAILED, `${mode}: a guess is refused`);
    t.match(r.error?.message, /no pending verification/, `${mode}: not "wrong code": no code is pending at all`);
    c.close();
  }
});

t.test('a verifier that cannot be reached: refunded, counted as failed', async (t) => {
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const url = `http://127.0.0.1:${port}/send-code`;
  const gw = await startTestGateway({ verifier: 'webhook', verifierUrl: url, verifyStartsPerNumber: 1, logLevel: 'info' });
  t.teardown(() => gw.close());
  const number = freshNumber();
  for (let i = 0; i < 3; i++) t.equal((await verifyStart(gw.url, number)).error?.code, ErrorCode.UNAVAILABLE);
  t.equal(await verifyStartCharges(gw, number), 0, 'budget unchanged');
  t.match(await deliveries(gw), { failed: 3, refund_refunded: 3 });
  t.match(gw.logs(), /"reason":"connection failed \(ECONNREFUSED\)"/, 'the reason is the errno code');
});

t.test('webhook verifier: outcome and reason of each failure, within --verifier-timeout-ms', async (t) => {
  const v = await switchableVerifier(t);
  const verifier = createWebhookVerifier({ url: v.url, timeoutMs: 300 });
  t.teardown(() => verifier.close());
  const outcome = async (): Promise<unknown> => verifier.deliver('+15550109999', '123456').then(() => 'ok', (e: unknown) => e);
  v.mode = 'ok';
  t.equal(await outcome(), 'ok');
  v.mode = 'refuse';
  t.match(await outcome(), { name: 'VerifierFailure', code: ErrorCode.UNAVAILABLE, outcome: 'failed', reason: 'HTTP 503', message: 'verifier answered HTTP 503', notSent: true });
  v.mode = 'fail';
  t.match(await outcome(), { name: 'VerifierFailure', code: ErrorCode.UNAVAILABLE, outcome: 'failed', reason: 'HTTP 500', message: 'verifier answered HTTP 500', notSent: false }, 'a 500 may come after the bridge sent it');
  v.mode = 'hang';
  // The deadline is the configured one: the delivery's 300 ms timer, set in the same turn
  // as a 1 s mark, ends it before the mark (timers of one turn fire in the order of their
  // expiry, however loaded the machine; the abort then settles it in microtasks).
  const order: string[] = [];
  const mark = setTimeout(() => order.push('1 s'), 1000);
  const hung = await outcome();
  order.push('timeout');
  clearTimeout(mark);
  t.match(hung, { outcome: 'timeout', reason: 'no answer within 300 ms (--verifier-timeout-ms)', message: 'verifier did not answer in time', notSent: false });
  t.same(order, ['timeout'], 'the deadline is the configured one, not a longer one');
  t.ok(hung instanceof VerifierFailure && !JSON.stringify({ ...hung, m: hung.message, r: hung.reason }).includes('5550109999'), 'the failure does not carry the number');
});

t.test('concurrent starts cannot overspend while deliveries fail and succeed', async (t) => {
  const v = await switchableVerifier(t);
  v.delayMs = 50; // charges overlap deliveries in flight
  const gw = await startTestGateway({ verifier: 'webhook', verifierUrl: v.url, verifyStartsPerNumber: 3 });
  t.teardown(() => gw.close());
  const number = freshNumber();
  const round = async (): Promise<DecodedOp[]> => Promise.all(Array.from({ length: 12 }, () => verifyStart(gw.url, number)));

  v.mode = 'refuse';
  const failing = await round();
  t.ok(failing.every((r) => r.error?.code === ErrorCode.UNAVAILABLE || r.error?.code === ErrorCode.RATE_LIMITED), 'failing verifier: UNAVAILABLE (or RATE_LIMITED while others\' charges were in flight)');
  t.equal(await verifyStartCharges(gw, number), 0, 'every charge given back');

  v.mode = 'ok';
  const working = await round();
  const sent = working.filter((r) => r.body === 'verifyStarted').length;
  t.equal(sent, 3, 'exactly the budget of codes sent');
  t.ok(working.every((r) => r.body === 'verifyStarted' || r.error?.code === ErrorCode.RATE_LIMITED), 'the rest refused RATE_LIMITED');
  t.equal(await verifyStartCharges(gw, number), 3, 'the counter holds what was sent');
  t.equal(v.posts, 12 - failing.filter((r) => r.error?.code === ErrorCode.RATE_LIMITED).length + 3, 'the verifier was asked only for charged starts');
});

/** A second dev-verifier gateway for registrations in the verifier test (the webhook
 *  gateway cannot complete registrations without a code channel). */
async function startTestGatewayShared(t: Test): Promise<TestGateway> {
  const gw = await startTestGateway();
  t.teardown(() => gw.close());
  return gw;
}

t.test('NATS: the per-number budget is shared by all gateways', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const key = oprfKeyFile();
  const a = await startTestGateway({ nats: server.url, oprfKeyFile: key, verifyStartsPerNumber: 2, name: 'oa' });
  const b = await startTestGateway({ nats: server.url, oprfKeyFile: key, verifyStartsPerNumber: 2, name: 'ob' });
  t.teardown(async () => { await a.close(); await b.close(); });
  const number = freshNumber();
  t.equal((await verifyStart(a.url, number)).body, 'verifyStarted');
  t.equal((await verifyStart(b.url, number)).body, 'verifyStarted');
  t.equal((await verifyStart(a.url, number)).error?.code, ErrorCode.RATE_LIMITED, 'gateway A refuses the 3rd');
  t.equal((await verifyStart(b.url, number)).error?.code, ErrorCode.RATE_LIMITED, 'and so does gateway B');
});
