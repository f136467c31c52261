// Latency against offered load (`--rate` lists, `--rate sweep`) and the latency-bounded
// capacity per system (`--p99-slo`).
//
// `--rate` takes one absolute rate (msg/s) or `half` as it always did, or a
// comma-separated list of absolute rates, `half` (= `50%`) and percentages of the
// system's own max rate (`25%`), or `sweep`: the max-rate run, then 10%, 20%, ... 90% of
// it, stopped after the first rate at which the system is saturated (so a sweep of a
// system that gives up at 40% costs four fixed-rate runs, not nine). A plan with any
// percentage starts with the max-rate run (once per system and workload variant per
// round); its fixed rates then run in ascending order.
//
// After the runs, per system, workload and round with fixed-rate rows: the highest
// offered rate whose row kept its p99 within the bound, lost nothing and delivered at
// least 90% of what was offered (sloEntries), and that rate as a fraction of the
// system's max rate when the run measured one. With --repeat each round gets its own
// entry: a percentage's rate differs from round to round, and a median of "the
// highest rate that passed" over rounds that tried different rates is no rate anyone
// measured.
//
// Pure functions; no I/O.
import type { RunResult, SystemName } from './types.ts';

/** One entry of a `--rate` list: an absolute rate (messages/s offered in total) or a
 *  percentage of the system's max rate (its max-rate run's messages/s). */
export type RateEntry = { readonly msgs: number } | { readonly pct: number };

/** `--rate` as parsed: a lone absolute rate or `half`, exactly as before (a number and
 *  the string); `sweep`; or a list (anything else: several entries, or a percentage). */
export type RateOption = number | 'half' | 'sweep' | readonly RateEntry[];

/** `--rate sweep`: these percentages of the max rate, in this order. */
export const SWEEP_PCTS: readonly number[] = [10, 20, 30, 40, 50, 60, 70, 80, 90];
/** A fixed-rate row that delivered less than this fraction of what was offered is
 *  saturated (the sweep stops there; it does not count within the SLO). */
export const MIN_DELIVERED_FRACTION = 0.9;
/** `--p99-slo`'s default: issue 5's bound ("p99 at most 5 ms at half of the maximum rate"). */
export const DEFAULT_P99_SLO_MS = 5;

const TAKES = 'a positive number of messages/s, "half" (a max-rate run, then one at half its rate), a percentage of the max rate ("25%", 1 to 100), a comma-separated list of those, or "sweep" (the max rate, then 10%, 20%, ... 90% of it)';

/** Parses `--rate`; throws an Error whose message says what is wrong (the CLI makes
 *  it a usage error). A lone number or `half` parse as they always did. */
export function parseRateOption(value: string): RateOption {
  const text = value.trim();
  if (text === 'half') return 'half';
  if (text === 'sweep') return 'sweep';
  if (text === '') throw new Error(`names no rate: give ${TAKES}`);
  const parts = text.split(',').map((s) => s.trim());
  const one = parts.length === 1;
  const entries: RateEntry[] = [];
  const seen = new Map<string, string>();
  for (const p of parts) {
    if (p === '') throw new Error(`an empty entry in "${value}": give ${TAKES}`);
    if (p === 'sweep') throw new Error('"sweep" goes alone, not in a list with other rates');
    const e = parseEntry(p);
    if (e === null) {
      if (one) throw new Error(`must be a positive number of messages/s, or "half" (a max-rate run, then one at half its rate), a percentage of the max rate ("25%", 1 to 100), a comma-separated list of those, or "sweep"; not "${value}"`);
      throw new Error(`"${p}" in "${value}" is not a rate: each entry is a positive number of messages/s, "half" or a percentage of the max rate ("25%", 1 to 100)`);
    }
    if ('pct' in e && !(e.pct >= 1 && e.pct <= 100)) throw new Error(`"${p}": a percentage of the max rate is from 1 to 100`);
    const key = entryLabel(e);
    const before = seen.get(key);
    if (before !== undefined) throw new Error(before === p ? `"${p}" is given twice` : `"${before}" and "${p}" are the same rate (${key}${'pct' in e ? ' of the max' : ''})`);
    seen.set(key, p);
    entries.push(e);
  }
  // A lone absolute rate stays a number (as before); a lone percentage is a list.
  if (one && 'msgs' in entries[0]!) return entries[0].msgs;
  return entries;
}

function parseEntry(p: string): RateEntry | null {
  if (p === 'half') return { pct: 50 };
  const m = /^(.+)%$/.exec(p);
  if (m !== null) {
    const n = Number(m[1]!.trim());
    return m[1]!.trim() === '' || !Number.isFinite(n) ? null : { pct: n };
  }
  const n = Number(p);
  return Number.isFinite(n) && n > 0 ? { msgs: n } : null;
}

