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
import { parseArgs } from 'node:util';
import type { CallFrame } from './inspector.ts';
import { PhaseProfiler } from './phase-profile.ts';

export interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** What HeapProfiler.stopSampling returns (and a .heapprofile holds). */
export interface HeapProfile {
  head: HeapNode;
}

/** Bytes between samples (V8's default is 32 KiB): finer for a few seconds of traffic. */
export const SAMPLING_INTERVAL_BYTES = 8192;

/** Allocation sampling alone in every process behind `urls`, from start() until stop()
 *  (phase-profile.ts; the bench itself profiles through PhaseProfiler, with --cpu-prof
 *  on the same sessions). */
export class HeapSampler {
  readonly #p: PhaseProfiler;
  #stopped: Promise<HeapProfile[]> | null = null;

  private constructor(p: PhaseProfiler) {
    this.#p = p;
  }

  static async start(urls: readonly string[], intervalBytes = SAMPLING_INTERVAL_BYTES): Promise<HeapSampler> {
    return new HeapSampler(await PhaseProfiler.start(urls, { heapIntervalBytes: intervalBytes }));
  }

  /** The profiles, one per process, in the order of the URLs, positions at their source
   *  lines; once (later calls get the same). */
  stop(): Promise<HeapProfile[]> {
    this.#stopped ??= this.#p.stop().then((r) => r.heap ?? []);
    return this.#stopped;
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
