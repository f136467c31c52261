// A ProfileStore on IndexedDB, for browser apps (a PWA) on the portable entry: one
// database per profile, one object store of the profile records (PROFILE_RECORDS) keyed by name. IndexedDB
// is what a browser offers for the store's guarantees (docs/CLIENT.md, "The store"):
//
//   atomic replace   each write is one readwrite transaction putting the whole text:
//                    committed whole or not at all, also when the tab dies mid-write;
//   durable          a write resolves on the transaction's `complete`, asked for with
//                    durability 'strict' (the browser flushes to disk before it reports
//                    complete; where the option is unknown it is ignored and the
//                    browser's default applies);
//   private          an origin's databases are readable only by scripts of that origin.
//
// What IndexedDB cannot give: secret storage. device.json sits in the origin's storage
// like the rest, readable by any script running in the page and copied with the
// browser's profile on disk (docs/CLIENT.md says what to do about it).
//
// Hand-written over the raw API rather than a wrapper library: four operations on one
// object store, and each needs its own completion rule (a write is done at the
// transaction's `complete`, not at the request's `success`) and its own deadline.
// No DOM types here (the package type-checks without lib.dom): the few members used
// are declared structurally below.
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { checkRecord, checkSharedRecord, NO_LOCK, type ProfileLock, type ProfileRecord, type ProfileStore } from './store.ts';
import { callApp } from './app-callback.ts';

const OBJECT_STORE = 'records';
const DB_VERSION = 1;
/** Default deadline of opening the database and of each operation. */
export const INDEXEDDB_TIMEOUT_MS = 10_000;

interface IdbRequest<T = unknown> {
  result: T;
  error: { name: string; message: string } | null;
  onsuccess: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: ((ev: unknown) => void) | null;
  onblocked: ((ev: unknown) => void) | null;
}
interface IdbObjectStore {
  get(key: string): IdbRequest;
  put(value: string, key: string): IdbRequest;
  delete(key: string): IdbRequest;
}
interface IdbTransaction {
  objectStore(name: string): IdbObjectStore;
  error: { name: string; message: string } | null;
  oncomplete: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onabort: ((ev: unknown) => void) | null;
  abort(): void;
}
interface IdbDatabase {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(stores: string, mode: 'readonly' | 'readwrite', options?: { durability?: 'strict' | 'relaxed' | 'default' }): IdbTransaction;
  close(): void;
  onversionchange: ((ev: unknown) => void) | null;
}
/** The members of the platform's `indexedDB` (an IDBFactory) this store uses. */
export interface IndexedDbFactory {
  open(name: string, version?: number): IdbOpenRequest;
  deleteDatabase(name: string): IdbOpenRequest;
}

/** The members of the platform's `navigator.locks` (a LockManager) this store uses. */
export interface WebLocks {
  request(name: string, options: { ifAvailable?: boolean; steal?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => Promise<void> | null): Promise<unknown>;
  /** Where present, asked before a lock is let go on a versionchange (see #versionChange). */
  query?(): Promise<unknown>;
}

export interface IndexedDbStoreOptions {
  /** The IDBFactory; default globalThis.indexedDB. */
  indexedDB?: IndexedDbFactory;
  /** Deadline of opening and of each read, write or delete (default 10 s). */
  timeoutMs?: number;
  /**
   * One tab per profile (default true): the store holds the Web Lock
   * `hushwire-profile:<name>` while open, and opening a profile another tab (or
   * window, or worker) of the origin holds fails BAD_REQUEST. `'steal'` takes it over:
   * the other store closes itself (its calls fail BAD_REQUEST) and its `onLockLost`
   * runs. `false`: no lock. Where the platform has no Web Locks (`navigator.locks`) the
   * store opens without one and `exclusive` reads false.
   */
  exclusive?: boolean | 'steal';
  /** Called once when another tab took this profile over (`exclusive: 'steal'` there):
   *  close the client that uses this store. */
  onLockLost?: () => void;
  /** The LockManager; default globalThis.navigator.locks. */
  locks?: WebLocks;
}

const LOCK_PREFIX = 'hushwire-profile:';
/** The Web Lock of one shared record of a profile: `hushwire-record:<name>:<record>`. */
const RECORD_LOCK_PREFIX = 'hushwire-record:';

/** A held Web Lock: `release` lets it go (idempotent). */
interface HeldLock {
  release(): void;
}

/**
 * Takes the profile's Web Lock: null when this platform has no Web Locks. Throws
 * BAD_REQUEST when another holder has it (unless stealing). `lost` runs if a later
 * stealer takes it from us.
 */
async function takeLock(locks: WebLocks | undefined, name: string, steal: boolean, lost: () => void): Promise<HeldLock | null> {
  if (locks === undefined || typeof locks.request !== 'function') return null;
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => { release = resolve; });
  let released = false;
  let granted = false;
  const got = await new Promise<boolean>((resolve, reject) => {
    const options = steal ? { steal: true } : { ifAvailable: true };
    locks.request(LOCK_PREFIX + name, options, (lock) => {
      if (lock === null) {
        resolve(false);
        return null;
      }
      granted = true;
      resolve(true);
      return held; // kept until release()
    }).catch((e: unknown) => {
      if (!granted) {
        reject(failure('lock', e as { name?: string }));
        return;
      }
      // Held, then stolen by another tab (AbortError).
      if (released) return;
      released = true;
      lost();
    });
  });
  if (!got) throw new HushwireError(ErrorCode.BAD_REQUEST, 'this profile is open in another tab or window (IndexedDbStore exclusive; open it with exclusive: \'steal\' to take it over)');
  return {
    release: () => {
      released = true;
      release();
    },
  };
}

