// A save of state.json or keys.json holds the record's lock (state.lock, keys.lock in the
// profile directory) while it reads, merges and writes. A lock can be taken over while
// held: its holder stalled past the stale time (5 s), or two waiters took a dead holder's
// lock at once (proper-lockfile's take-over is not atomic). The other process may then
// read and write the record; the first one's write, built on its older read, would undo
// that. DirectoryStore's write checks the lock it holds first and refuses instead.
import t from 'tap';
import { mkdtemp, rm, rmdir, mkdir, readdir, readFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryStore } from '../../client/profile.ts';
import { ProfileState } from '../../client/profile-data.ts';
import { STATE_RECORD } from '../../client/store.ts';
import { GatedDirectoryStore } from '../helpers/stores.ts';

t.test('a save whose record lock was taken over meanwhile is not written', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hw-takeover-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = new GatedDirectoryStore(dir);
  const state = new ProfileState(store, {}, 10);
  state.seen.add('before');
  await state.save();

  // Held at the write: the record is as this state wrote it (its version says so), so
  // the save does not read it.
  const gate = store.hold('write', STATE_RECORD);
  state.seen.add('stale');
  const save = state.save();
  await gate.reached; // holding state.lock, about to write
  // Another process takes the lock over (as from a holder stalled past the stale time):
  // the library removes the directory and makes its own. (A directory made first keeps
  // the new lock from getting the old one's inode back.)
  const spacer = join(dir, 'spacer');
  await mkdir(spacer);
  await rmdir(join(dir, 'state.lock'));
  await mkdir(join(dir, 'state.lock'));
  await rmdir(spacer);
  gate.open();
  await t.rejects(save, { code: 'BAD_REQUEST', message: /lost the lock of this profile's state\.json/ }, 'refused');
  const disk = JSON.parse(await readFile(join(dir, STATE_RECORD), 'utf8'));
  t.same(disk.seen, ['before'], 'the record is as the other process may have left it');
  t.same((await readdir(dir)).filter((n) => n.endsWith('.lock')), ['state.lock'], "the other process's lock stays");

  // Once the other process is done, saves work again (the id still goes along).
  await rmdir(join(dir, 'state.lock'));
  await state.save();
  t.same(JSON.parse(await readFile(join(dir, STATE_RECORD), 'utf8')).seen, ['before', 'stale']);
  t.same((await readdir(dir)).filter((n) => n.endsWith('.lock')), [], 'no lock left behind');
});

t.test('two stores in one process: the one whose lock was taken over lets go of nothing, and the other\'s lock is released', async (t) => {
  // proper-lockfile keeps one entry per lock path per process. A holder whose lock was
  // taken over used to tell the library to forget "its" entry, which by then was the
  // other store's: that store's lock stopped being renewed and its release failed, so
  // the lock directory stayed behind and every save (any process) waited for it to go
  // stale.
  const dir = await mkdtemp(join(tmpdir(), 'hw-takeover-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const a = new DirectoryStore(dir);
  const b = new DirectoryStore(dir);
  const lockDir = join(dir, 'state.lock');
  const la = await a.lockRecord(STATE_RECORD);
  // A stalls past the stale time (its lock's mtime is old: it renews no more once it
  // sees an mtime it did not set), and B takes the lock over.
  const old = new Date(Date.now() - 60_000);
  await utimes(lockDir, old, old);
  const lb = await b.lockRecord(STATE_RECORD);
  await t.rejects(la.check(), { code: 'BAD_REQUEST' }, 'A knows it lost the lock');
  await la.release();
  t.same((await readdir(dir)).filter((n) => n.endsWith('.lock')), ['state.lock'], "A's release leaves B's lock in place");
  await lb.check();
  t.pass("B's lock is still B's");
  await lb.release();
  t.same((await readdir(dir)).filter((n) => n.endsWith('.lock')), [], "B's release removes it");
});
