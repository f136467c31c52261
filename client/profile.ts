// The handset's profile on Node: one private directory per device, one file per record
// (client/store.ts lists them; client/profile-data.ts says what each holds).
//
//   device.json    0600  keys, own number and route, pinned OPRF public key
//   gateways.json  0600  gateway URLs to rotate through
//   state.json     0600  dedup state: recently seen envelope ids, per-peer sequences
//   routes.json    0600  learned number -> route pairs
//   keys.json      0600  contacts' device identity keys as accepted, verified contacts
//
// Every file is replaced atomically (temp file + fsync + rename: client/atomic.ts), so
// a crash never leaves a half-written key file or a dedup state that forgets what was
// shown. The directory-based functions below are what the CLI and the Node API
// (`HushwireClient.open(dir)`) use; the portable core takes any ProfileStore.
//
// What changes the profile's identity (a registration, an opt-out, forgetting it
// locally) holds `profile.lock` in the directory meanwhile, so that two processes never
// do it at once: two `hushwire register` on one profile would otherwise both register a
// device at the relay, and the one whose device.json lost the race would stay there with
// keys nobody has. proper-lockfile makes it (an mkdir, atomic; the holder renews its
// mtime every second, so a lock left by a killed process is stale after 5 s and taken
// over). Sends and readers take no lock: they may share a profile (docs/CLIENT.md).
import { mkdir, open, chmod, unlink, stat, rmdir, readdir, utimes } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join, resolve } from 'node:path';
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { DAMAGED_DEVICE_MESSAGE } from './prekeys.ts';
import { checkRecord, PROFILE_RECORDS, SHARED_RECORDS, NO_LOCK, checkSharedRecord, type ProfileLock, type ProfileRecord, type ProfileStore } from './store.ts';
import {
  DEVICE_FILE, SEEN_CAPACITY, readDevice, writeDevice, removeDevice, readGateways, writeGateways, readState,
  type DeviceProfile, type ProfileState,
} from './profile-data.ts';

export {
  DEVICE_FILE, GATEWAYS_FILE, STATE_FILE, ROUTES_FILE, SEEN_CAPACITY, ProfileState, checkGatewayUrl, notRegistered,
  type DeviceProfile,
} from './profile-data.ts';

