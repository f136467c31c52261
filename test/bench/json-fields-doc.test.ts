// docs/BENCHMARKS.md names every field a row of the bench's JSON can carry (`runs[]`,
// bench/types.ts RunResult): the issue promised {"runs":[{"system","workload",...}]} and
// that any field beyond those is documented. Found missing: mode, rate, generator_bound,
// drain_s, drain_per_s, devices, the idle slopes, note.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.ts';

const doc = readFileSync(join(ROOT, 'docs/BENCHMARKS.md'), 'utf8');
const types = readFileSync(join(ROOT, 'bench/types.ts'), 'utf8');

t.test('every RunResult field is named in BENCHMARKS.md', async (t) => {
  const start = types.indexOf('export interface RunResult {');
  t.ok(start >= 0, 'RunResult found');
  const body = types.slice(start, types.indexOf('\n}\n', start));
  const fields = [...body.matchAll(/^ {2}([a-z0-9_]+)\??:/gm)].map((m) => m[1]!);
  t.ok(fields.length > 30, `${fields.length} fields`);
  for (const f of fields) t.ok(doc.includes(`\`${f}\``) || doc.includes(`"${f}"`), `${f} is documented`);
});

t.test('every field of a row\'s timeline (bench/timeline.ts Timeline) is named in BENCHMARKS.md', async (t) => {
  const src = readFileSync(join(ROOT, 'bench/timeline.ts'), 'utf8');
  const start = src.indexOf('export interface Timeline {');
  t.ok(start >= 0, 'Timeline found');
  const body = src.slice(start, src.indexOf('\n}\n', start));
  const fields = [...body.matchAll(/^ {2}([a-z0-9_]+)\??:/gm)].map((m) => m[1]!);
  t.ok(fields.length >= 7, `${fields.length} fields`);
  // named as timeline.FIELD, or in the documented shape "FIELD": [...]
  for (const f of fields) t.ok(doc.includes(`\`timeline.${f}\``) || doc.includes(`"${f}"`), `timeline.${f} is documented`);
  t.ok(doc.includes('`timeline`') || doc.includes('"timeline"'), 'timeline itself');
  t.ok(doc.includes('`meta.slice_ms`') && doc.includes('`meta.slice_ms_asked`'), 'the meta fields of the slice');
});

t.test('every field of the JSON\'s slo entries (bench/rate-plan.ts SloEntry) is named in BENCHMARKS.md', async (t) => {
  const src = readFileSync(join(ROOT, 'bench/rate-plan.ts'), 'utf8');
  const start = src.indexOf('export interface SloEntry {');
  t.ok(start >= 0, 'SloEntry found');
  const body = src.slice(start, src.indexOf('\n}\n', start));
  const fields = [...body.matchAll(/^ {2}([a-z0-9_]+)\??:/gm)].map((m) => m[1]!);
  t.ok(fields.length >= 7, `${fields.length} fields`);
  for (const f of fields) t.ok(doc.includes(`\`${f}\``) || doc.includes(`"${f}"`), `slo[].${f} is documented`);
  t.ok(doc.includes('`slo`') && doc.includes('"slo":[...]'), 'slo itself, in the JSON\'s shape');
});

// A load tester reads the table first: its headers (srv us/msg, reord, other, ...) were
// named nowhere, nor which JSON field each shows; nor were meta's keys.
t.test('every column of the table (bench/report.ts COLS) and every meta key (cli/commands/bench.ts) is named in BENCHMARKS.md', async (t) => {
  const report = readFileSync(join(ROOT, 'bench/report.ts'), 'utf8');
  const cols = report.slice(report.indexOf('const COLS'), report.indexOf('];', report.indexOf('const COLS')));
  const headers = [...cols.matchAll(/^ {2}\['([^']+)',/gm)].map((m) => m[1]!);
  t.ok(headers.length >= 12, `${headers.length} columns`);
  const section = doc.slice(doc.indexOf('**The table\'s columns**'), doc.indexOf('## Method'));
  t.ok(section.length > 100, 'the paragraph was found');
  for (const h of headers) t.ok(section.includes(`\`${h}\``), `column "${h}" is named`);
  const cli = readFileSync(join(ROOT, 'cli/commands/bench.ts'), 'utf8');
  const start = cli.indexOf('const meta = {');
  t.ok(start >= 0, 'meta found');
  const body = cli.slice(start + 'const meta = {'.length, cli.indexOf('\n      };', start)).replace(/\/\/.*$/gm, '');
  const keys = new Set([...body.matchAll(/\b([a-z_]+):/g)].map((m) => m[1]!));
  for (const m of body.matchAll(/^\s*([a-z_]+),/gm)) keys.add(m[1]!); // shorthand (systems)
  keys.add('interrupted');
  t.ok(keys.size >= 20, `${keys.size} meta keys`);
  for (const k of keys) t.ok(section.includes(`\`meta.${k}\``), `meta.${k} is named`);
});
