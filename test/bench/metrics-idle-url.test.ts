// --gateway-metrics pointed at another gateway than the handsets use (an idle one) gave
// a near-zero gateway CPU with no word: the row now names the URL whose CPU rose by far
// less than the phase's work costs (bench/metrics-check.ts). A real bench run against
// one gateway with a second, idle gateway as the metrics URL; the same run with the
// right URL says nothing of the kind. And the check itself, figure by figure.
import t from 'tap';
import { spawnGateway } from '../helpers/gateway.ts';
import { runBench as bench } from '../helpers/bench-cli.ts';
import { cpuRise, idleMetricsNote, MIN_GATEWAY_US } from '../../bench/metrics-check.ts';
import { metricsUrlOf } from '../../bench/probes.ts';

t.setTimeout(240_000);

const rowsOf = (stdout: string): Record<string, unknown>[] => (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs ?? [];

t.test('the check: a URL under its share of the least the work costs is named, one above it is not', async (t) => {
  const a = 'http://a:1/metrics';
  const b = 'http://b:1/metrics';
  t.equal(MIN_GATEWAY_US.delivery, 1);
  // 100,000 deliveries over two URLs: at least 50 ms each
  t.equal(idleMetricsNote(new Map([[a, 400_000], [b, 380_000]]), 100_000, 'delivery'), null, 'both busy: nothing said');
  const one = idleMetricsNote(new Map([[a, 400_000], [b, 6_000]]), 100_000, 'delivery');
  t.equal(one, `gateway CPU from --gateway-metrics ${b} rose by ~0 during the phase (6.0 ms for 100,000 deliveries): is it the gateway the handsets use?`);
  t.match(idleMetricsNote(new Map([[a, 100], [b, 0]]), 10_000, 'delivery') ?? '', new RegExp(`${a} rose by ~0 .*; .*${b} rose by ~0`), 'each URL named');
  t.equal(idleMetricsNote(new Map([[a, 6_000]]), 2_000, 'delivery'), null, 'work too small to stand out from an idle gateway\'s background: nothing said');
  t.match(idleMetricsNote(new Map([[a, 5_000]]), 10_000, 'reconnect') ?? '', /\(5\.0 ms for 10,000 reconnects\)/, 'storms count reconnects (20 µs each at the least)');
  t.equal(idleMetricsNote(new Map([[a, 5_000]]), 0, 'delivery'), null, 'no work: nothing to expect');
  t.equal(idleMetricsNote(null, 10_000, 'delivery'), null, 'not read per URL (local setup, /proc)');
  t.same(cpuRise(new Map([[a, 10], [b, 20]]), new Map([[a, 15], [b, 50]])), new Map([[a, 5], [b, 30]]));
  t.equal(cpuRise(null, new Map([[a, 1]])), null);
  t.equal(cpuRise(new Map([[a, 1]]), new Map([[b, 1]])), null, 'a URL missing from a reading');
});

t.test('a running gateway measured through an idle one\'s /metrics: the row says so', async (t) => {
  const busy = await spawnGateway(['--send-rate', '100000', '--send-burst', '100000']);
  t.teardown(() => busy.kill());
  const idle = await spawnGateway([]);
  t.teardown(() => idle.kill());
  const idleMetrics = metricsUrlOf(idle.url)!;
  const shape = ['--gateway', busy.url, '--peers', 'none', '--pairs', '10', '--duration', '2', '--warmup', '1', '--grace', '2', '--workers', '1', '--json'];
  const wrong = await bench([...shape, '--gateway-metrics', idleMetrics], 100_000);
  t.equal(wrong.code, 0, `exit 0 (stderr: ${wrong.stderr.slice(-300)})`);
  const run = rowsOf(wrong.stdout)[0] ?? {};
  t.ok((run['delivered'] as number) > 20_000, `enough deliveries to stand out from an idle gateway's background (${String(run['delivered'])})`);
  t.match(String(run['note']), new RegExp(`gateway CPU from --gateway-metrics ${idleMetrics.replace(/[.]/g, '\\.')} rose by ~0 during the phase \\([\\d.]+ ms for [\\d,]+ deliveries\\): is it the gateway the handsets use\\?`), 'the JSON row names the URL');
  const tableRow = wrong.stderr.split('\n').filter((l) => /^hushwire\s+chat\s/.test(l)).pop() ?? '';
  t.match(tableRow, /rose by ~0 during the phase/, 'so does the table row');
  const right = await bench(shape, 100_000);
  t.equal(right.code, 0, `exit 0 (stderr: ${right.stderr.slice(-300)})`);
  const ok = rowsOf(right.stdout)[0] ?? {};
  t.match(String(ok['note']), /gateway CPU from their \/metrics/, 'the right URL: CPU from it');
  t.notMatch(String(ok['note']), /rose by ~0/, 'and nothing said against it');
});
