// Runs on the module-loader thread of a bench gateway (registered by
// bench/young-gen-preload.mjs): answers that thread's young-generation size, after a
// full GC when asked. It has no resolve or load hook, so module loading goes on as before.
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// gc() for this thread: the flag makes V8 put gc on contexts created from now on.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

export function initialize({ port }) {
  port.on('message', ({ id, collect }) => {
    // A full GC is what arms V8's memory reducer: without one, the loader thread, idle
    // after start-up, kept its 16 MB young generation for minutes on a loaded machine.
    if (collect) gc();
    const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? null;
    port.postMessage({ id, young });
  });
  port.unref(); // the loader thread ends with the process, as without this module
}
