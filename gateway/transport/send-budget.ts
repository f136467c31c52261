// One bound on the bytes waiting in all sockets' send buffers together.
//
// Why: each socket's buffer is bounded (--max-backpressure-bytes, close 4004), but with
// 50,000 connections of 1 MiB each that still allows 50 GB: devices that read slowly
// while traffic is aimed at them could take the gateway's memory, and everyone's
// deliveries with it. Over this budget (--max-send-buffers-bytes), a socket that adds to
// a buffer already over SHED_FLOOR_BYTES is closed with 4004 SLOW_CONSUMER like one over
// its own bound: its device reconnects and what it had not acknowledged waits in its
// mailbox (the sender's receipt said "stored" or its delivery is retried from there).
// Sockets with little buffered, the ones that keep up, are never shed for the total.
//
// Each socket reports its own buffered bytes when they may have changed (after a send
// that was not written at once, on drain, on close); the budget keeps the sum. Not a
// queue of its own: a counter the transports keep in step.

/** Below this a socket is never shed for the total (a frame or two in flight). */
export const SHED_FLOOR_BYTES = 64 * 1024;

/** What a socket keeps for the budget: its buffered bytes as last reported. */
export interface BudgetShare {
  budgetBytes: number;
}

export class SendBudget {
  readonly limit: number;
  #total = 0;

  constructor(limit: number) {
    if (!(limit > 0)) throw new RangeError('send budget must be positive');
    this.limit = limit;
  }

  /** Bytes buffered in all sockets, as last reported. */
  get total(): number {
    return this.#total;
  }

  /** A socket's buffer went from `was` to `now` bytes. false: the total is over the
   *  limit and this socket holds more than SHED_FLOOR_BYTES: shed it (then release). */
  account(was: number, now: number): boolean {
    this.#total += now - was;
    return !(this.#total > this.limit && now > SHED_FLOOR_BYTES);
  }

  /** The socket closed: its buffered bytes no longer count. */
  release(was: number): void {
    this.#total -= was;
  }

  /** account() for a socket that keeps its last report in `s` (both transports). */
  report(s: BudgetShare, now: number): boolean {
    const ok = this.account(s.budgetBytes, now);
    s.budgetBytes = now;
    return ok;
  }

  /** release() for such a socket; idempotent. */
  drop(s: BudgetShare): void {
    this.release(s.budgetBytes);
    s.budgetBytes = 0;
  }
}
