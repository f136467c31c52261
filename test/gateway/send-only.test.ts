// Send-only connections (Auth.send_only, docs/PROTOCOL.md "Send-only connections"),
// spoken raw against real gateways: one neither kicks the device's receiving connection
// nor is kicked by a newer one, is handed nothing (live, mailbox), refuses acks, holds at
// most MAX_SEND_ONLY_PER_DEVICE slots per device per gateway, and is closed 4006 when
// its device unregisters through this gateway. Also across two gateways on one NATS.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { startTestGateway, natsGatewayPair, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { registerRaw, authenticateRaw, type RawDevice } from '../helpers/raw-device.ts';
import { sign, authInput } from '../../relay/crypto/sign.ts';
import { CloseCode, ErrorCode } from '../../relay/errors.ts';
import { MAX_SEND_ONLY_PER_DEVICE } from '../../relay/relay.ts';
import { routeTag } from '../../relay/tokens.ts';
import type { DirectoryDevice } from '../../relay/wire.ts';
import { until } from '../ops/fixtures.ts';

/** A fresh socket authenticated send-only as `dev`; the auth's answer op. */
async function sendOnlyRaw(url: string, dev: RawDevice): Promise<{ c: RawClient; answer: Awaited<ReturnType<RawClient['reply']>> }> {
  const c = await connectRaw(url);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 7, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(ch.nonce, dev.route, dev.device)), sendOnly: true } }]);
  return { c, answer: await c.reply(7) };
}

async function authSendOnly(url: string, dev: RawDevice): Promise<RawClient> {
  const { c, answer } = await sendOnlyRaw(url, dev);
  if (answer.body !== 'ok') throw new Error(`send-only auth failed: ${JSON.stringify(answer.error)}`);
  return c;
}

function envelopeTo(dev: RawDevice) {
  return { version: 1, suite: 1, route: dev.route, device: dev.device, id: new Uint8Array(randomBytes(16)), enc: new Uint8Array(32), ciphertext: new Uint8Array(272) };
}

const deliveries = (c: RawClient) => c.ops.filter((o) => o.body === 'deliver').flatMap((o) => o.deliver!.envelopes);

/** An authenticated op answered on `c` (a lookup): the socket is open and served. */
async function served(c: RawClient, dev: RawDevice, req: number): Promise<string | undefined> {
  c.send([{ req, lookup: { route: dev.route } }]);
  return (await c.reply(req)).body;
}

async function closeAll(...cs: RawClient[]): Promise<void> {
  for (const c of cs) c.close();
  await Promise.all(cs.map((c) => c.closed));
}

