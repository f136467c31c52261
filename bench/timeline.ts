// Latency over time (`--slice-ms`): the measured window of a chat, fanout or fixed-rate
// run cut into slices, each message counted in the slice of its *intended* send time
// (the time its latency counts from), so a stall shows where it hit, not where the
// backlog it caused cleared. Per slice: deliveries, p50, p99 and max latency, and in
// rate mode the generator's send-lag p99 (a spike there too means the generator was
// late, not the system).
//
// Each generator thread keeps each slice's values in a log-bucketed histogram of its own
// (SliceHist: 256 buckets per power of two, exact below 512 µs; its counts 1, 2 or 4
// bytes wide as they need; the exact count, min and max), ships each as a short
// base64 string with the run's other figures, and the main thread adds the threads'
// buckets up slice by slice (mergeTimeline): every thread buckets alike, so the merge is
// exactly the histogram one thread holding all the values would have. What it reports:
// counts and max exact, p50 and p99 within PRECISION (1/512, 0.2%) of the exact
// nearest-rank percentile of the slice's values. Pure functions and classes; no I/O.

export const DEFAULT_SLICE_MS = 250;
export const MIN_SLICE_MS = 10;
export const MAX_SLICE_MS = 10_000;
/** Slices per run at most: each is up to two per generator thread (latency, and send
 *  lag in rate mode). A slice holds one byte per bucket of the values' span (256 buckets
 *  per power of two: ~2.8 KB for latencies spread over 0.5-500 ms), two or four bytes once
 *  a bucket holds more than 255 or 65,535 values, whatever the number of values.
 *  Measured with bench/timeline-memory.ts, 1,000 slices in one thread (docs/BENCHMARKS.md
 *  "Latency over time"). A longer window takes a larger slice (effectiveSliceMs), said in
 *  the JSON's meta. */
export const MAX_SLICES = 1_000;

/** log2 of the buckets per power of two: a value v >= 2^(SUB_BITS + 1) µs falls in a
 *  bucket 2^(floor(log2 v) - SUB_BITS) wide, at most 1/256 of its lower end; smaller
 *  values each have a bucket of their own. */
export const SUB_BITS = 8;
const SUB = 1 << SUB_BITS;
/** A reported percentile's largest distance from the exact one, relative to it: a bucket's
 *  middle (rounded to a whole µs, clamped to the slice's min and max) is at most half its
 *  width from any value in it, 2^-(SUB_BITS + 1) of the value. */
export const PRECISION = 1 / (2 * SUB);

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

/** The bucket of a whole number of µs (>= 0). */
export function bucketOf(v: number): number {
  if (v < 2 * SUB) return v;
  if (v < 2 ** 32) {
    const s = 31 - Math.clz32(v) - SUB_BITS;
    return ((s + 1) << SUB_BITS) + (v >>> s) - SUB;
  }
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e--;
  else if (2 ** (e + 1) <= v) e++;
  const s = e - SUB_BITS;
  return (s + 1) * SUB + Math.floor(v / 2 ** s) - SUB;
}

/** A bucket's lowest value and width (µs). */
export function bucketRange(i: number): [low: number, width: number] {
  const k = Math.floor(i / SUB);
  if (k <= 1) return [i, 1];
  const w = 2 ** (k - 1);
  return [(SUB + (i % SUB)) * w, w];
}

type Counts = Uint8Array | Uint16Array | Uint32Array;
/** Room a slice's buckets grow by past the one that needed it (a quarter of a power of
 *  two), so a slice whose values spread out reallocates a bounded number of times. */
const GROW = SUB / 4;

/** One slice's values: the count, min and max exactly, and a count per bucket for the
 *  buckets from the lowest to the highest it holds (with up to GROW more either side),
 *  one byte each until a bucket would pass 255, then two, then four. */
export class SliceHist {
  n = 0;
  min = Infinity;
  max = 0;
  /** The bucket of counts[0]. */
  lo = 0;
  counts: Counts | null = null;

