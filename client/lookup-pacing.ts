// Pacing of a client's lookups (evaluate and lookup ops: a send's lookups, discover(),
// safety numbers, sender checks, the own-number look), as its sends are paced
// (client/outgoing.ts SendPacer): a lookup the gateway refuses whole, RATE_LIMITED or
// UNAVAILABLE (its answer to the op, opPacesStream), slows every lookup of the client of
// its kind: with retry_after_ms they go out that far apart, without it an equal-jitter
// backoff apart (SendPacer.refused), until none was refused for 2 s and none waits in
// its queue: lookups go out in the order they were asked, a new one behind those
// waiting (first in, first out; a refused one asks again behind those waiting when its
// backoff ends). Evaluate ops and
// lookup ops have a pacer each: the gateway's lookup work in flight is refused for
// either, but only evaluations are charged to the device's discovery budget, whose
// refusal (retry_after_ms until the budget's window ends, often hours) must not hold
// the lookups of routes already known (a send to a known contact) for a minute. The refused lookup itself
// asks again after the longer of retry_after_ms and its backoff, in its paced turn,
// until its deadline; one that gives up, or is held back unsent, fails with the gateway's
// refusal, its message and its time to wait (paceLookups, pacedOut). Before, each refused lookup failed (discover, safetyNumber, ...)
// or retried on its own backoff (a send's), so many lookups at once at a busy gateway
// came back together and were refused again.
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import type { OpProps } from '../relay/wire.ts';
import { fullJitterDelay } from './backoff.ts';
import { SendPacer, opPacesStream, type SendStop } from './outgoing.ts';
import { timerDelay } from './timer-delay.ts';
import type { OpBuilder } from './connection-core.ts';

const isTimeout = (e: unknown): boolean => e instanceof HushwireError && e.code === ErrorCode.TIMEOUT;

/** The most lookups one client holds back at once, waiting for their paced turn or for
 *  their retry after a refusal, unless ClientOptions.maxWaitingLookups says otherwise
 *  (an app importing a large address book or a bot may want more, a small device
 *  fewer). One more fails at once, RATE_LIMITED (paceLookups, pacedOut). */
export const MAX_WAITING_LOOKUPS = 256;

/** The largest ClientOptions.maxWaitingLookups open() takes (a larger one is
 *  BAD_REQUEST, as is one that is not an integer of 1 or more), as many as the client's
 *  other large bounds (MAX_DISCOVER numbers per discover(), 10,000 messages queued): each
 *  waiting lookup holds its op (a discover's evaluate: up to 500 blinded numbers), its
 *  caller's state and a timer in memory, all while the gateway is refusing this client's
 *  lookups, and none goes out sooner for waiting in a longer queue. */
export const MAX_WAITING_LOOKUPS_LIMIT = 10_000;

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
  /** ClientOptions.maxWaitingLookups; MAX_WAITING_LOOKUPS by default. */
  maxWaiting?: number;
  /** The client's stop: a waiting lookup fails with its reason at once. */
  stop?: SendStop;
  random?: () => number;
}

/**
 * What a lookup does before it goes out, given how long its paced turn is away (`wait`,
 * SendPacer.peek), its deadline and how many lookups are held back already: 'go' (now,
 * or after `wait`), 'deadline' (its turn would come at or after its deadline: it fails
 * at once rather than wait for nothing), 'full' (maxWaiting are held back already:
 * it fails at once, never sent). A lookup that need not wait always goes.
 */
export function lookupTurn(wait: number, now: number, deadline: number, waiting: number, maxWaiting: number): 'go' | 'deadline' | 'full' {
  if (wait <= 0) return 'go';
  if (now + wait >= deadline) return 'deadline';
  if (waiting >= maxWaiting) return 'full';
  return 'go';
}

/** The gateway's last whole-op refusal of one kind of lookup (evaluate, lookup) and when
 *  it came: what a lookup its pacing holds back fails with (pacedOut). */
interface Refusal {
  error: HushwireError;
  at: number;
}

/**
 * The error of a lookup that pacing kept from being sent (its turn past its deadline,
 * or the queue full): it says the gateway's refusal that paced it, whose message a user
 * must see (a spent discovery budget, not a bare "not sent"), has that refusal as its
 * `cause`, and `retryAfterMs` the longer of the turn's wait and what is left of the
 * gateway's own retry_after_ms (a discovery budget's: hours; the pacer's gap is 60 s at
 * most). Code: the refusal's (RATE_LIMITED or UNAVAILABLE) for the deadline case;
 * RATE_LIMITED for the queue full, the client's own bound. Without a refusal seen (a
 * pacer engaged by someone else), the generic words.
 */
export function pacedOut(why: 'deadline' | 'full', wait: number, last: Refusal | null, maxWaiting: number, now = Date.now()): HushwireError {
  const lastCode = last?.error.code ?? ErrorCode.RATE_LIMITED;
  const code = why === 'full' || lastCode !== ErrorCode.UNAVAILABLE ? ErrorCode.RATE_LIMITED : ErrorCode.UNAVAILABLE;
  const held = why === 'full' ? `${maxWaiting} lookups of this client are already waiting for their turn; ` : '';
  if (last === null) {
    return new HushwireError(code, why === 'full'
      ? `lookup not sent: ${held}try again later`
      : 'lookup not sent: the gateway is refusing this client\'s lookups, and its turn would come only after its deadline', { retryAfterMs: wait });
  }
  const left = last.error.retryAfterMs > 0 ? last.error.retryAfterMs - (now - last.at) : 0;
  return new HushwireError(code, `lookup not sent: ${held}the gateway refused the last one: ${last.error.message}`,
    { retryAfterMs: Math.max(wait, left, 0), cause: last.error });
}

