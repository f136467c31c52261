// `hushwire bench compare BASE CANDIDATE`: two sets of saved bench results side by side,
// metric by metric, with a verdict that says whether a difference is larger than the
// runs' own spread.
//
// Why a verdict and not only a percentage: on a shared machine the same run moves by
// ±5-10% from one minute to the next (docs/BENCHMARKS.md, "The machine"), so "+4%" from
// one run each says nothing. With three or more runs per side (files, or --repeat
// rounds) a difference counts only when the two sides' ranges do not overlap: every
// candidate run beat (or lost to) every base run. With fewer the spread is not known
// well enough, and a change larger than the stated noise gets a "?" verdict. Losses, duplicates,
// reorders and failures are never noise: more of them is worse.
//
// Pure functions; the command (cli/commands/bench.ts) reads the files.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';
import { median, type Spread } from './summary.ts';
import type { RunResult } from './types.ts';
import { worstSlice } from './timeline.ts';

export interface BenchFile {
  path: string;
  runs: RunResult[];
  meta: Record<string, unknown> | null;
}

type Better = 'higher' | 'lower' | null;

/** Runs a side needs before apart ranges count as a definite better or worse. */
export const MIN_RUNS = 3;

interface MetricSpec {
  /** A RunResult field, or a figure derived from one (`value`). */
  key: keyof RunResult | 'worst_slice_p99_ms';
  label: string;
  better: Better;
  digits: number;
  /** Counts (lost, duplicated, ...): any increase is worse, whatever the spread. */
  count?: true;
  /** How a derived figure is read from a run (undefined: the run has none). */
  value?: (r: RunResult) => number | undefined;
}

/** What is compared, in this order; a metric missing on either side is left out. */
export const METRICS: readonly MetricSpec[] = [
  { key: 'delivered_per_s', label: 'delivered/s', better: 'higher', digits: 0 },
  { key: 'rate', label: 'offered msg/s', better: null, digits: 0 },
  { key: 'p50_ms', label: 'p50 ms', better: 'lower', digits: 2 },
  { key: 'p99_ms', label: 'p99 ms', better: 'lower', digits: 2 },
  { key: 'p999_ms', label: 'p99.9 ms', better: 'lower', digits: 2 },
  // A stall of half a second in a 10 s window moves the window's p99 little; the worst
  // slice's p99 is where it shows. Compared only when every run of both sides was cut in
  // slices of one length (a 1 s slice hides what a 100 ms one shows).
  { key: 'worst_slice_p99_ms', label: 'worst slice p99 ms', better: 'lower', digits: 2, value: (r) => (r.timeline ? worstSlice(r.timeline)?.p99_ms : undefined) },
  { key: 'server_cpu_us_per_msg', label: 'server µs/msg', better: 'lower', digits: 1 },
  { key: 'nats_cpu_us_per_msg', label: 'nats µs/msg', better: 'lower', digits: 1 },
  { key: 'drain_per_s', label: 'drained/s', better: 'higher', digits: 0 },
  { key: 'erase_tail_s', label: 'erase tail s', better: 'lower', digits: 2 },
  { key: 'reconnect_s', label: 'all back s', better: 'lower', digits: 2 },
  { key: 'back_p50_s', label: 'half back s', better: 'lower', digits: 2 },
  { key: 'back_p99_s', label: '99% back s', better: 'lower', digits: 2 },
  { key: 'retained_bytes_per_conn', label: 'B/device after GC', better: 'lower', digits: 0 },
  { key: 'rss_bytes_per_conn', label: 'RSS B/device', better: 'lower', digits: 0 },
  { key: 'server_alloc_bytes_per_msg', label: 'server alloc B/msg', better: 'lower', digits: 0 },
  { key: 'server_alloc_bytes_per_reconnect', label: 'server alloc B/reconnect', better: 'lower', digits: 0 },
  { key: 'generator_cpu_us_per_msg', label: 'generator µs/msg', better: null, digits: 1 },
  { key: 'loadavg_1m', label: 'machine load', better: null, digits: 2 },
  { key: 'lost', label: 'lost', better: 'lower', digits: 0, count: true },
  { key: 'duplicated', label: 'duplicated', better: 'lower', digits: 0, count: true },
  { key: 'reordered', label: 'reordered', better: 'lower', digits: 0, count: true },
  { key: 'failed', label: 'failed', better: 'lower', digits: 0, count: true },
];

