// MemoryBus: the embedded, single-node bus (like Centrifugo's memory engine). Everything
// lives in this process and is lost when it exits; semantics match NatsBus (same
// contract tests): sequence numbers are global and increasing (like a stream sequence),
// a full mailbox refuses new mail (MAILBOX_FULL) and never drops old mail, messages
// expire after maxAgeMs, a repeated id within the duplicate window is stored once, and
// directory revisions are global and increasing (like KV revisions).
import type {
  Bus, BusStatus, ControlHandler, ControlMessage, DeviceSubscription, DirectoryReadOptions, DirectoryRecord, LiveHandler, MailboxOwner, MailboxItem, MailboxLimits,
  UnregisteredListener, UnregisteredVerdict,
} from './bus.ts';
import { hearUnregistered, RecentUnregistrations, tellUnconfirmed } from './unregistered.ts';
import { ErrorCode, HushwireError } from '../errors.ts';
import { assertToken, type Recipient } from '../tokens.ts';
import {
  busUnavailable, checkControl, checkDirectoryValue, checkEnvelope, checkEnvelopeId, checkHandlers, checkLimits,
  checkDeleteRevision, checkMax, checkRevision, checkSeq, checkSeqs, checkRecipient, checkTimeout, dedupWindowMs, noopLog, runLiveHandler, SubscriptionRegistry, type BusLogFn,
} from './common.ts';
import { checkCounterKey, checkCounterValue, COUNTER_TTL_MS, MemoryCounters } from './counters.ts';

export interface MemoryBusOptions {
  limits: MailboxLimits;
  /** Bound on all stored mailbox bytes together (default 1 GiB); beyond it puts fail UNAVAILABLE. */
  maxTotalBytes?: number;
  /** Bound on remembered envelope ids (default 1,000,000); the oldest are forgotten first. */
  maxDedupIds?: number;
  /** Lifetime of a rate-limit counter after its last write (default COUNTER_TTL_MS). */
  counterTtlMs?: number;
  log?: BusLogFn;
  /** The devices announced unregistered (tests: a smaller bound, a clock of their own). */
  unregistered?: RecentUnregistrations;
}

interface Stored {
  data: Uint8Array;
  expiresAt: number;
}

const DEFAULT_MAX_TOTAL_BYTES = 1 << 30;
const DEFAULT_MAX_DEDUP_IDS = 1_000_000;

export class MemoryBus implements Bus {
  readonly kind = 'embedded' as const;
  readonly #limits: MailboxLimits;
  readonly #maxTotalBytes: number;
  readonly #maxDedupIds: number;
  readonly #dedupMs: number;
  readonly #log: BusLogFn;
  readonly #subs: SubscriptionRegistry;
  #state: 'new' | 'started' | 'closed' = 'new';
  #livePending = 0;
  /** The outcome callbacks of live offers still waiting for theirs (each with its
   *  timer): close() settles them as not delivered, as NatsBus does. */
  readonly #offers = new Set<(ok: boolean) => void>();
  #sweepTimer: NodeJS.Timeout | null = null;

  // mailbox: key "tag.device" → seq → item; Map order is seq order (seqs only grow).
  readonly #boxes = new Map<string, Map<number, Stored>>();
  // route tag → keys of its devices that have a mailbox, for purge(route).
  readonly #routeBoxes = new Map<string, Set<string>>();
  readonly #dedup = new Map<string, number>(); // id → expiresAt, in insertion (= expiry) order
  #seq = 0;
  #totalBytes = 0;

  readonly #directory = new Map<string, DirectoryRecord>();
  #revision = 0;
  readonly #counters: MemoryCounters;
  /** Devices announced unregistered (relay/bus/unregistered.ts): in one process nothing
   *  is lost between publisher and subscriber, so this bus listens from its start. */
  readonly #unregistered: RecentUnregistrations;
  #unregisteredListener: UnregisteredListener | null = null;

  constructor(opts: MemoryBusOptions) {
    this.#limits = checkLimits(opts.limits);
    this.#maxTotalBytes = opts.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
    this.#maxDedupIds = opts.maxDedupIds ?? DEFAULT_MAX_DEDUP_IDS;
    this.#dedupMs = dedupWindowMs(this.#limits);
    this.#log = opts.log ?? noopLog;
    this.#counters = new MemoryCounters(opts.counterTtlMs ?? COUNTER_TTL_MS);
    this.#subs = new SubscriptionRegistry(this.#log);
    this.#unregistered = opts.unregistered ?? new RecentUnregistrations();
    this.#unregistered.onDue((keys) => tellUnconfirmed(this.#unregisteredListener, keys, this.#log));
  }

