// Child processes the bench starts (nats-server, gateways, Mosquitto, the Socket.IO
// relay) and what the bench reads about them from /proc: CPU time and RSS.
//
// Every child started here is registered (bench/interrupt.ts) and killed (by its own
// pid, never by name) when the bench stops, even on SIGINT/SIGTERM or an uncaught error.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { trackProcess } from './interrupt.ts';

const CLK_TCK = 100; // USER_HZ on Linux: /proc stat times are in 1/100 s

// ---- /proc ----

/** utime + stime of a process (all its threads), in microseconds; null if unreadable. */
export function cpuMicros(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]); // field 14
    const stime = Number(rest[12]); // field 15
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
    return ((utime + stime) * 1_000_000) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Resident set size in bytes (VmRSS); null if unreadable. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Sum of read(pid) over pids; null when any is unreadable (or the list is empty). */
function sumOver(pids: readonly number[], read: (pid: number) => number | null): number | null {
  if (pids.length === 0) return null;
  let sum = 0;
  for (const p of pids) {
    const v = read(p);
    if (v === null) return null;
    sum += v;
  }
  return sum;
}

/** Sum of cpuMicros over pids; null when any is unreadable (or the list is empty). */
export function cpuMicrosAll(pids: readonly number[]): number | null {
  return sumOver(pids, cpuMicros);
}

/** Sum of rssBytes over pids; null when any is unreadable (or the list is empty). */
export function rssBytesAll(pids: readonly number[]): number | null {
  return sumOver(pids, rssBytes);
}

// ---- ports ----

export { freePorts } from './ports.ts';

// ---- children ----

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  /** Last lines of its stdout/stderr (bounded). */
  output(): string;
  /** Resolves with the first match of re in its output, or rejects at the deadline or exit. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when it exited (or, should it not
   *  exit even then, KILL_WAIT_MS after the SIGKILL). Idempotent. */
  stop(graceMs?: number): Promise<void>;
  readonly exited: boolean;
}

const OUTPUT_MAX = 16_384;
/** How long stop() waits for a child to exit after SIGKILL. */
const KILL_WAIT_MS = 5000;

export function startChild(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  const proc = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  const untrack = trackProcess(proc);
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString('utf8');
    if (out.length > OUTPUT_MAX) out = out.slice(out.length - OUTPUT_MAX);
    for (const w of [...waiters]) w();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    const done = (): void => {
      exited = true;
      untrack();
      for (const w of [...waiters]) w();
      resolve();
    };
    proc.once('exit', done);
    proc.once('error', (e) => { out += `\nspawn error: ${e.message}`; done(); });
  });
  let stopping: Promise<void> | null = null;
  const child: Child = {
    name,
    pid: proc.pid ?? 0,
    proc,
    output: () => out,
    get exited() { return exited; },
    waitFor(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const check = (): void => {
          const m = re.exec(out);
          if (m) { finish(); resolve(m); return; }
          if (exited) { finish(); reject(new Error(`${name} exited before it was ready: ${tail(out)}`)); }
        };
        const finish = (): void => { clearTimeout(timer); waiters.delete(check); };
        timer = setTimeout(() => { finish(); reject(new Error(`${name} not ready within ${timeoutMs} ms: ${tail(out)}`)); }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (exited) return;
        try { proc.kill('SIGTERM'); } catch { /* gone */ }
        let timer: NodeJS.Timeout | undefined;
        const inTime = await Promise.race([exit.then(() => true), new Promise<boolean>((r) => { timer = setTimeout(() => r(false), graceMs); })]);
        clearTimeout(timer);
        if (!inTime) {
          try { proc.kill('SIGKILL'); } catch { /* gone */ }
          // SIGKILL cannot be ignored, but a process stuck in the kernel (D state) exits
          // only when that call returns: bounded, so one such child cannot hold up the rest.
          let killTimer: NodeJS.Timeout | undefined;
          await Promise.race([exit, new Promise<void>((r) => { killTimer = setTimeout(r, KILL_WAIT_MS); })]);
          clearTimeout(killTimer);
        }
      })();
      return stopping;
    },
  };
  return child;
}

function tail(s: string): string {
  const lines = s.trim().split('\n');
  return lines.slice(-5).join(' | ').slice(-600);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
