// Worker-thread entry: module hooks registered in the main thread (tsx) do not reach
// worker threads on Node 20, so each worker registers tsx itself before loading the
// TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./worker.ts', import.meta.url).href);
