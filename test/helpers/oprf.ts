// OPRF evaluators for tests: `hushwire oprf` services in this process (logs captured)
// on a real nats-server, a gateway's OPRF client to them through a TCP proxy, and key
// files for gateways and child processes.
import { PassThrough } from 'node:stream';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { createLogger, type LogOptions } from '../../relay/log.ts';
import { RemoteEvaluator, type RemoteEvaluatorOptions } from '../../relay/evaluator-remote.ts';
import { blindNumbers, finalizeNumbers, routeFromOutput } from '../../relay/crypto/oprf.ts';
import { OprfService } from '../../relay/oprf-service.ts';
import { formatScalarKey } from '../../relay/evaluator.ts';
import type { OprfKeyPair } from '../../relay/crypto/oprf.ts';
import { BIN, ROOT } from './paths.ts';
import { httpStatus, until, within } from './poll.ts';
import { tcpProxy } from './tcp-proxy.ts';

export interface TestEvaluator {
  service: OprfService;
  /** Every log line written so far. */
  logs(): string;
  close(): Promise<void>;
}

export interface TestEvaluatorOptions {
  servers: string[];
  key: OprfKeyPair;
  id?: string;
  prefix?: string;
  threads?: number;
  maxBatch?: number;
  maxQueued?: number;
  /** Reply-subject prefixes the evaluator answers (default _INBOX). */
  replyPrefixes?: string[];
  /** Closes the evaluator at this test's teardown. */
  t?: { teardown(fn: () => unknown): void };
}

/** Polls `cond` until true; throws `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts an evaluator service and waits until it is subscribed on NATS. */
export async function startTestEvaluator(o: TestEvaluatorOptions): Promise<TestEvaluator> {
  const sink = new PassThrough();
  const chunks: string[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const service = new OprfService({
    servers: o.servers, id: o.id ?? 'main', prefix: o.prefix ?? 'hw', key: o.key,
    threads: o.threads ?? 1, maxBatch: o.maxBatch ?? 1000, maxQueuedElements: o.maxQueued ?? 2000,
    name: `test-oprf-${o.id ?? 'main'}`, log: createLogger({ level: 'debug', destination: sink, name: 'hushwire-oprf' }),
    ...(o.replyPrefixes ? { replyPrefixes: o.replyPrefixes } : {}),
  });
  await service.start();
  await waitUntil(() => service.ready, 'the evaluator to subscribe');
  const handle: TestEvaluator = { service, logs: () => chunks.join(''), close: () => service.close() };
  o.t?.teardown(() => service.close());
  return handle;
}

export interface ProxiedEvaluatorClient {
  ev: RemoteEvaluator;
  /** Between the client and the nats-server: cut, open, loseInterest (tcp-proxy.ts). */
  proxy: Awaited<ReturnType<typeof tcpProxy>>;
  /** Every log line of the client so far. */
  logs(): string;
}

/** A gateway's OPRF client (RemoteEvaluator; one evaluator, 'main', pinned to `key`) on
 *  the nats-server at `natsPort` through a TCP proxy, so that its connection alone can be
 *  cut or lose its reply interest; named `name`, logging at `logLevel`, `options` the
 *  rest (timeoutMs, outageGraceMs, registry, renewPolicy). Started; resolves once it is
 *  connected; closed, and the proxy cut, at the test's end. */
export async function proxiedEvaluatorClient(
  t: { teardown(fn: () => unknown): void }, natsPort: number, key: OprfKeyPair, name: string, logLevel: NonNullable<LogOptions['level']>,
  options: Omit<RemoteEvaluatorOptions, 'servers' | 'evaluators' | 'name' | 'log'>,
): Promise<ProxiedEvaluatorClient> {
  const proxy = await tcpProxy(natsPort);
  const chunks: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const ev = new RemoteEvaluator({
    servers: [proxy.url], evaluators: [{ id: 'main', publicKey: key.publicKey }], name, log: createLogger({ level: logLevel, destination: sink }), ...options,
  });
  t.teardown(async () => { await ev.close(); await proxy.cut(); });
  await ev.start();
  await until('connected', () => ev.connected, 15_000);
  return { ev, proxy, logs: () => chunks.join('') };
}

/** The route `number` maps to, evaluated by `ev` (blinded, finalized against `key`), hex. */
export async function evaluatedRoute(ev: Pick<RemoteEvaluator, 'evaluate'>, key: OprfKeyPair, number: string): Promise<string> {
  const { blinds, blinded } = blindNumbers([number]);
  const res = await ev.evaluate(blinded);
  return bytesToHex(routeFromOutput(finalizeNumbers([number], blinds, blinded, res.evaluated, res.proof, key.publicKey)[0]!));
}

/** An evaluation's route, or 'failed: <message>' (also when it is not answered within
 *  60 s): a value a test compares. */
export const evaluationOutcome = (p: Promise<string>): Promise<string> =>
  within(p, 60_000, 'the evaluation').catch((e: unknown) => `failed: ${e instanceof Error ? e.message : String(e)}`);

/** A key file (seed form or scalar form) in a fresh temp dir. */
export function writeKeyFile(key: { seed?: Uint8Array; secretKey?: Uint8Array }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hw-oprf-key-'));
  const f = join(dir, 'oprf.key');
  const text = key.seed ? `${bytesToHex(key.seed)}\n` : formatScalarKey(key.secretKey!);
  writeFileSync(f, text, { mode: 0o600 });
  return f;
}

export interface OprfChild {
  proc: ChildProcess;
  /** The port of its HTTP listener (/healthz, /readyz, /metrics). */
  port: number;
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
}

/**
 * Runs `hushwire oprf --port 0 --threads 1 --nats <url> ARGS` as a child process (killed
 * at the test's teardown) and waits until it serves and its /readyz answers 200.
 */
export async function spawnOprfChild(t: { teardown(fn: () => unknown): void }, natsUrl: string, args: string[]): Promise<OprfChild> {
  const proc = spawn(process.execPath, [BIN, 'oprf', '--port', '0', '--threads', '1', '--nats', natsUrl, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  proc.stderr!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  const serving = /hushwire oprf serving .*http:\/\/127\.0\.0\.1:(\d+)/;
  await until('the evaluator to serve', () => serving.test(out) || proc.exitCode !== null, 60_000);
  const port = Number(serving.exec(out)?.[1]);
  await until('the evaluator to be ready', async () => await httpStatus(`http://127.0.0.1:${port}/readyz`) === 200, 20_000);
  return { proc, port, output: () => out };
}
