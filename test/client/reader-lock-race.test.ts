// cli/reader-lock.ts: one `hushwire listen` per profile, a lock left by a killed reader
// taken over. Two listens that find the same dead reader's lock at the same moment must
// not both run: the second one's take-over must not remove the lock the first one has
// just put in its place. The other listen is played inside the second one's read of
// the stale lock (node:fs mocked around the module), the moment the interleaving needs.
import t from 'tap';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { isProfileEntry } from '../../client/profile.ts';

/** A pid that ran and is gone: the reader that left the lock behind. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  if (typeof r.pid !== 'number') throw new Error('no child pid');
  return r.pid;
}

t.test('a dead reader\'s lock taken over by two listens at once: the second one is refused', async (t) => {
  const dir = tempDir('hw-reader-lock-');
  const path = join(dir, 'listen.lock');
  fs.writeFileSync(path, `${deadPid()}\n`, { mode: 0o600 });
  // The other listen: a live process that is not this one.
  const other = `${process.ppid}\n`;
  let played = false;
  const readFileSync = ((p: fs.PathOrFileDescriptor, opts?: unknown) => {
    const out = fs.readFileSync(p, opts as BufferEncoding);
    if (!played && p === path) {
      // Right after this listen read the dead reader's pid, the other one (which read it
      // too) removes the stale lock and takes its own.
      played = true;
      fs.unlinkSync(path);
      fs.writeFileSync(path, other, { mode: 0o600, flag: 'wx' });
    }
    return out;
  }) as typeof fs.readFileSync;
  const { takeReaderLock } = await t.mockImport<typeof import('../../cli/reader-lock.ts')>('../../cli/reader-lock.ts', {
    'node:fs': { ...fs, readFileSync },
  });

  let release: (() => void) | null = null;
  try {
    release = takeReaderLock(dir);
  } catch (e) {
    t.match(e, { code: ErrorCode.BAD_REQUEST, message: new RegExp(`another hushwire listen \\(pid ${process.ppid}\\)`) }, 'refused: the other listen holds the lock');
  }
  t.ok(played, 'the other listen took the lock over in between');
  t.equal(release, null, 'this listen does not run beside the other');
  t.equal(fs.readFileSync(path, 'utf8'), other, 'the other listen\'s lock is in place');
  t.same(fs.readdirSync(dir).sort(), ['listen.lock'], 'nothing else is left in the profile');
  release?.();
});

t.test('a dead reader\'s lock alone is taken over (the next generation), and released', async (t) => {
  const { takeReaderLock } = await import('../../cli/reader-lock.ts');
  const dir = tempDir('hw-reader-lock-');
  const path = join(dir, 'listen.lock');
  // No lock: listen.lock is made, and removed at the release.
  const first = takeReaderLock(dir);
  t.equal(fs.readFileSync(path, 'utf8'), `${process.pid}\n`, 'listen.lock holds this process\'s pid');
  t.equal(fs.statSync(path).mode & 0o777, 0o600, 'private');
  first();
  t.same(fs.readdirSync(dir), [], 'released: nothing left');
  // A dead reader's: the next generation is made, the stale one removed.
  fs.writeFileSync(path, `${deadPid()}\n`, { mode: 0o600 });
  const release = takeReaderLock(dir);
  const next = join(dir, 'listen.lock.1');
  t.same(fs.readdirSync(dir), ['listen.lock.1'], 'the next generation, the stale lock removed');
  t.equal(fs.readFileSync(next, 'utf8'), `${process.pid}\n`, 'it holds this process\'s pid');
  t.equal(fs.statSync(next).mode & 0o777, 0o600, 'private');
  // A live holder of an older generation (one written after the look: not this module's
  // doing) or of the newest refuses.
  fs.writeFileSync(path, `${process.ppid}\n`);
  t.throws(() => takeReaderLock(dir), { code: ErrorCode.BAD_REQUEST, message: new RegExp(`pid ${process.ppid}`) }, 'a live holder refuses');
  fs.unlinkSync(path);
  release();
  t.same(fs.readdirSync(dir), [], 'released: nothing left');
  // What a crash in the middle of a take-over may leave is still a profile's (a later
  // registration in the directory is not refused for it).
  t.ok(isProfileEntry('.listen.lock.1234.0123456789ab.tmp') && isProfileEntry('.listen.lock.1234.0123456789ab.stale'), 'the lock\'s short-lived files are profile entries');
  t.ok(isProfileEntry('listen.lock') && isProfileEntry('listen.lock.1') && isProfileEntry('listen.lock.27'), 'so are its generations');
  t.notOk(isProfileEntry('listen.lock.0') || isProfileEntry('listen.lock.x') || isProfileEntry('listen.lock.01'), 'and only they');
});

t.test('a third listen while a take-over is under way: never two listens at once', async (t) => {
  // Listen A finds a dead reader's lock. Right after A read it, listen B takes the lock
  // over; at A's next link (before, the put-back of B's lock that A had moved aside),
  // listen C tries too. Before, C found no lock in that moment and took one, A's put-back
  // failed and it removed B's lock: B and C both ran. Each listen is played here with a
  // pid of its own, all three alive.
  const dir = tempDir('hw-reader-lock-');
  const dead = deadPid();
  fs.writeFileSync(join(dir, 'listen.lock'), `${dead}\n`, { mode: 0o600 });
  const [pidA, pidB, pidC] = [900_001, 900_002, 900_003];
  const running = (pid: number) => pid === pidA || pid === pidB || pid === pidC;
  const plain = await import('../../cli/reader-lock.ts');
  const take = (pid: number): (() => void) | null => {
    try {
      return plain.takeReaderLock(dir, { pid, running });
    } catch (e) {
      t.match(e, { code: ErrorCode.BAD_REQUEST, message: /another hushwire listen \(pid 90000[123]\)/ }, `listen ${pid} refused for a live reader`);
      return null;
    }
  };
  let b: (() => void) | null = null;
  let c: (() => void) | null = null;
  let stage = 0;
  const readFileSync = ((p: fs.PathOrFileDescriptor, opts?: unknown) => {
    const out = fs.readFileSync(p, opts as BufferEncoding);
    if (stage === 0 && String(out) === `${dead}\n`) {
      stage = 1;
      b = take(pidB);
    }
    return out;
  }) as typeof fs.readFileSync;
  const linkSync = ((from: fs.PathLike, to: fs.PathLike) => {
    if (stage === 1) {
      stage = 2;
      c = take(pidC);
    }
    return fs.linkSync(from, to);
  }) as typeof fs.linkSync;
  const { takeReaderLock } = await t.mockImport<typeof import('../../cli/reader-lock.ts')>('../../cli/reader-lock.ts', {
    'node:fs': { ...fs, readFileSync, linkSync },
  });
  let a: (() => void) | null = null;
  try {
    a = takeReaderLock(dir, { pid: pidA, running });
  } catch (e) {
    t.match(e, { code: ErrorCode.BAD_REQUEST }, 'A refused');
  }
  t.equal(stage, 2, 'B took over after A read the stale lock, and C came at A\'s next link');
  const holders = [a, b, c].filter((x) => x !== null).length;
  t.equal(holders, 1, 'exactly one of the three listens runs');
  // The one that runs still has its lock: a fourth listen is refused.
  t.throws(() => plain.takeReaderLock(dir, { pid: 900_004, running: (pid) => running(pid) || pid === 900_004 }), { code: ErrorCode.BAD_REQUEST }, 'a fourth listen is refused');
  for (const r of [a, b, c]) (r as (() => void) | null)?.();
  t.same(fs.readdirSync(dir), [], 'released: nothing left');
});
