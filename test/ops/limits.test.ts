// Every gateway limit with its code, against in-process gateways on the embedded bus,
// spoken raw: max connections (HTTP 503), new-connection rate (HTTP 429), per-device
// send rate (RATE_LIMITED receipts with retry_after_ms, socket kept open, served again
// after the wait, not reset by reconnecting), per-recipient byte budget (RATE_LIMITED
// for any sender, other recipients unaffected), and the existing ones: TOO_LARGE,
// TOO_MANY_DEVICES, MAILBOX_FULL (old mail kept), one live connection per device (4003).
import t from 'tap';
import { connectRaw } from '../helpers/raw.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { CloseCode, ErrorCode } from '../../relay/errors.ts';
import { registerDevice, authenticate, envelopeFor, send, httpGet, sample, until } from './fixtures.ts';
import WebSocket from 'ws';

const transports: ('uws' | 'ws')[] = (await uwsAvailable()) ? ['uws', 'ws'] : ['ws'];

/** The Retry-After header of a refused upgrade ('' when there is none). */
function retryAfterOf(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => { resolve(String(res.headers['retry-after'] ?? '')); res.resume(); ws.terminate(); });
    ws.on('open', () => { ws.close(); reject(new Error('accepted')); });
    ws.on('error', () => undefined);
  });
}

async function refusedWith(url: string): Promise<string> {
  try {
    const c = await connectRaw(url);
    c.close();
    return 'accepted';
  } catch (e) {
    return (e as Error).message;
  }
}

for (const transport of transports) {
  t.test(`max connections: the upgrade over the limit gets HTTP 503 (${transport})`, async (t) => {
    const gw = await startTestGateway({ transport, maxConnections: 3 });
    t.teardown(() => gw.close());
    const open = [await connectRaw(gw.url), await connectRaw(gw.url), await connectRaw(gw.url)];
    t.equal(await refusedWith(gw.url), 'HTTP 503', 'fourth connection refused: gateway full');
    t.equal(await retryAfterOf(gw.url), '5', 'with Retry-After');
    for (const c of open) t.notOk(c.ops.some((o) => o.body === 'error'), 'open sockets unaffected');
    // Unaffected: still open and still served (a ping is answered in any state).
    for (const [i, c] of open.entries()) {
      c.send([{ req: 60 + i, ping: {} }]);
      t.equal((await c.reply(60 + i, 5_000).catch((e: unknown) => ({ body: String(e) }))).body, 'ok', `open socket ${i + 1} still answers`);
      t.equal(c.ws.readyState, c.ws.OPEN, `open socket ${i + 1} still open`);
    }
    open[0]!.close();
    await open[0]!.closed;
    await until(() => gw.relay.sessionCount < 3, 5_000, 'the server to see the close');
    const again = await connectRaw(gw.url);
    t.ok(await again.next((o) => o.body === 'challenge'), 'a slot freed: accepted again');
    const m = await httpGet(gw.url, '/metrics');
    t.equal(sample(m.body, 'hushwire_rate_limited_total', { limit: 'connections' }), 2, 'both refusals counted');
    for (const c of [...open, again]) c.close();
  });

  t.test(`new-connection rate: over the bucket gets HTTP 429 (${transport})`, async (t) => {
    const gw = await startTestGateway({ transport, connectRate: 1, connectBurst: 3 });
    t.teardown(() => gw.close());
    const ok = [await connectRaw(gw.url), await connectRaw(gw.url), await connectRaw(gw.url)];
    t.equal(await refusedWith(gw.url), 'HTTP 429', 'the burst is spent: 429');
    t.match(await retryAfterOf(gw.url), /^[1-9][0-9]*$/, 'with Retry-After in whole seconds');
    // At 1/s a token comes back within a second; the bound below is generous.
    let verdict = '';
    await until(async () => (verdict = await refusedWith(gw.url)) === 'accepted', 5_000, 'a refilled token');
    t.equal(verdict, 'accepted', 'accepted again after the refill');
    const m = await httpGet(gw.url, '/metrics');
    t.ok(sample(m.body, 'hushwire_rate_limited_total', { limit: 'connect_rate' })! >= 1);
    for (const c of ok) c.close();
  });
}

