// On a real 3-node JetStream cluster with every bucket on 3 replicas (--nats-replicas 3),
// the two refusals that are decided again by a read at the directory's leader before
// they are given (an ordinary direct get may come from a replica that lags):
// - set_prekey (relay/prekey.ts setPrekey): a second rotation within the interval is
//   refused RATE_LIMITED only after the leader's copy says so too;
// - authentication (relay/session.ts): a device that opted out is refused only after
//   the leader's copy no longer lists it either (hushwire_auth_directory_rechecks_total).
// test/faults/stale-directory.test.ts injects the lagging reads themselves; this runs
// the leader reads against real replicas, with the gateways on different nodes (the
// registration written through node 0, the checks made through node 1).
import t from 'tap';
import { startNatsCluster, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { httpGet, sample } from '../ops/fixtures.ts';
import { HushwireClient, MemoryStore, PROFILE_RECORDS, HushwireError, ErrorCode } from '../../client/index.ts';

t.setTimeout(240_000);

async function copyOf(store: MemoryStore): Promise<MemoryStore> {
  const copy = new MemoryStore();
  for (const r of PROFILE_RECORDS) {
    const text = await store.read(r);
    if (text !== undefined) await copy.write(r, text);
  }
  return copy;
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  t.test('R3 cluster: set_prekey and authentication refusals are decided again at the leader, and hold', async (t) => {
    const cluster = await startNatsCluster(3, { t });
    const key = oprfKeyFile();
    const gws: TestGateway[] = [];
    for (let i = 0; i < 2; i++) {
      const gw = await startTestGateway({ nats: cluster.servers[i]!.url, oprfKeyFile: key, natsReplicas: 3, logLevel: 'warn', name: `l${i}` });
      t.teardown(() => gw.close());
      gws.push(gw);
    }
    const [g0, g1] = gws as [TestGateway, TestGateway];
    const store = new MemoryStore();
    await HushwireClient.register({ store, gateways: [g0.url], number: '+15552060001' });
    const stale = await copyOf(store);

    const client = await HushwireClient.open(store, { gateways: [g1.url], prekeyRotationMs: 0, ownDevicesCheckMs: 0 });
    t.teardown(() => client.close());
    await client.connect();
    t.equal(client.connectionState, 'connected', 'registered through node 0, authenticated through node 1');

    await client.rotatePrekey();
    const again = await client.rotatePrekey().then(() => null, (e: unknown) => e);
    t.ok(again instanceof HushwireError && again.code === ErrorCode.RATE_LIMITED, 'a second rotation within the interval: RATE_LIMITED (the leader\'s copy agrees)');
    t.ok(again instanceof HushwireError && again.retryAfterMs > 0, 'with what is left of the interval');

    await client.unregister();
    // A copy of the profile from before the opt-out: its device is gone everywhere.
    const ghost = await HushwireClient.open(stale, { gateways: [g1.url], prekeyRotationMs: 0, ownDevicesCheckMs: 0, connectAttempts: 1 });
    t.teardown(() => ghost.close());
    const refused = await ghost.connect().then(() => null, (e: unknown) => e);
    t.ok(refused instanceof HushwireError, `the opted-out device is refused (${String(refused)})`);
    const m = (await httpGet(g1.url, '/metrics')).body;
    t.ok((sample(m, 'hushwire_auth_directory_rechecks_total', { outcome: 'refused' }) ?? 0) >= 1, 'after a second read at the directory leader');
    t.equal(sample(m, 'hushwire_auth_directory_rechecks_total', { outcome: 'accepted' }), 0, 'which did not list it either');
  });
}