/** An entry's name: "25%" or "2000/s" (the suffix of its rows' workload, `chat@25%`). */
export function entryLabel(e: RateEntry): string {
  return 'pct' in e ? `${e.pct}%` : `${e.msgs}/s`;
}

/** `--rate` as the JSON's meta records it: a lone rate or "half" as before, "sweep", or
 *  a list as text ("25%,50%,2000"); null without --rate. */
export function rateMeta(opt: RateOption | null): number | string | null {
  if (opt === null || typeof opt === 'number' || typeof opt === 'string') return opt;
  return opt.map((e) => ('pct' in e ? `${e.pct}%` : String(e.msgs))).join(',');
}

/** Whether `--rate` uses the forms added with lists (a list, a percentage, sweep): the
 *  SLO summary and chart are then on without --p99-slo. A lone rate and `half` keep
 *  their output as it was. */
export function isRateList(opt: RateOption | null): boolean {
  return opt === 'sweep' || Array.isArray(opt);
}

export interface RatePlan {
  /** A max-rate run first: without --rate, with `half`, a percentage, or `sweep`. */
  maxRun: boolean;
  /** The fixed rates, as given (resolved and ordered by resolveRates). */
  fixed: readonly RateEntry[];
  /** Stop after the first saturated rate (`--rate sweep`). */
  sweep: boolean;
  /** The fixed-rate row keeps the workload's own name (a lone `--rate N`, as before);
   *  otherwise each is `workload@<entry>` (`chat@50%`, `chat@2000/s`). */
  plainName: boolean;
}

export function ratePlan(opt: RateOption | null): RatePlan {
  if (opt === null) return { maxRun: true, fixed: [], sweep: false, plainName: false };
  if (typeof opt === 'number') return { maxRun: false, fixed: [{ msgs: opt }], sweep: false, plainName: true };
  if (opt === 'half') return { maxRun: true, fixed: [{ pct: 50 }], sweep: false, plainName: false };
  if (opt === 'sweep') return { maxRun: true, fixed: SWEEP_PCTS.map((pct) => ({ pct })), sweep: true, plainName: false };
  return { maxRun: opt.some((e) => 'pct' in e), fixed: opt, sweep: false, plainName: false };
}

export interface ResolvedRate {
  entry: RateEntry;
  /** Its name in the rows (`25%`, `2000/s`). */
  label: string;
  /** Messages/s offered in total. */
  msgs: number;
}

/** The plan's fixed rates in ascending order of messages/s (the order given among
 *  equals), percentages taken of `maxMsgs` (the max-rate run's messages/s: its
 *  deliveries/s over the deliveries per message); without one (no max-rate run, or it
 *  delivered nothing) the percentages are left out. */
export function resolveRates(plan: RatePlan, maxMsgs: number | null): ResolvedRate[] {
  const out: ResolvedRate[] = [];
  for (const entry of plan.fixed) {
    if ('pct' in entry) {
      if (maxMsgs === null || !(maxMsgs > 0)) continue;
      out.push({ entry, label: entryLabel(entry), msgs: maxMsgs * (entry.pct / 100) });
    } else {
      out.push({ entry, label: entryLabel(entry), msgs: entry.msgs });
    }
  }
  return out.map((r, i) => ({ r, i })).sort((a, b) => a.r.msgs - b.r.msgs || a.i - b.i).map(({ r }) => r);
}

/** Deliveries per message of a workload: fanout-k's k (every recipient device gets
 *  each message), 1 for chat. */
export function deliveriesPerMessage(workload: string): number {
  const m = /^fanout-(\d+)/.exec(workload);
  return m === null ? 1 : Math.max(1, Number(m[1]));
}

/** A row's workload without its rate (`chat@25%` → `chat`). */
export function baseWorkload(workload: string): string {
  const at = workload.indexOf('@');
  return at < 0 ? workload : workload.slice(0, at);
}

/** Why a fixed-rate row shows the system saturated at its rate, or null: the row failed
 *  (or measured nothing), lost messages, or delivered less than 90% of the deliveries
 *  offered (rate × deliveries per message). The sweep stops after such a row; it does
 *  not count within the SLO. */
export function saturation(r: RunResult): string | null {
  if (r.skipped !== undefined) return r.error === true ? 'the run failed' : `skipped: ${r.skipped}`;
  if (r.delivered === 0 || r.delivered_per_s === null || r.delivered_per_s === 0) return 'nothing delivered';
  if (r.lost !== null && r.lost > 0) return `${r.lost.toLocaleString('en-US')} lost`;
  if (r.rate != null && r.rate > 0) {
    const offered = r.rate * deliveriesPerMessage(r.workload);
    const frac = r.delivered_per_s / offered;
    if (frac < MIN_DELIVERED_FRACTION) return `delivered ${Math.floor(frac * 100)}% of the offered ${Math.round(offered).toLocaleString('en-US')}/s`;
  }
  return null;
}

