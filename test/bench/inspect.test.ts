// bench/inspect.ts and bench/inspector.ts against a real Node process's inspector: a
// forced GC then its memory figures (the idle workload's retained bytes per device), a
// heap snapshot, and errors instead of hangs when the inspector is gone.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectAndMeasure, collectAndMeasureAll, writeHeapSnapshot } from '../../bench/inspect.ts';
import { InspectorSession } from '../../bench/inspector.ts';
import { startInspected } from '../helpers/inspected.ts';

t.test('after a forced GC: what the process keeps, garbage gone', async (t) => {
  // keeps ~10^5 small objects; makes as much garbage again every few milliseconds
  const p = await startInspected('globalThis.keep = Array.from({ length: 100000 }, (_, i) => ({ i })); setInterval(() => Array.from({ length: 100000 }, (_, i) => ({ i })), 5)');
  t.teardown(() => p.kill());
  const f = await collectAndMeasure(p.url);
  t.ok(f.heapUsed > 3_000_000, `the kept objects are in the heap (${f.heapUsed} B)`);
  t.ok(f.heapUsed < 60_000_000, 'the garbage is not');
  t.ok(f.rss > f.heapUsed, 'RSS holds the heap');
  t.ok(f.external >= 0);
  const sum = await collectAndMeasureAll([p.url, p.url]);
  t.ok(sum !== null && sum.heapUsed > 2 * 3_000_000, 'summed over processes');
  t.equal(await collectAndMeasureAll([]), null, 'none: nothing known');
});

t.test('a heap snapshot written to a file', async (t) => {
  const p = await startInspected('globalThis.keep = { marker: "heap-snapshot-test" }');
  t.teardown(() => p.kill());
  const dir = mkdtempSync(join(tmpdir(), 'hw-snap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 's.heapsnapshot');
  await writeHeapSnapshot(p.url, file);
  const text = readFileSync(file, 'utf8');
  const snap = JSON.parse(text) as { snapshot?: { node_count?: number } };
  t.ok((snap.snapshot?.node_count ?? 0) > 1000, 'a whole snapshot');
  t.ok(text.includes('heap-snapshot-test'), 'of this process');
});

t.test('a session: an error answer, an idempotent close, and a gone inspector fail instead of hanging', async (t) => {
  const p = await startInspected('0');
  const s = await InspectorSession.open(p.url);
  await t.rejects(s.call('No.suchMethod'), /inspector: .*/, 'an error answer rejects');
  const pending = s.call('Runtime.evaluate', { expression: 'new Promise(() => {})', awaitPromise: true });
  s.close();
  s.close();
  await t.rejects(pending, /inspector closed/, 'close fails what is pending');
  await t.rejects(s.call('Runtime.enable'), /inspector closed/, 'and every later call');
  await p.kill();
  await t.rejects(InspectorSession.open(p.url), { code: 'ECONNREFUSED' }, 'the process is gone: opening fails');
  await t.rejects(collectAndMeasure(p.url), { code: 'ECONNREFUSED' });
  t.equal(await collectAndMeasureAll([p.url]), null, 'unreadable: null');
});
