// The opt-out race (test/privacy/optout-auth-race.test.ts) is closed without a second
// directory read per authentication: every `unregistered` is also announced on one
// subject every gateway subscribes to (`<prefix>.unreg`), and a gateway checks, once an
// authentication's subscription is confirmed, whether the device was announced since its
// record read began (relay/bus/unregistered.ts). Here the opt-out is played by the test
// on a real nats-server, so that each message goes out exactly when a case needs it: the
// device's record is removed through the other gateway's directory, its `unregistered`
// published on the device subject while the authenticating gateway's subscribeDevice is
// held (so it misses it), and the announcement published before the SUB is confirmed,
// after it, or never (lost), with the authenticating gateway's NATS connection lost
// and regained around it (a nats-server restart). Each case: the late connection ends
// 4006.
import t, { type Test } from 'tap';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { haveNatsServer, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import { natsGatewayPairOn, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { registerRaw, type RawDevice } from '../helpers/raw-device.ts';
import { until, within } from '../helpers/poll.ts';
import { holdSubscribe } from '../helpers/bus-hooks.ts';
import { sign, authInput } from '../../relay/crypto/sign.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { CloseCode, ErrorCode, HushwireError } from '../../relay/errors.ts';

const PREFIX = 'optann';
const enc = new TextEncoder();

interface Scene {
  nats: NatsServerHandle;
  a: TestGateway;
  b: TestGateway;
  nc: NatsConnection;
  dev: RawDevice;
  tag: string;
  tok: string;
}

async function scene(t: Test, number: string): Promise<Scene> {
  const nats = await startNatsServer({ t });
  const [a, b] = await natsGatewayPairOn(t, nats.url, PREFIX);
  const nc = await connect({ servers: nats.url, name: 'test-optout' });
  t.teardown(() => nc.close());
  const { c: reg, dev } = await registerRaw(a.url, number);
  reg.close();
  await reg.closed;
  const tag = routeTag(dev.route);
  const tok = deviceToken(dev.device);
  // Past the settle after b's start (UNREGISTERED_SETTLE_MS): b trusts its announcements,
  // so nothing below is decided by a read made because it does not yet.
  await until('b to trust its announcements', () => b.bus.unregisteredSince(tag, tok, b.bus.unregisteredMark()) !== 'unknown');
  return { nats, a, b, nc, dev, tag, tok };
}

/** A fresh socket that sends its (signed) auth; the answer is not awaited. */
async function startAuth(url: string, dev: RawDevice): Promise<RawClient> {
  const c = await connectRaw(url);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 7, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(ch.nonce, dev.route, dev.device)) } }]);
  return c;
}

/** The opt-out's removal and device message, as the opting-out gateway makes them. */
async function removeAndTellDevice(s: Scene): Promise<void> {
  await s.a.relay.directory.removeDevice(s.tag, s.dev.device);
  s.nc.publish(`${PREFIX}.dev.${s.tag}.${s.tok}`, enc.encode(JSON.stringify({ kind: 'unregistered' })));
  await s.nc.flush(); // nats-server has it: b's subscription, held, is not there yet
}

async function announce(s: Scene): Promise<void> {
  s.nc.publish(`${PREFIX}.unreg`, enc.encode(`${s.tag}.${s.tok}`));
  await s.nc.flush();
}

async function checks(gw: TestGateway, outcome: string): Promise<number> {
  const text = await gw.metrics.registry.getSingleMetricAsString('hushwire_auth_optout_checks_total');
  return Number(new RegExp(`outcome="${outcome}"} (\\d+)`).exec(text)?.[1] ?? 0);
}

async function endsUnregistered(t: Test, s: Scene, late: RawClient, what: string): Promise<void> {
  const closed = await within(late.closed, 20_000, 'the late connection to close').catch((e: Error) => ({ code: -1, reason: e.message }));
  t.equal(closed.code, CloseCode.UNREGISTERED, what);
  t.notOk([...s.b.relay.sessions()].some((x) => x.authenticated && x.deviceKey?.tag === s.tag), 'no authenticated session of the device is left');
  late.close();
}

/** Every case starts alike: the scene's device authenticates late at b, its subscription
 *  held there (`hold`), and opts out meanwhile through a (removed, its device message
 *  published and missed by b); the cases differ in the announcement and the NATS loss
 *  around the hold's release. `mark`: b's announcement mark from before the late auth. */
