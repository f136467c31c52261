// Runs on the module-loader thread of a bench gateway (registered by
// bench/young-gen-preload.mjs): answers that thread's young-generation size. It has no
// resolve or load hook, so module loading goes on as before.
import { getHeapSpaceStatistics } from 'node:v8';

export function initialize({ port }) {
  port.on('message', ({ id }) => {
    const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? null;
    port.postMessage({ id, young });
  });
  port.unref(); // the loader thread ends with the process, as without this module
}
