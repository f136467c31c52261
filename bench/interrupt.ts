// What the bench leaves on the machine while it runs, in one place, and how it is given
// back when the bench is interrupted (SIGINT, SIGTERM, SIGHUP) or exits early.
//
// Every child process the bench starts (bench/procs.ts) and every temp dir it makes
// (makeTempDir: the nats-server stores, the gateways' OPRF key, Mosquitto's config) is
// registered here when it is made. A signal must not wait for the run's own clean-up
// (each workload's `stop()`): that is deep inside awaits the signal cannot unwind, and
// process.exit skips it. So the handler releases everything synchronously (SIGKILL,
// wait until the children are dead, remove the dirs), says in one line what it did and
// during what, and exits 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
// The watchdog (bench/watchdog.ts), for a main thread that no longer runs at all, is
// told every dir as it is made and removes them itself.
//
// Work that needs the event loop (opting the devices registered on running gateways
// out again) is an interrupt task: the first signal runs the tasks, bounded by
// TASK_DEADLINE_MS, then exits; a second signal exits at once, saying what was left.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';

/** How long the first signal gives the interrupt tasks before the bench exits anyway. */
export const TASK_DEADLINE_MS = 20_000;
/** How long release() waits for SIGKILLed children to die before it removes the dirs. */
const DEATH_WAIT_MS = 2000;

const processes = new Set<ChildProcess>();
const dirs = new Set<string>();
type DirListener = (change: '+' | '-', dir: string) => void;
const dirListeners = new Set<DirListener>();

/** Registers a child process until it exits; returns the function that unregisters it. */
export function trackProcess(p: ChildProcess): () => void {
  hookExit();
  processes.add(p);
  return () => { processes.delete(p); };
}

/** A fresh temp dir (`<tmpdir>/<prefix>XXXXXX`), registered until `remove()`. */
export function makeTempDir(prefix: string): { dir: string; remove(): void } {
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  for (const l of dirListeners) l('+', dir);
  return {
    dir,
    remove() {
      rmSync(dir, { recursive: true, force: true });
      if (dirs.delete(dir)) for (const l of dirListeners) l('-', dir);
    },
  };
}

/** The temp dirs made and not yet removed. */
export function tempDirs(): string[] {
  return [...dirs];
}

/** Calls `listener` for every temp dir made ('+') or removed ('-') from now on. */
export function watchTempDirs(listener: DirListener): () => void {
  dirListeners.add(listener);
  return () => { dirListeners.delete(listener); };
}

// ---- what the bench is doing (for the interrupt's line) ----

let activity = 'start-up';

/** What runs now, e.g. "hushwire chat (measuring)": said when a signal interrupts it. */
export function setActivity(what: string): void {
  activity = what;
}

// ---- releasing everything, synchronously ----

function state(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** SIGKILLs every registered child, waits (bounded) until each is dead (a zombie: it can
 *  no longer write into its dir), removes every registered temp dir. Synchronous, so it
 *  works in a signal handler about to exit and in the process's 'exit' event.
 *  Idempotent: counts what this call stopped and removed. */
export function releaseAll(): { processes: number; dirs: number } {
  const killed: number[] = [];
  for (const p of processes) {
    try {
      if (p.pid !== undefined && p.exitCode === null && p.signalCode === null && p.kill('SIGKILL')) killed.push(p.pid);
    } catch { /* gone */ }
  }
  processes.clear();
  const until = Date.now() + DEATH_WAIT_MS;
  // Our children stay zombies until this thread reaps them (it will not, from here):
  // 'Z' means dead, files closed. No /proc (not Linux): null, nothing to wait on.
  while (killed.some((pid) => { const s = state(pid); return s !== null && s !== 'Z' && s !== 'X'; }) && Date.now() < until) sleepSync(20);
  let removed = 0;
  for (const d of [...dirs]) {
    try {
      rmSync(d, { recursive: true, force: true });
      removed++;
    } catch { /* left: said by the count */ }
    dirs.delete(d);
    for (const l of dirListeners) l('-', d);
  }
  return { processes: killed.length, dirs: removed };
}

let exitHooked = false;

/** Whatever ends the process (an uncaught error, process.exit anywhere): the children
 *  and the temp dirs go with it. */
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => { releaseAll(); });
  installInterruptHandler();
}

// ---- signals ----

export interface InterruptTask {
  /** Does the work, at most until `deadline` (Date.now() ms); returns what it did, for
   *  the interrupt's line (or '' for nothing to say). */
  run(deadline: number, log: (line: string) => void): Promise<string>;
  /** What is left undone when the bench exits now (a second signal, the deadline). */
  abandon(): string;
}

