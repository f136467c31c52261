// The latency timeline (bench/timeline.ts, --slice-ms): each message counts in the slice
// of its intended send time, the generator threads' slices merge slice by slice, the
// JSON's arrays have one entry per slice, a long window takes a larger slice, and the
// flag is bounded like the other numeric flags. Pure functions and the command's own
// parsing only: no I/O.
import t from 'tap';
import { DEFAULT_SLICE_MS, MAX_SLICES, PRECISION, SliceHist, SliceRecorder, bucketOf, bucketRange, effectiveSliceMs, mergeTimeline, sliceCount, worstSlice, worstSliceText } from '../../bench/timeline.ts';
import { parseBenchArgs } from '../helpers/bench-cli.ts';

const ARRAYS = ['t_ms', 'delivered', 'p50_ms', 'p99_ms', 'max_ms'] as const;

t.test('a message counts in the slice of its intended send time, not of its arrival', async (t) => {
  // the window starts at 10,000 (performance.now() ms); 2 s of 250 ms slices
  const r = new SliceRecorder(10_000, 250, 8);
  // intended at 0.9 s into the window, delivered at 1.6 s: 700 ms of latency
  const intended = 10_900;
  const arrived = 11_600;
  t.equal(r.recordSince(intended, arrived), 700_000, 'its latency in µs, for the run\'s histogram');
  const tl = mergeTimeline(250, [r.encode()]);
  t.same(tl.t_ms, [0, 250, 500, 750, 1000, 1250, 1500, 1750]);
  t.same(tl.delivered, [0, 0, 0, 1, 0, 0, 0, 0], 'in the slice of 0.9 s (750-1000 ms), not of 1.6 s');
  t.ok(Math.abs(tl.p99_ms[3]! - 700) < 1, `its latency ${tl.p99_ms[3]} ms`);
  t.equal(tl.max_ms[3], tl.p99_ms[3]);
  t.equal(tl.p99_ms[6], null, 'a slice without deliveries has no percentiles');
  // boundaries: a slice holds [start, end)
  const b = new SliceRecorder(0, 250, 4);
  b.record(0, 1_000);
  b.record(249.999, 1_000);
  b.record(250, 1_000);
  b.record(999.999, 1_000);
  t.same(mergeTimeline(250, [b.encode()]).delivered, [2, 1, 0, 1]);
  t.equal(b.recordSince(100, 100), 1, 'at least 1 µs');
});

t.test('a time on a slice boundary starts that slice (none rounded into the slice before)', async (t) => {
  // 49 ms slices: 49 × (1 / 49) is 0.999..., so multiplying by the reciprocal put a
  // message due exactly 49 ms into the window into slice 0.
  const r = new SliceRecorder(0, 49, 4);
  for (const at of [0, 49, 98, 147]) r.record(at, 1_000);
  t.same(mergeTimeline(49, [r.encode()]).delivered, [1, 1, 1, 1], 'one in each slice');
  // Every boundary of a few slice lengths whose reciprocal rounds down (49, 103, 107,
  // 161 ms), and of 250 ms, the default.
  for (const sliceMs of [49, 103, 107, 161, 250]) {
    const n = 1_000;
    const all = new SliceRecorder(0, sliceMs, n);
    for (let k = 0; k < n; k++) all.record(k * sliceMs, 1_000);
    const off = mergeTimeline(sliceMs, [all.encode()]).delivered.flatMap((c, k) => (c === 1 ? [] : [k]));
    t.same(off, [], `${sliceMs} ms: each boundary in its own slice`);
  }
});

t.test('the threads\' slices merge slice by slice', async (t) => {
  const a = new SliceRecorder(0, 100, 5);
  const b = new SliceRecorder(0, 100, 5);
  for (let i = 0; i < 99; i++) a.record(50, 1_000);        // slice 0: 99 × 1 ms
  b.record(60, 80_000);                                     // slice 0: one of 80 ms
  b.record(420, 5_000);                                     // slice 4: only in b
  const tl = mergeTimeline(100, [a.encode(), b.encode()]);
  t.same(tl.delivered, [100, 0, 0, 0, 1]);
  t.ok(Math.abs(tl.p50_ms[0]! - 1) < 0.01, `p50 of slice 0 is the 1 ms of a (${tl.p50_ms[0]})`);
  t.ok(Math.abs(tl.max_ms[0]! - 80) < 0.1, `its max is b's 80 ms (${tl.max_ms[0]})`);
  t.ok(Math.abs(tl.p99_ms[0]! - 1) < 0.01, 'p99 of 100 samples with one outlier: the 99th');
  t.ok(Math.abs(tl.p99_ms[4]! - 5) < 0.01);
  t.equal(tl.send_lag_p99_ms, undefined, 'no send lag without lag histograms (max-rate)');
});

