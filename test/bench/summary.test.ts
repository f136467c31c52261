// bench/summary.ts: medians and ranges per system and workload over --repeat rounds,
// Hushwire's throughput ratio taken within each round, and the summary table's text.
import t from 'tap';
import { median, summarise, summaryTable } from '../../bench/summary.ts';
import type { RunResult } from '../../bench/types.ts';

function chat(system: RunResult['system'], round: number, delivered: number, p99 = 30, cpu = 10): RunResult {
  return {
    system, workload: 'chat', mode: 'window', round, delivered_per_s: delivered, p50_ms: 1, p99_ms: p99, p999_ms: 50,
    server_cpu_us_per_msg: cpu, nats_cpu_us_per_msg: 2, lost: 0, duplicated: 0,
  };
}

t.test('median: odd and even counts, order does not matter', async (t) => {
  t.equal(median([3]), 3);
  t.equal(median([5, 1, 3]), 3);
  t.equal(median([4, 1, 3, 2]), 2.5);
  const xs = Array.from({ length: 101 }, (_, i) => i);
  t.equal(median(xs.reverse()), 50);
});

t.test('per system and workload: median, min, max; ratios paired by round', async (t) => {
  // Round 2 is a slow minute for everyone: a ratio inside each round stays ~2x, while
  // the medians alone would pair a fast Hushwire run with a slow peer run.
  const rows = [
    chat('hushwire', 1, 120_000, 30, 10), chat('socketio', 1, 60_000, 90, 13),
    chat('hushwire', 2, 80_000, 40, 11), chat('socketio', 2, 41_000, 110, 14),
    chat('hushwire', 3, 110_000, 35, 10.5), chat('socketio', 3, 56_000, 95, 13.5),
  ];
  const s = summarise(rows);
  t.equal(s.length, 2, 'one row per system and workload');
  const hw = s.find((r) => r.system === 'hushwire')!;
  const io = s.find((r) => r.system === 'socketio')!;
  t.same(hw.value, { median: 110_000, min: 80_000, max: 120_000 });
  t.equal(hw.rounds, 3);
  t.equal(hw.measure, 'delivered_per_s');
  t.same(hw.p99_ms, { median: 35, min: 30, max: 40 });
  t.same(hw.server_cpu_us_per_msg, { median: 10.5, min: 10, max: 11 });
  t.equal(hw.hushwire_ratio, null, 'no ratio of Hushwire to itself');
  t.same(io.value, { median: 56_000, min: 41_000, max: 60_000 });
  t.ok(Math.abs(io.hushwire_ratio!.median - 110_000 / 56_000) < 1e-9, 'the median of the per-round ratios');
  t.ok(Math.abs(io.hushwire_ratio!.min - 80_000 / 41_000) < 1e-9 && Math.abs(io.hushwire_ratio!.max - 2) < 1e-9, 'their range');
  const text = summaryTable(s, 3);
  t.match(text, /^summary over 3 interleaved rounds: median \(min-max\)/);
  t.match(text, /hushwire\s+chat\s+110,000 \(80,000-120,000\) msg\/s/);
  t.match(text, /socketio\s+chat\s+56,000 \(41,000-60,000\) msg\/s.*1\.96x \(1\.95-2\.00\)/);
});

t.test('other workloads keep their own headline; skipped rows and missing partners count for nothing', async (t) => {
  const rows: RunResult[] = [
    { ...chat('hushwire', 1, 0), workload: 'storm', delivered_per_s: null, p99_ms: null, reconnect_s: 1.8 },
    { ...chat('hushwire', 2, 0), workload: 'storm', delivered_per_s: null, p99_ms: null, reconnect_s: 1.7 },
    { ...chat('hushwire', 1, 0), workload: 'backlog', delivered_per_s: null, p99_ms: null, drain_per_s: 70_000 },
    { ...chat('hushwire', 1, 0), workload: 'idle', delivered_per_s: null, p99_ms: null, rss_bytes_per_conn: 9000, retained_bytes_per_conn: 1500 },
    { ...chat('nats-ws', 1, 0), workload: 'backlog', delivered_per_s: null, lost: null, skipped: 'stores nothing' },
    chat('nats-ws', 2, 250_000), // no Hushwire chat row in round 2: no ratio
  ];
  const s = summarise(rows);
  t.same(s.map((r) => [r.system, r.workload, r.measure, r.value.median]), [
    ['hushwire', 'storm', 'reconnect_s', 1.75],
    ['hushwire', 'backlog', 'drain_per_s', 70_000],
    ['hushwire', 'idle', 'bytes_per_conn', 1500],
    ['nats-ws', 'chat', 'delivered_per_s', 250_000],
  ]);
  t.equal(s.find((r) => r.system === 'nats-ws')!.hushwire_ratio, null, 'no partner in its round: no ratio');
  t.match(summaryTable(s, 2), /1\.75 \(1\.70-1\.80\) s back/);
});
