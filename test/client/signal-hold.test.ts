// cli/signal-hold.ts, the SIGINT/SIGTERM hold of register and unregister, in a child
// process of its own (test/fixtures/signal-hold-child.ts, driven on stdin, without tap's
// NODE_OPTIONS, whose signal-exit would change how a signal ends it): a first signal is
// held (its message once, the command goes on, exit 130/143 at its end); a second
// signal, of either kind, ends the process by that signal; so does any signal while
// atOnce is set (register's code prompt: nothing to protect) and endBy (a signal that
// came before the prompt); after release a signal ends it as without the hold. Ended by
// a signal, the process's proper-lockfile lock (taken after the hold, as the profile's
// is) is removed by its signal-exit, which runs only once the hold's listeners are gone.
// The CLI's own paths: test/client/cli-register-signal.test.ts, cli-unregister-signal.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.ts';
import { tempDir } from '../helpers/temp.ts';
import { until, within } from '../helpers/poll.ts';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'signal-hold-child.ts');
const MESSAGE = 'held: signal again to stop at once';

interface Child {
  proc: ChildProcess;
  /** The lock the child holds (proper-lockfile's directory). */
  lock: string;
  stdout(): string;
  stderr(): string;
  /** Sends a command and waits for its answer line. */
  ask(cmd: string, answer: string): Promise<void>;
  /** Resolves once the process ended: its exit code and signal. */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function child(t: Test): Promise<Child> {
  const dir = tempDir('hw-signal-hold-');
  const file = join(dir, 'profile');
  writeFileSync(file, '');
  const proc = spawn('/bin/sh', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', process.execPath, '--import', 'tsx', FIXTURE, file], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  proc.stdin!.on('error', () => undefined);
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  const lines = (): string[] => stdout.split('\n');
  const ask = async (cmd: string, answer: string): Promise<void> => {
    const seen = lines().filter((l) => l === answer).length;
    proc.stdin!.write(`${cmd}\n`);
    await until(`the child to answer ${cmd}`, () => lines().filter((l) => l === answer).length > seen || proc.exitCode !== null || proc.signalCode !== null, 30_000, 20);
    if (lines().filter((l) => l === answer).length === seen) throw new Error(`the child ended instead of answering ${cmd} (stderr: ${stderr})`);
  };
  await until('the child to be ready', () => lines().includes('ready') || proc.exitCode !== null, 60_000, 20);
  if (!lines().includes('ready')) throw new Error(`the child did not start: ${stderr}`);
  return { proc, lock: `${file}.lock`, stdout: () => stdout, stderr: () => stderr, ask, ended };
}

/** Sends `signal` and waits until the child said it holds it (the message on stderr). */
async function heldSignal(c: Child, signal: NodeJS.Signals): Promise<void> {
  c.proc.kill(signal);
  await until('the held message', () => c.stderr().includes(MESSAGE) || c.proc.exitCode !== null || c.proc.signalCode !== null, 30_000, 20);
}

const count = (text: string, part: string): number => text.split(part).length - 1;

for (const [first, second] of [['SIGINT', 'SIGINT'], ['SIGTERM', 'SIGTERM'], ['SIGINT', 'SIGTERM'], ['SIGTERM', 'SIGINT']] as const) {
  t.test(`a first ${first} is held, a second (${second}) ends the process by that signal`, async (t) => {
    const c = await child(t);
    t.ok(existsSync(c.lock), 'the lock is taken');
    await heldSignal(c, first);
    await c.ask('state', `interrupted ${first}`);
    t.pass('the process went on after the first signal, which it remembers');
    t.equal(count(c.stderr(), MESSAGE), 1, 'the message once');
    c.proc.kill(second);
    const end = await within(c.ended, 30_000, 'the process ending at the second signal');
    t.same(end, { code: null, signal: second }, 'ended by the second signal itself');
    t.equal(count(c.stderr(), MESSAGE), 1, 'no second message');
    t.notOk(c.stdout().includes('exit '), 'the command did not finish');
    t.notOk(existsSync(c.lock), 'the lock was removed (signal-exit ran: the hold no longer listened)');
  });
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  t.test(`a held ${signal}: the command finishes, then exits ${code}`, async (t) => {
    const c = await child(t);
    await heldSignal(c, signal);
    await c.ask('finish', `exit ${code}`);
    const end = await within(c.ended, 30_000, 'the process ending');
    t.same(end, { code, signal: null }, `exit ${code}, not killed`);
    t.equal(count(c.stderr(), MESSAGE), 1);
  });
}

t.test('no signal: exit 0', async (t) => {
  const c = await child(t);
  await c.ask('finish', 'exit 0');
  t.same(await within(c.ended, 30_000, 'the process ending'), { code: 0, signal: null });
  t.equal(c.stderr(), '');
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  t.test(`atOnce (register's code prompt): a first ${signal} ends the process at once`, async (t) => {
    const c = await child(t);
    await c.ask('atOnce', 'atOnce');
    c.proc.kill(signal);
    const end = await within(c.ended, 30_000, 'the process ending');
    t.same(end, { code: null, signal }, 'ended by the signal');
    t.notOk(c.stderr().includes(MESSAGE), 'not held: no message');
    t.notOk(existsSync(c.lock), 'the lock was removed');
  });
}

t.test('atOnce set, then cleared (the code was given): a signal is held again', async (t) => {
  const c = await child(t);
  await c.ask('atOnce', 'atOnce');
  await c.ask('calm', 'calm');
  await heldSignal(c, 'SIGTERM');
  await c.ask('state', 'interrupted SIGTERM');
  await c.ask('finish', 'exit 143');
  t.same(await within(c.ended, 30_000, 'the process ending'), { code: 143, signal: null });
});

t.test('a signal held before atOnce is set, then atOnce: the next signal ends it', async (t) => {
  const c = await child(t);
  await heldSignal(c, 'SIGINT');
  await c.ask('atOnce', 'atOnce');
  c.proc.kill('SIGTERM');
  t.same(await within(c.ended, 30_000, 'the process ending'), { code: null, signal: 'SIGTERM' });
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  t.test(`endBy(${signal}) (register: a signal that came before the prompt) ends the process by it`, async (t) => {
    const c = await child(t);
    await heldSignal(c, 'SIGINT');
    c.proc.stdin!.write(`endBy ${signal}\n`);
    const end = await within(c.ended, 30_000, 'the process ending');
    t.same(end, { code: null, signal }, `ended by ${signal}`);
    t.notOk(existsSync(c.lock), 'the lock was removed');
  });
}

t.test('after release a signal ends the process as without the hold', async (t) => {
  const c = await child(t);
  await c.ask('release', 'released');
  c.proc.kill('SIGINT');
  const end = await within(c.ended, 30_000, 'the process ending');
  t.same(end, { code: null, signal: 'SIGINT' });
  t.notOk(c.stderr().includes(MESSAGE), 'no longer held');
  t.notOk(existsSync(c.lock), 'the lock was removed');
});
