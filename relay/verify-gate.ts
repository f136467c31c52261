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
// The code budget is the cluster's with --verify-start-scope cluster (the default): one
// bucket in the bus's shared counters (relay/shared-token-bucket.ts) that every gateway
// takes from, so what a pump can cost does not grow with the number of gateways. When
// that store fails (NATS down or its KV bucket unreachable), each gateway falls back to
// its own bucket of the same size until it works again (said once per
// FALLBACK_LINE_EVERY_MS in a warn line): registrations go on, bounded per gateway.
// With --verify-start-scope gateway each gateway has its own bucket (a cluster of N
// gateways sends at most N budgets). The pending cap is per gateway: it protects this
// gateway's connection slots. Refusals are
// counted (hushwire_verify_starts_refused_total{reason}, and hushwire_rate_limited_total
// with the same names) and logged at warn at most once per REFUSAL_LINE_EVERY_MS per
// reason, with how many since the last line. Nothing here knows a number, route, device
// or address: the gate sees only counts.
import type { Counter, Gauge } from 'prom-client';
import type { Logger } from './log.ts';
import { TokenBucket, monotonicMs, type Clock } from './token-bucket.ts';
import { HushwireError, ErrorCode } from './errors.ts';
import { LimitName } from './limiter.ts';
import { SharedTokenBucket } from './shared-token-bucket.ts';
import type { Bus } from './bus/bus.ts';

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
/** The warn line of a shared budget that cannot be reached, at most this often. */
export const FALLBACK_LINE_EVERY_MS = 10_000;
/** The shared code budget's counter key (relay/bus/counters.ts: `<kind>.<32 hex>`; one
 *  bucket per deployment, so the token is a constant). */
export const CODE_BUDGET_KEY = `vcode.${'0'.repeat(32)}`;

/** Whose bucket the code budget is: the whole deployment's, or each gateway's own. */
export type VerifyStartScope = 'cluster' | 'gateway';

export interface VerifyGateLimits {
  /** Codes per second this gateway may have the verifier send (token bucket refill). */
  verifyStartRatePerS: number;
  /** Codes it may send at once after a quiet spell (bucket capacity). */
  verifyStartBurst: number;
  /** Sockets waiting for a code at once. */
  maxPendingVerifications: number;
  /** Whose code budget: 'cluster' (one bucket in the bus's shared counters, when the
   *  gate is given the bus) or 'gateway'. */
  verifyStartScope: VerifyStartScope;
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
  readonly #shared: SharedTokenBucket | null;
  #fallbackLineAt = -Infinity;
  readonly #now: Clock;
  readonly #metrics: VerifyGateMetrics;
  readonly #log: Logger;
  #pending = 0;
  readonly #refused: Record<VerifyRefusalReason, Refusals> = {
    code_budget: { unsaid: 0, lineAt: -Infinity },
    pending_cap: { unsaid: 0, lineAt: -Infinity },
  };

  /** `shared`: the bus whose counters hold the cluster's code budget (scope cluster);
   *  `wallClock` its clock (a test moves both clocks alike). */
  constructor(limits: VerifyGateLimits, metrics: VerifyGateMetrics, log: Logger, now: Clock = monotonicMs, shared?: { bus: Bus; wallClock?: Clock }) {
    if (!Number.isSafeInteger(limits.maxPendingVerifications) || limits.maxPendingVerifications < 1) {
      throw new RangeError('maxPendingVerifications must be a positive integer');
    }
    this.maxPending = limits.maxPendingVerifications;
    this.#now = now;
    this.#bucket = new TokenBucket(limits.verifyStartBurst, limits.verifyStartRatePerS, now());
    this.#shared = limits.verifyStartScope === 'cluster' && shared !== undefined
      ? new SharedTokenBucket(shared.bus, CODE_BUDGET_KEY, limits.verifyStartBurst, limits.verifyStartRatePerS, shared.wallClock ?? Date.now)
      : null;
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

  /** Whose code budget this gate takes from. */
  get scope(): VerifyStartScope {
    return this.#shared !== null ? 'cluster' : 'gateway';
  }

  /** One code from the budget; throws RATE_LIMITED with the bucket's wait (nothing
   *  taken) when it is spent. Resolves `shared` true when the code came from the
   *  cluster's budget (give it back there), false from this gateway's own bucket. */
  async takeCode(): Promise<{ shared: boolean }> {
    if (this.#shared !== null) {
      let waitMs: number | null = null;
      try {
        waitMs = await this.#shared.take();
      } catch (e) {
        this.#fallingBack(e);
      }
      if (waitMs !== null) {
        if (waitMs > 0) throw this.#refuse('code_budget', 'too many verification codes from this service; try again later', waitMs, true);
        return { shared: true };
      }
    }
    const waitMs = this.#bucket.take(1, this.#now());
    if (waitMs > 0) throw this.#refuse('code_budget', 'too many verification codes from this gateway; try again later', waitMs);
    return { shared: false };
  }

  /** Gives back the token of a start whose code certainly did not go out, to the budget
   *  takeCode took it from (best effort: a shared store that fails keeps it spent). */
  giveBackCode(from: { shared: boolean }): void {
    if (from.shared && this.#shared !== null) {
      void this.#shared.giveBack();
      return;
    }
    this.#bucket.giveBack(1, this.#now());
  }

  /** The shared budget could not be read or written: this start takes from the
   *  gateway's own bucket instead, said at most once per FALLBACK_LINE_EVERY_MS. */
  #fallingBack(e: unknown): void {
    const now = this.#now();
    if (now - this.#fallbackLineAt < FALLBACK_LINE_EVERY_MS) return;
    this.#fallbackLineAt = now;
    const code = e instanceof HushwireError ? e.code : 'error';
    this.#log.warn({ code },
      `verify_start: the cluster's verification code budget (--verify-start-scope cluster) could not be reached (${code}); this gateway takes codes from its own bucket of the same size (--verify-start-burst ${this.#bucket.capacity}, --verify-start-rate ${this.#bucket.ratePerSecond}/s) until it can`);
  }

  #refuse(reason: VerifyRefusalReason, message: string, retryAfterMs: number, cluster = false): HushwireError {
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
        ? `the verification code budget of this ${cluster ? 'cluster (--verify-start-scope cluster: all gateways together)' : 'gateway'} is spent (--verify-start-burst ${this.#bucket.capacity}, --verify-start-rate ${this.#bucket.ratePerSecond}/s)`
        : `${this.maxPending} sockets already wait for a verification code (--max-pending-verifications)`;
      this.#log.warn({ reason, refused, pending: this.#pending },
        `verify_start refused: ${what}; ${refused} refused since the last such line; nothing was sent or charged. Many of them: someone may be pumping SMS through registration`);
    }
    return new HushwireError(ErrorCode.RATE_LIMITED, message, { retryAfterMs });
  }
}
