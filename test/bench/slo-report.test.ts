// The latency-bounded capacity in the outputs: the JSON's `slo` (a sibling of `runs`,
// only with entries), the --report page's p99-against-rate chart (a line per system,
// points in order of rate, the SLO as a horizontal line, log scale) and its summary,
// and `bench compare` reading files that carry the new key. Synthetic rows.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { htmlReport, sloCharts, toJson, writeReport } from '../../bench/report.ts';
import { sloEntries } from '../../bench/rate-plan.ts';
import { compare, parseBenchFile, readSide } from '../../bench/compare.ts';
import type { RunResult } from '../../bench/types.ts';
import { runBench } from '../helpers/bench-cli.ts';

function row(system: RunResult['system'], workload: string, mode: 'window' | 'rate', rate: number | null, delivered: number, p99: number, lost = 0): RunResult {
  return {
    system, workload, mode, rate, delivered_per_s: delivered, delivered: delivered * 10, p50_ms: 1, p99_ms: p99, p999_ms: p99 * 2,
    server_cpu_us_per_msg: 10, nats_cpu_us_per_msg: 2, lost, duplicated: 0,
  };
}

const ROWS: RunResult[] = [
  row('hushwire', 'chat', 'window', null, 100_000, 50),
  row('hushwire', 'chat@10%', 'rate', 10_000, 10_000, 2),
  row('hushwire', 'chat@20%', 'rate', 20_000, 20_000, 4),
  row('hushwire', 'chat@30%', 'rate', 30_000, 24_000, 80), // saturated
  row('nats-ws', 'chat', 'window', null, 200_000, 20),
  row('nats-ws', 'chat@10%', 'rate', 20_000, 20_000, 0.8),
  row('nats-ws', 'chat@20%', 'rate', 40_000, 40_000, 9),
];

const META = { when: 'now', machine: '2 cores', duration_s: 1, warmup_s: 0, rate: 'sweep', window: 16, pairs: 2, gateways: 2, transport: 'uws' };

t.test('JSON: runs as they are, slo beside them only when there are entries', async (t) => {
  const entries = sloEntries(ROWS, 5);
  const j = toJson(ROWS, META, null, null, entries);
  t.same(Object.keys(j), ['runs', 'slo', 'meta']);
  t.equal(j.runs, ROWS, 'runs untouched');
  t.same(j.slo!.map((e) => [e.system, e.max_rate_within_slo, e.fraction_of_max]), [['hushwire', 20_000, 0.2], ['nats-ws', 20_000, 0.1]]);
  t.same(Object.keys(toJson(ROWS, META)), ['runs', 'meta'], 'without it: as before');
  t.same(Object.keys(toJson(ROWS, META, null, null, [])), ['runs', 'meta'], 'no entries: no key');
});

