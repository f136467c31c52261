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

t.test('backlog and storm rows say it too: where their gateway CPU came from, or why it is empty', async (t) => {
  const gw = await spawnGateway(['--send-rate', '100000', '--send-burst', '100000']);
  t.teardown(() => gw.kill());
  const shape = ['--gateway', gw.url, '--peers', 'none', '--workload', 'backlog,storm', '--backlog-devices', '2', '--backlog-messages', '5',
    '--backlog-warmup', '0', '--devices', '10', '--workers', '1', '--json'];
  const rowsOf = (stdout: string): Record<string, unknown>[] => (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs ?? [];
  const unread = await bench([...shape, '--gateway-metrics', 'http://127.0.0.1:1/metrics'], 100_000);
  t.equal(unread.code, 0, `exit 0 (stderr: ${unread.stderr.slice(-300)})`);
  for (const workload of ['backlog', 'storm']) {
    const run = rowsOf(unread.stdout).find((r) => r['workload'] === workload) ?? {};
    t.match(String(run['note']), /gateway CPU not measured: http:\/\/127\.0\.0\.1:1\/metrics unreachable \(.+\)/, `${workload}: the row says why its CPU is empty`);
    t.notMatch(String(run['note']), /gateway CPU from their \/metrics/, `${workload}: and claims no source`);
  }
  const read = await bench(shape, 100_000);
  t.equal(read.code, 0, `exit 0 (stderr: ${read.stderr.slice(-300)})`);
  for (const workload of ['backlog', 'storm']) {
    const run = rowsOf(read.stdout).find((r) => r['workload'] === workload) ?? {};
    t.match(String(run['note']), /gateway CPU from their \/metrics/, `${workload}: the row names its CPU's source`);
  }
  const backlog = rowsOf(read.stdout).find((r) => r['workload'] === 'backlog') ?? {};
  t.not(backlog['server_cpu_us_per_msg'], null, 'backlog: gateway CPU measured');
});
