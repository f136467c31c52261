// One `hushwire listen` per profile. Two readers of one device hand it back and forth
// (each connect takes the device over from the other) and each prints only some of the
// messages, which nobody wants; a `send` from the same profile is fine (it connects
// send-only and takes nothing over; against an older gateway it takes the device for a
// moment and listen comes back). The lock is a file `listen.lock` in the
// profile holding the reader's pid, made with O_EXCL; a lock whose pid no longer runs
// (a reader that was killed) is stale and taken over.
import { openSync, writeSync, closeSync, readFileSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

/** Takes the profile's reader lock; returns its release (idempotent). Throws
 *  HushwireError BAD_REQUEST when another live `listen` holds it. */
export function takeReaderLock(profileDir: string): () => void {
  const path = join(resolve(profileDir), LISTEN_LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = NaN;
      try {
        holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
      } catch { /* gone meanwhile, or unreadable: treat as stale */ }
      if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && running(holder)) {
        throw new HushwireError(ErrorCode.BAD_REQUEST, `another hushwire listen (pid ${holder}) is reading this profile; one reader per device (register another device for a second reader)`);
      }
      try {
        unlinkSync(path); // stale: its reader is gone
      } catch { /* someone else removed it first */ }
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
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
