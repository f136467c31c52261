// A second copy of a message that reaches the handset while the first is still queued
// for the app (not yet recorded in state.json), against a real (embedded) gateway. The
// gateway's live wait is short here, so the first copy's runs out while the app is not
// reading: the relay stores the envelope and hands the stored copy over too. The app
// must see the message once, and the one ack sent once the first copy is recorded must
// settle the stored copy as well (acks name the envelope id), so that nothing is left
// in the mailbox to be redelivered.
import t from 'tap';
import { HushwireClient, MemoryStore, type ProfileRecord } from '../../client/index.ts';
import { storesWithSender } from '../helpers/store-handsets.ts';
import { until } from '../helpers/poll.ts';

/** A MemoryStore that counts its state.json writes. */
class WatchedStore extends MemoryStore {
  stateWrites = 0;
  override async write(record: ProfileRecord, text: string): Promise<void> {
    if (record === 'state.json') this.stateWrites++;
    return super.write(record, text);
  }
}

t.test('a copy that arrives while the first is queued is shown once, and the relay keeps no copy after the first is acked', async (t) => {
  const { B, b, sender } = await storesWithSender(t, new MemoryStore(), new WatchedStore(), ['+15550108821', '+15550108822']);
  const reader = await HushwireClient.open(b);
  await reader.connect();

  // Not reading yet: the live copy is queued unacknowledged, its 300 ms run out, and the
  // relay stores it, then hands the stored copy over.
  const sent = await sender.send(B, 'just once');
  t.equal(sent.status, 'stored', 'the live wait ran out');
  await until('the stored copy to arrive while the first is queued', () => reader.stats.duplicates === 1, 10_000);
  const writesBefore = b.stateWrites;

  const it = reader.messages()[Symbol.asyncIterator]();
  const m = await it.next();
  t.equal(m.value?.text, 'just once');
  t.equal(m.value?.id, sent.id);
  t.ok(b.stateWrites > writesBefore, 'recorded when taken');
  await reader.close();

  // Another connection of the same device: the mailbox must be empty.
  const again = await HushwireClient.open(b);
  t.teardown(() => again.close());
  await again.connect();
  const next = again.messages()[Symbol.asyncIterator]().next();
  const outcome = await Promise.race([next.then(() => 'delivered'), new Promise((r) => setTimeout(() => r('nothing'), 1_500))]);
  t.equal(outcome, 'nothing', 'no redelivery: the ack settled the stored copy too');
  t.equal(again.stats.duplicates, 0, 'not even a duplicate to drop');
});