/** Creates the profile directory (0700) if needed and tightens it if it exists. */
export async function ensureProfileDir(dir: string): Promise<string> {
  const abs = resolve(dir);
  await mkdir(abs, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask and ignored for an existing directory.
  await chmod(abs, 0o700);
  return abs;
}

/** What the SDK says about a profileDir that is no directory, or (register) one it
 *  cannot take: words for a developer, which the CLI says in its own (--profile;
 *  cli/errors.ts profileDirMessage). */
export const PROFILE_DIR_MESSAGES = {
  /** A profile opened (any call but register) at a path that is a file or lies under one. */
  notADirectory: 'the profile directory (profileDir; the CLI\'s --profile) is a file, or lies under one, not a directory: ' +
    'give the directory that a registration made (HushwireClient.register, hushwire register)',
  /** register: the path lies under a file. */
  insideAFile: 'profileDir (the CLI\'s --profile) lies inside a file, where no directory can be made: nothing was registered; ' +
    'give the path of a new or empty directory for the profile',
  /** register: the path is a file. */
  isAFile: 'profileDir (the CLI\'s --profile) is a file, not a directory: nothing was registered; ' +
    'give the path of a new or empty directory for the profile',
  /** register: the directory holds other things; followed by " N entries that are not part ...". */
  foreignEntriesStart: 'profileDir already exists and holds',
} as const;

/**
 * Reads a profile file; undefined when it does not exist. A file others may read or
 * write is refused, as ssh refuses such a key file: its keys (device.json), contacts'
 * numbers (routes.json), message ids (state.json) or gateways may already have been
 * copied, or be swapped, and going on would hide that. Every profile file is written 0600; only
 * a chmod or a copy loosens one. Mode bits mean nothing on Windows: not checked there.
 */
export async function readPrivateFile(path: string, file: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // The raw errors name the whole path; these say what is wrong without it.
    if (code === 'ENOTDIR') {
      throw new HushwireError(ErrorCode.BAD_REQUEST, PROFILE_DIR_MESSAGES.notADirectory);
    }
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new HushwireError(ErrorCode.BAD_REQUEST, `profile file ${file} is not a regular file (a directory?)`);
    const mode = st.mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new HushwireError(
        ErrorCode.BAD_REQUEST,
        `profile file ${file} is open to other users (mode 0${mode.toString(8)}): its contents may have been copied; ` +
          `if that is not a concern, chmod 600 it (and chmod 700 the profile directory)`,
      );
    }
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** The identity lock: a directory proper-lockfile makes while a registration or an
 *  opt-out changes the profile. */
export const PROFILE_LOCK = 'profile.lock';
/** A lock whose mtime is older than this is taken for left by a dead process. */
export const PROFILE_LOCK_STALE_MS = 5_000;
/** How often the holder renews the lock's mtime. */
const PROFILE_LOCK_UPDATE_MS = 1_000;
/** How long lockIdentity waits for another process's lock: longer than a dead holder's
 *  lock takes to go stale, so only a live holder makes it fail. */
export const PROFILE_LOCK_WAIT_MS = 10_000;
const PROFILE_LOCK_POLL_MS = 200;
/** A record lock is held for one read and one write (milliseconds), so a waiter looks
 *  again soon; it waits as long as for the identity lock before it gives up. */
const RECORD_LOCK_POLL_MS = 10;
/** Per lock path, the lock of this process that holds it now (see release in #lock):
 *  proper-lockfile keeps one entry per path and process, which a take-over by another
 *  store of this process replaces. */
const lockHolders = new Map<string, object>();

/** proper-lockfile, loaded on the first lock (a profile that is only read never needs
 *  it) and kept: a dynamic import() per call cost ~0.6 ms of CPU, at every save of
 *  state.json (once per received message for a reader taking them one at a time). */
let lockfileModule: Promise<typeof import('proper-lockfile')> | null = null;
function loadLockfile(): Promise<typeof import('proper-lockfile')> {
  lockfileModule ??= import('proper-lockfile').then((m) => m.default);
  lockfileModule.catch(() => { lockfileModule = null; }); // a failed load is tried again
  return lockfileModule;
}

/** The lock of a record that processes sharing a profile each rewrite whole after
 *  merging in the others' changes (lockRecord): `keys.lock`, `state.lock`. */
export function recordLockName(record: ProfileRecord): string {
  return `${record.replace(/\.json$/, '')}.lock`;
}
const RECORD_LOCKS = SHARED_RECORDS.map(recordLockName);

/** What a profile directory may hold besides the records: the CLI's reader lock (and its
 *  later generations), the
 *  identity and record locks (left by a killed process), and a temporary file an
 *  interrupted atomic write left (client/atomic.ts names them) or the reader lock's
 *  (cli/reader-lock.ts). */
const PROFILE_EXTRAS = new Set(['listen.lock', PROFILE_LOCK, ...RECORD_LOCKS]);
const TEMP_RECORD = /^\.(?:(?:device|gateways|state|routes|keys|pending-device)\.json\.\d+\.[0-9a-f]+\.tmp|listen\.lock\.\d+\.[0-9a-f]+\.(?:tmp|stale))$/;
/** The CLI's reader lock after a take-over: its later generations (cli/reader-lock.ts). */
const READER_LOCK_GENERATION = /^listen\.lock\.[1-9][0-9]{0,14}$/;

/** Whether `name` is something a profile directory holds. */
export function isProfileEntry(name: string): boolean {
  return (PROFILE_RECORDS as readonly string[]).includes(name) || PROFILE_EXTRAS.has(name) || TEMP_RECORD.test(name) || READER_LOCK_GENERATION.test(name);
}

/**
 * Before a registration makes `dir` a profile (0700, key files in it): refuses a path
 * that is not a directory, and a directory that holds anything but profile records (an
 * app's own directory, node_modules, a home directory), which a chmod 0700 and a
 * device.json would take over. Returns whether it existed. The messages name the
 * problem, never what the directory holds.
 */
export async function checkProfileDirectory(dir: string): Promise<boolean> {
  let st;
  try {
    st = await stat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new HushwireError(ErrorCode.BAD_REQUEST, PROFILE_DIR_MESSAGES.insideAFile);
    }
    throw e;
  }
  if (!st.isDirectory()) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, PROFILE_DIR_MESSAGES.isAFile);
  }
  const foreign = (await readdir(dir)).filter((name) => !isProfileEntry(name));
  if (foreign.length > 0) {
    throw new HushwireError(
      ErrorCode.BAD_REQUEST,
      `${PROFILE_DIR_MESSAGES.foreignEntriesStart} ${foreign.length} ${foreign.length === 1 ? 'entry that is' : 'entries that are'} not part of a Hushwire profile: ` +
        'give a new or empty directory (a registration makes it private, 0700, and keeps keys in it)',
    );
  }
  return true;
}

