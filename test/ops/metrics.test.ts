// /metrics after real traffic: every series issue 4 asks for exists and moved, and no
// label value carries an identifier (nothing that looks like a token or a number).
import t from 'tap';
import { startTestGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { connectRaw } from '../helpers/raw.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { createMetrics } from '../../relay/metrics.ts';
import { connectionsWithin, readOpenFilesLimit } from '../../gateway/fd-limit.ts';
import { registerDevice, authenticate, envelopeFor, send, autoAck, httpGet, sample, until } from './fixtures.ts';

/** Label names whose values are numbers by Prometheus convention, not identifiers. */
const NUMERIC_LABELS = new Set(['le', 'quantile']);
/** prom-client's default Node.js metrics: the runtime version as numbers. */
const VERSION_INFO = 'hushwire_process_nodejs_version_info';

t.test('metrics move with traffic and carry no identifiers', async (t) => {
  const gw = await startTestGateway({ sendRate: 1, sendBurst: 10 });
  t.teardown(() => gw.close());
  const { c: a, dev: alice } = await registerDevice(gw.url, '+15550400001');
  const { c: b, dev: bob } = await registerDevice(gw.url, '+15550400002');
  const gotB = autoAck(b);

  // Live: bob is connected and acks.
  const live = await send(a, [envelopeFor(bob), envelopeFor(bob)]);
  t.same(live.map((r) => r.status), ['delivered', 'delivered']);
  // Mailbox: bob offline, then back (the drain delivers from the mailbox).
  b.close();
  await b.closed;
  await until(() => gw.relay.sessionCount === 1, 5_000, 'bob gone');
  const stored = await send(a, [envelopeFor(bob), envelopeFor(bob)]);
  t.same(stored.map((r) => r.status), ['stored', 'stored']);
  const b2 = await authenticate(gw.url, bob);
  const gotB2 = autoAck(b2);
  await until(() => gotB2.length >= 2, 5_000, 'mailbox drain');
  t.equal(gotB.length, 2);
  // An error by code, a rate-limit refusal, an auth failure.
  const [unknown] = await send(a, [envelopeFor({ ...bob, device: new Uint8Array(16).fill(7) })]);
  t.equal(unknown!.code, ErrorCode.NOT_REGISTERED, 'an envelope for an unknown device');
  const burst = await send(a, Array.from({ length: 11 }, () => envelopeFor(bob)));
  t.equal(burst[10]!.code, ErrorCode.RATE_LIMITED);
  const bad = await connectRaw(gw.url);
  await bad.next((o) => o.body === 'challenge');
  bad.send([{ req: 1, auth: { route: alice.route, device: alice.device, signature: new Uint8Array(64) } }]);
  await bad.closed;

  const m = await httpGet(gw.url, '/metrics');
  t.equal(m.status, 200);
  const text = m.body;
  const atLeast = (name: string, labels: Record<string, string>, n: number) => {
    const v = sample(text, name, labels);
    t.ok(v !== undefined && v >= n, `${name}${JSON.stringify(labels)} = ${v} (>= ${n})`);
  };
  atLeast('hushwire_connections', {}, 2);
  // The default 50,000, or what this process's open-files limit holds if that is fewer
  // (the gateway runs in this process: gateway/fd-limit.ts).
  t.equal(sample(text, 'hushwire_connections_limit', {}), Math.min(50_000, connectionsWithin(readOpenFilesLimit()?.soft ?? null)), 'the configured --max-connections (default), within the open-files limit');
  t.equal(sample(text, 'hushwire_live_pending', {}), 0, 'every live delivery has its outcome (all acked before the scrape)');
  const buffered = sample(text, 'hushwire_send_buffers_bytes', {});
  t.ok(buffered !== undefined && buffered >= 0 && buffered < 64 * 1024, `send buffers of all sockets: ${buffered} B (nothing waits once all is read)`);
  atLeast('hushwire_connections_total', {}, 4);
  atLeast('hushwire_authenticated_devices', {}, 2);
  atLeast('hushwire_frames_in_total', {}, 8);
  atLeast('hushwire_frames_out_total', {}, 8);
  atLeast('hushwire_envelopes_in_total', {}, 10); // the ones refused by the send rate are not counted
  atLeast('hushwire_envelopes_out_total', { path: 'live' }, 2);
  atLeast('hushwire_envelopes_out_total', { path: 'mailbox' }, 2);
  atLeast('hushwire_deliveries_total', { path: 'live' }, 2);
  atLeast('hushwire_deliveries_total', { path: 'mailbox' }, 2);
  atLeast('hushwire_deliveries_total', { path: 'mailbox_drain' }, 2);
  atLeast('hushwire_mailbox_stores_total', {}, 2);
  atLeast('hushwire_errors_total', { code: 'NOT_REGISTERED' }, 1);
  atLeast('hushwire_errors_total', { code: 'RATE_LIMITED' }, 1);
  atLeast('hushwire_errors_total', { code: 'AUTH_FAILED' }, 1);
  atLeast('hushwire_auth_failures_total', {}, 1);
  atLeast('hushwire_closes_total', { code: 'AUTH_FAILED' }, 1);
  atLeast('hushwire_rate_limited_total', { limit: 'device_send' }, 1);
  atLeast('hushwire_registrations_total', {}, 2);
  atLeast('hushwire_send_seconds_count', { outcome: 'delivered' }, 2);
  atLeast('hushwire_send_seconds_count', { outcome: 'stored' }, 2);
  atLeast('hushwire_delivery_roundtrip_seconds_count', { path: 'live' }, 2);
  atLeast('hushwire_delivery_roundtrip_seconds_count', { path: 'mailbox' }, 2);
  t.equal(sample(text, 'hushwire_bus_state', { state: 'connected' }), 1);
  t.equal(sample(text, 'hushwire_bus_state', { state: 'reconnecting' }), 0);
  t.equal(sample(text, 'hushwire_bus_state', { state: 'starting' }), 0);
  t.equal(sample(text, 'hushwire_bus_up'), 1);
  t.equal(sample(text, 'hushwire_draining'), 0);
  t.equal(sample(text, 'hushwire_send_buffer_drops_total'), 0, 'send-buffer drops series exists');
  for (const limit of ['connections', 'connect_rate', 'recipient_bytes']) {
    t.equal(sample(text, 'hushwire_rate_limited_total', { limit }), 0, `${limit} series exists before any refusal`);
  }
  // Evictions: only the keyed buckets can evict, so only their series exist.
  const evictionLimits = [...text.matchAll(/^hushwire_rate_limit_evictions_total\{limit="([a-z_]+)"\}/gm)].map((m) => m[1]).sort();
  t.same(evictionLimits, ['device_send', 'recipient_bytes']);
  atLeast('hushwire_verifier_deliveries_total', { outcome: 'ok' }, 2); // the two registrations' codes
  for (const outcome of ['failed', 'timeout']) {
    t.equal(sample(text, 'hushwire_verifier_deliveries_total', { outcome }), 0, `verifier ${outcome} series exists before any failure`);
  }
  for (const result of ['refunded', 'kept', 'withheld']) {
    t.equal(sample(text, 'hushwire_verify_start_refunds_total', { result }), 0, `verify_start refunds ${result} series exists`);
  }

  // No label value may carry an identifier.
  const offenders: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.includes('{')) continue;
    const name = line.slice(0, line.indexOf('{'));
    for (const lm of line.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      const [, label, value] = lm as unknown as [string, string, string];
      if (/[0-9a-fA-F]{32,}/.test(value)) offenders.push(`${name} ${label}=${value} (token-like)`);
      if (/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(value) && !NUMERIC_LABELS.has(label) && name !== VERSION_INFO) {
        offenders.push(`${name} ${label}=${value} (a number)`);
      }
    }
  }
  t.same(offenders, [], 'no label value looks like a token or a number');
  // And the identifiers of this test's devices appear nowhere in the text.
  for (const dev of [alice, bob]) {
    t.notOk(text.includes(Buffer.from(dev.route).toString('hex')), 'route not in metrics');
    t.notOk(text.includes(Buffer.from(dev.device).toString('hex')), 'device not in metrics');
  }
  a.close();
  b2.close();
});

