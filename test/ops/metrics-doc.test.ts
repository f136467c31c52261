// docs/OPERATIONS.md's "Metrics" table against the metrics the code defines: every
// hushwire_* metric a gateway can export has a row, with the label names it has, and
// every row names a metric that exists; the evaluator's (relay/oprf-service.ts) are in
// the paragraph "Evaluator metrics". Read from the sources (every `new Counter/Gauge/
// Histogram({ name: 'hushwire_...', labelNames: [...] })`), so a metric exported only
// with some settings (TLS, --oprf-evaluator, .creds) is covered without starting one.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.ts';

interface Defined { name: string; labels: string[]; file: string }

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function defined(): Defined[] {
  const out: Defined[] = [];
  for (const file of [...sources('relay'), ...sources('gateway')]) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/new (?:Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{([\s\S]*?)\}\)/g)) {
      const body = m[1]!;
      const name = /name: '(hushwire_[a-z0-9_]+)'/.exec(body)?.[1];
      if (name === undefined) continue;
      const labels = /labelNames: \[([^\]]*)\]/.exec(body)?.[1]?.match(/'([a-z_]+)'/g)?.map((s) => s.slice(1, -1)) ?? [];
      out.push({ name, labels, file: file.slice(ROOT.length + 1) });
    }
  }
  return out;
}

/** The table's rows: `name{a,b}` cells, with `x` / `_out_total` shorthand expanded. */
function documented(doc: string): Map<string, string[]> {
  const section = doc.slice(doc.indexOf('\n## Metrics\n'), doc.indexOf('\n### Alerting\n'));
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const cell = /^\| (`hushwire_[^|]*) \|/.exec(line)?.[1];
    if (cell === undefined) continue;
    let first = '';
    for (const [, name, labels] of cell.matchAll(/`([a-z0-9_*]+)(?:\{([a-z_,]+)\})?`/g)) {
      const full = name!.startsWith('_') ? first.replace(/_[a-z]+_total$/, '') + name : name!;
      if (first === '') first = full;
      rows.set(full, labels ? labels.split(',') : []);
    }
  }
  return rows;
}

t.test('every gateway metric has a row in the Metrics table, with its labels', async (t) => {
  const doc = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
  const rows = documented(doc);
  const defs = defined();
  t.ok(defs.length > 40, 'the metric definitions were found');
  t.ok(rows.size > 40, 'the table was found');
  const evaluatorPara = doc.slice(doc.indexOf('Evaluator metrics'), doc.indexOf('## HTTP endpoints'));
  for (const d of defs) {
    if (d.file === join('relay', 'oprf-service.ts')) {
      t.ok(evaluatorPara.includes(`\`${d.name}`), `${d.name} (hushwire oprf) is in "Evaluator metrics"`);
      continue;
    }
    const labels = rows.get(d.name);
    t.ok(labels !== undefined, `${d.name} (${d.file}) has a row`);
    if (labels !== undefined) t.same(labels, d.labels, `${d.name}: the row's labels`);
  }
  const names = new Set(defs.map((d) => d.name));
  for (const name of rows.keys()) {
    if (name === 'hushwire_process_*') continue; // prom-client's default metrics
    t.ok(names.has(name), `the row ${name} names a metric the code defines`);
  }
});

t.test('the evaluator\'s request results are the ones it counts', async (t) => {
  const doc = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
  const src = readFileSync(join(ROOT, 'relay', 'oprf-service.ts'), 'utf8');
  const outcomes = /const OUTCOMES[^=]*= \[([^\]]*)\]/.exec(src)?.[1]?.match(/'([a-z_]+)'/g)?.map((s) => s.slice(1, -1)) ?? [];
  t.ok(outcomes.length > 3, 'the outcomes were found');
  const para = doc.slice(doc.indexOf('Evaluator metrics'), doc.indexOf('## HTTP endpoints'));
  const listed = /`hushwire_oprf_requests_total\{result\}`\s*\(([^)]*)\)/.exec(para)?.[1]?.match(/`([a-z_]+)`/g)?.map((s) => s.slice(1, -1)) ?? [];
  t.same([...listed].sort(), [...outcomes].sort(), 'the paragraph lists every result');
});