/** better / worse: the ranges do not overlap (three or more runs a side), or a count grew.
 *  better? / worse?: fewer runs, and a change beyond the noise (and ranges apart, with
 *  two or more runs a side). within spread: the ranges overlap (two or more runs a side).
 *  within noise: fewer runs, a change within the noise.
 *  same: equal medians (and ranges). info: a figure with no better direction. */
export type Verdict = 'better' | 'worse' | 'better?' | 'worse?' | 'within spread' | 'within noise' | 'same' | 'info';

export interface SideStats extends Spread {
  n: number;
}

export interface ComparedMetric {
  system: string;
  workload: string;
  metric: string;
  label: string;
  base: SideStats;
  candidate: SideStats;
  /** (candidate median - base median) / base median × 100; null when the base median is 0. */
  change_pct: number | null;
  verdict: Verdict;
}

export interface Comparison {
  base: string[];
  candidate: string[];
  /** Settings (bench.json's meta) that differ between or within the sides. */
  settings: { key: string; base: string; candidate: string }[];
  /** Files with no settings recorded (saved from an older --json): comparability unchecked. */
  unchecked: string[];
  rows: ComparedMetric[];
  only_in_base: string[];
  only_in_candidate: string[];
  /** Rows that failed (the JSON's `"error": true`), "system workload: why", per side.
   *  A candidate failure of a group the base measured counts as worse. */
  failed_in_base?: string[];
  failed_in_candidate?: string[];
  /** Groups where a run on either side was generator-bound (it measured the generator). */
  generator_bound: string[];
  noise_pct: number;
  better: number;
  worse: number;
}

export interface CompareOptions {
  /** Relative change within which a single-run comparison is called noise (percent). */
  noisePct: number;
}

/** Settings that are expected to differ and say nothing about comparability (the
 *  latency timeline's slice, `slice_ms`, changes only the worst slice's p99, which is
 *  compared only between runs with one slice length). */
const META_IGNORED = new Set(['when', 'systems', 'workloads', 'repeat', 'slice_ms', 'slice_ms_asked']);

/** A group: one system, one workload, max-rate or fixed-rate runs apart. */
function groupOf(r: RunResult): string {
  return `${r.system}\u0000${r.workload}${r.mode === 'rate' ? ' (fixed rate)' : ''}`;
}

function groups(runs: readonly RunResult[]): Map<string, RunResult[]> {
  const out = new Map<string, RunResult[]>();
  for (const r of runs) {
    if (r.skipped) continue;
    const k = groupOf(r);
    const g = out.get(k);
    if (g === undefined) out.set(k, [r]);
    else g.push(r);
  }
  return out;
}

function stats(runs: readonly RunResult[], m: MetricSpec): SideStats | null {
  const read = m.value ?? ((r: RunResult) => r[m.key as keyof RunResult]);
  const v = runs.map(read).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return null;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

function verdictOf(m: MetricSpec, b: SideStats, c: SideStats, noisePct: number): Verdict {
  if (m.better === null) return 'info';
  const up: Verdict = m.better === 'higher' ? 'better' : 'worse';
  const down: Verdict = m.better === 'higher' ? 'worse' : 'better';
  if (m.count) {
    // A run with more of them than any base run is a regression, whatever the spread.
    if (c.max !== b.max) return c.max > b.max ? 'worse' : 'better';
    return b.median === c.median ? 'same' : c.median > b.median ? 'worse' : 'better';
  }
  if (b.median === c.median && b.min === c.min && b.max === c.max) return 'same';
  const apart = c.min > b.max || c.max < b.min;
  if (b.n >= 2 && c.n >= 2 && !apart) return 'within spread';
  // Two sets of n runs of the same thing are apart by chance with probability
  // 2 / C(2n, n): 33% for two runs a side, 10% for three, under 3% for four. So a
  // definite verdict needs three runs a side; with fewer, apart ranges get a "?".
  if (apart && b.n >= MIN_RUNS && c.n >= MIN_RUNS) return c.min > b.max ? up : down;
  // Noise as a ratio, the same both ways (+5% one way is -4.8% the other): swapping the
  // sides swaps better and worse and nothing else.
  if (b.median > 0 && c.median > 0 && Math.abs(Math.log(c.median / b.median)) <= Math.log1p(noisePct / 100) + 1e-12) return 'within noise';
  return c.median > b.median ? (`${up}?` as Verdict) : (`${down}?` as Verdict);
}

function metaValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? 'null';
}

