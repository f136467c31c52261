// Fault: a 3-node NATS cluster on loopback, gateways attached to different nodes, the
// mailbox streams and the buckets with 3 replicas (--nats-replicas 3); the node leading
// the mailbox stream (shard) of the offline recipient C is SIGKILLed in the middle of
// traffic.
//
// Sender A (gateway 0) sends to B, who listens on gateway 1; sender A2 sends to C, who
// is offline throughout, so C's mail exists only in the replicated stream, and the
// node holding its leader copy dies. JetStream acknowledges a store only once a quorum
// has it, so every acknowledged message must survive: B and C (C connecting afterwards,
// through gateway 2) each get every acknowledged message exactly once.
import t from 'tap';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsCluster, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { registerHandset } from '../helpers/handsets.ts';
import { until } from '../helpers/poll.ts';
import { sendMany, openReceiver, assertExactlyOnce } from './traffic.ts';
import { loadDevice } from '../../client/profile.ts';
import { routeTag } from '../../relay/tokens.ts';

const TO_B = 150;
const TO_C = 60;

// Whole-file deadline (default 120 s): a fault run under a loaded CI machine takes longer.
t.setTimeout(300_000);

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  t.test('killing the mailbox stream leader of a 3-node cluster loses nothing acknowledged', async (t) => {
    const cluster = await startNatsCluster(3, { t });
    const key = oprfKeyFile();
    // Each gateway is given only its own node; it learns the others from the cluster.
    const gws: TestGateway[] = [];
    for (let i = 0; i < 3; i++) {
      const gw = await startTestGateway({
        nats: cluster.servers[i]!.url, oprfKeyFile: key, natsReplicas: 3, liveTimeoutMs: 1000, logLevel: 'warn', name: `c${i}`,
      });
      t.teardown(() => gw.close());
      gws.push(gw);
    }
    // A gateway listens before its streams are set up (on a cluster that has just formed
    // that can take seconds under CI load; registering meanwhile met 503 "not ready").
    for (const gw of gws) {
      await until('the gateway to be ready', async () => (await fetch(`http://127.0.0.1:${gw.port}/readyz`).then(async (r) => { await r.arrayBuffer(); return r.status; }, () => 0)) === 200, 60_000);
    }
    const [g0, g1, g2] = gws as [typeof gws[0], typeof gws[0], typeof gws[0]];

    const nc = await connect({ servers: cluster.urls });
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc);
    t.equal((await jsm.streams.info('KV_hw_dir')).config.num_replicas, 3, 'directory bucket has 3 replicas');

    const all = [g0.url, g1.url, g2.url];
    const b = await registerHandset([g1.url], '+15552050001');
    const c = await registerHandset([g2.url], '+15552050002');
    // C's mail goes to its route's shard (relay/bus/nats.ts): that stream's leader dies.
    const stream = `HW_MBOX_${parseInt(routeTag((await loadDevice(c.profileDir)).route).slice(0, 4), 16) % 16}`;
    const info = await jsm.streams.info(stream);
    t.equal(info.config.num_replicas, 3, 'the mailbox stream has 3 replicas');
    const leaderName = info.cluster?.leader;
    const victim = cluster.servers.findIndex((s) => s.serverName === leaderName);
    t.ok(victim >= 0, `the leader of C's mailbox stream is node ${victim}`);
    const a = await registerHandset([g0.url], '+15552050003');
    const a2 = await registerHandset([g0.url], '+15552050004');
    const rb = await openReceiver(b, [g1.url, ...all]);
    t.teardown(() => rb.close());

    let killed: Promise<void> | null = null;
    const onAck = (n: number) => {
      if (n >= TO_B / 3 && killed === null) killed = cluster.servers[victim]!.kill();
    };
    const [toB, toC] = await Promise.all([
      sendMany(a, b.number, { gateways: [g0.url, ...all], count: TO_B, label: 'to-b', onAck, gapMs: 5 }),
      sendMany(a2, c.number, { gateways: [g0.url, ...all], count: TO_C, label: 'to-c', gapMs: 20, concurrency: 2 }),
    ]);
    t.ok(killed !== null, 'the leader node was killed during the traffic');
    await killed;
    t.comment(`to B: acknowledged ${toB.acked.size} of ${TO_B}; to C: ${toC.acked.size} of ${TO_C}; gave up: ${JSON.stringify([...toB.failed, ...toC.failed].slice(0, 5))}`);
    t.ok(toB.acked.size >= TO_B / 2, 'most sends to B were acknowledged');
    t.ok(toC.acked.size >= TO_C / 2, 'most sends to C were acknowledged');

    await until('a new stream leader', async () => {
      try {
        const l = (await jsm.streams.info(stream)).cluster?.leader;
        return l !== undefined && l !== leaderName;
      } catch {
        return false;
      }
    }, 30_000, 200);

    // On a miss, the gateways' warnings say why (drain retries, bus errors, elections).
    const explain = (e: unknown): never => {
      for (const [i, g] of gws.entries()) t.comment(`gateway c${i} warnings:\n${g.logs().split('\n').slice(-40).join('\n')}`);
      throw e;
    };
    await rb.waitForIds(toB.acked.keys(), 60_000).catch(explain);
    await new Promise((r) => setTimeout(r, 1000));
    assertExactlyOnce(t, rb, [toB]);

    const rc = await openReceiver(c, [g2.url, ...all]);
    t.teardown(() => rc.close());
    await rc.waitForIds(toC.acked.keys(), 60_000).catch(explain);
    await new Promise((r) => setTimeout(r, 1000));
    assertExactlyOnce(t, rc, [toC]);
  });
}
