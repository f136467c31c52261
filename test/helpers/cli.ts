// Runs the `hushwire` CLI as a user would: `node bin/hushwire.js ...` as a child
// process, with a deadline, collecting exit code, stdout and stderr.
import type { Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT } from './paths.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';
import { tempDir } from './temp.ts';
import { until } from './poll.ts';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `input`: written to the command's stdin, which is then closed (without it stdin is
 *  /dev/null). */
export function hushwire(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string | Uint8Array } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...opts.env };
    delete env.HUSHWIRE_PROFILE;
    if (!opts.env?.HUSHWIRE_DEBUG) delete env.HUSHWIRE_DEBUG;
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (opts.input !== undefined) {
      // A command may stop reading before the end (send - past the largest text): EPIPE.
      p.stdin!.on('error', () => {});
      p.stdin!.end(opts.input);
    }
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    p.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`hushwire ${args[0]} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A `hushwire` command left running (a listen), its stdout and stderr pipes read as
 *  they come; SIGKILLed at the test's end if it is still running. */
export interface RunningCommand {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Its exit code once its pipes closed. */
  exited: Promise<number | null>;
}

/** `withoutTapHooks`: without tap's NODE_OPTIONS, for the signal tests. Tap adds its own
 *  --import (@tapjs/processinfo, whose signal-exit listens for SIGINT and SIGTERM) to
 *  every child it sees spawned, which changes how a signal ends the command and hid a
 *  fault (proper-lockfile's signal-exit re-raises a signal only when it finds itself the
 *  last listener); a shell drops it before the CLI starts. */
export function startHushwire(t: { teardown(fn: () => unknown): void }, args: string[], opts: { withoutTapHooks?: boolean } = {}): RunningCommand {
  const env = { ...process.env };
  delete env.HUSHWIRE_PROFILE;
  const proc = opts.withoutTapHooks
    ? spawn('/bin/sh', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', process.execPath, BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return { proc, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Whether script(1) is installed, which hushwireAtTerminal needs. */
export const haveScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/** A `hushwire` command at a terminal, as a user types it: run under script(1) on a pty
 *  of its own, without tap's NODE_OPTIONS (its signal-exit changes how a signal ends the
 *  command); what the pty shows (prompts, stderr and stdout alike) is collected, `type`
 *  writes keys to it. SIGKILLed at the test's end if it is still running. */
export function hushwireAtTerminal(t: { teardown(fn: () => unknown): void }, args: string[]) {
  const line = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.HUSHWIRE_PROFILE;
  const proc = spawn('script', ['-qefc', `exec ${line}`, '/dev/null'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  proc.stderr!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  proc.stdin!.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  /** The hushwire process itself (script's child, which exec'd node). */
  const commandPid = (): number => Number(readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  return { proc, out: () => out, exited, commandPid, type: (s: string) => proc.stdin!.write(s) };
}

/** Sends `signal` to a running command and resolves once it said it was interrupted
 *  (stderr) or ended: a bus hook that calls it holds the relay's write until then, so
 *  the signal lands while the relay is in the middle of the command's op. */
export async function signalUntilInterrupted(run: RunningCommand, signal: NodeJS.Signals): Promise<void> {
  run.proc.kill(signal);
  const ended = () => run.proc.exitCode !== null || run.proc.signalCode !== null;
  await Promise.race([run.exited, until('the command to say it was interrupted', () => run.stderr().includes('interrupted') || ended(), 60_000).catch(() => undefined)]);
}

/** A gateway for CLI tests (in-process, embedded bus, closed when the test ends) and one
 *  profile per number, registered through `hushwire register` in a fresh temp dir named
 *  from `prefix`: profiles[i] (…/a, …/b, …) belongs to numbers[i]. */
export async function cliProfiles(t: { teardown(fn: () => unknown): void }, numbers: readonly string[], prefix = 'hw-cli-'): Promise<{ gw: TestGateway; profiles: string[] }> {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const dir = tempDir(prefix);
  const profiles = numbers.map((_, i) => join(dir, String.fromCharCode(97 + i)));
  for (let i = 0; i < numbers.length; i++) {
    const r = await hushwire(['register', '--gateway', gw.url, '--number', numbers[i]!, '--profile', profiles[i]!]);
    if (r.code !== 0) throw new Error(`register failed: ${r.stderr}`);
  }
  return { gw, profiles };
}

/** Problems with an error report: it must be exactly one stderr line in the CLI's
 *  format, with this code, and no stack trace. An empty list means it is right. */
export function errorLineProblems(r: Run, code: string): string[] {
  const problems: string[] = [];
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  if (lines.length !== 1) problems.push(`expected one stderr line, got ${JSON.stringify(r.stderr)}`);
  if (!new RegExp(`^hushwire: .+ \\(${code}\\)$`).test(lines[0] ?? '')) problems.push(`not "hushwire: <message> (${code})": ${JSON.stringify(lines[0])}`);
  if (/\n\s+at /.test(r.stderr)) problems.push('has a stack trace');
  return problems;
}

/** The number's devices as `hushwire discover` (from the profile `viewer`) tells them,
 *  its exit checked: how the signal tests see what the relay kept under a number. */
export async function discovered(t: Test, viewer: string, number: string): Promise<unknown> {
  const found = await hushwire(['discover', '--profile', viewer, number]);
  t.equal(found.code, 0, found.stderr);
  return JSON.parse(found.stdout);
}

/** What the CLI's command tree throws for `argv` (hushwire's arguments, no child
 *  process), for usage and profile errors raised before any I/O; throws when the command
 *  ran without one. cli/program.ts is loaded on first use only. */
export async function cliFailure(argv: string[]): Promise<unknown> {
  const { buildProgram } = await import('../../cli/program.ts');
  try {
    await buildProgram().parseAsync(['node', 'hushwire', ...argv]);
  } catch (e) {
    return e;
  }
  throw new Error(`hushwire ${argv.join(' ')} ran without an error`);
}
