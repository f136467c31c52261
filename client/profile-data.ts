// What a handset profile holds and how each record is written and read back, whatever
// the store (client/store.ts: a directory on Node, the app's own storage elsewhere):
//
//   device.json    device id, identity and prekey key pairs, own number, route,
//                  pinned OPRF public key (all bytes as lowercase hex)
//   gateways.json  gateway URLs to rotate through
//   state.json     dedup state: recently seen envelope ids, per-peer sequences
//   routes.json    learned number -> route pairs (client/routes.ts)
//   pending-device.json
//                  a registration that went out and did not finish: its number, device
//                  id and key pairs (client/register.ts), gone once one finishes
//
// Every record is replaced whole (the store makes that atomic), so a crash never leaves
// a half-written key record or a dedup state that forgets what was shown.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { ROUTE_BYTES, DEVICE_BYTES } from '../relay/wire.ts';
import { SeenSet, BoundedCounters } from './dedup.ts';
import { DAMAGED_DEVICE_MESSAGE, mailboxAgeFromJson, mailboxAgeToJson, pendingFromJson, pendingToJson, retiredFromJson, retiredToJson, sinceFromJson, type PendingPrekey, type RetiredPrekey, type ToldMailboxAge } from './prekeys.ts';
import { markerFromJson, markerToJson, type OptOutMarker } from './opt-out-marker.ts';
import { DEVICE_RECORD, GATEWAYS_RECORD, STATE_RECORD, ROUTES_RECORD, KEYS_RECORD, PENDING_DEVICE_RECORD, rewriteSharedRecord, type DeviceBound, type WrittenRecord, type ProfileStore, type ProfileRecord } from './store.ts';

export const DEVICE_FILE = DEVICE_RECORD;
export const GATEWAYS_FILE = GATEWAYS_RECORD;
export const STATE_FILE = STATE_RECORD;
/** Learned number -> route pairs (client/routes.ts). */
export const ROUTES_FILE = ROUTES_RECORD;
export const KEYS_FILE = KEYS_RECORD;
/** The device of a registration that did not finish (PendingDevice). */
export const PENDING_DEVICE_FILE = PENDING_DEVICE_RECORD;

/** How many envelope ids (and peers' sequence counters) state.json remembers. */
export const SEEN_CAPACITY = 10_000;

export interface DeviceProfile {
  device: Uint8Array;          // 16 random bytes made at registration
  identitySecret: Uint8Array;  // Ed25519
  identityPublic: Uint8Array;
  prekeySecret: Uint8Array;    // X25519
  prekeyPublic: Uint8Array;
  number: string;              // own E.164 number, shown to recipients inside envelopes
  route: Uint8Array;           // OPRF-derived, checked against the pinned key
  oprfPublicKey: Uint8Array;   // pinned at registration
  registeredAt: string;        // ISO 8601
  /** When the current prekey became current (ms since the epoch); a profile written
   *  before prekey rotation has none: its registration time counts (prekeySinceOf). */
  prekeySince?: number;
  /** A new prekey saved before its set_prekey was answered (client/prekeys.ts). */
  pendingPrekey?: PendingPrekey;
  /** Former prekeys kept to open mail sealed to them, newest first (client/prekeys.ts). */
  retiredPrekeys?: RetiredPrekey[];
  /** The mailbox max age the gateways told (challenge mailbox_max_age_s), which keeps
   *  retired prekeys longer than prekeyRetentionMs (client/prekeys.ts). */
  mailboxMaxAge?: ToldMailboxAge;
  /** An opt-out sent whose outcome is not known (client/opt-out-marker.ts): times only. */
  optOut?: OptOutMarker;
}

// Exact lengths where the protocol fixes them; 0 = any length (key encodings belong to
// relay/crypto, and the profile must not break if it picks another encoding).
const KEY_FIELDS = {
  device: DEVICE_BYTES,
  identitySecret: 0,
  identityPublic: 0,
  prekeySecret: 0,
  prekeyPublic: 0,
  route: ROUTE_BYTES,
  oprfPublicKey: 0,
} as const;

