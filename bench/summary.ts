// `--repeat N`: every system and workload N times, in interleaved rounds (round 1 runs
// each system once, then round 2, ...), and one summary row per system and workload:
// the median with its spread, and Hushwire's throughput over each peer's taken within
// a round, then summarised across rounds.
//
// Why: on a shared machine the same run moves by ±10% from one minute to the next
// (docs/BENCHMARKS.md, "The machine"). Interleaving puts a slow minute on every system
// alike, and a ratio taken inside one round cancels most of it; one run per system says
// less than it seems to.
import type { RunResult, SystemName } from './types.ts';

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface SummaryRow {
  system: SystemName;
  workload: string;
  /** Rounds that produced the headline figure. */
  rounds: number;
  /** Rounds whose row failed (the JSON's `"error": true`): left out of the figures. */
  failed_rounds?: number;
  /** The workload's headline: delivered/s (chat, fanout, fixed-rate rows), drained/s
   *  (backlog), seconds until all were back (storm), bytes per idle device (idle). */
  measure: 'delivered_per_s' | 'drain_per_s' | 'reconnect_s' | 'bytes_per_conn';
  value: Spread;
  p99_ms: Spread | null;
  server_cpu_us_per_msg: Spread | null;
  /** Throughput rows of a peer: Hushwire's figure over this system's, per round. */
  hushwire_ratio: Spread | null;
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function spread(xs: readonly (number | null | undefined)[]): Spread | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length === 0 ? null : { median: median(v), min: Math.min(...v), max: Math.max(...v) };
}

function headline(r: RunResult): { measure: SummaryRow['measure']; value: number | null } {
  if (r.drain_per_s != null) return { measure: 'drain_per_s', value: r.drain_per_s };
  if (r.reconnect_s != null) return { measure: 'reconnect_s', value: r.reconnect_s };
  if (r.retained_bytes_per_conn != null || r.rss_bytes_per_conn != null) {
    return { measure: 'bytes_per_conn', value: r.retained_bytes_per_conn ?? r.rss_bytes_per_conn ?? null };
  }
  return { measure: 'delivered_per_s', value: r.delivered_per_s };
}

/** One row per system and workload (in the order first seen), over the rows' rounds.
 *  Skipped rows count for nothing. */
export function summarise(rows: readonly RunResult[]): SummaryRow[] {
  const ran = rows.filter((r) => !r.skipped);
  const key = (r: RunResult): string => `${r.system}\u0000${r.workload}`;
  // A round that failed left its group's figures over fewer rounds without a word.
  const failed = new Map<string, number>();
  for (const r of rows) if (r.error === true) failed.set(key(r), (failed.get(key(r)) ?? 0) + 1);
  const groups = new Map<string, RunResult[]>();
  for (const r of ran) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const out: SummaryRow[] = [];
  for (const g of groups.values()) {
    const first = g[0]!;
    const { measure } = headline(first);
    const values = g.map((r) => headline(r).value);
    const value = spread(values);
    if (value === null) continue;
    let ratio: Spread | null = null;
    if (first.system !== 'hushwire' && (measure === 'delivered_per_s' || measure === 'drain_per_s')) {
      // Hushwire's row of the same workload and round: ratios only within a round.
      const ratios = g.map((r) => {
        const hw = ran.find((h) => h.system === 'hushwire' && h.workload === r.workload && (h.round ?? 1) === (r.round ?? 1));
        const mine = headline(r).value;
        const theirs = hw === undefined ? null : headline(hw).value;
        return mine && theirs ? theirs / mine : null;
      });
      ratio = spread(ratios);
    }
    out.push({
      system: first.system,
      workload: first.workload,
      rounds: values.filter((v) => typeof v === 'number').length,
      ...(failed.has(key(first)) ? { failed_rounds: failed.get(key(first))! } : {}),
      measure,
      value,
      p99_ms: spread(g.map((r) => r.p99_ms)),
      server_cpu_us_per_msg: spread(g.map((r) => r.server_cpu_us_per_msg)),
      hushwire_ratio: ratio,
    });
  }
  return out;
}

const UNITS: Record<SummaryRow['measure'], [string, number]> = {
  delivered_per_s: ['msg/s', 0],
  drain_per_s: ['drained/s', 0],
  reconnect_s: ['s back', 2],
  bytes_per_conn: ['B/device', 0],
};

function fmt(v: number, digits: number): string {
  return digits === 0 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);
}

function fmtSpread(s: Spread | null, digits: number, suffix = ''): string {
  if (s === null) return '-';
  return s.min === s.max ? `${fmt(s.median, digits)}${suffix}` : `${fmt(s.median, digits)}${suffix} (${fmt(s.min, digits)}-${fmt(s.max, digits)})`;
}

/** The summary as text: medians, with the range over the rounds in brackets. */
export function summaryTable(rows: readonly SummaryRow[], rounds: number): string {
  const lines = [`summary over ${rounds} interleaved rounds: median (min-max)`];
  const head = ['system', 'workload', 'headline', 'p99 ms', 'srv us/msg', 'hushwire / this'];
  const body = rows.map((r) => {
    const [unit, digits] = UNITS[r.measure];
    const failedNote = r.failed_rounds ? ` (${r.rounds} rounds; ${r.failed_rounds} failed)` : '';
    return [r.system, r.workload, `${fmtSpread(r.value, digits)} ${unit}${failedNote}`, fmtSpread(r.p99_ms, 1), fmtSpread(r.server_cpu_us_per_msg, 1), fmtSpread(r.hushwire_ratio, 2, 'x')];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  for (const cells of [head, ...body]) lines.push(cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  return lines.join('\n');
}
