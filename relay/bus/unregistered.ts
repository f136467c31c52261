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

import type { UnregisteredListener } from './bus.ts';
import type { BusLogFn } from './common.ts';

/** 'announced': the device's announcement arrived since the mark (it left the directory
 *  after the read began). 'none': none did, and none can have been missed. 'unknown':
 *  one may have been missed (no connection to the announcements, a reconnect since the
 *  mark, the mark older than the window, or the set over its bound since the mark). */
export type UnregisteredVerdict = 'announced' | 'none' | 'unknown';

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

  constructor(opts: { windowMs?: number; max?: number; now?: Clock; listening?: boolean } = {}) {
    this.#windowMs = opts.windowMs ?? UNREGISTERED_WINDOW_MS;
    this.#max = opts.max ?? MAX_UNREGISTERED;
    this.#now = opts.now ?? performance.now.bind(performance);
    this.#listening = opts.listening ?? false;
    this.#trustedFrom = this.#listening ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }

  get size(): number {
    return this.#at.size;
  }

  /** Taken before an authentication's directory read. */
  mark(): number {
    return this.#now();
  }

  /** An announcement arrived. */
  note(key: string): void {
    const now = this.#now();
    this.#prune(now);
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
    if (!this.#listening || mark < this.#trustedFrom || now - mark > this.#windowMs || mark <= this.#evictedUpTo) return 'unknown';
    const at = this.#at.get(key);
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