  /** Counts a latency in µs: a whole number (another is rounded), at least 0. */
  add(value: number): void {
    const v = (value >>> 0) === value ? value : Math.max(0, Math.round(value));
    const i = bucketOf(v);
    let c = this.counts;
    let j = i - this.lo;
    if (c === null || j < 0 || j >= c.length) {
      c = this.#cover(i);
      j = i - this.lo;
    }
    const x = c[j]! + 1;
    if ((c.BYTES_PER_ELEMENT === 1 && x > 0xff) || (c.BYTES_PER_ELEMENT === 2 && x > 0xffff)) c = this.#widen();
    c[j] = x;
    this.n++;
    if (v > this.max) this.max = v;
    if (v < this.min) this.min = v;
  }

  /** Counts another slice's values in this one (the same buckets: exact). */
  addAll(o: { n: number; min: number; max: number; lo: number; counts: ArrayLike<number> | null }): void {
    if (o.n === 0 || o.counts === null) return;
    let first = -1;
    let last = -1;
    for (let j = 0; j < o.counts.length; j++) {
      if (o.counts[j] !== 0) {
        if (first < 0) first = j;
        last = j;
      }
    }
    if (first < 0) return;
    this.#cover(o.lo + first);
    this.#cover(o.lo + last);
    for (let j = first; j <= last; j++) {
      const add = o.counts[j]!;
      if (add === 0) continue;
      let c = this.counts!;
      const k = o.lo + j - this.lo;
      const x = c[k]! + add;
      while ((c.BYTES_PER_ELEMENT === 1 && x > 0xff) || (c.BYTES_PER_ELEMENT === 2 && x > 0xffff)) c = this.#widen();
      c[k] = x;
    }
    this.n += o.n;
    if (o.max > this.max) this.max = o.max;
    if (o.min < this.min) this.min = o.min;
  }

  /** Bytes its counts take. */
  get bytes(): number {
    return this.counts?.byteLength ?? 0;
  }

  /** The nearest-rank p-th percentile (0 < p <= 100) in µs: the middle of the bucket
   *  holding the value of rank ceil(p% of n), rounded, within [min, max]; null when
   *  empty. */
  percentile(p: number): number | null {
    const c = this.counts;
    if (this.n === 0 || c === null) return null;
    const rank = Math.max(1, Math.ceil((p * this.n) / 100));
    let seen = 0;
    for (let j = 0; j < c.length; j++) {
      seen += c[j]!;
      if (seen >= rank) {
        const [low, w] = bucketRange(this.lo + j);
        return Math.min(this.max, Math.max(this.min, Math.round(low + (w - 1) / 2)));
      }
    }
    return this.max;
  }