/**
 * A file system error about a profile record, without the paths Node's message quotes
 * (the profile directory's path often names the user, and store errors reach the
 * application's onStoreError and the CLI's warnings as they are): the same `code`,
 * `errno` and `syscall`, the record's name instead. Anything else is left as it is.
 */
function withoutPath(e: unknown, record: ProfileRecord): unknown {
  const err = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof err.code !== 'string' || (err.path === undefined && (err as { dest?: unknown }).dest === undefined)) return e;
  // Node's form: "CODE: what went wrong, syscall 'path'[ -> 'dest']".
  const what = err.message.split(', ')[0] ?? err.code;
  const out = new Error(`${what}, ${err.syscall ?? 'access'} (profile file ${record})`) as NodeJS.ErrnoException;
  out.code = err.code;
  if (err.errno !== undefined) out.errno = err.errno;
  if (err.syscall !== undefined) out.syscall = err.syscall;
  return out;
}

/** A shared record's file as version() sees it: who it is and when it last changed. */
interface RecordStat {
  /** Device, inode, size, mtime and ctime (ns). */
  key: string;
  ctimeNs: bigint;
}

async function statRecord(path: string): Promise<RecordStat | undefined> {
  try {
    const st = await stat(path, { bigint: true });
    return { key: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`, ctimeNs: st.ctimeNs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** How long a write over another process's shared record waits at most for the file
 *  system's clock to pass that record's ctime (see DirectoryStore.version). */
const CTIME_WAIT_MS = 2_500;

/**
 * The Node ProfileStore: a private directory (0700, made by a registration: prepare), one 0600
 * file per record, replaced atomically and fsynced; a file open to other users is
 * refused when read.
 */
export class DirectoryStore implements ProfileStore {
  readonly dir: string;
  private ensured: Promise<string> | null = null;
  /** The record locks this store holds now (lockRecord), checked by each write of their
   *  record: a lock taken over meanwhile means another process may have written it. */
  readonly #recordLocks = new Map<ProfileRecord, ProfileLock>();
  /** Per shared record, this store's own last write of it (see version): its stat key,
   *  and the count of this store's writes then. */
  readonly #own = new Map<ProfileRecord, { key: string; seq: number }>();
  #writes = 0;

  constructor(dir: string) {
    if (typeof dir !== 'string' || dir.length === 0) throw new HushwireError(ErrorCode.BAD_REQUEST, 'a profile directory is required');
    this.dir = resolve(dir);
  }

  async read(record: ProfileRecord): Promise<string | undefined> {
    // Record names become file names: only the five known ones ever do.
    checkRecord(record);
    return readPrivateFile(join(this.dir, record), record).catch((e: unknown) => { throw withoutPath(e, record); });
  }

  async write(record: ProfileRecord, text: string): Promise<void> {
    checkRecord(record);
    // Only a registration (prepare) makes the directory: a profile deleted while a
    // client runs must stay deleted, not come back with contacts' numbers in it when the
    // next state or route book is saved (the write fails ENOENT instead).
    if (this.ensured) await this.ensured;
    // A write made holding the record's lock (a read, merge and write: lockRecord) goes
    // ahead only while the lock is still this process's. One taken over (this process
    // stalled past its stale time, or two waiters took a dead holder's lock at once: the
    // library's take-over is not atomic) may have let another process read and write
    // since: this write, built on the older read, would undo that.
    const held = this.#recordLocks.get(record);
    if (held) {
      await held.check().catch(() => {
        throw new HushwireError(
          ErrorCode.BAD_REQUEST,
          `this process lost the lock of this profile's ${record} (it stalled for seconds, or another process took the lock over): the record was not written`,
        );
      });
    }
    const path = join(this.dir, record);
    const shared = (SHARED_RECORDS as readonly string[]).includes(record);
    const before = shared ? await statRecord(path).catch(() => undefined) : undefined;
    const own = this.#own.get(record);
    this.#own.delete(record);
    await writeFileAtomic(path, text, 0o600).catch((e: unknown) => { throw withoutPath(e, record); });
    if (shared) await this.#wrote(record, path, before !== undefined && before.key !== own?.key ? before : undefined);
  }

  /**
   * A token of a record as it is now (a stat, ~100 times cheaper than reading a state.json
   * of 10,000 ids), for rewriteSharedRecord (client/store.ts): it never comes back once
   * the record was written again, by this process or another. Undefined when there is none.
   *
   * The stat key alone: every write is a new file renamed over the record
   * (writeFileAtomic), so another process's write, made while this process's file is
   * still the record, gets another inode, whatever its size and its times (which have
   * the file system's granularity: a clock tick of some ms, a second on some). Only a
   * second write after it could get the freed inode back, and within the same tick the
   * same times and size. Two things exclude that: a write over a record another store
   * wrote waits until its file's ctime is later than that record's (#wrote; under the
   * record lock, so only when two processes write one record within one tick), so no
   * later record shares a ctime with one another process remembers; and this store's
   * own last write carries the count of its writes, so its own later writes (by another
   * ProfileState or KeyBook on this store) never give back a token of an earlier one.
   * What it assumes: that every process writing the profile is this SDK, and a clock
   * that is not set back meanwhile; a record deleted (an opt-out) and written again is
   * refused by the device check (writeForDevice) either way.
   */
  async version(record: ProfileRecord): Promise<string | undefined> {
    checkRecord(record);
    const now = await statRecord(join(this.dir, record)).catch((e: unknown) => { throw withoutPath(e, record); });
    if (now === undefined) return undefined;
    const own = this.#own.get(record);
    return own !== undefined && own.key === now.key ? `${now.key}/${own.seq}` : now.key;
  }

  /** After a write of a shared record: notes it as this store's own (version), first
   *  waiting, when it replaced `foreign` (another store's record, as statted before the
   *  write), until its ctime is later than that one's. Not noted when that cannot be
   *  had: the next write here then counts as over another's record again. Never throws
   *  (the record is written). */
  async #wrote(record: ProfileRecord, path: string, foreign: RecordStat | undefined): Promise<void> {
    try {
      let after = await statRecord(path);
      if (after === undefined) return;
      if (foreign !== undefined && after.ctimeNs <= foreign.ctimeNs) {
        const deadline = Date.now() + CTIME_WAIT_MS;
        for (let pause = 1; after.ctimeNs <= foreign.ctimeNs; pause = Math.min(pause * 2, 100)) {
          if (Date.now() + pause > deadline) return;
          await sleep(pause);
          const t = new Date();
          await utimes(path, t, t); // sets the ctime to the clock's now
          after = await statRecord(path);
          if (after === undefined) return;
        }
      }
      this.#own.set(record, { key: after.key, seq: ++this.#writes });
    } catch {
      // not noted
    }
  }

  async delete(record: ProfileRecord): Promise<void> {
    checkRecord(record);
    this.#own.delete(record);
    try {
      await unlink(join(this.dir, record));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw withoutPath(e, record);
    }
  }

  /**
   * Takes the profile's identity lock (`profile.lock`), for a registration or an opt-out:
   * another process holding it is waited for up to PROFILE_LOCK_WAIT_MS, then refused
   * with BAD_REQUEST; a lock left by a dead process goes stale and is taken over. The
   * directory must exist. Errors never name the path.
   */
  async lockIdentity(): Promise<ProfileLock> {
    const lock = await this.#lock(PROFILE_LOCK, PROFILE_LOCK_POLL_MS, () => new HushwireError(
      ErrorCode.BAD_REQUEST,
      `another process is registering or unregistering this profile (it held the profile's lock for over ${PROFILE_LOCK_WAIT_MS / 1000} s): try again once it is done`,
    ));
    if (lock === null) throw new HushwireError(ErrorCode.BAD_REQUEST, 'the profile directory does not exist (or was removed meanwhile)');
    return lock;
  }

  /**
   * Takes the lock of one record that several processes rewrite whole (SHARED_RECORDS:
   * `keys.json`, `state.json`), held while this process reads it, merges in what the
   * others wrote and writes it back, so that no write is built on a read another
   * process's write has made stale. Waited for, taken over when stale and refused like
   * the identity lock. A directory that is gone (the profile was removed) gets a lock
   * that holds nothing: there is nothing to protect, and the write that follows fails.
   */
  async lockRecord(record: ProfileRecord): Promise<ProfileLock> {
    checkSharedRecord(record);
    const lock = await this.#lock(recordLockName(record), RECORD_LOCK_POLL_MS, () => new HushwireError(
      ErrorCode.BAD_REQUEST,
      `another process held the lock of this profile's ${record} for over ${PROFILE_LOCK_WAIT_MS / 1000} s (it is stalled): the record was not written`,
    ));
    if (lock === null) return NO_LOCK;
    this.#recordLocks.set(record, lock);
    return {
      check: () => lock.check(),
      release: () => {
        if (this.#recordLocks.get(record) === lock) this.#recordLocks.delete(record);
        return lock.release();
      },
    };
  }

  /** The lock `name` in the profile directory, or null when the directory is gone. */
  async #lock(name: string, pollMs: number, busy: () => HushwireError): Promise<ProfileLock | null> {
    const lockfile = await loadLockfile();
    let lost = false;
    const deadline = Date.now() + PROFILE_LOCK_WAIT_MS;
    const lockPath = join(this.dir, name);
    let unlock: () => Promise<void>;
    for (;;) {
      try {
        // Keyed by the lock's own path, not the directory's: the library keeps its locks
        // in a map by that argument, so the identity and record locks, held at once,
        // would overwrite each other's entry there.
        unlock = await lockfile.lock(lockPath, {
          lockfilePath: lockPath,
          realpath: false,
          stale: PROFILE_LOCK_STALE_MS,
          update: PROFILE_LOCK_UPDATE_MS,
          retries: 0,
          // Called when the lock's mtime could not be renewed in time and another
          // process may have taken it over: check() refuses from then on. (The library's
          // default throws from a timer, which would end the process.)
          onCompromised: () => { lost = true; },
        });
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ELOCKED') {
          if (Date.now() + pollMs > deadline) throw busy();
          await sleep(pollMs);
          continue;
        }
        // The library's errors quote the path: these say what is wrong without it.
        if (code === 'ENOENT') return null;
        throw new HushwireError(ErrorCode.BAD_REQUEST, `could not take the profile's lock (${typeof code === 'string' ? code : 'error'})`);
      }
    }
    // Which lock directory is ours: a second waiter that found the same dead lock stale
    // at the same moment may remove ours and make its own (the library's stale
    // take-over is not atomic); check() sees that by the directory's identity.
    const identity = async (): Promise<string> => {
      const st = await stat(lockPath);
      return `${st.ino}:${st.birthtimeMs}`;
    };
    let mine = '';
    try {
      mine = await identity();
    } catch { lost = true; }
    // This process's holder of the path now (the library's entry for it is this one's).
    const token = {};
    lockHolders.set(lockPath, token);
    let released: Promise<void> | null = null;
    return {
      check: async () => {
        let same = false;
        if (!lost && !released) same = (await identity().catch(() => '')) === mine;
        if (!same) {
          throw new HushwireError(ErrorCode.BAD_REQUEST, "this process lost the profile's lock (it stalled for seconds, or another process took the profile over)");
        }
      },
      release: () => {
        released ??= (async () => {
          const current = lockHolders.get(lockPath) === token;
          if (current) lockHolders.delete(lockPath);
          if (!lost && (await identity().catch(() => '')) === mine) {
            await unlock().catch(() => {});
            return;
          }
          // Taken over by another store of this process (two clients on one profile): the
          // library's entry for the path is that store's now, and forgetting it would stop
          // its renewal and fail its release (its lock left behind). Ours renews no more:
          // its next renewal sees an mtime it did not set and gives up.
          if (!current) return;
          // Not ours any more: another process's now, which must stay. The library is
          // told to forget it (its renewal timer stops) with a removal that removes nothing.
          await lockfile.unlock(lockPath, {
            realpath: false,
            lockfilePath: lockPath,
            fs: { rmdir: (_path: string, done: (err: null) => void) => done(null) },
          } as Parameters<typeof lockfile.unlock>[1]).catch(() => {});
        })();
        return released;
      },
    };
  }

  /** For a registration: makes the directory (0700) and returns an undo that removes it
   *  again if it did not exist and is still empty (rmdir removes only an empty one, so
   *  nothing written meanwhile can be lost). */
  async prepare(): Promise<() => Promise<void>> {
    const existed = await checkProfileDirectory(this.dir);
    this.ensured = ensureProfileDir(this.dir);
    this.ensured.catch(() => { this.ensured = null; });
    await this.ensured;
    return async () => {
      if (!existed) await rmdir(this.dir).catch(() => {});
    };
  }
}

