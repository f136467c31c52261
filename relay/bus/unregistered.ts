// Devices that left the directory, as this gateway heard of them: the opt-out race's
// check without a second directory read per authentication (docs/PROTOCOL.md section 3,
// docs/ARCHITECTURE.md "Opt-out and erasure").
//
// Every `unregistered` control message (an opt-out, the idle expiry) is also announced on
// one subject every gateway subscribes to (NatsBus: `<prefix>.unreg`; MemoryBus: in
// process), its payload the device's bus key `<routeTag>.<deviceToken>` (already the
// device subject's last two tokens: no route, device id, number or key). A gateway
// hands it to its subscriptions of that device as `unregistered` (its sessions end 4006)
// and notes it here. An authentication marks (mark()) before it reads the device's
// record; once its subscription is confirmed it asks since(): an announcement that
// arrived since its mark means the opt-out removed the record after the read, and whose
// device message went out before the SUB. 'unknown' means one may have been missed: the
// session then reads the record again, as every authentication did before.
//
// Bounded: at most `max` devices, each kept `windowMs`. Past the bound the oldest goes,
// and an authentication whose mark is not after it gets 'unknown' (never 'none').
//
// A gateway that crashes (or loses NATS for good) between a removal and its announcement
// would leave the others untold. So every removal is announced twice: first its intent
// (NatsBus: `<prefix>.unreg.intent`, the same payload), confirmed by nats-server before
// the directory write is sent and repeated every UNREGISTERING_RENEW_MS while the removal
// is under way (announcedRemoval), then the announcement above once it is done. An
// intent changes nothing by itself (a removal that then fails locks nobody out): a
// gateway that hears one and no announcement within UNREGISTERING_TIMEOUT_MS after it
// reads the device's record at the directory's leader for each of its sessions of that
// device (the listener's `unconfirmed`), and authentications that read the record
// before that moment read it again at the leader ('unconfirmed').

import type { Bus, UnregisteredListener } from './bus.ts';
import type { BusLogFn } from './common.ts';

/** 'announced': the device's announcement arrived since the mark (it left the directory
 *  after the read began). 'none': none did, and none can have been missed. 'unknown':
 *  one may have been missed (no connection to the announcements, a reconnect since the
 *  mark, the mark older than the window, or the set over its bound since the mark). */
export type UnregisteredVerdict = 'announced' | 'none' | 'unknown' | 'unconfirmed';
// 'unconfirmed': the device's removal was announced as intended, its announcement did
// not follow within UNREGISTERING_TIMEOUT_MS (the removing gateway crashed or lost NATS,
// or the removal failed), and the mark came before that timeout: the record is read
// again at the directory's leader.

/** How long an announcement is remembered, and the longest an authentication may take
 *  from its record read to its subscription's confirmation without falling back to the
 *  re-read: the auth deadline (--auth-timeout-ms, default 10 s) covers the usual case, the
 *  bus's request deadlines (a record read, a read at the leader, the SUB's PONG: 5 s each)
 *  the slowest; longer ones re-read. */
export const UNREGISTERED_WINDOW_MS = 30_000;
/** Devices remembered at most (~150 B each: ~2.5 MB full). 16,384 announcements within
 *  30 s is ~550 opt-outs or expiries a second over the whole deployment; past it, the
 *  authentications of that time re-read. */
export const MAX_UNREGISTERED = 16_384;

/** After the bus lost its connection and got it back, how far before the moment it
 *  found the loss an announcement may have gone into the dying connection: nats.js finds
 *  a silently dead one by its pings (NatsBus: every 10 s, 3 unanswered allowed, so up to
 *  ~40 s), a reset at once. Authentications accepted as 'none' since then read the
 *  device's record again (Relay.gap). */
export const UNREGISTERED_LOOKBACK_MS = 45_000;
/** After the announcements' subscription is made (start, each reconnect), how long before
 *  authentications trust it: the interest of a new SUB spreads over a NATS cluster's
 *  routes in milliseconds, and an announcement published on another node before it got
 *  there is not forwarded. Authentications that began before are 'unknown' (re-read). */
export const UNREGISTERED_SETTLE_MS = 1_000;
/** While a gateway removes a device (announcedRemoval), how often it repeats the removal's
 *  intent: a removal that takes long (directory conflicts, a wait for a reconnect) keeps
 *  the other gateways waiting for its announcement instead of reading too early. */
export const UNREGISTERING_RENEW_MS = 2_000;
/** How long a gateway waits, after the last intent it heard for a device, for the
 *  device's announcement before it reads the record itself: past the renewal period plus
 *  the bus's request deadline (5 s), within which a directory write sent just before the
 *  removing gateway crashed lands, or never does. */
