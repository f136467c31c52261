// What verification codes may cost one gateway, checked by Session.#onVerifyStart before
// anything is charged or sent:
//
// - code_budget: a token bucket of codes the verifier may be asked to send
//   (`verifyStartBurst` capacity, refilled at `verifyStartRatePerS`). A code costs the
//   operator an SMS, and each start for a fresh valid number would otherwise send one:
//   one client cycling through random numbers could have a gateway send codes as fast as
//   it admits connections (--connect-rate, 1,000/s), "SMS pumping" toll fraud. Over the
//   budget: RATE_LIMITED with retry_after_ms from the bucket; no code, no charge against
//   the number's 24 h budget. A token whose code certainly did not go out (the number's
//   own budget refused, the verifier refused or was unreachable) is given back.
// - pending_cap: at most `maxPendingVerifications` sockets waiting for a code. Such a
//   socket stays open until its code expires (5 minutes) instead of the short auth
//   deadline, so without a cap codes could hold every connection slot, and every
//   handset's login would get HTTP 503 "gateway full" for minutes. A socket takes its
//   slot when its first start is accepted here and gives it back on every way out of
//   that state (Session.#leavePending: registered or authenticated, code voided by wrong
//   codes or a failed delivery, closed for any reason, drain). Over the cap:
//   RATE_LIMITED with retry_after_ms PENDING_RETRY_MS, before anything is spent.
//
// Both are per gateway (a cluster of N gateways sends at most N budgets). Refusals are
// counted (hushwire_verify_starts_refused_total{reason}, and hushwire_rate_limited_total
// with the same names) and logged at warn at most once per REFUSAL_LINE_EVERY_MS per
// reason, with how many since the last line. Nothing here knows a number, route, device
// or address: the gate sees only counts.
import type { Counter, Gauge } from 'prom-client';
import type { Logger } from './log.ts';
import { TokenBucket, monotonicMs, type Clock } from './token-bucket.ts';
import { HushwireError, ErrorCode } from './errors.ts';
import { LimitName } from './limiter.ts';

/** Every value of the `reason` label of hushwire_verify_starts_refused_total (also a
 *  `limit` of hushwire_rate_limited_total). */
export const VERIFY_REFUSAL_REASONS = ['code_budget', 'pending_cap'] as const;
export type VerifyRefusalReason = (typeof VERIFY_REFUSAL_REASONS)[number];

/** retry_after_ms of a start refused for the pending cap: sockets leave that state as
 *  people type their codes, or when the codes expire (minutes); a few seconds spreads the
 *  retries, and the refused socket still has its auth deadline (10 s by default) to use. */
export const PENDING_RETRY_MS = 5_000;
/** The refusal warning of a reason at most this often (with the count since the last). */
export const REFUSAL_LINE_EVERY_MS = 10_000;

export interface VerifyGateLimits {
  /** Codes per second this gateway may have the verifier send (token bucket refill). */
  verifyStartRatePerS: number;
  /** Codes it may send at once after a quiet spell (bucket capacity). */
  verifyStartBurst: number;
  /** Sockets waiting for a code at once. */
  maxPendingVerifications: number;
}

export interface VerifyGateMetrics {
  verifyStartsRefused: Counter<'reason'>;
  verifyPending: Gauge;
  verifyPendingLimit: Gauge;
  rateLimited: Counter<'limit'>;
}

interface Refusals {
  /** Refusals since the last line, and when that line was. */
  unsaid: number;
  lineAt: number;
}

export class VerifyGate {
  readonly maxPending: number;
  readonly #bucket: TokenBucket;
  readonly #now: Clock;
  readonly #metrics: VerifyGateMetrics;
  readonly #log: Logger;
  #pending = 0;
  readonly #refused: Record<VerifyRefusalReason, Refusals> = {
    code_budget: { unsaid: 0, lineAt: -Infinity },
    pending_cap: { unsaid: 0, lineAt: -Infinity },
  };

  constructor(limits: VerifyGateLimits, metrics: VerifyGateMetrics, log: Logger, now: Clock = monotonicMs) {
    if (!Number.isSafeInteger(limits.maxPendingVerifications) || limits.maxPendingVerifications < 1) {
      throw new RangeError('maxPendingVerifications must be a positive integer');
    }
    this.maxPending = limits.maxPendingVerifications;
    this.#now = now;
    this.#bucket = new TokenBucket(limits.verifyStartBurst, limits.verifyStartRatePerS, now());
    this.#metrics = metrics;
    this.#log = log;
    metrics.verifyPending.set(0);
    metrics.verifyPendingLimit.set(this.maxPending);
  }

  /** Sockets holding a pending-verification slot now. */
  get pending(): number {
    return this.#pending;
  }

  /** Takes a pending slot; throws RATE_LIMITED (nothing taken) when all are held. Every
   *  successful call is matched by exactly one release(). */
  reserve(): void {
    if (this.#pending >= this.maxPending) {
      throw this.#refuse('pending_cap', 'too many verifications waiting for their code on this gateway; try again later', PENDING_RETRY_MS);
    }
    this.#pending++;
    this.#metrics.verifyPending.set(this.#pending);
  }

  release(): void {
    if (this.#pending <= 0) return; // a bug elsewhere must not drive the gauge negative
    this.#pending--;
    this.#metrics.verifyPending.set(this.#pending);
  }

  /** One code from the budget; throws RATE_LIMITED with the bucket's wait (nothing
   *  taken) when it is spent. */
  takeCode(): void {
    const waitMs = this.#bucket.take(1, this.#now());
    if (waitMs > 0) throw this.#refuse('code_budget', 'too many verification codes from this gateway; try again later', waitMs);
  }

  /** Gives back the token of a start whose code certainly did not go out. */
  giveBackCode(): void {
    this.#bucket.giveBack(1, this.#now());
  }

  #refuse(reason: VerifyRefusalReason, message: string, retryAfterMs: number): HushwireError {
    this.#metrics.verifyStartsRefused.inc({ reason });
    this.#metrics.rateLimited.inc({ limit: reason === 'code_budget' ? LimitName.VERIFY_CODE_BUDGET : LimitName.VERIFY_PENDING });
    const r = this.#refused[reason];
    r.unsaid++;
    const now = this.#now();
    if (now - r.lineAt >= REFUSAL_LINE_EVERY_MS) {
      const refused = r.unsaid;
      r.unsaid = 0;
      r.lineAt = now;
      const what = reason === 'code_budget'
        ? `the verification code budget of this gateway is spent (--verify-start-burst ${this.#bucket.capacity}, --verify-start-rate ${this.#bucket.ratePerSecond}/s)`
        : `${this.maxPending} sockets already wait for a verification code (--max-pending-verifications)`;
      this.#log.warn({ reason, refused, pending: this.#pending },
        `verify_start refused: ${what}; ${refused} refused since the last such line; nothing was sent or charged. Many of them: someone may be pumping SMS through registration`);
    }
    return new HushwireError(ErrorCode.RATE_LIMITED, message, { retryAfterMs });
  }
}
