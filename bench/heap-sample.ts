// Allocation sampling of the local gateways over a measured phase (`hushwire bench
// --heap-sample DIR`): V8's sampling heap profiler through each gateway's inspector
// (loopback, random port), counting objects the GC has already collected too, so the
// profile says where a gateway *allocates* per message or per reconnect, not only what
// it keeps. Each profile is written as a .heapprofile (Chrome DevTools, Memory tab,
// "Load profile") next to a text summary by allocation site and by function.
//
// Why through the inspector and not `node --heap-prof`: that flag writes its profile at
// process exit and keeps only objects still alive then (garbage, the thing to cut on a
// message path, is gone from it), and it covers the whole process life, set-up
// included. The inspector starts and stops sampling exactly at the measured window.
//
//   node --import tsx bench/heap-sample.ts FILES_OR_DIRS... [--top N]   summarises saved profiles
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SourceMap } from 'node:module';
import { parseArgs } from 'node:util';
import { InspectorSession } from './inspector.ts';

export interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number; scriptId?: string };
  selfSize: number;
  children: HeapNode[];
}

/** What HeapProfiler.stopSampling returns (and a .heapprofile holds). */
export interface HeapProfile {
  head: HeapNode;
}

/** Bytes between samples (V8's default is 32 KiB): finer for a few seconds of traffic. */
export const SAMPLING_INTERVAL_BYTES = 8192;

/** Sampling running in every process behind `urls`, from start() until stop() (a
 *  session kept open throughout: closing it would end the sampling). */
export class HeapSampler {
  readonly #sessions: InspectorSession[];
  #stopped: Promise<HeapProfile[]> | null = null;

  private constructor(sessions: InspectorSession[]) {
    this.#sessions = sessions;
  }

  static async start(urls: readonly string[], intervalBytes = SAMPLING_INTERVAL_BYTES): Promise<HeapSampler> {
    const sessions: InspectorSession[] = [];
    try {
      for (const u of urls) sessions.push(await InspectorSession.open(u));
      for (const s of sessions) {
        await s.call('HeapProfiler.enable');
        await s.call('HeapProfiler.startSampling', {
          samplingInterval: intervalBytes, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
        });
      }
    } catch (e) {
      for (const s of sessions) s.close();
      throw e;
    }
    return new HeapSampler(sessions);
  }

  /** The profiles, one per process, in the order of the URLs; once (later calls get the same). */
  stop(): Promise<HeapProfile[]> {
    this.#stopped ??= (async () => {
      try {
        const out: HeapProfile[] = [];
        for (const s of this.#sessions) {
          const profile = ((await s.call('HeapProfiler.stopSampling')) as { profile: HeapProfile }).profile;
          await toSourcePositions(s, profile);
          out.push(profile);
        }
        return out;
      } finally {
        for (const s of this.#sessions) s.close();
      }
    })();
    return this.#stopped;
  }
}

/** Rewrites the profile's positions (0-based line and column of each function) from the
 *  code V8 ran to the source files, through the scripts' inline source maps. The
 *  gateways run TypeScript through tsx, whose esbuild output is one line per module:
 *  every site read "relay/session.ts:1". The maps come from the process itself
 *  (Debugger.scriptParsed, sent for every loaded script on Debugger.enable; the
 *  debugger is disabled again at once, after the measured phase). Frames without a
 *  map (node's own, plain JavaScript) keep their positions; so do all of them when the
 *  maps cannot be read. */
