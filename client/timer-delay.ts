// The longest delay a timer keeps. setTimeout fires a delay over 2^31 − 1 ms (24.8 days),
// or a non-finite one, after 1 ms, with a warning: a gateway's uint32 retry_after_ms (up
// to 49.7 days) or an app's "30 days" timeout would then run at once instead of late.
// Every timer of the client whose delay comes from the wire or from an option goes
// through timerDelay.

export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` as a timer can wait it: at least 0, at most MAX_TIMER_MS (non-finite: the most). */
export function timerDelay(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_TIMER_MS) : MAX_TIMER_MS;
}
