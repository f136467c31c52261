// What grew between two heap snapshots, per device: node count and self size by
// (type, constructor/name), sorted by size. A debugging aid for the idle workload:
//
//   HW_BENCH_HEAP_SNAPSHOT_DIR=/tmp/snap npx hushwire bench --peers none --workload idle --devices 2000
//   node --import tsx bench/heap-diff.ts /tmp/snap/first.heapsnapshot /tmp/snap/all.heapsnapshot 1600 [--top 40]
//
// (1600 = devices added between the two snapshots: four fifths of --devices.)
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

type Groups = Map<string, { count: number; size: number }>;

function group(file: string): Groups {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const width = f.length;
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const types = s.snapshot.meta.node_types[0];
  const out: Groups = new Map();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType] as number] ?? '?';
    // Strings are grouped by type only (their "name" is their content).
    const name = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number'
      ? '' : (s.strings[s.nodes[i + iName] as number] ?? '?').slice(0, 60);
    const key = `${type}:${name}`;
    const g = out.get(key);
    const size = s.nodes[i + iSize] as number;
    if (g === undefined) out.set(key, { count: 1, size });
    else {
      g.count++;
      g.size += size;
    }
  }
  return out;
}

const [a, b, nArg, ...rest] = process.argv.slice(2);
if (a === undefined || b === undefined || nArg === undefined) {
  console.error('usage: heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot DEVICES_ADDED [--top N]');
  process.exit(2);
}
const n = Number(nArg);
const top = rest[0] === '--top' ? Number(rest[1]) : 40;
const ga = group(a);
const gb = group(b);
const rows: { key: string; count: number; size: number }[] = [];
for (const [key, v] of gb) {
  const u = ga.get(key) ?? { count: 0, size: 0 };
  rows.push({ key, count: (v.count - u.count) / n, size: (v.size - u.size) / n });
}
for (const [key, u] of ga) if (!gb.has(key)) rows.push({ key, count: -u.count / n, size: -u.size / n });
rows.sort((x, y) => y.size - x.size);
const total = rows.reduce((t, r) => t + r.size, 0);
console.log(`per device: ${total.toFixed(0)} B self size in the V8 heap (snapshot), top ${top}:`);
console.log('   B/dev  objs/dev  type:name');
for (const r of rows.slice(0, top)) console.log(`${r.size.toFixed(1).padStart(8)} ${r.count.toFixed(2).padStart(9)}  ${r.key}`);
