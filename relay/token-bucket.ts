// A token bucket: `capacity` tokens at most, refilled continuously at `ratePerSecond`.
// take(n) either removes n tokens and answers 0, or removes nothing and answers how
// many ms until n tokens will be there (the retry_after_ms a client is told).
//
// Hand-written on purpose: it is a few lines of arithmetic, and the npm limiters
// (`limiter`, `rate-limiter-flexible`, ...) are asynchronous, timer- or store-based and
// cannot answer "how long until n tokens" synchronously on the hot path without
// allocating. Time comes from an injected clock so tests need no sleeps.

export type Clock = () => number;

/** Milliseconds from a monotonic clock (immune to wall-clock steps). */
export const monotonicMs: Clock = () => performance.now();

export class TokenBucket {
  readonly capacity: number;
  readonly ratePerSecond: number;
  #tokens: number;
  #at: number;

  constructor(capacity: number, ratePerSecond: number, now: number) {
    if (!(capacity > 0) || !(ratePerSecond > 0)) throw new RangeError('token bucket capacity and rate must be positive');
    this.capacity = capacity;
    this.ratePerSecond = ratePerSecond;
    this.#tokens = capacity; // a new bucket starts full: the burst is available at once
    this.#at = now;
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#at) * this.ratePerSecond) / 1000);
    }
    this.#at = Math.max(this.#at, now); // a clock that goes back never mints tokens
  }

  /** 0 = taken; otherwise ms until n tokens are available (nothing taken). A request
   *  larger than the capacity can never pass: it gets the time to a full bucket, and
   *  callers must keep n <= capacity (config validation does). */
  take(n: number, now: number): number {
    this.#refill(now);
    if (this.#tokens >= n) {
      this.#tokens -= n;
      return 0;
    }
    const missing = Math.min(n, this.capacity) - this.#tokens;
    return Math.max(1, Math.ceil((missing * 1000) / this.ratePerSecond));
  }

  /** Puts n tokens back (up to the capacity): what a caller took for work that then
   *  did not happen (relay/verify-gate.ts: a code that certainly was not sent). */
  giveBack(n: number, now: number): void {
    this.#refill(now);
    this.#tokens = Math.min(this.capacity, this.#tokens + n);
  }

  /** True when the bucket is full again, i.e. it holds no information worth keeping. */
  isFull(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.capacity;
  }

  tokens(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }
}
