// What operators see of the verifier: every delivery counted by outcome
// (hushwire_verifier_deliveries_total), and a failed one logged at warn with its reason
// (a status, an errno code or the deadline; never the number). During an outage every
// registration fails, so the log is throttled: the first failure at once, then at most
// one line per WARN_EVERY_MS, which counts the failures it stands for.
import type { Logger } from '../log.ts';
import type { RelayMetrics } from '../metrics.ts';
import { failureOf } from './verifier.ts';

export const WARN_EVERY_MS = 10_000;

/** What became of a failed delivery's verify_start charge. */
export type RefundResult = 'refunded' | 'kept' | 'withheld';
export const REFUND_RESULTS: readonly RefundResult[] = ['refunded', 'kept', 'withheld'];

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

  /** `e` is what deliver threw; `refund`: what became of the number's verify_start
   *  charge (relay/privacy/budget.ts `refund`): given back, kept because the refund
   *  failed, or withheld because the code may have been sent (no answer in time). */
  failed(e: unknown, refund: RefundResult): void {
    const { outcome, reason } = failureOf(e);
    const refunded = refund === 'refunded';
    this.#metrics.verifierDeliveries.inc({ outcome });
    this.#metrics.verifyStartRefunds.inc({ result: refund });
    const now = this.#now();
    if (now - this.#lastWarnAt < WARN_EVERY_MS) {
      this.#unlogged++;
      return;
    }
    const failures = this.#unlogged + 1;
    this.#unlogged = 0;
    this.#lastWarnAt = now;
    const budget = refund === 'refunded' ? 'given back'
      : refund === 'kept' ? 'kept (the refund failed)'
      : 'kept (the code may have been sent)';
    const since = failures > 1 ? ` (${failures} failed deliveries since the last such line)` : '';
    this.#log.warn({ outcome, reason, refunded, failures },
      `verifier delivery ${outcome === 'timeout' ? 'timed out' : 'failed'}: ${reason}; the number's verify_start charge was ${budget}${since}`);
  }
}
