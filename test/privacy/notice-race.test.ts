// A pending new-device notice (relay/privacy/privacy.ts) is a flag in the device's
// directory record, cleared once the device was shown it. Shown means an op queued on
// an authenticated connection: a connection that closes while it subscribes (its
// socket dropped, a newer connection of the device took over) has shown nothing, and
// must leave the flag for the next one. Both gateways on a real nats-server; the
// interleavings are forced by holding the gateway's subscribeDevice.
import t, { type Test } from 'tap';
import { natsGatewayPair, type TestGateway } from '../helpers/gateway.ts';
import { registerRaw, authenticateRaw, type RawDevice } from '../helpers/raw-device.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { until } from '../helpers/poll.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { sign, authInput } from '../../relay/crypto/sign.ts';
import type { DeviceSubscription } from '../../relay/bus/bus.ts';

let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(7100 + ++seq).padStart(4, '0')}`;

/** The device's pending notice as the directory's leader has it (0: none). */
async function pendingNotice(gw: TestGateway, dev: RawDevice): Promise<number> {
  const d = await gw.relay.directory.findDevice(routeTag(dev.route), dev.device, { fromLeader: true });
  return Number(d?.newDeviceNoticeAtMs ?? 0);
}

/** Runs `meanwhile(sub)` once, right after `gw`'s first subscription of `dev` is made (and
 *  before the session that asked for it goes on); its result is what the session gets. */
function holdSubscription(t: Test, gw: TestGateway, dev: RawDevice, meanwhile: (sub: DeviceSubscription) => Promise<DeviceSubscription>): void {
  const bus = gw.bus;
  const original = bus.subscribeDevice.bind(bus);
  const tag = routeTag(dev.route);
  const devTok = deviceToken(dev.device);
  let done = false;
  bus.subscribeDevice = async (rt, dt, onEnvelope, onControl) => {
    const sub = await original(rt, dt, onEnvelope, onControl);
    if (rt !== tag || dt !== devTok || done) return sub;
    done = true;
    return meanwhile(sub);
  };
  t.teardown(() => { bus.subscribeDevice = original; });
}

/** An offline device of `number`, registered through `a`, with a notice pending: a new
 *  device registered through `b`. */
async function offlineWithNotice(t: Test, a: TestGateway, b: TestGateway, number: string): Promise<RawDevice> {
  const old = await registerRaw(a.url, number);
  old.c.close();
  await old.c.closed;
  const newer = await registerRaw(b.url, number);
  newer.c.close();
  t.ok(await pendingNotice(a, old.dev) > 0, 'the offline device has a notice pending');
  return old.dev;
}

t.test('a connection that closes while it subscribes leaves the notice pending', async (t) => {
  const [a, b] = await natsGatewayPair(t, 'nra');
  const dev = await offlineWithNotice(t, a, b, freshNumber());
  const devTok = deviceToken(dev.device);

  // The directory writes the auth path starts after the subscription (notice, last_seen).
  const privacy = a.relay.privacy;
  const onAuthenticated = privacy.onAuthenticated.bind(privacy);
  const writes: Promise<unknown>[] = [];
  privacy.onAuthenticated = (s, d) => {
    const w = onAuthenticated(s, d);
    if (w !== null) writes.push(w.catch(() => undefined));
    return w;
  };
  t.teardown(() => { privacy.onAuthenticated = onAuthenticated; });

  let conn: RawClient | null = null;
  let released!: () => void;
  const subReleased = new Promise<void>((r) => { released = r; });
  holdSubscription(t, a, dev, async (sub) => {
    // The socket goes while the subscription is made: the session closes first.
    conn!.close();
    await conn!.closed;
    await until('the gateway to close the session', () => ![...a.relay.sessions()].some((s) => s.deviceKey?.devTok === devTok));
    return { close: () => sub.close().finally(released) };
  });

  conn = await connectRaw(a.url);
  const ch = (await conn.next((o) => o.body === 'challenge')).challenge!;
  conn.send([{ req: 7, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(ch.nonce, dev.route, dev.device)) } }]);
  await subReleased; // the closed session let its subscription go
  await new Promise((r) => setImmediate(r)); // and ran the rest of its auth (no I/O in between)
  await Promise.all(writes);
  t.equal(conn.ops.filter((o) => o.body === 'notice').length, 0, 'the closed connection was shown nothing');
  t.ok(await pendingNotice(a, dev) > 0, 'so the notice is still pending');

  const back = await authenticateRaw(a.url, dev);
  const n = await back.next((o) => o.body === 'notice', 10_000);
  t.equal(n.notice!.kind, 'new_device', 'the next connection is shown it');
  back.close();
  await back.closed;
});

t.test('a notice that reaches a connection while it subscribes is shown once it is authenticated', async (t) => {
  const [a, b] = await natsGatewayPair(t, 'nrb');
  const number = freshNumber();
  const old = await registerRaw(a.url, number);
  old.c.close();
  await old.c.closed;
  const dev = old.dev;
  const tag = routeTag(dev.route);
  const devTok = deviceToken(dev.device);
  let arrived = false;
  holdSubscription(t, a, dev, async (sub) => {
    // Subscribed, not yet authenticated: another gateway registers a new device on the
    // number now, and its notice reaches this gateway's subscription of the device. A
    // second subscription here (control messages go to every one, oldest first) tells
    // when the session's has had it.
    let seen!: () => void;
    const got = new Promise<void>((r) => { seen = r; });
    const probe = await a.bus.subscribeDevice(tag, devTok, async () => false, (m) => { if (m.kind === 'notice') seen(); });
    const newer = await registerRaw(b.url, number);
    newer.c.close();
    await got;
    await probe.close();
    arrived = true;
    return sub;
  });

  const c = await authenticateRaw(a.url, dev);
  t.ok(arrived, 'the notice reached the subscription before the session authenticated');
  const shown = await c.next((o) => o.body === 'notice', 5_000).then(() => true, () => false);
  t.ok(shown, 'the connection is shown the notice');
  if (shown) {
    await until('the shown notice to be cleared', async () => await pendingNotice(a, dev) === 0, 10_000);
  } else {
    t.ok(await pendingNotice(a, dev) > 0, 'or at least it stays pending for the next connection');
  }
  c.close();
  await c.closed;
});
