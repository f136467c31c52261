// Runs `hushwire bench` as a load tester would (`node bin/hushwire.js bench ...`),
// collecting exit code, stdout and stderr. A run past its deadline is killed (SIGKILL)
// and resolves with what it printed so far and code null, so the test's own checks
// say what went wrong rather than a timeout.
import { spawn } from 'node:child_process';
import { CommanderError } from 'commander';
import { benchCommand } from '../../cli/commands/bench.ts';
import { BIN } from './paths.ts';

export interface BenchRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runBench(args: string[], timeoutMs = 30_000): Promise<BenchRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

class Parsed extends Error {
  readonly opts: Record<string, unknown>;
  constructor(opts: Record<string, unknown>) {
    super('parsed');
    this.opts = opts;
  }
}

/** The options `hushwire bench args` parses to, or its usage error's text: the command's
 *  own parsing only (a hook stops it before anything starts). */
export function parseBenchArgs(args: string[]): Record<string, unknown> | string {
  const cmd = benchCommand().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  cmd.hook('preAction', (c) => { throw new Parsed(c.opts()); });
  try {
    cmd.parse(args, { from: 'user' });
  } catch (e) {
    if (e instanceof Parsed) return e.opts;
    if (e instanceof CommanderError) return e.message;
    throw e;
  }
  throw new Error('neither parsed nor refused');
}
