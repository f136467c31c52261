// Summarises V8 .cpuprofile files (`hushwire bench --cpu-prof DIR`, one per gateway and
// measured phase, positions at the .ts source lines; or plain `node --cpu-prof` output)
// into self time per function, per source file and per category, so
// docs/BENCHMARKS.md can say where a gateway's time goes.
//   node --import tsx bench/profile-summary.ts DIR_OR_FILES... [--top N] [--timeline MS]
//        [--from MS --to MS]
// --timeline prints busy (non-idle) milliseconds per MS-wide slice, all profiles summed,
// so a stretch of a phase (or, in a whole-process profile, the phase itself) can be
// found; --from/--to then keep only the samples in that window (ms since the earliest
// profile started), so the summary describes that stretch alone.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { CallFrame } from './inspector.ts';

interface Node {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}

/** A .cpuprofile: what Profiler.stop returns and `node --cpu-prof` writes. */
export interface CpuProfile { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }
type Profile = CpuProfile;

export interface Summary {
  totalMs: number;
  byFunction: [string, number][];
  byFile: [string, number][];
}

export interface Window { fromMs: number; toMs: number }

/** Calls fn for every sample with its node, its duration and its time (ms since t0). */
function eachSample(p: Profile, t0: number, fn: (n: Node, dtMs: number, atMs: number) => void): void {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const n = byId.get(p.samples[i]!);
    if (n) fn(n, (p.timeDeltas[i] ?? 0) / 1000, (t - t0) / 1000);
  }
}

const earliest = (profiles: Profile[]): number => Math.min(...profiles.map((p) => p.startTime));

/** Busy (not idle, not program/GC-free) ms per slice of sliceMs, all profiles summed. */
export function timeline(profiles: Profile[], sliceMs: number): number[] {
  const out: number[] = [];
  const t0 = earliest(profiles);
  for (const p of profiles) {
    eachSample(p, t0, (n, dt, at) => {
      if (n.callFrame.functionName === '(idle)') return;
      const i = Math.floor(at / sliceMs);
      while (out.length <= i) out.push(0);
      out[i]! += dt;
    });
  }
  return out;
}

