// What operators see of the verifier: every delivery counted by outcome
// (hushwire_verifier_deliveries_total), and a failed one logged at warn with its reason
// (a status, an errno code or the deadline; never the number). During an outage every
// registration fails, so the log is throttled: the first failure at once, then at most
// one line per WARN_EVERY_MS, which counts the failures it stands for.
import type { Logger } from '../log.ts';
import type { RelayMetrics } from '../metrics.ts';
import { failureOf } from './verifier.ts';

export const WARN_EVERY_MS = 10_000;

export class VerifierWatch {
  readonly #metrics: RelayMetrics;
  readonly #log: Logger;
  readonly #now: () => number;
  #lastWarnAt = -Infinity;
  #unlogged = 0;

  constructor(metrics: RelayMetrics, log: Logger, now: () => number = () => performance.now()) {
    this.#metrics = metrics;
    this.#log = log;
    this.#now = now;
  }

  delivered(): void {
    this.#metrics.verifierDeliveries.inc({ outcome: 'ok' });
  }

  /** `e` is what deliver threw; `refunded`: whether the number's verify_start charge
   *  was given back (relay/privacy/budget.ts `refund`). */
  failed(e: unknown, refunded: boolean): void {
    const { outcome, reason } = failureOf(e);
    this.#metrics.verifierDeliveries.inc({ outcome });
    this.#metrics.verifyStartRefunds.inc({ result: refunded ? 'refunded' : 'kept' });
    const now = this.#now();
    if (now - this.#lastWarnAt < WARN_EVERY_MS) {
      this.#unlogged++;
      return;
    }
    const failures = this.#unlogged + 1;
    this.#unlogged = 0;
    this.#lastWarnAt = now;
    const budget = refunded ? 'given back' : 'kept (the refund failed)';
    const since = failures > 1 ? ` (${failures} failed deliveries since the last such line)` : '';
    this.#log.warn({ outcome, reason, refunded, failures },
      `verifier delivery ${outcome === 'timeout' ? 'timed out' : 'failed'}: ${reason}; the number's verify_start charge was ${budget}${since}`);
  }
}
