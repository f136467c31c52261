// keys.json: the identity keys of each contact's devices as this handset has accepted
// them (trust on first use), and which contacts the user verified by safety number.
//
// Why the handset keeps them: the directory that answers a lookup is run by the relay's
// operators. Sealed sender and HPKE keep contents from them only as long as the keys a
// sender seals to are the contact's own; a directory (or a gateway answering `lookup`)
// that listed a device of its own under a contact's route would be sealed to like any
// other device. The handset cannot prevent that, but it can notice it: every verified
// device list a lookup returns is compared with the keys accepted before, and a device
// that is new, or a known device id with another identity key, is a key change, told to
// the application (ClientOptions.onKeyChange). For a contact the user verified (compared
// safety numbers, relay/crypto/safety-number.ts), a change is held: sends to it are
// refused with IDENTITY_CHANGED until the user looks again (acceptContactKeys, or
// verifyContact with the new number). A device that left the directory is only
// forgotten: sealing to fewer devices gives nobody anything.
//
// Trust on first use: the first list seen for a route is accepted as it is, so an
// attack that is in place before the first lookup is only caught by comparing safety
// numbers. This is the model Signal's clients use, and the reason verification exists.
//
// The record is handset-local and as sensitive as routes.json (contacts' numbers and
// routes): written through the profile's store with the device check (writeForDevice),
// erased at opt-out (client/profile-data.ts removeDevice). Bounded (KEYS_CAPACITY
// contacts, KEYS_DEVICE_CAPACITY device keys over those neither verified nor held; past
// either the least recently used contact that is neither verified nor held goes first,
// so filling the book cannot be used to drop a hold), replaced whole after
// taking in what another process using the profile decided since (KeyBook.merge).
import { bytesToHex } from '@noble/hashes/utils.js';
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { ROUTE_BYTES, DEVICE_BYTES } from '../relay/wire.ts';
import { KEYS_RECORD, rewriteSharedRecord, type DeviceBound, type ProfileStore, type WrittenRecord } from './store.ts';
import { MAX_LISTED_DEVICES, type VerifiedDevice } from './discovery.ts';

export const KEYS_CAPACITY = 10_000;
/** Device keys kept over the contacts that are neither verified nor held (nor this
 *  handset's own): about 4 MB of keys.json (some 100 bytes a device). Without it a directory
 *  listing 64 devices under every number the handset looks up (a forged sender's message
 *  makes it look one up) would grow the record to some 65 MB, rewritten whole at every
 *  change. */
export const KEYS_DEVICE_CAPACITY = 40_000;
/** Devices kept per contact: far above a directory's per-route limit (default 5), and
 *  the most a lookup answer may list (client/discovery.ts refuses a longer one). */
export const MAX_DEVICES_PER_CONTACT = MAX_LISTED_DEVICES;

const HEX_ROUTE = new RegExp(`^[0-9a-f]{${ROUTE_BYTES * 2}}$`);
const HEX_DEVICE = new RegExp(`^[0-9a-f]{${DEVICE_BYTES * 2}}$`);
const HEX_KEY = /^[0-9a-f]{64}$/;
const E164 = /^\+[1-9][0-9]{7,14}$/;

/**
 * What a contact's keys are to this handset:
 * - `unverified`: accepted on first use (or after a change), never compared;
 * - `verified`: the user compared safety numbers for exactly these keys;
 * - `changed`: the directory lists keys the user has not accepted, and sends are held
 *   (refused with IDENTITY_CHANGED) until acceptContactKeys() or verifyContact().
 */
export type KeyStatus = 'unverified' | 'verified' | 'changed';

/**
 * Which key changes hold sends until the user accepts them:
 * - `verified` (default): those of contacts the user verified;
 * - `all`: every contact's (after the first list seen);
 * - `none`: none (changes are only told).
 */
export type KeyChangePolicy = 'verified' | 'all' | 'none';

/** A change of a contact's keys, as told to ClientOptions.onKeyChange. */
export interface KeyChange {
  /** The contact's number, when this handset has looked it up or heard from it; null
   *  for a route it knows only from earlier runs without the number. */
  number: string | null;
  /** The handset's own number: a device of this user's, not a contact. Never held. */
  own: boolean;
  /** Device ids (hex) the directory lists that were not accepted before. */
  added: string[];
  /** Device ids (hex) listed with another identity key than the one accepted. */
  changed: string[];
  /** Device ids (hex) accepted before that the directory no longer lists. */
  removed: string[];
  /** Whether the user had verified this contact before the change. */
  wasVerified: boolean;
  /** The contact's status now ("changed": sends are held). */
  status: KeyStatus;
}