t.test('arrays of equal length, with the send lag in rate mode', async (t) => {
  const lat = [new SliceRecorder(0, 250, 40), new SliceRecorder(0, 250, 40)];
  const lag = [new SliceRecorder(0, 250, 40), new SliceRecorder(0, 250, 40)];
  for (let ms = 0; ms < 10_000; ms += 7) {
    lat[ms % 2]!.record(ms, 2_000 + (ms % 13));
    lag[ms % 2]!.record(ms, ms >= 5_000 && ms < 5_250 ? 40_000 : 100);
  }
  const tl = mergeTimeline(250, lat.map((r) => r.encode()), lag.map((r) => r.encode()));
  for (const k of ARRAYS) t.equal(tl[k].length, 40, `${k}: 40 slices`);
  t.equal(tl.send_lag_p99_ms?.length, 40, 'send_lag_p99_ms: 40 slices');
  t.ok(tl.send_lag_p99_ms![20]! > 30 && tl.send_lag_p99_ms![19]! < 1, 'the late generator shows in the slice at 5 s');
  t.equal(tl.delivered.reduce((a, b) => a + b, 0), Math.ceil(10_000 / 7), 'every sample counted once');
});

t.test('the worst slice: highest p99, the first of equals; its words for the table', async (t) => {
  const r = new SliceRecorder(0, 250, 8);
  for (let s = 0; s < 8; s++) r.record(s * 250 + 1, s === 3 ? 74_000 : 1_500);
  const tl = mergeTimeline(250, [r.encode()], [r.encode()]);
  const w = worstSlice(tl)!;
  t.equal(w.index, 3);
  t.equal(w.t_ms, 750);
  t.match(worstSliceText(tl), /^worst 250 ms slice: p99 7\d\.\d ms at t=0\.75 s, send lag p99 7\d\.\d ms there$/);
  const flat = mergeTimeline(250, [new SliceRecorder(0, 250, 2).encode()]);
  t.equal(worstSlice(flat), null, 'none without deliveries');
  t.equal(worstSliceText(flat), null);
  const two = new SliceRecorder(0, 1000, 3);
  two.record(1500, 2_000);
  two.record(2500, 2_000);
  t.match(worstSliceText(mergeTimeline(1000, [two.encode()])), /^worst 1,000 ms slice: p99 2\.00 ms at t=1 s$/, 'the first of equals; no send lag at max rate');
});

/** mulberry32: a seeded uniform 32-bit generator (the same cases every run). */
function rng(seed: number): () => number {
  let x = seed | 0;
  return () => {
    x = (x + 0x6d2b79f5) | 0;
    let z = Math.imul(x ^ (x >>> 15), x | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  };
}

/** Latencies (µs) of a few shapes: uniform 0.5-500 ms, log-uniform 1 µs-10 s, a narrow
 *  1-5 ms band, below 512 µs (bucketed exactly), a narrow band with a few stalls of
 *  100 ms-2 s, and now and then one past 32 bits. */
function sample(next: () => number, shape: number): number {
  const u = next() / 2 ** 32;
  switch (shape) {
    case 0: return 500 + (next() % 499_500);
    case 1: return Math.max(1, Math.round(10 ** (7 * u)));
    case 2: return 1_000 + (next() % 4_000);
    case 3: return 1 + (next() % 511);
    case 4: return u < 0.02 ? 100_000 + (next() % 1_900_000) : 800 + (next() % 400);
    default: return u < 0.001 ? 2 ** 32 + (next() % 2 ** 20) : 500 + (next() % 5_000_000);
  }
}

/** The exact nearest-rank p-th percentile of `sorted` (ascending). */
function exact(sorted: readonly number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p * sorted.length) / 100)) - 1]!;
}

const ms = (us: number): number => Math.round(us) / 1000;

t.test('buckets: exact below 512 µs, then 256 per power of two, each at most 1/256 of its values wide', async (t) => {
  t.equal(PRECISION, 1 / 512);
  for (const v of [0, 1, 2, 255, 256, 511]) t.same(bucketRange(bucketOf(v)), [v, 1], `${v} µs has a bucket of its own`);
  let bad = 0;
  const next = rng(11);
  const values = [512, 513, 1023, 1024, 1025, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 12_345, 2 ** 52 + 3];
  for (let k = 0; k < 20_000; k++) values.push(next() >>> (next() % 32), next() * 2 ** (next() % 21));
  for (const v of values) {
    const i = bucketOf(v);
    const [low, w] = bucketRange(i);
    // in its bucket, the bucket at most 1/256 of its low end wide, buckets in order
    if (!(low <= v && v < low + w && w <= Math.max(1, low / 256) && bucketOf(low) === i && bucketOf(low + w) === i + 1)) bad++;
  }
  t.equal(bad, 0, `${values.length} values each in a bucket of the stated width`);
});

