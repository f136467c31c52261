// Authentication against a directory whose ordinary reads lag (a replicated KV read
// from a replica that has not caught up: nats-server < 2.9.17 answers direct gets from
// any replica). The gateway must look again at the leader before it refuses, since the
// SDK takes AUTH_FAILED as final; and still refuse what the leader refuses too.
// Fault injection: the gateway's real (embedded) bus, with its ordinary directory reads
// made stale; the leader read (`fromLeader`) is the real one.
import t from 'tap';
import { startTestGateway } from '../helpers/gateway.ts';
import { authenticateRaw, registerRaw } from '../helpers/raw-device.ts';
import { connectRaw } from '../helpers/raw.ts';
import { sign, authInput, generateIdentity } from '../../relay/crypto/sign.ts';
import type { DirectoryReadOptions, DirectoryRecord } from '../../relay/bus/bus.ts';
import { CloseCode } from '../../relay/errors.ts';
import { wire } from '../../relay/wire.ts';

async function recheck(gw: { metrics: { registry: { getSingleMetricAsString(n: string): Promise<string> } } }, outcome: string): Promise<number> {
  const text = await gw.metrics.registry.getSingleMetricAsString('hushwire_auth_directory_rechecks_total');
  return Number(new RegExp(`outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? NaN);
}

t.test('a registration a stale replica has not seen: authenticated through the leader read', async (t) => {
  const gw = await startTestGateway();
  t.teardown(() => gw.close());
  const { c, dev } = await registerRaw(gw.url, '+15550004001');
  c.close();
  await c.closed;

  const bus = gw.bus;
  const real = bus.directoryGet.bind(bus);
  const reads = { plain: 0, leader: 0 };
  // stale replica: the ordinary read sees no entry at all
  bus.directoryGet = (tag: string, opts?: DirectoryReadOptions): Promise<DirectoryRecord | null> => {
    if (opts?.fromLeader === true) {
      reads.leader++;
      return real(tag, opts);
    }
    reads.plain++;
    return Promise.resolve(null);
  };
  const a = await authenticateRaw(gw.url, dev);
  t.same(reads, { plain: 1, leader: 1 }, 'one ordinary read, then one at the leader');
  t.equal(await recheck(gw, 'accepted'), 1, 'counted: a lagging read would have refused a valid device');
  a.close();
  await a.closed;

  // stale replica with the device's old key (re-keyed a moment ago elsewhere)
  const old = generateIdentity();
  bus.directoryGet = async (tag: string, opts?: DirectoryReadOptions): Promise<DirectoryRecord | null> => {
    const rec = await real(tag, opts);
    if (opts?.fromLeader === true || rec === null) return rec;
    const entry = wire.DirectoryEntry.decode(rec.value);
    for (const d of entry.devices) d.identityKey = old.publicKey;
    return { value: wire.DirectoryEntry.encode(entry).finish(), revision: rec.revision };
  };
  const b = await authenticateRaw(gw.url, dev);
  t.pass('a stale key: authenticated through the leader read');
  b.close();
  await b.closed;
});

t.test('what the leader refuses is still refused, alike for unknown devices and bad signatures', async (t) => {
  const gw = await startTestGateway();
  t.teardown(() => gw.close());
  const { c, dev } = await registerRaw(gw.url, '+15550004002');
  c.close();
  await c.closed;
  const bus = gw.bus;
  const real = bus.directoryGet.bind(bus);
  let leader = 0;
  bus.directoryGet = (tag: string, opts?: DirectoryReadOptions) => {
    if (opts?.fromLeader === true) leader++;
    return real(tag, opts);
  };
  const tryAuth = async (secret: Uint8Array, device: Uint8Array) => {
    const s = await connectRaw(gw.url);
    const ch = (await s.next((o) => o.body === 'challenge')).challenge!;
    s.send([{ req: 1, auth: { route: dev.route, device, signature: sign(secret, authInput(ch.nonce, dev.route, device)) } }]);
    const r = await s.reply(1);
    const closed = await s.closed;
    return { code: r.error?.code, message: r.error?.message, close: closed.code };
  };
  const wrongKey = await tryAuth(generateIdentity().secretKey, dev.device);
  const unknown = await tryAuth(dev.id.secretKey, new Uint8Array(16).fill(9));
  t.equal(wrongKey.code, 'AUTH_FAILED');
  t.equal(wrongKey.close, CloseCode.AUTH_FAILED);
  t.same(unknown, wrongKey, 'unknown device and wrong signature answer alike');
  t.equal(leader, 2, 'each refusal looked at the leader once');
  t.equal(await recheck(gw, 'refused'), 2, 'counted as refused after the re-check');
  t.equal(await recheck(gw, 'accepted'), 0);
  // and a good one needs no second look
  const ok = await authenticateRaw(gw.url, dev);
  t.equal(leader, 2, 'no leader read for a good authentication');
  ok.close();
  await ok.closed;
});
