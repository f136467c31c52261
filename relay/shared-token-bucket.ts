// A token bucket kept in the bus's shared counters (relay/bus/counters.ts: a JetStream KV
// record in NATS mode, compare-and-set; a Map on the embedded bus), so that every gateway
// of a deployment takes from the same bucket. It backs the verification code budget
// with --verify-start-scope cluster (relay/verify-gate.ts): what SMS pumping can cost is
// then one budget for the whole cluster, however many gateways run, instead of one per
// gateway.
//
// The record is {"t": tokens, "a": ms since the epoch they were counted at} and nothing
// else. Each gateway refills it with its own wall clock (a clock behind the record's
// never mints tokens; skew between gateways shifts a refill by the skew, no more). A
// record that expires (COUNTER_TTL_MS, a day, after its last write) reads as a full
// bucket, which it would be by then at any rate of at least capacity per day.
//
// A take reads the record and, when a token is there, writes it back one lower with a
// compare-and-set, retried on a lost race. A refusal writes nothing, and a gateway that
// was refused does not read again until the wait it was told has passed: a pump that
// sends thousands of starts a second costs the store one read per gateway per refusal
// window, not one per start.
import type { Bus } from './bus/bus.ts';
import { HushwireError, ErrorCode } from './errors.ts';
import type { Clock } from './token-bucket.ts';

const CAS_ATTEMPTS = 8;
const te = new TextEncoder();
const td = new TextDecoder();

interface BucketRecord {
  t: number;
  a: number;
}

function decode(v: Uint8Array): BucketRecord | null {
  try {
    const o = JSON.parse(td.decode(v)) as Record<string, unknown>;
    const t = o['t'];
    const a = o['a'];
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || !Number.isSafeInteger(a)) return null;
    return { t, a: a as number };
  } catch {
    return null;
  }
}

function encode(r: BucketRecord): Uint8Array {
  // Tokens to a thousandth: the record stays a few bytes, and no rounding ever mints one.
  return te.encode(JSON.stringify({ t: Math.floor(r.t * 1000) / 1000, a: r.a }));
}

export class SharedTokenBucket {
  readonly capacity: number;
  readonly ratePerSecond: number;
  readonly #bus: Bus;
  readonly #key: string;
  readonly #now: Clock;
  /** Refused until this time (this gateway's clock): no read before it. */
  #emptyUntil = -Infinity;

  /** `key` is a counter key (`<kind>.<32 hex>`); `now` is wall-clock ms (every gateway's
   *  clock must tell the same time, give or take their skew). */
  constructor(bus: Bus, key: string, capacity: number, ratePerSecond: number, now: Clock = Date.now) {
    if (!(capacity > 0) || !(ratePerSecond > 0)) throw new RangeError('token bucket capacity and rate must be positive');
    this.#bus = bus;
    this.#key = key;
    this.capacity = capacity;
    this.ratePerSecond = ratePerSecond;
    this.#now = now;
  }

  /** The bucket at `now`: the stored tokens refilled since they were counted. */
  #at(stored: BucketRecord | null, now: number): BucketRecord {
    if (stored === null) return { t: this.capacity, a: now };
    const t = now > stored.a ? Math.min(this.capacity, stored.t + ((now - stored.a) * this.ratePerSecond) / 1000) : Math.min(this.capacity, stored.t);
    return { t, a: Math.max(stored.a, now) };
  }

  /** 0 = a token taken; otherwise ms until one is there (nothing taken). Throws
   *  UNAVAILABLE when the store fails or stays busy (nothing taken). */
  async take(): Promise<number> {
    const now = this.#now();
    if (now < this.#emptyUntil) return Math.max(1, Math.ceil(this.#emptyUntil - now));
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const rec = await this.#bus.counterGet(this.#key);
      const b = this.#at(rec === null ? null : decode(rec.value), this.#now());
      if (b.t < 1) {
        const waitMs = Math.max(1, Math.ceil(((1 - b.t) * 1000) / this.ratePerSecond));
        this.#emptyUntil = this.#now() + waitMs;
        return waitMs;
      }
      const rev = await this.#bus.counterPut(this.#key, encode({ t: b.t - 1, a: b.a }), rec === null ? 0 : rec.revision);
      if (rev !== null) return 0;
    }
    throw new HushwireError(ErrorCode.UNAVAILABLE, 'the shared verification code budget is busy; retry', { retryAfterMs: 250 });
  }

  /** Puts a token back (up to the capacity). False when the store failed or stayed busy:
   *  the token then stays spent, which errs on the side of the budget. Never throws. */
  async giveBack(): Promise<boolean> {
    this.#emptyUntil = -Infinity;
    try {
      for (let i = 0; i < CAS_ATTEMPTS; i++) {
        const rec = await this.#bus.counterGet(this.#key);
        const b = this.#at(rec === null ? null : decode(rec.value), this.#now());
        if (b.t >= this.capacity) return true;
        const rev = await this.#bus.counterPut(this.#key, encode({ t: Math.min(this.capacity, b.t + 1), a: b.a }), rec === null ? 0 : rec.revision);
        if (rev !== null) return true;
      }
    } catch { /* the store failed: the token stays spent */ }
    return false;
  }
}
