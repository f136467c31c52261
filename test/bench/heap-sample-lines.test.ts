// --heap-sample's summary names allocation sites by source line. The gateways run
// TypeScript through tsx, whose output is one line per module, so V8's positions all
// said line 1 ("relay/session.ts:1"); they are mapped back through the scripts' own
// source maps, read from the process over the inspector.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeapSampler, summariseAllocations } from '../../bench/heap-sample.ts';
import { startInspectedTs } from '../helpers/inspected.ts';

t.test('a TypeScript process run through tsx: sites carry their source lines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-heap-lines-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'garbage.mts'); // ESM, as the gateways' modules are
  writeFileSync(file, [
    '// a fixture: allocates in a named function at a known line',
    'interface Item { i: number; label: string }',
    'let n = 0;',
    '',
    'const unused: string = "padding";',
    '',
    'function makeGarbage(): void {',
    '  const items: Item[] = []; for (let i = 0; i < 2000; i++) items.push({ i, label: `x${i}` });',
    '  (globalThis as Record<string, unknown>).k = items;',
    '  if (++n === 25) console.error("HW_WARM");',
    '}',
    'setInterval(makeGarbage, 2);',
    'setTimeout(() => process.exit(0), 60_000);',
    'void unused;',
  ].join('\n'));
  const child = await startInspectedTs(file, 'HW_WARM');
  t.teardown(() => child.kill());
  // The allocations are made in makeGarbage's own body (no callback to be credited
  // instead), and a window without its samples (a loaded machine can leave the child
  // unscheduled for most of one) is sampled again, bounded.
  let s: ReturnType<typeof summariseAllocations> | null = null;
  for (let window = 0; window < 6 && !s?.byFunction.some(([k]) => k.startsWith('makeGarbage ')); window++) {
    const sampler = await HeapSampler.start([child.url]);
    await new Promise((r) => setTimeout(r, 500));
    s = summariseAllocations(await sampler.stop(), `${dir}/`);
  }
  if (s === null) throw new Error('not sampled');
  const mine = s.byFunction.filter(([k]) => k.startsWith('makeGarbage ') || k.includes('garbage.mts'));
  t.ok(mine.length > 0, `the fixture's functions are among the sites: ${s.byFunction.slice(0, 6).map(([k]) => k).join(', ')}`);
  const fn = mine.find(([k]) => k.startsWith('makeGarbage '));
  t.ok(fn, 'makeGarbage allocated');
  t.match(fn?.[0] ?? '', /^makeGarbage garbage\.mts:7$/, 'at the line it is defined on in the .ts file');
  t.ok(mine.every(([k]) => !/garbage\.mts:1$/.test(k)), `no site of the fixture at line 1: ${mine.map(([k]) => k).join(', ')}`);
});