t.test('close-code series exist at 0 before the gateway closes any socket', async (t) => {
  // A dashboard or alert on hushwire_closes_total{code="DRAINING"} (rolling restarts,
  // docs/OPERATIONS.md) must see 0, not "no data", on a gateway that never drained.
  const gw = await startTestGateway();
  t.teardown(() => gw.close());
  const m = await httpGet(gw.url, '/metrics');
  t.equal(m.status, 200);
  for (const code of ['DRAINING', 'SLOW_CONSUMER', 'AUTH_TIMEOUT', 'AUTH_FAILED', 'CONNECTED_ELSEWHERE', 'UNREGISTERED', 'IDLE_TIMEOUT', 'FLOOD', 'BAD_FRAME', 'TOO_LARGE', 'TRY_AGAIN_LATER', 'GOING_AWAY', 'INTERNAL', 'POLICY', 'UNSUPPORTED_DATA']) {
    t.equal(sample(m.body, 'hushwire_closes_total', { code }), 0, `closes_total{code="${code}"} is 0 before any close`);
  }
  t.equal(sample(m.body, 'hushwire_closes_total', { code: 'NORMAL' }), undefined, 'no series for NORMAL, which only a client closes with');
});

t.test('bus state follows NATS: connected, reconnecting, connected', { skip: !haveNatsServer() && 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const gw = await startTestGateway({ nats: nats.url, oprfKeyFile: oprfKeyFile() });
  t.teardown(() => gw.close());
  const state = async () => {
    const text = (await httpGet(gw.url, '/metrics')).body;
    return {
      connected: sample(text, 'hushwire_bus_state', { state: 'connected' }),
      reconnecting: sample(text, 'hushwire_bus_state', { state: 'reconnecting' }),
      up: sample(text, 'hushwire_bus_up'),
    };
  };
  t.same(await state(), { connected: 1, reconnecting: 0, up: 1 });
  await nats.stop();
  let s = await state();
  await until(async () => (s = await state()).reconnecting === 1, 15_000, 'reconnecting');
  t.same(s, { connected: 0, reconnecting: 1, up: 0 }, 'NATS down: reconnecting');
  t.equal((await httpGet(gw.url, '/readyz')).status, 503, 'not ready meanwhile');
  await nats.restart();
  await until(async () => (s = await state()).connected === 1, 20_000, 'reconnected');
  t.same(s, { connected: 1, reconnecting: 0, up: 1 }, 'NATS back: connected');
});

