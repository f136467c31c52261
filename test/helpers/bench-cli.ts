// Runs `hushwire bench` as a load tester would (`node bin/hushwire.js bench ...`),
// collecting exit code, stdout and stderr. A run past its deadline is killed (SIGKILL)
// and resolves with what it printed so far and code null, so the test's own checks
// say what went wrong rather than a timeout.
import { spawn } from 'node:child_process';
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