t.test('the chart: p99 against offered rate, a line per system in order of rate, the SLO line, log scale', async (t) => {
  const svg = sloCharts(ROWS, 5);
  t.equal(svg.split('<svg').length - 1, 1, 'one chart for chat');
  t.match(svg, /p99 against offered rate: chat, ms \(log scale\); SLO 5 ms/);
  const lines = [...svg.matchAll(/<path d="([^"]*)"[^>]*><title>([^<]*) p99<\/title>/g)].map((m) => ({ d: m[1]!, who: m[2]! }));
  t.same(lines.map((l) => l.who), ['hushwire', 'nats-ws'], 'a line per system');
  const pts = (d: string): { x: number; y: number }[] => [...d.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
  const hw = pts(lines[0]!.d);
  t.equal(hw.length, 3, 'a point per fixed-rate row (not the max-rate row)');
  t.ok(hw.every((p, i) => i === 0 || p.x > hw[i - 1]!.x), 'in order of rate');
  t.ok(hw[2]!.y < hw[1]!.y && hw[1]!.y < hw[0]!.y, 'higher p99 drawn higher');
  // log scale: 2 -> 4 ms is the same height as 4 -> 8 ms would be; nats-ws 0.8 -> 9 ms
  const slo = /<line class="slo" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)" y2="([\d.]+)"/.exec(svg);
  t.ok(slo !== null && slo[1] === slo[2], 'the SLO is a horizontal line');
  const sy = Number(slo![1]);
  t.ok(hw[1]!.y > sy && hw[2]!.y < sy, 'between the 4 ms and the 80 ms points');
  const [a, b] = [hw[0]!.y - hw[1]!.y, hw[1]!.y - sy];
  t.ok(Math.abs(a / b - Math.log(2) / Math.log(5 / 4)) < 0.01, `log scale (${a.toFixed(2)} vs ${b.toFixed(2)} px)`);
  t.match(svg, /<circle [^>]*fill="white"[^>]*><title>hushwire: p99 80\.00 ms at 30,000 msg\/s \(saturated: delivered 80% of the offered 30,000\/s\)<\/title>/, 'the saturated point hollow');
  t.match(svg, /<path class="max" [^>]*><title>hushwire max rate: 100,000 msg\/s, p99 50\.00 ms<\/title>/, 'the max-rate run as a marker');
  t.match(svg, />hushwire: 20,000 msg\/s within the SLO \(20% of its max rate\)</, 'the legend gives the entry');
  t.notMatch(svg, /<script/i, 'self-contained, no script');
});

t.test('the report page carries the chart and the summary only when asked (a --rate list, sweep or --p99-slo)', async (t) => {
  const entries = sloEntries(ROWS, 5);
  const withSlo = htmlReport(ROWS, META, null, null, { ms: 5, entries });
  t.match(withSlo, /p99 against offered rate: chat/);
  t.match(withSlo, /<h2>Latency-bounded capacity<\/h2><pre>latency-bounded capacity: the highest offered rate with p99 &lt;= 5 ms/);
  const without = htmlReport(ROWS, META);
  t.notMatch(without, /p99 against offered rate|Latency-bounded capacity/, 'a --rate half report stays as it was');
  const dir = mkdtempSync(join(tmpdir(), 'hw-slo-report-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeReport(dir, ROWS, META, null, null, { ms: 5, entries });
  const saved = JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8')) as { runs: unknown[]; slo: unknown[] };
  t.equal(saved.runs.length, ROWS.length);
  t.equal(saved.slo.length, 2, 'bench.json has the slo entries');
});

t.test('bench compare reads files with the slo key: rows per rate compared, the key ignored', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-slo-compare-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  writeFileSync(a, JSON.stringify(toJson(ROWS, META, null, null, sloEntries(ROWS, 5))));
  const faster = ROWS.map((r) => (r.mode === 'rate' ? { ...r, p99_ms: r.p99_ms! / 2 } : r));
  writeFileSync(b, JSON.stringify(toJson(faster, META, null, null, sloEntries(faster, 5))));
  const f = parseBenchFile(a, readFileSync(a, 'utf8'));
  t.equal(f.runs.length, ROWS.length);
  const c = compare(readSide(a), readSide(b), { noisePct: 5 });
  const p99 = c.rows.filter((r) => r.metric === 'p99_ms' && r.system === 'hushwire').map((r) => [r.workload, r.verdict]);
  t.same(p99, [['chat', 'same'], ['chat@10% (fixed rate)', 'better?'], ['chat@20% (fixed rate)', 'better?'], ['chat@30% (fixed rate)', 'better?']], 'each rate its own group, fixed-rate apart from the max');
  const cli = await runBench(['compare', a, b], 30_000);
  t.equal(cli.code, 0, `bench compare exits 0 (stderr: ${cli.stderr})`);
  t.match(cli.stdout, /chat@20%/);
  const json = await runBench(['compare', '--json', a, b], 30_000);
  t.equal(json.code, 0);
  t.ok(Array.isArray((JSON.parse(json.stdout) as { rows: unknown[] }).rows));
});
