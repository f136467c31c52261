// A 3-node nats-server cluster whose node 3 can lose every route, for real
// (test/privacy/optout-route-cut*.test.ts): every route connection of node 3 goes through
// a proxy (helpers/route-proxy.ts) that cut() closes and keeps closing until heal(). Each
// node's cluster advertise names its proxy, so that route gossip never tells a node
// another's own route port and no route to node 3 bypasses the proxies. Gateway a runs on
// node 1 and gateway b on node 3; every stream (directory, mailbox, counters: 3 replicas)
// has its leader moved off node 3, so that nodes 1 and 2 keep JetStream's quorum and its
// leaders while node 3 is cut.
import type { Test } from 'tap';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, freePorts, type NatsServerHandle } from './nats-server.ts';
import { oprfKeyFile, startTestGateway, type TestGateway } from './gateway.ts';
import { until, within } from './poll.ts';
import { routeProxy } from './route-proxy.ts';
import { authenticateRaw, type RawDevice } from './raw-device.ts';

const clusterConfig = (name: string, listen: number, advertise: number, routes: string[]): string => [
  'cluster {',
  `  name: ${JSON.stringify(name)}`,
  `  listen: "127.0.0.1:${listen}"`,
  // What the others are told to connect to (route gossip): a proxy, so that no node
  // learns another's own route port and no route to node 3 bypasses the proxies.
  `  advertise: "127.0.0.1:${advertise}"`,
  `  routes: [${routes.map((r) => JSON.stringify(r)).join(', ')}]`,
  '}',
].join('\n');

interface Routez { num_routes: number; routes?: { remote_id: string; ip: string; port: number }[] }
export async function routez(s: NatsServerHandle): Promise<Routez> {
  const res = await fetch(`http://127.0.0.1:${s.httpPort}/routez`, { signal: AbortSignal.timeout(5000) });
  return await res.json() as Routez;
}

/** Every stream's leader off `avoid` (nats-server 2.9's stream leader step-down picks a
 *  new leader at random among the replicas, with no preference: stepped down again until
 *  it is elsewhere, within a deadline). Returns the streams and their leaders. */
