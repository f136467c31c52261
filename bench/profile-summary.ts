// Summarises V8 .cpuprofile files (node --cpu-prof) into self time per function and
// per source file, so docs/BENCHMARKS.md can say where a gateway's time goes.
//   node --import tsx bench/profile-summary.ts DIR_OR_FILES... [--top N]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface Profile { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface Summary {
  totalMs: number;
  byFunction: [string, number][];
  byFile: [string, number][];
}

export function summarise(profiles: Profile[], root: string): Summary {
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  for (const p of profiles) {
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < p.samples.length; i++) {
      const n = byId.get(p.samples[i]!);
      const dt = (p.timeDeltas[i] ?? 0) / 1000;
      if (!n) continue;
      total += dt;
      const url = n.callFrame.url.replace(/^file:\/\//, '');
      const where = url ? (url.startsWith(root) ? relative(root, url) : url) : '(native)';
      const name = `${n.callFrame.functionName || '(anonymous)'} ${where}${url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
      fn.set(name, (fn.get(name) ?? 0) + dt);
      const f = where.includes('node_modules/') ? where.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, 'node_modules/$1') : where;
      file.set(f, (file.get(f) ?? 0) + dt);
    }
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

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
  const paths = args.filter((a, i) => a !== '--top' && (topAt < 0 || i !== topAt + 1));
  const files = paths.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f)) : [p]));
  const profiles = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Profile);
  const s = summarise(profiles, join(new URL('..', import.meta.url).pathname));
  const pct = (ms: number): string => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%`;
  process.stdout.write(`total sampled ${s.totalMs.toFixed(0)} ms in ${files.length} profile(s)\n\nby file:\n`);
  for (const [k, v] of s.byFile.slice(0, top)) process.stdout.write(`${pct(v)}  ${k}\n`);
  const cats = categorise(s);
  const busy = cats.filter(([c]) => c !== 'idle' && !c.startsWith('start-up')).reduce((n, [, v]) => n + v, 0);
  process.stdout.write(`\nby category (share of busy time: not idle, not start-up; ${busy.toFixed(0)} ms):\n`);
  for (const [k, v] of cats) {
    if (k === 'idle' || k.startsWith('start-up')) continue;
    process.stdout.write(`${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}\n`);
  }
  process.stdout.write('\nby function (self time):\n');
  for (const [k, v] of s.byFunction.slice(0, top)) process.stdout.write(`${pct(v)}  ${k}\n`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) main();
