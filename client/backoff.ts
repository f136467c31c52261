// Full-jitter exponential backoff (AWS architecture blog, "Exponential Backoff And
// Jitter"): delay = random(0, min(cap, base * 2^attempt)). Full jitter spreads a herd of
// handsets that lost the same gateway at the same instant across the whole window, so
// the surviving gateways do not see a synchronized reconnect storm.

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, capMs: 10_000 };

/** Upper bound of the window for `attempt` (0-based); never above capMs. */
export function backoffCeiling(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  // Clamp the exponent: 2^31 * 250 ms already overflows any sane cap, and a huge
  // attempt count must not turn into Infinity * 0 = NaN.
  const exp = Math.min(Math.max(0, Math.floor(attempt)), 30);
  return Math.min(opts.capMs, opts.baseMs * 2 ** exp);
}

/** A delay in [0, backoffCeiling(attempt)], uniformly distributed. */
export function fullJitterDelay(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * backoffCeiling(attempt, opts));
}
