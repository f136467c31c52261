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
import { until } from '../helpers/poll.ts';
import { sign, authInput, generateIdentity, prekeyInput } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { routeTag } from '../../relay/tokens.ts';
import { bytesEqual } from '../../relay/bytes.ts';
import type { DirectoryReadOptions, DirectoryRecord } from '../../relay/bus/bus.ts';
import { CloseCode, ErrorCode } from '../../relay/errors.ts';
import { wire } from '../../relay/wire.ts';

type DirectoryGet = (tag: string, opts?: DirectoryReadOptions) => Promise<DirectoryRecord | null>;

/** A lagging replica that has not seen the route yet: ordinary reads find no entry,
 *  reads at the leader go to `real`; both counted in `reads`. */
function staleMissing(bus: { directoryGet: DirectoryGet }, real: DirectoryGet, reads: { plain: number; leader: number }): void {
  bus.directoryGet = (tag, opts) => {
    if (opts?.fromLeader === true) {
      reads.leader++;
      return real(tag, opts);
    }
    reads.plain++;
    return Promise.resolve(null);
  };
}

/** A lagging replica with an older version of the devices: ordinary reads see each
 *  device as `edit` leaves it, reads at the leader see the entry as it is. */
function staleDevices(bus: { directoryGet: DirectoryGet }, real: DirectoryGet, edit: (d: { identityKey?: Uint8Array | null; prekey?: Uint8Array | null }) => void): void {
  bus.directoryGet = async (tag, opts) => {
    const rec = await real(tag, opts);
    if (opts?.fromLeader === true || rec === null) return rec;
    const entry = wire.DirectoryEntry.decode(rec.value);
    for (const d of entry.devices) edit(d);
    return { value: wire.DirectoryEntry.encode(entry).finish(), revision: rec.revision };
  };
}

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
  staleMissing(bus, real, reads);
  const a = await authenticateRaw(gw.url, dev);
  // The auth: one ordinary read, then one at the leader. Once subscribed, no re-read of
  // the record: the bus heard no opt-out announced since the read (a re-read would have
  // been made before the auth's answer).
  t.same(reads, { plain: 1, leader: 1 }, 'one ordinary read, then one at the leader');
  t.equal(await recheck(gw, 'accepted'), 1, 'counted: a lagging read would have refused a valid device');
  a.send([{ req: 9, lookup: { route: dev.route } }]);
  t.equal((await a.reply(9)).body, 'devices', 'the connection stays');
  a.close();
  await a.closed;

  // When the bus cannot tell (an announcement may have been missed: NATS lost meanwhile),
  // the record is read again once subscribed (Session.recheckRegistered, for an opt-out
  // racing the auth): ordinary, and at the leader too since the ordinary one finds
  // nothing. A lagging re-read must not end a registered device's connection 4006.
  const since = bus.unregisteredSince.bind(bus);
  bus.unregisteredSince = () => 'unknown';
  t.teardown(() => { bus.unregisteredSince = since; });
  reads.plain = 0;
  reads.leader = 0;
  const unsure = await authenticateRaw(gw.url, dev);
  await until('the re-read at the leader', () => reads.leader >= 2, 10_000);
  t.same(reads, { plain: 2, leader: 2 }, 'the auth\'s reads, then the re-read the same');
  unsure.send([{ req: 9, lookup: { route: dev.route } }]);
  t.equal((await unsure.reply(9)).body, 'devices', 'the connection stays: a lagging re-read does not end it 4006');
  bus.unregisteredSince = since;
  unsure.close();
  await unsure.closed;

  // stale replica with the device's old key (re-keyed a moment ago elsewhere)
  const old = generateIdentity();
  staleDevices(bus, real, (d) => { d.identityKey = old.publicKey; });
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

// set_prekey (relay/prekey.ts) against the same lagging reads: a refusal is decided again
// at the leader, and a compare-and-set that conflicted reads again at the leader.

let nextReq = 100;
async function setPrekeyRaw(c: Awaited<ReturnType<typeof connectRaw>>, prekey: Uint8Array, signature: Uint8Array) {
  const req = nextReq++;
  c.send([{ req, setPrekey: { prekey, prekeySignature: signature } }]);
  return c.reply(req);
}

t.test('set_prekey: a stale read that does not list the device, or shows the previous prekey, is checked at the leader', async (t) => {
  const gw = await startTestGateway();
  t.teardown(() => gw.close());
  const { c, dev } = await registerRaw(gw.url, '+15550004003');
  t.teardown(() => c.close());
  const bus = gw.bus;
  const real = bus.directoryGet.bind(bus);
  const reads = { plain: 0, leader: 0 };

  // A registration the replica has not seen yet: the device is not listed there.
  staleMissing(bus, real, reads);
  const k1 = generateKeyPair().publicKey;
  const s1 = sign(dev.id.secretKey, prekeyInput(k1));
  const r1 = await setPrekeyRaw(c, k1, s1);
  t.equal(r1.body, 'ok', 'rotated through the leader read, not NOT_REGISTERED');
  t.ok(reads.leader >= 1, 'the leader was read');
  const listed = (await real(routeTag(dev.route)))!;
  t.ok(bytesEqual(wire.DirectoryEntry.decode(listed.value).devices[0]!.prekey!, k1), 'the directory holds the new prekey');

  // A retry of that rotation (its ok lost) while the replica still shows the previous
  // prekey with the rotation time: the leader has k1 current, so it is an ok.
  staleDevices(bus, real, (d) => { d.prekey = dev.prekey.publicKey; });
  const r2 = await setPrekeyRaw(c, k1, s1);
  t.equal(r2.body, 'ok', 'the current prekey again: ok, not RATE_LIMITED');

  // And what the leader refuses is still refused: a new prekey within the interval.
  const k2 = generateKeyPair().publicKey;
  const r3 = await setPrekeyRaw(c, k2, sign(dev.id.secretKey, prekeyInput(k2)));
  t.equal(r3.error?.code, ErrorCode.RATE_LIMITED, 'a rotation too soon stays RATE_LIMITED');
});

t.test('directory edits: a compare-and-set that conflicted on a stale revision reads again at the leader', async (t) => {
  const gw = await startTestGateway();
  t.teardown(() => gw.close());
  const { c, dev } = await registerRaw(gw.url, '+15550004004');
  t.teardown(() => c.close());
  const bus = gw.bus;
  const real = bus.directoryGet.bind(bus);
  // Every ordinary read lags one write behind: its revision is an old one, so a put made
  // with it conflicts.
  let plain = 0;
  bus.directoryGet = async (tag: string, opts?: DirectoryReadOptions): Promise<DirectoryRecord | null> => {
    const rec = await real(tag, opts);
    if (opts?.fromLeader === true || rec === null) return rec;
    plain++;
    return { value: rec.value, revision: rec.revision - 1 };
  };
  const k1 = generateKeyPair().publicKey;
  const r = await setPrekeyRaw(c, k1, sign(dev.id.secretKey, prekeyInput(k1)));
  t.equal(r.body, 'ok', 'written after one conflict, not UNAVAILABLE after eight');
  t.equal(plain, 1, 'one ordinary read; the re-read after the conflict went to the leader');
  const listed = (await real(routeTag(dev.route)))!;
  t.ok(bytesEqual(wire.DirectoryEntry.decode(listed.value).devices[0]!.prekey!, k1));
});
