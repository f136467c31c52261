// Where a handset's profile lives: the storage seam. The SDK keeps five records per
// device (six while a registration is unfinished), each a small JSON text that it reads
// whole and replaces whole:
//
//   device.json    SECRET  device id, Ed25519 identity and X25519 prekey key pairs, own
//                          number and route, the pinned OPRF public key (~700 bytes;
//                          up to ~6 KB with a pending and retired prekeys, client/prekeys.ts)
//   gateways.json          gateway URLs to rotate through
//   state.json             dedup state: recently seen envelope ids (10,000), per-peer
//                          sequence counters (up to ~1 MB)
//   routes.json            learned contact number -> route pairs (contacts' numbers;
//                          up to ~1 MB)
//   keys.json              contacts' device identity keys as accepted (trust on first
//                          use), held key changes and verified contacts (client/keybook.ts;
//                          contacts' numbers and routes; ~4 MB plus verified and
//                          held contacts' keys)
//   pending-device.json
//                  SECRET  the device id and key pairs of a registration whose register
//                          went out and that did not finish (client/register.ts): the
//                          next register() of the same number sends them again, so a
//                          device the relay may still list is rewritten, not added (~500
//                          bytes; gone once a registration finishes)
//
// On Node the profile is a private directory with one file per record
// (client/profile.ts, DirectoryStore); MemoryStore below keeps them in process memory
// (tests, ephemeral sessions); React Native and browser apps supply their own store.
// What a store must guarantee is in docs/CLIENT.md ("Using the SDK outside Node"): a
// record is replaced atomically (a read sees the old text or the new, never a mix, even
// after a crash), a write resolves only once it is durable, nothing else can read the
// records, and device.json goes where the platform keeps secrets.
import { HushwireError, ErrorCode } from '../relay/errors.ts';

export const DEVICE_RECORD = 'device.json';
export const GATEWAYS_RECORD = 'gateways.json';
export const STATE_RECORD = 'state.json';
export const ROUTES_RECORD = 'routes.json';
export const KEYS_RECORD = 'keys.json';
export const PENDING_DEVICE_RECORD = 'pending-device.json';

export type ProfileRecord = typeof DEVICE_RECORD | typeof GATEWAYS_RECORD | typeof STATE_RECORD | typeof ROUTES_RECORD | typeof KEYS_RECORD | typeof PENDING_DEVICE_RECORD;

/** Every record, in the order above. */
export const PROFILE_RECORDS: readonly ProfileRecord[] = [DEVICE_RECORD, GATEWAYS_RECORD, STATE_RECORD, ROUTES_RECORD, KEYS_RECORD, PENDING_DEVICE_RECORD];
/** Records that hold secret key material: keep them in the platform's secret storage. */
export const SECRET_RECORDS: readonly ProfileRecord[] = [DEVICE_RECORD, PENDING_DEVICE_RECORD];

/**
 * A profile's storage. The SDK never has two writes of one record in flight (it chains
 * them), reads a record only whole, and treats a rejected promise as "not saved" (a
 * received message whose dedup-state write fails is neither shown nor acknowledged, and
 * the write is retried; a failed route book write is retried by the next one; a failed
 * registration write fails the registration). Errors a store throws reach the
 * application as they are: they must not quote record contents.
 */
export interface ProfileStore {
  /** The record's text, or undefined when there is none. */
  read(record: ProfileRecord): Promise<string | undefined>;
  /** Replaces the record atomically; resolves once the new text is durable. */
  write(record: ProfileRecord, text: string): Promise<void>;
  /** Removes the record; resolves (no error) when there is none. */
  delete(record: ProfileRecord): Promise<void>;
}

/**
 * Held while a profile's identity changes (a registration writing device.json, an opt-out
 * deleting it), so that two processes never do it at once on one profile. A store that
 * other processes can share (DirectoryStore) provides it; see lockIdentity.
 */
export interface ProfileLock {
  /** Rejects BAD_REQUEST when the lock was lost meanwhile (this process stalled so long
   *  that another one took the lock over as left by a dead process): to be called right
   *  before the change is written. */
  check(): Promise<void>;
  /** Lets the lock go. Idempotent; never rejects. */
  release(): Promise<void>;
}

/** A lock that holds nothing: for stores one process has to itself. */
export const NO_LOCK: ProfileLock = Object.freeze({ async check() {}, async release() {} });

/** The records that every process using a profile may rewrite whole (the dedup state
 *  and send sequence numbers of a `send` beside a `listen`; the key book's decisions of
 *  a `verify-contact` beside them): each rewrite merges in what the record holds now,
 *  under the record's lock (lockRecord). */
