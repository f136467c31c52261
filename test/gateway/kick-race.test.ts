// One receiving connection per device: a newer connection of a device closes the older
// one (4003) with its `kick` on the device's subject. Two authentications of one device
// at the same moment on two gateways used to miss each other's kick: each was published
// before the other gateway had subscribed the device, and both connections stayed
// (test below). Two gateways on a real nats-server; hooks on each gateway's bus hold its
// subscribeDevice until both authentications reached it and nats-server has taken every
// kick published so far, the interleaving that lost both kicks.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, natsGatewayPairOn, type TestGateway } from '../helpers/gateway.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { registerRaw, authenticateRaw, type RawDevice } from '../helpers/raw-device.ts';
import { until, within } from '../helpers/poll.ts';
import { holdSubscribe } from '../helpers/bus-hooks.ts';
import { sign, authInput } from '../../relay/crypto/sign.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { CloseCode } from '../../relay/errors.ts';
import type { ControlMessage } from '../../relay/bus/bus.ts';

const PREFIX = 'kickrace';

/** Two in-process gateways on one nats-server of their own, and a plain NATS connection
 *  to it (to see what nats-server has taken). */
async function pair(t: Test): Promise<{ gws: [TestGateway, TestGateway]; nc: NatsConnection }> {
  const nats = await startNatsServer({ t });
  const gws = await natsGatewayPairOn(t, nats.url, PREFIX);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  return { gws, nc };
}

/** Counts the kicks `gw` publishes for the device. */
function countKicks(t: Test, gw: TestGateway, tag: string, tok: string): { n: number } {
  const bus = gw.bus;
  const original = bus.publishControl.bind(bus);
  const seen = { n: 0 };
  bus.publishControl = (r: string, d: string, msg: ControlMessage) => {
    if (r === tag && d === tok && msg.kind === 'kick') seen.n++;
    return original(r, d, msg);
  };
  t.teardown(() => { bus.publishControl = original; });
  return seen;
}

/** A fresh socket that sends its (signed) auth; the answer is not awaited. */
async function startAuth(url: string, dev: RawDevice): Promise<RawClient> {
  const c = await connectRaw(url);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 7, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(ch.nonce, dev.route, dev.device)) } }]);
  return c;
}

/** The socket is open and served: a lookup is answered. */
async function served(c: RawClient, dev: RawDevice, req: number): Promise<string | undefined> {
  c.send([{ req, lookup: { route: dev.route } }]);
  return (await c.reply(req, 10_000)).body;
}

const open = (c: RawClient): boolean => c.ws.readyState === c.ws.OPEN;

/** Two authentications of one device, `first` through gateway a and then, strictly later
 *  on the millisecond clock, `second` through b, both held at their subscribeDevice
 *  until both have read and checked the directory and nats-server has taken every kick
 *  published so far. Then `release` lets their subscriptions go on. */
async function race(t: Test, number: string, release: (a: () => void, b: () => void, second: RawClient, kicksTaken: () => Promise<void>) => Promise<void>): Promise<void> {
  const { gws: [a, b], nc } = await pair(t);
  const { c: reg, dev } = await registerRaw(a.url, number);
  reg.close();
  await reg.closed;
  const sender = (await registerRaw(a.url, number.replace(/.$/, (d) => String((Number(d) + 5) % 10)))).c;
  const tag = routeTag(dev.route);
  const tok = deviceToken(dev.device);

  // What nats-server has taken of the device's control messages.
  let kicksSeen = 0;
  const sub = nc.subscribe(`${PREFIX}.dev.${tag}.${tok}`, {
    callback: (_err, m) => {
      if (m.reply === undefined || m.reply === '') {
        if ((JSON.parse(new TextDecoder().decode(m.data)) as { kind?: string }).kind === 'kick') kicksSeen++;
      }
    },
  });
  t.teardown(() => sub.unsubscribe());
  await nc.flush();

  const holdA = holdSubscribe(t, a, tag, tok);
  const holdB = holdSubscribe(t, b, tag, tok);
  const kicksA = countKicks(t, a, tag, tok);
  const kicksB = countKicks(t, b, tag, tok);

  const first = await startAuth(a.url, dev);
  await holdA.entered;
  const t0 = Date.now();
  await until('the clock to move on', () => Date.now() > t0 + 1, 5_000, 2);
  const second = await startAuth(b.url, dev);
  await holdB.entered;
  const kicksTaken = () => until('nats-server to take the kicks published so far', () => kicksSeen >= kicksA.n + kicksB.n, 10_000);
  await kicksTaken();
  await release(holdA.release, holdB.release, second, kicksTaken);

  // Mail sent while the two race: it must reach the connection that stays (live, or
  // stored and drained), whichever connection the relay offered it to first (the one
  // that closes never acknowledges it).
  const env = { version: 1, suite: 1, route: dev.route, device: dev.device, id: new Uint8Array(randomBytes(16)), enc: new Uint8Array(32), ciphertext: new Uint8Array(272) };
  sender.send([{ req: 31, send: { envelopes: [env] } }]);

  t.equal((await second.reply(7)).body, 'ok', 'the later authentication is answered ok');
  const closed = await within(first.closed, 20_000, 'the earlier connection to close').catch((e: Error) => ({ code: -1, reason: e.message }));
  t.equal(closed.code, CloseCode.CONNECTED_ELSEWHERE, 'the earlier connection is closed 4003');
  t.equal(await served(second, dev, 8), 'devices', 'the later connection stays open and served');
  const got = await second.next((o) => o.body === 'deliver' && o.deliver!.envelopes.some((e) => Buffer.from(e.id!).equals(Buffer.from(env.id))), 20_000);
  second.send([{ req: 0, deliverAck: { ids: [env.id] } }]);
  t.ok(got, 'the message sent meanwhile reached the connection that stayed');
  const receipt = (await sender.reply(31, 20_000)).sendResult!.receipts[0]!;
  t.ok(receipt.status === 'delivered' || receipt.status === 'stored', `the sender's receipt: ${receipt.status}`);
  t.ok(open(second), 'still open');
  for (const c of [second, sender, first]) c.close();
  await Promise.all([second.closed, sender.closed]);
}

