// A token bucket kept in the bus's shared counters (relay/bus/counters.ts: a JetStream KV
// record in NATS mode, compare-and-set; a Map on the embedded bus), so that every gateway
// of a deployment takes from the same bucket. It backs the verification code budget
// with --verify-start-scope cluster (relay/verify-gate.ts): what SMS pumping can cost is
// then one budget for the whole cluster, however many gateways run, instead of one per
// gateway.
//
// The record is {"t": tokens, "a": ms since the epoch they were counted at, "c" and "r":
// the random ids of the last few takes and give-backs} and nothing else. Each gateway refills it with its own wall clock (a clock behind the record's
// never mints tokens; skew between gateways shifts a refill by the skew, no more). A
// record that expires (COUNTER_TTL_MS, a day, after its last write) reads as a full
// bucket, which it would be by then at any rate of at least capacity per day.
//
// A take reads the record and, when a token is there, writes it back one lower with a
// compare-and-set, retried on a lost race. A refusal writes nothing, and a gateway that
// was refused does not read again until the wait it was told has passed: a pump that
// sends thousands of starts a second costs the store one read per gateway per refusal
// window, not one per start.
//
// Each take and give-back writes its random id into the record ("c", "r": the last
// MARKS of each), so that it is applied once: the NATS bus tries a counter write again
// after a fast failure, and when the first try had landed (its answer lost) the second
// meets it as a conflict; the loop then reads the record again and finds its id there
// instead of taking (or giving back) a second token. The discovery budgets do the same
// (relay/privacy/budget.ts).
import { randomBytes } from 'node:crypto';
import type { Bus } from './bus/bus.ts';
import { HushwireError, ErrorCode } from './errors.ts';
import type { Clock } from './token-bucket.ts';

const CAS_ATTEMPTS = 8;
/** Take and give-back ids a record keeps, each: enough for the operations made in the
 *  moment between a write and its second try. With 4 + 4 ids a record is ~130 bytes, well
 *  below what a counter write may carry (COUNTER_MAX_VALUE_BYTES less the KV header). */
const MARKS = 4;
const MARK_RE = /^[0-9a-f]{8}$/;
const te = new TextEncoder();
const td = new TextDecoder();

interface BucketRecord {
  t: number;
  a: number;
  /** Ids of the last MARKS takes (random, per take). */
  c?: string[];
  /** Ids of the last MARKS give-backs (random, per give-back). */
  r?: string[];
}

function decode(v: Uint8Array): BucketRecord | null {
  try {
    const o = JSON.parse(td.decode(v)) as Record<string, unknown>;
    const t = o['t'];
    const a = o['a'];
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || !Number.isSafeInteger(a)) return null;
    const r: BucketRecord = { t, a: a as number };
    // Ids kept only when well formed (a record without them is an older gateway's, and
    // still a good bucket).
    const marks = (x: unknown): x is string[] => Array.isArray(x) && x.length > 0 && x.length <= MARKS && x.every((m) => typeof m === 'string' && MARK_RE.test(m));
    if (marks(o['c'])) r.c = o['c'];
    if (marks(o['r'])) r.r = o['r'];
    return r;
  } catch {
    return null;
  }
}

function encode(r: BucketRecord): Uint8Array {
  // Tokens to a thousandth: the record stays a few bytes, and no rounding ever mints one.
  const o: BucketRecord = { t: Math.floor(r.t * 1000) / 1000, a: r.a };
  if (r.c !== undefined && r.c.length > 0) o.c = r.c.slice(-MARKS);
  if (r.r !== undefined && r.r.length > 0) o.r = r.r.slice(-MARKS);
  return te.encode(JSON.stringify(o));
}

const newMark = (): string => randomBytes(4).toString('hex');

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

  /** The bucket at `now`: the stored tokens refilled since they were counted (the
   *  record's ids kept). */
  #at(stored: BucketRecord | null, now: number): BucketRecord {
    if (stored === null) return { t: this.capacity, a: now };
    const t = now > stored.a ? Math.min(this.capacity, stored.t + ((now - stored.a) * this.ratePerSecond) / 1000) : Math.min(this.capacity, stored.t);
    return { ...stored, t, a: Math.max(stored.a, now) };
  }

  /** 0 = a token taken; otherwise ms until one is there (nothing taken). Throws
   *  UNAVAILABLE when the store fails or stays busy (nothing taken). */
  async take(): Promise<number> {
    const now = this.#now();
    if (now < this.#emptyUntil) return Math.max(1, Math.ceil(this.#emptyUntil - now));
    const id = newMark();
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const rec = await this.#bus.counterGet(this.#key);
      const stored = rec === null ? null : decode(rec.value);
      // Taken already: an earlier write of this take landed (its answer lost, the bus
      // tried again and met its own write as a conflict).
      if (stored?.c?.includes(id) === true) return 0;
      const b = this.#at(stored, this.#now());
      if (b.t < 1) {
        const waitMs = Math.max(1, Math.ceil(((1 - b.t) * 1000) / this.ratePerSecond));
        this.#emptyUntil = this.#now() + waitMs;
        return waitMs;
      }
      const rev = await this.#bus.counterPut(this.#key, encode({ ...b, t: b.t - 1, c: [...(b.c ?? []), id] }), rec === null ? 0 : rec.revision);
      if (rev !== null) return 0;
    }
    throw new HushwireError(ErrorCode.UNAVAILABLE, 'the shared verification code budget is busy; retry', { retryAfterMs: 250 });
  }

  /** Puts a token back (up to the capacity), once (also when its write is tried again
   *  after a lost answer). False when the store failed or stayed busy: the token then
   *  stays spent, which errs on the side of the budget. Never throws. */
  async giveBack(): Promise<boolean> {
    this.#emptyUntil = -Infinity;
    const id = newMark();
    try {
      for (let i = 0; i < CAS_ATTEMPTS; i++) {
        const rec = await this.#bus.counterGet(this.#key);
        const stored = rec === null ? null : decode(rec.value);
        // Given back already: an earlier write of this give-back landed (answer lost).
        if (stored?.r?.includes(id) === true) return true;
        const b = this.#at(stored, this.#now());
        if (b.t >= this.capacity) return true;
        const rev = await this.#bus.counterPut(this.#key, encode({ ...b, t: Math.min(this.capacity, b.t + 1), r: [...(b.r ?? []), id] }), rec === null ? 0 : rec.revision);
        if (rev !== null) return true;
      }
    } catch { /* the store failed: the token stays spent */ }
    return false;
  }
}
