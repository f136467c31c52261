// Shared by MemoryBus and NatsBus: argument checks (so both reject the same input with
// the same code), the control-message codec, and the per-device subscription registry
// (latest subscription gets live envelopes, every open one gets control messages).
import type { ControlHandler, ControlMessage, DeviceSubscription, LiveHandler, MailboxLimits } from './bus.ts';
import { ErrorCode, HushwireError } from '../errors.ts';
import { Recipient } from '../tokens.ts';

/** JetStream's duplicate window for the mailbox (`Nats-Msg-Id`); MemoryBus mirrors it. */
export const DEDUP_WINDOW_MS = 120_000;
/** Upper bound on one mailboxRead. */
export const MAX_READ_BATCH = 1024;
/** Open subscriptions kept per device per bus; the oldest beyond this is evicted (kicked). */
export const MAX_SUBSCRIPTIONS_PER_DEVICE = 16;
/** deliverLive timeouts are clamped to [1, MAX_LIVE_TIMEOUT_MS]. */
export const MAX_LIVE_TIMEOUT_MS = 60_000;
/** Largest directory value (encoded DirectoryEntry). */
export const DIRECTORY_MAX_VALUE_BYTES = 65_536;
/** Connection ids in control messages: random, short, URL-safe. */
const CONNECTION_ID_RE = /^[A-Za-z0-9_-]{0,64}$/;
const ENVELOPE_ID_RE = /^[0-9a-f]{32}$/;

export type BusLogFn = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
export const noopLog: BusLogFn = () => {};

export function busUnavailable(message: string, cause?: unknown): HushwireError {
  return new HushwireError(ErrorCode.UNAVAILABLE, message, { cause, retryAfterMs: 1000 });
}

/** A compare-and-set write (directory, counters) whose request was in flight when the
 *  bus lost its connection to the store: it may or may not have been applied, as after a
 *  timeout. UNAVAILABLE with retry_after_ms, like any loss of the connection. A caller
 *  that can tell from a fresh read whether its edit is in place (a removal: the device
 *  is gone) reads again, which waits for the reconnect, and decides again
 *  (relay/directory.ts removeDevice, relay/privacy/devices.ts editDevices' `retryLost`). */
export class WriteOutcomeUnknown extends HushwireError {}

export function isWriteOutcomeUnknown(e: unknown): boolean {
  return e instanceof WriteOutcomeUnknown;
}

export function checkLimits(limits: MailboxLimits): MailboxLimits {
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
  if (limits === null || typeof limits !== 'object' || !ok(limits.maxMessagesPerDevice) || !ok(limits.maxAgeMs) || !ok(limits.maxMessageBytes)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'mailbox limits must be positive integers');
  }
  return Object.freeze({
    maxMessagesPerDevice: limits.maxMessagesPerDevice,
    maxAgeMs: limits.maxAgeMs,
    maxMessageBytes: limits.maxMessageBytes,
  });
}

/** The duplicate window actually used: JetStream refuses one longer than max_age. */
export function dedupWindowMs(limits: MailboxLimits): number {
  return Math.min(DEDUP_WINDOW_MS, limits.maxAgeMs);
}

/** Envelope ids are 16 random bytes as 32 lowercase hex chars. */
export function checkEnvelopeId(id: string): void {
  if (typeof id !== 'string' || !ENVELOPE_ID_RE.test(id)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'envelope id must be 32 lowercase hex characters');
  }
}

export function checkEnvelope(envelope: Uint8Array, limits: MailboxLimits): void {
  if (!(envelope instanceof Uint8Array)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'envelope must be bytes');
  if (envelope.length > limits.maxMessageBytes) throw new HushwireError(ErrorCode.TOO_LARGE, 'envelope too large');
}

export function checkDirectoryValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'directory value must be bytes');
  if (value.length > DIRECTORY_MAX_VALUE_BYTES) throw new HushwireError(ErrorCode.TOO_LARGE, 'directory value too large');
}

export function checkRevision(rev: number): void {
  if (typeof rev !== 'number' || !Number.isSafeInteger(rev) || rev < 0) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'revision must be a non-negative integer');
  }
}

/** A conditional delete's revision: an entry that exists has one of at least 1. */
export function checkDeleteRevision(rev: number): void {
  if (typeof rev !== 'number' || !Number.isSafeInteger(rev) || rev < 1) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'revision must be a positive integer');
  }
}

export function checkSeq(seq: number): void {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'sequence must be a non-negative integer');
  }
}

/** Read batch size in [0, MAX_READ_BATCH]. */
export function checkMax(max: number): number {
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 0) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'max must be a non-negative integer');
  }
  return Math.min(max, MAX_READ_BATCH);
}