/** A record that cannot be read, said with what to do about it (routes.json and
 *  keys.json are read as empty instead: client/routes.ts, client/keybook.ts). */
export function damaged(record: string): HushwireError {
  if (record === DEVICE_FILE) return new HushwireError(ErrorCode.BAD_REQUEST, DAMAGED_DEVICE_MESSAGE);
  const what = record === STATE_FILE
    ? ': delete it to start again without the record of the messages already shown (one the relay delivers again may then be shown twice)'
    : record === GATEWAYS_FILE
      ? ': write it again, {"version":1,"gateways":["wss://..."]} with the gateway URLs the profile was registered with'
      : '';
  return new HushwireError(ErrorCode.BAD_REQUEST, `profile file ${record} is damaged${what}`);
}

async function readJson(store: ProfileStore, record: ProfileRecord): Promise<unknown | undefined> {
  const text = await store.read(record);
  if (text === undefined) return undefined;
  if (typeof text !== 'string') throw damaged(record);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw damaged(record);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hexField(obj: Record<string, unknown>, name: string, len: number): Uint8Array {
  const v = obj[name];
  if (typeof v !== 'string' || v.length === 0 || v.length % 2 !== 0 || !/^[0-9a-f]+$/.test(v)) throw damaged(DEVICE_FILE);
  if (len !== 0 && v.length !== len * 2) throw damaged(DEVICE_FILE);
  return hexToBytes(v);
}

/** What notRegistered() says: the CLI tells it in a user's words (cli/errors.ts). */
export const NO_DEVICE_MESSAGE =
  'not registered: the profile given (profileDir or store; the CLI\'s --profile) holds no device (it was never registered, ' +
  'or it opted out): register one with HushwireClient.register (the CLI: hushwire register), or give the profile a registration made';

export function notRegistered(): HushwireError {
  return new HushwireError(ErrorCode.NOT_REGISTERED, NO_DEVICE_MESSAGE);
}

export async function writeDevice(store: ProfileStore, p: DeviceProfile): Promise<void> {
  const out: Record<string, unknown> = { version: 1 };
  for (const name of Object.keys(KEY_FIELDS) as (keyof typeof KEY_FIELDS)[]) {
    const len: number = KEY_FIELDS[name];
    if (p[name].length === 0 || (len !== 0 && p[name].length !== len)) throw new HushwireError(ErrorCode.BAD_REQUEST, `${name} has the wrong length`);
    out[name] = bytesToHex(p[name]);
  }
  out.number = p.number;
  out.registeredAt = p.registeredAt;
  if (p.prekeySince !== undefined) out.prekeySince = new Date(p.prekeySince).toISOString();
  if (p.pendingPrekey !== undefined) out.pendingPrekey = pendingToJson(p.pendingPrekey);
  if (p.retiredPrekeys !== undefined && p.retiredPrekeys.length > 0) out.retiredPrekeys = retiredToJson(p.retiredPrekeys);
  if (p.mailboxMaxAge !== undefined) out.mailboxMaxAge = mailboxAgeToJson(p.mailboxMaxAge);
  if (p.optOut !== undefined) out.optOut = markerToJson(p.optOut);
  await store.write(DEVICE_FILE, JSON.stringify(out, null, 2) + '\n');
}

/** Reads device.json; HushwireError NOT_REGISTERED ("not registered") when there is none. */
export async function readDevice(store: ProfileStore): Promise<DeviceProfile> {
  const raw = await readJson(store, DEVICE_FILE);
  if (raw === undefined) throw notRegistered();
  if (!isRecord(raw) || raw.version !== 1) throw damaged(DEVICE_FILE);
  if (typeof raw.number !== 'string' || !/^\+[1-9][0-9]{1,14}$/.test(raw.number)) throw damaged(DEVICE_FILE);
  // Written by prekey rotation; a profile from before it has none of them (and reads
  // as it did: without these fields).
  const prekeySince = sinceFromJson(raw.prekeySince);
  const pendingPrekey = pendingFromJson(raw.pendingPrekey);
  const retiredPrekeys = retiredFromJson(raw.retiredPrekeys);
  const mailboxMaxAge = mailboxAgeFromJson(raw.mailboxMaxAge);
  const optOut = markerFromJson(raw.optOut);
  return {
    device: hexField(raw, 'device', KEY_FIELDS.device),
    identitySecret: hexField(raw, 'identitySecret', KEY_FIELDS.identitySecret),
    identityPublic: hexField(raw, 'identityPublic', KEY_FIELDS.identityPublic),
    prekeySecret: hexField(raw, 'prekeySecret', KEY_FIELDS.prekeySecret),
    prekeyPublic: hexField(raw, 'prekeyPublic', KEY_FIELDS.prekeyPublic),
    route: hexField(raw, 'route', KEY_FIELDS.route),
    oprfPublicKey: hexField(raw, 'oprfPublicKey', KEY_FIELDS.oprfPublicKey),
    number: raw.number,
    registeredAt: typeof raw.registeredAt === 'string' ? raw.registeredAt : '',
    ...(prekeySince !== undefined ? { prekeySince } : {}),
    ...(pendingPrekey !== undefined ? { pendingPrekey } : {}),
    ...(retiredPrekeys.length > 0 ? { retiredPrekeys } : {}),
    ...(mailboxMaxAge !== undefined ? { mailboxMaxAge } : {}),
    ...(optOut !== undefined ? { optOut } : {}),
  };
}

/** The device a registration sent in its `register` (client/register.ts), kept until a
 *  registration of the profile finishes: the relay may list it (a directory write that
 *  landed, its answer lost; a registration finished there whose answer never came back)
 *  until the gateway removes it in the background, so the next registration of the same
 *  number sends this same device again, which rewrites it instead of adding one. */
export interface PendingDevice {
  number: string;
  device: Uint8Array;
  identitySecret: Uint8Array;
  identityPublic: Uint8Array;
  prekeySecret: Uint8Array;
  prekeyPublic: Uint8Array;
}

export async function writePendingDevice(store: ProfileStore, p: PendingDevice): Promise<void> {
  const out = {
    version: 1,
    number: p.number,
    device: bytesToHex(p.device),
    identitySecret: bytesToHex(p.identitySecret),
    identityPublic: bytesToHex(p.identityPublic),
    prekeySecret: bytesToHex(p.prekeySecret),
    prekeyPublic: bytesToHex(p.prekeyPublic),
  };
  await store.write(PENDING_DEVICE_FILE, JSON.stringify(out, null, 2) + '\n');
}

/** pending-device.json, or undefined when there is none or it cannot be read (a damaged
 *  one is no loss: the registration makes a fresh device instead, as without it). */
export async function readPendingDevice(store: ProfileStore): Promise<PendingDevice | undefined> {
  let raw: unknown;
  try {
    raw = await readJson(store, PENDING_DEVICE_FILE);
  } catch {
    return undefined;
  }
  if (!isRecord(raw) || raw.version !== 1 || typeof raw.number !== 'string') return undefined;
  const hex = (name: string, len: number): Uint8Array | undefined => {
    const v = raw[name];
    if (typeof v !== 'string' || v.length === 0 || v.length % 2 !== 0 || !/^[0-9a-f]+$/.test(v) || (len !== 0 && v.length !== len * 2)) return undefined;
    return hexToBytes(v);
  };
  const device = hex('device', DEVICE_BYTES);
  const identitySecret = hex('identitySecret', 0);
  const identityPublic = hex('identityPublic', 0);
  const prekeySecret = hex('prekeySecret', 0);
  const prekeyPublic = hex('prekeyPublic', 0);
  if (!device || !identitySecret || !identityPublic || !prekeySecret || !prekeyPublic) return undefined;
  return { number: raw.number, device, identitySecret, identityPublic, prekeySecret, prekeyPublic };
}

/** Removes the device keys, dedup state and learned routes (opt-out); keeps
 *  gateways.json. Idempotent. */
export async function removeDevice(store: ProfileStore): Promise<void> {
  // A pending device left by a registration (its removal failed after it finished): an
  // opt-out leaves nothing of the device for a later registration to send again.
  await store.delete(PENDING_DEVICE_FILE);
  // The device record last: a delete that fails part-way leaves a profile that is still
  // registered locally, so unregister() again (or the CLI's --forget-locally, which
  // needs a device record) can finish; the other way round, contacts' numbers in
  // routes.json could outlive a profile no command takes for registered any more.
  for (const record of [STATE_FILE, ROUTES_FILE, KEYS_FILE, DEVICE_FILE] as const) await store.delete(record);
  // Once more after the device record: another process using the profile (a `listen`
  // that received meanwhile) may have written them back in between. A save that ends
  // after this finds no device record and deletes what it wrote (writeForDevice).
  for (const record of [STATE_FILE, ROUTES_FILE, KEYS_FILE] as const) await store.delete(record);
}

const WS_URL = /^wss?:\/\/[^\s/?#@]+(?:[/?#]\S*)?$/i;

/** Accepts ws:// and wss:// URLs only; anything else is a user typo worth stopping at. */
export function checkGatewayUrl(url: string): string {
  const invalid = () => new HushwireError(ErrorCode.BAD_REQUEST, 'gateway URL is not a valid URL');
  const notWs = () => new HushwireError(ErrorCode.BAD_REQUEST, 'gateway URL must start with ws:// or wss://');
  if (typeof url !== 'string') throw invalid();
  const byHand = (): string => {
    if (WS_URL.test(url)) return url;
    throw /^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(url) ? notWs() : invalid();
  };
  if (typeof URL !== 'function') return byHand();
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid();
  }
  let protocol: string;
  try {
    protocol = u.protocol;
  } catch {
    // React Native's URL parses but implements few getters: check the form by hand there.
    return byHand();
  }
  if (protocol !== 'ws:' && protocol !== 'wss:') throw notWs();
  return u.toString();
}

export async function writeGateways(store: ProfileStore, urls: string[]): Promise<void> {
  if (urls.length === 0) throw new HushwireError(ErrorCode.BAD_REQUEST, 'at least one gateway URL is required');
  await store.write(GATEWAYS_FILE, JSON.stringify({ version: 1, gateways: urls.map(checkGatewayUrl) }, null, 2) + '\n');
}

/** What readGateways() says when there is no gateways.json: the CLI tells it in a
 *  user's words (cli/errors.ts). */
export const NO_GATEWAYS_MESSAGE =
  'the profile (profileDir or store) has no gateway list (gateways.json, which a registration writes): ' +
  'pass the gateways to open (ClientOptions.gateways), or register the profile (HushwireClient.register, hushwire register)';

export async function readGateways(store: ProfileStore): Promise<string[]> {
  const raw = await readJson(store, GATEWAYS_FILE);
  if (raw === undefined) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, NO_GATEWAYS_MESSAGE);
  }
  if (!isRecord(raw) || !Array.isArray(raw.gateways) || raw.gateways.length === 0) throw damaged(GATEWAYS_FILE);
  return raw.gateways.map((g) => {
    if (typeof g !== 'string') throw damaged(GATEWAYS_FILE);
    return checkGatewayUrl(g);
  });
}

