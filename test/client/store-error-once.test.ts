// One failed profile write is told to onStoreError once. ProfileState.save() coalesces:
// a received message being recorded (the inbox) and a send's sequence number (the
// client's best-effort save) asked for while another write was under way share the
// next write, and its promise. Both callers used to tell its failure, so the app heard
// of one failed write twice. Against a real (embedded) gateway.
import t from 'tap';
import { HushwireClient, ErrorCode, isHushwireError, type ProfileRecord } from '../../client/index.ts';
import { storesWithSender } from '../helpers/store-handsets.ts';
import { until, within } from '../helpers/poll.ts';
import { FailingStore, gate } from '../helpers/stores.ts';

/** A FailingStore that counts the failed writes of state.json and can hold the next one
 *  (then fail it) until the test lets it go. */
class HeldFailingStore extends FailingStore {
  failedStateWrites = 0;
  #held: (() => Promise<void>) | null = null;

  holdNextStateWrite(): { reached: Promise<void>; open: () => void } {
    const g = gate(10_000);
    this.#held = g.pass;
    return { reached: g.reached, open: g.open };
  }

  override async write(record: ProfileRecord, text: string): Promise<void> {
    if (record === 'state.json' && this.failing.has(record)) {
      const held = this.#held;
      this.#held = null;
      if (held) await held();
      this.failedStateWrites++;
    }
    return super.write(record, text);
  }
}

function queued(c: HushwireClient): number {
  return (c as unknown as { inbox: { queued: number } }).inbox.queued;
}

t.test('a failed state.json write shared by a received message and a send is told once', async (t) => {
  const { A, B, a, b, sender } = await storesWithSender(t, new FailingStore(), new HeldFailingStore(), ['+15550108861', '+15550108862']);

  const told: unknown[] = [];
  const reader = await HushwireClient.open(b, { onStoreError: (e) => told.push(e) });
  t.teardown(() => reader.close());
  await reader.connect();
  // B knows A (route and keys saved while the store still works), and A's message waits
  // in B's inbox, not yet asked for.
  t.equal((await reader.send(A, 'hello')).status, 'stored');
  await sender.send(B, 'hi');
  await until('the message to be queued', () => queued(reader) === 1, 10_000);

  b.failing.add('state.json');
  // A send's sequence-number save: its write is held (then fails).
  const held = b.holdNextStateWrite();
  t.equal((await reader.send(A, 'one')).status, 'stored');
  await within(held.reached, 10_000, 'the first state.json write');
  // While it is held, the message is taken (its record joins the next write) and
  // another send's sequence number joins the same write.
  const it = reader.messages()[Symbol.asyncIterator]();
  const next = it.next();
  t.equal((await reader.send(A, 'two')).status, 'stored');
  held.open();

  // The inbox tries again (0.5 s, 1 s) and ends after 3 failed writes in a row.
  const end = await within(next.then(() => null, (e: unknown) => e), 15_000, 'the end of the iteration');
  t.ok(isHushwireError(end) && end.code === ErrorCode.UNAVAILABLE, 'the iteration ends UNAVAILABLE');
  await reader.close();
  t.equal(b.failedStateWrites, 4, 'the held write, the shared one, two retries');
  t.equal(told.length, b.failedStateWrites, 'onStoreError told once per failed write');
  t.ok(told.every((e) => e instanceof Error && e.message === 'disk full (state.json)'));
});
