// bench/compare.ts and `hushwire bench compare`: saved results side by side, with a
// verdict that is "better"/"worse" only beyond the runs' own spread.
import t from 'tap';
import { runBench } from '../helpers/bench-cli.ts';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compare, compareTable, parseBenchFile, readSide, CompareInputError, type BenchFile, type ComparedMetric } from '../../bench/compare.ts';
import type { RunResult } from '../../bench/types.ts';

const META = { when: '2026-12-05T10:00:00Z', machine: '2 cores', duration_s: 10, warmup_s: 2, rate: null, window: 16, pairs: 100, gateways: 2, transport: 'uws' };

function chat(delivered: number, p99 = 30, extra: Partial<RunResult> = {}): RunResult {
  return {
    system: 'hushwire', workload: 'chat', mode: 'window', rate: null, delivered_per_s: delivered, p50_ms: 10, p99_ms: p99, p999_ms: 40,
    server_cpu_us_per_msg: 9, nats_cpu_us_per_msg: 2, lost: 0, duplicated: 0, reordered: 0, failed: 0, ...extra,
  };
}

function file(path: string, runs: RunResult[], meta: Record<string, unknown> | null = META): BenchFile {
  return { path, runs, meta };
}

function row(rows: ComparedMetric[], metric: string, workload = 'chat', system = 'hushwire'): ComparedMetric {
  const r = rows.find((x) => x.metric === metric && x.workload === workload && x.system === system);
  if (r === undefined) throw new Error(`no ${system} ${workload} ${metric} row`);
  return r;
}

const OPTS = { noisePct: 5 };

t.test('three or more runs a side: better or worse only when the ranges are apart', async (t) => {
  const base = [file('a1', [chat(100_000, 40)]), file('a2', [chat(104_000, 36)]), file('a3', [chat(98_000, 42)])];
  const apart = compare(base, [file('b1', [chat(110_000, 30)]), file('b2', [chat(112_000, 33)]), file('b3', [chat(111_000, 31)])], OPTS);
  const d = row(apart.rows, 'delivered_per_s');
  t.same(d.base, { median: 100_000, min: 98_000, max: 104_000, n: 3 });
  t.same(d.candidate, { median: 111_000, min: 110_000, max: 112_000, n: 3 });
  t.equal(d.change_pct, 11);
  t.equal(d.verdict, 'better', 'higher throughput, every candidate run above every base run');
  t.equal(row(apart.rows, 'p99_ms').verdict, 'better', 'lower p99 is better');
  t.equal(row(apart.rows, 'server_cpu_us_per_msg').verdict, 'same');
  const overlap = compare(base, [file('b1', [chat(103_000, 41)]), file('b2', [chat(120_000, 20)])], OPTS);
  t.equal(row(overlap.rows, 'delivered_per_s').verdict, 'within spread', '103k sits inside the base range');
  t.equal(row(overlap.rows, 'p99_ms').verdict, 'within spread');
  const worse = compare(base, [file('b1', [chat(80_000, 60)]), file('b2', [chat(85_000, 55)]), file('b3', [chat(82_000, 58)])], OPTS);
  t.equal(row(worse.rows, 'delivered_per_s').verdict, 'worse');
  t.equal(row(worse.rows, 'p99_ms').verdict, 'worse');
  t.equal(worse.worse, 2);
  t.equal(worse.better, 0);
});

t.test('two runs a side: apart ranges are not enough (a third of the time by chance): a "?" beyond the noise', async (t) => {
  const base = [file('a1', [chat(100_000, 40)]), file('a2', [chat(101_000, 39)])];
  const c = compare(base, [file('b1', [chat(110_000, 39.5)]), file('b2', [chat(112_000, 38)])], OPTS);
  t.equal(row(c.rows, 'delivered_per_s').verdict, 'better?', '+10%, apart');
  t.equal(row(c.rows, 'p99_ms').verdict, 'within spread', 'overlapping: within the spread');
  const near = compare(base, [file('b1', [chat(102_000)]), file('b2', [chat(103_000)])], OPTS);
  t.equal(row(near.rows, 'delivered_per_s').verdict, 'within noise', 'apart, but +1.5%: within the noise');
});

