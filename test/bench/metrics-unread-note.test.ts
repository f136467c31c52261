// Against a running gateway whose /metrics cannot be read, the CPU column is empty and
// the row itself says why (table, JSON, --report page), not only a progress line on
// stderr that the table on stdout and the saved JSON do not carry.
import t from 'tap';
import { spawnGateway } from '../helpers/gateway.ts';
import { runBench as bench } from '../helpers/bench-cli.ts';

t.setTimeout(120_000);

t.test('an unreadable metrics URL: the row carries the reason its CPU is empty', async (t) => {
  const gw = await spawnGateway(['--send-rate', '100000', '--send-burst', '100000']);
  t.teardown(() => gw.kill());
  const r = await bench(['--gateway', gw.url, '--gateway-metrics', 'http://127.0.0.1:1/metrics', '--peers', 'none', '--pairs', '2',
    '--duration', '1', '--warmup', '1', '--grace', '2', '--workers', '1', '--json'], 100_000);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.slice(-300)})`);
  const run = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
  t.equal(run['server_cpu_us_per_msg'], null, 'not measured');
  t.match(String(run['note']), /gateway CPU not measured: http:\/\/127\.0\.0\.1:1\/metrics unreachable \(.+\)/, 'the JSON row says why');
  t.notMatch(String(run['note']), /gateway CPU from their \/metrics/, 'and does not claim a source');
  const tableRow = r.stderr.split('\n').filter((l) => /^hushwire\s+chat\s/.test(l)).pop() ?? '';
  t.match(tableRow, /gateway CPU not measured: http:\/\/127\.0\.0\.1:1\/metrics unreachable/, 'so does the table row');
});