t.test('two authentications of one device racing on two gateways: the later one stays, the other closes 4003, and mail sent meanwhile reaches the one that stays', async (t) => {
  await race(t, '+15557731001', async (a, b) => {
    a();
    b();
  });
});

t.test('the same when the earlier one subscribes last: its kick reaches only the later one, which answers with its own', async (t) => {
  await race(t, '+15557731011', async (a, b, second, kicksTaken) => {
    // The later connection subscribes and kicks first (nobody else subscribed yet) and is
    // answered; the earlier one subscribes once nats-server has taken that kick, so only
    // its own kick reaches anyone.
    b();
    t.equal((await second.reply(7)).body, 'ok');
    await kicksTaken();
    a();
  });
});

t.test('embedded bus: two authentications of one device racing on one gateway end the same way', async (t) => {
  const gw = await startTestGateway();
  t.teardown(() => gw.close());
  const { c: reg, dev } = await registerRaw(gw.url, '+15557731021');
  reg.close();
  await reg.closed;
  const tag = routeTag(dev.route);
  const tok = deviceToken(dev.device);
  // Both subscribeDevice calls held until both authentications reached them.
  const bus = gw.bus;
  const original = bus.subscribeDevice.bind(bus);
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let entered = 0;
  bus.subscribeDevice = async (...args: Parameters<typeof original>) => {
    if (args[0] === tag && args[1] === tok && entered < 2) {
      entered++;
      await gate;
    }
    return original(...args);
  };
  t.teardown(() => { release(); bus.subscribeDevice = original; });
  const first = await startAuth(gw.url, dev);
  await until('the first authentication to subscribe', () => entered === 1, 10_000);
  const t0 = Date.now();
  await until('the clock to move on', () => Date.now() > t0 + 1, 5_000, 2);
  const second = await startAuth(gw.url, dev);
  await until('the second authentication to subscribe', () => entered === 2, 10_000);
  // The kicks published so far (the embedded bus hands them over on the next turn) are out.
  await new Promise<void>((r) => setImmediate(() => setImmediate(r)));
  release();
  t.equal((await second.reply(7)).body, 'ok', 'the later authentication is answered ok');
  const closed = await within(first.closed, 20_000, 'the earlier connection to close').catch((e: Error) => ({ code: -1, reason: e.message }));
  t.equal(closed.code, CloseCode.CONNECTED_ELSEWHERE, 'the earlier connection is closed 4003');
  t.equal(await served(second, dev, 8), 'devices', 'the later connection stays open and served');
  second.close();
  await second.closed;
});

t.test('without a race the newer connection still closes the older one, on either gateway', async (t) => {
  const { gws: [a, b] } = await pair(t);
  const { c: reg, dev } = await registerRaw(a.url, '+15557731003');
  const one = await authenticateRaw(b.url, dev);
  t.equal((await reg.closed).code, CloseCode.CONNECTED_ELSEWHERE, 'the registering connection is closed by the next one');
  const two = await authenticateRaw(a.url, dev);
  t.equal((await one.closed).code, CloseCode.CONNECTED_ELSEWHERE, 'across gateways');
  const three = await authenticateRaw(a.url, dev);
  t.equal((await two.closed).code, CloseCode.CONNECTED_ELSEWHERE, 'on one gateway');
  t.equal(await served(three, dev, 9), 'devices', 'the newest is served');
  three.close();
  await three.closed;
});
