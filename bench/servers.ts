// The local setup the bench starts and stops itself: nats-server (JetStream and/or its
// WebSocket listener), Hushwire gateways as child processes, Mosquitto, and the
// Socket.IO relay. Loopback only, free ports, temp dirs removed on stop.
import { accessSync, constants as fsConstants, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { delimiter, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePorts, startChild, type Child } from './procs.ts';
import { makeTempDir } from './interrupt.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'hushwire.js');
const READY_MS = 20_000;
/** A cluster's meta leader election takes a few seconds after the servers start. */
const CLUSTER_READY_MS = 30_000;
/** Longest wait for `apt-get install mosquitto`. */
const APT_TIMEOUT_MS = 180_000;

function findBinary(name: string, extra: string[]): string | null {
  const candidates = [...extra];
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) if (dir) candidates.push(join(dir, name));
  candidates.push(`/usr/sbin/${name}`, `/usr/bin/${name}`);
  for (const c of candidates) {
    try {
      accessSync(c, fsConstants.X_OK);
      return c;
    } catch { /* next */ }
  }
  return null;
}

export function natsServerBinary(): string | null {
  return findBinary('nats-server', process.env['NATS_SERVER_BIN'] ? [process.env['NATS_SERVER_BIN']] : []);
}

/** A temp dir removed when `cleanup` runs, or by the bench's interrupt and exit paths
 *  (bench/interrupt.ts) when a signal or an error ends the bench before that. */
function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const { dir, remove } = makeTempDir(prefix);
  return { dir, cleanup: remove };
}

export interface Server {
  child: Child;
  stop(): Promise<void>;
}

export interface NatsServer extends Server {
  url: string;
  /** ws://127.0.0.1:<port> when started with a WebSocket listener. */
  wsUrl: string | null;
}

export async function startNats(opts: { jetstream: boolean; websocket: boolean }): Promise<NatsServer> {
  const bin = natsServerBinary();
  if (bin === null) throw new Error('nats-server not found (Debian package nats-server, or set NATS_SERVER_BIN)');
  const { dir, cleanup } = tempDir('hw-bench-nats-');
  const [port, wsPort] = await freePorts(2) as [number, number];
  const lines = [`listen: "127.0.0.1:${port}"`, `server_name: "hw_bench_${port}"`];
  if (opts.jetstream) lines.push('jetstream {', `  store_dir: ${JSON.stringify(join(dir, 'js'))}`, '  max_memory_store: 268435456', '  max_file_store: 4294967296', '}');
  // no_tls: loopback only; the bench never leaves the machine.
  if (opts.websocket) lines.push('websocket {', `  listen: "127.0.0.1:${wsPort}"`, '  no_tls: true', '  compression: false', '}');
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, lines.join('\n') + '\n');
  const child = startChild('nats-server', bin, ['-c', conf]);
  try {
    await child.waitFor(/Server is ready/, READY_MS);
  } catch (e) {
    await child.stop();
    cleanup();
    throw e;
  }
  return {
    child,
    url: `nats://127.0.0.1:${port}`,
    wsUrl: opts.websocket ? `ws://127.0.0.1:${wsPort}` : null,
    stop: async () => { await child.stop(); cleanup(); },
  };
}

export interface NatsCluster {
  /** One client URL per node, in node order. */
  urls: string[];
  /** Each node's monitoring endpoint (http://127.0.0.1:port), in node order. */
  monitorUrls: string[];
  children: Child[];
  stop(): Promise<void>;
}

