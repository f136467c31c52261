// The nats-server helpers (test/helpers/nats-server.ts) given ports another process holds,
// as happens when a port found free is taken before nats-server binds it: the server (or
// the whole cluster) is started again on fresh ports, a bounded number of times, and is
// ready only once its own monitoring port answers, not another nats-server's.
import t, { type Test } from 'tap';
import { createServer, type Server, type AddressInfo } from 'node:net';
import { BIND_ATTEMPTS, NatsPortTaken, freePorts, haveNatsServer, startNatsCluster, startNatsServer, type NatsServerHandle } from './nats-server.ts';

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
  process.exit(0);
}

/** A loopback port held by this process (a listener that drops what connects: a route
 *  another node solicits there) until the test's end. */
async function heldPort(t: Test): Promise<number> {
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

/** A port chooser whose first `bad` calls put `taken` at `at`; it counts its calls. */
function chooser(taken: number, at: number, bad = 1): ((n: number) => Promise<number[]>) & { calls: number } {
  const choose = Object.assign(async (n: number): Promise<number[]> => {
    choose.calls++;
    const ports = await freePorts(n);
    if (choose.calls <= bad) ports[at] = taken;
    return ports;
  }, { calls: 0 });
  return choose;
}

/** The server_name the monitoring port `port` gives in /varz. */
async function nameAt(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/varz`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { server_name: string }).server_name;
}

const alive = (s: NatsServerHandle): boolean => {
  try { process.kill(s.pid, 0); return s.pid !== 0; } catch { return false; }
};

t.test('a taken client port: the server starts again on fresh ports', async (t) => {
  const taken = await heldPort(t);
  const choose = chooser(taken, 0);
  const server = await startNatsServer({ t, choosePorts: choose });
  t.equal(choose.calls, 2, 'a second start, on fresh ports');
  t.not(server.port, taken);
  t.ok(alive(server), 'running');
  t.equal(await nameAt(server.httpPort), server.serverName, 'its own monitoring port answers');
});

t.test('a monitoring port held by another nats-server: its answers are not taken for this one being ready', async (t) => {
  const other = await startNatsServer({ t });
  const choose = chooser(other.httpPort, 1);
  const server = await startNatsServer({ t, choosePorts: choose });
  t.equal(choose.calls, 2, 'a second start, on fresh ports');
  t.not(server.httpPort, other.httpPort);
  t.ok(alive(server), 'the server handed back is running');
  t.equal(await nameAt(server.httpPort), server.serverName, 'its monitoring port is its own');
  t.ok(alive(other), 'the other server is left alone');
});

t.test('a port that stays taken: a bounded number of starts, then an error naming the ports', async (t) => {
  const taken = await heldPort(t);
  const choose = chooser(taken, 0, Infinity);
  const error = await startNatsServer({ t, choosePorts: choose }).then(() => null, (e: unknown) => e);
  t.ok(error instanceof NatsPortTaken, 'NatsPortTaken');
  t.equal(choose.calls, BIND_ATTEMPTS, `${BIND_ATTEMPTS} starts`);
  const message = (error as Error).message;
  t.match(message, `${BIND_ATTEMPTS} starts`);
  t.equal(message.split(`client ${taken} (taken)`).length - 1, BIND_ATTEMPTS, 'the taken port named for each start');
  t.match(message, /http \d+/, 'with the other ports');
  t.same((error as NatsPortTaken).ports, [taken]);
});

t.test('a taken port the helper did not choose (in extraConfig) fails at once: fresh ports would not free it', async (t) => {
  const taken = await heldPort(t);
  const choose = chooser(taken, 0, 0);
  const error = await startNatsServer({ t, choosePorts: choose, extraConfig: `jetstream: disabled\ncluster {\n  name: "hw_taken"\n  listen: "127.0.0.1:${taken}"\n}` }).then(() => null, (e: unknown) => e);
  t.ok(error instanceof NatsPortTaken, 'NatsPortTaken');
  t.equal(choose.calls, 1, 'one start');
  t.match((error as Error).message, `port ${taken} taken`);
});

t.test('a cluster node whose route port is taken: the whole cluster starts again on fresh ports', async (t) => {
  const taken = await heldPort(t);
  const choose = chooser(taken, 5); // node 1's cluster port
  const cluster = await startNatsCluster(3, { t, choosePorts: choose });
  t.equal(choose.calls, 2, 'a second start, on fresh ports');
  t.equal(cluster.servers.length, 3);
  for (const s of cluster.servers) {
    t.ok(alive(s), `${s.serverName} running`);
    t.equal(await nameAt(s.httpPort), s.serverName, `${s.serverName}: its own monitoring port`);
  }
  t.notOk(cluster.servers.some((s) => [s.port, s.httpPort].includes(taken)), 'none on the taken port');
});