t.test('property: p50, p99 within PRECISION of the exact percentiles, count and max exact, on random data', async (t) => {
  const next = rng(2026);
  let cases = 0;
  const off: string[] = [];
  let worst = 0;
  for (let c = 0; c < 240; c++) {
    const shape = c % 6;
    // 1 to 20,000 values; some slices large enough for 16-bit counts
    const n = c % 10 === 0 ? 1 + (next() % 3) : 1 + (next() % (c % 7 === 0 ? 20_000 : 2_000));
    const r = new SliceRecorder(0, 100, 1);
    const vals: number[] = [];
    for (let k = 0; k < n; k++) {
      const v = sample(next, shape);
      vals.push(v);
      r.record(50, v);
    }
    vals.sort((a, b) => a - b);
    const tl = mergeTimeline(100, [r.encode()]);
    cases++;
    if (tl.delivered[0] !== n) off.push(`case ${c}: delivered ${tl.delivered[0]} of ${n}`);
    if (tl.max_ms[0] !== ms(vals[n - 1]!)) off.push(`case ${c}: max ${tl.max_ms[0]} for ${ms(vals[n - 1]!)}`);
    for (const [p, got] of [[50, tl.p50_ms[0]], [99, tl.p99_ms[0]]] as const) {
      const want = exact(vals, p);
      const err = Math.abs(got! * 1000 - want);
      worst = Math.max(worst, err / want);
      if (err > want * PRECISION + 1e-6 || (want < 512 && got !== ms(want))) off.push(`case ${c} (shape ${shape}, n ${n}): p${p} ${got} ms for ${ms(want)} ms`);
    }
  }
  t.same(off, [], `${cases} random slices within ${PRECISION} (worst ${worst.toFixed(5)})`);
});

t.test('property: the threads\' slices merge exactly, as one thread holding every value would have them', async (t) => {
  const next = rng(99);
  const off: string[] = [];
  for (let c = 0; c < 60; c++) {
    const threads = 1 + (c % 8);
    const slices = 1 + (next() % 6);
    const one = new SliceRecorder(0, 100, slices);
    const lagOne = new SliceRecorder(0, 100, slices);
    const each = Array.from({ length: threads }, () => new SliceRecorder(0, 100, slices));
    const lagEach = Array.from({ length: threads }, () => new SliceRecorder(0, 100, slices));
    const n = next() % 3_000;
    for (let k = 0; k < n; k++) {
      const at = next() % (slices * 100);
      const v = sample(next, (c + k) % 6);
      const lag = sample(next, 3);
      const th = next() % threads;
      one.record(at, v);
      each[th]!.record(at, v);
      lagOne.record(at, lag);
      lagEach[th]!.record(at, lag);
    }
    const merged = mergeTimeline(100, each.map((r) => r.encode()), lagEach.map((r) => r.encode()));
    const whole = mergeTimeline(100, [one.encode()], [lagOne.encode()]);
    // and in another order of the threads
    const reversed = mergeTimeline(100, each.map((r) => r.encode()).reverse(), lagEach.map((r) => r.encode()).reverse());
    if (JSON.stringify(merged) !== JSON.stringify(whole) || JSON.stringify(reversed) !== JSON.stringify(whole)) off.push(`case ${c}: ${threads} threads, ${slices} slices, ${n} values`);
  }
  t.same(off, [], '60 random runs over 1-8 threads: merged timeline identical to one recorder\'s');
  // The merged histogram itself: the same counts in the same buckets.
  const a = new SliceHist();
  const b = new SliceHist();
  const all = new SliceHist();
  for (let k = 0; k < 5_000; k++) {
    const v = sample(next, k % 6);
    (k % 3 === 0 ? a : b).add(v);
    all.add(v);
  }
  const m = SliceHist.decode(a.encode());
  m.addAll(SliceHist.decode(b.encode()));
  t.equal(m.encode(), all.encode(), 'decode(a) + decode(b) encodes as one slice of all the values');
});

