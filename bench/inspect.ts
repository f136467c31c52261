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
import WebSocket from 'ws';

/** In the gateway's stderr when --inspect is on. */
export const INSPECTOR_LINE = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+)/;

export interface HeapFigures {
  /** V8 heap in use after the full GC. */
  heapUsed: number;
  /** Memory of ArrayBuffers and other objects held outside the V8 heap. */
  external: number;
  /** RSS right after the GC. */
  rss: number;
}

const DEADLINE_MS = 30_000;
const SWEEP_WAIT_MS = 1000;

/** Forces a full GC in the process behind `url` and reads process.memoryUsage(). */
export function collectAndMeasure(url: string): Promise<HeapFigures> {
  return new Promise<HeapFigures>((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => finish(new Error('inspector did not answer')), DEADLINE_MS);
    let done = false;
    const finish = (err: Error | null, v?: HeapFigures): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.terminate();
      if (err !== null) reject(err);
      else resolve(v as HeapFigures);
    };
    ws.once('error', (e) => finish(e));
    ws.once('close', () => finish(new Error('inspector closed')));
    ws.once('open', () => {
      // In order: the evaluation runs after the collections finished. Twice: objects
      // whose finalizers ran in the first one (weak handles, native wrappers) go in the
      // second. The figures are read SWEEP_WAIT_MS later: right after a GC, pages still
      // being swept count as used (read at once, the same code measured 3 or 8 kB per
      // device from run to run; with the wait, 3.5-3.8 kB every time).
      ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
      ws.send(JSON.stringify({ id: 3, method: 'HeapProfiler.collectGarbage' }));
      ws.send(JSON.stringify({
        id: 2, method: 'Runtime.evaluate',
        params: {
          expression: `new Promise((r) => setTimeout(() => r(JSON.stringify(process.memoryUsage())), ${SWEEP_WAIT_MS}))`,
          returnByValue: true, awaitPromise: true,
        },
      }));
    });
    ws.on('message', (data: Buffer) => {
      let m: { id?: number; result?: { result?: { value?: unknown } }; error?: { message?: string } };
      try {
        m = JSON.parse(data.toString('utf8')) as typeof m;
      } catch {
        return;
      }
      if (m.id !== 2) return;
      if (m.error) {
        finish(new Error(`inspector: ${m.error.message ?? 'error'}`));
        return;
      }
      try {
        const u = JSON.parse(String(m.result?.result?.value)) as { heapUsed: number; external: number; rss: number };
        finish(null, { heapUsed: u.heapUsed, external: u.external, rss: u.rss });
      } catch (e) {
        finish(e as Error);
      }
    });
  });
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
export function writeHeapSnapshot(url: string, file: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
    const chunks: string[] = [];
    const timer = setTimeout(() => finish(new Error('inspector did not answer')), 4 * DEADLINE_MS);
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.terminate();
      if (err !== null) {
        reject(err);
        return;
      }
      writeFile(file, chunks.join('')).then(resolve, reject);
    };
    ws.once('error', (e) => finish(e));
    ws.once('close', () => finish(new Error('inspector closed')));
    ws.once('open', () => {
      ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.enable' }));
      ws.send(JSON.stringify({ id: 2, method: 'HeapProfiler.collectGarbage' }));
      ws.send(JSON.stringify({ id: 3, method: 'HeapProfiler.takeHeapSnapshot', params: { reportProgress: false } }));
    });
    ws.on('message', (data: Buffer) => {
      let m: { id?: number; method?: string; params?: { chunk?: string }; error?: { message?: string } };
      try {
        m = JSON.parse(data.toString('utf8')) as typeof m;
      } catch {
        return;
      }
      if (m.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(m.params?.chunk ?? '');
      else if (m.id === 3) finish(m.error ? new Error(`inspector: ${m.error.message ?? 'error'}`) : null);
    });
  });
}
