// Lame-duck drain, the part that moves devices away: every open session is sent a
// `reconnect { retry_after_ms, reason }` op and closed with 4005 DRAINING, at most
// `ratePerSecond` sessions per second (paced by a token bucket, checked every tick), so
// the gateways that take them over see a bounded arrival rate; each device is also told
// to wait a random 0..jitterMs before reconnecting, which spreads them further.
// Stops when no session is left or at the deadline; whoever called it closes the rest.
import { TokenBucket, type Clock, monotonicMs } from '../relay/token-bucket.ts';

export interface Movable {
  reconnectElsewhere(retryAfterMs: number, reason: string): void;
}

export interface MoveAwayOptions {
  /** The sessions still open (re-read every tick: closed ones drop out). */
  sessions: () => Iterable<Movable>;
  count: () => number;
  ratePerSecond: number;
  /** Absolute time (on `now`'s clock) to give up. */
  deadline: number;
  /** Upper bound of the random delay each device is told to wait. */
  jitterMs: number;
  tickMs?: number;
  now?: Clock;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface MoveAwayResult {
  moved: number;
  /** Sessions still open at the deadline. */
  left: number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function moveSessionsAway(o: MoveAwayOptions): Promise<MoveAwayResult> {
  const now = o.now ?? monotonicMs;
  const random = o.random ?? Math.random;
  const sleep = o.sleep ?? defaultSleep;
  const tickMs = o.tickMs ?? Math.max(10, Math.min(100, Math.floor(1000 / o.ratePerSecond)));
  // Burst of one tick's worth: the first tick moves as many as later ones.
  const bucket = new TokenBucket(Math.max(1, (o.ratePerSecond * tickMs) / 1000), o.ratePerSecond, now());
  let moved = 0;
  while (o.count() > 0 && now() < o.deadline) {
    for (const s of [...o.sessions()]) {
      if (bucket.take(1, now()) > 0) break;
      s.reconnectElsewhere(Math.floor(random() * o.jitterMs), 'draining');
      moved++;
    }
    if (o.count() === 0) break;
    await sleep(Math.max(1, Math.min(tickMs, o.deadline - now())));
  }
  return { moved, left: o.count() };
}

/** Resolves true once count() is 0, false at the deadline (polls; nothing to subscribe to). */
export async function waitForZero(count: () => number, deadline: number, o: { now?: Clock; sleep?: (ms: number) => Promise<void>; pollMs?: number } = {}): Promise<boolean> {
  const now = o.now ?? monotonicMs;
  const sleep = o.sleep ?? defaultSleep;
  while (count() > 0) {
    const left = deadline - now();
    if (left <= 0) return false;
    await sleep(Math.min(o.pollMs ?? 20, left));
  }
  return true;
}
