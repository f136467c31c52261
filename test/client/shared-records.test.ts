// Processes sharing a profile directory (a `listen` beside `send` and `verify-contact`)
// each rewrite keys.json and state.json whole. Each save reads the record, merges in
// what the others wrote and writes it back, under the record's lock (keys.lock,
// state.lock): without the lock, a save whose write came after another process's
// read-merge-write, but whose read came before it, undid it (a verification lost without
// a word; a reader's recorded ids or a sender's sequence numbers lost). The two
// "processes" are two stores on one directory; a write held at a gate makes the
// interleaving that the lock must prevent happen for sure.
import t, { type Test } from 'tap';
import { mkdtemp, rm, mkdir, utimes, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DirectoryStore, isProfileEntry, recordLockName } from '../../client/profile.ts';
import { KeyBook, readKeyBook } from '../../client/keybook.ts';
import { ProfileState, readState } from '../../client/profile-data.ts';
import { KEYS_RECORD, STATE_RECORD } from '../../client/store.ts';
import type { VerifiedDevice } from '../../client/discovery.ts';
import { GatedDirectoryStore } from '../helpers/stores.ts';

const rand = (n: number) => new Uint8Array(randomBytes(n));
const OPRF = rand(32);
const dev = (): VerifiedDevice => ({ device: rand(16), identityKey: rand(32), prekey: rand(32) });

async function profileDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hw-shared-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Whichever comes first: `p` settles, or `ms` pass. */
const within = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => 'done', () => 'done'), new Promise((r) => setTimeout(() => r('waiting'), ms))]);

t.test("keys.json: a listener's save in flight does not undo a verification another process makes meanwhile", async (t) => {
  const dir = await profileDir(t);
  const listenStore = new GatedDirectoryStore(dir);
  const L = new KeyBook(listenStore, OPRF, 100);
  const [contact, other] = [rand(32), rand(32)];
  const d1 = dev();
  await L.observe(contact, [d1], '+15550100021').save;

  // `verify-contact` in another process opens the profile (reads keys.json).
  const V = await readKeyBook(new DirectoryStore(dir), OPRF, 100);
  // The listener's next save (a new sender's first use) has read and merged keys.json
  // and is about to write when the verification is saved.
  const gate = listenStore.hold('write', KEYS_RECORD);
  const listenSave = L.observe(other, [dev()], '+15550100022').save;
  await gate.reached;
  const verified = V.accept(contact, [d1], true, null, 1000);
  // With the record lock the verification waits for the listener's write; without it,
  // it is written at once and the listener's write lands after it.
  t.equal(await within(verified, 100), 'waiting', 'the verification waits for the lock the listener holds');
  gate.open();
  await Promise.all([listenSave, verified]);

  const disk = await readKeyBook(new DirectoryStore(dir), OPRF, 100);
  t.equal(disk.status(contact), 'verified', 'the verification is on disk');
  t.equal(disk.status(other), 'unverified', "and so is the listener's new contact");
  t.same(await leftovers(dir), [], 'no lock left behind');
});