function factoryOf(options: IndexedDbStoreOptions): IndexedDbFactory {
  const f = options.indexedDB ?? (globalThis as { indexedDB?: IndexedDbFactory }).indexedDB;
  if (f === undefined || f === null || typeof f.open !== 'function') {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'IndexedDB is not available here (no globalThis.indexedDB): pass the indexedDB option or use another ProfileStore');
  }
  return f;
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'an IndexedDB profile name is a string of 1 to 200 characters');
  }
}

function checkTimeout(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) throw new HushwireError(ErrorCode.BAD_REQUEST, 'timeoutMs is a positive number of milliseconds');
  return ms;
}

/** An error naming the operation and the browser's error name only (never contents). */
function failure(what: string, err: { name?: string } | null | undefined): HushwireError {
  const name = err?.name ?? 'unknown error';
  return new HushwireError(ErrorCode.UNAVAILABLE, `IndexedDB ${what} failed: ${name}`, { cause: err ?? undefined });
}

/**
 * Settles with the first of: the work's outcome, or the deadline. `onDeadline` runs at
 * the deadline; when it returns false the work is past the point where it can be
 * stopped (a transaction already committing) and its own outcome is awaited instead.
 */
function withDeadline<T>(
  what: string,
  ms: number,
  start: (resolve: (v: T) => void, reject: (e: Error) => void) => void,
  onDeadline: () => boolean = () => true,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done || !onDeadline()) return;
      done = true;
      reject(new HushwireError(ErrorCode.TIMEOUT, `IndexedDB ${what} did not finish within ${ms} ms`));
    }, ms);
    const settle = <A>(f: (a: A) => void) => (a: A): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      f(a);
    };
    try {
      start(settle(resolve), settle(reject));
    } catch (e) {
      settle(reject)(failure(what, e as { name?: string }));
    }
  });
}

/**
 * A profile in the browser's IndexedDB (database `name`, one per profile). Open it with
 * `IndexedDbStore.open(name)`, pass it as `store` to `HushwireClient.register` and as
 * the first argument of `HushwireClient.open`. `close()` releases the database (the
 * client does not: it does not own its store). `IndexedDbStore.destroy(name)` deletes a
 * profile's database (after `unregister`, which leaves only gateways.json, or to forget
 * a profile locally).
 */
export class IndexedDbStore implements ProfileStore {
  readonly #db: IdbDatabase;
  readonly #timeoutMs: number;
  readonly #name: string;
  readonly #locks: WebLocks | undefined;
  #lock: HeldLock | null = null;
  #closed = false;
  #closedWhy = 'the IndexedDB profile store is closed';

  private constructor(db: IdbDatabase, timeoutMs: number, name: string, locks: WebLocks | undefined) {
    this.#db = db;
    this.#timeoutMs = timeoutMs;
    this.#name = name;
    this.#locks = locks !== undefined && typeof locks.request === 'function' ? locks : undefined;
    // Another tab deleting or upgrading this database waits for every connection to it
    // to close: close ours (operations after that fail BAD_REQUEST) instead of blocking it.
    db.onversionchange = () => this.#versionChange();
  }