t.test('one gateway (embedded bus)', async (t) => {
  const gw = await startTestGateway({ liveTimeoutMs: 30_000 });
  t.teardown(() => gw.close());

  t.test('a send-only connection does not kick the receiving one, and its send to the device itself reaches that one', async (t) => {
    const { c: reg, dev } = await registerRaw(gw.url, '+15557770001');
    await closeAll(reg);
    const listen = await authenticateRaw(gw.url, dev);
    const send = await authSendOnly(gw.url, dev);
    const env = envelopeTo(dev);
    send.send([{ req: 11, send: { envelopes: [env] } }]);
    // The receiving connection gets it live (and acks it): the sender's receipt is
    // "delivered" on the send-only socket. Before send_only this socket had kicked it.
    const got = await listen.next((o) => o.body === 'deliver');
    t.same(Buffer.from(got.deliver!.envelopes[0]!.id), Buffer.from(env.id), 'the receiving connection has it');
    listen.send([{ req: 0, deliverAck: { ids: [env.id] } }]);
    const receipt = (await send.reply(11)).sendResult!.receipts[0]!;
    t.equal(receipt.status, 'delivered', 'a live delivery, receipt on the send-only socket');
    t.equal(await served(listen, dev, 12), 'devices', 'the receiving connection is still open and served');
    t.equal(deliveries(send).length, 0, 'nothing was handed to the send-only connection');
    t.equal(listen.ws.readyState, listen.ws.OPEN);
    await closeAll(listen, send);
  });

  t.test('a newer receiving connection does not close a send-only one; it still kicks the older receiving one', async (t) => {
    const { c: reg, dev } = await registerRaw(gw.url, '+15557770002');
    await closeAll(reg);
    const send = await authSendOnly(gw.url, dev);
    const a = await authenticateRaw(gw.url, dev);
    const b = await authenticateRaw(gw.url, dev);
    t.equal((await a.closed).code, CloseCode.CONNECTED_ELSEWHERE, 'receiving connections: the newest wins, as before');
    t.equal(await served(send, dev, 13), 'devices', 'the send-only connection is still served');
    t.equal(send.ws.readyState, send.ws.OPEN);
    await closeAll(b, send);
  });

  t.test('a send-only connection is handed no mail and refuses acks', async (t) => {
    const { c: reg, dev } = await registerRaw(gw.url, '+15557770003');
    await closeAll(reg);
    // Stored: the device has no receiving connection while this is sent.
    const send = await authSendOnly(gw.url, dev);
    const env = envelopeTo(dev);
    send.send([{ req: 21, send: { envelopes: [env] } }]);
    t.equal((await send.reply(21)).sendResult!.receipts[0]!.status, 'stored', 'nobody receives: stored');
    // A receiving connection made now drains it; the send-only one (open all along) got nothing.
    const listen = await authenticateRaw(gw.url, dev);
    await listen.next((o) => o.body === 'deliver');
    t.equal(await served(send, dev, 22), 'devices');
    t.equal(deliveries(send).length, 0, 'no mailbox delivery to the send-only connection');
    send.send([{ req: 23, deliverAck: { ids: [env.id] } }]);
    const r = await send.reply(23);
    t.equal(r.error?.code, ErrorCode.BAD_REQUEST, 'an ack on a send-only connection is refused');
    t.match(r.error?.message, /send-only/);
    t.equal(send.ws.readyState, send.ws.OPEN, 'the socket stays (a bad op)');
    listen.send([{ req: 0, deliverAck: { ids: [env.id] } }]);
    await closeAll(listen, send);
  });

  t.test(`at most ${MAX_SEND_ONLY_PER_DEVICE} send-only connections per device per gateway`, async (t) => {
    const { c: reg, dev } = await registerRaw(gw.url, '+15557770004');
    await closeAll(reg);
    const { dev: other } = await registerRaw(gw.url, '+15557770005').then(async (r) => { await closeAll(r.c); return r; });
    const held: RawClient[] = [];
    for (let i = 0; i < MAX_SEND_ONLY_PER_DEVICE; i++) held.push(await authSendOnly(gw.url, dev));
    const over = await sendOnlyRaw(gw.url, dev);
    t.equal(over.answer.error?.code, ErrorCode.RATE_LIMITED, 'one more is refused');
    t.match(over.answer.error?.message, /send-only connections/);
    t.ok((over.answer.error?.retryAfterMs ?? 0) > 0, 'with a retry_after_ms');
    t.equal((await over.c.closed).code, CloseCode.TRY_AGAIN_LATER, 'and closed 1013');
    // Another device, and a receiving connection of this one, are not affected.
    const otherSend = await authSendOnly(gw.url, other);
    const listen = await authenticateRaw(gw.url, dev);
    for (const [i, c] of held.entries()) t.equal(await served(c, dev, 30 + i), 'devices', 'the held ones still served');
    // A slot closed is a slot free again.
    const first = held.shift()!;
    await closeAll(first);
    await until(() => gw.relay.sessionCount <= held.length + 2, 10_000, 'the closed session to be gone');
    held.push(await authSendOnly(gw.url, dev));
    t.pass('a freed slot is taken again');
    await closeAll(...held, otherSend, listen);
  });

  t.test('an opt-out through this gateway closes the device\'s send-only connections here with 4006', async (t) => {
    const { c: reg, dev } = await registerRaw(gw.url, '+15557770006');
    await closeAll(reg);
    const listen = await authenticateRaw(gw.url, dev);
    const s1 = await authSendOnly(gw.url, dev);
    const s2 = await authSendOnly(gw.url, dev);
    // From one send-only connection: the receiving one hears it by its control message,
    // the other send-only one from this gateway.
    s1.send([{ req: 41, unregister: {} }]);
    t.equal((await s1.reply(41)).body, 'ok', 'a send-only connection may opt out');
    t.equal((await s1.closed).code, CloseCode.UNREGISTERED);
    t.equal((await s2.closed).code, CloseCode.UNREGISTERED, 'the other send-only connection closes 4006');
    t.equal((await listen.closed).code, CloseCode.UNREGISTERED, 'the receiving connection closes 4006');
  });

  t.test('an opt-out from the receiving connection closes the send-only ones too', async (t) => {
    const { c: reg, dev } = await registerRaw(gw.url, '+15557770007');
    await closeAll(reg);
    const listen = await authenticateRaw(gw.url, dev);
    const s1 = await authSendOnly(gw.url, dev);
    listen.send([{ req: 42, unregister: {} }]);
    t.equal((await listen.reply(42)).body, 'ok');
    t.equal((await s1.closed).code, CloseCode.UNREGISTERED);
  });
});

function pair(t: Test): Promise<[TestGateway, TestGateway]> {
  return natsGatewayPair(t, 'so', { liveTimeoutMs: 30_000 }, { sendOnlyRecheckMs: 200 });
}

