// The bench's watchdog process (started by bench/watchdog.ts; plain JavaScript so it
// starts in a few ms without tsx). It exists for the one failure no timer inside the
// bench can catch: its main thread stuck for good, e.g. Node's shutdown deadlock with
// worker threads (nodejs/node#54918), where SIGTERM is ignored (Node's handler runs on
// the stuck loop) and nats-server and the gateways would live on.
//
// argv: <bench pid> <stale ms>. The bench writes a byte to our stdin every second;
// when none came for <stale ms>, we kill the bench's child processes (SIGTERM, then
// SIGKILL after KILL_GRACE_MS), remove the temp dirs it told us about, and then kill
// the bench itself (SIGKILL: its own handler cannot run). End of stdin means the bench
// is gone (or has stopped us): exit quietly.
//
// Between the heartbeat dots the bench writes a line per temp dir it makes (`+"<path>"`)
// or removes (`-"<path>"`, JSON strings). Only absolute paths whose last part starts
// with hw-bench- are ever removed: a garbled line must not cost anyone a directory.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, isAbsolute } from 'node:path';
import { execFileSync } from 'node:child_process';

const KILL_GRACE_MS = 3000;
/** After the last SIGKILL: how long to wait for the children to die before the dirs go. */
const DEATH_WAIT_MS = 2000;
const CHECK_MS = 250;
/** A line longer than this is not one of ours: dropped. */
const MAX_LINE = 8192;

const benchPid = Number(process.argv[2]);
const staleMs = Number(process.argv[3]);
if (!Number.isInteger(benchPid) || benchPid <= 1 || !Number.isFinite(staleMs) || staleMs <= 0) {
  process.stderr.write('hushwire bench watchdog: usage: watchdog-child.mjs <bench pid> <stale ms>\n');
  process.exit(2);
}

let lastBeat = Date.now();
let firing = false;
const dirs = new Set();
let partial = '';
process.stdin.on('data', (chunk) => {
  lastBeat = Date.now();
  const lines = (partial + chunk.toString('utf8')).split('\n');
  partial = lines.pop().replace(/^\.+/, '');
  if (partial.length > MAX_LINE) partial = '';
  for (const raw of lines) {
    const line = raw.replace(/^\.+/, '');
    if (line.length < 2 || (line[0] !== '+' && line[0] !== '-')) continue;
    let dir;
    try { dir = JSON.parse(line.slice(1)); } catch { continue; }
    if (typeof dir !== 'string' || !isAbsolute(dir) || !basename(dir).startsWith('hw-bench-')) continue;
    if (line[0] === '+') dirs.add(dir);
    else dirs.delete(dir);
  }
});
process.stdin.on('end', () => { if (!firing) process.exit(0); });
process.stdin.on('error', () => { if (!firing) process.exit(0); });

/** pid → parent pid of every process we can see: /proc on Linux, `ps` elsewhere. */
function parents() {
  const out = new Map();
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        // Field 4 (ppid) comes after the command name, which may hold spaces and ')'.
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        out.set(Number(name), ppid);
      } catch { /* exited meanwhile */ }
    }
    if (out.size > 0) return out;
  } catch { /* no /proc */ }
  try {
    const text = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8', timeout: 5000 });
    for (const line of text.split('\n')) {
      const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
      if (m) out.set(Number(m[1]), Number(m[2]));
    }
  } catch { /* no ps either: only the bench itself can be killed */ }
  return out;
}

/** Every descendant of root except this watchdog, children before grandchildren. */
function descendants(root) {
  const byParent = new Map();
  for (const [pid, ppid] of parents()) {
    if (pid === process.pid) continue;
    let list = byParent.get(ppid);
    if (!list) byParent.set(ppid, list = []);
    list.push(pid);
  }
  const found = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()) ?? []) {
      if (found.length > 10_000) break; // a pid cycle cannot happen; bound the walk anyway
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function signal(pid, sig) {
  try { process.kill(pid, sig); return true; } catch { return false; }
}

/** Running (a zombie counts as gone: its parent, the stuck bench, cannot reap it). */
function alive(pid) {
  try { process.kill(pid, 0); } catch { return false; }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: kill(0) is all we know
  }
}

function fire() {
  firing = true;
  const silentS = ((Date.now() - lastBeat) / 1000).toFixed(1);
  // Taken before anything dies: once the bench is gone its children are re-parented.
  const kids = descendants(benchPid);
  process.stderr.write(`hushwire bench watchdog: the bench's main thread has not run for ${silentS} s (stuck); stopping its ${kids.length} child process(es) and then the bench (exit by SIGKILL)\n`);
  for (const pid of kids) signal(pid, 'SIGTERM');
  const until = Date.now() + KILL_GRACE_MS;
  const removeDirs = () => {
    let removed = 0;
    for (const dir of dirs) {
      try { rmSync(dir, { recursive: true, force: true }); removed++; } catch { /* counted as left */ }
    }
    if (dirs.size > 0) process.stderr.write(`hushwire bench watchdog: removed ${removed} of ${dirs.size} temp director${dirs.size === 1 ? 'y' : 'ies'} the bench made\n`);
  };
  let deadBy = 0;
  const finish = () => {
    const left = kids.filter(alive);
    if (left.length > 0 && Date.now() < until) { setTimeout(finish, 100); return; }
    if (deadBy === 0) {
      for (const pid of left) signal(pid, 'SIGKILL');
      deadBy = Date.now() + DEATH_WAIT_MS;
    }
    // nats-server must be dead before its store goes, or it writes into it again.
    if (left.length > 0 && Date.now() < deadBy) { setTimeout(finish, 50); return; }
    removeDirs();
    signal(benchPid, 'SIGKILL');
    process.exit(3);
  };
  finish();
}

setInterval(() => {
  if (firing) return;
  if (!alive(benchPid)) process.exit(0);
  if (Date.now() - lastBeat > staleMs) fire();
}, CHECK_MS);