t.test('one run on a side: a "?" verdict beyond the noise, "within noise" inside it', async (t) => {
  const base = [file('a', [chat(100_000, 30)])];
  t.equal(row(compare(base, [file('b', [chat(104_000, 31)])], OPTS).rows, 'delivered_per_s').verdict, 'within noise');
  t.equal(row(compare(base, [file('b', [chat(106_000, 31)])], OPTS).rows, 'delivered_per_s').verdict, 'better?');
  t.equal(row(compare(base, [file('b', [chat(94_000, 31)])], OPTS).rows, 'delivered_per_s').verdict, 'worse?');
  t.equal(row(compare(base, [file('b', [chat(100_000, 36)])], OPTS).rows, 'p99_ms').verdict, 'worse?', '+20% p99');
  t.equal(row(compare(base, [file('b', [chat(104_000, 31)])], { noisePct: 2 }).rows, 'delivered_per_s').verdict, 'better?', '--noise 2');
  t.equal(row(compare(base, [file('b', [chat(105_000, 31)])], OPTS).rows, 'delivered_per_s').verdict, 'within noise', '+5.0%: at the edge, within');
  t.equal(row(compare([file('a', [chat(105_000, 31)])], [file('b', [chat(100_000, 31)])], OPTS).rows, 'delivered_per_s').verdict, 'within noise', 'the same pair the other way (-4.8%): within too');
  // one run on one side only: still no spread to compare against
  const many = [file('a1', [chat(100_000)]), file('a2', [chat(101_000)])];
  t.equal(row(compare(many, [file('b', [chat(120_000)])], OPTS).rows, 'delivered_per_s').verdict, 'better?');
});

t.test('lost, duplicated, reordered and failed messages are never noise', async (t) => {
  const base = [file('a1', [chat(100_000)]), file('a2', [chat(100_000)])];
  const c = compare(base, [file('b1', [chat(100_000)]), file('b2', [chat(100_000, 30, { lost: 3 })])], OPTS);
  const lost = row(c.rows, 'lost');
  t.same(lost.candidate, { median: 1.5, min: 0, max: 3, n: 2 });
  t.equal(lost.verdict, 'worse', 'one run that lost messages is a regression');
  t.equal(row(c.rows, 'duplicated').verdict, 'same');
  const fixed = compare([file('a', [chat(100_000, 30, { duplicated: 2 })])], [file('b', [chat(100_000)])], OPTS);
  t.equal(row(fixed.rows, 'duplicated').verdict, 'better');
  t.equal(row(fixed.rows, 'duplicated').change_pct, -100);
  t.equal(row(compare([file('a', [chat(1, 30)])], [file('b', [chat(1, 30, { reordered: 1 })])], OPTS).rows, 'reordered').change_pct, null, 'no percentage from zero');
});

t.test('groups: per system and workload; fixed-rate runs apart; skipped rows and one-sided groups reported', async (t) => {
  const storm = (s: number): RunResult => ({ ...chat(0), workload: 'storm', delivered_per_s: null, p50_ms: null, p99_ms: null, p999_ms: null, server_cpu_us_per_msg: null, nats_cpu_us_per_msg: null, lost: null, duplicated: null, reordered: null, failed: 0, devices: 10_000, reconnect_s: s, back_p50_s: s - 0.1, back_p99_s: s });
  const rate = (r: number, p99: number): RunResult => chat(r, p99, { mode: 'rate', rate: r });
  const base = [file('a', [chat(100_000), rate(50_000, 60), storm(2.1), { ...chat(60_000), system: 'socketio' }, { ...chat(0), system: 'nats-ws', workload: 'backlog', skipped: 'stores nothing' }])];
  const cand = [file('b', [chat(120_000), rate(60_000, 50), storm(1.8), { ...chat(250_000), system: 'nats-ws' }])];
  const c = compare(base, cand, OPTS);
  t.equal(row(c.rows, 'delivered_per_s').base.median, 100_000, 'the max-rate chat row alone');
  t.equal(row(c.rows, 'p99_ms', 'chat (fixed rate)').base.median, 60, 'the fixed-rate row in its own group');
  t.equal(row(c.rows, 'rate', 'chat (fixed rate)').verdict, 'info', 'the offered rate: shown, no verdict');
  t.equal(row(c.rows, 'reconnect_s', 'storm').verdict, 'better?', 'storms: lower is better');
  t.equal(row(c.rows, 'back_p50_s', 'storm').verdict, 'better?');
  t.notOk(c.rows.some((r) => r.workload === 'storm' && r.metric === 'delivered_per_s'), 'a metric missing on a side is left out');
  t.same(c.only_in_base, ['socketio chat']);
  t.same(c.only_in_candidate, ['nats-ws chat'], 'the skipped backlog row counts for nothing');
});

