// Pacing of a client's lookups (evaluate and lookup ops: a send's lookups, discover(),
// safety numbers, sender checks, the own-number look), as its sends are paced
// (client/outgoing.ts SendPacer): a lookup the gateway refuses whole, RATE_LIMITED or
// UNAVAILABLE (its answer to the op, opPacesStream), slows every lookup of the client of
// its kind: with retry_after_ms they go out that far apart, without it an equal-jitter
// backoff apart (SendPacer.refused), until none was refused for 2 s. Evaluate ops and
// lookup ops have a pacer each: the gateway's lookup work in flight is refused for
// either, but only evaluations are charged to the device's discovery budget, whose
// refusal (retry_after_ms until the budget's window ends, often hours) must not hold
// the lookups of routes already known (a send to a known contact) for a minute. The refused lookup itself
// asks again after the longer of retry_after_ms and its backoff, in its paced turn,
// until its deadline. Before, each refused lookup failed (discover, safetyNumber, ...)
// or retried on its own backoff (a send's), so many lookups at once at a busy gateway
// came back together and were refused again.
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import type { OpProps } from '../relay/wire.ts';
import { fullJitterDelay } from './backoff.ts';
import { SendPacer, opPacesStream, type SendStop } from './outgoing.ts';
import { timerDelay } from './timer-delay.ts';
import type { OpBuilder } from './connection-core.ts';

/** The most lookups one client holds back at once, waiting for their paced turn or for
 *  their retry after a refusal. One more fails at once (paceLookups). */
export const MAX_WAITING_LOOKUPS = 256;

/** The backoff of a refused lookup's retry: a send's (250 ms doubling to 5 s, full jitter). */
const RETRY_BACKOFF = { baseMs: 250, capMs: 5_000 };

export type PacedRequester = (op: OpBuilder, timeoutMs?: number) => Promise<OpProps>;

export interface LookupPacingOptions {
  /** Sends one op (the connection's request), answering within timeoutMs. */
  request: (op: OpBuilder, timeoutMs: number) => Promise<OpProps>;
  /** The deadline of a lookup, waits and retries included; a shorter timeoutMs given
   *  with the op (a send's time left) is kept instead. */
  requestTimeoutMs: number;
  /** One pacer for evaluate ops, one for lookup ops (new ones by default). */
  pacers?: { evaluate: SendPacer; lookup: SendPacer };
  /** MAX_WAITING_LOOKUPS by default. */
  maxWaiting?: number;
  /** The client's stop: a waiting lookup fails with its reason at once. */
  stop?: SendStop;
  random?: () => number;
}

/**
 * What a lookup does before it goes out, given how long its paced turn is away (`wait`,
 * SendPacer.peek), its deadline and how many lookups are held back already: 'go' (now,
 * or after `wait`), 'deadline' (its turn would come at or after its deadline: it fails
 * at once rather than wait for nothing), 'full' (MAX_WAITING_LOOKUPS are held back
 * already: it fails at once, never sent). A lookup that need not wait always goes.
 */
export function lookupTurn(wait: number, now: number, deadline: number, waiting: number, maxWaiting: number): 'go' | 'deadline' | 'full' {
  if (wait <= 0) return 'go';
  if (now + wait >= deadline) return 'deadline';
  if (waiting >= maxWaiting) return 'full';
  return 'go';
}

/**
 * Wraps `request` for lookup ops: each waits for its turn while the gateway refuses the
 * client's lookups of its kind (evaluate, lookup), tells its kind's pacer of each whole-op refusal (opPacesStream: the
 * gateway's own RATE_LIMITED or UNAVAILABLE answer, with or without retry_after_ms; the
 * SDK's own errors never pace), and asks again after max(retry_after_ms, full-jitter
 * backoff) and its turn, until its deadline (requestTimeoutMs from its call, or the
 * shorter timeoutMs given). Ends with the last refusal when the next try could not be
 * made before the deadline. At most maxWaiting lookups are held back at once; one more,
 * or one whose turn would come past its deadline, fails at once without being sent,
 * with the code of the gateway's last refusal (RATE_LIMITED when the pacer was engaged
 * otherwise) and retryAfterMs the wait it would have had.
 */
export function paceLookups(opts: LookupPacingOptions): PacedRequester {
  const pacers = opts.pacers ?? { evaluate: new SendPacer(), lookup: new SendPacer() };
  const maxWaiting = opts.maxWaiting ?? MAX_WAITING_LOOKUPS;
  const random = opts.random ?? Math.random;
  let waiting = 0;
  let lastCode: string = ErrorCode.RATE_LIMITED;

  const hold = async (ms: number): Promise<void> => {
    waiting++;
    try {
      if (opts.stop) await opts.stop.sleep(ms);
      else await new Promise((r) => setTimeout(r, timerDelay(ms)));
    } finally {
      waiting--;
    }
    if (opts.stop?.reason) throw opts.stop.reason;
  };

  return async (op, timeoutMs) => {
    const pacer = typeof op === 'object' && op.evaluate ? pacers.evaluate : pacers.lookup;
    const budget = timeoutMs === undefined ? opts.requestTimeoutMs : Math.min(timeoutMs, opts.requestTimeoutMs);
    const deadline = Date.now() + budget;
    for (let attempt = 1; ; attempt++) {
      const now = Date.now();
      const wait = pacer.peek(now);
      const turn = lookupTurn(wait, now, deadline, waiting, maxWaiting);
      if (turn === 'deadline') {
        throw new HushwireError(lastCode === ErrorCode.UNAVAILABLE ? ErrorCode.UNAVAILABLE : ErrorCode.RATE_LIMITED,
          `lookup not sent: the gateway is refusing this client's lookups (${lastCode}), and its turn would come only after its deadline`, { retryAfterMs: wait });
      }
      if (turn === 'full') {
        throw new HushwireError(ErrorCode.RATE_LIMITED,
          `lookup not sent: ${maxWaiting} lookups of this client are already waiting for their turn while the gateway refuses them (${lastCode}); try again later`, { retryAfterMs: wait });
      }
      const slot = pacer.delay(now);
      if (slot > 0) await hold(slot);
      const sentAt = Date.now();
      const left = deadline - sentAt;
      if (left <= 0) throw new HushwireError(ErrorCode.TIMEOUT, 'request timed out');
      try {
        return await opts.request(op, left);
      } catch (e) {
        if (!opPacesStream(e)) throw e;
        lastCode = e.code;
        pacer.refused(e.retryAfterMs, sentAt, random);
        const backoff = Math.max(e.retryAfterMs, fullJitterDelay(attempt, RETRY_BACKOFF, random));
        if (Date.now() + backoff >= deadline || waiting >= maxWaiting) throw e;
        await hold(backoff);
      }
    }
  };
}
