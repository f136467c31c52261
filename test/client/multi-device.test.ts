// A number with two devices, against a real (embedded) gateway: each device gets an
// envelope of its own, whose id is that device's receipt id (send's `id` is the first
// one's), and a send to one's own number reaches every device of it, the sender's too.
import t from 'tap';
import { HushwireClient, MemoryStore } from '../../client/index.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { within } from '../helpers/poll.ts';

t.test('two devices of one number: one envelope id each, as in receipts; a send to oneself reaches both', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const [A, B] = ['+15550108851', '+15550108852'];
  const a = new MemoryStore();
  const b1 = new MemoryStore();
  const b2 = new MemoryStore();
  await HushwireClient.register({ store: a, gateways: [gw.url], number: A });
  await HushwireClient.register({ store: b1, gateways: [gw.url], number: B });
  await HushwireClient.register({ store: b2, gateways: [gw.url], number: B });
  const sender = await HushwireClient.open(a, { receive: false });
  t.teardown(() => sender.close());
  await sender.connect();
  const sent = await sender.send(B, 'to both');
  t.equal(sent.receipts.length, 2, 'one receipt per device');
  t.not(sent.receipts[0]!.id, sent.receipts[1]!.id, 'an envelope id each');
  t.equal(sent.id, sent.receipts[0]!.id, 'id is the first receipt\'s');

  const readOne = async (store: MemoryStore) => {
    const c = await HushwireClient.open(store);
    await c.connect();
    const it = c.messages()[Symbol.asyncIterator]();
    const r = await within(it.next(), 10_000, 'a message');
    return { c, it, m: r.value! };
  };
  const d1 = await readOne(b1);
  const d2 = await readOne(b2);
  t.teardown(() => d1.c.close());
  t.teardown(() => d2.c.close());
  const byDevice = new Map(sent.receipts.map((r) => [r.device, r.id]));
  t.equal(d1.m.id, byDevice.get(d1.c.deviceId), 'device 1 sees its receipt id');
  t.equal(d2.m.id, byDevice.get(d2.c.deviceId), 'device 2 sees its receipt id');

  const self = await d1.c.send(B, 'note to self');
  t.equal(self.receipts.length, 2, 'every device of one\'s own number, the sending one included');
  t.equal((await within(d1.it.next(), 10_000, 'the note on the sending device')).value?.text, 'note to self');
  t.equal((await within(d2.it.next(), 10_000, 'the note on the other device')).value?.text, 'note to self');
});