/**
 * What this process changed in the dedup state since its last write that took the
 * change along: the merge with the stored record (ProfileState.merge) keeps these and
 * takes everything else from the record, in the record's order. Without it a merge
 * could not tell an id this process let go (evicted from a full set, or forgotten after
 * its write failed) from one another process recorded, and took it back.
 */
interface Changes {
  /** Ids added here and not yet written, oldest first. */
  added: Set<string>;
  /** Ids forgotten here (a failed write's, client/inbox.ts) that the record may still
   *  hold (that write may have landed before it failed): not taken from it. */
  forgotten: Set<string>;
  /** Peers whose counter changed here and not yet written, and how many times (so that a
   *  change made while a write is under way stays marked after it). */
  recv: Map<string, number>;
  send: Map<string, number>;
  /** Off while a merge rebuilds the sets. */
  on: boolean;
}

/** A SeenSet that notes adds and deletes in `changes`. */
class TrackedSeenSet extends SeenSet {
  #changes: Changes | null = null;

  track(changes: Changes): void {
    this.#changes = changes;
  }

  override add(id: string, evicted?: string[]): boolean {
    const added = super.add(id, evicted);
    const c = this.#changes;
    if (added && c?.on) {
      c.forgotten.delete(id);
      c.added.add(id);
      // Bounded like the set: ids it evicted meanwhile leave the notes too.
      if (c.added.size > this.capacity * 2) for (const old of c.added) if (!this.has(old)) c.added.delete(old);
    }
    return added;
  }