  async start(): Promise<void> {
    if (this.#state === 'closed') throw busUnavailable('bus closed');
    if (this.#state === 'started') return;
    this.#state = 'started';
    this.#unregistered.listening(0);
    const every = Math.min(Math.max(Math.floor(this.#limits.maxAgeMs / 4), 250), 60_000);
    this.#sweepTimer = setInterval(() => this.#sweep(), every);
    this.#sweepTimer.unref();
  }

  mailboxMaxAgeMs(): number {
    return this.#limits.maxAgeMs;
  }

  status(): BusStatus {
    if (this.#state === 'new') return { state: 'starting' };
    return this.#state === 'started' ? { state: 'connected' } : { state: 'closed' };
  }

  livePending(): number {
    return this.#livePending;
  }

  #ready(): void {
    if (this.#state !== 'started') throw busUnavailable(this.#state === 'closed' ? 'bus closed' : 'bus not started');
  }

  // ---- live delivery ----

  async subscribeDevice(
    routeTag: string,
    deviceToken: string,
    onEnvelope: LiveHandler,
    onControl: ControlHandler,
  ): Promise<DeviceSubscription> {
    assertToken(routeTag);
    assertToken(deviceToken);
    checkHandlers(onEnvelope, onControl);
    this.#ready();
    return this.#subs.add(`${routeTag}.${deviceToken}`, onEnvelope, onControl).sub;
  }

  async deliverLive(routeTag: string, deviceToken: string, envelope: Uint8Array, timeoutMs: number): Promise<boolean> {
    assertToken(routeTag);
    assertToken(deviceToken);
    checkEnvelope(envelope, this.#limits);
    const ms = checkTimeout(timeoutMs);
    this.#ready();
    return new Promise<boolean>((resolve) => this.#offer(`${routeTag}.${deviceToken}`, envelope, ms, resolve));
  }

  offerLive(to: Recipient, envelope: Uint8Array, timeoutMs: number, done: (delivered: boolean) => void): void {
    checkRecipient(to);
    checkEnvelope(envelope, this.#limits);
    const ms = checkTimeout(timeoutMs);
    this.#ready();
    this.#offer(to.key, envelope, ms, done);
  }

  /** Hands the envelope to the device's newest subscription; `done` once, never
   *  synchronously: the handler's outcome or false after `ms`. */
  #offer(key: string, envelope: Uint8Array, ms: number, done: (delivered: boolean) => void): void {
    const handler = this.#subs.live(key);
    if (handler === undefined) {
      queueMicrotask(() => done(false));
      return;
    }
    let settled = false;
    this.#livePending++;
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      this.#livePending--;
      this.#offers.delete(finish);
      clearTimeout(timer);
      queueMicrotask(() => done(ok));
    };
    const timer = setTimeout(() => finish(false), ms);
    this.#offers.add(finish);
    // A copy, as NATS would make: the caller may reuse its buffer once we return.
    runLiveHandler(handler, envelope.slice(), finish);
  }

  async publishControl(routeTag: string, deviceToken: string, msg: ControlMessage): Promise<void> {
    assertToken(routeTag);
    assertToken(deviceToken);
    const m = checkControl(msg);
    this.#ready();
    const key = `${routeTag}.${deviceToken}`;
    // Asynchronous like NATS: never re-enters the caller.
    setImmediate(() => {
      if (this.#state !== 'started') return;
      this.#subs.control(key, m);
      // The announcement every gateway hears (Bus.publishControl): here, this one.
      if (m.kind === 'unregistered') this.#announced(key);
    });
  }

  /** The subscriptions of the device here got the device's message just before. */
  #announced(key: string): void {
    hearUnregistered(this.#unregistered, this.#unregisteredListener, key, this.#log);
  }

  unregisteredMark(): number {
    return this.#unregistered.mark();
  }

  unregisteredSince(routeTag: string, deviceToken: string, mark: number): UnregisteredVerdict {
    return this.#unregistered.since(`${routeTag}.${deviceToken}`, mark);
  }

  watchUnregistered(listener: UnregisteredListener): void {
    this.#unregisteredListener = listener;
  }

  async announceUnregistering(routeTag: string, deviceToken: string): Promise<void> {
    assertToken(routeTag);
    assertToken(deviceToken);
    this.#ready();
    // In one process nothing is lost between publisher and subscriber: heard at once.
    this.#unregistered.intent(`${routeTag}.${deviceToken}`);
  }

  // ---- mailbox ----

  async mailboxPut(routeTag: string, deviceToken: string, id: string, envelope: Uint8Array): Promise<void> {
    assertToken(routeTag);
    assertToken(deviceToken);
    checkEnvelopeId(id);
    checkEnvelope(envelope, this.#limits);
    this.#ready();
    const now = Date.now();
    this.#pruneDedup(now);
    const seen = this.#dedup.get(id);
    if (seen !== undefined && seen > now) return; // duplicate within the window: already stored
    const key = `${routeTag}.${deviceToken}`;
    let box = this.#boxes.get(key);
    if (box !== undefined) this.#expireBox(key, box, now);
    box = this.#boxes.get(key);
    if (box !== undefined && box.size >= this.#limits.maxMessagesPerDevice) {
      throw new HushwireError(ErrorCode.MAILBOX_FULL, 'mailbox full');
    }
    if (this.#totalBytes + envelope.length > this.#maxTotalBytes) {
      throw busUnavailable('mailbox store full');
    }
    if (box === undefined) {
      box = new Map();
      this.#boxes.set(key, box);
      let set = this.#routeBoxes.get(routeTag);
      if (set === undefined) {
        set = new Set();
        this.#routeBoxes.set(routeTag, set);
      }
      set.add(key);
    }
    const seq = ++this.#seq;
    box.set(seq, { data: envelope.slice(), expiresAt: now + this.#limits.maxAgeMs });
    this.#totalBytes += envelope.length;
    this.#dedup.delete(id);
    this.#dedup.set(id, now + this.#dedupMs);
    if (this.#dedup.size > this.#maxDedupIds) {
      const oldest = this.#dedup.keys().next().value;
      if (oldest !== undefined) this.#dedup.delete(oldest);
    }
  }

  async mailboxRead(routeTag: string, deviceToken: string, afterSeq: number, max: number): Promise<MailboxItem[]> {
    assertToken(routeTag);
    assertToken(deviceToken);
    checkSeq(afterSeq);
    const n = checkMax(max);
    this.#ready();
    const key = `${routeTag}.${deviceToken}`;
    const box = this.#boxes.get(key);
    const out: MailboxItem[] = [];
    if (box === undefined || n === 0) return out;
    this.#expireBox(key, box, Date.now());
    for (const [seq, item] of box) {
      if (seq <= afterSeq) continue;
      out.push({ seq, data: item.data.slice() });
      if (out.length >= n) break;
    }
    return out;
  }

  async mailboxDelete(routeTag: string, deviceToken: string, seq: number): Promise<void> {
    assertToken(routeTag);
    assertToken(deviceToken);
    checkSeq(seq);
    this.#ready();
    const key = `${routeTag}.${deviceToken}`;
    const box = this.#boxes.get(key);
    if (box === undefined) return;
    const item = box.get(seq);
    if (item === undefined) return;
    box.delete(seq);
    this.#totalBytes -= item.data.length;
    if (box.size === 0) this.#dropBox(key);
  }

  async mailboxDeleteMany(routeTag: string, deviceToken: string, seqs: readonly number[]): Promise<void> {
    assertToken(routeTag);
    assertToken(deviceToken);
    checkSeqs(seqs);
    this.#ready();
    const key = `${routeTag}.${deviceToken}`;
    const box = this.#boxes.get(key);
    if (box === undefined) return;
    for (const seq of seqs) {
      const item = box.get(seq);
      if (item === undefined) continue;
      box.delete(seq);
      this.#totalBytes -= item.data.length;
    }
    if (box.size === 0) this.#dropBox(key);
  }

  async mailboxPurge(routeTag: string, deviceToken?: string): Promise<void> {
    assertToken(routeTag);
    if (deviceToken !== undefined) assertToken(deviceToken);
    this.#ready();
    if (deviceToken !== undefined) {
      this.#dropBox(`${routeTag}.${deviceToken}`);
      return;
    }
    const set = this.#routeBoxes.get(routeTag);
    if (set === undefined) return;
    for (const key of [...set]) this.#dropBox(key);
  }

  async *mailboxOwners(): AsyncIterable<MailboxOwner> {
    this.#ready();
    for (const key of [...this.#boxes.keys()]) {
      if (!this.#boxes.has(key)) continue; // emptied meanwhile
      const dot = key.indexOf('.');
      yield { routeTag: key.slice(0, dot), deviceToken: key.slice(dot + 1) };
    }
  }

  // ---- directory ----

  /** One copy: `fromLeader` reads the same. */
  async directoryGet(routeTag: string, _opts?: DirectoryReadOptions): Promise<DirectoryRecord | null> {
    assertToken(routeTag);
    this.#ready();
    const rec = this.#directory.get(routeTag);
    return rec === undefined ? null : { value: rec.value.slice(), revision: rec.revision };
  }

  async directoryPut(routeTag: string, value: Uint8Array, expectedRevision: number): Promise<number | null> {
    assertToken(routeTag);
    checkDirectoryValue(value);
    checkRevision(expectedRevision);
    this.#ready();
    const cur = this.#directory.get(routeTag);
    if (expectedRevision === 0 ? cur !== undefined : cur === undefined || cur.revision !== expectedRevision) return null;
    const revision = ++this.#revision;
    this.#directory.set(routeTag, { value: value.slice(), revision });
    return revision;
  }

  async directoryDelete(routeTag: string, expectedRevision?: number): Promise<boolean> {
    assertToken(routeTag);
    if (expectedRevision !== undefined) checkDeleteRevision(expectedRevision);
    this.#ready();
    if (expectedRevision !== undefined && this.#directory.get(routeTag)?.revision !== expectedRevision) return false;
    this.#directory.delete(routeTag);
    return true;
  }

  async *directoryKeys(): AsyncIterable<string> {
    this.#ready();
    for (const key of [...this.#directory.keys()]) yield key;
  }

  // ---- rate-limit counters ----

  async counterGet(key: string): Promise<DirectoryRecord | null> {
    checkCounterKey(key);
    this.#ready();
    return this.#counters.get(key);
  }

  async counterPut(key: string, value: Uint8Array, expectedRevision: number): Promise<number | null> {
    checkCounterKey(key);
    checkCounterValue(value);
    checkRevision(expectedRevision);
    this.#ready();
    return this.#counters.put(key, value, expectedRevision);
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#unregistered.close();
    if (this.#sweepTimer !== null) clearInterval(this.#sweepTimer);
    this.#sweepTimer = null;
    // Offers still waiting for the device's answer are settled now, not delivered (as
    // NatsBus's live router does at close), and their timers cleared: they used to stay
    // scheduled for up to the offer's timeout (60 s at most) after close, keeping the
    // process alive and the callers waiting for an answer a closed bus cannot give.
    for (const finish of [...this.#offers]) finish(false);
    this.#subs.clear();
    this.#boxes.clear();
    this.#routeBoxes.clear();
    this.#dedup.clear();
    this.#directory.clear();
    this.#counters.clear();
    this.#totalBytes = 0;
  }

  // ---- internals ----

  #dropBox(key: string): void {
    const box = this.#boxes.get(key);
    if (box === undefined) return;
    for (const item of box.values()) this.#totalBytes -= item.data.length;
    this.#boxes.delete(key);
    const tag = key.slice(0, key.indexOf('.'));
    const set = this.#routeBoxes.get(tag);
    if (set !== undefined) {
      set.delete(key);
      if (set.size === 0) this.#routeBoxes.delete(tag);
    }
  }

  /** Drops expired items from the head (all items share one max age, so order = age). */
  #expireBox(key: string, box: Map<number, Stored>, now: number): void {
    for (const [seq, item] of box) {
      if (item.expiresAt > now) break;
      box.delete(seq);
      this.#totalBytes -= item.data.length;
    }
    if (box.size === 0) this.#dropBox(key);
  }

  #pruneDedup(now: number): void {
    for (const [id, exp] of this.#dedup) {
      if (exp > now) break;
      this.#dedup.delete(id);
    }
  }

  #sweep(): void {
    const now = Date.now();
    this.#pruneDedup(now);
    for (const [key, box] of this.#boxes) this.#expireBox(key, box, now);
    this.#counters.sweep(now);
  }
}
