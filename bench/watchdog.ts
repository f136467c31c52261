// A watchdog process for `hushwire bench`: every wait inside the bench has its own
// deadline, but a deadline is a timer, and a timer needs a running main thread. If
// that thread is stuck for good (Node's shutdown deadlock with worker threads,
// nodejs/node#54918; the generator runs in workers), nothing inside the process can
// end the run, SIGTERM included. So a separate small process (watchdog-child.mjs)
// hears a heartbeat from the main thread every second and, after `staleMs` without
// one, stops the bench's children and SIGKILLs the bench: a load test that stops by
// itself in every case, never a CI job left hanging with nats-server and gateways.
//
// The heartbeat timer and the pipe are unref'd: the watchdog never keeps the bench
// alive, and it exits by itself when the bench exits (end of its stdin).
//
// The same pipe tells the watchdog every temp dir the bench makes and removes
// (bench/interrupt.ts: a line `+"<path>"` or `-"<path>"` between the heartbeat dots):
// a stuck main thread cannot remove them, so the watchdog does, once the children that
// write into them (nats-server's JetStream store) are dead.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempDirs, watchTempDirs } from './interrupt.ts';

const CHILD = new URL('./watchdog-child.mjs', import.meta.url);
const BEAT_MS = 1000;

/** How long the main thread may go without running before the watchdog fires: far
 *  longer than any synchronous step of the bench (key generation for many devices
 *  yields every 1,000 devices, ~0.35 s; handing 10,000 devices to the generator threads
 *  takes well under a second), short enough that a stuck run ends within minutes. */
export const DEFAULT_STALE_MS = 60_000;

export interface Watchdog {
  readonly pid: number;
  /** Stops the heartbeat and the watchdog process. Idempotent. */
  stop(): void;
}

export function startWatchdog(staleMs: number = DEFAULT_STALE_MS): Watchdog {
  if (!Number.isFinite(staleMs) || staleMs < 2 * BEAT_MS) throw new RangeError(`watchdog staleMs must be at least ${2 * BEAT_MS}, got ${staleMs}`);
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(CHILD), String(process.pid), String(Math.round(staleMs))], {
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const stdin = child.stdin!;
  // The watchdog reading slowly or having exited must never stall or crash the bench.
  stdin.on('error', () => undefined);
  child.on('error', () => undefined);
  const beat = setInterval(() => {
    if (stdin.writable && stdin.writableLength < 1024) stdin.write('.');
  }, BEAT_MS);
  beat.unref();
  // Never dropped like a beat: a dir the watchdog does not know would be left behind.
  const tell = (change: '+' | '-', dir: string): void => {
    if (stdin.writable) stdin.write(`${change}${JSON.stringify(dir)}\n`);
  };
  for (const d of tempDirs()) tell('+', d);
  const unwatch = watchTempDirs(tell);
  child.unref();
  (stdin as unknown as { unref?: () => void }).unref?.();
  let stopped = false;
  return {
    pid: child.pid ?? 0,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(beat);
      unwatch();
      stdin.end(); // the watchdog exits at the end of its stdin
    },
  };
}