export function summarise(profiles: Profile[], root: string, window?: Window): Summary {
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  const t0 = earliest(profiles);
  for (const p of profiles) {
    eachSample(p, t0, (n, dt, at) => {
      if (window !== undefined && (at < window.fromMs || at >= window.toMs)) return;
      total += dt;
      const url = n.callFrame.url.replace(/^file:\/\//, '');
      const where = url ? (url.startsWith(root) ? relative(root, url) : url) : '(native)';
      const name = `${n.callFrame.functionName || '(anonymous)'} ${where}${url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
      fn.set(name, (fn.get(name) ?? 0) + dt);
      const f = where.includes('node_modules/') ? where.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, 'node_modules/$1') : where;
      file.set(f, (file.get(f) ?? 0) + dt);
    });
  }
  const sort = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, byFunction: sort(fn), byFile: sort(file) };
}

/** Coarse buckets for "where the time goes", in order of matching. */
const CATEGORIES: [string, RegExp][] = [
  ['idle', /^\(idle\)/],
  ['start-up (module loading, compiling)', /node:internal\/modules|cjs-module-lexer|compileSourceTextModule|wrapSafe|node_modules\/tsx|node:internal\/bootstrap|source_map/],
  ['garbage collection', /^\(garbage collector\)/],
  ['NATS client (nats.js)', /node_modules\/@nats-io/],
  ['socket writes and reads (native)', /^(writeBuffer|writev|writeUtf8String|send |close |cork )|gateway\/transport\/uws\.ts|node:internal\/stream_base_commons|node:net/],
  ['protobuf encode/decode', /node_modules\/protobufjs|proto\/gen\//],
  ['session state machine (relay/session.ts)', /relay\/session\.ts/],
  ['delivery path and bus (relay/relay.ts, relay/bus)', /relay\/relay\.ts|relay\/bus\//],
  ['wire frames (relay/frame-in, frame-out, varint, relayed envelope)', /relay\/(frame-in|frame-out|varint|relayed-envelope|proto-cursor|bytes)\.ts/],
  ['route tags (SHA-256, hex)', /node_modules\/@noble\/hashes|relay\/tokens\.ts/],
  ['rate limiter (relay/keyed-buckets.ts, limiter)', /relay\/keyed-buckets|relay\/limiter|relay\/token-bucket/],
  ['metrics (prom-client)', /node_modules\/prom-client|relay\/metrics/],
  ['text encoding, buffers', /node:internal\/encoding|node:buffer|node:internal\/buffer|encodeUtf8String|createUnsafeBuffer|FastBuffer/],
  ['timers, microtasks', /node:internal\/timers|node:timers|runMicrotasks|task_queues|processImmediate/],
];

export function categorise(s: Summary): [string, number][] {
  const out = new Map<string, number>();
  for (const [name, ms] of s.byFunction) {
    const c = CATEGORIES.find(([, re]) => re.test(name))?.[0] ?? 'other';
    out.set(c, (out.get(c) ?? 0) + ms);
  }
  return [...out].sort((a, b) => b[1] - a[1]);
}

const USAGE = `usage: node --import tsx bench/profile-summary.ts DIR_OR_FILES... [--top N] [--timeline MS] [--from MS --to MS]
  DIR_OR_FILES  .cpuprofile files (hushwire bench --cpu-prof DIR: one per gateway and measured phase;
                or node --cpu-prof), or directories of them
  --top N       lines per list (default 25)
  --timeline MS busy milliseconds per MS-wide slice, all profiles summed (find a phase)
  --from/--to   keep only the samples in this window (ms since the earliest profile started)
`;

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, timeline: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const top = Number(values.top);
  const files = positionals.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f)) : [p]));
  const profiles = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Profile);
  if (values.timeline !== undefined) {
    const slice = Number(values.timeline);
    timeline(profiles, slice).forEach((ms, i) => {
      if (ms >= 1) process.stdout.write(`${String(i * slice).padStart(7)} ms  ${ms.toFixed(0).padStart(5)} ms busy  ${'#'.repeat(Math.round((40 * ms) / (slice * profiles.length)))}\n`);
    });
    return;
  }
  const window = values.from !== undefined || values.to !== undefined
    ? { fromMs: Number(values.from ?? 0), toMs: Number(values.to ?? Infinity) } : undefined;
  process.stdout.write(`${profileText(profiles, join(new URL('..', import.meta.url).pathname), top, window)}\n`);
}

/** The summary as text: total, by file, by category (shares of busy time), by function. */
export function profileText(profiles: Profile[], root: string, top: number, window?: Window): string {
  const s = summarise(profiles, root, window);
  const pct = (ms: number): string => `${((100 * ms) / Math.max(s.totalMs, 1e-9)).toFixed(1).padStart(5)}%`;
  const lines = [`total sampled ${s.totalMs.toFixed(0)} ms in ${profiles.length} profile(s)`, '', 'by file:'];
  for (const [k, v] of s.byFile.slice(0, top)) lines.push(`${pct(v)}  ${k}`);
  const cats = categorise(s);
  const busy = cats.filter(([c]) => c !== 'idle' && !c.startsWith('start-up')).reduce((n, [, v]) => n + v, 0);
  lines.push('', `by category (share of busy time: not idle, not start-up; ${busy.toFixed(0)} ms):`);
  for (const [k, v] of cats) {
    if (k === 'idle' || k.startsWith('start-up')) continue;
    lines.push(`${((100 * v) / Math.max(busy, 1e-9)).toFixed(1).padStart(5)}%  ${k}`);
  }
  lines.push('', 'by function (self time):');
  for (const [k, v] of s.byFunction.slice(0, top)) lines.push(`${pct(v)}  ${k}`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) main();
