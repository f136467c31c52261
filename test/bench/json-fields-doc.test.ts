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
