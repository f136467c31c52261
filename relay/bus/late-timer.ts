// nats.js request deadlines that fired late, after the event loop was held up: the one
// place NatsBus (relay/bus/nats.ts) and its KV and erase helpers (relay/bus/nats-privacy.ts)
// tell them apart from a store that did not answer.
//
// nats.js runs its request timers at the start of the loop's next turn, before that turn
// reads the I/O that arrived meanwhile. After a hold of the loop past a request's deadline
// (a long callback, the process descheduled) a request whose answer has arrived, unread,
// fails with nats.js's TimeoutError. The bus's own deadlines wait one more turn for it
// (nats-requests.ts, 8aa5310); nats.js's cannot be moved (no cancel of a nats.js request,
// and a longer one only moves the bound). So the callers check the failure instead: one
// that came at least LATE_TIMEOUT_MS past the deadline is answered again where that is
// safe (onceMoreIfLate): an idempotent request is simply made once more (a read, an
// erase, the mailbox store by its Nats-Msg-Id); a compare-and-set write reads what the
// store holds now and decides (NatsBus #decideLateWrite). A timeout on time (the store
// did not answer) is not repeated, so an outage's wait is unchanged.

/** How late nats.js's request timer must fire for lateTimeout. Timers run a few ms late
 *  on a busy loop; a held loop makes them late by as long as it was held. */
export const LATE_TIMEOUT_MS = 100;

/** A nats.js request's timeout (a TimeoutError), as such or through up to 4 causes (the
 *  bus's helpers and JetStream wrap it). */
export function timedOutError(e: unknown): boolean {
  for (let c: unknown = e, i = 0; c instanceof Error && i < 4; c = c.cause, i++) {
    if (c.name === 'TimeoutError') return true;
  }
  return false;
}

/** A nats.js request made with its deadline at `due` (performance.now) failed with
 *  nats.js's timeout, and that timeout came at least LATE_TIMEOUT_MS after the deadline. */
export function lateTimeout(e: unknown, due: number): boolean {
  return performance.now() - due >= LATE_TIMEOUT_MS && timedOutError(e);
}

/** `make()` (nats.js requests made with the deadline `timeoutMs`); if it fails because
 *  that deadline fired late (lateTimeout), `again(e)` once instead: by default `make()`
 *  itself, for a request that is safe to repeat. Any other failure is `make()`'s. */
export function onceMoreIfLate<T>(timeoutMs: number, make: () => Promise<T>, again: (e: unknown) => Promise<T> = make): Promise<T> {
  const due = performance.now() + timeoutMs;
  return make().catch((e: unknown) => {
    if (!lateTimeout(e, due)) throw e;
    return again(e);
  });
}

/**
 * `p`, or `onTimeout` once `timeoutMs` passed without it: a deadline of the bus's own (a
 * timer, not a nats.js request) under the same rule. Its timer runs at the start of the
 * loop's turn, before the I/O that arrived meanwhile is read, so one that fired at least
 * LATE_TIMEOUT_MS late (the loop held up past it) does not give up: what `p` waits for
 * may be there, unread. It waits once more, a whole `timeoutMs` from then (a store that
 * stalled with the loop still ends the wait then). Used by NatsBus.directoryKeys' wait
 * for the next key (test/bus/directory-keys-late.test.ts).
 */
export function withLateTimeout<T>(p: Promise<T>, timeoutMs: number, onTimeout: T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let again = true;
    const arm = (): void => {
      const due = performance.now() + timeoutMs;
      timer = setTimeout(() => {
        if (again && performance.now() - due >= LATE_TIMEOUT_MS) {
          again = false;
          arm();
          return;
        }
        resolve(onTimeout);
      }, timeoutMs);
    };
    arm();
    p.then((v) => {
      clearTimeout(timer);
      resolve(v);
    }, (e: unknown) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
