// Fault: the deployment's NATS refuses this gateway's configuration, or is reachable but
// JetStream is not ready. What retrying cannot fix (another --mailbox-shards than the
// streams there, --nats-replicas 3 on a single node) stops `hushwire gateway` at start
// with exit code 1 and one line naming the flag, also when it is found only once a NATS
// that was down at boot comes up; what it can fix keeps the retry loop with a line that
// says what failed ("NATS unreachable" only when it is). Found after a reconnect, the
// gateway stays up, unready, and says why.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsBus } from '../../relay/bus/nats.ts';
import { DEFAULT_MAILBOX_LIMITS } from '../../relay/bus/index.ts';
import { startNatsServer, haveNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile, BIN } from '../helpers/gateway.ts';
import { until, httpStatus, httpBase } from '../helpers/poll.ts';

t.setTimeout(240_000);

interface Run {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Exit code; SIGKILLs the process (by its handle) and rejects after `ms`. */
  exit(ms?: number): Promise<number | null>;
}

/** `hushwire gateway` as a child process on loopback; does not wait for it to listen. */
function runGateway(args: string[]): Run {
  const proc = spawn(process.execPath, [BIN, 'gateway', '--host', '127.0.0.1', '--port', '0', '--transport', 'ws', '--log-level', 'info', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  process.once('exit', () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exit: async (ms = 30_000) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          proc.kill('SIGKILL');
          reject(new Error(`gateway still running after ${ms} ms:\n${out}\n${err}`));
        }, ms);
      });
      try {
        return await Promise.race([exited, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The default mailbox (16 shards, prefix hw) and buckets, as a first gateway makes them. */
async function makeDeployment(server: NatsServerHandle): Promise<void> {
  const bus = new NatsBus({ servers: server.url, limits: DEFAULT_MAILBOX_LIMITS });
  await bus.start();
  await bus.close();
}

const couldNotStart = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('hushwire gateway: could not start: '));

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  t.test('--mailbox-shards 4 against a 16-shard mailbox: exits 1 at start, one line naming the flag', async (t) => {
    const server = await startNatsServer({ t });
    await makeDeployment(server);
    const gw = runGateway(['--nats', server.url, '--oprf-key-file', oprfKeyFile(), '--mailbox-shards', '4']);
    t.teardown(() => { gw.proc.kill('SIGKILL'); });
    t.equal(await gw.exit(), 1, 'exit code 1');
    const lines = couldNotStart(gw.stderr());
    t.equal(lines.length, 1, 'one line');
    t.equal(lines[0], 'hushwire gateway: could not start: mailbox configured with 4 shard(s), but stream HW_MBOX_0 belongs to a mailbox of 16 shard(s): every gateway must use the same --mailbox-shards (docs/OPERATIONS.md)');
    const all = gw.stdout() + gw.stderr();
    t.notMatch(all, /unreachable/, 'not reported as NATS unreachable');
    t.notMatch(all, /listening on/, 'never listened');
  });

  t.test('--nats-replicas 3 on a single nats-server: exits 1 at start with NATS\'s reason', async (t) => {
    const server = await startNatsServer({ t });
    const gw = runGateway(['--nats', server.url, '--oprf-key-file', oprfKeyFile(), '--nats-replicas', '3']);
    t.teardown(() => { gw.proc.kill('SIGKILL'); });
    t.equal(await gw.exit(), 1, 'exit code 1');
    const lines = couldNotStart(gw.stderr());
    t.equal(lines.length, 1, 'one line');
    t.match(lines[0], /^hushwire gateway: could not start: --nats-replicas 3 refused by NATS for stream HW_MBOX_0: replicas > 1 not supported in non-clustered mode \(a single nats-server holds one replica: use --nats-replicas 1, or a JetStream cluster of at least 3 nodes\)$/);
    t.notMatch(gw.stdout() + gw.stderr(), /unreachable|cannot set up JetStream/, 'neither "unreachable" nor the reason dropped');
  });

  t.test('NATS down at boot, then up with a 16-shard mailbox: the waiting --mailbox-shards 4 gateway exits 1', async (t) => {
    const server = await startNatsServer({ t });
    await makeDeployment(server);
    await server.stop();
    const gw = runGateway(['--nats', server.url, '--oprf-key-file', oprfKeyFile(), '--mailbox-shards', '4']);
    t.teardown(() => { gw.proc.kill('SIGKILL'); });
    await until('the unreachable line', () => gw.stdout().includes(`NATS unreachable at 127.0.0.1:${server.port}, retrying`), 15_000);
    await until('listening', () => /listening on ws:\/\//.test(gw.stdout() + gw.stderr()), 15_000);
    await server.restart();
    t.equal(await gw.exit(), 1, 'exit code 1 once NATS answers');
    t.same(couldNotStart(gw.stderr()), ['hushwire gateway: could not start: mailbox configured with 4 shard(s), but stream HW_MBOX_0 belongs to a mailbox of 16 shard(s): every gateway must use the same --mailbox-shards (docs/OPERATIONS.md)']);
    const logged = gw.stdout().split('\n').filter((l) => l.includes('"level":50'));
    t.equal(logged.length, 1, 'and one error line in the log');
    t.match(logged[0], /NATS reachable at 127\.0\.0\.1:\d+, but the bus cannot start as configured: mailbox configured with 4 shard\(s\)/);
  });

  t.test('JetStream not enabled: "JetStream not ready: <reason>", not "NATS unreachable"; retried, not ready', async (t) => {
    const plain = await startNatsServer({ t, extraConfig: 'jetstream: disabled' });
    const gw = await startTestGateway({ nats: plain.url, oprfKeyFile: oprfKeyFile(), logLevel: 'info' });
    t.teardown(() => gw.close());
    const lines = (): string[] => gw.logs().split('\n').filter((l) => l !== '');
    const expected = `JetStream not ready: JetStream is not enabled on this NATS server or account (NATS at 127.0.0.1:${plain.port}); retrying`;
    t.equal(lines().filter((l) => l.includes(expected)).length, 1, 'the line says what failed');
    t.notMatch(gw.logs(), /unreachable/, 'NATS is reachable, and the log does not say otherwise');
    t.equal(await httpStatus(`${httpBase(gw.url)}/readyz`), 503, '/readyz 503');
    await new Promise((r) => setTimeout(r, 1500));
    t.equal(lines().filter((l) => l.includes('JetStream not ready')).length, 1, 'retries do not flood the log');
    t.equal(await httpStatus(`${httpBase(gw.url)}/readyz`), 503, 'still not ready');
  });

  t.test('a 4-shard mailbox found after a reconnect: the gateway stays up, unready, misconfigured, and says why', async (t) => {
    const server = await startNatsServer({ t });
    const gw = await startTestGateway({ nats: server.url, oprfKeyFile: oprfKeyFile(), logLevel: 'info' });
    t.teardown(() => gw.close());
    const base = httpBase(gw.url);
    await until('/readyz 200', async () => (await httpStatus(`${base}/readyz`)) === 200, 20_000);

    // The streams are re-created for 4 shards behind the gateway's back (say, NATS lost
    // its store and a gateway with another --mailbox-shards started first).
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    for (let i = 0; i < 16; i++) await jsm.streams.delete(`HW_MBOX_${i}`);
    await nc.close();
    const four = new NatsBus({ servers: server.url, limits: DEFAULT_MAILBOX_LIMITS, mailboxShards: 4 });
    await four.start();
    await four.close();
    await server.restart();

    await until('/readyz 503', async () => (await httpStatus(`${base}/readyz`)) === 503, 20_000);
    await until('misconfigured', () => gw.bus.status().state === 'misconfigured', 20_000);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    t.match(metrics, /hushwire_bus_state\{state="misconfigured"\} 1/, 'hushwire_bus_state says misconfigured');
    t.match(metrics, /hushwire_bus_up 0/, 'bus down for the alert');
    const errors = gw.logs().split('\n').filter((l) => l.includes('"level":50'));
    t.equal(errors.length, 1, 'one error line');
    t.match(errors[0], /bus: NATS set-up no longer matches this gateway's settings; not ready until it does: mailbox configured with 16 shard\(s\), but stream HW_MBOX_0 belongs to a mailbox of 4 shard\(s\)/);
    t.equal(await httpStatus(`${base}/healthz`), 200, 'still running');
  });
}