  /** Makes counts cover bucket i; returns them. */
  #cover(i: number): Counts {
    const c = this.counts;
    if (c === null) {
      this.lo = Math.max(0, i - GROW);
      this.counts = new Uint8Array(i - this.lo + GROW + 1);
      return this.counts;
    }
    const hi = this.lo + c.length;
    if (i >= this.lo && i < hi) return c;
    const lo = i < this.lo ? Math.max(0, i - GROW) : this.lo;
    const end = i >= hi ? i + GROW + 1 : hi;
    const more = new (c.constructor as new (n: number) => Counts)(end - lo);
    more.set(c, this.lo - lo);
    this.lo = lo;
    this.counts = more;
    return more;
  }

  /** The counts one size wider (8 -> 16 -> 32 bits). */
  #widen(): Counts {
    const c = this.counts!;
    const wide = c.BYTES_PER_ELEMENT === 1 ? new Uint16Array(c.length) : new Uint32Array(c.length);
    wide.set(c);
    this.counts = wide;
    return wide;
  }

  /** Base64 of: a version byte (1), then n, min, max, the first bucket held and the
   *  counts from it to the last non-zero one, each an unsigned LEB128 number, a run of
   *  empty buckets written as 0 and its length. */
  encode(): string {
    const out: number[] = [1];
    const put = (x: number): void => {
      while (x >= 0x80) {
        out.push((x % 0x80) | 0x80);
        x = Math.floor(x / 0x80);
      }
      out.push(x);
    };
    const c = this.counts;
    let first = 0;
    let last = -1;
    if (c !== null) {
      while (first < c.length && c[first] === 0) first++;
      last = c.length - 1;
      while (last >= first && c[last] === 0) last--;
    }
    put(this.n);
    put(this.n === 0 ? 0 : this.min);
    put(this.max);
    put(this.lo + (last >= first ? first : 0));
    for (let j = first; j <= last; j++) {
      const x = c![j]!;
      if (x !== 0) { put(x); continue; }
      let run = 1;
      while (c![j + run] === 0) run++;
      put(0);
      put(run);
      j += run - 1;
    }
    return Buffer.from(out).toString('base64');
  }

  /** The slice encode() wrote. */
  static decode(enc: string): SliceHist {
    const b = Buffer.from(enc, 'base64');
    if (b[0] !== 1) throw new Error(`timeline slice: unknown encoding ${b[0]}`);
    let at = 1;
    const get = (): number => {
      let x = 0;
      let mul = 1;
      for (;;) {
        if (at >= b.length) throw new Error('timeline slice: truncated');
        const byte = b[at++]!;
        x += (byte & 0x7f) * mul;
        if (byte < 0x80) return x;
        mul *= 0x80;
      }
    };
    const h = new SliceHist();
    const n = get();
    const min = get();
    const max = get();
    const lo = get();
    const counts: number[] = [];
    while (at < b.length) {
      const x = get();
      if (x !== 0) counts.push(x);
      else for (let run = get(); run > 0; run--) counts.push(0);
    }
    h.addAll({ n, min, max, lo, counts });
    return h;
  }
}

/** A generator thread's slices of one run (each a SliceHist), one per slice of the
 *  measured window [from, from + slices × sliceMs), in the clock of the times given to
 *  record(). */
export class SliceRecorder {
  readonly #from: number;
  readonly #sliceMs: number;
  readonly #last: number;
  readonly #slices: (SliceHist | null)[];

  constructor(from: number, sliceMs: number, slices: number) {
    this.#from = from;
    this.#sliceMs = sliceMs;
    this.#last = slices - 1;
    this.#slices = new Array<SliceHist | null>(slices).fill(null);
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
    if (s == null) this.#slices[i] = s = new SliceHist();
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

  /** Bytes the slices' counts take (what grows with the values; each slice object adds
   *  ~100 more). */
  get bytes(): number {
    let n = 0;
    for (const s of this.#slices) n += s?.bytes ?? 0;
    return n;
  }

  /** Each slice encoded (SliceHist.encode, what RunStats carries); null for a slice with
   *  nothing in it. */
  encode(): (string | null)[] {
    return this.#slices.map((s) => (s === null ? null : s.encode()));
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
  const merge = (all: readonly (readonly (string | null)[])[], i: number): SliceHist | null => {
    let out: SliceHist | null = null;
    for (const one of all) {
      const enc = one[i];
      if (enc == null) continue;
      out ??= new SliceHist();
      out.addAll(SliceHist.decode(enc));
    }
    return out;
  };
  const tl: Timeline = { slice_ms: sliceMs, t_ms: [], delivered: [], p50_ms: [], p99_ms: [], max_ms: [], ...(lag !== null ? { send_lag_p99_ms: [] } : {}) };
  for (let i = 0; i < n; i++) {
    const h = merge(latency, i);
    const count = h?.n ?? 0;
    tl.t_ms.push(i * sliceMs);
    tl.delivered.push(count);
    tl.p50_ms.push(h === null || count === 0 ? null : ms(h.percentile(50)!));
    tl.p99_ms.push(h === null || count === 0 ? null : ms(h.percentile(99)!));
    tl.max_ms.push(h === null || count === 0 ? null : ms(h.max));
    if (lag !== null) {
      const l = merge(lag, i);
      tl.send_lag_p99_ms!.push(l === null || l.n === 0 ? null : ms(l.percentile(99)!));
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