export async function leadersOff(nc: NatsConnection, avoid: string, deadlineMs: number): Promise<Map<string, string>> {
  const jsm = await jetstreamManager(nc);
  const names: string[] = [];
  for await (const n of jsm.streams.names()) names.push(n);
  const out = new Map<string, string>();
  const deadline = Date.now() + deadlineMs;
  for (const name of names) {
    for (;;) {
      const leader = (await jsm.streams.info(name)).cluster?.leader ?? '';
      if (leader !== '' && leader !== avoid) {
        out.set(name, leader);
        break;
      }
      if (Date.now() > deadline) throw new Error(`stream ${name} still led by ${leader || 'nobody'}`);
      if (leader === avoid) await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${name}`, undefined, { timeout: 5000 }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return out;
}

/** What a read meets, for a comment line. */
export async function outcome(p: Promise<unknown>): Promise<string> {
  const at = Date.now();
  try {
    const v = await p;
    return `answered ${v === null ? 'null (no device)' : 'the device'} in ${Date.now() - at} ms`;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return `failed ${err.code ?? ''} ${err.message ?? String(e)} after ${Date.now() - at} ms`;
  }
}

export interface RouteCutCluster {
  n1: NatsServerHandle;
  n2: NatsServerHandle;
  n3: NatsServerHandle;
  /** Gateway a on node 1, b on node 3. */
  a: TestGateway;
  b: TestGateway;
  /** The test's own connection to node 1. */
  nc1: NatsConnection;
  /** Every stream and its leader (node 1 or 2). */
  leaders: Map<string, string>;
  /** Node 3's routes cut; resolves once node 3 has none and nodes 1 and 2 are routed to
   *  each other (they retry theirs to each other, not through the proxies, should one
   *  have gone through one). */
  cut(): Promise<void>;
  /** The cut undone; resolves once node 3 is routed to both again. */
  heal(): Promise<void>;
}

/** Accounts for `metaLeaderOn3`: JetStream's meta leader steps down only at a request
 *  of the system account (`$JS.API.META.LEADER.STEPDOWN`, nats-server 2.9), which a
 *  server without accounts gives no user. Clients that give no user (the gateways, the
 *  tests' connections) are HW's, as they were $G's. */
const ACCOUNTS = [
  'accounts {',
  '  SYS: { users: [{ user: "sys", password: "sys" }] }',
  '  HW: { jetstream: enabled, users: [{ user: "hw", password: "hw" }] }',
  '}',
  'system_account: SYS',
  'no_auth_user: hw',
].join('\n');

/** The JetStream meta leader as `s` sees it ('' for none). */
export async function metaLeader(s: NatsServerHandle): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${s.httpPort}/jsz`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader ?? '';
}

/** JetStream's meta leader moved to `to` (2.9's step-down takes no preferred peer: the
 *  leader steps down again until the election lands there), within a deadline. */
async function metaLeaderTo(nodes: NatsServerHandle[], to: NatsServerHandle, deadlineMs: number): Promise<void> {
  const sys = await connect({ servers: to.url, user: 'sys', pass: 'sys', name: 'test-sys' });
  try {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const views = await Promise.all(nodes.map(metaLeader));
      if (views.every((v) => v === to.serverName)) return;
      if (Date.now() > deadline) throw new Error(`meta leader still ${views.join(' / ')}, not ${to.serverName}`);
      if (views.every((v) => v === views[0] && v !== '')) await sys.request('$JS.API.META.LEADER.STEPDOWN', '', { timeout: 5000 }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await sys.close();
  }
}

/** The cluster and its two gateways (prefix `prefix`, names `<prefix>1` and `<prefix>3`,
 *  `gateway`: more gateway settings), every one stopped at `t`'s teardown.
 *  `metaLeaderOn3`: JetStream's meta leader moved to node 3, the node that is cut
 *  (the servers then have accounts, ACCOUNTS). */
export async function routeCutCluster(t: Test, prefix: string, clusterName: string, gateway: Record<string, unknown> = {}, cluster: { metaLeaderOn3?: boolean } = {}): Promise<RouteCutCluster> {
  const [c1, c2, c3] = await freePorts(3) as [number, number, number];
  // Into node 3 (from nodes 1 and 2), and from node 3 into nodes 1 and 2: each node
  // advertises its proxy, so every connection of node 3's routes goes through one.
  const into3 = await routeProxy(c3);
  const into1 = await routeProxy(c1);
  const into2 = await routeProxy(c2);
  const proxies = [into3, into1, into2];
  t.teardown(() => Promise.all(proxies.map((p) => p.close())));
  const extra = cluster.metaLeaderOn3 === true ? `\n${ACCOUNTS}` : '';
  const [n1, n2, n3] = await Promise.all([
    startNatsServer({ t, extraConfig: clusterConfig(clusterName, c1, into1.port, [`nats-route://127.0.0.1:${c2}`, into3.url]) + extra, readyTimeoutMs: 30_000 }),
    startNatsServer({ t, extraConfig: clusterConfig(clusterName, c2, into2.port, [`nats-route://127.0.0.1:${c1}`, into3.url]) + extra, readyTimeoutMs: 30_000 }),
    startNatsServer({ t, extraConfig: clusterConfig(clusterName, c3, into3.port, [into1.url, into2.url]) + extra, readyTimeoutMs: 30_000 }),
  ]);
  await until('the three nodes routed to each other', async () => (await Promise.all([n1, n2, n3].map(routez))).every((r) => r.num_routes === 2), 30_000);
  if (cluster.metaLeaderOn3 === true) await metaLeaderTo([n1, n2, n3], n3, 60_000);

  const opts = { oprfKeyFile: oprfKeyFile(), natsPrefix: prefix, natsReplicas: 3, mailboxShards: 1, logLevel: 'error', ...gateway };
  const a = await startTestGateway({ ...opts, nats: n1.url, name: `${prefix}1` });
  t.teardown(() => a.close());
  const b = await startTestGateway({ ...opts, nats: n3.url, name: `${prefix}3` });
  t.teardown(() => b.close());

  const nc1 = await connect({ servers: n1.url, name: 'test-n1' });
  t.teardown(() => nc1.close());
  const leaders = await leadersOff(nc1, n3.serverName, 60_000);
  return {
    n1, n2, n3, a, b, nc1, leaders,
    cut: async () => {
      for (const p of proxies) p.cut();
      await until('node 3 without routes, nodes 1 and 2 routed to each other', async () => {
        const [r1, r2, r3] = await Promise.all([n1, n2, n3].map(routez));
        return r3!.num_routes === 0 && r1!.num_routes === 1 && r2!.num_routes === 1;
      }, 20_000);
    },
    heal: async () => {
      for (const p of proxies) p.heal();
      await until('node 3 routed again', async () => (await routez(n3)).num_routes === 2, 30_000);
    },
  };
}

/** Said by NatsBus.#beatsLost when a peer's beats stop or jump (relay/bus/nats.ts). */
export const BEATS_LOST = 'beats of another gateway lost';

/** What the route-cut login and lookup tests do first: once both gateways' beats are
 *  heard on node 3, cut node 3 off, opt `dev` out through gateway a (node 1) on a new
 *  connection, check the device is out of the directory at its leader and still listed by
 *  node 3's replica (`replicaRead` says what reads it there), then wait until b has found
 *  a's beats lost (b logs at level warn or below). */
export async function optOutWhileCut(t: Test, c: RouteCutCluster, prefix: string, tag: string, dev: RawDevice, replicaRead: string): Promise<void> {
  const { n3, a, b, cut } = c;
  // a's beats reach node 3 (b hears them: it finds them lost once cut).
  const nc3 = await connect({ servers: n3.url, name: 'test-n3' });
  t.teardown(() => nc3.close());
  const beating = new Set<string>();
  nc3.subscribe(`${prefix}.unreg.beat`, { callback: (_e, m) => { beating.add(m.string().split('.')[0] ?? ''); } });
  await until('both gateways\' beats heard on node 3', () => beating.size >= 2, 10_000);

  const lostBefore = b.logs().split(BEATS_LOST).length;
  await cut();
  const optOut = await within(authenticateRaw(a.url, dev), 20_000, 'the device\'s auth at a while node 3 is cut');
  t.teardown(() => optOut.close());
  optOut.send([{ req: 1001, unregister: {} }]);
  t.equal((await within(optOut.reply(1001), 20_000, 'the opt-out at a')).body, 'ok', 'the opt-out at a is made while node 3 is cut');
  t.equal(await a.relay.directory.findDevice(tag, dev.device, { fromLeader: true }), null, 'the device is out of the directory (at its leader, node 1 or 2)');
  t.not(await b.relay.directory.findDevice(tag, dev.device).catch(() => 'failed'), null, `node 3's replica still lists it (${replicaRead})`);

  await until('b to find a\'s beats lost (the silence)', () => b.logs().split(BEATS_LOST).length > lostBefore, 20_000);
}
