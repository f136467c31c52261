// A node process running `script` with its inspector on a random loopback port (for the
// bench's inspector clients: bench/inspect.ts, bench/heap-sample.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { INSPECTOR_LINE } from '../../bench/inspector.ts';

export interface Inspected {
  url: string;
  child: ChildProcess;
  /** SIGKILL and wait for the exit; idempotent. */
  kill(): Promise<void>;
}

export function startInspected(script: string, deadlineMs = 10_000, readyMarker?: string): Promise<Inspected> {
  // The script ends by itself after a minute whatever happens to the test.
  return inspectedChild(['--inspect=127.0.0.1:0', '-e', `${script}; setTimeout(() => process.exit(0), 60000);`], deadlineMs, readyMarker);
}

/** A TypeScript file run through tsx, as the gateways are (one line of JavaScript per
 *  module), once it wrote `readyMarker` on stderr; the file ends itself. */
export function startInspectedTs(file: string, readyMarker: string, deadlineMs = 20_000): Promise<Inspected> {
  return inspectedChild(['--import', 'tsx', '--inspect=127.0.0.1:0', file], deadlineMs, readyMarker);
}

async function inspectedChild(args: string[], deadlineMs: number, readyMarker?: string): Promise<Inspected> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = once(child, 'exit');
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString('utf8'); });
  const until = Date.now() + deadlineMs;
  for (;;) {
    const url = INSPECTOR_LINE.exec(err)?.[1];
    // With a marker: also wait until the script says it is under way (the inspector's URL
    // comes before Node has even loaded the script).
    if (url !== undefined && (readyMarker === undefined || err.includes(readyMarker))) return { url, child, kill };
    if (Date.now() > until || child.exitCode !== null) {
      await kill();
      throw new Error(`no inspector URL in: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