async function toSourcePositions(s: InspectorSession, profile: HeapProfile): Promise<void> {
  const byScript = new Map<string, HeapNode[]>();
  const collect = (n: HeapNode): void => {
    const id = n.callFrame.scriptId;
    if (id !== undefined && id !== '0' && n.callFrame.url.startsWith('file://')) byScript.set(id, [...(byScript.get(id) ?? []), n]);
    for (const c of n.children) collect(c);
  };
  collect(profile.head);
  if (byScript.size === 0) return;
  const maps = new Map<string, string>();
  s.on('Debugger.scriptParsed', (p) => {
    const id = String(p['scriptId']);
    const url = String(p['sourceMapURL'] ?? '');
    if (byScript.has(id) && url.startsWith('data:application/json')) maps.set(id, url);
  });
  try {
    await s.call('Debugger.enable');
    await s.call('Debugger.disable');
  } catch {
    return;
  }
  for (const [id, url] of maps) {
    let map: SourceMap;
    try {
      const comma = url.indexOf(',');
      const body = url.slice(comma + 1);
      map = new SourceMap(JSON.parse(url.slice(0, comma).endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body)) as ConstructorParameters<typeof SourceMap>[0]);
    } catch {
      continue;
    }
    for (const n of byScript.get(id) ?? []) {
      const e = map.findEntry(n.callFrame.lineNumber, n.callFrame.columnNumber ?? 0) as { originalLine?: number; originalColumn?: number };
      if (e.originalLine === undefined) continue;
      n.callFrame.lineNumber = e.originalLine;
      n.callFrame.columnNumber = e.originalColumn ?? 0;
    }
  }
}

export interface AllocationSummary {
  /** Estimated bytes allocated over the sampling (V8 scales each sample up). */
  totalBytes: number;
  /** "function file:line <- caller", bytes: where objects were allocated, and from where. */
  bySite: [string, number][];
  /** "function file:line", bytes. */
  byFunction: [string, number][];
}

function frameName(n: HeapNode, root: string): string {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  const where = url === '' ? '' : ` ${url.startsWith(root) ? relative(root, url) : url}:${n.callFrame.lineNumber + 1}`;
  return `${n.callFrame.functionName || '(anonymous)'}${where}`;
}

/** Sums the profiles' allocations by site and by function, largest first. */
export function summariseAllocations(profiles: readonly HeapProfile[], root: string): AllocationSummary {
  const site = new Map<string, number>();
  const fn = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode, caller: string): void => {
    const name = frameName(n, root);
    if (n.selfSize > 0) {
      total += n.selfSize;
      const k = caller === '' ? name : `${name} <- ${caller}`;
      site.set(k, (site.get(k) ?? 0) + n.selfSize);
      fn.set(name, (fn.get(name) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, n.callFrame.functionName === '(root)' ? '' : name);
  };
  for (const p of profiles) walk(p.head, '');
  const sort = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);
  return { totalBytes: total, bySite: sort(site), byFunction: sort(fn) };
}

/** The summary as text; `per` divides the total (messages or reconnects) when given. */
export function allocationText(s: AllocationSummary, top: number, per?: { count: number; unit: string }): string {
  const mb = (b: number): string => `${(b / 1e6).toFixed(1).padStart(8)} MB`;
  const pct = (b: number): string => `${((100 * b) / Math.max(1, s.totalBytes)).toFixed(1).padStart(5)}%`;
  const lines = [`allocated ${(s.totalBytes / 1e6).toFixed(1)} MB${per && per.count > 0 ? ` (${Math.round(s.totalBytes / per.count).toLocaleString('en-US')} B per ${per.unit})` : ''}, objects since collected included`];
  lines.push('', 'by allocation site (function <- its caller):');
  for (const [k, v] of s.bySite.slice(0, top)) lines.push(`${pct(v)} ${mb(v)}  ${k}`);
  lines.push('', 'by function:');
  for (const [k, v] of s.byFunction.slice(0, top)) lines.push(`${pct(v)} ${mb(v)}  ${k}`);
  return lines.join('\n');
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || positionals.length === 0) {
    process.stdout.write('usage: node --import tsx bench/heap-sample.ts FILES_OR_DIRS... [--top N]\n  .heapprofile files (hushwire bench --heap-sample DIR), or directories of them, summed\n');
    if (!values.help) process.exitCode = 2;
    return;
  }
  const files = positionals.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.heapprofile')).map((f) => join(p, f)) : [p]));
  const profiles = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as HeapProfile);
  const root = join(new URL('..', import.meta.url).pathname);
  process.stdout.write(`${files.length} profile(s)\n${allocationText(summariseAllocations(profiles, root), Number(values.top))}\n`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) main();
