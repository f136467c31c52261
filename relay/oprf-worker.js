// Worker-thread entry of the OPRF evaluation pool (relay/oprf-pool.ts), in plain
// JavaScript on purpose: worker threads do not inherit loader hooks that the main
// thread registered through tsx's API (as bin/hushwire.js does), so a .ts entry would
// not load there. This registers tsx in the worker, then loads the TypeScript task.
import { register } from 'tsx/esm/api';

register();
const { evaluateTask } = await import('./oprf-worker-task.ts');
export default evaluateTask;
