// Fixed-window budgets kept in the bus's shared counters (relay/bus/counters.ts), so
// every gateway charges the same budget: a device cannot get a fresh one by moving to
// another gateway. A counter record is {"s": window start ms, "n": used, "f": 1 for a
// device's first-sync window, "c" and "r": the random ids of the window's last few
// charges and refunds} and nothing else: no number, no route, no device id.
//
// Charging is a compare-and-set loop per key; a request charged to several keys
// (a device and its route) is all or nothing: when a later key is over budget, the
// earlier ones are refunded. A charge can also be given back later (`refund`), the
// same way: a verification code the verifier never sent (relay/session.ts). A refund
// is tied to its charge: it comes off the very window the charge went into (never a
// later one, which that charge did not use) and at most once, also when its write is
// tried again after a lost answer (the refund's id in "r" says it landed). A charge
// whose write is tried again that way counts once too (its id in "c").
import { randomBytes } from 'node:crypto';
import type { Bus } from '../bus/bus.ts';
import { HushwireError, ErrorCode } from '../errors.ts';

export interface WindowRecord {
  /** Window start (ms since the epoch); the window is [s, s + windowMs). */
  s: number;
  /** Units used in it. */
  n: number;
  /** 1 = a device's first-sync window (starts at registration). */
  f?: 1;
  /** Ids of the last REFUND_MARKS charges taken in this window (random, per charge). */
  c?: string[];
  /** Ids of the last REFUND_MARKS refunds made in this window (random, per charge). */
  r?: string[];
}

export interface ChargeSpec {
  /** Bus counter key `<kind>.<token>`. */
  key: string;
  /** Units to take (at least 1). */
  n: number;
  /** Budget of the window in force. */
  limit: (w: WindowRecord) => number;
  /** The window to open when none is in force at `now`. */
  fresh: (now: number) => WindowRecord;
  /** Which limit this is: the metric label (hushwire_rate_limited_total{limit}), never
   *  said to the client. */
  label: string;
  /** The refusal's message on the wire, in plain words (a user reads it: the CLI prints
   *  it), given the limit of the window in force and that window; never a number, key or
   *  id. Without it, "rate budget used up". */
  refusal?: (limit: number, w: WindowRecord) => string;
}

const CAS_ATTEMPTS = 8;
/** Charge and refund ids a record keeps, each: enough for the charges (refunds) of one
 *  key made in the moment between a write and its second try (a lost answer, retried).
 *  A record must stay well below COUNTER_MAX_VALUE_BYTES: NATS counts the KV update's
 *  header (the expected revision, ~50-70 bytes) against the bucket's max value size, so
 *  a value over ~190 bytes fails to write (UNAVAILABLE). With 4 + 4 ids a record is 137
 *  bytes at most; RECORD_MAX_BYTES is the bound encodeWindow keeps to regardless. */
export const REFUND_MARKS = 4;
export const RECORD_MAX_BYTES = 160;
const MARK_RE = /^[0-9a-f]{8}$/;
const te = new TextEncoder();
const td = new TextDecoder();

export function encodeWindow(w: WindowRecord): Uint8Array {
  const o: WindowRecord = w.f === 1 ? { s: w.s, n: w.n, f: 1 } : { s: w.s, n: w.n };
  if (w.c !== undefined && w.c.length > 0) o.c = w.c.slice(-REFUND_MARKS);
  if (w.r !== undefined && w.r.length > 0) o.r = w.r.slice(-REFUND_MARKS);
  let out = te.encode(JSON.stringify(o));
  // Never past the bound (ids are the first to go, oldest first; the count never).
  while (out.length > RECORD_MAX_BYTES && ((o.c?.length ?? 0) > 0 || (o.r?.length ?? 0) > 0)) {
    if ((o.c?.length ?? 0) >= (o.r?.length ?? 0)) o.c = o.c!.slice(1); else o.r = o.r!.slice(1);
    if (o.c?.length === 0) delete o.c;
    if (o.r?.length === 0) delete o.r;
    out = te.encode(JSON.stringify(o));
  }
  return out;
}

/** null for anything malformed (treated as no window: a fresh one opens). */
export function decodeWindow(v: Uint8Array): WindowRecord | null {
  try {
    const o = JSON.parse(td.decode(v)) as Record<string, unknown>;
    if (!Number.isSafeInteger(o['s']) || !Number.isSafeInteger(o['n']) || (o['n'] as number) < 0) return null;
    const w: WindowRecord = o['f'] === 1 ? { s: o['s'] as number, n: o['n'] as number, f: 1 } : { s: o['s'] as number, n: o['n'] as number };
    // Charge and refund ids: kept only when well formed (a record without them is an
    // older gateway's, and still a good window).
    const marks = (x: unknown): x is string[] => Array.isArray(x) && x.length > 0 && x.length <= REFUND_MARKS && x.every((m) => typeof m === 'string' && MARK_RE.test(m));
    if (marks(o['c'])) w.c = o['c'];
    if (marks(o['r'])) w.r = o['r'];
    return w;
  } catch {
    return null;
  }
}

/** How far in a gateway's future a stored window may start and still be the window in
 *  force: every gateway reads the record with its own wall clock, and one whose clock is
 *  behind the gateway that opened the window must charge that window, not open a fresh
 *  one over it (which gave the budget again). Far above the skew of clocks kept by NTP,
 *  far below the window. */
export const CLOCK_SKEW_MS = 60_000;

/** The window in force at `now`: the stored one while it lasts, else a fresh one. */
export function windowAt(stored: WindowRecord | null, now: number, windowMs: number, fresh: (now: number) => WindowRecord): WindowRecord {
  if (stored !== null && inWindow(stored, now, windowMs)) return stored;
  return fresh(now);
}