/** With `--rate sweep`, after the fixed-rate row `r` with `higher` rates left to run:
 *  the note that stops the sweep there when the system was saturated, or null (go on).
 *  A list is never stopped: it runs every rate asked for. */
export function sweepStop(plan: RatePlan, r: RunResult, higher: number): string | null {
  if (!plan.sweep) return null;
  const why = saturation(r);
  if (why === null) return null;
  return `sweep stopped here: saturated at this rate (${why})${higher > 0 ? `; ${higher} higher rate${higher === 1 ? '' : 's'} not run` : ''}`;
}

/** The JSON's `slo[]` entry: one per system, workload (without its rate) and, with
 *  --repeat, round, that has fixed-rate rows. */
export interface SloEntry {
  system: SystemName;
  workload: string;
  /** With --repeat: the round (each round its own entry). */
  round?: number;
  p99_slo_ms: number;
  /** The highest offered rate (messages/s) whose row had p99 ≤ p99_slo_ms, nothing lost
   *  and ≥ 90% of the offered deliveries delivered; null when none did. */
  max_rate_within_slo: number | null;
  /** That rate over the system's max rate (its max-rate run's messages/s, same
   *  workload and round); null without either. */
  fraction_of_max: number | null;
  /** The offered rates of the fixed-rate rows that ran, ascending. */
  rates_tried: number[];
}

/** The SLO entries of `rows` (in the order their groups first appear). */
export function sloEntries(rows: readonly RunResult[], sloMs: number): SloEntry[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of rows) {
    const k = `${r.system}\u0000${baseWorkload(r.workload)}\u0000${r.round ?? ''}`;
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [r]);
    else g.push(r);
  }
  const out: SloEntry[] = [];
  for (const g of groups.values()) {
    const fixed = g.filter((r) => r.mode === 'rate' && r.skipped === undefined && r.rate != null);
    // A group with a fixed-rate row that failed (no mode, named workload@rate) is
    // listed too: its rates were tried and none passed.
    if (fixed.length === 0 && !g.some((r) => r.skipped !== undefined && r.workload.includes('@'))) continue;
    const first = g[0]!;
    const within = fixed.filter((r) => r.p99_ms != null && r.p99_ms <= sloMs && saturation(r) === null);
    const best = within.length === 0 ? null : Math.max(...within.map((r) => r.rate!));
    const max = g.find((r) => r.mode === 'window' && r.skipped === undefined && r.delivered_per_s != null && r.delivered_per_s > 0);
    const maxMsgs = max === undefined ? null : max.delivered_per_s! / deliveriesPerMessage(max.workload);
    out.push({
      system: first.system,
      workload: baseWorkload(first.workload),
      ...(first.round !== undefined ? { round: first.round } : {}),
      p99_slo_ms: sloMs,
      max_rate_within_slo: best,
      fraction_of_max: best === null || maxMsgs === null ? null : Math.round((best / maxMsgs) * 1000) / 1000,
      rates_tried: fixed.map((r) => r.rate!).sort((a, b) => a - b),
    });
  }
  return out;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The table's lines for the SLO entries (none: no lines). */
export function sloText(entries: readonly SloEntry[]): string {
  if (entries.length === 0) return '';
  const slo = entries[0]!.p99_slo_ms;
  const lines = [`latency-bounded capacity: the highest offered rate with p99 <= ${slo} ms, nothing lost and at least ${MIN_DELIVERED_FRACTION * 100}% delivered (--p99-slo ${slo})`];
  const body = entries.map((e) => {
    const tried = e.rates_tried.length === 0 ? 'no fixed-rate run measured'
      : `${e.rates_tried.length} rate${e.rates_tried.length === 1 ? '' : 's'} tried, ${e.rates_tried.length === 1 ? int(e.rates_tried[0]!) : `${int(e.rates_tried[0]!)}-${int(e.rates_tried[e.rates_tried.length - 1]!)}`} msg/s`;
    const what = e.max_rate_within_slo === null ? 'none'
      : `${int(e.max_rate_within_slo)} msg/s${e.fraction_of_max === null ? '' : ` (${Number((e.fraction_of_max * 100).toFixed(1))}% of its max rate)`}`;
    return [e.system, e.round !== undefined ? `${e.workload} #${e.round}` : e.workload, what, `(${tried})`];
  });
  const widths = [0, 1, 2].map((i) => Math.max(...body.map((b) => b[i]!.length)));
  for (const b of body) lines.push(b.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd());
  return lines.join('\n');
}