export const SHARED_RECORDS = [KEYS_RECORD, STATE_RECORD] as const satisfies readonly ProfileRecord[];

/** BAD_REQUEST for a record that is not one of SHARED_RECORDS (a store's lockRecord). */
export function checkSharedRecord(record: ProfileRecord): void {
  checkRecord(record);
  if (!(SHARED_RECORDS as readonly string[]).includes(record)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'not a shared profile record');
}

/**
 * What a store may offer so that a shared record's rewrite need not read the record to
 * learn that no other process wrote it (rewriteSharedRecord): a method
 * `version(record): Promise<string | undefined>`, cheap next to a read, resolving to a
 * token of the record as it is now (undefined when there is none). A token this store
 * returned must never be returned again once the record was written or deleted since,
 * by any process: equal tokens mean the very same write. DirectoryStore has it (a stat:
 * client/profile.ts); a store without it (MemoryStore, IndexedDbStore) is read each time.
 */
export function recordVersion(store: ProfileStore, record: ProfileRecord): Promise<string | undefined> | undefined {
  const version = (store as { version?: unknown }).version;
  return typeof version === 'function' ? (version as (r: ProfileRecord) => Promise<string | undefined>).call(store, record) : undefined;
}

/**
 * Runs `update` (read the record, merge, write it) holding the record's lock when the
 * store has one (a method `lockRecord(record): Promise<ProfileLock>`: DirectoryStore's
 * lock directories for processes sharing a profile directory, IndexedDbStore's Web Locks
 * for tabs sharing one with `exclusive: false`); a store without it (MemoryStore: one
 * process) just runs it. Without the lock two processes' read-merge-writes could
 * interleave (both read, both write): the second write, built on a read that missed
 * the first, undid it.
 */
export async function withRecordLock<T>(store: ProfileStore, record: (typeof SHARED_RECORDS)[number], update: () => Promise<T>): Promise<T> {
  const take = (store as { lockRecord?: unknown }).lockRecord;
  const lock = typeof take === 'function' ? await (take as (r: ProfileRecord) => Promise<ProfileLock>).call(store, record) : NO_LOCK;
  try {
    return await update();
  } finally {
    await lock.release();
  }
}

/** What rewriteSharedRecord remembers of this process's last write of a record. */
export interface WrittenRecord {
  /** The text once the write succeeded; null while the record is unknown (a failed write). */
  text: string | null;
  /** The store's version of the record right after that write (recordVersion), when the
   *  store has versions. */
  version?: string | undefined;
}

/**
 * Rewrites a shared record (ProfileState's state.json, KeyBook's keys.json) under its
 * lock: unless the record is still as this process last wrote it (`written`: no other
 * process wrote since) has `merge` take in what it holds; writes `serialize()` (checking
 * the device when `deviceHex` is given: writeForDevice). Whether it is still so: its
 * version, when the store has versions (recordVersion) and it equals the one taken after
 * that write; else (no versions, or another version) the record is read and compared
 * with `written.text`. The read is what a version spares: ~0.7 ms of CPU per save of a
 * state.json holding 10,000 ids on a DirectoryStore (docs/CLIENT.md, Profiles).
 */
export function rewriteSharedRecord(
  store: ProfileStore, record: (typeof SHARED_RECORDS)[number], deviceHex: string | null,
  written: WrittenRecord, merge: (stored: string | undefined) => void, serialize: () => string,
): Promise<void> {
  return withRecordLock(store, record, async () => {
    const known = written.text !== null && written.version !== undefined;
    const unchanged = known && (await versionOrNone(store, record)) === written.version;
    if (!unchanged) {
      const stored = await store.read(record);
      if (stored !== written.text) merge(stored);
    }
    const text = serialize();
    written.text = null;
    written.version = undefined;
    await (deviceHex !== null ? writeForDevice(store, record, text, deviceHex) : store.write(record, text));
    // Taken still holding the lock: no other process can have written since.
    written.version = await versionOrNone(store, record);
    written.text = text;
  });
}

/** recordVersion, undefined when it fails (the record is then read, as without versions). */
async function versionOrNone(store: ProfileStore, record: ProfileRecord): Promise<string | undefined> {
  try {
    return await recordVersion(store, record);
  } catch {
    return undefined;
  }
}