  /** True while this store holds its profile's Web Lock (see `exclusive`). */
  get exclusive(): boolean {
    return this.#lock !== null && !this.#closed;
  }

  /** Opens (creating when new) the profile database `name`. */
  static async open(name: string, options: IndexedDbStoreOptions = {}): Promise<IndexedDbStore> {
    checkName(name);
    const f = factoryOf(options);
    const ms = checkTimeout(options.timeoutMs ?? INDEXEDDB_TIMEOUT_MS);
    const exclusive = options.exclusive ?? true;
    if (exclusive !== true && exclusive !== false && exclusive !== 'steal') {
      throw new HushwireError(ErrorCode.BAD_REQUEST, "exclusive is true, false or 'steal'");
    }
    const onLockLost = options.onLockLost;
    if (onLockLost !== undefined && typeof onLockLost !== 'function') throw new HushwireError(ErrorCode.BAD_REQUEST, 'onLockLost is a function');
    let store: IndexedDbStore | null = null;
    let lostEarly = false;
    const lost = (): void => {
      if (store === null) {
        lostEarly = true;
        return;
      }
      store.#lose();
      // The app's callback: what it throws or rejects with must not break the lock
      // handling, nor be an unhandled rejection (client/app-callback.ts).
      if (onLockLost !== undefined) callApp(onLockLost, undefined, () => {});
    };
    const locks = options.locks ?? (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks;
    const lock = exclusive === false ? null : await takeLock(locks, name, exclusive === 'steal', lost);
    let db: IdbDatabase;
    try {
      db = await IndexedDbStore.#openDb(f, name, ms);
    } catch (e) {
      lock?.release();
      throw e;
    }
    store = new IndexedDbStore(db, ms, name, locks);
    store.#lock = lock;
    if (lostEarly) lost();
    return store;
  }

  static #openDb(f: IndexedDbFactory, name: string, ms: number): Promise<IdbDatabase> {
    let late = false;
    return withDeadline<IdbDatabase>('open', ms, (resolve, reject) => {
      const req = f.open(name, DB_VERSION);
      req.onupgradeneeded = () => {
        const d = req.result;
        if (!d.objectStoreNames.contains(OBJECT_STORE)) d.createObjectStore(OBJECT_STORE);
      };
      req.onsuccess = () => {
        // Opened after the deadline: nobody will use it, so let it go.
        if (late) req.result.close();
        else resolve(req.result);
      };
      // Blocked (another tab holds the database open while it is being deleted or
      // upgraded): no handler, the open waits for that tab, up to the deadline.
      req.onerror = () => reject(failure('open', req.error));
    }).catch((e: unknown) => {
      late = true;
      throw e;
    });
  }

  /** Deletes the profile database `name` (no error when there is none). */
  static async destroy(name: string, options: IndexedDbStoreOptions = {}): Promise<void> {
    checkName(name);
    const f = factoryOf(options);
    const ms = checkTimeout(options.timeoutMs ?? INDEXEDDB_TIMEOUT_MS);
    await withDeadline<void>('delete of the database', ms, (resolve, reject) => {
      const req = f.deleteDatabase(name);
      req.onsuccess = () => resolve();
      req.onerror = () => reject(failure('delete of the database', req.error));
    });
  }

