// What a local gateway really keeps: a full garbage collection, then its memory figures,
// through the Node inspector of the gateway process (the bench starts the local gateways
// of the idle workload with --inspect=127.0.0.1:0, loopback only, random port).
//
// RSS alone overstates what an idle device costs: it also holds garbage no GC has
// collected yet and young-generation space the runtime flag lets grow to 32 MB
// (--max-semi-space-size). A forced full GC before reading splits retained memory
// (heap used, external buffers) from garbage; RSS read right after it is the process's
// footprint with the garbage gone (allocator caches included).
import { writeFile } from 'node:fs/promises';
import { InspectorSession, CALL_DEADLINE_MS } from './inspector.ts';

export { INSPECTOR_LINE } from './inspector.ts';

export interface HeapFigures {
  /** V8 heap in use after the full GC. */
  heapUsed: number;
  /** Memory of ArrayBuffers and other objects held outside the V8 heap. */
  external: number;
  /** RSS right after the GC. */
  rss: number;
}

const SWEEP_WAIT_MS = 1000;

/** Forces a full GC in the process behind `url` and reads process.memoryUsage(). */
export async function collectAndMeasure(url: string): Promise<HeapFigures> {
  const session = await InspectorSession.open(url);
  try {
    // Twice: objects whose finalizers ran in the first collection (weak handles, native
    // wrappers) go in the second. The figures are read SWEEP_WAIT_MS later: right after
    // a GC, pages still being swept count as used (read at once, the same code measured
    // 3 or 8 kB per device from run to run; with the wait, 3.5-3.8 kB every time).
    await session.call('HeapProfiler.collectGarbage');
    await session.call('HeapProfiler.collectGarbage');
    const r = await session.call('Runtime.evaluate', {
      expression: `new Promise((r) => setTimeout(() => r(JSON.stringify(process.memoryUsage())), ${SWEEP_WAIT_MS}))`,
      returnByValue: true, awaitPromise: true,
    }) as { result?: { value?: unknown } };
    const u = JSON.parse(String(r.result?.value)) as { heapUsed: number; external: number; rss: number };
    return { heapUsed: u.heapUsed, external: u.external, rss: u.rss };
  } finally {
    session.close();
  }
}

/** Sum over several processes (null if any cannot be read). */
export async function collectAndMeasureAll(urls: string[]): Promise<HeapFigures | null> {
  if (urls.length === 0) return null;
  const sum: HeapFigures = { heapUsed: 0, external: 0, rss: 0 };
  try {
    for (const u of urls) {
      const f = await collectAndMeasure(u);
      sum.heapUsed += f.heapUsed;
      sum.external += f.external;
      sum.rss += f.rss;
    }
  } catch {
    return null;
  }
  return sum;
}

/** Writes a heap snapshot of the process behind `url` to `file` (HeapProfiler through the
 *  inspector, after a full GC). A debugging aid for the idle workload
 *  (HW_BENCH_HEAP_SNAPSHOT_DIR, see bench/heap-diff.ts); never used for a figure. */
export async function writeHeapSnapshot(url: string, file: string): Promise<void> {
  const session = await InspectorSession.open(url);
  try {
    const chunks: string[] = [];
    session.on('HeapProfiler.addHeapSnapshotChunk', (p) => { chunks.push(String(p['chunk'] ?? '')); });
    await session.call('HeapProfiler.enable');
    await session.call('HeapProfiler.collectGarbage');
    await session.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 4 * CALL_DEADLINE_MS);
    await writeFile(file, chunks.join(''));
  } finally {
    session.close();
  }
}

/** Node flags for the idle workload's local gateways: the preload that lets
 *  awaitYoungGenerationsSettled see the module-loader thread's heap too
 *  (bench/young-gen-preload.mjs), and the smallest young generation pinned at 1 MB (the
 *  V8 default today), what a settled young generation shrinks back to. */
export const YOUNG_GEN_NODE_ARGS: readonly string[] = [
  `--import=${new URL('./young-gen-preload.mjs', import.meta.url).href}`,
  '--min-semi-space-size=1',
];

/** A young generation at --min-semi-space-size: the memory reducer has run since it grew. */
export const YOUNG_SETTLED_BYTES = 1 << 20;

const YOUNG_POLL_MS = 500;

/** How long the idle workload waits at each reading for the young generations to settle. */
export const YOUNG_SETTLE_DEADLINE_MS = 60_000;

export interface YoungGenerationWait {
  /** Every young generation of every gateway back at its smallest. */
  settled: boolean;
  waitedMs: number;
  /** Why the sizes could not be read, if they could not. */
  problem?: string;
}

/** Waits until the young generation of every V8 heap in every process behind `urls` (the
 *  main thread's and the module-loader thread's, through bench/young-gen-preload.mjs) is
 *  back at its smallest, that is V8's memory reducer has given back what start-up or the
 *  last connections made it grow; at most `deadlineMs`. A forced GC does not shrink it,
 *  but starts the reducer: the caller forces one in the main thread first, and the first
 *  poll runs one in the loader thread (bench/young-gen-preload.mjs says why it matters). */
export async function awaitYoungGenerationsSettled(urls: string[], deadlineMs = YOUNG_SETTLE_DEADLINE_MS): Promise<YoungGenerationWait> {
  const t0 = Date.now();
  const sessions: InspectorSession[] = [];
  try {
    for (const u of urls) sessions.push(await InspectorSession.open(u));
    for (let poll = 0; ; poll++) {
      let settled = true;
      for (const s of sessions) {
        // The first poll also runs a full GC in the loader thread, which starts V8's
        // memory reducer there (the caller forces the main thread's through the inspector).
        const r = await s.call('Runtime.evaluate', {
          expression: `(() => { const f = globalThis[Symbol.for('hushwire.bench.youngGenerations')]; return typeof f === 'function' ? f(${poll === 0}).then((y) => JSON.stringify(y)) : 'absent'; })()`,
          returnByValue: true, awaitPromise: true,
        }) as { result?: { value?: unknown }; exceptionDetails?: { exception?: { description?: string } } };
        if (r.exceptionDetails !== undefined) return { settled: false, waitedMs: Date.now() - t0, problem: r.exceptionDetails.exception?.description?.split('\n')[0] ?? 'the sizes could not be read' };
        if (r.result?.value === 'absent') return { settled: false, waitedMs: Date.now() - t0, problem: 'the gateway was started without bench/young-gen-preload.mjs' };
        const y = JSON.parse(String(r.result?.value)) as { main: number | null; loader: number | null };
        if (y.main === null || y.loader === null) return { settled: false, waitedMs: Date.now() - t0, problem: 'this Node has no new_space in its heap statistics' };
        if (y.main > YOUNG_SETTLED_BYTES || y.loader > YOUNG_SETTLED_BYTES) settled = false;
      }
      if (settled) return { settled: true, waitedMs: Date.now() - t0 };
      if (Date.now() - t0 + YOUNG_POLL_MS > deadlineMs) return { settled: false, waitedMs: Date.now() - t0 };
      await new Promise((r) => setTimeout(r, YOUNG_POLL_MS));
    }
  } catch (e) {
    return { settled: false, waitedMs: Date.now() - t0, problem: e instanceof Error ? e.message : String(e) };
  } finally {
    for (const s of sessions) s.close();
  }
}