interface Entry {
  number: string | null;
  /** Accepted: device hex -> identity key hex. */
  keys: Map<string, string>;
  /** Listed by the directory, not accepted (sends held while non-empty). */
  pending: Map<string, string>;
  verifiedAt: number | null;
  /** When the last change was seen (ms since the epoch). */
  changedAt: number | null;
  /** When the user last decided about these keys (accept, verify, unverify; ms since the
   *  epoch, increasing per entry): another process's later decision wins at a save. */
  decidedAt: number | null;
}

function sameMap(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function listed(devices: readonly VerifiedDevice[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const d of devices) {
    if (m.size >= MAX_DEVICES_PER_CONTACT) break;
    m.set(bytesToHex(d.device), bytesToHex(d.identityKey));
  }
  return m;
}

export function identityChanged(message = 'this contact\'s keys changed since you accepted or verified them: compare safety numbers again (verifyContact), or accept the new keys (acceptContactKeys), before sending'): HushwireError {
  return new HushwireError(ErrorCode.IDENTITY_CHANGED, message);
}

export interface KeyBookOptions extends DeviceBound {
  policy?: KeyChangePolicy;
  /** Device keys kept over the contacts that may be dropped (KEYS_DEVICE_CAPACITY). */
  deviceCapacity?: number;
  /** This handset's own route: its entry is kept (another device of the user shows up
   *  as a change) but never held. */
  ownRoute?: Uint8Array;
  /** Whether the own route's first look is told (every other device listed then, as
   *  added). Default false: the first look takes the devices listed as the baseline
   *  (they were there before this device registered, e.g. the user's first phone), and
   *  only a device added after it is told. true after damage to keys.json lost the
   *  baseline (readKeyBook), and once noteOwnNewDevice() was called before the first look. */
  ownFirstLookTold?: boolean;
  /** The client is send-only (receive: false): the gateway's new_device notices reach
   *  receiving connections only, so this client cannot tell the devices listed at the
   *  own number's first look from a device registered after this one (an attacker's,
   *  between this device's registration and its first send). While the own number has no
   *  entry its looks keep no baseline: the first tells nothing, a later one of the same
   *  client tells what changed since (remembered in memory only); the first receiving
   *  client takes the baseline (or tells every other device, the notice having come
   *  first). Normally the own number has its entry from registration already
   *  (takeOwnBaseline): this applies only when that one was not kept. */
  ownBaselineDeferred?: boolean;
}

export class KeyBook {
  readonly store: ProfileStore;
  readonly capacity: number;
  readonly policy: KeyChangePolicy;
  readonly deviceCapacity: number;
  /** Id (hex) of the device the records belong to: saves check the profile still holds
   *  it (writeForDevice); null writes without the check. */
  readonly deviceHex: string | null;
  private readonly keyHex: string;
  private readonly ownHex: string | null;
  private ownFirstLookTold: boolean;
  private readonly ownBaselineDeferred: boolean;
  /** What the own number listed at this client's last look, while ownBaselineDeferred
   *  keeps no baseline (memory only; null before the first look). */
  private ownSeen: Map<string, string> | null = null;
  private readonly entries = new Map<string, Entry>();
  /** The device keys of the entries that may be dropped (weight()), kept up to date at
   *  every change so that a bound check costs nothing per lookup: a 10,000-contact sync
   *  summed them 10,000 times (1.3 s of CPU here, several on a phone). */
  private droppableKeys = 0;
  /** Numbers of routes not in the book yet (noteNumber before the first lookup). */
  private readonly names = new Map<string, string>();
  private tail: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  /** The text (and the store's version) this book last wrote (see save). */
  private readonly written: WrittenRecord = { text: null };

  constructor(store: ProfileStore, oprfPublicKey: Uint8Array, capacity = KEYS_CAPACITY, initial: unknown = undefined, opts: KeyBookOptions = {}) {
    this.store = store;
    this.capacity = capacity;
    this.policy = opts.policy ?? 'verified';
    this.deviceCapacity = opts.deviceCapacity ?? KEYS_DEVICE_CAPACITY;
    this.deviceHex = opts.device === undefined ? null : bytesToHex(opts.device);
    this.keyHex = bytesToHex(oprfPublicKey);
    this.ownHex = opts.ownRoute === undefined ? null : bytesToHex(opts.ownRoute);
    this.ownFirstLookTold = opts.ownFirstLookTold ?? false;
    this.ownBaselineDeferred = opts.ownBaselineDeferred ?? false;
    this.load(initial);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The gateway said another device registered this number (new_device): if the own
   *  number has no baseline yet, its first look tells every other device listed (one of
   *  them came after this device registered) instead of taking them as the baseline. */
  noteOwnNewDevice(): void {
    if (this.ownHex !== null && !this.entries.has(this.ownHex)) this.ownFirstLookTold = true;
  }

  /**
   * At registration (client/register.ts): the own number's baseline is the device list
   * the registering connection looked up right after the register (`devices`, this
   * device among them), replacing whatever the own number's entry held (an entry left in
   * the profile by an earlier registration). `alone`: the gateway said on that
   * connection that another device registered the number since this one did, so the list
   * may hold it: the baseline is this device alone, and the first look tells every other
   * device. A device listed after it is told (own: true, added) at the look that finds it,
   * whether or not the gateway sends its new_device notice. Resolves once keys.json is
   * written; nothing is kept without ownRoute and device.
   */
  takeOwnBaseline(devices: readonly VerifiedDevice[], number: string | null, alone: boolean, now = Date.now()): Promise<void> {
    if (this.ownHex === null || this.deviceHex === null) return Promise.resolve();
    const all = listed(devices);
    const mine = all.get(this.deviceHex);
    if (mine === undefined) return Promise.resolve();
    const keys = alone ? new Map([[this.deviceHex, mine]]) : all;
    const e = this.touch(this.ownHex);
    const name = number !== null && E164.test(number) ? number : e?.number ?? this.names.get(this.ownHex) ?? null;
    this.names.delete(this.ownHex);
    // decidedAt: this registration's baseline wins over the entry the record held (merge).
    this.put(this.ownHex, { number: name, keys, pending: new Map(), verifiedAt: null, changedAt: null, decidedAt: decided(e, now) });
    this.ownSeen = null;
    return this.save();
  }

  /** Remembers which number a route belongs to (for the change notices): on its entry,
   *  or until its first lookup in a bounded memory map. */
  noteNumber(route: Uint8Array, number: string): void {
    if (!E164.test(number)) return;
    const routeHex = bytesToHex(route);
    const e = this.entries.get(routeHex);
    if (!e) {
      this.names.delete(routeHex);
      this.names.set(routeHex, number);
      if (this.names.size > this.capacity) this.names.delete(this.names.keys().next().value!);
      return;
    }
    if (e.number === number) return;
    e.number = number;
    this.save().catch(() => {}); // a failure is told by the next save, which carries it too
  }

  /**
   * Compares a verified device list from the directory with the accepted keys and
   * records it: the first list of a route is accepted; later, removals are applied, and
   * additions or new identity keys are accepted or held by the policy. Returns the change
   * to tell the application, or null (nothing new; a held change already told is not
   * told again). `save` resolves once the record is written.
   */
  observe(route: Uint8Array, devices: readonly VerifiedDevice[], number: string | null = null, now = Date.now()): { change: KeyChange | null; save: Promise<void> } {
    const routeHex = bytesToHex(route);
    // The own number without a baseline, looked at by a send-only client: no baseline is
    // kept (ownBaselineDeferred), and the first look tells nothing. What it listed is
    // remembered in memory only, so that a device listed by a later look of this same
    // client (added since, as far as it saw) is told, as any change of the own number.
    if (routeHex === this.ownHex && this.ownBaselineDeferred && !this.entries.has(routeHex)) {
      if (number !== null && E164.test(number)) this.names.set(routeHex, number);
      const seenHere = listed(devices);
      const prev = this.ownSeen;
      this.ownSeen = seenHere;
      if (prev === null) return { change: null, save: Promise.resolve() };
      const gone = [...prev.keys()].filter((d) => !seenHere.has(d));
      const added: string[] = [];
      const changed: string[] = [];
      for (const [d, k] of seenHere) {
        const had = prev.get(d);
        if (had !== k) (had === undefined ? added : changed).push(d);
      }
      const change: KeyChange | null = added.length + changed.length + gone.length > 0
        ? { number: this.names.get(routeHex) ?? null, own: true, added, changed, removed: gone, wasVerified: false, status: 'unverified' }
        : null;
      return { change, save: Promise.resolve() };
    }
    const seen = listed(devices);
    const name = number !== null && E164.test(number) ? number : this.names.get(routeHex) ?? null;
    this.names.delete(routeHex);
    const e = this.touch(routeHex);
    if (!e) {
      this.put(routeHex, { number: name, keys: seen, pending: new Map(), verifiedAt: null, changedAt: null, decidedAt: null });
      // This user's own number: the devices listed at the first look are the baseline,
      // not told (the user's first phone, there before this device registered, is no
      // take-over; telling it alarmed every second phone's first listen). Told as added
      // (once) only when the baseline was lost (keys.json damaged) or the gateway said,
      // before this look, that another device registered the number since this one did.
      // A device listed after the baseline is told as for any route (below).
      const others = routeHex === this.ownHex && this.deviceHex !== null && this.ownFirstLookTold ? [...seen.keys()].filter((d) => d !== this.deviceHex) : [];
      const change: KeyChange | null = others.length > 0
        ? { number: name, own: true, added: others, changed: [], removed: [], wasVerified: false, status: 'unverified' }
        : null;
      return { change, save: this.save() };
    }
    const before = statusOf(e);
    const weightBefore = this.weight(routeHex, e);
    let dirty = false;
    if (name !== null && e.number !== name) {
      e.number = name;
      dirty = true;
    }
    const removed = [...e.keys.keys()].filter((d) => !seen.has(d));
    const added: string[] = [];
    const changed: string[] = [];
    const fresh = new Map<string, string>();
    for (const [d, k] of seen) {
      const had = e.keys.get(d);
      if (had === k) continue;
      fresh.set(d, k);
      (had === undefined ? added : changed).push(d);
    }
    const wasVerified = e.verifiedAt !== null;
    const own = routeHex === this.ownHex;
    for (const d of removed) e.keys.delete(d);
    // Told: devices gone, keys newly held or accepted, or the status moved (a held
    // device that left the directory again). A hold already told is not told again.
    let told = removed.length > 0;
    if (fresh.size === 0) {
      if (e.pending.size > 0) e.pending = new Map();
    } else if (!own && this.policy !== 'none' && (e.pending.size > 0 || this.policy === 'all' || (this.policy === 'verified' && wasVerified))) {
      // Held. The verification stays on the accepted keys: should the unaccepted ones
      // leave the directory again, the contact is what the user verified.
      if (!sameMap(e.pending, fresh)) {
        e.pending = fresh;
        e.changedAt = now;
        told = true;
      }
    } else {
      for (const [d, k] of fresh) e.keys.set(d, k);
      e.pending = new Map();
      e.verifiedAt = null;
      e.changedAt = now;
      told = true;
    }
    if (statusOf(e) !== before) told = true;
    this.droppableKeys += this.weight(routeHex, e) - weightBefore;
    if (!told && !dirty) return { change: null, save: Promise.resolve() };
    // Also when no key was added: a contact whose held devices left counts its keys again.
    this.trim();
    const change: KeyChange | null = told ? { number: e.number, own, added, changed, removed, wasVerified, status: statusOf(e) } : null;
    return { change, save: this.save() };
  }

  /** The status of a route's keys, or undefined for a route never looked up. */
  status(route: Uint8Array): KeyStatus | undefined {
    const e = this.entries.get(bytesToHex(route));
    return e ? statusOf(e) : undefined;
  }

  /** The status of one sender device: `changed` for a device (or key) the contact's
   *  entry has not accepted (held, or no longer listed since the sender check vouched
   *  for it), `verified` for an accepted device of a verified contact, else `unverified`
   *  (also for a route not in the book). */
  senderStatus(route: Uint8Array, device: Uint8Array, identityKey: Uint8Array): KeyStatus {
    const e = this.entries.get(bytesToHex(route));
    if (!e) return 'unverified';
    const d = bytesToHex(device);
    const k = bytesToHex(identityKey);
    if (e.keys.get(d) === k) return e.verifiedAt !== null ? 'verified' : 'unverified';
    return 'changed';
  }

  /** Whether the route has an entry whose accepted keys hold every device of `devices`
   *  with the same identity key (a list sealing to it seals only to accepted keys). */
  covers(route: Uint8Array, devices: readonly VerifiedDevice[]): boolean {
    const e = this.entries.get(bytesToHex(route));
    return e !== undefined && coversAll(e, devices);
  }

  /**
   * Throws IDENTITY_CHANGED while the route's sends are held, or when `devices` (the list
   * a send is about to seal to) holds a device or key the entry has not accepted: the
   * list a send seals to may be a cached one, not the last one compared (observe), so
   * the caller first observes a list that covers() refuses.
   */
  checkSend(route: Uint8Array, devices?: readonly VerifiedDevice[]): void {
    const e = this.entries.get(bytesToHex(route));
    if (!e) return;
    if (e.pending.size > 0) throw identityChanged();
    if (devices !== undefined && !coversAll(e, devices)) throw identityChanged();
  }

  /** The user accepts exactly these keys (a fresh list), verified or not. */
  accept(route: Uint8Array, devices: readonly VerifiedDevice[], verified: boolean, number: string | null = null, now = Date.now()): Promise<void> {
    const routeHex = bytesToHex(route);
    const e = this.touch(routeHex);
    const keys = listed(devices);
    const name = number !== null && E164.test(number) ? number : e?.number ?? null;
    this.put(routeHex, { number: name, keys, pending: new Map(), verifiedAt: verified ? now : null, changedAt: e?.changedAt ?? null, decidedAt: decided(e, now) });
    return this.save();
  }

  /** Clears the route's verification (its keys stay accepted). */
  unverify(route: Uint8Array, now = Date.now()): Promise<void> {
    const routeHex = bytesToHex(route);
    const e = this.entries.get(routeHex);
    if (!e || e.verifiedAt === null) return Promise.resolve();
    const w0 = this.weight(routeHex, e);
    e.verifiedAt = null;
    e.decidedAt = decided(e, now);
    this.droppableKeys += this.weight(routeHex, e) - w0;
    // Unverified, its keys count against the bound now.
    this.trim();
    return this.save();
  }

  /** When the route was verified (ms since the epoch), or null. */
  verifiedAt(route: Uint8Array): number | null {
    return this.entries.get(bytesToHex(route))?.verifiedAt ?? null;
  }

  /** Resolves once every save begun so far has ended (failures included). */
  async settled(): Promise<void> {
    await this.tail;
  }

  private touch(routeHex: string): Entry | undefined {
    const e = this.entries.get(routeHex);
    if (!e) return undefined;
    this.entries.delete(routeHex);
    this.entries.set(routeHex, e);
    return e;
  }

  private put(routeHex: string, e: Entry): void {
    this.setEntry(routeHex, e);
    this.trim();
  }

  /** What an entry counts against deviceCapacity: its keys when it may be dropped
   *  (neither verified nor held, nor this handset's own), else nothing. */
  private weight(routeHex: string, e: Entry): number {
    return this.droppable(routeHex, e) ? e.keys.size : 0;
  }

  private droppable(routeHex: string, e: Entry): boolean {
    return e.verifiedAt === null && e.pending.size === 0 && routeHex !== this.ownHex;
  }

  /** Puts (or replaces) an entry, last in the recency order; keeps droppableKeys. */
  private setEntry(routeHex: string, e: Entry): void {
    const old = this.entries.get(routeHex);
    if (old) this.droppableKeys -= this.weight(routeHex, old);
    this.entries.delete(routeHex);
    this.entries.set(routeHex, e);
    this.droppableKeys += this.weight(routeHex, e);
  }

  private deleteEntry(routeHex: string): void {
    const old = this.entries.get(routeHex);
    if (!old) return;
    this.droppableKeys -= this.weight(routeHex, old);
    this.entries.delete(routeHex);
  }

  /** Back within the bounds: past KEYS_CAPACITY contacts or deviceCapacity device keys,
   *  the least recently used contacts that are neither verified nor held (nor this
   *  handset's own) go first; past the contact capacity with none of those left, the
   *  least recently used one (evict). Verified and held contacts' devices are not
   *  counted against deviceCapacity's evictions: a directory listing many devices
   *  under them cannot push a verification or a hold out. */
  private trim(): void {
    if (this.entries.size <= this.capacity && this.droppableKeys <= this.deviceCapacity) return;
    for (const [route, e] of this.entries) {
      if (this.entries.size <= this.capacity && this.droppableKeys <= this.deviceCapacity) break;
      if (this.droppable(route, e)) this.deleteEntry(route);
    }
    while (this.entries.size > this.capacity) this.evict();
  }

  /** The least recently used entry that is neither verified nor held (nor this
   *  handset's own), else the least recently used one. */
  private evict(): void {
    let victim: string | undefined;
    for (const [route, e] of this.entries) {
      if (this.droppable(route, e)) {
        victim = route;
        break;
      }
    }
    victim ??= this.entries.keys().next().value;
    if (victim !== undefined) this.deleteEntry(victim);
  }

  private save(): Promise<void> {
    if (this.queued) return this.queued;
    const q = this.tail.then(() => {
      this.queued = null;
      // The record is replaced whole, and other processes may use the profile (the CLI's
      // `verify-contact` or `accept-keys` beside a running `listen`): their decisions
      // since this book was read are taken in first, under the record's lock (so that no
      // other process writes between this read and this write), so this write does not
      // undo them.
      // A record that still reads as this book last wrote it was written by no other
      // process since: nothing to merge (a book of 10,000 contacts is megabytes).
      return rewriteSharedRecord(this.store, KEYS_RECORD, this.deviceHex, this.written, (stored) => this.merge(stored), () => this.serialize());
    });
    this.queued = q;
    this.tail = q.catch(() => {});
    return q;
  }

  private serialize(): string {
    const contacts: Record<string, unknown> = {};
    for (const [route, e] of this.entries) {
      contacts[route] = {
        ...(e.number !== null ? { number: e.number } : {}),
        keys: Object.fromEntries(e.keys),
        ...(e.pending.size > 0 ? { pending: Object.fromEntries(e.pending) } : {}),
        ...(e.verifiedAt !== null ? { verifiedAt: e.verifiedAt } : {}),
        ...(e.changedAt !== null ? { changedAt: e.changedAt } : {}),
        ...(e.decidedAt !== null ? { decidedAt: e.decidedAt } : {}),
      };
    }
    return JSON.stringify({ version: 1, oprfPublicKey: this.keyHex, contacts }) + '\n';
  }

  /** Takes what a record holds for this OPRF key; a malformed contact is left out (its
   *  next lookup is a first use again), a record for another key ignored whole. */
  private load(raw: unknown): void {
    for (const [route, e] of stored(raw, this.keyHex)) {
      if (this.entries.size >= this.capacity) break;
      this.setEntry(route, e);
    }
    this.trim(); // a record written under larger bounds
  }

  /**
   * Before a save: what the record holds now (another process may have written it since
   * this book read it) is taken in where it is newer. A contact the user decided about
   * later there (decidedAt: verified, accepted, unverified) takes that entry whole; a
   * contact this book does not have is added (one neither verified nor held only while
   * there is room; then the bounds apply as at any change). Everything else stays
   * as this book has it (a change another process saw is seen again at the next lookup
   * here). A damaged record or another key's adds nothing.
   */
  private merge(text: string | undefined): void {
    if (typeof text !== 'string') return;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return;
    }
    for (const [route, s] of stored(raw, this.keyHex)) {
      const e = this.entries.get(route);
      if (!e) {
        // A verified or held contact is taken in whatever the room (trim below makes it);
        // another only into room there is.
        if (s.verifiedAt !== null || s.pending.size > 0 || this.entries.size < this.capacity) this.setEntry(route, s);
      } else if ((s.decidedAt ?? -1) > (e.decidedAt ?? -1)) {
        this.setEntry(route, { ...s, number: e.number ?? s.number });
      }
    }
    this.trim();
  }
}

/** A decision's time: `now`, but always after the entry's previous one. */
function decided(e: Entry | undefined, now: number): number {
  return e?.decidedAt != null && e.decidedAt >= now ? e.decidedAt + 1 : now;
}

/** The well-formed contacts of a parsed record for this OPRF key (hex), in its order. */
function stored(raw: unknown, keyHex: string): Array<[string, Entry]> {
  if (typeof raw !== 'object' || raw === null) return [];
  const r = raw as { version?: unknown; oprfPublicKey?: unknown; contacts?: unknown };
  if (r.version !== 1 || r.oprfPublicKey !== keyHex || typeof r.contacts !== 'object' || r.contacts === null) return [];
  const out: Array<[string, Entry]> = [];
  for (const [route, v] of Object.entries(r.contacts as Record<string, unknown>)) {
    const e = parseEntry(route, v);
    if (e) out.push([route, e]);
  }
  return out;
}

function coversAll(e: Entry, devices: readonly VerifiedDevice[]): boolean {
  return devices.every((d) => e.keys.get(bytesToHex(d.device)) === bytesToHex(d.identityKey));
}

function statusOf(e: Entry): KeyStatus {
  if (e.pending.size > 0) return 'changed';
  return e.verifiedAt !== null ? 'verified' : 'unverified';
}

function parseKeys(v: unknown): Map<string, string> | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const m = new Map<string, string>();
  for (const [d, k] of Object.entries(v as Record<string, unknown>)) {
    if (!HEX_DEVICE.test(d) || typeof k !== 'string' || !HEX_KEY.test(k) || m.size >= MAX_DEVICES_PER_CONTACT) return null;
    m.set(d, k);
  }
  return m;
}

