// The main thread's side of the generator threads: start them, send each a command,
// collect one answer per worker, forward progress.
import { Worker } from 'node:worker_threads';
import { stopOnInterrupt } from './interrupt.ts';
import type { MainToWorker, WorkerInit, WorkerToMain, Progress } from './types.ts';

const BOOT = new URL('./worker-boot.mjs', import.meta.url);
const READY_MS = 30_000;
/** How long close() waits for the threads to end after telling them to. */
export const TERMINATE_MS = 10_000;

export class WorkerGroup {
  readonly #workers: Worker[];
  readonly #progress: Progress[];
  #errors: string[] = [];
  #waiters = new Map<Worker, (m: WorkerToMain) => void>();
  /** An interrupt stops the threads at once: nothing keeps loading the servers while
   *  the bench cleans up (bench/interrupt.ts). */
  readonly #unstop: () => void;

  private constructor(workers: Worker[]) {
    this.#workers = workers;
    this.#progress = workers.map(() => ({ sent: 0, delivered: 0 }));
    this.#unstop = stopOnInterrupt(() => { for (const w of workers) void w.terminate(); });
  }

  static async start(inits: WorkerInit[]): Promise<WorkerGroup> {
    const workers = inits.map((init) => new Worker(BOOT, { workerData: init }));
    const g = new WorkerGroup(workers);
    workers.forEach((w, i) => {
      w.on('message', (m: WorkerToMain) => {
        if (m.t === 'progress') {
          g.#progress[i] = m.p;
          return;
        }
        if (m.t === 'error') g.#errors.push(m.message);
        const waiter = g.#waiters.get(w);
        if (waiter) {
          g.#waiters.delete(w);
          waiter(m);
        }
      });
      w.on('error', (e) => {
        g.#errors.push(e.message);
        const waiter = g.#waiters.get(w);
        if (waiter) {
          g.#waiters.delete(w);
          waiter({ t: 'error', message: e.message });
        }
      });
    });
    try {
      await g.#collect(null, READY_MS);
    } catch (e) {
      await g.close();
      throw e;
    }
    return g;
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Sum of the latest progress reports. */
  progress(): Progress {
    return this.#progress.reduce((a, p) => ({ sent: a.sent + p.sent, delivered: a.delivered + p.delivered }), { sent: 0, delivered: 0 });
  }

  resetProgress(): void {
    for (let i = 0; i < this.#progress.length; i++) this.#progress[i] = { sent: 0, delivered: 0 };
  }

  /** Sends cmd to every worker (or the answer to the previous start when null) and
   *  resolves with one answer per worker; rejects on a worker error or the deadline. */
  #collect(cmd: MainToWorker | null, timeoutMs: number): Promise<WorkerToMain[]> {
    return new Promise((resolve, reject) => {
      const out: WorkerToMain[] = new Array(this.#workers.length);
      let left = this.#workers.length;
      const timer = setTimeout(() => {
        for (const w of this.#workers) this.#waiters.delete(w);
        reject(new Error(`generator threads did not answer ${cmd?.t ?? 'start'} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#workers.forEach((w, i) => {
        this.#waiters.set(w, (m) => {
          if (m.t === 'error') {
            clearTimeout(timer);
            for (const x of this.#workers) this.#waiters.delete(x);
            reject(new Error(`generator thread: ${m.message}`));
            return;
          }
          out[i] = m;
          if (--left === 0) {
            clearTimeout(timer);
            resolve(out);
          }
        });
        if (cmd !== null) w.postMessage(cmd);
      });
    });
  }

  send<T extends WorkerToMain['t']>(cmd: MainToWorker, expect: T, timeoutMs: number): Promise<Extract<WorkerToMain, { t: T }>[]> {
    return this.#collect(cmd, timeoutMs).then((all) => {
      for (const m of all) if (m.t !== expect) throw new Error(`generator thread answered ${m.t}, expected ${expect}`);
      return all as Extract<WorkerToMain, { t: T }>[];
    });
  }

  /** Ends the threads: a close command (they close their sockets), then terminate.
   *  Bounded: false when a thread had not ended TERMINATE_MS after terminate(); it is
   *  then left to the process's exit (and, should that hang, to the watchdog:
   *  bench/watchdog.ts), so one stuck thread never holds up the rest of the bench. */
  async close(): Promise<boolean> {
    this.#unstop();
    await this.send({ t: 'close' }, 'closed', 10_000).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const ended = Promise.all(this.#workers.map((w) => w.terminate())).then(() => true, () => true);
    const inTime = await Promise.race([ended, new Promise<boolean>((r) => { timer = setTimeout(() => r(false), TERMINATE_MS); })]);
    clearTimeout(timer);
    return inTime;
  }
}