if (!haveNatsServer()) {
  t.test('two gateways over NATS', (t) => { t.plan(0, 'nats-server not installed'); t.end(); });
} else {
  t.test('two gateways over NATS', async (t) => {
    const [g0, g1] = await pair(t);

    t.test('a send-only connection on the other gateway does not kick the receiving one; its send to the device reaches it', async (t) => {
      const { c: reg, dev } = await registerRaw(g0.url, '+15557770011');
      await closeAll(reg);
      const listen = await authenticateRaw(g0.url, dev);
      const send = await authSendOnly(g1.url, dev);
      const env = envelopeTo(dev);
      send.send([{ req: 51, send: { envelopes: [env] } }]);
      const got = await listen.next((o) => o.body === 'deliver');
      t.same(Buffer.from(got.deliver!.envelopes[0]!.id), Buffer.from(env.id), 'delivered over NATS to the receiving connection');
      listen.send([{ req: 0, deliverAck: { ids: [env.id] } }]);
      t.equal((await send.reply(51)).sendResult!.receipts[0]!.status, 'delivered');
      t.equal(await served(listen, dev, 52), 'devices', 'the receiving connection is still open');
      t.equal(deliveries(send).length, 0);
      // and the other way round: a receiving connection on g1 kicks the one on g0 only
      const listen2 = await authenticateRaw(g1.url, dev);
      t.equal((await listen.closed).code, CloseCode.CONNECTED_ELSEWHERE);
      t.equal(await served(send, dev, 53), 'devices', 'the send-only connection is still served');
      await closeAll(listen2, send);
    });

    t.test('an opt-out on the other gateway closes the send-only connections where the device has a receiving one', async (t) => {
      const { c: reg, dev } = await registerRaw(g0.url, '+15557770012');
      await closeAll(reg);
      const listen = await authenticateRaw(g1.url, dev);
      const send = await authSendOnly(g1.url, dev);
      const opt = await authSendOnly(g0.url, dev);
      opt.send([{ req: 61, unregister: {} }]);
      t.equal((await opt.reply(61)).body, 'ok');
      t.equal((await listen.closed).code, CloseCode.UNREGISTERED);
      t.equal((await send.closed).code, CloseCode.UNREGISTERED, 'told by the receiving session on its gateway');
    });

    t.test('an opt-out on the other gateway closes a send-only connection where the device has no receiving one (its announcement)', async (t) => {
      const { c: reg, dev } = await registerRaw(g0.url, '+15557770015');
      await closeAll(reg);
      const lonely = await authSendOnly(g1.url, dev); // nothing of dev receives on g1
      // g1's periodic check is blinded for this device (its reads still find it), so only
      // the announcement can close the connection.
      const directory = g1.relay.directory;
      const read = directory.findDevice.bind(directory);
      const tag = routeTag(dev.route);
      directory.findDevice = async (tg, device, opts) => (tg === tag ? (await read(tg, device, opts)) ?? ({} as DirectoryDevice) : read(tg, device, opts));
      t.teardown(() => { directory.findDevice = read; });
      const opt = await authSendOnly(g0.url, dev);
      opt.send([{ req: 81, unregister: {} }]);
      t.equal((await opt.reply(81)).body, 'ok');
      t.equal((await lonely.closed).code, CloseCode.UNREGISTERED, 'closed 4006 on the announcement every gateway hears');
    });

    t.test('a device gone with no announcement heard: the periodic directory check closes its send-only connection where it has no receiving one', async (t) => {
      const { c: reg, dev } = await registerRaw(g0.url, '+15557770013');
      await closeAll(reg);
      const { dev: other } = await registerRaw(g0.url, '+15557770014');
      const lonely = await authSendOnly(g1.url, dev); // nothing of dev receives on g1
      const bystander = await authSendOnly(g1.url, other);
      // The earlier opt-outs' send-only connections may have been closed by the check too,
      // when it read the directory between a removal and its messages: counted from here.
      const count = async (): Promise<number> => Number(/hushwire_send_only_unregistered_total (\d+)/.exec(await g1.metrics.registry.getSingleMetricAsString('hushwire_send_only_unregistered_total'))?.[1]);
      const before = await count();
      // Removed from the directory as an opt-out does, its announcement lost (g1 was
      // disconnected from NATS then): nothing is published.
      await g0.relay.directory.removeDevice(routeTag(dev.route), dev.device);
      t.equal((await lonely.closed).code, CloseCode.UNREGISTERED, 'closed 4006 by the check on its own gateway');
      t.equal(await count(), before + 1, 'counted: one device');
      // A registered device's send-only connection is left alone by the same checks.
      t.equal(await served(bystander, other, 72), 'devices', 'the other device is still served');
      t.equal(bystander.ws.readyState, bystander.ws.OPEN);
      await closeAll(bystander);
    });
  });
}
