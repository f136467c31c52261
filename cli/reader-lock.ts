// One `hushwire listen` per profile. Two readers of one device hand it back and forth
// (each connect takes the device over from the other) and each prints only some of the
// messages, which nobody wants; a `send` from the same profile is fine (it connects
// send-only and takes nothing over; against an older gateway it takes the device for a
// moment and listen comes back).
//
// The lock is a file in the profile holding the reader's pid, made whole (a private file
// linked into place: no reader ever sees it empty). A lock whose pid no longer runs (a
// reader that was killed) is stale, and is taken over without ever being removed or
// replaced by a listen that may have misjudged it: a take-over makes the NEXT lock file,
// a generation after the stale one (`listen.lock`, then `listen.lock.1`, `listen.lock.2`,
// ...), by the same create-if-absent link, so of several listens that found the same
// lock stale only one gets the next one. The lock in force is the newest generation; a
// listen that made one looks again (a newer one, or an older one whose reader runs,
// means another listen holds the profile: it removes its own and tries again), then
// removes the older, stale ones. Its release removes its own file only. Before, a
// take-over moved the stale file aside and put it back when it turned out to be another
// listen's fresh lock, and a third listen that came in between found no lock and took
// one: two listens ran (test/client/reader-lock-race.test.ts).
import { readFileSync, unlinkSync, writeFileSync, linkSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { HushwireError, ErrorCode } from '../relay/errors.ts';

export const LISTEN_LOCK_FILE = 'listen.lock';

/** The lock file of generation `gen`: listen.lock, then listen.lock.1, .2, ... */
export function readerLockName(gen: number): string {
  return gen === 0 ? LISTEN_LOCK_FILE : `${LISTEN_LOCK_FILE}.${gen}`;
}

/** The generation a directory entry is a lock file of, or -1. */
export function readerLockGeneration(name: string): number {
  if (name === LISTEN_LOCK_FILE) return 0;
  const m = /^listen\.lock\.([1-9][0-9]{0,14})$/.exec(name);
  return m ? Number(m[1]) : -1;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** For tests: several listens played in one process, each with a pid of its own. */
export interface ReaderLockOptions {
  pid?: number;
  running?: (pid: number) => boolean;
}

/** The text of `path`, or null when it is gone; '' when it cannot be read (stale). */
function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? null : '';
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch { /* gone */ }
}

function busy(holder: number): HushwireError {
  return new HushwireError(ErrorCode.BAD_REQUEST, `another hushwire listen (pid ${holder}) is reading this profile; one reader per device (register another device for a second reader)`);
}

/** Takes the profile's reader lock; returns its release (idempotent). Throws
 *  HushwireError BAD_REQUEST when another live `listen` holds it. */
export function takeReaderLock(profileDir: string, opts: ReaderLockOptions = {}): () => void {
  const dir = resolve(profileDir);
  const pid = opts.pid ?? process.pid;
  const isRunning = opts.running ?? running;
  const mine = `${pid}\n`;
  /** The pid of a live reader other than this one that `text` names, else 0. */
  const liveHolder = (text: string | null): number => {
    const holder = text === null ? NaN : Number.parseInt(text, 10);
    return Number.isSafeInteger(holder) && holder > 0 && holder !== pid && isRunning(holder) ? holder : 0;
  };
  /** The lock files' generations, oldest first. */
  const generations = (): number[] => readdirSync(dir).map(readerLockGeneration).filter((g) => g >= 0).sort((a, b) => a - b);
  /** A live reader's pid among `gens` other than `except`, else 0. */
  const liveAmong = (gens: number[], except = -1): number => {
    for (const g of gens) {
      if (g === except) continue;
      const holder = liveHolder(readOrNull(join(dir, readerLockName(g))));
      if (holder !== 0) return holder;
    }
    return 0;
  };
  /** Puts a lock holding this reader's pid at generation `gen` unless one is there
   *  (false then): written to a private file first and linked into place. */
  const create = (gen: number): boolean => {
    const tmp = join(dir, `.${LISTEN_LOCK_FILE}.${pid}.${randomBytes(6).toString('hex')}.tmp`);
    writeFileSync(tmp, mine, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, join(dir, readerLockName(gen)));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      return false;
    } finally {
      unlinkQuiet(tmp);
    }
  };

  for (let attempt = 0; attempt < 5; attempt++) {
    const gens = generations();
    const holder = liveAmong(gens);
    if (holder !== 0) throw busy(holder);
    // Every lock there is stale (or there is none): the next generation, if nobody took it.
    const gen = gens.length > 0 ? gens[gens.length - 1]! + 1 : 0;
    if (!create(gen)) continue;
    // Made. Another listen holds the profile if a newer generation is there (it took
    // over what this one found stale too, and more), or an older lock names a live reader
    // (one made after this listen looked): this one gives its lock up and looks again.
    const now = generations();
    if (now.some((g) => g > gen) || liveAmong(now.filter((g) => g < gen)) !== 0) {
      unlinkQuiet(join(dir, readerLockName(gen)));
      continue;
    }
    // The older ones are stale: no listen can hold one now (one made after the look
    // above finds this newer one and gives its own up).
    for (const g of now) if (g < gen) unlinkQuiet(join(dir, readerLockName(g)));
    let released = false;
    const path = join(dir, readerLockName(gen));
    return () => {
      if (released) return;
      released = true;
      if (readOrNull(path) === mine) unlinkQuiet(path);
    };
  }
  const holder = liveAmong(generations());
  if (holder !== 0) throw busy(holder);
  throw new HushwireError(ErrorCode.BAD_REQUEST, 'could not take the profile\'s listen lock (it keeps changing)');
}