const tasks = new Set<InterruptTask>();
const stoppers = new Set<() => void>();

/** Registers work the first signal must do before the bench exits. */
export function onInterrupt(task: InterruptTask): () => void {
  tasks.add(task);
  return () => { tasks.delete(task); };
}

/** Registers something the first signal stops at once (the generator threads), so
 *  nothing keeps loading the servers while the interrupt tasks run. */
export function stopOnInterrupt(stop: () => void): () => void {
  stoppers.add(stop);
  return () => { stoppers.delete(stop); };
}

let reporter: ((sig: NodeJS.Signals) => string) | null = null;

/** Registers what a signal reports before the bench exits: the rows finished so far
 *  (synchronously: the process exits right after); `report` returns what it did, for
 *  the interrupt's line. Called once, by the first signal after its clean-up, or by a
 *  second signal that cut that clean-up short. Returns the function that unregisters
 *  it (once the run prints its results itself). */
export function onInterruptReport(report: (sig: NodeJS.Signals) => string): () => void {
  reporter = report;
  return () => { if (reporter === report) reporter = null; };
}

function report(sig: NodeJS.Signals): string {
  const r = reporter;
  reporter = null;
  if (r === null) return '';
  try {
    return r(sig);
  } catch (e) {
    return `results not reported: ${e instanceof Error ? e.message : String(e)}`;
  }
}

let interruptedBy: NodeJS.Signals | null = null;
let signalsHooked = false;
let say: (line: string) => void = (line) => { process.stderr.write(line + '\n'); };

/** The signal that interrupted the bench, or null. Once set, the run's own code goes on
 *  only until its next check: its results no longer count. */
export function interrupted(): NodeJS.Signals | null {
  return interruptedBy;
}

function codeOf(sig: NodeJS.Signals): number {
  return 128 + (osConstants.signals[sig] ?? 2);
}

function releasedText(r: { processes: number; dirs: number }): string {
  return `stopped ${r.processes} process${r.processes === 1 ? '' : 'es'}, removed ${r.dirs} temp director${r.dirs === 1 ? 'y' : 'ies'}`;
}

async function onFirstSignal(sig: NodeJS.Signals): Promise<void> {
  interruptedBy = sig;
  const during = activity;
  for (const s of stoppers) {
    try { s(); } catch { /* stopping anyway */ }
  }
  stoppers.clear();
  const released = releaseAll();
  const done: string[] = [];
  if (tasks.size > 0) {
    const deadline = Date.now() + TASK_DEADLINE_MS;
    say(`hushwire bench: ${sig}: cleaning up before exiting (at most ${TASK_DEADLINE_MS / 1000} s; a second signal exits at once)`);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), Math.max(0, deadline - Date.now())); });
    const all = Promise.all([...tasks].map((t) => t.run(deadline, say).catch((e: unknown) => `clean-up failed: ${e instanceof Error ? e.message : String(e)}`)));
    const outcome = await Promise.race([all, late]);
    clearTimeout(timer);
    if (outcome === 'late') done.push(...[...tasks].map((t) => t.abandon()).filter((s) => s !== ''), 'clean-up deadline passed');
    else done.push(...outcome.filter((s) => s !== ''));
    tasks.clear();
  }
  // Anything started since (a child the run's code spawned meanwhile) goes too.
  const more = releaseAll();
  const total = { processes: released.processes + more.processes, dirs: released.dirs + more.dirs };
  const reported = report(sig);
  if (reported !== '') done.push(reported);
  say(`hushwire bench: interrupted (${sig}) during ${during}: ${releasedText(total)}${done.length > 0 ? `; ${done.join('; ')}` : ''}`);
  process.exit(codeOf(sig));
}

function onSecondSignal(sig: NodeJS.Signals): void {
  const left = [...tasks].map((t) => t.abandon()).filter((s) => s !== '');
  const r = releaseAll();
  const reported = report(interruptedBy ?? sig);
  if (reported !== '') left.push(reported);
  say(`hushwire bench: ${sig} again: exiting now${r.processes + r.dirs > 0 ? ` (${releasedText(r)})` : ''}${left.length > 0 ? `; ${left.join('; ')}` : ''}`);
  process.exit(codeOf(interruptedBy ?? sig));
}

/** Installs the SIGINT, SIGTERM and SIGHUP handler (once; later calls only replace the
 *  line writer). */
export function installInterruptHandler(log?: (line: string) => void): void {
  if (log !== undefined) say = log;
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (interruptedBy === null) void onFirstSignal(sig);
      else onSecondSignal(sig);
    });
  }
}