  async read(record: ProfileRecord): Promise<string | undefined> {
    checkRecord(record);
    this.#open();
    return withDeadline<string | undefined>('read', this.#timeoutMs, (resolve, reject) => {
      const tx = this.#db.transaction(OBJECT_STORE, 'readonly');
      const req = tx.objectStore(OBJECT_STORE).get(record);
      req.onsuccess = () => resolve(typeof req.result === 'string' ? req.result : undefined);
      req.onerror = () => reject(failure('read', req.error));
      tx.onabort = () => reject(failure('read', tx.error));
    });
  }

  async write(record: ProfileRecord, text: string): Promise<void> {
    checkRecord(record);
    if (typeof text !== 'string') throw new HushwireError(ErrorCode.BAD_REQUEST, 'a profile record is a string');
    this.#open();
    return this.#change('write', (s) => s.put(text, record));
  }

  async delete(record: ProfileRecord): Promise<void> {
    checkRecord(record);
    this.#open();
    return this.#change('delete', (s) => s.delete(record));
  }

  /** Releases the database; idempotent. Later reads and writes fail BAD_REQUEST. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
    this.#lock?.release();
  }

  /**
   * Another tab deletes or upgrades the database: closed at once (that tab waits for it),
   * but the profile's lock is let go only once the lock manager has answered a query.
   * The tab deleting it is usually the one that stole the profile first (take over,
   * unregister, destroy), and the browser may run this event before it tells this page
   * of the steal: Chromium does when the page was busy meanwhile (a loaded machine), as
   * its IndexedDB and Web Locks messages come on separate channels. Letting go at once
   * then settled the lock's request as released, the steal was never heard and
   * onLockLost never ran. The lock manager reports a steal before it answers a query
   * asked after it, so waiting for that answer lets the steal arrive first (and call
   * onLockLost); without a steal the lock goes as before. No answer within the store's
   * `timeoutMs`: the lock goes then.
   */
  #versionChange(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
    const lock = this.#lock;
    const locks = this.#locks;
    if (lock === null) return;
    if (locks === undefined || typeof locks.query !== 'function') {
      lock.release();
      return;
    }
    let answered: Promise<unknown>;
    try {
      answered = Promise.resolve(locks.query());
    } catch {
      answered = Promise.resolve();
    }
    // Within the store's timeoutMs: a lock manager that never answered would otherwise
    // hold the profile's lock for the life of the page, and every other tab's open with it.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.#timeoutMs); });
    Promise.race([answered, late]).then(() => lock.release(), () => lock.release()).finally(() => clearTimeout(timer));
  }

  /** Another tab stole the profile's lock: closed, and every later call says why. */
  #lose(): void {
    this.#closedWhy = 'this profile was taken over by another tab or window (IndexedDbStore exclusive)';
    this.close();
  }

  /**
   * The Web Lock of one record that every client of the profile rewrites whole after
   * merging in the others' changes (SHARED_RECORDS: `keys.json`, `state.json`; see
   * withRecordLock): with `exclusive: false` two tabs, or a tab and a worker, may use one
   * profile, and without it a save whose read came before another's write and whose
   * write came after undid it. Waited for up to the store's `timeoutMs` (then TIMEOUT,
   * and the save is not made); where the platform has no Web Locks, a lock that holds
   * nothing. Released by the save (idempotent).
   */
  async lockRecord(record: ProfileRecord): Promise<ProfileLock> {
    checkSharedRecord(record);
    this.#open();
    const locks = this.#locks;
    if (locks === undefined) return NO_LOCK;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => { release = resolve; });
    const abort = typeof AbortController === 'function' ? new AbortController() : null;
    let late = false;
    await withDeadline<void>(`lock of ${record}`, this.#timeoutMs, (resolve, reject) => {
      locks.request(RECORD_LOCK_PREFIX + this.#name + ':' + record, abort ? { signal: abort.signal } : {}, () => {
        // Granted after the deadline (no AbortController here, or a race with the
        // abort): nobody waits for it any more, so it goes at once.
        if (late) return null;
        resolve();
        return held;
      }).catch((e: unknown) => reject(failure(`lock of ${record}`, e as { name?: string })));
    }, () => {
      late = true;
      abort?.abort();
      return true;
    });
    let released = false;
    return {
      check: async () => {},
      release: async () => {
        if (released) return;
        released = true;
        release();
      },
    };
  }

  #open(): void {
    if (this.#closed) throw new HushwireError(ErrorCode.BAD_REQUEST, this.#closedWhy);
  }

  /**
   * One readwrite transaction; done at its `complete` (durable), not at the request's
   * success. At the deadline the transaction is aborted, so a write reported as failed
   * is never committed later (the SDK relies on that: a message whose state write
   * failed is redelivered and must not then be found recorded as seen); one that is
   * already committing cannot be aborted, and its own outcome settles the promise.
   */
  #change(what: string, op: (s: IdbObjectStore) => IdbRequest): Promise<void> {
    let tx: IdbTransaction | null = null;
    return withDeadline<void>(what, this.#timeoutMs, (resolve, reject) => {
      const t = this.#db.transaction(OBJECT_STORE, 'readwrite', { durability: 'strict' });
      tx = t;
      t.oncomplete = () => resolve();
      t.onerror = () => reject(failure(what, t.error));
      t.onabort = () => reject(failure(what, t.error));
      op(t.objectStore(OBJECT_STORE));
    }, () => {
      try {
        (tx as IdbTransaction | null)?.abort();
        return true;
      } catch {
        return false; // finished or committing: complete or error follows
      }
    });
  }
}