  override delete(id: string): void {
    super.delete(id);
    const c = this.#changes;
    if (c?.on) {
      c.added.delete(id);
      c.forgotten.add(id);
      if (c.forgotten.size > this.capacity) c.forgotten.delete(c.forgotten.values().next().value as string);
    }
  }
}

/** BoundedCounters that note which keys changed in `changes[which]`. */
class TrackedCounters extends BoundedCounters {
  #changes: Changes | null = null;
  #which: 'recv' | 'send' = 'recv';

  track(changes: Changes, which: 'recv' | 'send'): void {
    this.#changes = changes;
    this.#which = which;
  }

  override set(key: string, value: number): void {
    super.set(key, value);
    const c = this.#changes;
    if (c?.on) {
      const m = c[this.#which];
      m.set(key, (m.get(key) ?? 0) + 1);
      if (m.size > this.capacity * 2) for (const k of m.keys()) if (this.get(k) === undefined) m.delete(k);
    }
  }
}

/**
 * Dedup and sequence state. Mutate in memory, then save(); saves coalesce, so a burst
 * of deliveries costs one or two writes, and every save() promise resolves only once a
 * write that includes the caller's changes is durable.
 */
export class ProfileState {
  readonly store: ProfileStore;
  readonly seen: SeenSet;
  /** Next expected seq per sender device (`senderRouteHex:senderDeviceHex`). */
  readonly recvSeq: BoundedCounters;
  /** Next seq to use per recipient device (`routeHex:deviceHex`). */
  readonly sendSeq: BoundedCounters;
  /** The id (hex) of the device these records belong to: saves check that the profile
   *  still holds it (writeForDevice). null: saves write without the check. */
  readonly deviceHex: string | null;
  private tail: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  readonly #changes: Changes = { added: new Set(), forgotten: new Set(), recv: new Map(), send: new Map(), on: true };
  /** The text this state last wrote, and the store's version of it: a record still so
   *  (rewriteSharedRecord) was written by no other process since, and needs no merge
   *  (parsing and merging 10,000 ids at every save quadrupled a reader's CPU per
   *  received message). */
  readonly #written: WrittenRecord = { text: null };

