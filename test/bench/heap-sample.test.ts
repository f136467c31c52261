// bench/heap-sample.ts: allocation sampling through a process's inspector (against a
// real Node process on loopback), and the summary by site and by function.
import t from 'tap';
import { HeapSampler, summariseAllocations, allocationText, type HeapNode } from '../../bench/heap-sample.ts';
import { startInspected } from '../helpers/inspected.ts';

const node = (functionName: string, url: string, selfSize: number, children: HeapNode[] = []): HeapNode =>
  ({ callFrame: { functionName, url, lineNumber: 9 }, selfSize, children });

t.test('summary: bytes by site (function <- caller) and by function, largest first', async (t) => {
  const head = node('(root)', '', 0, [
    node('onFrame', 'file:///repo/relay/session.ts', 100, [
      node('decode', 'file:///repo/relay/frame-in.ts', 300),
      node('subarray', '', 50),
    ]),
    node('#onBatch', 'file:///repo/relay/bus/nats-live.ts', 0, [node('subarray', '', 150), node('decode', 'file:///repo/relay/frame-in.ts', 100)]),
  ]);
  const s = summariseAllocations([{ head }, { head: node('(root)', '', 0, [node('decode', 'file:///repo/relay/frame-in.ts', 50)]) }], '/repo/');
  t.equal(s.totalBytes, 750);
  t.same(s.byFunction, [['decode relay/frame-in.ts:10', 450], ['subarray', 200], ['onFrame relay/session.ts:10', 100]]);
  t.same(s.bySite[0], ['decode relay/frame-in.ts:10 <- onFrame relay/session.ts:10', 300]);
  t.same(s.bySite.find(([k]) => k.startsWith('subarray <- #onBatch')), ['subarray <- #onBatch relay/bus/nats-live.ts:10', 150]);
  t.same(s.bySite.find(([k]) => k === 'decode relay/frame-in.ts:10'), ['decode relay/frame-in.ts:10', 50], 'called from the root: no caller');
  const text = allocationText(s, 2, { count: 3, unit: 'message' });
  t.match(text, /^allocated 0\.0 MB \(250 B per message\)/);
  t.match(text, /by allocation site[^\n]*\n\s+40\.0%\s+0\.0 MB  decode relay\/frame-in\.ts:10 <- onFrame/);
  t.equal(text.split('\n').filter((l) => l.includes('%')).length, 4, 'top 2 of each list');
});

t.test('sampling a real process through its inspector: start, allocate, stop (once)', async (t) => {
  // A process that allocates in a named function, with its inspector on a random loopback port.
  // Sampling starts once it has allocated for a while (it says so on stderr): before,
  // under CI load the 0.4 s could fall on Node's own start-up (module loading) instead.
  const p = await startInspected('let n = 0; function makeGarbage(){ globalThis.k = Array.from({length: 2000}, (_, i) => ({ i })); if (++n === 25) console.error("HW_WARM"); } setInterval(makeGarbage, 2)', 10_000, 'HW_WARM');
  t.teardown(() => p.kill());
  const url = p.url;
  const sampler = await HeapSampler.start([url]);
  await new Promise((r) => setTimeout(r, 400));
  const first = sampler.stop();
  t.equal(sampler.stop(), first, 'stop is idempotent: the same result');
  const profiles = await first;
  t.equal(profiles.length, 1);
  const s = summariseAllocations(profiles, '/');
  t.ok(s.totalBytes > 1_000_000, `allocations seen (${s.totalBytes} B in 0.4 s), garbage included`);
  t.ok(s.byFunction.slice(0, 5).some(([k]) => k.startsWith('makeGarbage') || k.startsWith('from')), `the allocating function among the top: ${s.byFunction.slice(0, 5).map(([k]) => k).join(', ')}`);
  await p.kill();
  await t.rejects(HeapSampler.start([url]), { code: 'ECONNREFUSED' }, 'an inspector that is gone: an error, not a hang');
});
