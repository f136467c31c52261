// A message whose sending device opted out before it was read, against a real (embedded)
// gateway. When the whole number is gone, the directory cannot vouch for the sender
// ('unverified', shown under acceptUnverified). When the number is still registered
// (the sender has another device, or registered again: a new phone), the device is
// simply not listed under the number any more, which the directory cannot tell from a
// forgery (anyone can seal "I am +1555..." with a key of their own): 'spoofed', dropped
// also under acceptUnverified. The CLI's stderr line says that it may be either.
import t from 'tap';
import { HushwireClient, MemoryStore, type DropReason } from '../../client/index.ts';
import { DROPPED } from '../../cli/commands/listen.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerStores } from '../helpers/store-handsets.ts';
import { until } from '../helpers/poll.ts';

t.test('mail from a device that opted out: unverified when the number is gone, spoofed when it is registered again', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const { A, B, a: a1, b } = await registerStores(gw.url, new MemoryStore(), new MemoryStore(), ['+15550108841', '+15550108842']);
  const sender = await HushwireClient.open(a1, { receive: false });
  await sender.connect();
  await sender.send(B, 'sent before opting out');
  await sender.unregister();

  const open = async (acceptUnverified: boolean) => {
    const dropped: DropReason[] = [];
    const got: string[] = [];
    const c = await HushwireClient.open(b, { acceptUnverified, onDropped: (r) => dropped.push(r) });
    await c.connect();
    const pump = (async () => { for await (const m of c.messages()) got.push(`${m.text}:${m.verified}`); })().catch(() => undefined);
    return { c, dropped, got, pump };
  };

  // The number is gone: not verifiable, shown flagged under acceptUnverified.
  const r1 = await open(true);
  await until('the message to be shown unverified', () => r1.got.length === 1, 10_000);
  t.same(r1.got, ['sent before opting out:false']);
  await r1.c.close();
  await r1.pump;

  // A message from a new device of A, which then opts out, and A registers again on a
  // third device (a new phone) before the reader looks.
  const a2 = new MemoryStore();
  await HushwireClient.register({ store: a2, gateways: [gw.url], number: A });
  const s2 = await HushwireClient.open(a2, { receive: false });
  await s2.connect();
  await s2.send(B, 'from the device that will opt out');
  await s2.unregister();
  await HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number: A });

  const r2 = await open(true);
  await until('the message to be dropped', () => r2.dropped.length === 1, 10_000);
  t.same(r2.dropped, ['spoofed'], 'its device is not listed under a registered number: spoofed, even with acceptUnverified');
  t.same(r2.got, []);
  await r2.c.close();
  await r2.pump;
  t.match(DROPPED.spoofed, /or sent from a device of that number that has since opted out/, 'the CLI line says it may be either');
});
