// DirectoryStore.version (client/profile.ts): a save of a shared record skips reading it
// when its version is still the one taken after this process's own last write
// (rewriteSharedRecord, client/store.ts). A version that another process's write could
// repeat would lose that write: the save would neither read nor merge it, and its write
// would undo it. File times have the file system's granularity (a clock tick), so two
// writes in one tick, of one size, have the same size and mtime: the rounds below write
// records of one size back and forth between two stores, and every write of the other
// process must be merged. Checked to fail with a version of size and mtime only (and
// without the ctime wait, which changes the times of a write that needs it): in one run
// 1 round in 60 had the same size and mtime, and lost the other process's number; and
// without the ctime wait, the ctime check fails in several rounds.
import t from 'tap';
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryStore } from '../../client/profile.ts';
import { ProfileState, readState } from '../../client/profile-data.ts';
import { STATE_RECORD } from '../../client/store.ts';

/** Fixed-length ids, so that every record of one id and one two-digit counter is one size. */
const id = (who: string, i: number) => `${who}${String(i).padStart(31, '0')}`;

t.test("another process's write is merged even when its record has the size and mtime of this process's last", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hw-sdk-version-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, STATE_RECORD);
  const a = new DirectoryStore(dir);
  const b = new DirectoryStore(dir); // another process on the same profile
  t.type(a.version, 'function', 'the store has versions');
  const reader = new ProfileState(a, {}, 1);
  reader.sendSeq.set('peer', 10);
  reader.seen.add(id('a', 0));
  await reader.save();
  const sender = await readState(b, 1);

  let sameSizeAndMtime = 0;
  const rounds = 150;
  for (let i = 1; i <= rounds; i++) {
    reader.seen.add(id('a', i));
    await reader.save(); // the reader's write: its version is noted
    const mine = await stat(file, { bigint: true });
    sender.sendSeq.set('peer', 10 + i); // a send on the other process, and its save
    sender.seen.add(id('b', i));
    await sender.save();
    const theirs = await stat(file, { bigint: true });
    if (theirs.size === mine.size && theirs.mtimeNs === mine.mtimeNs) sameSizeAndMtime++;
    if (!(theirs.ctimeNs > mine.ctimeNs)) t.fail(`round ${i}: the write over another process's record has a later ctime`);
    reader.seen.add(id('c', i));
    await reader.save(); // must take in the sender's sequence number
    const disk = JSON.parse(await readFile(file, 'utf8'));
    if (disk.sendSeq.peer !== 10 + i) {
      t.fail(`round ${i}: the sender's sequence number was lost (${disk.sendSeq.peer}, not ${10 + i})`);
      break;
    }
  }
  t.equal(reader.sendSeq.get('peer'), 10 + rounds, "every write of the other process was merged");
  t.comment(`${sameSizeAndMtime} of ${rounds} rounds wrote the other process's record with the size and mtime of the reader's`);
});

t.test('a record unchanged since this process wrote it is not read again; one written by another process is', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hw-sdk-version-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  class CountingStore extends DirectoryStore {
    reads = 0;
    override async read(record: Parameters<DirectoryStore['read']>[0]): Promise<string | undefined> {
      if (record === STATE_RECORD) this.reads++;
      return super.read(record);
    }
  }
  const a = new CountingStore(dir);
  const state = new ProfileState(a, {}, 10);
  state.seen.add('x');
  await state.save();
  const first = a.reads;
  for (const id of ['y', 'z']) {
    state.seen.add(id);
    await state.save();
  }
  t.equal(a.reads, first, 'saves over its own write read nothing');
  const other = await readState(new DirectoryStore(dir), 10);
  other.seen.add('w');
  await other.save();
  state.seen.add('v');
  await state.save();
  t.equal(a.reads, first + 1, 'a save over another process\'s write reads it');
  t.same(JSON.parse(await readFile(join(dir, STATE_RECORD), 'utf8')).seen, ['x', 'y', 'z', 'w', 'v'], 'and merges it');
});
