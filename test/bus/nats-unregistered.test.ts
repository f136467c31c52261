// An `unregistered` published while the publishing bus has lost NATS is dropped by
// nats.js (it writes nothing kept from before a reconnect), and with it the announcement
// every gateway checks authentications against (relay/bus/unregistered.ts). The bus
// keeps what it published without a PONG after it and publishes it again once
// reconnected (and settled): a gateway that never lost NATS hears it. On a 3-node
// cluster, so that only the publisher's node goes away.
import t from 'tap';
import { NatsBus } from '../../relay/bus/nats.ts';
import { RecentUnregistrations } from '../../relay/bus/unregistered.ts';
import { CONTRACT_LIMITS, tok, waitFor } from './contract.ts';
import { haveNatsServer, startNatsCluster, startNatsServer } from '../helpers/nats-server.ts';
import { startClusterBus } from '../helpers/cluster-bus.ts';

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  t.test('an unregistered published while disconnected goes out again after the reconnect', async (t) => {
    // no_advertise: a, told only node 0, stays disconnected while node 0 is down (else
    // nats.js learns the other nodes and moves to one within milliseconds: the publish
    // below went out connected, and the wait for 'reconnecting' missed so short a state;
    // CI 2026-12-07).
    const cluster = await startNatsCluster(3, { t, noAdvertise: true });
    const opts = { limits: CONTRACT_LIMITS, replicas: 3, mailboxShards: 1, prefix: 'nu', reconnectWaitMs: 100, requestTimeoutMs: 5000 };
    // A start on a just-formed cluster is tried up to three times (helpers/cluster-bus.ts).
    const startBus = (name: string, url: string): Promise<NatsBus> => startClusterBus(t, opts, name, url);
    const a = await startBus('a', cluster.urls[0] as string);
    const b = await startBus('b', cluster.urls[2] as string);
    const heard: string[] = [];
    b.watchUnregistered({ unregistered: (k) => heard.push(k), gap: () => undefined });
    const [r, d] = [tok(), tok()];
    await waitFor(() => b.unregisteredSince(r, d, b.unregisteredMark()) !== 'unknown', 10_000, 'b to trust its announcements');
    const mark = b.unregisteredMark();
    let bLost = false;
    const watch = setInterval(() => { if (b.status().state !== 'connected') bLost = true; }, 20);
    t.teardown(() => clearInterval(watch));

    await cluster.servers[0]!.stop();
    await waitFor(() => a.status().state === 'reconnecting', 10_000, 'a to see its node gone');
    await a.publishControl(r, d, { kind: 'unregistered' });
    await new Promise((res) => setImmediate(res)); // its turn is written: into nats.js, disconnected
    await cluster.servers[0]!.restart();
    await waitFor(() => a.status().state === 'connected', 30_000, 'a to reconnect');
    await waitFor(() => heard.includes(`${r}.${d}`), 20_000, 'b to hear the announcement');
    t.same(heard, [`${r}.${d}`], 'b heard the device, once');
    t.equal(b.unregisteredSince(r, d, mark), 'announced', 'and remembers it for the authentications under way');
    t.notOk(bLost, 'b never lost NATS: what it heard is the publish made again');
  });

  // A removal's intent (relay/bus/unregistered.ts announcedRemoval) is settled by its
  // announcement: only one not followed by it comes due (its sessions elsewhere read).
  t.test('an intent followed by its announcement never comes due; one that is not does', async (t) => {
    const server = await startNatsServer({ t });
    const opts = { servers: server.url, limits: CONTRACT_LIMITS, mailboxShards: 1, prefix: 'ni', name: 'hushwire-test' };
    const a = new NatsBus(opts);
    const set = new RecentUnregistrations({ intentTimeoutMs: 300 });
    const b = new NatsBus({ ...opts, unregistered: set });
    t.teardown(() => Promise.all([a.close(), b.close()]));
    await a.start();
    await b.start();
    const due: string[] = [];
    b.watchUnregistered({ unregistered: () => undefined, gap: () => undefined, unconfirmed: (keys) => due.push(...keys) });
    const [r1, d1, r2, d2] = [tok(), tok(), tok(), tok()];
    await a.announceUnregistering(r1, d1); // resolved: nats-server has it
    await a.publishControl(r1, d1, { kind: 'unregistered' });
    await a.announceUnregistering(r2, d2); // its removal "failed": no announcement
    await waitFor(() => due.length > 0, 10_000, 'the unannounced intent to come due');
    t.same(due, [`${r2}.${d2}`], 'only the intent not followed by its announcement (the earlier one, announced, never)');
    t.equal(set.pending, 0, 'nothing left waiting');
  });
}