export const UNREGISTERING_TIMEOUT_MS = 10_000;
/** After the bus got its connection back, when the sessions it re-read then (and those
 *  authenticated since the loss) read their record once more, at the directory's leader
 *  (Relay's second pass). An intent sent while it was disconnected is lost to it, and
 *  the removal it announced may land after the first re-reads; once the subscription has
 *  settled (UNREGISTERED_SETTLE_MS) the next renewal (UNREGISTERING_RENEW_MS) is heard,
 *  so a removal that lands later has an intent heard here. One second more for the
 *  removing gateway's timers running late and the publish's way. Should that gateway die
 *  right after a removal landing before then, nothing else would tell this one. */
export const UNREGISTERED_SECOND_PASS_MS = UNREGISTERED_SETTLE_MS + UNREGISTERING_RENEW_MS + 1_000;
/** The clock of marks and arrivals: monotonic, ms. */
export type Clock = () => number;

export class RecentUnregistrations {
  readonly #windowMs: number;
  readonly #max: number;
  readonly #now: Clock;
  /** key → arrival; Map order is arrival order (a repeat moves to the end). */
  readonly #at = new Map<string, number>();
  /** Arrival of the newest entry pushed out by the bound (-Infinity: none yet). */
  #evictedUpTo = Number.NEGATIVE_INFINITY;
  /** Marks before this may have missed announcements: none heard before the
   *  subscription was in place (start, the end of each outage). */
  #trustedFrom: number;
  /** The announcements' subscription is in place (connected). */
  #listening: boolean;
  /** Devices pushed out by the bound since start (a gauge's source). */
  evicted = 0;
  readonly #timeoutMs: number;
  /** Intents heard (key → when the last one arrived) whose announcement has not come
   *  yet; Map order is arrival order. At most `max`: past it the oldest is due at once. */
  readonly #pending = new Map<string, number>();
  /** Intents that came due without their announcement (key → when): marks before that
   *  get 'unconfirmed'. Kept `windowMs`, at most `max` (past it, as #at's bound). */
  readonly #unconfirmed = new Map<string, number>();
  /** Told the keys whose intents came due (the bus hands them to its listener). */
  #onDue: ((keys: string[]) => void) | null = null;
  #dueTimer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  /** Intents that came due without their announcement, since start. */
  unconfirmedCount = 0;

  constructor(opts: { windowMs?: number; max?: number; now?: Clock; listening?: boolean; intentTimeoutMs?: number } = {}) {
    this.#windowMs = opts.windowMs ?? UNREGISTERED_WINDOW_MS;
    this.#max = opts.max ?? MAX_UNREGISTERED;
    this.#now = opts.now ?? performance.now.bind(performance);
    this.#listening = opts.listening ?? false;
    this.#trustedFrom = this.#listening ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    this.#timeoutMs = opts.intentTimeoutMs ?? UNREGISTERING_TIMEOUT_MS;
  }

  get size(): number {
    return this.#at.size;
  }

  /** Intents waiting for their announcement. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Where the keys of intents that came due go (the bus: its listener's unconfirmed). */
  onDue(fn: (keys: string[]) => void): void {
    this.#onDue = fn;
  }