function parseTime(v: unknown): number | null | false {
  if (v === undefined) return null;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : false;
}

function parseEntry(route: string, v: unknown): Entry | null {
  if (!HEX_ROUTE.test(route) || typeof v !== 'object' || v === null) return null;
  const o = v as { number?: unknown; keys?: unknown; pending?: unknown; verifiedAt?: unknown; changedAt?: unknown; decidedAt?: unknown };
  const keys = parseKeys(o.keys);
  const pending = o.pending === undefined ? new Map<string, string>() : parseKeys(o.pending);
  const verifiedAt = parseTime(o.verifiedAt);
  const changedAt = parseTime(o.changedAt);
  const decidedAt = parseTime(o.decidedAt);
  if (!keys || !pending || verifiedAt === false || changedAt === false || decidedAt === false) return null;
  if (o.number !== undefined && (typeof o.number !== 'string' || !E164.test(o.number))) return null;
  return { number: typeof o.number === 'string' ? o.number : null, keys, pending, verifiedAt, changedAt, decidedAt };
}

/** Reads keys.json for this pinned OPRF key; a missing or damaged record, or one for
 *  another key, is an empty book. Errors of the store itself pass. */
export async function readKeyBook(store: ProfileStore, oprfPublicKey: Uint8Array, capacity = KEYS_CAPACITY, opts: KeyBookOptions & { onDamaged?: (problem: string) => void } = {}): Promise<KeyBook> {
  const text = await store.read(KEYS_RECORD);
  let raw: unknown;
  try {
    raw = typeof text === 'string' ? JSON.parse(text) : undefined;
  } catch {
    raw = undefined; // damaged: every contact is a first use again
  }
  const problem = typeof text === 'string' ? damage(raw, bytesToHex(oprfPublicKey)) : null;
  if (problem !== null) opts.onDamaged?.(problem);
  // A damaged record may have lost the own number's baseline: its next first look tells
  // every other device, as before baselines (no silent re-baseline after damage).
  return new KeyBook(store, oprfPublicKey, capacity, raw, problem !== null ? { ownFirstLookTold: true, ...opts } : opts);
}

