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

t.test('a dead reader\'s lock alone is taken over, and released', async (t) => {
  const { takeReaderLock } = await import('../../cli/reader-lock.ts');
  const dir = tempDir('hw-reader-lock-');
  const path = join(dir, 'listen.lock');
  fs.writeFileSync(path, `${deadPid()}\n`, { mode: 0o600 });
  const release = takeReaderLock(dir);
  t.equal(fs.readFileSync(path, 'utf8'), `${process.pid}\n`, 'the lock holds this process\'s pid');
  t.equal(fs.statSync(path).mode & 0o777, 0o600, 'private');
  t.throws(() => {
    // a live holder that is not this process
    fs.writeFileSync(path, `${process.ppid}\n`);
    takeReaderLock(dir);
  }, { code: ErrorCode.BAD_REQUEST }, 'a live holder refuses');
  fs.writeFileSync(path, `${process.pid}\n`);
  release();
  t.same(fs.readdirSync(dir), [], 'released: nothing left');
  // What a crash in the middle of a take-over may leave is still a profile's (a later
  // registration in the directory is not refused for it).
  t.ok(isProfileEntry('.listen.lock.1234.0123456789ab.tmp') && isProfileEntry('.listen.lock.1234.0123456789ab.stale'), 'the lock\'s short-lived files are profile entries');
});