/**
 * Takes the profile's identity lock when the store has one (a method
 * `lockIdentity(): Promise<ProfileLock>`, which DirectoryStore has); a store without it
 * (MemoryStore: one process; IndexedDbStore: its Web Lock keeps other tabs out already)
 * gets a lock that holds nothing. Within one process the callers keep their own guard.
 */
export function lockIdentity(store: ProfileStore): Promise<ProfileLock> {
  const take = (store as { lockIdentity?: unknown }).lockIdentity;
  if (typeof take === 'function') return (take as () => Promise<ProfileLock>).call(store);
  return Promise.resolve(NO_LOCK);
}

/** Refuses a name that is not one of PROFILE_RECORDS (BAD_REQUEST): for every store. */
export function checkRecord(record: unknown): asserts record is ProfileRecord {
  if (!(PROFILE_RECORDS as readonly unknown[]).includes(record)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'unknown profile record');
  }
}

/**
 * A profile in process memory: gone with the process (or the object). For tests and
 * ephemeral sessions; a handset app that must survive a restart needs a durable store.
 */
export class MemoryStore implements ProfileStore {
  private readonly records = new Map<ProfileRecord, string>();

  async read(record: ProfileRecord): Promise<string | undefined> {
    checkRecord(record);
    return this.records.get(record);
  }

  async write(record: ProfileRecord, text: string): Promise<void> {
    checkRecord(record);
    if (typeof text !== 'string') throw new HushwireError(ErrorCode.BAD_REQUEST, 'a profile record is a string');
    this.records.set(record, text);
  }

  async delete(record: ProfileRecord): Promise<void> {
    checkRecord(record);
    this.records.delete(record);
  }

  /** The records present (names only). */
  get size(): number {
    return this.records.size;
  }
}

/** For the dedup state and the route book: `device` (the id of the device they belong
 *  to) makes each save check that the profile still holds that device's record
 *  (writeForDevice). An open client sets it; a bare ProfileState or RouteBook (tests,
 *  tools, a registration under the profile's lock) writes without the check. */
export interface DeviceBound {
  device?: Uint8Array;
}

/**
 * Writes a record that belongs to a registered device (the dedup state, the route book),
 * checking that the profile's device record is still that device's (`deviceHex`, its id
 * in hex). Another process may opt the profile out while this one still reads it (a
 * `hushwire listen` beside `hushwire unregister`): removeDevice deletes these records,
 * then the device record, then these records again. Or it may forget the profile and
 * register another device in it (`unregister --forget-locally`, then `register`).
 *
 * Checked before the write: a profile that holds no device or another device's record
 * is not written at all (the other device's records stay as they are). Checked again
 * after the write, which closes the race with an opt-out: a check that still saw the
 * device record ran before that record's delete, so the write landed before the second
 * pass removes it; a check that saw none (or another device) removes what was written.
 * Either failure rejects NOT_REGISTERED. It costs two reads of the device record per
 * save (saves coalesce: a burst of messages makes one or two).
 */
export async function writeForDevice(store: ProfileStore, record: ProfileRecord, text: string, deviceHex: string): Promise<void> {
  if (!await holdsDevice(store, deviceHex)) throw notThisDevice();
  await store.write(record, text);
  let holds: boolean;
  try {
    holds = await holdsDevice(store, deviceHex);
  } catch {
    // The check after the write could not be made (the store failed just then): the
    // write has landed, and the check before it found the device. Rejecting now would
    // make the caller take as not saved a record that is (a received message's id on
    // disk: not shown now, and its redelivery dropped as seen in the next session). An
    // opt-out running this very moment still deletes the record in its second pass,
    // unless this write landed after that pass.
    return;
  }
  if (holds) return;
  await store.delete(record);
  throw notThisDevice();
}

async function holdsDevice(store: ProfileStore, deviceHex: string): Promise<boolean> {
  const text = await store.read(DEVICE_RECORD);
  if (text === undefined) return false;
  try {
    const raw: unknown = JSON.parse(text);
    return typeof raw === 'object' && raw !== null && (raw as { device?: unknown }).device === deviceHex;
  } catch {
    return false; // not a record this device wrote
  }
}

function notThisDevice(): HushwireError {
  return new HushwireError(ErrorCode.NOT_REGISTERED, 'not registered: this profile no longer holds this device (opted out, or another device registered in it, meanwhile); nothing was kept');
}

/** Whether `v` has a ProfileStore's three methods (the check open() and register() make). */
export function isProfileStore(v: unknown): v is ProfileStore {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return typeof s.read === 'function' && typeof s.write === 'function' && typeof s.delete === 'function';
}