t.test('settings: differences between and within the sides are listed; files without settings are named', async (t) => {
  const c = compare(
    [file('a1', [chat(1)], { ...META, when: 'x' }), file('a2', [chat(1)], { ...META, when: 'y', pairs: 50 })],
    [file('b1', [chat(1)], { ...META, duration_s: 5, systems: ['hushwire', 'socketio'] }), file('b2', [chat(1)], null)],
    OPTS,
  );
  t.same(c.settings, [
    { key: 'duration_s', base: '10', candidate: '5' },
    { key: 'pairs', base: '50 | 100', candidate: '100' },
  ], '"when" and the systems run are not settings; values in order');
  t.same(c.unchecked, ['b2']);
  t.same(compare([file('a', [chat(1)])], [file('b', [chat(2)])], OPTS).settings, [], 'same settings: nothing listed');
  // The same mix on both sides, files in another order: the sets are compared, not the order.
  const mixed = compare(
    [file('a1', [chat(1)], { ...META, devices: 500 }), file('a2', [chat(1)], { ...META, devices: 10000 })],
    [file('b1', [chat(1)], { ...META, devices: 10000 }), file('b2', [chat(1)], { ...META, devices: 500 })],
    OPTS,
  );
  t.same(mixed.settings, [{ key: 'devices', base: '500 | 10000', candidate: '500 | 10000' }]);
  t.match(compareTable(mixed), /^settings differ within each side \(the same on both\): devices: 500 \| 10000$/m);
  t.notMatch(compareTable(mixed), /→/);
  // The backlog's and fanout's shapes are settings too (meta since they were added).
  const shapes = compare(
    [file('a', [chat(1)], { ...META, backlog_devices: 100, backlog_messages: 200, backlog_warmup: 20, fanout: [1, 3, 10], grace_s: 6 })],
    [file('b', [chat(1)], { ...META, backlog_devices: 100, backlog_messages: 1000, backlog_warmup: 0, fanout: [1, 3, 10], grace_s: 6 })],
    OPTS,
  );
  t.same(shapes.settings, [{ key: 'backlog_messages', base: '200', candidate: '1000' }, { key: 'backlog_warmup', base: '20', candidate: '0' }]);
});

t.test('a latency timeline (and its slice) is no setting; against an older file without one, nothing from it is compared', async (t) => {
  const tl = { slice_ms: 250, t_ms: [0, 250], delivered: [10, 10], p50_ms: [1, 1], p99_ms: [2, 90], max_ms: [3, 95] };
  const c = compare(
    [file('old', [chat(100_000, 30)])],
    [file('new', [chat(101_000, 30, { timeline: tl })], { ...META, slice_ms: 500, slice_ms_asked: 100 })],
    OPTS,
  );
  t.same(c.settings, [], 'slice_ms and slice_ms_asked are not settings that make runs incomparable');
  t.notOk(c.rows.some((r) => /timeline|slice/.test(r.metric)), 'no metric from the timeline');
  t.equal(row(c.rows, 'p99_ms').verdict, 'same', 'the row\'s own p99 compared as before');
  t.doesNotThrow(() => compareTable(c));
});

