// Runs real `nats-server` processes (Debian's 2.9.x) for tests: JetStream on a temp store
// dir, loopback only, free ports. Every server started here is killed when the test
// process exits (and, when a tap test is passed, at that test's teardown). A port found
// free can be taken by another process before nats-server binds it (other test files
// start servers all the time): a server that cannot bind one of the ports it was given
// is started again on fresh ones, a bounded number of times (startNatsServer,
// startNatsCluster), and a server is ready only once its own monitoring port answers
// (its name in /varz), not another server's that holds the port.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { onExit } from 'signal-exit';
import { freePorts } from '../../bench/ports.ts';

export interface NatsServerHandle {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Monitoring port (http://127.0.0.1:<httpPort>/healthz etc.). */
  readonly httpPort: number;
  readonly storeDir: string;
  readonly serverName: string;
  /** pid of the current process (changes on restart; 0 while stopped). */
  readonly pid: number;
  /** The config file the server runs with (a test may rewrite it, then SIGHUP `pid`). */
  readonly configPath: string;
  /** SIGTERM, waits for exit (deadline, then SIGKILL). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, waits for exit. Idempotent. */
  kill(): Promise<void>;
  /** Stops if running, then starts again on the same ports and store dir. */
  restart(): Promise<void>;
  /** Last lines the server logged (bounded). */
  logTail(): string;
}

export interface NatsClusterHandle {
  readonly servers: NatsServerHandle[];
  /** All client URLs, for a client's `servers` option. */
  readonly urls: string[];
  /** Stops every server; idempotent. */
  stop(): Promise<void>;
}

/** The subset of a tap Test this helper uses. */
export interface Teardownable {
  teardown(fn: () => unknown): void;
}

export interface StartNatsOptions {
  /** Registers stop() (and store removal) on this test's teardown. */
  t?: Teardownable;
  /** Deadline for the server to become ready, ms (default 15000). */
  readyTimeoutMs?: number;
  /** Extra lines appended to the generated config file. */
  extraConfig?: string;
  /** Pass -DV to the server (logs go to logTail()). */
  debug?: boolean;
  /** startNatsCluster: the nodes do not tell clients of each other (`no_advertise`), so a
   *  client given one node's URL stays disconnected while that node is down instead of
   *  moving to another at once (a test that needs a publish made while disconnected). */
  noAdvertise?: boolean;
  /** Where the ports come from: n distinct ports, free as far as is known (default
   *  freePorts). A test of the retry gives ports that are taken. */
  choosePorts?: (n: number) => Promise<number[]>;
}

const LOG_TAIL_LINES = 200;
const STOP_DEADLINE_MS = 10_000;
/** Starts tried, each on fresh ports, before a server (or cluster) that keeps finding a
 *  port taken fails. A taken port makes nats-server exit at once (a few ms). */
export const BIND_ATTEMPTS = 5;

/** nats-server exited because a port it was to listen on is held by another process. */
export class NatsPortTaken extends Error {
  /** The ports nats-server said were taken (from its log). */
  readonly ports: number[];
  constructor(message: string, ports: number[]) {
    super(message);
    this.name = 'NatsPortTaken';
    this.ports = ports;
  }
}

/** The ports a nats-server log names as taken: 2.9 logs the listen error as
 *  `listen tcp 127.0.0.1:<port>: bind: address already in use`, whichever listener
 *  (client, monitoring, cluster) it was. */
function takenPorts(log: string): number[] {
  return [...log.matchAll(/:(\d+): bind: address already in use/g)].map((m) => Number(m[1]));
}

// ---- process-exit cleanup ----
const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  const killAll = (): void => {
    for (const c of live) {
      try { c.kill('SIGKILL'); } catch { /* already gone */ }
    }
    live.clear();
    for (const d of tempDirs) {
      try { rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
    }
    tempDirs.clear();
  };
  // signal-exit runs killAll at a normal exit and at a fatal signal, then lets the signal
  // end the process. It is what tap's own exit reporting uses: a signal listener of our
  // own made each defer to the other, and a SIGTERM (from tap, passing on npm test's)
  // killed the servers but left the test process running until its work ended.
  onExit(() => { killAll(); });
}

let binaryPath: string | undefined;
export function natsServerBinary(): string {
  if (binaryPath !== undefined) return binaryPath;
  const candidates = [process.env['NATS_SERVER_BIN'], '/usr/sbin/nats-server', '/usr/bin/nats-server'];
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'nats-server'));
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, fsConstants.X_OK);
      binaryPath = c;
      return c;
    } catch { /* next */ }
  }
  throw new Error('nats-server binary not found (install the Debian package nats-server or set NATS_SERVER_BIN)');
}

