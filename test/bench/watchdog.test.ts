// The bench's watchdog process (bench/watchdog.ts): a host whose main thread blocks
// for good is ended, with the processes it started, even though it ignores SIGTERM; a
// host that exits normally or keeps running takes the watchdog with it or is left
// alone. Real processes throughout, each with a deadline.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { until } from '../helpers/poll.ts';
import { startWatchdog } from '../../bench/watchdog.ts';
import { alive } from '../helpers/pid.ts';

const HOST = fileURLToPath(new URL('../fixtures/watchdog-host.ts', import.meta.url));

interface Pids { host: number; child: number; watchdog: number }
interface Ended { code: number | null; signal: NodeJS.Signals | null; stderr: string; pids: Pids }

function runHost(args: string[], timeoutMs: number): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', HOST, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`host ${args.join(' ')} still running after ${timeoutMs} ms: ${stderr}`)); }, timeoutMs);
    p.once('exit', (code, signal) => {
      clearTimeout(timer);
      try {
        resolve({ code, signal, stderr, pids: JSON.parse(stdout.trim().split('\n')[0] ?? '') as Pids });
      } catch {
        reject(new Error(`host printed no pids (stdout ${stdout}, stderr ${stderr})`));
      }
    });
  });
}

/** Kills what a failed test might have left (by pid, only processes it started). */
function cleanUp(t: Test, get: () => Pids | undefined): void {
  t.teardown(() => {
    const p = get();
    if (!p) return;
    for (const pid of [p.child, p.watchdog, p.host]) if (alive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  });
}

t.test('a host whose main thread hangs is killed with its children, SIGTERM handler or not', async (t) => {
  let pids: Pids | undefined;
  cleanUp(t, () => pids);
  const r = await runHost(['hang'], 30_000);
  pids = r.pids;
  t.equal(r.signal, 'SIGKILL', 'the host ends by SIGKILL (its SIGTERM handler needs the stuck loop)');
  t.match(r.stderr, /watchdog: the bench's main thread has not run for \d+\.\d s \(stuck\); stopping its \d+ child process/, 'the watchdog says why, naming no more than a count');
  await until('the host\'s child to be gone', () => !alive(r.pids.child), 10_000);
  await until('the watchdog to exit', () => !alive(r.pids.watchdog), 10_000);
  t.pass('child and watchdog gone');
});

t.test('a child that ignores SIGTERM is killed after the grace period', async (t) => {
  let pids: Pids | undefined;
  cleanUp(t, () => pids);
  const r = await runHost(['hang', 'stubborn'], 30_000);
  pids = r.pids;
  t.equal(r.signal, 'SIGKILL');
  await until('the stubborn child to be gone', () => !alive(r.pids.child), 10_000);
  t.pass('stubborn child gone');
});

t.test('a host that exits normally takes the watchdog with it', async (t) => {
  let pids: Pids | undefined;
  cleanUp(t, () => pids);
  const r = await runHost(['exit'], 30_000);
  pids = r.pids;
  t.equal(r.code, 0, 'exit code 0');
  t.equal(r.signal, null);
  t.notMatch(r.stderr, /watchdog/, 'the watchdog said nothing');
  await until('the watchdog to exit after its host', () => !alive(r.pids.watchdog), 10_000);
  t.pass('watchdog gone');
});

t.test('a host whose loop keeps running past the stale time is left alone', async (t) => {
  let pids: Pids | undefined;
  cleanUp(t, () => pids);
  const r = await runHost(['healthy'], 30_000);
  pids = r.pids;
  t.equal(r.code, 0, 'the host ended by itself, exit code 0');
  t.equal(r.signal, null, 'not killed');
  t.notMatch(r.stderr, /watchdog/, 'the watchdog never fired');
  await until('the watchdog to exit after its host', () => !alive(r.pids.watchdog), 10_000);
  t.pass('watchdog gone');
});

t.test('stop() ends the watchdog at once and is idempotent; a stale time under two beats is refused', async (t) => {
  const dog = startWatchdog(5000);
  t.ok(dog.pid > 0, 'has a pid');
  dog.stop();
  dog.stop();
  await until('the stopped watchdog to exit', () => !alive(dog.pid), 10_000);
  t.pass('stopped');
  t.throws(() => startWatchdog(1000), RangeError);
  t.throws(() => startWatchdog(Number.NaN), RangeError);
});

t.test('the watchdog process refuses arguments that are not a pid and a stale time', async (t) => {
  const child = fileURLToPath(new URL('../../bench/watchdog-child.mjs', import.meta.url));
  for (const args of [[], ['abc', '1000'], ['1', '1000'], [String(process.pid), '0'], [String(process.pid), 'x']]) {
    const r = spawnSync(process.execPath, [child, ...args], { encoding: 'utf8', timeout: 10_000, input: '' });
    t.equal(r.status, 2, `exit 2 for ${JSON.stringify(args)}`);
    t.match(r.stderr, /usage: watchdog-child\.mjs <bench pid> <stale ms>/);
  }
});