/**
 * Wraps `request` for lookup ops: each waits for its turn while the gateway refuses the
 * client's lookups of its kind (evaluate, lookup), or while others of its kind wait in
 * the queue (behind them, in the order asked: the pacing lasts while any waits), tells its kind's pacer of each whole-op refusal (opPacesStream: the
 * gateway's own RATE_LIMITED or UNAVAILABLE answer, with or without retry_after_ms; the
 * SDK's own errors never pace), and asks again after max(retry_after_ms, full-jitter
 * backoff) and its turn, until its deadline (requestTimeoutMs from its call, or the
 * shorter timeoutMs given). How one that gives up fails depends on whether it was sent:
 * - sent and refused at least once: with the gateway's refusal of its last try, as is
 *   (the next try could not be made before the deadline, or maxWaiting lookups are
 *   held back already, at its refusal or at its next turn). It was sent: "not sent"
 *   would be wrong, and a caller tells the gateway's answer from the SDK's own errors
 *   (wasAnsweredByGateway).
 * - never sent (its first turn would come past its deadline, or maxWaiting lookups are
 *   held back already): at once, "lookup not sent: ... the gateway refused the last
 *   one: <its message>" (pacedOut: the refusal of its kind that paced it as `cause`,
 *   its code but RATE_LIMITED for the full queue, retryAfterMs until the gateway's time).
 * Either way the user reads the gateway's reason.
 */
export function paceLookups(opts: LookupPacingOptions): PacedRequester {
  const pacers = opts.pacers ?? { evaluate: new SendPacer(), lookup: new SendPacer() };
  const maxWaiting = opts.maxWaiting ?? MAX_WAITING_LOOKUPS;
  const random = opts.random ?? Math.random;
  let waiting = 0;
  // The last whole-op refusal of each kind: the reason a lookup held back by its pacer fails with.
  const last = new Map<SendPacer, Refusal>();
  // Lookups waiting for the turn they took, by pacer.
  const turns = new Map<SendPacer, number>();

  // Waits `ms` in the queue of `pacer` (SendPacer.join: the pacing lasts while it does),
  // for a turn taken (`turn`) or for a retry.
  const hold = async (pacer: SendPacer, ms: number, turn: boolean): Promise<void> => {
    waiting++;
    pacer.join();
    if (turn) turns.set(pacer, (turns.get(pacer) ?? 0) + 1);
    try {
      if (opts.stop) await opts.stop.sleep(ms);
      else await new Promise((r) => setTimeout(r, timerDelay(ms)));
    } finally {
      waiting--;
      pacer.leave();
      if (turn) turns.set(pacer, (turns.get(pacer) ?? 1) - 1);
    }
    if (opts.stop?.reason) throw opts.stop.reason;
  };

  return async (op, timeoutMs) => {
    const pacer = typeof op === 'object' && op.evaluate ? pacers.evaluate : pacers.lookup;
    const budget = timeoutMs === undefined ? opts.requestTimeoutMs : Math.min(timeoutMs, opts.requestTimeoutMs);
    const deadline = Date.now() + budget;
    // The gateway's refusal of this lookup's last try (null: not sent yet).
    let refused: HushwireError | null = null;
    for (let attempt = 1; ; attempt++) {
      const now = Date.now();
      // First in, first out: while lookups of its kind wait in the queue, the pacer takes
      // their turns on past its quiet period (SendPacer.join), and this one takes the
      // turn after theirs. One whose turn has come but whose timer has not run yet (the
      // event loop held up past the next turn too) still goes first: this one then waits
      // for a timer of its own (1 ms), which runs after theirs.
      const behind = (turns.get(pacer) ?? 0) > 0 ? 1 : 0;
      const wait = Math.max(pacer.peek(now), behind);
      const turn = lookupTurn(wait, now, deadline, waiting, maxWaiting);
      if (turn !== 'go') throw refused ?? pacedOut(turn, wait, last.get(pacer) ?? null, maxWaiting, now);
      const slot = Math.max(pacer.delay(now), behind);
      if (slot > 0) await hold(pacer, slot, true);
      const sentAt = Date.now();
      const left = deadline - sentAt;
      if (left <= 0) throw refused ?? new HushwireError(ErrorCode.TIMEOUT, 'request timed out');
      try {
        return await opts.request(op, left);
      } catch (e) {
        // A try that timed out after the gateway had refused this lookup (its budget then
        // the time left, often a few ms): the refusal says why, "request timed out" only
        // that the last short try found no answer.
        if (!opPacesStream(e)) throw refused !== null && isTimeout(e) ? refused : e;
        refused = e;
        last.set(pacer, { error: e, at: Date.now() });
        pacer.refused(e.retryAfterMs, sentAt, random);
        const backoff = Math.max(e.retryAfterMs, fullJitterDelay(attempt, RETRY_BACKOFF, random));
        if (Date.now() + backoff >= deadline || waiting >= maxWaiting) throw e;
        await hold(pacer, backoff, false);
      }
    }
  };
}
