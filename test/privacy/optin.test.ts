// Opt-in that means it (docs/PRIVACY.md): codes expire, wrong codes are limited, a
// number gets at most N codes a day over all gateways (counted under its route tag,
// never a plain hash), a new device on a number is announced to the number's other
// devices (connected now, offline on their next auth, through the SDK too), and the
// verifier sees the number once per verification and nothing else.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { registerRaw, authenticateRaw } from '../helpers/raw-device.ts';
import { connectRaw } from '../helpers/raw.ts';
import { registerHandset } from '../helpers/handsets.ts';
import { until } from '../helpers/poll.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { HushwireClient, type Notice } from '../../client/index.ts';
import { ErrorCode, CloseCode } from '../../relay/errors.ts';
import { routeTag } from '../../relay/tokens.ts';
import type { RelayLimits } from '../../relay/limits.ts';
import type { DecodedOp } from '../../relay/wire.ts';

let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(6000 + ++seq).padStart(4, '0')}`;

async function verifyStart(url: string, number: string): Promise<DecodedOp> {
  const c = await connectRaw(url);
  await c.next((o) => o.body === 'challenge');
  c.send([{ req: 1, verifyStart: { number } }]);
  const r = await c.reply(1);
  c.close();
  return r;
}

function noticeOps(ops: DecodedOp[]): DecodedOp[] {
  return ops.filter((o) => o.body === 'notice');
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
    await until('the delivered notice to be cleared', async () => {
      const d = (await gw.relay.directory.devices(routeTag(offline.dev.route))).find((x) => Buffer.from(x.device).equals(offline.dev.device));
      return Number(d?.newDeviceNoticeAtMs ?? 1) === 0;
    }, 10_000);
    const again = await authenticateRaw(gw.url, offline.dev);
    await new Promise((r) => setTimeout(r, 300));
    t.equal(noticeOps(again.ops).length, 0, 'and only once');
    again.close();
    // The connected one was cleared too (it was shown live).
    first.c.close();
    await first.c.closed;
    await until('the live notice to be cleared', async () => {
      const d = (await gw.relay.directory.devices(routeTag(first.dev.route))).find((x) => Buffer.from(x.device).equals(first.dev.device));
      return Number(d?.newDeviceNoticeAtMs ?? 1) === 0;
    }, 10_000);
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
