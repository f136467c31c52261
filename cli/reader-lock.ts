// One `hushwire listen` per profile. Two readers of one device hand it back and forth
// (each connect takes the device over from the other) and each prints only some of the
// messages, which nobody wants; a `send` from the same profile is fine (it connects
// send-only and takes nothing over; against an older gateway it takes the device for a
// moment and listen comes back). The lock is a file `listen.lock` in the
// profile holding the reader's pid, made whole (a private file linked into place, so no
// reader ever sees it empty); a lock whose pid no longer runs (a reader that was killed)
// is stale and taken over. The take-over moves the stale file aside and removes it only
// if it is still the one found stale: two listens that find the same dead reader's lock
// at once must not both run, and a removal by name after the read took away the lock
// the other had just put in its place (test/client/reader-lock-race.test.ts).
import { readFileSync, unlinkSync, writeFileSync, linkSync, renameSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { HushwireError, ErrorCode } from '../relay/errors.ts';

export const LISTEN_LOCK_FILE = 'listen.lock';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The text of `path`, or null when it is gone; '' when it cannot be read (stale). */
function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? null : '';
  }
}

/** The pid of a live reader other than this process that `text` names, else 0. */
function liveHolder(text: string | null): number {
  const holder = text === null ? NaN : Number.parseInt(text, 10);
  return Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && running(holder) ? holder : 0;
}

function busy(holder: number): HushwireError {
  return new HushwireError(ErrorCode.BAD_REQUEST, `another hushwire listen (pid ${holder}) is reading this profile; one reader per device (register another device for a second reader)`);
}

/** A name beside the lock for this process's short-lived files (one a crash left is a
 *  profile entry still: client/profile.ts isProfileEntry). */
function besideLock(path: string, what: 'tmp' | 'stale'): string {
  return join(dirname(path), `.${LISTEN_LOCK_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.${what}`);
}

/** Puts a lock holding `text` at `path` unless one is there (false then): written to a
 *  private file first and linked into place, so it never exists empty. */
function create(path: string, text: string): boolean {
  const tmp = besideLock(path, 'tmp');
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  } finally {
    try {
      unlinkSync(tmp);
    } catch { /* gone */ }
  }
}

/** Takes the profile's reader lock; returns its release (idempotent). Throws
 *  HushwireError BAD_REQUEST when another live `listen` holds it. */
export function takeReaderLock(profileDir: string): () => void {
  const path = join(resolve(profileDir), LISTEN_LOCK_FILE);
  const mine = `${process.pid}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (!create(path, mine)) {
      const seen = readOrNull(path);
      if (seen === null) continue; // gone meanwhile
      const holder = liveHolder(seen);
      if (holder !== 0) throw busy(holder);
      // Stale: its reader is gone. Moved aside rather than removed by name: another listen
      // may have found it stale too and put its own lock in its place since the read
      // above; that one is put back, and this listen is refused.
      const aside = besideLock(path, 'stale');
      try {
        renameSync(path, aside);
      } catch {
        continue; // gone meanwhile
      }
      const moved = readOrNull(aside);
      if (moved !== seen) {
        try {
          linkSync(aside, path);
        } catch { /* a third one took the place meanwhile: it holds the lock */ }
      }
      try {
        unlinkSync(aside);
      } catch { /* gone */ }
      const taker = liveHolder(moved);
      if (moved !== seen && taker !== 0) throw busy(taker);
      continue;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      try {
        if (Number.parseInt(readFileSync(path, 'utf8'), 10) === process.pid) unlinkSync(path);
      } catch { /* already gone */ }
    };
  }
  throw new HushwireError(ErrorCode.BAD_REQUEST, 'could not take the profile\'s listen lock (it keeps changing)');
}