/** offerLive's recipient: a Recipient made by relay/tokens.ts (whose strings are tokens). */
export function checkRecipient(to: Recipient): void {
  if (!(to instanceof Recipient)) throw new HushwireError(ErrorCode.BAD_TOKEN, 'recipient must be a Recipient (relay/tokens.ts)');
}

export function checkTimeout(ms: number): number {
  if (typeof ms !== 'number' || Number.isNaN(ms)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'timeout must be a number');
  return Math.min(Math.max(Math.ceil(ms), 1), MAX_LIVE_TIMEOUT_MS);
}

function hasMethod(o: unknown, m: string): boolean {
  return o !== null && typeof o === 'object' && typeof (o as Record<string, unknown>)[m] === 'function';
}

export function checkHandlers(onEnvelope: unknown, onControl: unknown): void {
  if ((typeof onEnvelope !== 'function' && !hasMethod(onEnvelope, 'offer')) || (typeof onControl !== 'function' && !hasMethod(onControl, 'control'))) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'handlers must be functions (or a live sink and a control sink)');
  }
}

/** Runs a LiveHandler of either form; `done` gets its outcome exactly once (false when
 *  the handler throws or rejects). */
export function runLiveHandler(h: LiveHandler, envelope: Uint8Array, done: (delivered: boolean) => void): void {
  if (typeof h !== 'function') {
    // A sink calls done exactly once and does not throw (the session's does not); the
    // catch is a last resort, and a second outcome is ignored by every caller.
    try {
      h.offer(envelope, done);
    } catch {
      done(false);
    }
    return;
  }
  let p: Promise<boolean>;
  try {
    p = h(envelope);
  } catch {
    done(false);
    return;
  }
  (p instanceof Promise ? p : Promise.resolve(p)).then((ok) => done(ok === true), () => done(false));
}

/** Validates and copies a control message (only the known fields survive). */
export function checkControl(msg: ControlMessage): ControlMessage {
  if (msg !== null && typeof msg === 'object') {
    if (msg.kind === 'kick' && typeof msg.connection === 'string' && CONNECTION_ID_RE.test(msg.connection)) {
      return msg.again === true ? { kind: 'kick', connection: msg.connection, again: true } : { kind: 'kick', connection: msg.connection };
    }
    if (msg.kind === 'unregistered') return { kind: 'unregistered' };
    if (msg.kind === 'mail') return { kind: 'mail' };
    if (msg.kind === 'notice' && msg.notice === 'new_device' && Number.isSafeInteger(msg.atMs) && msg.atMs >= 0) {
      return { kind: 'notice', notice: 'new_device', atMs: msg.atMs };
    }
  }
  throw new HushwireError(ErrorCode.BAD_REQUEST, 'bad control message');
}

const te = new TextEncoder();
const td = new TextDecoder();

/** Small JSON: {"kind":"kick","connection":"<random id>"} or {"kind":"unregistered"}. */
export function encodeControl(msg: ControlMessage): Uint8Array {
  return te.encode(JSON.stringify(msg));
}

/** Parses and validates; null for anything malformed. */
export function decodeControl(data: Uint8Array): ControlMessage | null {
  if (data.length > 256) return null;
  try {
    return checkControl(JSON.parse(td.decode(data)) as ControlMessage);
  } catch {
    return null;
  }
}

/** Awaits p for at most ms; resolves `onTimeout` after that. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<T>((resolve) => { timer = setTimeout(() => resolve(onTimeout), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// ---- per-device subscriptions ----

export class DeviceSubscriptionImpl implements DeviceSubscription {
  readonly onEnvelope: LiveHandler;
  readonly onControl: ControlHandler;
  open = true;
  #entry: DeviceEntry;
  #registry: SubscriptionRegistry;
  constructor(registry: SubscriptionRegistry, entry: DeviceEntry, onEnvelope: LiveHandler, onControl: ControlHandler) {
    this.#registry = registry;
    this.#entry = entry;
    this.onEnvelope = onEnvelope;
    this.onControl = onControl;
  }
  close(): Promise<void> {
    if (!this.open) return Promise.resolve();
    this.open = false;
    return this.#registry.remove(this.#entry, this);
  }
}

export interface DeviceEntry {
  readonly key: string;
  /** Open subscriptions, oldest first; the last one gets live envelopes. */
  subs: DeviceSubscriptionImpl[];
  /** Implementation data (NatsBus keeps its NATS subscription here). An object with a
   *  method, not a closure: one is held per idle device, and a closure with its context
   *  cost ~100 B more per device (bench/heap-diff.ts). */
  release: DeviceTransport | null;
}

/** What a bus set up for one device and undoes when its last subscription closes. */
export interface DeviceTransport {
  release(): Promise<void>;
}

