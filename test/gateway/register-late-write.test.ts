// A register's directory write that timed out and landed only AFTER the clean-up of its
// unfinished registration had found the device absent. The connection closed after the
// write's UNAVAILABLE (the handset gave up); the gateway's clean-up
// (Privacy.eraseUnfinished) read the record at the leader, found no device, counted
// 'absent' and stopped; then nats-server applied the write it had been holding, and the
// device stayed listed, with keys no handset holds, until the idle expiry (weeks). Now a
// write whose outcome was unknown (its answer never came) is looked for once more, at
// the leader, once it can no longer land (after a read on the connection that carried it
// was answered, plus LATE_WRITE_RECHECK_MS): listed as that register wrote it, it is
// removed ('removed'), its mail erased.
// A real 3-node NATS cluster, the directory on 3 replicas; the node leading its stream is
// frozen (SIGSTOP, test/helpers/nats-server.ts stallNatsServer) while the write is on its
// way: the gateway's request deadline (1 s) passes, the register is answered UNAVAILABLE,
// the connection closes, and the clean-up's read at the leader goes out into the frozen
// node; the node is then resumed, and takes the write and the read in that order,
// answering the read before the write is committed (its followers acknowledge it after). And the same with the leader
// frozen until that read failed (its deadline): the clean-up gave up at once then
// ('failed'), and the write landed after; now a failed read is made again, every second
// within the clean-up's 30 s.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { generateIdentity } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { routeTag } from '../../relay/tokens.ts';
import { devicesOf } from '../../relay/directory.ts';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsCluster, stallNatsServer, haveNatsServer, type NatsClusterHandle, type NatsServerHandle } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { withCode } from '../helpers/raw-device.ts';
import { atFirstCall } from '../helpers/bus-hooks.ts';
import { until } from '../helpers/poll.ts';

t.setTimeout(120_000);

const skip = haveNatsServer() ? false : 'nats-server not installed';
const STALL_MAX_MS = 30_000;
let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++seq).padStart(4, '0')}`;

/** hushwire_unfinished_registrations_total of `gw` by outcome. */
async function unfinished(gw: TestGateway): Promise<Record<string, number>> {
  const m = gw.relay.metrics.registry.getSingleMetric('hushwire_unfinished_registrations_total');
  const out: Record<string, number> = {};
  for (const v of (await m?.get())?.values ?? []) out[String(v.labels.outcome)] = v.value;
  return out;
}

/** The node that leads the directory's stream (KV_hw_dir): it applies the writes and
 *  answers the reads at the leader. */
async function directoryLeader(cluster: NatsClusterHandle): Promise<NatsServerHandle> {
  const nc = await connect({ servers: cluster.urls });
  try {
    const info = await (await jetstreamManager(nc)).streams.info('KV_hw_dir');
    const leader = cluster.servers.find((s) => s.serverName === info.cluster?.leader);
    if (leader === undefined) throw new Error(`no leader for KV_hw_dir (${JSON.stringify(info.cluster)})`);
    return leader;
  } finally {
    await nc.close();
  }
}

for (const held of ['briefly', 'past the read\'s deadline'] as const) {
  const title = held === 'briefly'
    ? 'a register write that lands after the clean-up found its device absent is removed all the same'
    : 'the leader frozen past the clean-up\'s first read too: the read is made again, and the device removed';
  t.test(title, { skip }, async (t: Test) => {
    const cluster = await startNatsCluster(3, { t });
    const gw = await startTestGateway(
      { nats: cluster.servers[0]!.url, transport: 'ws', oprfKeyFile: oprfKeyFile(), natsReplicas: 3, mailboxShards: 1, logLevel: 'warn' },
      { busRequests: { requestTimeoutMs: 1_000 } },
    );
    t.teardown(() => gw.close());
    const nats = await directoryLeader(cluster);
    const number = freshNumber();
    const tag = routeTag(await gw.relay.evaluator.routeForNumber(number));
    const { c, register } = await withCode(t, gw.url, number);
    const d = { id: generateIdentity(), prekey: generateKeyPair(), device: new Uint8Array(randomBytes(16)) };

    // The leader freezes as the register's write goes out (after its read of the record).
    let resume: () => void = () => undefined;
    const hook = atFirstCall(t, gw.bus, 'directoryPut', async () => { resume = stallNatsServer(t, nats, STALL_MAX_MS); });
    t.equal(await register(d), 'UNAVAILABLE', 'the write got no answer within the request deadline');
    t.ok(hook.hooked, 'the leader froze under the write');

    // The clean-up's read at the leader goes out into the frozen server, behind the write.
    // 'briefly': the leader is resumed once it has (the read is answered before the write
    // is committed). Else once that read has failed (its deadline passed): the clean-up
    // then gave up before ('failed'; the device stayed until the idle expiry).
    const bus = gw.bus;
    const get = bus.directoryGet.bind(bus);
    let reads = 0;
    let firstLook: number | 'failed' | null = null;
    bus.directoryGet = (routeTag, opts) => {
      const p = get(routeTag, opts);
      if (routeTag === tag && ++reads === 1) {
        if (held === 'briefly') setTimeout(resume, 200);
        void p.then((rec) => { firstLook = devicesOf(rec).length; }, () => { firstLook = 'failed'; resume(); });
      }
      return p;
    };
    t.teardown(() => { bus.directoryGet = get; });
    c.close(); // the handset gives up

    await until('the unfinished registration to be dealt with', async () => Object.values(await unfinished(gw)).some((n) => n > 0), 60_000);
    // Whatever the first look found, the write has landed by now (the leader is running):
    // the device must not stay.
    await until('the device to be out of the directory', async () => (await gw.relay.directory.devices(tag, { fromLeader: true })).length === 0, 30_000)
      .catch(() => undefined);
    const left = await gw.relay.directory.devices(tag, { fromLeader: true });
    t.same(left.map((x) => Buffer.from(x.device).toString('hex')), [], 'no device of the unfinished registration is left listed');
    t.equal(firstLook, held === 'briefly' ? 0 : 'failed', held === 'briefly'
      ? 'the clean-up\'s first look at the leader found no device: the write landed after it'
      : 'the clean-up\'s first look at the leader failed');
    t.same(await unfinished(gw), { removed: 1, absent: 0, kept: 0, failed: 0 }, 'counted removed');
  });
}
