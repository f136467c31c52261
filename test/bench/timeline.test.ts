// The latency timeline (bench/timeline.ts, --slice-ms): each message counts in the slice
// of its intended send time, the generator threads' slices merge slice by slice, the
// JSON's arrays have one entry per slice, a long window takes a larger slice, and the
// flag is bounded like the other numeric flags. Pure functions and the command's own
// parsing only: no I/O.
import t from 'tap';
import * as hdr from 'hdr-histogram-js';
import { DEFAULT_SLICE_MS, MAX_SLICES, RAW_VALUES, SliceRecorder, effectiveSliceMs, mergeTimeline, sliceCount, worstSlice, worstSliceText } from '../../bench/timeline.ts';
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

t.test('a slice keeps its values as they are up to RAW_VALUES, then a histogram: the same figures either way', async (t) => {
  t.equal(RAW_VALUES, 1_024);
  // One slice per count around each change of storage: the values kept as they are
  // (up to 1,024), a 16-bit histogram (up to 32,767), a 32-bit one beyond.
  const counts = [1, RAW_VALUES - 1, RAW_VALUES, RAW_VALUES + 1, 5_000, 32_766, 32_767, 32_768, 70_000];
  const r = new SliceRecorder(0, 100, counts.length);
  const refs = counts.map(() => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false }));
  let x = 7;
  counts.forEach((n, i) => {
    for (let k = 0; k < n; k++) {
      x = (x * 1103515245 + 12345) >>> 0;
      // 0.5-500 ms, and now and then one past 32 bits of µs (kept as a histogram)
      const us = k === n - 1 && i === 1 ? 2 ** 32 + 5 : 500 + (x % 499_500);
      r.record(i * 100 + 50, us);
      refs[i]!.recordValue(us);
    }
  });
  const tl = mergeTimeline(100, [r.encode()]);
  const ms = (us: number): number => Math.round(us) / 1000;
  t.same(tl.delivered, counts, 'every value counted');
  t.same(tl.p50_ms, refs.map((h) => ms(h.getValueAtPercentile(50))), 'p50 as one histogram of the values');
  t.same(tl.p99_ms, refs.map((h) => ms(h.getValueAtPercentile(99))), 'p99 likewise');
  t.same(tl.max_ms, refs.map((h) => ms(hdr.decodeFromCompressedBase64(hdr.encodeIntoCompressedBase64(h)).maxValue)), 'max likewise');
});

t.test('a slice of more than 32,767 equal values counts them all (no 16-bit count wraps)', async (t) => {
  const r = new SliceRecorder(0, 100, 1);
  for (let k = 0; k < 70_000; k++) r.record(0, 2_000);
  const tl = mergeTimeline(100, [r.encode()]);
  t.equal(tl.delivered[0], 70_000);
  t.equal(tl.p50_ms[0], 2);
  t.equal(tl.max_ms[0], 2);
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