/** True when a nats-server binary is available (tests can skip otherwise). */
export function haveNatsServer(): boolean {
  try { natsServerBinary(); return true; } catch { return false; }
}

export { freePorts };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** GET http://127.0.0.1:<port><path> → status code (0 on connection failure) and body. */
function httpGet(port: number, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('timeout', () => { req.destroy(); resolve({ status: 0, body: '' }); });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}

/** The server_name a monitoring port's /varz gives; null if it gives none. */
async function varzName(port: number, timeoutMs: number): Promise<string | null> {
  const { status, body } = await httpGet(port, '/varz', timeoutMs);
  if (status !== 200) return null;
  try {
    const name = (JSON.parse(body) as { server_name?: unknown }).server_name;
    return typeof name === 'string' ? name : null;
  } catch {
    return null;
  }
}

interface ServerSpec {
  name: string;
  port: number;
  httpPort: number;
  storeDir: string;
  configPath: string;
  config: string;
  readyTimeoutMs: number;
  debug: boolean;
}

class ManagedServer implements NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly httpPort: number;
  readonly storeDir: string;
  readonly serverName: string;
  #spec: ServerSpec;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  /** The current process's stdout and stderr are closed. */
  #outputDone: Promise<void> = Promise.resolve();
  #log: string[] = [];
  #op: Promise<void> = Promise.resolve();

  constructor(spec: ServerSpec) {
    this.#spec = spec;
    this.url = `nats://127.0.0.1:${spec.port}`;
    this.port = spec.port;
    this.httpPort = spec.httpPort;
    this.storeDir = spec.storeDir;
    this.serverName = spec.name;
  }

  get configPath(): string {
    return this.#spec.configPath;
  }

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  logTail(): string {
    return this.#log.join('\n');
  }

  #pushLog(chunk: Buffer): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      this.#log.push(line);
      if (this.#log.length > LOG_TAIL_LINES) this.#log.shift();
    }
  }

  /** Spawns the process; does not wait for readiness. */
  spawnProcess(): void {
    hookExit();
    const args = ['-c', this.#spec.configPath];
    if (this.#spec.debug) args.push('-DV');
    const child = spawn(natsServerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    live.add(child);
    child.stdout?.on('data', (d: Buffer) => this.#pushLog(d));
    child.stderr?.on('data', (d: Buffer) => this.#pushLog(d));
    this.#outputDone = new Promise((resolve) => child.once('close', () => resolve()));
    this.#exited = new Promise<void>((resolve) => {
      const done = (): void => {
        live.delete(child);
        if (this.#child === child) this.#child = null;
        resolve();
      };
      child.once('exit', done);
      child.once('error', (e) => { this.#pushLog(Buffer.from(`spawn error: ${e.message}`)); done(); });
    });
  }

  /** Waits until the server answers /healthz with 200 (JetStream ready; nats-server 2.9
   *  answers so only once every listener of its is bound) and its /varz gives its own
   *  name: another nats-server that holds the monitoring port answers too, while this one
   *  fails to bind it. Exited first: NatsPortTaken when its log says a port was taken. */
  async waitReady(): Promise<void> {
    const deadline = Date.now() + this.#spec.readyTimeoutMs;
    const child = this.#child;
    while (Date.now() < deadline) {
      if (child === null || this.#child !== child || child.exitCode !== null || child.signalCode !== null) {
        await this.#drained();
        const log = this.logTail();
        const taken = takenPorts(log);
        const what = `nats-server ${this.serverName} exited before it was ready`;
        if (taken.length > 0) throw new NatsPortTaken(`${what}: port ${taken.join(', ')} taken by another process:\n${log}`, taken);
        throw new Error(`${what}:\n${log}`);
      }
      if ((await httpGet(this.httpPort, '/healthz', 1000)).status === 200 && await varzName(this.httpPort, 1000) === this.serverName) return;
      await sleep(50);
    }
    throw new Error(`nats-server ${this.serverName} not ready within ${this.#spec.readyTimeoutMs} ms:\n${this.logTail()}`);
  }

  /** Once the process has exited: its output read to the end ('close', which may come
   *  after 'exit'; 1 s at the most), so that the log holds its last words. */
  async #drained(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#outputDone, new Promise((r) => { timer = setTimeout(r, 1000); })]);
    clearTimeout(timer);
  }

  async #signalAndWait(sig: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    try { child.kill(sig); } catch { /* gone */ }
    const exited = this.#exited;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(true), STOP_DEADLINE_MS); }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      try { child.kill('SIGKILL'); } catch { /* gone */ }
      await exited;
    }
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const next = this.#op.then(fn, fn);
    this.#op = next.catch(() => undefined);
    return next;
  }

  stop(): Promise<void> {
    return this.#serial(() => this.#signalAndWait('SIGTERM'));
  }

  kill(): Promise<void> {
    return this.#serial(() => this.#signalAndWait('SIGKILL'));
  }

  restart(): Promise<void> {
    return this.#serial(async () => {
      await this.#signalAndWait('SIGTERM');
      this.spawnProcess();
      await this.waitReady();
    });
  }

  /** Starts (used by the cluster helper to start servers without waiting). */
  startNoWait(): void {
    this.spawnProcess();
  }
}

