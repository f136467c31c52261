// Latency over time (`--slice-ms`): the measured window of a chat, fanout or fixed-rate
// run cut into slices, each message counted in the slice of its *intended* send time
// (the time its latency counts from), so a stall shows where it hit, not where the
// backlog it caused cleared. Per slice: deliveries, p50, p99 and max latency, and in
// rate mode the generator's send-lag p99 (a spike there too means the generator was
// late, not the system).
//
// Each generator thread keeps each slice's values (SliceRecorder: as they are up to
// RAW_VALUES of them, then an hdr-histogram sized as they need), ships them as
// compressed histograms as it ships the run's histogram, and the main thread merges
// them slice by slice (mergeTimeline). Pure functions and two classes; no I/O.
import * as hdr from 'hdr-histogram-js';

export const DEFAULT_SLICE_MS = 250;
export const MIN_SLICE_MS = 10;
export const MAX_SLICE_MS = 10_000;
/** Slices per run at most: each is up to two per generator thread (latency, and send
 *  lag in rate mode). A slice keeps its values as they are (4 bytes each) up to
 *  RAW_VALUES of them, then an hdr-histogram (3 significant digits from 1 µs, sized to
 *  its largest value) with 16-bit counts (~21 KB for latencies of 0.5-500 ms) up to
 *  32,767 values, then 32-bit ones (~42 KB). Measured, 1,000 slices of 0.5-500 ms
 *  latencies in one thread (docs/BENCHMARKS.md "Latency over time"): 250 values a slice
 *  1.3 MB, 1,000 values 4.3 MB, 2,500-32,767 values 21.6 MB, more 42 MB; every case was
 *  42 MB with a 32-bit histogram from each slice's first value. A longer
 *  window takes a larger slice (effectiveSliceMs), said in the JSON's meta. */
export const MAX_SLICES = 1_000;

/** Values a slice keeps as they are before it takes an hdr-histogram: 4 KB, a fifth of
 *  a 16-bit histogram holding 0.5-500 ms; recording them into one when the 1,025th
 *  comes costs the generator ~0.1-0.2 ms once per slice. */
export const RAW_VALUES = 1_024;

/** The slice a run uses: the one asked for, or, when the window would need more than
 *  MAX_SLICES of them, the smallest multiple of it that needs no more. */
export function effectiveSliceMs(windowMs: number, askedMs: number): number {
  const k = Math.max(1, Math.ceil(windowMs / (askedMs * MAX_SLICES)));
  return askedMs * k;
}

/** Slices in a window (the last one may be shorter). */
export function sliceCount(windowMs: number, sliceMs: number): number {
  return Math.max(1, Math.ceil(windowMs / sliceMs));
}

