// `npm test` (README's second command) and signals. npm forwards SIGTERM to its script's
// shell; a script shell that ran scripts/test.sh as a child (dash does not exec a
// script's last command) died of it, and so did the bash running test.sh, which had no
// trap: tap, its test files and the nats-servers those started ran on, orphaned, with
// nobody left to read their output. package.json now execs test.sh, and test.sh stops
// the running step on SIGINT, SIGTERM or SIGHUP, still ends with its summary line, and
// exits 128 + the signal's number.
//
// tap ends by itself after the signal, promptly: tap 21 passes a signal on only to the
// test files it runs in parallel, not to a file it runs alone (as here, one file), and
// waited for that file to end by itself while test.sh waited 30 s for tap before ending
// the step's group. test.sh now sends the signal to the test files tap was running that
// still run 2 s later, and says whether tap stopped or had to be ended (its fallback).
//
// The run happens in a copy of the repo's files (tracked, and untracked but not ignored;
// node_modules linked, as test.sh allows), so that the nested tap does not share this
// run's .tap/ directory. The one test file it runs (test/fixtures/holds-nats.ts) starts a
// real nats-server through the suite's helper and then waits until it is stopped.
//
// Of the TypeScript sources, the copy holds only the test file it runs and what that
// imports: test.sh's type-check step still runs (and must pass), on those few files. On
// the whole repo it took 20-25 s at load 8 and a minute or more at load 10-13, three
// times in this file (once a run), before the test file even started: the runs together
// outlasted the file's 240 s and the leftover case's 120 s, bounds meant for a hang, and
// the file timed out on a loaded machine (the signals' handling was never at fault).
import t, { type Test } from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from '../helpers/paths.ts';
import { alive, descendants } from '../helpers/pid.ts';
import { until } from '../helpers/poll.ts';
import { tempDir } from '../helpers/temp.ts';

t.setTimeout(240_000);

/** `entry` (a .ts file, relative to the repo) and the .ts files it imports, theirs, and
 *  so on (relative imports). */
function importClosure(entry: string): Set<string> {
  const found = new Set<string>();
  const visit = (f: string): void => {
    if (found.has(f) || !existsSync(join(ROOT, f))) return;
    found.add(f);
    const source = readFileSync(join(ROOT, f), 'utf8');
    for (const m of source.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+\.ts)['"]/g)) {
      visit(relative(ROOT, resolve(ROOT, dirname(f), m[1]!)));
    }
  };
  visit(entry);
  return found;
}

/** A copy of the repo for running `testFile`: every file but the TypeScript sources
 *  `testFile` does not import (declaration files kept: the generated code's check). */
function copyOfRepo(testFile: string): string {
  const dir = tempDir('hw-npmtest-');
  const needed = importClosure(testFile);
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => f !== '')
    // node_modules: linked below (in a git worktree it is itself a link, which git lists).
    .filter((f) => f !== 'node_modules' && (!f.endsWith('.ts') || f.endsWith('.d.ts') || needed.has(f)));
  for (const f of files) {
    const from = join(ROOT, f);
    if (!existsSync(from)) continue; // deleted in a working tree, not yet committed
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(from, join(dir, f));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** `npm test -- <testFile>` in a fresh copy of the repo, HOLD_MARK naming a file in it
 *  (the fixture writes pids there), its output collected. At the test's end npm and every
 *  pid put in `toKill` are SIGKILLed if still running: only what this test started. */
function npmTestInCopy(t: Test, testFile: string) {
  const mark = join(copyOfRepo(testFile), 'hold.mark');
  const env: NodeJS.ProcessEnv = { ...process.env, HOLD_MARK: mark };
  // This file runs under tap: the nested tap must not take itself for one of its children.
  for (const k of Object.keys(env)) if (k.startsWith('TAP') || k.startsWith('_TAP') || k.startsWith('HUSHWIRE_')) delete env[k];
  const npm = spawn('npm', ['test', '--', testFile], { cwd: dirname(mark), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  npm.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  npm.stderr.on('data', (b: Buffer) => { out += b.toString(); });
  // npm exits with its script's status, or by the same signal when it re-raises it.
  const exited = new Promise<number | string | null>((r) => npm.once('exit', (c, sig) => r(c ?? sig)));
  const toKill: number[] = [];
  t.teardown(() => {
    if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
    for (const pid of toKill) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  return { npm, mark, out: () => out, exited, toKill };
}

// npm passes on SIGTERM and SIGINT to its script (not SIGHUP: npm dies of that itself).
for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  t.test(`npm test: ${signal} to npm stops tap, its test files and their servers, and reports`, async (t) => {
    const { npm, mark, out, exited, toKill } = npmTestInCopy(t, 'test/fixtures/holds-nats.ts');

    // The type-check before the tests takes ~15 s; the deadline only guards a hang.
    await until('the held test to start its nats-server', () => existsSync(mark) || npm.exitCode !== null, 180_000, 200);
    const natsPid = Number(readFileSync(mark, 'utf8').split(' ')[0]);
    const tree = descendants(npm.pid!);
    toKill.push(...tree);
    t.ok(tree.includes(natsPid), 'the nats-server runs under npm test');

    npm.kill(signal);
    const got = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000).unref())]);
    t.ok(got === code || got === signal, `npm exits ${code} (128 + the signal's number) or by ${signal}`, { got });
    await until('every process under npm test to end', () => tree.every((pid) => !alive(pid)), 20_000).catch(() => {});
    t.same(tree.filter((pid) => alive(pid)), [], 'nothing is left running (tap, test file, nats-server, tee)');
    t.notOk(alive(natsPid), 'the test file\'s nats-server stopped');
    // tap stopped by itself: its test file ended by the signal (through its exit hooks),
    // tap reported it and wrote its own last line, and test.sh did not have to end it.
    const diag = { out: out().slice(-3000) };
    t.match(out(), /^ {2}signal: SIGTERM$/m, 'tap reports its test file as ended by the signal', diag);
    t.match(out(), /^# \{ total: 1, pass: 0, fail: 1 \}$/m, 'tap ends its own report: it was not killed', diag);
    t.match(out(), /^== '\S*tap \.\.\.' stopped$/m, 'test.sh says tap stopped after the signal', diag);
    t.notMatch(out(), /did not stop within/, 'and not that it had to end it', diag);
    const lines = out().trimEnd().split('\n');
    t.match(lines.at(-1) ?? '', /^\d+ passed, [1-9]\d* failed, \d+ skipped$/, 'the summary line is last and counts a failure');
    t.match(out(), new RegExp(`interrupted by ${signal}`), 'and says the run was interrupted');
  });
}

t.test('npm test: a process a test file left running is named and stopped after tap', async (t) => {
  const { npm, mark, out, exited, toKill } = npmTestInCopy(t, 'test/fixtures/leaves-a-process.ts');
  await until('the test file to start its process', () => existsSync(mark) || npm.exitCode !== null, 180_000, 200);
  const leftPid = Number(readFileSync(mark, 'utf8'));
  toKill.push(leftPid);
  const got = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 120_000).unref())]);
  t.equal(got, 0, 'npm test passes: the test did (a leftover is named, not counted)');
  t.notOk(alive(leftPid), 'the process it left is stopped');
  t.match(out(), new RegExp(`== processes left running by '\\S*tap \\.\\.\\.' \\(stopped now\\):\\n  ${leftPid} sleep 300`), 'and named, with its pid and command line');
  t.match(out().trimEnd().split('\n').at(-1) ?? '', /^1 passed, 0 failed, 0 skipped$/, 'the summary line is last');
});
