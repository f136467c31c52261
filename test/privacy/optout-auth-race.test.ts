// An opt-out closes every receiving connection of the device (4006) with its
// `unregistered` control message on the device's subject. An authentication of that
// device that read its directory record just before the opt-out removed it, but
// subscribed the device's subject only after that message went out, heard nothing and
// stayed connected, authenticated as a device no longer registered, until it
// reconnected. A hook on the authenticating gateway's bus holds its subscribeDevice
// until the opt-out is answered and its message is out; two gateways on a real
// nats-server, and the embedded bus. What closes it is the opt-out's announcement to
// every gateway, found once the subscription is confirmed (relay/bus/unregistered.ts;
// the cases around it, lost announcements included: optout-announce.test.ts), so the
// authenticating gateway must trust its announcements first: a read made because it
// does not yet would close it too, and hide a broken check.
import t, { type Test } from 'tap';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, natsGatewayPairOn, type TestGateway } from '../helpers/gateway.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { registerRaw, type RawDevice } from '../helpers/raw-device.ts';
import { until, within } from '../helpers/poll.ts';
import { holdSubscribe } from '../helpers/bus-hooks.ts';
import { sign, authInput } from '../../relay/crypto/sign.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { CloseCode } from '../../relay/errors.ts';

const PREFIX = 'optrace';

/** A fresh socket that sends its (signed) auth; the answer is not awaited. */
async function startAuth(url: string, dev: RawDevice, sendOnly = false): Promise<RawClient> {
  const c = await connectRaw(url);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 7, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(ch.nonce, dev.route, dev.device)), sendOnly } }]);
  return c;
}

/** Registers a device through `gw` and gives back a send-only connection of it there,
 *  to opt out with: one the late authentication's kick cannot close first (a receiving
 *  one it would, on the embedded bus at once). */
async function optOutConnection(gw: TestGateway, number: string): Promise<{ c: RawClient; dev: RawDevice }> {
  const { c: reg, dev } = await registerRaw(gw.url, number);
  reg.close();
  await reg.closed;
  const c = await startAuth(gw.url, dev, true);
  const r = await c.reply(7);
  if (r.body !== 'ok') throw new Error(`send-only auth failed: ${JSON.stringify(r.error)}`);
  return { c, dev };
}

/** `late` authenticates through `authGw` while `optOut` (the device's connection on the
 *  other gateway, or the same one) opts out: its directory read and signature check are
 *  done, its subscription is held until the opt-out's `unregistered` message is out
 *  (`messageOut`), then let go. The late connection must end 4006 like the others. */
async function race(t: Test, authGw: TestGateway, optOut: { c: RawClient; dev: RawDevice }, messageOut: () => Promise<void>): Promise<void> {
  const { c: u, dev } = optOut;
  const tag = routeTag(dev.route);
  const tok = deviceToken(dev.device);
  await until('the gateway to trust its announcements', () => authGw.bus.unregisteredSince(tag, tok, authGw.bus.unregisteredMark()) !== 'unknown');
  const hold = holdSubscribe(t, authGw, tag, tok);
  const late = await startAuth(authGw.url, dev);
  await hold.entered;

  u.send([{ req: 1001, unregister: {} }]);
  t.equal((await u.reply(1001)).body, 'ok', 'the opt-out succeeds');
  t.equal((await u.closed).code, CloseCode.UNREGISTERED, 'its own connection closes 4006');
  await messageOut();
  t.equal(await authGw.relay.directory.findDevice(tag, dev.device, { fromLeader: true }), null, 'the device is gone from the directory');
  hold.release();

  const closed = await within(late.closed, 20_000, 'the late connection to close').catch((e: Error) => ({ code: -1, reason: e.message }));
  t.equal(closed.code, CloseCode.UNREGISTERED, 'the connection authenticated just before the opt-out closes 4006 too');
  t.notOk([...authGw.relay.sessions()].some((s) => s.authenticated && s.deviceKey?.tag === tag), 'no authenticated session of the device is left');
  late.close();
}

t.test('NATS: an authentication on another gateway, subscribed after the opt-out\'s message', async (t) => {
  const nats = await startNatsServer({ t });
  const [a, b] = await natsGatewayPairOn(t, nats.url, PREFIX);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());

  const optOut = await optOutConnection(a, '+15557732001');
  const tag = routeTag(optOut.dev.route);
  const tok = deviceToken(optOut.dev.device);
  // What nats-server has taken of the device's control messages.
  let unregistered = 0;
  const sub = nc.subscribe(`${PREFIX}.dev.${tag}.${tok}`, {
    callback: (_err, m) => {
      if ((m.reply === undefined || m.reply === '') && (JSON.parse(new TextDecoder().decode(m.data)) as { kind?: string }).kind === 'unregistered') unregistered++;
    },
  });
  t.teardown(() => sub.unsubscribe());
  await nc.flush();

  await race(t, b, optOut, () => until('nats-server to take the unregistered message', () => unregistered > 0, 10_000));
});

t.test('embedded bus: an authentication on the same gateway, subscribed after the opt-out\'s message', async (t) => {
  const gw = await startTestGateway();
  t.teardown(() => gw.close());
  const optOut = await optOutConnection(gw, '+15557732002');
  // The embedded bus hands control messages over on the next turn.
  await race(t, gw, optOut, () => new Promise<void>((r) => setImmediate(() => setImmediate(r))));
});