function sliceHistogram(bits: 16 | 32 = 32): hdr.Histogram {
  // Starts small and grows to the largest value it holds: most slices hold latencies of
  // a few ms, which a histogram up to an hour's would hold in ~94 KB.
  return hdr.build({ bitBucketSize: bits, lowestDiscernibleValue: 1, highestTrackableValue: 2, autoResize: true, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

/** Values a slice's 16-bit histogram holds before it becomes a 32-bit one: no count in
 *  it can then exceed 32,767 (hdr-histogram-js's Int16 counts wrap silently). */
const INT16_VALUES = 32_767;

/** One slice's values: as they are (exact, 4 bytes each) while there are at most
 *  RAW_VALUES of them, then an hdr-histogram with 16-bit counts (half the bytes) up to
 *  INT16_VALUES values, then one with 32-bit counts. What it ships is a histogram
 *  either way, the same figures as one histogram of all its values. */
class Slice {
  vals: Uint32Array | null = new Uint32Array(16);
  /** Values recorded. */
  n = 0;
  h: hdr.Histogram | null = null;

  add(v: number): void {
    const vals = this.vals;
    if (vals === null) {
      this.h!.recordValue(v);
      if (++this.n === INT16_VALUES) {
        const wide = sliceHistogram(32);
        wide.add(this.h!);
        this.h = wide;
      }
      return;
    }
    // a whole number of µs that fits 32 bits (every latency of a bounded run does)
    if (this.n < vals.length && (v >>> 0) === v) { vals[this.n++] = v; return; }
    if (this.n < RAW_VALUES && (v >>> 0) === v) {
      const more = new Uint32Array(Math.min(RAW_VALUES, vals.length * 2));
      more.set(vals);
      this.vals = more;
      more[this.n++] = v;
      return;
    }
    this.h = this.histogram();
    this.vals = null;
    this.h.recordValue(v);
    this.n++;
  }

  histogram(): hdr.Histogram {
    if (this.h !== null) return this.h;
    const h = sliceHistogram(16);
    const vals = this.vals!;
    for (let k = 0; k < this.n; k++) h.recordValue(vals[k]!);
    return h;
  }
}

/** A generator thread's slices of one run (each its values or a histogram of them, see
 *  RAW_VALUES), one per slice of the measured window
 *  [from, from + slices × sliceMs), in the clock of the times given to record(). */
export class SliceRecorder {
  readonly #from: number;
  readonly #sliceMs: number;
  readonly #last: number;
  readonly #slices: (Slice | null)[];

  constructor(from: number, sliceMs: number, slices: number) {
    this.#from = from;
    this.#sliceMs = sliceMs;
    this.#last = slices - 1;
    this.#slices = new Array<Slice | null>(slices).fill(null);
  }

  /** Counts `valueUs` (µs, at least 1) in the slice of `intended`, the message's intended
   *  send time (not its arrival). Times outside the window are clamped to its ends: the
   *  caller records only messages whose intended time is inside it. */
  record(intended: number, valueUs: number): void {
    // Divided, not multiplied by 1 / sliceMs: that reciprocal is rounded, and a time on a
    // boundary (49 ms into 49 ms slices) would fall into the slice before.
    let i = Math.floor((intended - this.#from) / this.#sliceMs);
    if (i > this.#last) i = this.#last;
    else if (i < 0) i = 0;
    let s = this.#slices[i];
    if (s == null) this.#slices[i] = s = new Slice();
    s.add(valueUs);
  }

  /** A message intended to be sent at `intended` and done at `now` (ms, the same clock):
   *  counts its latency (µs, at least 1) in the slice of its intended time, not of `now`,
   *  and returns it (for the run's own histogram). */
  recordSince(intended: number, now: number): number {
    const us = Math.max(1, Math.round((now - intended) * 1000));
    this.record(intended, us);
    return us;
  }

  /** Each slice's histogram, compressed base64 (what RunStats carries); null for a slice
   *  with nothing in it. */
  encode(): (string | null)[] {
    return this.#slices.map((s) => (s === null ? null : hdr.encodeIntoCompressedBase64(s.histogram())));
  }
}

/** The JSON's `timeline` of a row: equal-length arrays, one entry per slice. */
export interface Timeline {
  /** The slice's length (ms); more than --slice-ms when the window needed more than
   *  MAX_SLICES of those. */
  slice_ms: number;
  /** Each slice's start, ms from the start of the measured window. */
  t_ms: number[];
  /** Deliveries (latency samples) of the messages intended to be sent in the slice. */
  delivered: number[];
  /** Their latency (ms); null for a slice without deliveries. */
  p50_ms: (number | null)[];
  p99_ms: (number | null)[];
  max_ms: (number | null)[];
  /** Rate mode: the p99 of how late the slice's sends left the generator (ms). */
  send_lag_p99_ms?: (number | null)[];
}

const ms = (us: number): number => Math.round(us) / 1000;

/** Merges the threads' slices (each a list from SliceRecorder.encode(), all of the same
 *  length) slice by slice; `lag` (rate mode) likewise for the send lag. */
export function mergeTimeline(sliceMs: number, latency: readonly (readonly (string | null)[])[], lag: readonly (readonly (string | null)[])[] | null = null): Timeline {
  const n = Math.max(0, ...latency.map((l) => l.length), ...(lag ?? []).map((l) => l.length));
  const merge = (all: readonly (readonly (string | null)[])[], i: number): hdr.Histogram | null => {
    let out: hdr.Histogram | null = null;
    for (const one of all) {
      const enc = one[i];
      if (enc == null) continue;
      out ??= sliceHistogram();
      out.add(hdr.decodeFromCompressedBase64(enc, 32, false));
    }
    return out;
  };
  const tl: Timeline = { slice_ms: sliceMs, t_ms: [], delivered: [], p50_ms: [], p99_ms: [], max_ms: [], ...(lag !== null ? { send_lag_p99_ms: [] } : {}) };
  for (let i = 0; i < n; i++) {
    const h = merge(latency, i);
    const count = h?.totalCount ?? 0;
    tl.t_ms.push(i * sliceMs);
    tl.delivered.push(count);
    tl.p50_ms.push(h === null || count === 0 ? null : ms(h.getValueAtPercentile(50)));
    tl.p99_ms.push(h === null || count === 0 ? null : ms(h.getValueAtPercentile(99)));
    tl.max_ms.push(h === null || count === 0 ? null : ms(h.maxValue));
    if (lag !== null) {
      const l = merge(lag, i);
      tl.send_lag_p99_ms!.push(l === null || l.totalCount === 0 ? null : ms(l.getValueAtPercentile(99)));
    }
  }
  return tl;
}

/** The slice with the highest p99 (the first of equals), or null when none has one. */
export function worstSlice(tl: Timeline): { index: number; t_ms: number; p99_ms: number; max_ms: number | null; send_lag_p99_ms: number | null } | null {
  let best = -1;
  for (let i = 0; i < tl.p99_ms.length; i++) {
    const v = tl.p99_ms[i];
    if (v != null && (best < 0 || v > tl.p99_ms[best]!)) best = i;
  }
  if (best < 0) return null;
  return { index: best, t_ms: tl.t_ms[best]!, p99_ms: tl.p99_ms[best]!, max_ms: tl.max_ms[best] ?? null, send_lag_p99_ms: tl.send_lag_p99_ms?.[best] ?? null };
}

/** The table's words for the worst slice: "worst 250 ms slice: p99 12.3 ms at t=4.25 s"
 *  (rate mode: with that slice's send lag p99). */
export function worstSliceText(tl: Timeline): string | null {
  const w = worstSlice(tl);
  if (w === null) return null;
  const lag = w.send_lag_p99_ms !== null ? `, send lag p99 ${fmtMs(w.send_lag_p99_ms)} ms there` : '';
  return `worst ${tl.slice_ms.toLocaleString('en-US')} ms slice: p99 ${fmtMs(w.p99_ms)} ms at t=${Number((w.t_ms / 1000).toFixed(2))} s${lag}`;
}

function fmtMs(v: number): string {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
