// --mailbox-page: queued mail handed over on connect is read page by page; with pages of
// 2, seven queued messages still arrive exactly once each and nothing stays queued (on
// the embedded bus and on a real nats-server).
import t, { type Test } from 'tap';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { registerHandset, listen, sendText } from '../helpers/handsets.ts';

let numberSeq = 0;
const freshNumber = (): string => `+1555${String((process.pid + 7) % 1000).padStart(3, '0')}${String(++numberSeq).padStart(4, '0')}`;

type Setup = (t: Test) => Promise<Record<string, unknown>>;
const setups: [string, Setup][] = [['embedded bus', async () => ({})]];
if (haveNatsServer()) {
  setups.push(['nats-server', async (t) => {
    const nats = await startNatsServer({ t });
    return { nats: [nats.url], oprfKeyFile: oprfKeyFile() };
  }]);
}

for (const [name, setup] of setups) {
  t.test(`${name}: pages of 2 hand over 7 queued messages, each once`, async (t) => {
    const gw = await startTestGateway({ ...(await setup(t)), mailboxPage: 2 });
    t.teardown(() => gw.close());
    const a = await registerHandset([gw.url], freshNumber());
    const b = await registerHandset([gw.url], freshNumber());
    const texts = Array.from({ length: 7 }, (_, i) => `queued ${i} ${Math.random()}`);
    for (const text of texts) t.equal((await sendText(a, b.number, text)).status, 'stored');
    // Count the reads the drain makes, to see the page size reach the bus.
    const reads: number[] = [];
    const bus = gw.bus as { mailboxRead: (tag: string, dev: string, after: number, max: number) => Promise<unknown[]> };
    const read = bus.mailboxRead.bind(gw.bus);
    bus.mailboxRead = async (tag, dev, after, max) => {
      const items = await read(tag, dev, after, max);
      reads.push(max, items.length);
      return items;
    };
    const lb = await listen(b);
    const got = await lb.waitFor(7);
    t.same(got.map((m) => m.text).sort(), [...texts].sort(), 'all seven arrive');
    t.equal(new Set(got.map((m) => m.id)).size, 7, 'once each');
    t.same(await lb.quiet(1000), [], 'and nothing more');
    const pages = reads.filter((_, i) => i % 2 === 1 && reads[i]! > 0);
    t.ok(reads.every((v, i) => i % 2 === 1 || v === 2), 'every read asked for a page of 2');
    t.same(pages, [2, 2, 2, 1], 'four pages: 2 + 2 + 2 + 1');
    await lb.close();
    const again = await listen(b);
    t.same(await again.quiet(1000), [], 'nothing left queued for the next connection');
    await again.close();
  });
}
