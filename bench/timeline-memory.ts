// What a generator thread's latency timeline holds in memory: one SliceRecorder of
// --slices slices (default 1,000, MAX_SLICES), each given --values values (default
// 50,000), then the heap and array buffers measured after a full GC, less what they were
// before. docs/BENCHMARKS.md "Latency over time" quotes its figures.
//
//   node --import tsx bench/timeline-memory.ts [--slices N] [--values N] [--dist wide|narrow] [--module PATH]
//
// --dist wide: latencies uniform over 0.5-500 ms (every slice spans 10 octaves, the case
// that costs a log-bucketed slice most); narrow: 1-5 ms. --module PATH: another
// timeline.ts with the same SliceRecorder (an older commit's, `git show
// 4ff45a2:bench/timeline.ts > .scratch/old-timeline.ts`: inside the repository, where
// its imports resolve), to measure before and after.
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Recorder { record(intended: number, valueUs: number): void; encode(): (string | null)[] }

const { values: opts } = parseArgs({
  options: {
    slices: { type: 'string', default: '1000' },
    values: { type: 'string', default: '50000' },
    dist: { type: 'string', default: 'wide' },
    module: { type: 'string' },
  },
});
const slices = Number(opts.slices);
const perSlice = Number(opts.values);
if (!Number.isInteger(slices) || slices < 1 || !Number.isInteger(perSlice) || perSlice < 1) throw new Error('--slices and --values take whole numbers >= 1');
const [lo, span] = opts.dist === 'wide' ? [500, 499_500] : opts.dist === 'narrow' ? [1_000, 4_000] : (() => { throw new Error('--dist wide|narrow'); })();
const mod = (await import(opts.module !== undefined ? pathToFileURL(resolve(opts.module)).href : './timeline.ts')) as { SliceRecorder: new (from: number, sliceMs: number, n: number) => Recorder };

const used = (): number => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const before = used();
const r = new mod.SliceRecorder(0, 1, slices);
// mulberry32: a uniform 32-bit generator, seeded (the same values every time)
let x = 7;
const next = (): number => {
  x = (x + 0x6d2b79f5) | 0;
  let z = Math.imul(x ^ (x >>> 15), x | 1);
  z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
  return (z ^ (z >>> 14)) >>> 0;
};
const t0 = performance.now();
// Slice by slice, as a run fills them (each slice's values arrive while it is current).
for (let s = 0; s < slices; s++) {
  for (let k = 0; k < perSlice; k++) {
    r.record(s + 0.5, lo + (next() % span));
  }
}
const recordNs = ((performance.now() - t0) * 1e6) / (slices * perSlice);
const after = used();
const t1 = performance.now();
const enc = r.encode();
const encodeMs = performance.now() - t1;
const shipped = enc.reduce((n, e) => n + (e?.length ?? 0), 0);
console.log(JSON.stringify({
  module: opts.module ?? 'bench/timeline.ts', dist: opts.dist, slices, values_per_slice: perSlice,
  held_mb: Number(((after - before) / 1e6).toFixed(2)), bytes_per_slice: Math.round((after - before) / slices),
  record_ns: Number(recordNs.toFixed(1)), encode_ms: Math.round(encodeMs), shipped_kb: Math.round(shipped / 1000),
}));
