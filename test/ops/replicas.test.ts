// --nats-replicas on a 3-node JetStream cluster: the mailbox streams and the KV buckets
// are created with 3 replicas, a gateway started with the default (1) does not lower
// them, and a message stored through one gateway survives the loss of the node it was
// sent through (read back through a gateway on another node).
import t from 'tap';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { startNatsCluster, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { registerDevice, authenticate, envelopeFor, send, httpGet, until } from './fixtures.ts';

t.test('3 replicas on a 3-node cluster', { skip: !haveNatsServer() && 'nats-server not installed', timeout: 120_000 }, async (t) => {
  const cluster = await startNatsCluster(3, { t });
  const key = oprfKeyFile();
  const gwA = await startTestGateway({ nats: cluster.servers[0]!.url, oprfKeyFile: key, natsReplicas: 3, logLevel: 'warn' });
  t.teardown(() => gwA.close());
  // It listens before its streams are set up (seconds on a just-formed cluster under load).
  await until(async () => (await httpGet(gwA.url, '/readyz')).status === 200, 60_000, 'gateway A ready');

  const nc = await connect({ servers: cluster.servers[1]!.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc, { timeout: 10_000, checkAPI: false });
  const streams: Record<string, number> = {};
  const mboxReplicas = (): number[] => Object.entries(streams).filter(([n]) => /^HW_MBOX_\d+$/.test(n)).map(([, r]) => r);
  // A clustered stream list leaves out a stream whose leader did not answer in time
  // (the server's "missing" list; seen under CI load): look each one up by name.
  // An info request can time out as well while the cluster is busy: retried (bounded).
  const readReplicas = async (): Promise<void> => {
    for (const name of [...Array.from({ length: 16 }, (_, s) => `HW_MBOX_${s}`), 'KV_hw_dir']) {
      for (const until = Date.now() + 30_000; ;) {
        const si = await jsm.streams.info(name).catch((e: unknown) => {
          if (Date.now() > until) throw e;
          return null;
        });
        if (si !== null) {
          streams[name] = si.config.num_replicas;
          break;
        }
      }
    }
  };
  await readReplicas();
  t.same(mboxReplicas(), new Array(16).fill(3), 'each of the 16 mailbox streams has 3 replicas');
  t.equal(streams.KV_hw_dir, 3, 'directory bucket has 3 replicas');

  // A gateway started without --nats-replicas does not lower them.
  const gw1 = await startTestGateway({ nats: cluster.servers[1]!.url, oprfKeyFile: key, logLevel: 'warn' });
  t.equal(gw1.logs().split('\n').filter((l) => /more replicas than configured; keeping them \(3, --nats-replicas 1\)/.test(l)).length, 1, 'it says so, once (not once per shard)');
  await gw1.close();
  await readReplicas();
  t.same(mboxReplicas(), new Array(16).fill(3), 'still 3 replicas after a gateway with the default (1) started');
  t.equal(streams.KV_hw_dir, 3);

  // A message stored through node 0, then node 0 dies: it is read back through node 2.
  const { c: a } = await registerDevice(gwA.url, '+15550500001');
  const { c: bc, dev: bob } = await registerDevice(gwA.url, '+15550500002');
  bc.close();
  // What the cluster's nodes said about leaders lately: when a read or a store times
  // out under load, it was (every time it was looked at) a Raft group between leaders.
  const leaderNews = (): string => cluster.servers.map((s) => s.logTail().split('\n')
    .filter((l) => /leader|election|lost quorum/i.test(l)).slice(-4).join('\n')).join('\n');
  // A handset resends a failed envelope (same id) while the gateway says UNAVAILABLE: a
  // store can time out while a Raft group of the just-formed cluster elects a leader on
  // a starved machine (seen under CI load). Only the outcome matters here.
  const env = envelopeFor(bob);
  let r = (await send(a, [env]))[0]!;
  for (const until = Date.now() + 30_000; r.status === 'failed' && r.code === 'UNAVAILABLE' && Date.now() < until;) {
    t.comment(`store: ${r.code}; retrying. Leader changes seen:\n${leaderNews()}`);
    await new Promise((res) => setTimeout(res, 500));
    r = (await send(a, [env]))[0]!;
  }
  t.equal(r.status, 'stored', `stored (${r.code})`);
  a.close();
  await gwA.close();
  await cluster.servers[0]!.kill();

  // The two nodes left elect new leaders for the stream and the buckets.
  const nc2 = await connect({ servers: cluster.servers[2]!.url });
  t.teardown(() => nc2.close());
  const jsm2 = await jetstreamManager(nc2, { timeout: 2000, checkAPI: false });
  const leader = async (name: string) => (await jsm2.streams.info(name).catch(() => null))?.cluster?.leader;
  const mailboxLeaders = async (): Promise<boolean> => (await Promise.all(Array.from({ length: 16 }, (_, s) => leader(`HW_MBOX_${s}`)))).every((l) => l !== undefined);
  // Stream leaders, and a cluster that can place an ephemeral consumer again (what a
  // mailbox read creates; the meta group places it): on a loaded CI machine the
  // elections after node 0's loss could still be running when the gateway's first reads
  // timed out.
  const consumerPlaced = async (): Promise<boolean> => {
    const ci = await jsm2.consumers.add('HW_MBOX_0', { ack_policy: AckPolicy.None, mem_storage: true }).catch(() => null);
    if (ci === null) return false;
    await jsm2.consumers.delete('HW_MBOX_0', ci.name).catch(() => undefined);
    return true;
  };
  for (let i = 0; !(await mailboxLeaders()) || !(await leader('KV_hw_dir')) || !(await consumerPlaced()); i++) {
    if (i >= 120) throw new Error('no stream or meta leader after node 0 died');
    await new Promise((res) => setTimeout(res, 250));
  }
  const gwC = await startTestGateway({ nats: cluster.servers[2]!.url, oprfKeyFile: key, natsReplicas: 3, logLevel: 'warn' });
  t.teardown(() => gwC.close());
  await until(async () => (await httpGet(gwC.url, '/readyz')).status === 200, 30_000, 'gateway C ready');
  // Right after a node's loss a read can still time out (UNAVAILABLE, which handsets
  // retry with backoff): authenticate as a handset would, for up to 30 s. A refusal
  // (AUTH_FAILED) fails at once.
  let b: Awaited<ReturnType<typeof authenticate>> | null = null;
  for (const until = Date.now() + 30_000; b === null;) {
    try {
      b = await authenticate(gwC.url, bob);
    } catch (e) {
      if (!/UNAVAILABLE/.test(String(e)) || Date.now() > until) throw e;
      t.comment(`authentication: ${String(e)}; retrying. Leader changes seen:\n${leaderNews()}`);
      await new Promise((res) => setTimeout(res, 500));
    }
  }
  // A drain that still meets a degraded cluster retries with backoff (relay/session.ts):
  // allow for one or two of those rounds.
  const d = await b.next((o) => o.body === 'deliver', 40_000).catch((e) => {
    t.comment(gwC.logs());
    throw e;
  });
  t.equal(d.deliver!.envelopes.length, 1, 'the stored message survived the node it was sent through');
  b.close();
});