function baseConfig(name: string, port: number, httpPort: number, storeDir: string): string {
  return [
    `server_name: ${JSON.stringify(name)}`,
    `listen: "127.0.0.1:${port}"`,
    `http: "127.0.0.1:${httpPort}"`,
    'jetstream {',
    `  store_dir: ${JSON.stringify(storeDir)}`,
    '  max_memory_store: 268435456',
    '  max_file_store: 1073741824',
    '}',
  ].join('\n');
}

/** Runs `start` on ports from `choose` (one a role) until a start does not fail on one
 *  of them taken by another process: BIND_ATTEMPTS starts at the most, then a
 *  NatsPortTaken naming every start's ports. A taken port that is not one of them (named
 *  in `extraConfig`) fails at once: fresh ports would not free it. */
async function onFreshPorts<T>(what: string, roles: string[], choose: (n: number) => Promise<number[]>, start: (ports: number[]) => Promise<T>): Promise<T> {
  const tried: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const ports = await choose(roles.length);
    try {
      return await start(ports);
    } catch (e) {
      if (!(e instanceof NatsPortTaken) || !e.ports.some((p) => ports.includes(p))) throw e;
      tried.push(ports.map((p, i) => `${roles[i]} ${p}${e.ports.includes(p) ? ' (taken)' : ''}`).join(', '));
      if (attempt >= BIND_ATTEMPTS) {
        throw new NatsPortTaken(`${what} could not bind its ports: ${BIND_ATTEMPTS} starts, each on fresh ports, each found one taken by another process (${tried.map((t, i) => `${i + 1}: ${t}`).join('; ')}). The last: ${e.message}`, e.ports);
      }
    }
  }
}

/** Starts one nats-server with JetStream on a free loopback port and a fresh store dir. */
export async function startNatsServer(opts: StartNatsOptions = {}): Promise<NatsServerHandle> {
  return onFreshPorts('nats-server', ['client', 'http'], opts.choosePorts ?? freePorts, (ports) => startOnce(opts, ports));
}

async function startOnce(opts: StartNatsOptions, ports: number[]): Promise<NatsServerHandle> {
  hookExit();
  const dir = await mkdtemp(join(tmpdir(), 'hw-nats-'));
  tempDirs.add(dir);
  const [port, httpPort] = ports as [number, number];
  const name = `hw_test_${port}`;
  const storeDir = join(dir, 'js');
  const configPath = join(dir, 'server.conf');
  const config = `${baseConfig(name, port, httpPort, storeDir)}\n${opts.extraConfig ?? ''}\n`;
  await writeFile(configPath, config);
  const server = new ManagedServer({
    name, port, httpPort, storeDir, configPath, config,
    readyTimeoutMs: opts.readyTimeoutMs ?? 15_000, debug: opts.debug ?? false,
  });
  let cleaned: Promise<void> | null = null;
  const cleanup = (): Promise<void> => {
    cleaned ??= (async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    })();
    return cleaned;
  };
  server.spawnProcess();
  try {
    await server.waitReady();
  } catch (e) {
    await cleanup();
    throw e;
  }
  opts.t?.teardown(cleanup);
  return server;
}

/** Starts n (default 3) clustered nats-servers with JetStream, routes on loopback. A
 *  node that finds a port taken makes the whole cluster start again on fresh ports
 *  (every node's config names the others' route ports). */
export async function startNatsCluster(n = 3, opts: StartNatsOptions = {}): Promise<NatsClusterHandle> {
  if (!Number.isInteger(n) || n < 1) throw new Error('cluster size must be a positive integer');
  const roles = Array.from({ length: n }, (_, i) => [`n${i} client`, `n${i} http`, `n${i} cluster`]).flat();
  return onFreshPorts(`nats-server cluster of ${n}`, roles, opts.choosePorts ?? freePorts, (ports) => startClusterOnce(n, opts, ports));
}