/** Open subscriptions per device. Live → newest open one; control → every open one. */
export class SubscriptionRegistry {
  #byKey = new Map<string, DeviceEntry>();
  #log: BusLogFn;
  constructor(log: BusLogFn) {
    this.#log = log;
  }

  get deviceCount(): number {
    return this.#byKey.size;
  }

  get(key: string): DeviceEntry | undefined {
    return this.#byKey.get(key);
  }

  /** Keys of the devices with an open subscription (a snapshot). */
  keys(): string[] {
    return [...this.#byKey.keys()];
  }

  /** Adds a subscription; `isNew` tells the caller to set up transport (entry.release). */
  add(key: string, onEnvelope: LiveHandler, onControl: ControlHandler): { sub: DeviceSubscriptionImpl; entry: DeviceEntry; isNew: boolean } {
    let entry = this.#byKey.get(key);
    const isNew = entry === undefined;
    if (entry === undefined) {
      entry = { key, subs: [], release: null };
      this.#byKey.set(key, entry);
    }
    const sub = new DeviceSubscriptionImpl(this, entry, onEnvelope, onControl);
    // An array of exactly the right size: push() onto an empty array reserves room for
    // 17 (~150 B), and nearly every device has exactly one subscription.
    entry.subs = entry.subs.length === 0 ? [sub] : [...entry.subs, sub];
    while (entry.subs.length > MAX_SUBSCRIPTIONS_PER_DEVICE) {
      const old = entry.subs.shift() as DeviceSubscriptionImpl;
      old.open = false;
      this.#log('warn', 'bus: too many subscriptions for one device; oldest evicted', { limit: MAX_SUBSCRIPTIONS_PER_DEVICE });
      callControl(old, { kind: 'kick', connection: '' }, this.#log);
    }
    return { sub, entry, isNew };
  }

  /** The handler of the newest open subscription, if any. */
  live(key: string): LiveHandler | undefined {
    const entry = this.#byKey.get(key);
    if (entry === undefined) return undefined;
    const subs = entry.subs;
    return subs.length > 0 ? (subs[subs.length - 1] as DeviceSubscriptionImpl).onEnvelope : undefined;
  }

  /** The connection id of the device's newest open subscription here, if its control
   *  handler says (ControlSink.currentConnection); '' otherwise. */
  newestConnection(key: string): string {
    const subs = this.#byKey.get(key)?.subs;
    if (subs === undefined || subs.length === 0) return '';
    const sub = subs[subs.length - 1] as DeviceSubscriptionImpl;
    const h = sub.onControl;
    if (!sub.open || typeof h === 'function' || typeof h.currentConnection !== 'function') return '';
    try {
      return h.currentConnection();
    } catch {
      return '';
    }
  }

  /** Delivers to every open subscription of the device (each gets its own copy). */
  control(key: string, msg: ControlMessage): void {
    const entry = this.#byKey.get(key);
    if (entry === undefined) return;
    for (const sub of entry.subs.slice()) {
      if (sub.open) callControl(sub, { ...msg }, this.#log);
    }
  }

  async remove(entry: DeviceEntry, sub: DeviceSubscriptionImpl): Promise<void> {
    const i = entry.subs.indexOf(sub);
    if (i >= 0) entry.subs.splice(i, 1);
    if (entry.subs.length === 0 && this.#byKey.get(entry.key) === entry) {
      this.#byKey.delete(entry.key);
      const release = entry.release;
      entry.release = null;
      if (release !== null) await release.release();
    }
  }

  /** Marks everything closed; returns the release functions still to run. */
  clear(): Array<() => Promise<void>> {
    const out: Array<() => Promise<void>> = [];
    for (const entry of this.#byKey.values()) {
      for (const sub of entry.subs) sub.open = false;
      entry.subs = [];
      const t = entry.release;
      if (t !== null) out.push(() => t.release());
      entry.release = null;
    }
    this.#byKey.clear();
    return out;
  }
}

function callControl(sub: DeviceSubscriptionImpl, msg: ControlMessage, log: BusLogFn): void {
  try {
    const h = sub.onControl;
    if (typeof h === 'function') h(msg);
    else h.control(msg);
  } catch (e) {
    log('error', 'bus: control handler threw', { error: e instanceof Error ? e.name : typeof e });
  }
}

/** Seqs for mailboxDeleteMany: an array of at most MAX_DELETE_BATCH valid seqs. */
export const MAX_DELETE_BATCH = 4096;

export function checkSeqs(seqs: readonly number[]): void {
  if (!Array.isArray(seqs) || seqs.length > MAX_DELETE_BATCH) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `seqs must be an array of at most ${MAX_DELETE_BATCH}`);
  }
  for (const s of seqs) checkSeq(s);
}
