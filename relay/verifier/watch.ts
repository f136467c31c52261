// What operators see of the verifier: every delivery counted by outcome
// (hushwire_verifier_deliveries_total), and a failed one logged at warn with its reason
// (a status, an errno code or the deadline; never the number). During an outage every
// registration fails, so the log is throttled: the first failure at once, then at most
// one line per WARN_EVERY_MS, which counts the failures it stands for by what became of
// their charges; the next successful delivery says what was still held back.
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
  /** Failures since the last line, by what became of their charge (the line says each:
   *  a line that gave only the last failure's fate would misstate the others'). */
  #unlogged: Record<RefundResult, number> = { refunded: 0, kept: 0, withheld: 0 };

  constructor(metrics: RelayMetrics, log: Logger, now: () => number = () => performance.now()) {
    this.#metrics = metrics;
    this.#log = log;
    this.#now = now;
  }

  delivered(): void {
    this.#metrics.verifierDeliveries.inc({ outcome: 'ok' });
    // The outage is over: what the throttle held back is said now, not never.
    const held = this.#take();
    if (held.total > 0) {
      this.#log.warn({ failures: held.total, charges: held.counts }, `verifier delivering again; ${held.total} failed deliveries were not logged one by one (${describe(held.counts)})`);
    }
  }

  /** `e` is what deliver threw; `refund`: what became of the number's verify_start
   *  charge (relay/privacy/budget.ts `refund`): given back, kept because the refund
   *  failed, or withheld because the code may have been sent. */
  failed(e: unknown, refund: RefundResult): void {
    const { outcome, reason } = failureOf(e);
    this.#metrics.verifierDeliveries.inc({ outcome });
    this.#metrics.verifyStartRefunds.inc({ result: refund });
    this.#unlogged[refund]++;
    const now = this.#now();
    if (now - this.#lastWarnAt < WARN_EVERY_MS) return;
    this.#lastWarnAt = now;
    const held = this.#take();
    const budget = refund === 'refunded' ? 'given back'
      : refund === 'kept' ? 'kept (the refund failed)'
      : 'kept (the code may have been sent)';
    const since = held.total > 1 ? ` (${held.total} failed deliveries since the last such line: ${describe(held.counts)})` : '';
    this.#log.warn({ outcome, reason, refunded: refund === 'refunded', failures: held.total, charges: held.counts },
      `verifier delivery ${outcome === 'timeout' ? 'timed out' : 'failed'}: ${reason}; the number's verify_start charge was ${budget}${since}`);
  }

  #take(): { total: number; counts: Record<RefundResult, number> } {
    const counts = this.#unlogged;
    this.#unlogged = { refunded: 0, kept: 0, withheld: 0 };
    return { total: counts.refunded + counts.kept + counts.withheld, counts };
  }
}

function describe(c: Record<RefundResult, number>): string {
  const parts: string[] = [];
  if (c.refunded > 0) parts.push(`${c.refunded} charge${c.refunded === 1 ? '' : 's'} given back`);
  if (c.withheld > 0) parts.push(`${c.withheld} kept, the code perhaps sent`);
  if (c.kept > 0) parts.push(`${c.kept} kept, the refund failed`);
  return parts.join(', ');
}