t.test('a slice\'s storage is bounded by the span of its values, not their number', async (t) => {
  // 100 slices of 0.5-500 ms latencies: 1,000 values a slice, then 50,000
  const held = (perSlice: number): number => {
    const next = rng(5);
    const r = new SliceRecorder(0, 1, 100);
    for (let s = 0; s < 100; s++) for (let k = 0; k < perSlice; k++) r.record(s + 0.5, 500 + (next() % 499_500));
    return r.bytes;
  };
  const small = held(1_000);
  const large = held(50_000);
  // 11 powers of two (256 µs .. 512 ms) of 256 one-byte buckets, and GROW either side
  const bound = 100 * (11 * 256 + 2 * 64);
  t.ok(large <= bound, `50,000 values a slice: ${large / 100} B a slice`);
  t.ok(small <= bound, `1,000 values a slice: ${small / 100} B a slice, the same bound`);
});

t.test('counts widen as they need: no count wraps at 255 or 65,535', async (t) => {
  const r = new SliceRecorder(0, 100, 3);
  for (let k = 0; k < 300; k++) r.record(0, 2_000);
  for (let k = 0; k < 70_000; k++) r.record(100, 2_000);
  for (let k = 0; k < 70_000; k++) r.record(200, k % 2 === 0 ? 2_000 : 9_000_000);
  const tl = mergeTimeline(100, [r.encode()]);
  t.same(tl.delivered, [300, 70_000, 70_000]);
  t.same(tl.p50_ms.slice(0, 2), [2, 2], 'all equal: the bucket held within min and max, the value itself');
  t.ok(Math.abs(tl.p50_ms[2]! - 2) <= 2 * PRECISION, `p50 ${tl.p50_ms[2]} ms`);
  t.same(tl.max_ms, [2, 2, 9000]);
  t.ok(Math.abs(tl.p99_ms[2]! - 9000) <= 9000 * PRECISION, `p99 ${tl.p99_ms[2]} ms`);
  // and the same counts once merged with another thread's
  const merged = mergeTimeline(100, [r.encode(), r.encode()]);
  t.same(merged.delivered, [600, 140_000, 140_000]);
});

t.test('a slice\'s encoding: values past 32 bits, empty runs, a damaged string refused', async (t) => {
  const h = new SliceHist();
  for (const v of [1, 511, 512, 700_000, 2 ** 32 + 5, 2 ** 40, 3.6e9]) h.add(v);
  const d = SliceHist.decode(h.encode());
  t.equal(d.n, 7);
  t.equal(d.min, 1);
  t.equal(d.max, 2 ** 40, 'the max exactly, past 32 bits');
  t.equal(d.percentile(50), h.percentile(50));
  t.equal(d.encode(), h.encode(), 'encodes as it was');
  t.throws(() => SliceHist.decode(Buffer.from([2, 1, 1]).toString('base64')), /unknown encoding/);
  t.throws(() => SliceHist.decode(Buffer.from([1, 0x80]).toString('base64')), /truncated/);
});

t.test('a window of more than MAX_SLICES slices takes the smallest multiple of the slice that fits', async (t) => {
  t.equal(DEFAULT_SLICE_MS, 250);
  t.equal(effectiveSliceMs(10_000, 250), 250);
  t.equal(sliceCount(10_000, 250), 40);
  t.equal(sliceCount(10_000, 300), 34, 'the last slice shorter');
  t.equal(effectiveSliceMs(MAX_SLICES * 250, 250), 250, 'exactly MAX_SLICES: as asked');
  t.equal(effectiveSliceMs(600_000, 250), 750, '600 s: 2,400 slices of 250 ms would be too many');
  t.equal(effectiveSliceMs(600_000, 10), 600);
  for (const [w, s] of [[600_000, 250], [600_000, 10], [20_000, 10], [123_456, 17]] as const) {
    const e = effectiveSliceMs(w, s);
    t.ok(sliceCount(w, e) <= MAX_SLICES && e % s === 0 && (e === s || sliceCount(w, e - s) > MAX_SLICES), `${w} ms / ${s} ms: ${e} ms`);
  }
});

t.test('--slice-ms: 250 by default, a whole number of ms from 10 to 10,000', async (t) => {
  t.equal((parseBenchArgs([]) as Record<string, unknown>)['sliceMs'], 250);
  t.equal((parseBenchArgs(['--slice-ms', '10']) as Record<string, unknown>)['sliceMs'], 10);
  t.equal((parseBenchArgs(['--slice-ms', '10000']) as Record<string, unknown>)['sliceMs'], 10_000);
  for (const bad of ['9', '10001', '0', '-250', '2.5', 'abc', '']) {
    t.match(parseBenchArgs(['--slice-ms', bad]), /--slice-ms <ms>' argument '.*' is invalid\. must be a whole number of milliseconds from 10 to 10000/, `"${bad}" refused`);
  }
});