  constructor(store: ProfileStore, data: { seen?: string[]; recvSeq?: Record<string, number>; sendSeq?: Record<string, number> } = {}, capacity = SEEN_CAPACITY, opts: DeviceBound = {}) {
    this.store = store;
    this.deviceHex = opts.device === undefined ? null : bytesToHex(opts.device);
    // Filled before the notes start (the subclasses' fields do not exist yet while the
    // base constructor runs): what it was made with is what the record held, not a change.
    const seen = new TrackedSeenSet(capacity);
    const recvSeq = new TrackedCounters(capacity);
    const sendSeq = new TrackedCounters(capacity);
    seen.replace(data.seen ?? []);
    recvSeq.replace(Object.entries(data.recvSeq ?? {}).filter(([, v]) => Number.isSafeInteger(v) && v >= 0));
    sendSeq.replace(Object.entries(data.sendSeq ?? {}).filter(([, v]) => Number.isSafeInteger(v) && v >= 0));
    seen.track(this.#changes);
    recvSeq.track(this.#changes, 'recv');
    sendSeq.track(this.#changes, 'send');
    this.seen = seen;
    this.recvSeq = recvSeq;
    this.sendSeq = sendSeq;
  }

  toJSON(): object {
    return { version: 1, seen: this.seen.toArray(), recvSeq: this.recvSeq.toObject(), sendSeq: this.sendSeq.toObject() };
  }

  save(): Promise<void> {
    if (this.queued) return this.queued;
    // `.then` runs asynchronously, so `queued` is set before the snapshot is taken;
    // changes made until the snapshot ride along with this write.
    const q = this.tail.then(() => {
      this.queued = null;
      // Other processes on the profile rewrite it too (a `send` beside a `listen`): what
      // they wrote since this state was read is taken in first, under the record's lock,
      // so this write neither forgets ids the reader recorded (a message it showed could
      // be shown again after a redelivery) nor sequence numbers the sender used.
      const c = this.#changes;
      let added: string[] = [];
      let forgotten: string[] = [];
      let recv = new Map<string, number>();
      let send = new Map<string, number>();
      return rewriteSharedRecord(this.store, STATE_FILE, this.deviceHex, this.#written, (stored) => this.merge(stored), () => {
        // The changes this text carries: once it is written they are the record's.
        added = [...c.added];
        forgotten = [...c.forgotten];
        recv = new Map(c.recv);
        send = new Map(c.send);
        return JSON.stringify(this.toJSON()) + '\n';
      }).then(() => {
        for (const id of added) c.added.delete(id);
        for (const id of forgotten) if (!this.seen.has(id)) c.forgotten.delete(id);
        for (const [mine, done] of [[c.recv, recv], [c.send, send]] as const) {
          for (const [key, n] of done) if (mine.get(key) === n) mine.delete(key);
        }
      });
    });
    this.queued = q;
    this.tail = q.catch(() => {});
    return q;
  }

  /**
   * Takes in what the record holds now (another process's ids and sequence numbers),
   * keeping what this process changed since its last write: the ids, in the record's
   * order, without those forgotten here, then the ids added here (only the youngest
   * beyond the bound); per peer the record's sequence number, or the higher of the two
   * for a peer whose number changed here. What this process let go stays gone: an id
   * evicted here is older than the ones added, so the bound drops it again. A missing
   * or damaged record adds nothing (the write replaces it).
   */
  private merge(text: string | undefined): void {
    if (text === undefined) return;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return;
    }
    if (!isRecord(raw)) return;
    const c = this.#changes;
    c.on = false;
    try {
      if (Array.isArray(raw.seen)) {
        const ids: string[] = [];
        for (const id of raw.seen) if (typeof id === 'string' && !c.forgotten.has(id) && !c.added.has(id)) ids.push(id);
        for (const id of this.seen.toArray()) if (c.added.has(id)) ids.push(id);
        this.seen.replace(ids);
      }
      for (const [mine, theirs, changed] of [[this.recvSeq, raw.recvSeq, c.recv], [this.sendSeq, raw.sendSeq, c.send]] as const) {
        if (!isRecord(theirs)) continue;
        const entries = new Map<string, number>();
        for (const [key, v] of Object.entries(theirs)) {
          if (Number.isSafeInteger(v) && (v as number) >= 0) entries.set(key, Math.max(v as number, mine.get(key) ?? 0));
        }
        for (const [key, v] of mine.entries()) {
          if (!changed.has(key)) continue;
          const stored = entries.get(key);
          entries.delete(key);
          entries.set(key, Math.max(v, stored ?? 0));
        }
        mine.replace(entries);
      }
    } finally {
      c.on = true;
    }
  }

  /** Waits for every save() issued so far. */
  async settled(): Promise<void> {
    await this.tail;
  }
}

export async function readState(store: ProfileStore, capacity = SEEN_CAPACITY, opts: DeviceBound = {}): Promise<ProfileState> {
  const raw = await readJson(store, STATE_FILE);
  if (raw === undefined) return new ProfileState(store, {}, capacity, opts);
  if (!isRecord(raw)) throw damaged(STATE_FILE);
  const seen = Array.isArray(raw.seen) ? raw.seen.filter((s): s is string => typeof s === 'string') : [];
  const counters = (v: unknown): Record<string, number> => (isRecord(v) ? (v as Record<string, number>) : {});
  return new ProfileState(store, { seen, recvSeq: counters(raw.recvSeq), sendSeq: counters(raw.sendSeq) }, capacity, opts);
}
