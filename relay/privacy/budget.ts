// Fixed-window budgets kept in the bus's shared counters (relay/bus/counters.ts), so
// every gateway charges the same budget: a device cannot get a fresh one by moving to
// another gateway. A counter record is {"s": window start ms, "n": used, "f": 1 for a
// device's first-sync window} and nothing else: no number, no route, no device id.
//
// Charging is a compare-and-set loop per key; a request charged to several keys
// (a device and its route) is all or nothing: when a later key is over budget, the
// earlier ones are refunded. A charge can also be given back later (`refund`), the
// same way: a verification code the verifier never sent (relay/session.ts).
import type { Bus } from '../bus/bus.ts';
import { HushwireError, ErrorCode } from '../errors.ts';

export interface WindowRecord {
  /** Window start (ms since the epoch); the window is [s, s + windowMs). */
  s: number;
  /** Units used in it. */
  n: number;
  /** 1 = a device's first-sync window (starts at registration). */
  f?: 1;
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
  /** Which limit this is, for the metric label and the error text. */
  label: string;
}

const CAS_ATTEMPTS = 8;
const te = new TextEncoder();
const td = new TextDecoder();

export function encodeWindow(w: WindowRecord): Uint8Array {
  return te.encode(JSON.stringify(w.f === 1 ? { s: w.s, n: w.n, f: 1 } : { s: w.s, n: w.n }));
}

/** null for anything malformed (treated as no window: a fresh one opens). */
export function decodeWindow(v: Uint8Array): WindowRecord | null {
  try {
    const o = JSON.parse(td.decode(v)) as Record<string, unknown>;
    if (!Number.isSafeInteger(o['s']) || !Number.isSafeInteger(o['n']) || (o['n'] as number) < 0) return null;
    return o['f'] === 1 ? { s: o['s'] as number, n: o['n'] as number, f: 1 } : { s: o['s'] as number, n: o['n'] as number };
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

export class RateLimited extends HushwireError {
  readonly label: string;
  constructor(label: string, retryAfterMs: number) {
    super(ErrorCode.RATE_LIMITED, `${label} budget used up; retry later`, { retryAfterMs });
    this.label = label;
  }
}

export class SharedBudgets {
  readonly #bus: Bus;
  readonly #windowMs: number;

  constructor(bus: Bus, windowMs: number) {
    this.#bus = bus;
    this.#windowMs = windowMs;
  }

  /** Takes every charge or none. Throws RateLimited (RATE_LIMITED with retry_after_ms:
   *  when the exhausted window ends) or UNAVAILABLE. */
  async charge(specs: ChargeSpec[], now = Date.now()): Promise<void> {
    const done: ChargeSpec[] = [];
    try {
      for (const spec of specs) {
        await this.#take(spec, now);
        done.push(spec);
      }
    } catch (e) {
      await Promise.all(done.map((d) => this.#refund(d, now).catch(() => false)));
      throw e;
    }
  }

  /** Gives back charges `charge(specs, now)` took, with the same `now`. Resolves true
   *  when they no longer count (given back, or their window is over), false when one
   *  could not be given back (the store busy or down): that charge simply stays, as if
   *  the request had used it, which errs on the side of the budget. Never throws, never
   *  takes a counter below zero, and never touches a window that started more than
   *  CLOCK_SKEW_MS after the charge. */
  async refund(specs: ChargeSpec[], now: number): Promise<boolean> {
    const results = await Promise.all(specs.map((spec) => this.#refund(spec, now).catch(() => false)));
    return results.every((ok) => ok);
  }

  async #take(spec: ChargeSpec, now: number): Promise<void> {
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const rec = await this.#bus.counterGet(spec.key);
      const stored = rec === null ? null : decodeWindow(rec.value);
      const w = windowAt(stored, now, this.#windowMs, spec.fresh);
      if (w.n + spec.n > spec.limit(w)) {
        throw new RateLimited(spec.label, Math.max(1, w.s + this.#windowMs - now));
      }
      const next: WindowRecord = { ...w, n: w.n + spec.n };
      const rev = await this.#bus.counterPut(spec.key, encodeWindow(next), rec === null ? 0 : rec.revision);
      if (rev !== null) return;
    }
    throw new HushwireError(ErrorCode.UNAVAILABLE, 'rate-limit store busy, retry', { retryAfterMs: 250 });
  }

  /** Gives back a charge taken at `now`, in that window only: compare-and-set like
   *  #take, so a refund racing charges or other refunds never loses one of them. False
   *  when every attempt lost the race (the charge stays). */
  async #refund(spec: ChargeSpec, now: number): Promise<boolean> {
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const rec = await this.#bus.counterGet(spec.key);
      const w = rec === null ? null : decodeWindow(rec.value);
      // The record expired, or a new window opened since: nothing of this charge is left.
      if (rec === null || w === null || !inWindow(w, now, this.#windowMs)) return true;
      const rev = await this.#bus.counterPut(spec.key, encodeWindow({ ...w, n: Math.max(0, w.n - spec.n) }), rec.revision);
      if (rev !== null) return true;
    }
    return false;
  }
}
