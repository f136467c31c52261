// docs/BENCHMARKS.md's flag table and `hushwire bench --help` agree: every flag of the
// command (and of `bench compare`) has a row, with its default where it has one, and
// every row names a flag that exists.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, Option } from 'commander';
import { benchCommand } from '../../cli/commands/bench.ts';
import { ROOT } from '../helpers/paths.ts';

const doc = readFileSync(join(ROOT, 'docs/BENCHMARKS.md'), 'utf8');
/** The table's rows: flag (with "compare " for the subcommand's) → default cell. */
const rows = new Map([...doc.matchAll(/^\| `((?:compare )?--[a-z0-9-]+)[^`]*` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]));

function flags(cmd: Command, prefix: string): { name: string; o: Option }[] {
  return cmd.options.filter((o) => o.long !== '--help').map((o) => ({ name: `${prefix}${o.long!}`, o }));
}

t.test('every flag has a row with its default; every row is a flag', async (t) => {
  const bench = benchCommand();
  const compare = bench.commands.find((c) => c.name() === 'compare')!;
  const all = [...flags(bench, ''), ...flags(compare, 'compare ')];
  t.ok(all.length > 30, `${all.length} flags`);
  for (const { name, o } of all) {
    const cell = rows.get(name);
    if (cell === undefined) {
      t.fail(`${name} has no row in the flag table`);
      continue;
    }
    const d: unknown = o.defaultValue;
    if (d === undefined || typeof d === 'boolean') continue;
    const want = Array.isArray(d) ? d.join(',') : String(d);
    t.ok(cell.replace(/,(?=\d{3}\b)/g, '').includes(`\`${want}\``), `${name}: default ${want} in "${cell}"`);
  }
  const names = new Set(all.map((f) => f.name));
  for (const name of rows.keys()) t.ok(names.has(name), `the row ${name} names a flag that exists`);
});
