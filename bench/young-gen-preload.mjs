// Preloaded (node --import) into the local gateways of the idle workload, which the
// bench reads memory from. A gateway process run from source has two V8 heaps: the main
// thread's and that of the module-loader thread (Node 20 runs module.register hooks,
// tsx's among them, on a thread of their own). While the gateway starts, both young
// generations grow (the loader's to 16 MB compiling the sources, the main thread's to
// the 32 MB of --max-semi-space-size), and V8 gives that memory back only when its memory
// reducer runs, some 8-30 s later, at a time of its choosing: the gateway's RSS then
// falls by 15-35 MB at once. The inspector reaches only the main thread, and its forced
// GC does not shrink a young generation by itself (it starts the reducer, which then
// may, seconds later or tens of seconds). Read in between, the idle workload's RSS
// before any connection came out higher than with 1,000 devices connected.
//
// This module lets the bench see both young generations, so it reads memory only once
// the reducer has run in both (bench/inspect.ts awaitYoungGenerationsSettled), and
// force a full GC in the loader thread, which is what starts the reducer there: it
// registers a hook module on the loader thread (bench/young-gen-hooks.mjs) with a
// message port, and puts a function on globalThis that answers both threads'
// young-generation sizes. Plain JavaScript: it runs before tsx is registered.
import { register } from 'node:module';
import { getHeapSpaceStatistics } from 'node:v8';
import { MessageChannel } from 'node:worker_threads';

/** The global the bench calls through the inspector (Runtime.evaluate). */
export const YOUNG_GENERATIONS = Symbol.for('hushwire.bench.youngGenerations');

/** How long the loader thread may take to answer before the call fails. */
const ANSWER_DEADLINE_MS = 5_000;

const youngBytes = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? null;

const { port1, port2 } = new MessageChannel();
port1.unref(); // the port never keeps the gateway running
register(new URL('./young-gen-hooks.mjs', import.meta.url), { data: { port: port2 }, transferList: [port2] });

let nextId = 0;
/** Calls waiting for the loader thread; at most one per bench poll, each with a deadline. */
const waiting = new Map();
port1.on('message', (m) => {
  const w = waiting.get(m.id);
  if (w === undefined) return;
  waiting.delete(m.id);
  clearTimeout(w.timer);
  w.resolve(m.young);
});

/** Resolves to { main, loader }: each thread's young-generation size in bytes; with
 *  `collect`, the loader thread first runs a full GC (the inspector's forced GC reaches
 *  only the main thread). */
globalThis[YOUNG_GENERATIONS] = (collect = false) => new Promise((resolve, reject) => {
  const id = nextId++;
  const timer = setTimeout(() => {
    waiting.delete(id);
    reject(new Error('the module-loader thread did not answer'));
  }, ANSWER_DEADLINE_MS);
  timer.unref();
  waiting.set(id, { timer, resolve: (loader) => resolve({ main: youngBytes(), loader }) });
  port1.postMessage({ id, collect: collect === true });
});
