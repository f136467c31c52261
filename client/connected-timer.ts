// A client's periodic upkeep while it is connected (the prekey check, the look at the own
// number): one pending run at a time, on a timer that never keeps the process up, that
// runs its task only while the connection is up (a reconnect runs the upkeep itself,
// on `connected`), and that schedules nothing while `allowed()` says no (closing, opting
// out). Both tasks used to carry a copy of this.

import { timerDelay } from './timer-delay.ts';

export class ConnectedTimer {
  readonly #task: () => void;
  readonly #connected: () => boolean;
  readonly #allowed: () => boolean;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(task: () => void, connected: () => boolean, allowed: () => boolean) {
    this.#task = task;
    this.#connected = connected;
    this.#allowed = allowed;
  }

  /** Runs the task once `delayMs` have passed (replacing a run already pending), if the
   *  connection is up then. Clamped to setTimeout's range (a gateway's retry_after_ms
   *  of weeks must not become "at once"). Nothing when not allowed now. */
  schedule(delayMs: number): void {
    if (!this.#allowed()) return;
    this.cancel();
    const ms = timerDelay(delayMs);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#connected()) this.#task();
    }, ms);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Drops the pending run, if any. Idempotent; a later schedule() works again. */
  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Whether a run is pending (for tests). */
  get pending(): boolean {
    return this.#timer !== null;
  }
}