/** The settings of each side: key → the distinct values seen in its files. */
function settingsOf(files: readonly BenchFile[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const f of files) {
    if (f.meta === null) continue;
    for (const [k, v] of Object.entries(f.meta)) {
      if (META_IGNORED.has(k)) continue;
      let s = out.get(k);
      if (s === undefined) out.set(k, (s = new Set()));
      s.add(metaValue(v));
    }
  }
  return out;
}

/** The failed rows of a side, by group: "why" of each (first seen). */
function failures(runs: readonly RunResult[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of runs) {
    if (r.error !== true || r.skipped === undefined) continue;
    const k = groupOf(r);
    if (!out.has(k)) out.set(k, r.skipped.replace(/^failed: /, ''));
  }
  return out;
}

export function compare(base: readonly BenchFile[], candidate: readonly BenchFile[], opts: CompareOptions): Comparison {
  const b = groups(base.flatMap((f) => f.runs));
  const c = groups(candidate.flatMap((f) => f.runs));
  // A failed row was left out as if it were skipped: a candidate whose chat failed
  // compared as "only in base: hushwire chat" and passed --fail-on-worse.
  const bFailed = failures(base.flatMap((f) => f.runs));
  const cFailed = failures(candidate.flatMap((f) => f.runs));
  const rows: ComparedMetric[] = [];
  const bound: string[] = [];
  const show = (k: string): string => k.replace('\u0000', ' ');
  for (const [k, bRuns] of b) {
    const cRuns = c.get(k);
    if (cRuns === undefined) continue;
    const [system, workload] = k.split('\u0000') as [string, string];
    if ([...bRuns, ...cRuns].some((r) => r.generator_bound === true)) bound.push(show(k));
    const slices = new Set([...bRuns, ...cRuns].map((r) => r.timeline?.slice_ms));
    for (const m of METRICS) {
      if (m.key === 'worst_slice_p99_ms' && slices.size !== 1) continue;
      const bs = stats(bRuns, m);
      const cs = stats(cRuns, m);
      if (bs === null || cs === null) continue;
      const change = bs.median === 0 ? null : ((cs.median - bs.median) / Math.abs(bs.median)) * 100;
      rows.push({
        system, workload, metric: m.key, label: m.label, base: bs, candidate: cs,
        change_pct: change === null ? null : Math.round(change * 10) / 10,
        verdict: verdictOf(m, bs, cs, opts.noisePct),
      });
    }
  }
  const bSet = settingsOf(base);
  const cSet = settingsOf(candidate);
  const settings: Comparison['settings'] = [];
  // Values as sets, in one order (numbers by value): files read in another order must
  // not make the same settings look different ("500 | 10000 → 10000 | 500").
  const order = (v: Set<string> | undefined): string[] => [...(v ?? [])].sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
  for (const k of new Set([...bSet.keys(), ...cSet.keys()])) {
    const bv = order(bSet.get(k));
    const cv = order(cSet.get(k));
    // Listed when the sides differ, or when either side mixes values (its runs were not
    // all made alike); with the same mix on both sides base and candidate read the same.
    const same = bv.length === 1 && cv.length === 1 && bv[0] === cv[0];
    if (!same) settings.push({ key: k, base: bv.join(' | ') || '-', candidate: cv.join(' | ') || '-' });
  }
  return {
    base: base.map((f) => f.path),
    candidate: candidate.map((f) => f.path),
    settings,
    unchecked: [...base, ...candidate].filter((f) => f.meta === null).map((f) => f.path),
    rows,
    only_in_base: [...b.keys()].filter((k) => !c.has(k) && !cFailed.has(k)).map(show),
    only_in_candidate: [...c.keys()].filter((k) => !b.has(k) && !bFailed.has(k)).map(show),
    ...(bFailed.size > 0 ? { failed_in_base: [...bFailed].map(([k, why]) => `${show(k)}: ${why}`) } : {}),
    ...(cFailed.size > 0 ? { failed_in_candidate: [...cFailed].map(([k, why]) => `${show(k)}: ${why}`) } : {}),
    generator_bound: bound,
    noise_pct: opts.noisePct,
    better: rows.filter((r) => r.verdict === 'better' || r.verdict === 'better?').length,
    worse: rows.filter((r) => r.verdict === 'worse' || r.verdict === 'worse?').length + [...cFailed.keys()].filter((k) => b.has(k)).length,
  };
}