t.test('the worst slice\'s p99: compared between runs cut in slices of one length, a stall the window\'s p99 hides shows', async (t) => {
  const tl = (sliceMs: number, p99: number[]) => ({ slice_ms: sliceMs, t_ms: p99.map((_, i) => i * sliceMs), delivered: p99.map(() => 10), p50_ms: p99.map(() => 1), p99_ms: p99, max_ms: p99.map((x) => x + 1) });
  const base = [1, 2, 3].map((i) => file(`b${i}`, [chat(100_000, 30, { timeline: tl(250, [2, 3, 2 + i]) })]));
  const stalled = [1, 2, 3].map((i) => file(`c${i}`, [chat(100_000, 30, { timeline: tl(250, [2, 480 + i, 3]) })]));
  const c = compare(base, stalled, OPTS);
  t.equal(row(c.rows, 'p99_ms').verdict, 'same', 'the window\'s p99 did not move');
  const w = row(c.rows, 'worst_slice_p99_ms');
  t.equal(w.verdict, 'worse', 'the worst slice did');
  t.same([w.base.median, w.candidate.median], [4, 482], 'medians of each run\'s worst slice');
  t.match(compareTable(c), /worst slice p99 ms/, 'a row of the table');
  t.equal(row(compare(stalled, base, OPTS).rows, 'worst_slice_p99_ms').verdict, 'better', 'and the other way round');

  const other = [1, 2, 3].map((i) => file(`d${i}`, [chat(100_000, 30, { timeline: tl(1000, [2, 3, 2 + i]) })]));
  t.notOk(compare(base, other, OPTS).rows.some((r) => r.metric === 'worst_slice_p99_ms'), 'slices of 250 ms and 1 s: not compared');
  const mixed = [...base.slice(0, 2), file('no-timeline', [chat(100_000, 30)])];
  t.notOk(compare(mixed, stalled, OPTS).rows.some((r) => r.metric === 'worst_slice_p99_ms'), 'a run without a timeline: not compared');
});

t.test('generator-bound groups are named (their throughput measured the generator)', async (t) => {
  const c = compare([file('a', [chat(250_000, 30, { system: 'nats-ws', generator_bound: true })])], [file('b', [chat(240_000, 30, { system: 'nats-ws' })])], OPTS);
  t.same(c.generator_bound, ['nats-ws chat']);
  t.match(compareTable(c), /generator-bound on a side .*: nats-ws chat/);
});

t.test('property: a set compared with itself is all "same"; swapping the sides swaps better and worse', async (t) => {
  const rnd = (lo: number, hi: number): number => lo + Math.random() * (hi - lo);
  for (let k = 0; k < 200; k++) {
    const side = (n: number): BenchFile[] => Array.from({ length: n }, (_, i) => file(`f${i}`, [chat(Math.round(rnd(50_000, 150_000)), rnd(5, 80), {
      server_cpu_us_per_msg: rnd(5, 20), lost: Math.random() < 0.2 ? 1 : 0,
    })]));
    const a = side(1 + Math.floor(Math.random() * 4));
    const b = side(1 + Math.floor(Math.random() * 4));
    const self = compare(a, a, OPTS);
    if (self.rows.some((r) => r.verdict !== 'same' && r.verdict !== 'info')) return t.fail(`self-comparison not all same: ${JSON.stringify(self.rows.filter((r) => r.verdict !== 'same'))}`);
    const ab = compare(a, b, OPTS);
    const ba = compare(b, a, OPTS);
    for (const r of ab.rows) {
      const s = row(ba.rows, r.metric);
      const flip = { better: 'worse', worse: 'better', 'better?': 'worse?', 'worse?': 'better?' } as Record<string, string>;
      const expected = flip[r.verdict] ?? r.verdict;
      if (s.verdict !== expected) return t.fail(`${r.metric}: ${r.verdict} one way, ${s.verdict} the other`);
    }
    if (ab.better !== ba.worse) return t.fail(`better ${ab.better} vs the swap's worse ${ba.worse}`);
  }
  t.pass('200 random pairs of sides');
});

t.test('the text table: medians with ranges, changes, verdicts; zero counts left out', async (t) => {
  const c = compare([file('a1', [chat(100_000, 40)]), file('a2', [chat(104_000, 36)]), file('a3', [chat(102_000, 38)])],
    [file('b1', [chat(110_000, 30)]), file('b2', [chat(112_000, 33)]), file('b3', [chat(111_000, 31.5)])], OPTS);
  const text = compareTable(c);
  t.match(text, /^base:\s+a1, a2, a3, 3 runs per row$/m);
  t.match(text, /^hushwire\s+chat\s+delivered\/s\s+102,000 \(100,000-104,000\)\s+111,000 \(110,000-112,000\)\s+\+8\.8%\s+better$/m);
  t.match(text, /^\s+p99 ms\s+38\.00 \(36\.00-40\.00\)\s+31\.50 \(30\.00-33\.00\)\s+-17\.1%\s+better$/m);
  t.notMatch(text, /^\s+lost/m, 'lost = 0 on both sides: not in the text');
  t.match(text, /2 better, 0 worse, \d+ unchanged or within the spread; no message lost, duplicated, reordered or failed on either side$/);
  t.ok(c.rows.some((r) => r.metric === 'lost'), 'but in the JSON');
});

