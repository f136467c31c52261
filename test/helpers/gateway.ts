// Starts gateways for tests: in-process (fast, logs captured) or as a child process
// (so a test can SIGKILL it). Always on 127.0.0.1 with port 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { onExit } from 'signal-exit';
import { resolveConfig, type GatewayConfig } from '../../gateway/config.ts';
import { startGateway, type GatewayHandle, type StartOptions } from '../../gateway/server.ts';

import type { Test } from 'tap';
import { BIN } from './paths.ts';
import { tempDir } from './temp.ts';
import { startNatsServer } from './nats-server.ts';

export { ROOT, BIN } from './paths.ts';

/** A fresh OPRF key file shared by the gateways of one test. */
export function oprfKeyFile(): string {
  const dir = tempDir('hw-key-');
  const f = join(dir, 'oprf.key');
  writeFileSync(f, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return f;
}

export interface TestGateway extends GatewayHandle {
  /** Every log line written so far. */
  logs(): string;
}

/** `start`: test-only start options (gateway/server.ts StartOptions), e.g. a short code
 *  lifetime. */
export async function startTestGateway(overrides: Partial<Record<keyof GatewayConfig, unknown>> = {}, start: Omit<StartOptions, 'logDestination'> = {}): Promise<TestGateway> {
  const config = resolveConfig({ host: '127.0.0.1', port: 0, logLevel: 'debug', ...overrides }, {});
  const sink = new PassThrough();
  const chunks: string[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const gw = await startGateway(config, { ...start, logDestination: sink });
  return Object.assign(Object.create(null), gw, { logs: () => chunks.join('') }) as TestGateway;
}

/** Waits for an in-process gateway's OPRF worker thread, which the gateway starts when
 *  it starts listening (gateway/server.ts): its start still takes seconds on a loaded
 *  machine (3-5 s with two test files running on two CPUs, far more in a parallel
 *  suite), which would otherwise fall on a test's first registration at that gateway,
 *  under the SDK's request deadline (15 s for a register). */
export async function warmEvaluator(gw: GatewayHandle): Promise<void> {
  await gw.relay.evaluator.ready?.();
}

export interface ChildGateway {
  url: string;
  pid: number;
  proc: ChildProcess;
  /** stdout and stderr, interleaved as they arrived. */
  output(): string;
  /** stdout alone (JSON log lines). */
  stdout(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Child gateways register the devices of bench runs and CLI tests through the dev
 *  verifier, often more than the default verification code budget (30 at once, then 3/s:
 *  relay/verify-gate.ts) allows: unless a test sets the budget itself, it is raised out
 *  of the way. test/gateway/verify-budget.test.ts tests the budget. */
function codeBudgetFor(args: string[], env: NodeJS.ProcessEnv): string[] {
  const set = args.some((a) => a.startsWith('--verify-start-')) || Object.keys(env).some((k) => k.startsWith('HUSHWIRE_VERIFY_START_'));
  return set ? [] : ['--verify-start-rate', '10000', '--verify-start-burst', '1000000'];
}

/** Runs `hushwire gateway` as a child process and waits for its listening line (stderr).
 *  `prefix`: a command that execs node in the same process (e.g. prlimit with limits). */
export async function spawnGateway(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000, prefix: string[] = []): Promise<ChildGateway> {
  const [cmd, ...pre] = [...prefix, process.execPath];
  const proc = spawn(cmd!, [...pre, BIN, 'gateway', '--host', '127.0.0.1', '--port', '0', ...codeBudgetFor(args, env), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); stdout += c.toString('utf8'); });
  proc.stderr!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`gateway did not start in time:\n${out}`)); }, timeoutMs);
    const check = () => {
      const m = /listening on (ws:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    };
    // The human start-up line is on stderr (stdout holds only JSON log lines).
    proc.stdout!.on('data', check);
    proc.stderr!.on('data', check);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`gateway exited with ${code}:\n${out}`)); });
  });
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  // At the test process's end, also by a signal (signal-exit, as tap's reporting).
  onExit(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  return { url, pid: proc.pid!, proc, output: () => out, stdout: () => stdout, kill };
}

/** An in-process gateway on a nats-server of its own (both stopped at the test's end),
 *  with a fresh OPRF key, one mailbox shard and warn-level logs; `overrides` go to
 *  startTestGateway (e.g. a --resume-key-file). */
export async function natsTestGateway(t: Test, natsPrefix: string, overrides: Partial<Record<keyof GatewayConfig, unknown>> = {}): Promise<TestGateway> {
  const server = await startNatsServer({ t });
  const gw = await startTestGateway({ nats: [server.url], oprfKeyFile: oprfKeyFile(), natsPrefix, mailboxShards: 1, logLevel: 'warn', ...overrides });
  t.teardown(() => gw.close());
  return gw;
}

/** Two in-process gateways sharing one nats-server of their own and one OPRF key (all
 *  stopped at the test's end), one mailbox shard each, named `<prefix>0` and
 *  `<prefix>1`; `overrides` and `start` go to both (startTestGateway). */
export async function natsGatewayPair(t: Test, natsPrefix: string, overrides: Partial<Record<keyof GatewayConfig, unknown>> = {}, start: Omit<StartOptions, 'logDestination'> = {}): Promise<[TestGateway, TestGateway]> {
  const nats = await startNatsServer({ t });
  return natsGatewayPairOn(t, nats.url, natsPrefix, overrides, start);
}

/** natsGatewayPair on a nats-server the test started (and talks to itself). */
export async function natsGatewayPairOn(t: Test, natsUrl: string, natsPrefix: string, overrides: Partial<Record<keyof GatewayConfig, unknown>> = {}, start: Omit<StartOptions, 'logDestination'> = {}): Promise<[TestGateway, TestGateway]> {
  const key = oprfKeyFile();
  const gws: TestGateway[] = [];
  for (let i = 0; i < 2; i++) {
    const gw = await startTestGateway({ nats: natsUrl, oprfKeyFile: key, natsPrefix, mailboxShards: 1, logLevel: 'warn', name: `${natsPrefix}${i}`, ...overrides }, start);
    t.teardown(() => gw.close());
    gws.push(gw);
  }
  return gws as [TestGateway, TestGateway];
}
