// `npm run bench` (docs/BENCHMARKS.md's first command) and SIGTERM: the signal a CI job's
// timeout, a container runtime or `kill <npm pid>` sends to the process it started,
// here npm. npm forwards it to its script's shell; a shell that runs node as its child
// (dash, Debian's sh, does not exec a script's last command) died of it and left the
// bench running, orphaned: its nats-server, gateways and generator threads went on until
// the run ended by itself, and no "interrupted" line said so. The script execs node, so
// the SIGTERM reaches the bench, which stops what it started and says so (exit 143).
import t from 'tap';
import { spawn } from 'node:child_process';
import { ROOT } from '../helpers/paths.ts';
import { alive, descendants } from '../helpers/pid.ts';
import { until } from '../helpers/poll.ts';

t.setTimeout(120_000);

t.test('npm run bench: SIGTERM to npm interrupts the bench, which stops what it started', async (t) => {
  const args = ['run', '--silent', 'bench', '--', '--peers', 'none', '--workload', 'chat', '--pairs', '4', '--duration', '30', '--warmup', '0', '--grace', '1'];
  const npm = spawn('npm', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  npm.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  npm.stdout.resume();
  const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
  let started: number[] = [];
  t.teardown(() => {
    // Only what this test started: npm and whatever ran under it.
    for (const pid of [...started, npm.pid!]) if (alive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  });
  // Deadlines only guard against a hang (a local setup on a loaded machine takes seconds).
  // A progress line of the measured run ("[hushwire chat] 1.0s  sent ..."), not the
  // connect line ("[hushwire chat] 8 connected in ..."), which comes before it.
  await until('the chat run to measure', () => /\[hushwire chat\] \d+\.\ds /.test(err) || npm.exitCode !== null, 90_000);
  started = descendants(npm.pid!);
  t.ok(started.length >= 3, 'the bench runs under npm with its servers');

  npm.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000).unref())]);
  t.not(code, 'hung', 'npm exits');
  t.not(code, 0, 'with a failure status (the bench was interrupted)');
  t.match(err, /^hushwire bench: interrupted \(SIGTERM\) during hushwire chat \(measuring\): stopped \d+ process/m, 'the bench heard the signal and says what it stopped');
  await until('everything under npm to end', () => started.every((pid) => !alive(pid)), 15_000).catch(() => {});
  t.same(started.filter((pid) => alive(pid)), [], 'nothing it started is left running');
});
