// At-least-once on the receiving side: an envelope handed to a connected device that
// never acks it is stored by the sender's gateway after the live timeout, and the
// gateway holding the device offers the stored copy again by itself (no reconnect
// needed). Once acked, it is gone from the mailbox.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerRaw, authenticateRaw } from '../helpers/raw-device.ts';
import { until } from '../ops/fixtures.ts';

t.test('a delivery that is never acked is stored and offered again', async (t) => {
  const gw = await startTestGateway({ liveTimeoutMs: 300 });
  t.teardown(() => gw.close());
  const { c: a } = await registerRaw(gw.url, '+15556660001');
  const { c: bReg, dev: b } = await registerRaw(gw.url, '+15556660002');
  bReg.close();
  await bReg.closed;
  const bConn = await authenticateRaw(gw.url, b);
  const id = new Uint8Array(randomBytes(16));
  a.send([{ req: 11, send: { envelopes: [{ version: 1, suite: 1, route: b.route, device: b.device, id, enc: new Uint8Array(32), ciphertext: new Uint8Array(272) }] } }]);
  const receipt = (await a.reply(11)).sendResult!.receipts[0]!;
  t.equal(receipt.status, 'stored', 'live ack timed out, so the sender got "stored"');
  const deliveries = () => bConn.ops.filter((o) => o.body === 'deliver').flatMap((o) => o.deliver!.envelopes);
  t.equal(deliveries().length >= 1, true, 'the live copy reached the device');
  t.equal(deliveries()[0]!.route.length, 0, 'delivered envelopes carry no route');
  // The stored copy is offered again without a reconnect.
  await bConn.next((o) => o.body === 'deliver' && deliveries().length >= 2, 10_000);
  const again = deliveries()[1]!;
  t.same(Buffer.from(again.id), Buffer.from(id), 'the same envelope id again');
  bConn.send([{ req: 0, deliverAck: { ids: [id] } }]);
  // The gateway counts a drained item once the device acked it and its mailbox copy is
  // deleted: wait for that (not for a fixed time, which a loaded machine can outlast).
  const drained = async () => (await gw.metrics.deliveries.get()).values.find((v) => v.labels.path === 'mailbox_drain')?.value ?? 0;
  await until(async () => (await drained()) >= 1, 10_000, 'the acked mailbox copy to be deleted');
  bConn.close();
  await bConn.closed;
  const b2 = await authenticateRaw(gw.url, b);
  await new Promise((r) => setTimeout(r, 800));
  t.equal(b2.ops.filter((o) => o.body === 'deliver').length, 0, 'acked: nothing left in the mailbox');
  b2.close();
  a.close();
});

t.test('a pending verification keeps the socket open past the auth deadline', async (t) => {
  const { connectRaw } = await import('../helpers/raw.ts');
  // A deadline a loaded CI machine cannot outlast before verify_start is answered (the
  // route of a number is computed on the event loop), and a wait of three of them.
  const gw = await startTestGateway({ authTimeoutMs: 1000 });
  t.teardown(() => gw.close());
  const c = await connectRaw(gw.url);
  c.send([{ req: 1, verifyStart: { number: '+15556660003' } }]);
  t.equal((await c.reply(1)).body, 'verifyStarted');
  await new Promise((r) => setTimeout(r, 3000));
  t.equal(c.ws.readyState, c.ws.OPEN, 'still open three auth deadlines later');
  c.close();
  const idle = await connectRaw(gw.url);
  t.equal((await idle.closed).code, 4001, 'without a verification the deadline holds');
});