/** Why a comparison has no rows: nothing ran on both sides, or the same systems and
 *  workloads did, but max-rate on one side and fixed-rate on the other (kept apart). */
export function nothingToCompare(c: Comparison): string {
  const bare = (k: string): string => k.replace(/ \(fixed rate\)$/, '');
  const base = new Map(c.only_in_base.map((k) => [bare(k), k]));
  const modes = c.only_in_candidate.filter((k) => base.has(bare(k)) && base.get(bare(k)) !== k).map(bare);
  if (modes.length > 0) {
    return `nothing to compare: ${modes.join(', ')} ran on both sides, but max-rate on one and fixed-rate (--rate) on the other; the two modes are not compared`;
  }
  return 'nothing to compare: no system and workload ran on both sides';
}

function fmt(v: number, digits: number): string {
  return digits === 0 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);
}

function fmtSide(s: SideStats, digits: number): string {
  return s.n === 1 || s.min === s.max ? fmt(s.median, digits) : `${fmt(s.median, digits)} (${fmt(s.min, digits)}-${fmt(s.max, digits)})`;
}

const DIGITS = new Map(METRICS.map((m) => [m.key as string, m.digits]));
const COUNTS = new Set(METRICS.filter((m) => m.count).map((m) => m.key as string));

/** The comparison as text: one line per metric, medians with their ranges. */
export function compareTable(c: Comparison): string {
  const lines: string[] = [];
  const runsPer = (rows: ComparedMetric[], side: 'base' | 'candidate'): string => {
    const ns = [...new Set(rows.map((r) => r[side].n))].sort((x, y) => x - y);
    return ns.length === 0 ? '' : `, ${ns.join('-')} run${ns.length === 1 && ns[0] === 1 ? '' : 's'} per row`;
  };
  lines.push(`base:      ${c.base.join(', ')}${runsPer(c.rows, 'base')}`);
  lines.push(`candidate: ${c.candidate.join(', ')}${runsPer(c.rows, 'candidate')}`);
  for (const s of c.settings) {
    lines.push(s.base === s.candidate ? `settings differ within each side (the same on both): ${s.key}: ${s.base}` : `settings differ: ${s.key}: ${s.base} → ${s.candidate}`);
  }
  if (c.unchecked.length > 0) lines.push(`no settings recorded in ${c.unchecked.join(', ')}: comparability not checked`);
  if (c.only_in_base.length > 0) lines.push(`only in base: ${c.only_in_base.join(', ')}`);
  if (c.only_in_candidate.length > 0) lines.push(`only in candidate: ${c.only_in_candidate.join(', ')}`);
  if (c.failed_in_base) lines.push(`failed in base: ${c.failed_in_base.join('; ')}`);
  if (c.failed_in_candidate) lines.push(`failed in candidate (worse where the base measured it): ${c.failed_in_candidate.join('; ')}`);
  if (c.generator_bound.length > 0) lines.push(`generator-bound on a side (throughput measured the generator): ${c.generator_bound.join(', ')}`);
  lines.push(`median (min-max) per side; verdicts: better/worse = ranges apart, ${MIN_RUNS}+ runs a side; "?" = fewer runs, beyond the noise`
    + ` (±${c.noise_pct}%); within spread = ranges overlap`);
  lines.push('');
  const head = ['system', 'workload', 'metric', 'base', 'candidate', 'change', 'verdict'];
  let last = '';
  // Counts that are zero on both sides are left out of the text (kept in the JSON).
  const shown = c.rows.filter((r) => !(COUNTS.has(r.metric) && r.base.max === 0 && r.candidate.max === 0));
  const body = shown.map((r) => {
    const d = DIGITS.get(r.metric) ?? 1;
    const g = `${r.system}\u0000${r.workload}`;
    const first = g !== last;
    last = g;
    return [first ? r.system : '', first ? r.workload : '', r.label, fmtSide(r.base, d), fmtSide(r.candidate, d),
      r.change_pct === null ? '-' : `${r.change_pct > 0 ? '+' : ''}${r.change_pct.toFixed(1)}%`, r.verdict === 'info' ? '' : r.verdict];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const right = new Set([3, 4, 5]);
  for (const cells of [head, ...body]) {
    lines.push(cells.map((x, i) => (right.has(i) ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join('  ').trimEnd());
  }
  lines.push('');
  const zero = c.rows.length > 0 && c.rows.every((r) => !COUNTS.has(r.metric) || (r.base.max === 0 && r.candidate.max === 0));
  const unchanged = c.rows.filter((r) => r.verdict !== 'info' && !/^(better|worse)\??$/.test(r.verdict)).length;
  const failedWorse = c.worse - c.rows.filter((r) => r.verdict === 'worse' || r.verdict === 'worse?').length;
  lines.push(`${c.better} better, ${c.worse} worse${failedWorse > 0 ? ` (${failedWorse} of them failed in the candidate)` : ''}, ${unchanged} unchanged or within the spread`
    + (zero ? '; no message lost, duplicated, reordered or failed on either side' : ''));
  return lines.join('\n');
}

/** Most a results file may be (a bench.json is a few kB; a mistaken path is not read whole). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

export class CompareInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompareInputError';
  }
}

/** Parses one saved result: the object `--json` prints or `--report` writes. */
export function parseBenchFile(path: string, text: string): BenchFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CompareInputError(`${path}: not JSON`);
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { runs?: unknown }).runs)) {
    throw new CompareInputError(`${path}: no "runs" array (expected the output of hushwire bench --json or --report)`);
  }
  const runs = (doc as { runs: unknown[] }).runs;
  runs.forEach((r, i) => {
    if (typeof r !== 'object' || r === null || typeof (r as RunResult).system !== 'string' || typeof (r as RunResult).workload !== 'string') {
      throw new CompareInputError(`${path}: runs[${i}] has no system and workload`);
    }
  });
  const meta = (doc as { meta?: unknown }).meta;
  return { path, runs: runs as RunResult[], meta: typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? meta as Record<string, unknown> : null };
}

/** A side's files: a JSON file, or a directory's *.json files and its subdirectories'
 *  bench.json (one --report directory per run). */
export function readSide(path: string): BenchFile[] {
  if (!existsSync(path)) throw new CompareInputError(`${path}: no such file or directory`);
  const paths: string[] = [];
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      const p = join(path, name);
      const st = statSync(p);
      if (st.isFile() && name.endsWith('.json')) paths.push(p);
      else if (st.isDirectory() && existsSync(join(p, 'bench.json'))) paths.push(join(p, 'bench.json'));
    }
    if (paths.length === 0) throw new CompareInputError(`${path}: no .json results in this directory (or bench.json in its subdirectories)`);
  } else {
    paths.push(path);
  }
  return paths.map((p) => {
    const size = statSync(p).size;
    if (size > MAX_FILE_BYTES) throw new CompareInputError(`${basename(p)}: ${size} bytes, over ${MAX_FILE_BYTES}: not a bench result`);
    return parseBenchFile(p, readFileSync(p, 'utf8'));
  });
}
