// Heap retained per nats.js subscription, by documented subscribe() option, after a full
// GC (run with --expose-gc). A measuring aid for the idle-memory work (docs/BENCHMARKS.md):
//
//   node --expose-gc --import tsx bench/nats-sub-cost.ts nats://127.0.0.1:PORT [N] [VARIANT]
//
// One variant per process (0-3): memory freed by an earlier variant would hide the next one's.
import { connect, type Subscription } from '@nats-io/transport-node';

const url = process.argv[2] ?? 'nats://127.0.0.1:4222';
const n = Number(process.argv[3] ?? 20000);
const only = process.argv[4] === undefined ? null : Number(process.argv[4]);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

async function heap(): Promise<number> {
  gc!();
  await new Promise((r) => setTimeout(r, 200));
  gc!();
  return process.memoryUsage().heapUsed;
}

const nc = await connect({ servers: url });
const shared = (): void => {};
const variants: Array<[string, (i: number) => Subscription]> = [
  ['callback (one shared function)', (i) => nc.subscribe(`cost.a.${i}`, { callback: shared })],
  ['callback + max: 1000000', (i) => nc.subscribe(`cost.b.${i}`, { callback: shared, max: 1_000_000 })],
  ['callback + queue', (i) => nc.subscribe(`cost.c.${i}`, { callback: shared, queue: 'q' })],
  ['iterator (not iterated)', (i) => nc.subscribe(`cost.d.${i}`)],
];
for (const [v, [name, make]] of variants.entries()) {
  if (only !== null && v !== only) continue;
  const before = await heap();
  const subs: Subscription[] = [];
  for (let i = 0; i < n; i++) subs.push(make(i));
  await nc.flush();
  const after = await heap();
  console.log(`${name.padEnd(34)} ${((after - before) / n).toFixed(0)} B per subscription (array slot 8 B included)`);
  for (const s of subs) s.unsubscribe();
  await nc.flush();
}
await nc.close();