/** `now` falls in the stored window, or at most CLOCK_SKEW_MS before it starts. */
function inWindow(w: WindowRecord, now: number, windowMs: number): boolean {
  return now >= w.s - Math.min(CLOCK_SKEW_MS, windowMs) && now < w.s + windowMs;
}

/** A budget's refusal: RATE_LIMITED with the spec's plain message (its `refusal`) and
 *  retry_after_ms; `label` is for the metric only. */
export class RateLimited extends HushwireError {
  readonly label: string;
  constructor(label: string, message: string, retryAfterMs: number) {
    super(ErrorCode.RATE_LIMITED, message, { retryAfterMs });
    this.label = label;
  }
}

/** What `charge` took, to give back with `refund`: the specs, the start of the window
 *  each was charged in, and the charge's random id. Opaque to callers. */
export interface Charge {
  readonly specs: readonly ChargeSpec[];
  readonly windows: readonly number[];
  readonly id: string;
}

export class SharedBudgets {
  readonly #bus: Bus;
  readonly #windowMs: number;
  /** Refunds made or under way, per charge: a second call gets the first one's outcome
   *  (unless that one failed: then it tries again, which the record's ids make safe). */
  readonly #refunds = new WeakMap<Charge, Promise<boolean>>();

  constructor(bus: Bus, windowMs: number) {
    this.#bus = bus;
    this.#windowMs = windowMs;
  }

  /** Takes every charge or none. Resolves with the charge (for `refund`); throws
   *  RateLimited (RATE_LIMITED with retry_after_ms: when the exhausted window ends) or
   *  UNAVAILABLE. */
  async charge(specs: ChargeSpec[], now = Date.now()): Promise<Charge> {
    const id = randomBytes(4).toString('hex');
    const done: ChargeSpec[] = [];
    const windows: number[] = [];
    try {
      for (const spec of specs) {
        windows.push(await this.#take(spec, now, id));
        done.push(spec);
      }
    } catch (e) {
      await Promise.all(done.map((d, i) => this.#refund(d, windows[i]!, id).catch(() => false)));
      throw e;
    }
    return Object.freeze({ specs: Object.freeze([...specs]), windows: Object.freeze(windows), id });
  }

  /** Gives back a charge `charge` took. Resolves true when it no longer counts (given
   *  back, given back before, or its window is over), false when some of it could not be
   *  given back (the store busy or down): that part simply stays, as if the request had
   *  used it, which errs on the side of the budget. Never throws, never takes a counter
   *  below zero, never touches a window other than the one charged (a later window,
   *  opened since, did not get this charge), and gives a charge back at most once: a
   *  second call, or the bus's second try of a write whose answer was lost, finds the
   *  charge's id among the record's refunds. */
  refund(charge: Charge): Promise<boolean> {
    const made = this.#refunds.get(charge);
    if (made !== undefined) return made;
    const p = Promise.all(charge.specs.map((spec, i) => this.#refund(spec, charge.windows[i]!, charge.id).catch(() => false)))
      .then((results) => results.every((ok) => ok));
    this.#refunds.set(charge, p);
    void p.then((ok) => { if (!ok && this.#refunds.get(charge) === p) this.#refunds.delete(charge); });
    return p;
  }

  /** Charges one spec for charge `id`; resolves with the start of the window charged. */
  async #take(spec: ChargeSpec, now: number, id: string): Promise<number> {
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const rec = await this.#bus.counterGet(spec.key);
      const stored = rec === null ? null : decodeWindow(rec.value);
      // Taken already: an earlier write of this charge landed (its answer lost, the bus
      // tried again and met its own write as a conflict).
      if (stored !== null && stored.c?.includes(id) === true) return stored.s;
      const w = windowAt(stored, now, this.#windowMs, spec.fresh);
      const limit = spec.limit(w);
      if (w.n + spec.n > limit) {
        throw new RateLimited(spec.label, spec.refusal?.(limit, w) ?? 'rate budget used up', Math.max(1, w.s + this.#windowMs - now));
      }
      const next: WindowRecord = { ...w, n: w.n + spec.n, c: [...(w.c ?? []), id].slice(-REFUND_MARKS) };
      const rev = await this.#bus.counterPut(spec.key, encodeWindow(next), rec === null ? 0 : rec.revision);
      if (rev !== null) return w.s;
    }
    throw new HushwireError(ErrorCode.UNAVAILABLE, 'rate-limit store busy, retry', { retryAfterMs: 250 });
  }

  /** Gives back one spec of charge `id`, taken in the window that started at
   *  `windowStart`, in that window only: compare-and-set like #take, so a refund racing
   *  charges or other refunds never loses one of them, and marked with `id`, so that it
   *  is made once. False when every attempt lost the race (the charge stays). */
  async #refund(spec: ChargeSpec, windowStart: number, id: string): Promise<boolean> {
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const rec = await this.#bus.counterGet(spec.key);
      const w = rec === null ? null : decodeWindow(rec.value);
      // The record expired, or another window opened since (by this gateway's clock or
      // one ahead of it: CLOCK_SKEW_MS): nothing of this charge is left to give back.
      if (rec === null || w === null || w.s !== windowStart) return true;
      // Given back already: an earlier write of this refund landed (its answer lost, the
      // bus tried again and met its own write as a conflict), or a second call.
      if (w.r?.includes(id) === true) return true;
      const next: WindowRecord = { ...w, n: Math.max(0, w.n - spec.n), r: [...(w.r ?? []), id].slice(-REFUND_MARKS) };
      const rev = await this.#bus.counterPut(spec.key, encodeWindow(next), rec.revision);
      if (rev !== null) return true;
    }
    return false;
  }
}