t.test('input: the JSON of --json or --report, a directory of them, clear errors otherwise', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-compare-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const doc = (runs: RunResult[]): string => JSON.stringify({ runs, meta: META });
  writeFileSync(join(dir, 'one.json'), doc([chat(100_000)]));
  mkdirSync(join(dir, 'run2'));
  writeFileSync(join(dir, 'run2', 'bench.json'), doc([chat(101_000)]));
  writeFileSync(join(dir, 'notes.txt'), 'not a result');
  const side = readSide(dir);
  t.same(side.map((f) => f.path), [join(dir, 'one.json'), join(dir, 'run2', 'bench.json')], '*.json and */bench.json, in name order');
  t.equal(readSide(join(dir, 'one.json')).length, 1, 'a single file');
  t.same(parseBenchFile('x', JSON.stringify({ runs: [chat(1)] })).meta, null, 'an older --json without settings');
  t.throws(() => parseBenchFile('x', '{'), new CompareInputError('x: not JSON'));
  t.throws(() => parseBenchFile('x', '{"rows":[]}'), /x: no "runs" array/);
  t.throws(() => parseBenchFile('x', '{"runs":[{"system":"hushwire"}]}'), /x: runs\[0\] has no system and workload/);
  t.throws(() => parseBenchFile('x', '{"runs":[null]}'), /runs\[0\]/);
  t.throws(() => readSide(join(dir, 'missing')), /no such file or directory/);
  mkdirSync(join(dir, 'empty'));
  t.throws(() => readSide(join(dir, 'empty')), /no \.json results in this directory/);
});

/** `hushwire bench compare ARGS` (30 s deadline). */
const cli = (args: string[]) => runBench(['compare', ...args]);

t.test('hushwire bench compare: text, --json after the operands, --fail-on-worse, usage errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-compare-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  writeFileSync(a, JSON.stringify({ runs: [chat(100_000, 30)], meta: META }));
  writeFileSync(b, JSON.stringify({ runs: [chat(100_000, 30, { lost: 2 })], meta: META }));
  const text = await cli([a, b]);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /^\s+lost\s+0\s+2\s+-\s+worse$/m);
  const json = await cli([a, b, '--json']);
  t.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { worse: number; rows: ComparedMetric[] };
  t.equal(parsed.worse, 1, '--json is the subcommand\'s, not bench\'s');
  const gate = await cli(['--fail-on-worse', a, b]);
  t.equal(gate.code, 1);
  t.match(gate.stderr, /1 metric worse than the base/);
  t.equal((await cli(['--fail-on-worse', a, a])).code, 0, 'nothing worse: 0');
  const missing = await cli([a, join(dir, 'nope.json')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /nope\.json: no such file or directory \(BAD_REQUEST\)/);
  writeFileSync(join(dir, 'other.json'), JSON.stringify({ runs: [{ ...chat(1), system: 'socketio' }], meta: META }));
  const disjoint = await cli([a, join(dir, 'other.json')]);
  t.equal(disjoint.code, 2);
  t.match(disjoint.stderr, /nothing to compare: no system and workload ran on both sides/);
  // The same system and workload, max-rate on one side and fixed-rate on the other.
  writeFileSync(join(dir, 'rate.json'), JSON.stringify({ runs: [chat(2_000, 5, { mode: 'rate', rate: 2_000 })], meta: { ...META, rate: 2000 } }));
  const modes = await cli([a, join(dir, 'rate.json')]);
  t.equal(modes.code, 2);
  t.match(modes.stderr, /^hushwire: nothing to compare: hushwire chat ran on both sides, but max-rate on one and fixed-rate \(--rate\) on the other; the two modes are not compared \(BAD_REQUEST\)$/m);
  t.equal((await cli([a, b, '--noise', '-1'])).code, 2, 'a negative noise is a usage error');
});
