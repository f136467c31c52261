// ProfileState's merge with the stored record (client/profile-data.ts): each save reads
// state.json, takes in what other processes wrote, and writes. The merge must keep what
// this process changed and not take back what it let go: an id its full set evicted (the
// merge used to add those back at the young end, which evicted the next one, and so on
// through the whole set, until the id just recorded was the one evicted: once 10,000 ids
// were recorded no new id was kept, and a redelivered message was shown again), an id the
// inbox forgot after its write failed (that write may have landed first: taken back, the
// message's redelivery would be acked as a duplicate and never shown), a sequence counter
// of a full map (the same cascade dropped the peer just used).
import t from 'tap';
import { MemoryStore, STATE_RECORD, type ProfileRecord } from '../../client/store.ts';
import { ProfileState, readState } from '../../client/profile-data.ts';

const CAP = 4;

async function stored(store: MemoryStore): Promise<{ seen: string[]; recvSeq: Record<string, number>; sendSeq: Record<string, number> }> {
  return JSON.parse((await store.read(STATE_RECORD))!);
}

/** A MemoryStore whose next write of a record lands and then rejects (as a store whose
 *  check after the write fails: the caller must take it for not saved). */
class LandsThenFails extends MemoryStore {
  failNext = false;
  override async write(record: ProfileRecord, text: string): Promise<void> {
    await super.write(record, text);
    if (record === STATE_RECORD && this.failNext) {
      this.failNext = false;
      throw new Error('write failed after landing');
    }
  }
}

t.test('a full set keeps recording: the id just added is written, the oldest one goes', async (t) => {
  const store = new MemoryStore();
  const state = new ProfileState(store, {}, CAP);
  for (const id of ['a', 'b', 'c', 'd']) state.seen.add(id);
  await state.save();
  for (const id of ['e', 'f', 'g']) {
    state.seen.add(id);
    await state.save();
    t.ok(state.seen.has(id), `${id} still remembered after its save`);
  }
  t.same((await stored(store)).seen, ['d', 'e', 'f', 'g'], 'on disk: the four youngest, oldest first');
  t.same(state.seen.toArray(), ['d', 'e', 'f', 'g'], 'in memory the same');

  // A process reading the profile afresh, adding one more.
  const again = await readState(store, CAP);
  again.seen.add('h');
  await again.save();
  t.same((await stored(store)).seen, ['e', 'f', 'g', 'h']);
});

t.test('another process\'s ids are kept, and the ids added here, within the bound', async (t) => {
  const store = new MemoryStore();
  const first = new ProfileState(store, {}, CAP);
  for (const id of ['a', 'b', 'c', 'd']) first.seen.add(id);
  await first.save();
  // A sender opened now (it never records ids) and a reader that records two.
  const sender = await readState(store, CAP);
  const reader = await readState(store, CAP);
  reader.seen.add('e');
  reader.seen.add('f');
  await reader.save();
  sender.sendSeq.set('peer', 7);
  await sender.save();
  t.same((await stored(store)).seen, ['c', 'd', 'e', 'f'], 'the sender\'s write kept the reader\'s ids');
  t.same(sender.seen.toArray(), ['c', 'd', 'e', 'f'], 'and the sender now knows them');
  // The reader records one more: the sender's sequence number stays.
  reader.seen.add('g');
  await reader.save();
  const s = await stored(store);
  t.same(s.seen, ['d', 'e', 'f', 'g']);
  t.same(s.sendSeq, { peer: 7 });
});

t.test('an id forgotten after its write failed does not come back from the record that write left', async (t) => {
  const store = new LandsThenFails();
  const state = new ProfileState(store, {}, CAP);
  state.seen.add('a');
  await state.save();
  store.failNext = true;
  state.seen.add('x');
  await t.rejects(state.save(), { message: 'write failed after landing' });
  // What the inbox does (client/inbox.ts take): not recorded, so forgotten.
  state.seen.delete('x');
  t.ok((await stored(store)).seen.includes('x'), 'the failed write had landed');
  // The next save (a send's sequence number, another message) merges with that record.
  state.seen.add('b');
  await state.save();
  t.notOk(state.seen.has('x'), 'not taken back into memory');
  t.same((await stored(store)).seen, ['a', 'b'], 'nor written again');
  // Recorded again later (its redelivery shown): kept as any other id.
  state.seen.add('x');
  await state.save();
  t.same((await stored(store)).seen, ['a', 'b', 'x']);
});

t.test('a full map of sequence numbers keeps the peer just used; the higher number wins per peer', async (t) => {
  const store = new MemoryStore();
  const state = new ProfileState(store, {}, CAP);
  for (const k of ['p', 'q', 'r', 's']) state.sendSeq.set(k, 1);
  await state.save();
  state.sendSeq.set('new', 5);
  await state.save();
  t.equal(state.sendSeq.get('new'), 5, 'the peer just used is remembered');
  t.same((await stored(store)).sendSeq, { q: 1, r: 1, s: 1, new: 5 });

  // Two processes sending to one peer: the higher number stays, whichever writes last.
  const other = await readState(store, CAP);
  other.sendSeq.set('q', 9);
  await other.save();
  state.sendSeq.set('q', 3);
  await state.save();
  t.equal((await stored(store)).sendSeq.q, 9, 'a lower number written later does not win');
  t.equal(state.sendSeq.get('q'), 9, 'and this process takes the higher one in');
});