  /** A removal's intent arrived (heard again: its wait starts again). */
  intent(key: string): void {
    if (this.#closed) return;
    const now = this.#now();
    this.#pending.delete(key);
    this.#pending.set(key, now);
    // Past the bound the oldest is read for at once (a read too early may miss its
    // removal: ~1,600 removals a second over the deployment, docs/ARCHITECTURE.md).
    if (this.#pending.size > this.#max) this.#comeDue(now, true);
    this.#arm();
  }

  /** The intents past their timeout (or, `overflow`, the oldest one) become unconfirmed;
   *  their keys go to onDue. */
  #comeDue(now: number, overflow = false): void {
    const due: string[] = [];
    for (const [k, at] of this.#pending) {
      if (!overflow && now - at < this.#timeoutMs) break;
      this.#pending.delete(k);
      this.#unconfirmed.delete(k);
      this.#unconfirmed.set(k, now);
      due.push(k);
      if (overflow) break;
    }
    if (due.length === 0) return;
    this.unconfirmedCount += due.length;
    this.#prune(now);
    while (this.#unconfirmed.size > this.#max) {
      for (const [k, at] of this.#unconfirmed) {
        this.#unconfirmed.delete(k);
        if (at > this.#evictedUpTo) this.#evictedUpTo = at;
        this.evicted++;
        break;
      }
    }
    this.#onDue?.(due);
  }

  /** Checks the intents now (a clock of a test's own has no timer to follow). */
  checkIntents(): void {
    if (!this.#closed) this.#comeDue(this.#now());
  }

  /** One unref'd timer, for the oldest intent's timeout. */
  #arm(): void {
    if (this.#dueTimer !== null || this.#closed) return;
    let oldest: number | undefined;
    for (const at of this.#pending.values()) {
      oldest = at;
      break;
    }
    if (oldest === undefined) return;
    const wait = Math.max(10, Math.ceil(oldest + this.#timeoutMs - this.#now()) + 1);
    this.#dueTimer = setTimeout(() => {
      this.#dueTimer = null;
      this.checkIntents();
      this.#arm();
    }, wait);
    this.#dueTimer.unref?.();
  }

  /** The bus closed: no more timers. */
  close(): void {
    this.#closed = true;
    if (this.#dueTimer !== null) clearTimeout(this.#dueTimer);
    this.#dueTimer = null;
    this.#pending.clear();
  }

  /** Taken before an authentication's directory read. */
  mark(): number {
    return this.#now();
  }

  /** An announcement arrived. */
  note(key: string): void {
    const now = this.#now();
    this.#prune(now);
    this.#pending.delete(key);
    this.#unconfirmed.delete(key);
    this.#at.delete(key);
    this.#at.set(key, now);
    if (this.#at.size > this.#max) {
      for (const [k, at] of this.#at) {
        this.#at.delete(k);
        this.#evictedUpTo = at;
        this.evicted++;
        break;
      }
    }
  }

  /** See UnregisteredVerdict. */
  since(key: string, mark: number): UnregisteredVerdict {
    const now = this.#now();
    this.#prune(now);
    // Its intent came due unannounced after this authentication's read began: read at the leader.
    const due = this.#unconfirmed.get(key);
    if (due !== undefined && due >= mark) return 'unconfirmed';
    if (!this.#listening || mark < this.#trustedFrom || now - mark > this.#windowMs || mark <= this.#evictedUpTo) return 'unknown';
    const at = this.#at.get(key);
    // An intent still pending is 'none': this session is authenticated by the time it
    // comes due, and is read for then (the listener's unconfirmed), or hears the announcement.
    return at !== undefined && at >= mark ? 'announced' : 'none';
  }

  /** The subscription is lost (the connection is): every verdict is 'unknown' until
   *  listening() again. */
  lost(): void {
    this.#listening = false;
  }

  /** The subscription is in place (again): marks from `settleMs` on are trusted. A NATS
   *  cluster spreads the interest of a new SUB over its routes in milliseconds, and an
   *  announcement published elsewhere before it got there is not forwarded here. */
  listening(settleMs: number): void {
    this.#listening = true;
    this.#trustedFrom = this.#now() + settleMs;
  }

  #prune(now: number): void {
    const oldest = now - this.#windowMs;
    for (const [k, at] of this.#at) {
      if (at >= oldest) break;
      this.#at.delete(k);
    }
    for (const [k, at] of this.#unconfirmed) {
      if (at >= oldest) break;
      this.#unconfirmed.delete(k);
    }
  }
}

/** The keys of intents that came due unannounced, told to the relay's listener (both
 *  buses); a throw is logged (no key in the line). */
export function tellUnconfirmed(listener: UnregisteredListener | null, keys: string[], log: BusLogFn): void {
  try {
    listener?.unconfirmed?.(keys);
  } catch (e) {
    log('error', 'bus: unregistered listener threw', { error: e instanceof Error ? e.name : typeof e });
  }
}

/**
 * Removes devices from the directory (`remove`), their removal's intent announced first
 * (Bus.announceUnregistering, each confirmed by nats-server before `remove` starts) and
 * again every UNREGISTERING_RENEW_MS until `remove` settles. Should the intent fail
 * (NATS lost), nothing is removed: UNAVAILABLE, as the removal itself would fail. The
 * caller publishes the devices' `unregistered` once `remove` resolved; if it never does
 * (this process dies, its NATS connection is gone for good), every gateway reads the
 * devices' records itself UNREGISTERING_TIMEOUT_MS after the last intent.
 */
export async function announcedRemoval<T>(bus: Bus, keys: readonly { tag: string; devTok: string }[], remove: () => Promise<T>): Promise<T> {
  const announce = (): Promise<unknown> => Promise.all(keys.map((k) => bus.announceUnregistering(k.tag, k.devTok)));
  await announce();
  const renew = setInterval(() => { void announce().catch(() => undefined); }, UNREGISTERING_RENEW_MS);
  renew.unref?.();
  try {
    return await remove();
  } finally {
    clearInterval(renew);
  }
}

/** An announcement heard (both buses, after handing it to the device's subscriptions
 *  here): noted in `set`, then told to the relay's listener, whose throw is logged (no
 *  key in the line) rather than left to break the bus's subscription loop. */
export function hearUnregistered(set: RecentUnregistrations, listener: UnregisteredListener | null, key: string, log: BusLogFn): void {
  set.note(key);
  try {
    listener?.unregistered(key);
  } catch (e) {
    log('error', 'bus: unregistered listener threw', { error: e instanceof Error ? e.name : typeof e });
  }
}