async function startClusterOnce(n: number, opts: StartNatsOptions, ports: number[]): Promise<NatsClusterHandle> {
  hookExit();
  const dir = await mkdtemp(join(tmpdir(), 'hw-natsc-'));
  tempDirs.add(dir);
  const clusterName = `hw_test_c${ports[0]}`;
  const routes = Array.from({ length: n }, (_, i) => `nats-route://127.0.0.1:${ports[3 * i + 2]}`);
  const servers: ManagedServer[] = [];
  for (let i = 0; i < n; i++) {
    const port = ports[3 * i] as number;
    const httpPort = ports[3 * i + 1] as number;
    const clusterPort = ports[3 * i + 2] as number;
    const name = `${clusterName}_n${i}`;
    const storeDir = join(dir, `n${i}`, 'js');
    const configPath = join(dir, `n${i}.conf`);
    const config = [
      baseConfig(name, port, httpPort, storeDir),
      'cluster {',
      `  name: ${JSON.stringify(clusterName)}`,
      `  listen: "127.0.0.1:${clusterPort}"`,
      `  routes: [${routes.filter((_, j) => j !== i).map((r) => JSON.stringify(r)).join(', ')}]`,
      ...(opts.noAdvertise === true ? ['  no_advertise: true'] : []),
      '}',
      opts.extraConfig ?? '',
      '',
    ].join('\n');
    await writeFile(configPath, config);
    servers.push(new ManagedServer({
      name, port, httpPort, storeDir, configPath, config,
      readyTimeoutMs: opts.readyTimeoutMs ?? 30_000, debug: opts.debug ?? false,
    }));
  }
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await rm(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    })();
    return stopped;
  };
  opts.t?.teardown(stop);
  for (const s of servers) s.startNoWait();
  try {
    // /healthz turns 200 only once the server has a JetStream meta leader.
    await Promise.all(servers.map((s) => s.waitReady()));
  } catch (e) {
    await stop();
    throw e;
  }
  return { servers, urls: servers.map((s) => s.url), stop };
}

/** The server's client connections as its monitoring port lists them (`/connz`): a test
 *  checks who is connected and how (name, TLS version). */
export async function connz(server: { httpPort: number }): Promise<{ name?: string; tls_version?: string }[]> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/connz`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { connections?: { name?: string; tls_version?: string }[] }).connections ?? [];
}

/** Freezes `server` (SIGSTOP: it holds its connections and answers nothing) until the
 *  returned function is called, the test ends or `maxMs` pass, whichever comes first;
 *  the resume (SIGCONT) is idempotent. The signal takes effect when the kernel next runs
 *  each of the server's threads: on a loaded machine a thread may still answer a moment
 *  after kill() returned (followers acknowledged writes about 1 run in 5 in
 *  register-late-write.test.ts), so a test that must know nothing more is answered awaits
 *  `stopped` (every thread in /proc shown stopped; resolves anyway after 5 s, or at once
 *  where there is no /proc). */
export function stallNatsServer(t: { teardown(fn: () => unknown): void }, server: NatsServerHandle, maxMs: number): (() => void) & { stopped: Promise<void> } {
  const pid = server.pid;
  let frozen = true;
  const resume = (): void => {
    if (!frozen) return;
    frozen = false;
    clearTimeout(timer);
    try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
  };
  const timer = setTimeout(resume, maxMs);
  t.teardown(resume);
  process.kill(pid, 'SIGSTOP');
  return Object.assign(resume, { stopped: threadsStopped(pid, () => frozen) });
}

/** Resolves once every thread of `pid` is in the stopped state ('T'/'t' in
 *  /proc/<pid>/task/<tid>/stat), once `still()` turns false (resumed meanwhile), after 5
 *  s, or at once without /proc. */
async function threadsStopped(pid: number, still: () => boolean): Promise<void> {
  const states = (): string[] | null => {
    try {
      return readdirSync(`/proc/${pid}/task`).map((tid) => readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] ?? '?');
    } catch {
      return null;
    }
  };
  const end = Date.now() + 5_000;
  for (;;) {
    const now = states();
    if (now === null || !still() || now.every((st) => st === 'T' || st === 't') || Date.now() >= end) return;
    await new Promise((r) => setTimeout(r, 2));
  }
}
