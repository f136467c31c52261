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

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
  const paths = args.filter((a, i) => a !== '--top' && i !== topAt + 1);
  const files = paths.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f)) : [p]));
  const profiles = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Profile);
  const s = summarise(profiles, join(new URL('..', import.meta.url).pathname));
  const pct = (ms: number): string => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%`;
  process.stdout.write(`total sampled ${s.totalMs.toFixed(0)} ms in ${files.length} profile(s)\n\nby file:\n`);
  for (const [k, v] of s.byFile.slice(0, top)) process.stdout.write(`${pct(v)}  ${k}\n`);
  process.stdout.write('\nby function (self time):\n');
  for (const [k, v] of s.byFunction.slice(0, top)) process.stdout.write(`${pct(v)}  ${k}\n`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) main();