/**
 * What was lost reading a keys.json that exists, or null: the whole record (not JSON, or
 * not a key book), or some contacts (malformed entries, left out). Each such contact is a
 * first use again and, if it was verified or held, is no longer: the application is told
 * (ClientOptions.onStoreError), since nothing else would show it. A record written under
 * another OPRF key (another deployment) is not damage. Counts only: nothing of the record.
 */
function damage(raw: unknown, keyHex: string): string | null {
  const lost = 'contacts\' keys start again from first use, and verified contacts must be verified again';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `keys.json is damaged and was read as empty: ${lost}`;
  const r = raw as { version?: unknown; oprfPublicKey?: unknown; contacts?: unknown };
  if (typeof r.oprfPublicKey === 'string' && r.oprfPublicKey !== keyHex) return null;
  if (r.version !== 1 || typeof r.contacts !== 'object' || r.contacts === null || Array.isArray(r.contacts)) {
    return `keys.json is damaged and was read as empty: ${lost}`;
  }
  let bad = 0;
  for (const [route, v] of Object.entries(r.contacts as Record<string, unknown>)) if (parseEntry(route, v) === null) bad++;
  return bad > 0 ? `keys.json had ${bad} damaged contact entr${bad === 1 ? 'y' : 'ies'}, left out: those ${lost.replace(/^contacts' keys/, 'keys')}` : null;
}
