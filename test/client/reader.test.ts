// messages() against a real (embedded) gateway: what a reader gets after close(), and
// what a second reader gets while one is active. Both are about not losing a message:
// one handed out after close() could no longer be acknowledged, so its redelivery next
// session was dropped as seen (shown once to a closed client, never again), and two
// loops each got some of the messages.
import t, { type Test } from 'tap';
import { HushwireClient, MemoryStore, ErrorCode, type ReceivedMessage } from '../../client/index.ts';
import { storesWithSender } from '../helpers/store-handsets.ts';
import { until, within } from '../helpers/poll.ts';

/** The inbox's queue length (how many arrived and wait for the app). */
function queued(c: HushwireClient): number {
  return (c as unknown as { inbox: { queued: number } }).inbox.queued;
}

const pair = (t: Test) => storesWithSender(t, new MemoryStore(), new MemoryStore(), ['+15550108831', '+15550108832']);

t.test('a message still queued at close() is not handed out after it; the next session shows it once', async (t) => {
  const { B, b, sender } = await pair(t);
  const reader = await HushwireClient.open(b);
  await reader.connect();
  const it = reader.messages()[Symbol.asyncIterator]();
  const s1 = await sender.send(B, 'one');
  const first = await within(it.next(), 10_000, 'the first message');
  t.equal(first.value?.id, s1.id);
  // The second arrives while the app is not asking: queued, unrecorded, unacknowledged.
  const s2 = await sender.send(B, 'two');
  await until('the second message to be queued', () => queued(reader) === 1, 10_000);
  await reader.close();
  t.same(await it.next(), { value: undefined, done: true }, 'after close(), done: not the queued message');
  t.equal(reader.stats.received, 1, 'only the first was taken');

  const again = await HushwireClient.open(b);
  t.teardown(() => again.close());
  await again.connect();
  const got: ReceivedMessage[] = [];
  const it2 = again.messages()[Symbol.asyncIterator]();
  const m = await within(it2.next(), 15_000, 'the queued message in the next session');
  if (!m.done) got.push(m.value);
  t.same(got.map((x) => x.id), [s2.id], 'the message queued at close() comes in the next session');
  const more = await Promise.race([it2.next().then(() => 'more'), new Promise((r) => setTimeout(() => r('nothing'), 1_000))]);
  t.equal(more, 'nothing', 'and nothing else is shown (the first was seen; a copy of it stored meanwhile is dropped)');
});

t.test('a second reader while one is active is refused with BAD_REQUEST; the first gets everything', async (t) => {
  const { B, b, sender } = await pair(t);
  const reader = await HushwireClient.open(b);
  t.teardown(() => reader.close());
  await reader.connect();
  const gotFirst: string[] = [];
  const loop1 = (async () => {
    for await (const m of reader.messages()) {
      gotFirst.push(m.text);
      if (gotFirst.length === 4) break;
    }
  })();
  await new Promise((r) => setImmediate(r));
  const loop2 = (async () => {
    for await (const _m of reader.messages()) t.fail('a second reader got a message');
  })();
  await t.rejects(loop2, { code: ErrorCode.BAD_REQUEST, message: /already has an active reader/ });
  for (const text of ['1', '2', '3', '4']) await sender.send(B, text);
  await within(loop1, 15_000, 'the first reader to get all four');
  t.same(gotFirst, ['1', '2', '3', '4']);
  // After the first loop ended (break), another reader may start.
  const next = reader.messages()[Symbol.asyncIterator]();
  await sender.send(B, '5');
  t.equal((await within(next.next(), 10_000, 'the fifth message')).value?.text, '5');
});