t.test('hot-path counters count in plain numbers and report the same totals at every read', async (t) => {
  const m = createMetrics({ defaultMetrics: false });
  m.framesIn.inc();
  m.framesIn.inc(2);
  m.deliveries.inc({ path: 'live' });
  m.deliveries.inc({ path: 'live' }, 3);
  m.deliveries.inc({ path: 'mailbox' });
  let text = await m.registry.metrics();
  t.match(text, /^hushwire_frames_in_total 3$/m);
  t.match(text, /^hushwire_deliveries_total\{path="live"\} 4$/m);
  t.match(text, /^hushwire_deliveries_total\{path="mailbox"\} 1$/m);
  m.framesIn.inc();
  m.deliveries.inc({ path: 'live' });
  text = await m.registry.metrics();
  t.match(text, /^hushwire_frames_in_total 4$/m, 'adds up across scrapes, nothing counted twice');
  t.match(text, /^hushwire_deliveries_total\{path="live"\} 5$/m);
  t.equal((await m.envelopesOut.get()).values.length, 0, 'nothing invented');
  // what prom-client refuses, it still refuses at once
  t.throws(() => m.deliveries.inc({ nope: 'x' } as never));
  t.throws(() => m.framesIn.inc(-1));
});

t.test('hot-path histograms report exactly what prom-client observe() reports', async (t) => {
  const m = createMetrics({ defaultMetrics: false });
  const ref = createMetrics({ defaultMetrics: false });
  // the reference bypasses the fast path: prom-client's own observe()
  const refObserve = (labels: Record<string, string>, v: number): void => {
    (Object.getPrototypeOf(ref.sendLatency) as { observeWithoutExemplar: (l: unknown, v: number) => void }).observeWithoutExemplar.call(ref.sendLatency, labels, v);
  };
  const values = [0, 0.0001, 0.0005, 0.0007, 0.001, 0.003, 0.02, 0.4, 4.9, 5, 6, 1000];
  const strip = (text: string): string => text.split('\n').filter((l) => l.startsWith('hushwire_send_seconds')).join('\n');
  for (let round = 0; round < 2; round++) {
    for (const v of values) {
      m.sendLatency.observe({ outcome: 'delivered' }, v);
      refObserve({ outcome: 'delivered' }, v);
      if (v > 0.001) {
        m.sendLatency.observe({ outcome: 'stored' }, v * 2);
        refObserve({ outcome: 'stored' }, v * 2);
      }
    }
    t.equal(strip(await m.registry.metrics()), strip(await ref.registry.metrics()), `round ${round}: same text`);
  }
  t.throws(() => m.sendLatency.observe({ outcome: 'delivered' }, Number.NaN), 'non-finite values still refused by prom-client');
  t.throws(() => m.sendLatency.observe({ nope: 'x' } as never, 1));
});

t.test('hot-path label sets: frozen ones are checked once, others every time', async (t) => {
  const m = createMetrics({ defaultMetrics: false });
  const live = Object.freeze({ path: 'live' });
  for (let i = 0; i < 5; i++) m.deliveries.inc(live);
  // A label object that is not frozen can change between calls: it is checked each time,
  // so a second key added later still reaches prom-client, which refuses it.
  const changing: Record<string, string> = { path: 'mailbox' };
  m.deliveries.inc(changing);
  changing['nope'] = 'x';
  t.throws(() => m.deliveries.inc(changing), 'the changed object is refused, not counted on a stale check');
  // A frozen object with two keys is not a one-label set: prom-client decides (refuses).
  const two = Object.freeze({ path: 'live', nope: 'x' });
  t.throws(() => m.deliveries.inc(two as never));
  t.throws(() => m.deliveries.inc(two as never), 'and again: the cached answer is "not one key"');
  const h = Object.freeze({ outcome: 'delivered' });
  for (let i = 0; i < 3; i++) m.sendLatency.observe(h, 0.002);
  const text = await m.registry.metrics();
  t.match(text, /^hushwire_deliveries_total\{path="live"\} 5$/m);
  t.match(text, /^hushwire_deliveries_total\{path="mailbox"\} 1$/m);
  t.match(text, /^hushwire_send_seconds_count\{outcome="delivered"\} 3$/m);
});