t.test("state.json: a sender's save does not forget the ids a reader recorded, nor the reader's its sequence numbers", async (t) => {
  const dir = await profileDir(t);
  await writeFile(join(dir, STATE_RECORD), JSON.stringify({ version: 1, seen: ['m0'], recvSeq: {}, sendSeq: {} }) + '\n', { mode: 0o600 });
  const reader = await readState(new DirectoryStore(dir));
  const senderStore = new GatedDirectoryStore(dir);
  const sender = await readState(senderStore); // `send` opens the profile: seen [m0]

  // One after the other: the sender read the state before the reader recorded m1.
  reader.seen.add('m1');
  reader.recvSeq.set('peer', 4);
  await reader.save();
  sender.sendSeq.set('contact:device', 1);
  await sender.save();
  let disk = await readState(new DirectoryStore(dir));
  t.ok(disk.seen.has('m0') && disk.seen.has('m1'), "the reader's recorded id stays");
  t.equal(disk.recvSeq.get('peer'), 4, "and the reader's sequence");
  t.equal(disk.sendSeq.get('contact:device'), 1, "with the sender's sequence number");

  // Interleaved: the sender's save has read and merged, and is about to write, when the
  // reader records m2.
  const gate = senderStore.hold('write', STATE_RECORD);
  sender.sendSeq.set('contact:device', 2);
  const senderSave = sender.save();
  await gate.reached;
  reader.seen.add('m2');
  const readerSave = reader.save();
  t.equal(await within(readerSave, 100), 'waiting', "the reader's write waits for the sender's lock");
  gate.open();
  await Promise.all([senderSave, readerSave]);
  disk = await readState(new DirectoryStore(dir));
  t.ok(disk.seen.has('m2'), 'the id the reader recorded meanwhile is on disk');
  t.equal(disk.sendSeq.get('contact:device'), 2, "and the sender's sequence number, which the reader never had");

  // The reader's later saves keep it (merged, the higher number wins).
  reader.seen.add('m3');
  await reader.save();
  disk = await readState(new DirectoryStore(dir));
  t.equal(disk.sendSeq.get('contact:device'), 2);
  t.ok(['m0', 'm1', 'm2', 'm3'].every((id) => disk.seen.has(id)));
  t.same(await leftovers(dir), [], 'no lock left behind');
});

t.test('a merge never grows the dedup state past its bound; a damaged record adds nothing', async (t) => {
  const dir = await profileDir(t);
  const store = new DirectoryStore(dir);
  const many = Array.from({ length: 8 }, (_, i) => `d${i}`);
  await writeFile(join(dir, STATE_RECORD), JSON.stringify({ version: 1, seen: many, recvSeq: { p: 'x' }, sendSeq: { q: -3 } }) + '\n', { mode: 0o600 });
  const small = new ProfileState(store, { seen: ['own'] }, 5);
  await small.save();
  t.equal(small.seen.toArray().length, 5, 'at most the capacity');
  t.same(small.seen.toArray(), ['d3', 'd4', 'd5', 'd6', 'd7'], 'the youngest kept');
  t.equal(small.recvSeq.get('p'), undefined, 'a malformed sequence is not taken');
  t.equal(small.sendSeq.get('q'), undefined);

  await writeFile(join(dir, STATE_RECORD), '{ not json', { mode: 0o600 });
  const s2 = new ProfileState(store, { seen: ['a'] });
  await s2.save();
  t.same((await readState(store)).seen.toArray(), ['a'], 'a damaged record is replaced');
});

t.test("a record lock left by a killed process is taken over; the locks are profile entries", async (t) => {
  const dir = await profileDir(t);
  const lockDir = join(dir, recordLockName(KEYS_RECORD));
  t.equal(recordLockName(KEYS_RECORD), 'keys.lock');
  t.equal(recordLockName(STATE_RECORD), 'state.lock');
  await mkdir(lockDir);
  const old = new Date(Date.now() - 60_000);
  await utimes(lockDir, old, old);
  const b = new KeyBook(new DirectoryStore(dir), OPRF, 100);
  await b.observe(rand(32), [dev()], '+15550100023').save;
  t.equal((await readKeyBook(new DirectoryStore(dir), OPRF, 100)).size, 1, 'saved');
  t.same(await leftovers(dir), [], 'the stale lock was taken over and released');
  t.ok(isProfileEntry('keys.lock') && isProfileEntry('state.lock'), 'a register accepts a directory a killed process left one in');
  await t.rejects(new DirectoryStore(dir).lockRecord('device.json'), { code: 'BAD_REQUEST' }, 'only the shared records have a record lock');
});

t.test('a profile directory removed meanwhile: the save fails as the write does, and makes nothing', async (t) => {
  const dir = await profileDir(t);
  const store = new DirectoryStore(join(dir, 'gone'));
  const state = new ProfileState(store, { seen: ['x'] });
  await t.rejects(state.save(), { code: 'ENOENT', message: /\(profile file state\.json\)$/ }, 'the write fails, with the write\'s error (not the lock\'s)');
  t.same(await readdir(dir), [], 'no lock directory made in its place');
});

async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.lock'));
}