/** Writes device.json (making the directory, 0700, if needed). */
export async function saveDevice(dir: string, p: DeviceProfile): Promise<void> {
  const store = new DirectoryStore(dir);
  await store.prepare();
  return writeDevice(store, p);
}

/** Loads device.json; HushwireError NOT_REGISTERED ("not registered") when there is none. */
export function loadDevice(dir: string): Promise<DeviceProfile> {
  return readDevice(new DirectoryStore(dir));
}

export async function hasDevice(dir: string): Promise<boolean> {
  try {
    await stat(join(resolve(dir), DEVICE_FILE));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Removes the device keys, dedup state and learned routes (opt-out); keeps
 *  gateways.json. Idempotent. */
export function deleteDevice(dir: string): Promise<void> {
  return removeDevice(new DirectoryStore(dir));
}

/** Whether the profile holds a device record: readDevice, but a damaged record counts (it
 *  is a profile's, and forgetting it is what its error tells the user to do). Missing:
 *  NOT_REGISTERED; a record open to other users: refused as by readDevice. */
async function readDeviceOrDamaged(store: DirectoryStore): Promise<void> {
  try {
    await readDevice(store);
  } catch (e) {
    if (e instanceof HushwireError && e.message === DAMAGED_DEVICE_MESSAGE) return;
    throw e;
  }
}

/**
 * Forgets a registered profile locally (`hushwire unregister --forget-locally`): deletes
 * what deleteDevice does, holding the profile's identity lock (a registration running in
 * another process is not cut short). NOT_REGISTERED when the directory holds no device,
 * checked before anything is touched, so a wrong path changes nothing; a damaged device
 * record is forgotten too.
 */
export async function forgetDevice(dir: string): Promise<void> {
  const store = new DirectoryStore(dir);
  await readDeviceOrDamaged(store);
  const lock = await store.lockIdentity();
  try {
    await readDeviceOrDamaged(store); // another process may have unregistered it meanwhile
    await removeDevice(store);
  } finally {
    await lock.release();
  }
}

export function saveGateways(dir: string, urls: string[]): Promise<void> {
  return writeGateways(new DirectoryStore(dir), urls);
}

export function loadGateways(dir: string): Promise<string[]> {
  return readGateways(new DirectoryStore(dir));
}

export function loadState(dir: string, capacity = SEEN_CAPACITY): Promise<ProfileState> {
  return readState(new DirectoryStore(dir), capacity);
}