/** GET http://127.0.0.1:<port><path>: the status code, or 0 when it cannot be read. */
function httpStatus(port: number, path: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = httpGet({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** `n` nats-servers with JetStream in one cluster (routes on loopback), as an operator
 *  runs them (docs/OPERATIONS.md), ready once each has a JetStream meta leader. */
export async function startNatsCluster(n: number): Promise<NatsCluster> {
  const bin = natsServerBinary();
  if (bin === null) throw new Error('nats-server not found (Debian package nats-server, or set NATS_SERVER_BIN)');
  const { dir, cleanup } = tempDir('hw-bench-natsc-');
  const ports = await freePorts(3 * n);
  const name = `hw_bench_c${ports[0]}`;
  const route = (i: number): string => `nats-route://127.0.0.1:${ports[3 * i + 2]}`;
  const children: Child[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => c.stop()));
    cleanup();
  };
  try {
    for (let i = 0; i < n; i++) {
      const conf = join(dir, `n${i}.conf`);
      writeFileSync(conf, [
        `server_name: "${name}_n${i}"`,
        `listen: "127.0.0.1:${ports[3 * i]}"`,
        `http: "127.0.0.1:${ports[3 * i + 1]}"`,
        'jetstream {', `  store_dir: ${JSON.stringify(join(dir, `n${i}`))}`, '  max_memory_store: 268435456', '  max_file_store: 4294967296', '}',
        'cluster {', `  name: "${name}"`, `  listen: "127.0.0.1:${ports[3 * i + 2]}"`,
        `  routes: [${Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).map((j) => JSON.stringify(route(j))).join(', ')}]`, '}',
      ].join('\n') + '\n');
      children.push(startChild(`nats-server n${i}`, bin, ['-c', conf]));
    }
    // /healthz answers 200 only once the server has a JetStream meta leader: before, the
    // gateways' stream and bucket creation would fail and they would not be ready.
    const deadline = Date.now() + CLUSTER_READY_MS;
    for (let i = 0; i < n; i++) {
      while ((await httpStatus(ports[3 * i + 1]!, '/healthz', 1000)) !== 200) {
        if (Date.now() > deadline) throw new Error(`nats-server cluster not ready within ${CLUSTER_READY_MS / 1000} s:\n${children[i]!.output().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return {
      urls: Array.from({ length: n }, (_, i) => `nats://127.0.0.1:${ports[3 * i]}`),
      monitorUrls: Array.from({ length: n }, (_, i) => `http://127.0.0.1:${ports[3 * i + 1]}`),
      children, stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface Gateways {
  urls: string[];
  children: Child[];
  stop(): Promise<void>;
}

export interface GatewayOptions {
  count: number;
  transport: 'uws' | 'ws';
  /** Gateway i connects to natsUrls[i % length] (one node of a cluster each, in turn). */
  natsUrls: string[];
  /** Extra `hushwire gateway` flags. */
  args?: string[];
  /** Extra node flags (e.g. --cpu-prof) for the gateway processes. */
  nodeArgs?: string[];
}

/** How long a started gateway may take to become ready (its bus set up). */
const GATEWAY_READY_MS = 60_000;

/** Resolves once the gateway at `wsUrl` answers /readyz 200 (its HTTP endpoints share
 *  the WebSocket port unless --admin-listen moved them: then there is nothing to ask,
 *  and a 404 is taken as ready); throws with its last log lines after GATEWAY_READY_MS. */
async function waitGatewayReady(c: Child, wsUrl: string): Promise<void> {
  const port = Number(new URL(wsUrl).port);
  const deadline = Date.now() + GATEWAY_READY_MS;
  for (;;) {
    const status = await httpStatus(port, '/readyz', 1000);
    if (status === 200 || status === 404) return;
    if (c.proc.exitCode !== null) throw new Error(`${c.name} exited ${c.proc.exitCode} before it was ready:\n${c.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`${c.name} not ready within ${GATEWAY_READY_MS / 1000} s (its bus is not set up):\n${c.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `hushwire gateway` child processes on nats-server (a cluster's nodes in turn), sharing a fresh OPRF key. */
export async function startGateways(o: GatewayOptions): Promise<Gateways> {
  const { dir, cleanup } = tempDir('hw-bench-gw-');
  const keyFile = join(dir, 'oprf.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const children: Child[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => c.stop()));
    cleanup();
  };
  try {
    for (let i = 0; i < o.count; i++) {
      children.push(startChild(`gateway ${i}`, process.execPath, [
        ...(o.nodeArgs ?? []), BIN, 'gateway', '--host', '127.0.0.1', '--port', '0', '--nats', o.natsUrls[i % o.natsUrls.length]!,
        '--oprf-key-file', keyFile, '--transport', o.transport, '--name', `bench-gw-${i}`, '--log-level', 'warn',
        ...(o.args ?? []),
      ], { cwd: ROOT, env: { ...process.env, HUSHWIRE_DEBUG: '' } }));
    }
    const urls: string[] = [];
    for (const c of children) urls.push((await c.waitFor(/listening on (ws:\/\/\S+) \(transport (\w+)/, READY_MS))[1]!);
    for (const c of children) {
      const m = /\(transport (\w+)/.exec(c.output());
      if (m && m[1] !== o.transport) throw new Error(`gateway runs transport ${m[1]}, not ${o.transport}`);
    }
    // A gateway listens before its bus is ready (it keeps retrying NATS and JetStream in
    // the background, and refuses upgrades with 503 meanwhile): on a cluster that has just
    // formed, or a busy machine, the streams' set-up can take seconds. Wait for /readyz
    // (bounded), so that the first workload does not meet gateways still starting.
    await Promise.all(children.map((c, i) => waitGatewayReady(c, urls[i]!)));
    return { urls, children, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface Mosquitto extends Server {
  url: string;
}

/** Debian's mosquitto binary; installs the package with apt-get when missing (as root,
 *  or with passwordless sudo), like scripts/test.sh does for nats-server. */
export async function mosquittoBinary(): Promise<{ bin: string } | { skip: string }> {
  const found = findBinary('mosquitto', []);
  if (found !== null) return { bin: found };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const cmd = root ? 'apt-get' : 'sudo';
  const pre = root ? [] : ['-n', 'apt-get'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Not spawnSync: an install can take minutes, and the main thread must keep running
  // (progress, deadlines, and the watchdog's heartbeat: bench/watchdog.ts).
  const status = await new Promise<number | string>((resolve) => {
    const child = spawn(cmd, [...pre, 'install', '-y', '-qq', 'mosquitto'], { env, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), APT_TIMEOUT_MS);
    child.once('error', (e) => { clearTimeout(timer); resolve(e.message); });
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve(code ?? signal ?? 'signal'); });
  });
  const again = findBinary('mosquitto', []);
  if (again !== null) return { bin: again };
  return { skip: `mosquitto not installed and apt-get install mosquitto failed (exit ${status})` };
}

export async function startMosquitto(bin: string): Promise<Mosquitto> {
  const { dir, cleanup } = tempDir('hw-bench-mqtt-');
  const [port, tcpPort] = await freePorts(2) as [number, number];
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [
    // Mosquitto 2.0.11 (Debian 12) exits with "Unable to start any listening sockets"
    // when its only listener is a WebSocket one: a plain MQTT listener (unused) comes first.
    `listener ${tcpPort} 127.0.0.1`,
    `listener ${port} 127.0.0.1`,
    'protocol websockets',
    'allow_anonymous true',
    'persistence false',
    // Defaults are 20 in flight and 1000 queued per client: raised so the broker, not
    // its per-client window, sets the pace (and nothing is dropped from a full queue).
    'max_inflight_messages 1000',
    'max_queued_messages 1000000',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    '',
  ].join('\n'));
  const child = startChild('mosquitto', bin, ['-c', conf]);
  try {
    await child.waitFor(/running/, READY_MS);
  } catch (e) {
    await child.stop();
    cleanup();
    throw e;
  }
  return { child, url: `ws://127.0.0.1:${port}`, stop: async () => { await child.stop(); cleanup(); } };
}

/** A peer relay of ours (bench/peers/<script>), run as its own process on a free port. */
export interface PeerRelay extends Server {
  url: string;
}

async function startPeerRelay(name: string, script: string, listening: RegExp): Promise<PeerRelay> {
  const child = startChild(name, process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'peers', script), '--port', '0'], { cwd: ROOT });
  try {
    const m = await child.waitFor(listening, READY_MS);
    return { child, url: m[1]!, stop: () => child.stop() };
  } catch (e) {
    await child.stop();
    throw e;
  }
}

export const startUwsRelay = (): Promise<PeerRelay> => startPeerRelay('uws relay', 'uws-relay.ts', /listening on (ws:\/\/\S+)/);
export const startSocketIoRelay = (): Promise<PeerRelay> => startPeerRelay('socket.io relay', 'socketio-relay.ts', /listening on (http:\/\/\S+)/);