t.test('per-device send rate: RATE_LIMITED with retry_after_ms, socket kept, served after the wait', async (t) => {
  const gw = await startTestGateway({ sendRate: 4, sendBurst: 3 });
  t.teardown(() => gw.close());
  const { c: a, dev: alice } = await registerDevice(gw.url, '+15550100001');
  const { c: bc, dev: bob } = await registerDevice(gw.url, '+15550100002');
  bc.close(); // bob offline: envelopes are stored
  const { c: cc } = await registerDevice(gw.url, '+15550100003');

  const r1 = await send(a, [envelopeFor(bob), envelopeFor(bob), envelopeFor(bob), envelopeFor(bob), envelopeFor(bob)]);
  t.same(r1.map((r) => r.status), ['stored', 'stored', 'stored', 'failed', 'failed'], 'the burst of 3 passes, in order');
  t.same(r1.slice(3).map((r) => r.code), [ErrorCode.RATE_LIMITED, ErrorCode.RATE_LIMITED]);
  const wait = r1[3]!.retryAfterMs;
  t.ok(wait > 0 && wait <= 250, `retry_after_ms = ${wait} (one token at 4/s)`);

  const other = await send(cc, [envelopeFor(bob)]);
  t.equal(other[0]!.status, 'stored', 'another device is not limited by alice');

  // Reconnecting does not refill the bucket: it is keyed by device, not socket.
  a.close();
  await a.closed;
  const a2 = await authenticate(gw.url, alice);
  const r2 = await send(a2, [envelopeFor(bob)]);
  t.equal(r2[0]!.code, ErrorCode.RATE_LIMITED, 'still limited on a new socket');

  await new Promise((r) => setTimeout(r, r2[0]!.retryAfterMs + 20));
  const r3 = await send(a2, [envelopeFor(bob)]);
  t.equal(r3[0]!.status, 'stored', 'served again after retry_after_ms, on the same socket');
  t.notOk(a2.ops.some((o) => o.body === 'error'), 'no error op: only receipts');
  t.equal(a2.ws.readyState, a2.ws.OPEN, 'socket still open');
  const m = await httpGet(gw.url, '/metrics');
  t.equal(sample(m.body, 'hushwire_rate_limited_total', { limit: 'device_send' }), 3);
  a2.close();
  cc.close();
});

t.test('per-recipient byte budget: a device cannot be flooded, whoever sends', async (t) => {
  const gw = await startTestGateway({ maxEnvelopeBytes: 2000, recipientBudgetBytes: 4000, recipientWindowS: 60 });
  t.teardown(() => gw.close());
  const { c: a } = await registerDevice(gw.url, '+15550200001');
  const { c: bc, dev: bob } = await registerDevice(gw.url, '+15550200002');
  bc.close();
  const { c: cc, dev: carol } = await registerDevice(gw.url, '+15550200003');
  cc.close();
  const { c: d } = await registerDevice(gw.url, '+15550200004');

  // Each envelope is ~1.56 kB encoded: two fit in 4000 bytes, the third does not.
  const r = await send(a, [envelopeFor(bob, 1500), envelopeFor(bob, 1500), envelopeFor(bob, 1500)]);
  t.same(r.map((x) => x.status), ['stored', 'stored', 'failed']);
  t.equal(r[2]!.code, ErrorCode.RATE_LIMITED);
  // Refill is 4000 bytes / 60 s: ~1.1 kB missing takes ~17 s.
  t.ok(r[2]!.retryAfterMs > 5_000 && r[2]!.retryAfterMs <= 60_000, `retry_after_ms = ${r[2]!.retryAfterMs}`);

  const fromD = await send(d, [envelopeFor(bob, 1500)]);
  t.equal(fromD[0]!.code, ErrorCode.RATE_LIMITED, 'another sender is refused too: the budget is the recipient\'s');
  const toCarol = await send(a, [envelopeFor(carol, 1500), envelopeFor(carol, 1500)]);
  t.same(toCarol.map((x) => x.status), ['stored', 'stored'], 'another recipient has its own budget');
  t.equal(a.ws.readyState, a.ws.OPEN, 'sender socket still open');
  const m = await httpGet(gw.url, '/metrics');
  t.equal(sample(m.body, 'hushwire_rate_limited_total', { limit: 'recipient_bytes' }), 2);
  a.close();
  d.close();
});

t.test('existing limits keep their codes', async (t) => {
  const gw = await startTestGateway({ maxEnvelopeBytes: 2000, maxDevicesPerRoute: 1, mailboxMaxMessages: 2 });
  t.teardown(() => gw.close());
  const { c: a } = await registerDevice(gw.url, '+15550300001');
  const { c: bc, dev: bob } = await registerDevice(gw.url, '+15550300002');
  bc.close();

  t.test('max envelope size: TOO_LARGE receipt', async (t) => {
    const [r] = await send(a, [envelopeFor(bob, 2100)]);
    t.equal(r!.code, ErrorCode.TOO_LARGE);
  });

  t.test('max devices per route: TOO_MANY_DEVICES', async (t) => {
    // In the user's words, with the number right (this gateway allows 1 device).
    await t.rejects(registerDevice(gw.url, '+15550300002'), { code: ErrorCode.TOO_MANY_DEVICES, wireMessage: /^this number already has the most devices this service allows \(1 device\): unregister one/ });
  });

  t.test('mailbox size: MAILBOX_FULL, old mail kept', async (t) => {
    const r = await send(a, [envelopeFor(bob), envelopeFor(bob), envelopeFor(bob)]);
    t.same(r.map((x) => x.status), ['stored', 'stored', 'failed']);
    t.equal(r[2]!.code, ErrorCode.MAILBOX_FULL);
    const b = await authenticate(gw.url, bob);
    const d = await b.next((o) => o.body === 'deliver');
    t.equal(d.deliver!.envelopes.length, 2, 'the two older envelopes were kept and delivered');
    b.close();
  });

  t.test('one live connection per device: the older socket closes 4003', async (t) => {
    const b1 = await authenticate(gw.url, bob);
    const b2 = await authenticate(gw.url, bob);
    t.equal((await b1.closed).code, CloseCode.CONNECTED_ELSEWHERE);
    t.equal(b2.ws.readyState, b2.ws.OPEN, 'the newer one stays');
    b2.close();
  });

  t.teardown(() => a.close());
});