async function optOutDuringAuth(t: Test, number: string) {
  const s = await scene(t, number);
  const hold = holdSubscribe(t, s.b, s.tag, s.tok);
  const mark = s.b.bus.unregisteredMark();
  const late = await startAuth(s.b.url, s.dev);
  await hold.entered;
  await removeAndTellDevice(s);
  return { s, hold, mark, late };
}

/** nats-server restarted: b lost NATS and has it back, and JetStream answers again. */
async function natsRestarted(s: Scene): Promise<void> {
  await s.nats.restart();
  await until('b to reconnect', () => s.b.bus.status().state === 'connected', 30_000);
  await until('JetStream to answer b', () => s.b.relay.directory.findDevice(s.tag, s.dev.device, { fromLeader: true }).then(() => true, () => false), 30_000, 200);
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  t.test('the announcement arrives before the SUB is confirmed: closed at the check, no read', async (t) => {
    const { s, hold, mark, late } = await optOutDuringAuth(t, '+15557733001');
    await announce(s);
    await until('b to hear the announcement', () => s.b.bus.unregisteredSince(s.tag, s.tok, mark) === 'announced');
    const before = await checks(s.b, 'announced');
    hold.release();
    await endsUnregistered(t, s, late, 'the late connection closes 4006');
    t.equal(await checks(s.b, 'announced'), before + 1, 'counted: announced');
  });

  t.test('the announcement arrives after the SUB is confirmed: the subscription hears it', async (t) => {
    const { s, hold, late } = await optOutDuringAuth(t, '+15557733002');
    const clear = await checks(s.b, 'clear');
    hold.release();
    t.equal((await late.reply(7)).body, 'ok', 'authenticated: nothing announced yet');
    t.equal(await checks(s.b, 'clear'), clear + 1, 'cleared without a read');
    await announce(s);
    await endsUnregistered(t, s, late, 'the announcement closes it 4006');
  });

  t.test('the announcement lost while the auth was under way (NATS lost and back): read again', async (t) => {
    const { s, hold, late } = await optOutDuringAuth(t, '+15557733003');
    // No announcement: lost with the connection.
    await natsRestarted(s);
    const reread = await checks(s.b, 'reread');
    hold.release();
    await endsUnregistered(t, s, late, 'the re-read finds the device gone: 4006');
    t.ok(await checks(s.b, 'reread') > reread, 'counted: reread');
  });

  t.test('the announcement lost just after the auth was cleared (NATS lost and back): read again after the reconnect', async (t) => {
    const { s, hold, late } = await optOutDuringAuth(t, '+15557733004');
    hold.release();
    t.equal((await late.reply(7)).body, 'ok', 'authenticated: nothing announced');
    t.ok([...s.b.relay.sessions()].some((x) => x.authenticated && x.deviceKey?.tag === s.tag), 'cleared, still connected');
    // The announcement would have come now, into a connection that died.
    await natsRestarted(s);
    await endsUnregistered(t, s, late, 'the re-read after the reconnect finds the device gone: 4006');
  });
}

t.test('the fallback read fails (the bus cannot tell, and cannot read either): read again until it decides', async (t) => {
  const gw = await startTestGateway();
  t.teardown(() => gw.close());
  const { c: reg, dev } = await registerRaw(gw.url, '+15557733005');
  reg.close();
  await reg.closed;
  const tag = routeTag(dev.route);
  const tok = deviceToken(dev.device);
  const hold = holdSubscribe(t, gw, tag, tok);
  const late = await startAuth(gw.url, dev);
  await hold.entered;
  // Removed with nothing sent (its messages lost), and the bus unable to tell: 'unknown'.
  await gw.relay.directory.removeDevice(tag, dev.device);
  const bus = gw.bus;
  const since = bus.unregisteredSince.bind(bus);
  bus.unregisteredSince = () => 'unknown';
  t.teardown(() => { bus.unregisteredSince = since; });
  // The re-read's first read fails, as reads do while JetStream does not answer yet.
  const directory = gw.relay.directory;
  const read = directory.findDevice.bind(directory);
  let failures = 1;
  directory.findDevice = (tg, device, opts) => {
    if (tg === tag && failures > 0) {
      failures--;
      return Promise.reject(new HushwireError(ErrorCode.UNAVAILABLE, 'directory unavailable'));
    }
    return read(tg, device, opts);
  };
  t.teardown(() => { directory.findDevice = read; });
  hold.release();
  const closed = await within(late.closed, 20_000, 'the late connection to close').catch((e: Error) => ({ code: -1, reason: e.message }));
  t.equal(failures, 0, 'the first re-read failed');
  t.equal(closed.code, CloseCode.UNREGISTERED, 'read again: the device is gone, 4006');
  late.close();
});
