// What operators see of the verifier: every delivery counted by outcome
// (hushwire_verifier_deliveries_total), and a failed one logged at warn with its reason
// (a status, an errno code or the deadline; never the number). During an outage every
// registration fails, so the log is throttled: the first failure at once, then at most
// one line per WARN_EVERY_MS, which counts the failures it stands for by what became of
// their charges; the next successful delivery says what was still held back.
// A bridge that refuses the gateway's requests themselves (401, 403, 407, 405, 415:
// the token or the URL is wrong; 402: its provider account; refusal class
// `misconfigured`) is the operator's to fix
// and fails every registration: its line is at error level and says what to check, and
// it is not kept back by a throttle window that other failures opened (at most one such
// line per WARN_EVERY_MS of its own). Every HTTP refusal is also counted by class
// (hushwire_verifier_refusals_total).
import type { Logger } from '../log.ts';
import type { RelayMetrics } from '../metrics.ts';
import { failureOf, type Refusal } from './verifier.ts';

export const WARN_EVERY_MS = 10_000;

/** What became of a failed delivery's verify_start charge. */
export type RefundResult = 'refunded' | 'kept' | 'withheld';
export const REFUND_RESULTS: readonly RefundResult[] = ['refunded', 'kept', 'withheld'];

export class VerifierWatch {
  readonly #metrics: RelayMetrics;
  readonly #log: Logger;
  readonly #now: () => number;
  #lastWarnAt = -Infinity;
  /** When the last line about a misconfigured bridge was logged. */
  #lastMisconfiguredAt = -Infinity;
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
    const { outcome, reason, refusal } = failureOf(e);
    this.#metrics.verifierDeliveries.inc({ outcome });
    if (refusal !== null) this.#metrics.verifierRefusals.inc({ class: refusal });
    this.#metrics.verifyStartRefunds.inc({ result: refund });
    this.#unlogged[refund]++;
    const now = this.#now();
    const misconfigured = refusal === 'misconfigured' && now - this.#lastMisconfiguredAt >= WARN_EVERY_MS;
    if (!misconfigured && now - this.#lastWarnAt < WARN_EVERY_MS) return;
    this.#lastWarnAt = now;
    if (misconfigured) this.#lastMisconfiguredAt = now;
    const held = this.#take();
    const budget = refund === 'refunded' ? 'given back'
      : refund === 'kept' ? 'kept (the refund failed)'
      : 'kept (the code may have been sent)';
    const since = held.total > 1 ? ` (${held.total} failed deliveries since the last such line: ${describe(held.counts)})` : '';
    const fields = { outcome, reason, ...(refusal === null ? {} : { refusal }), refunded: refund === 'refunded', failures: held.total, charges: held.counts };
    const text = `verifier delivery ${outcome === 'timeout' ? 'timed out' : 'failed'}: ${reason}${meaning(refusal, reason)}; the number's verify_start charge was ${budget}${since}`;
    if (misconfigured) this.#log.error(fields, text);
    else this.#log.warn(fields, text);
  }

  #take(): { total: number; counts: Record<RefundResult, number> } {
    const counts = this.#unlogged;
    this.#unlogged = { refunded: 0, kept: 0, withheld: 0 };
    return { total: counts.refunded + counts.kept + counts.withheld, counts };
  }
}

/** What a refusal means for the operator, after its status in the log line (the status
 *  only: never the URL, the token or the bridge's answer). */
function meaning(refusal: Refusal | null, reason: string): string {
  switch (refusal) {
    case 'misconfigured':
      return reason === 'HTTP 405' || reason === 'HTTP 415'
        ? ' (the SMS bridge does not take the gateway\'s POST of JSON: --verifier-url names something else; every registration fails until it is fixed)'
        : reason === 'HTTP 402'
          ? ' (the SMS bridge wants payment: its SMS provider account is out of credit or suspended; every registration fails until it is fixed)'
          : reason === 'HTTP 407'
          ? ' (a proxy in front of the SMS bridge wants credentials the gateway does not send: point --verifier-url past it; every registration fails until it is fixed)'
          : ' (the SMS bridge refuses the gateway\'s credentials: check --verifier-token-file against the tokens the bridge accepts; every registration fails until it is fixed)';
    case 'number':
      return ' (the SMS bridge will not send to that number; if it refuses every number, check --verifier-url)';
    default: // busy (408, 425, 429, 503) says enough by its status, as other failures do
      return '';
  }
}

function describe(c: Record<RefundResult, number>): string {
  const parts: string[] = [];
  if (c.refunded > 0) parts.push(`${c.refunded} charge${c.refunded === 1 ? '' : 's'} given back`);
  if (c.withheld > 0) parts.push(`${c.withheld} kept, the code perhaps sent`);
  if (c.kept > 0) parts.push(`${c.kept} kept, the refund failed`);
  return parts.join(', ');
}
