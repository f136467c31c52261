// Per-envelope rate limits of one gateway, applied by Relay.acceptEnvelopeCb (a session's
// sends come through acceptInboundCb, read straight from the frame) before an
// envelope touches the bus:
//
// - device_send: each sending device has a token bucket of envelopes (`sendBurst`
//   capacity, `sendRatePerS` refill). Over it, the envelope's receipt is `failed
//   RATE_LIMITED` with retry_after_ms; the socket stays open and the next envelope after
//   the wait passes. Keyed by the sender device (not the socket), so reconnecting to the
//   same gateway does not refill the bucket.
// - recipient_bytes: each recipient device has a token bucket of bytes
//   (`recipientBudgetBytes` capacity, refilled at budget / `recipientWindowS`), so no
//   one can flood a device: over it, the *sender's* receipt is `failed RATE_LIMITED`
//   with retry_after_ms. The budget is per gateway: with N gateways a recipient can get
//   at most N budgets per window.
//
// Both keep their buckets in a KeyedBuckets bounded by `rateLimitKeys` entries each
// (least recently used dropped first, see keyed-buckets.ts). Keys are route tag and
// device token, which stay in memory: no key reaches a log line, metric label or error.
import type { Counter } from 'prom-client';
import { KeyedBuckets } from './keyed-buckets.ts';
import type { Clock } from './token-bucket.ts';

/** Limit names, the only values of the `limit` metric label. */
export const LimitName = {
  CONNECTIONS: 'connections',
  CONNECT_RATE: 'connect_rate',
  DEVICE_SEND: 'device_send',
  RECIPIENT_BYTES: 'recipient_bytes',
  /** Discovery work in flight, per connection or per gateway (relay/limits.ts). */
  DISCOVERY_IN_FLIGHT: 'discovery_in_flight',
  /** Envelopes accepted from senders and not yet answered, per gateway (relay/limits.ts maxSendsInFlight). */
  SENDS_IN_FLIGHT: 'sends_in_flight',
  /** verify_start refused by the gateway's code budget or its cap on sockets waiting for
   *  a code (relay/verify-gate.ts). */
  VERIFY_CODE_BUDGET: 'verify_code_budget',
  VERIFY_PENDING: 'verify_pending',
  /** An auth refused for the device's send-only connections on this gateway (relay.ts MAX_SEND_ONLY_PER_DEVICE). */
  SEND_ONLY_CONNECTIONS: 'send_only_connections',
  /** A ticket_request beyond a connection's 4 (relay/session.ts MAX_TICKET_REQUESTS_PER_CONNECTION). */
  TICKET_REQUESTS: 'ticket_requests',
} as const;
export type LimitName = (typeof LimitName)[keyof typeof LimitName];

export interface EnvelopeRateLimits {
  /** Envelopes per second one sending device may sustain. */
  sendRatePerS: number;
  /** Envelopes one device may send at once after being quiet. */
  sendBurst: number;
  /** Bytes one recipient device may be sent per window through this gateway. */
  recipientBudgetBytes: number;
  recipientWindowS: number;
  /** Bound on the buckets kept per limit (senders, recipients). */
  rateLimitKeys: number;
}

export interface LimiterMetrics {
  rateLimited: Counter<'limit'>;
  rateLimitEvictions: Counter<'limit'>;
}

const DEVICE_SEND_LABEL = { limit: LimitName.DEVICE_SEND };
const RECIPIENT_BYTES_LABEL = { limit: LimitName.RECIPIENT_BYTES };

export class EnvelopeLimiter {
  readonly #send: KeyedBuckets;
  readonly #recipients: KeyedBuckets;
  readonly #metrics: LimiterMetrics | undefined;

  constructor(limits: EnvelopeRateLimits, metrics?: LimiterMetrics, now?: Clock) {
    this.#metrics = metrics;
    this.#send = new KeyedBuckets({
      capacity: limits.sendBurst,
      ratePerSecond: limits.sendRatePerS,
      maxKeys: limits.rateLimitKeys,
      now,
      onEvict: (lost) => { if (lost) metrics?.rateLimitEvictions.inc({ limit: LimitName.DEVICE_SEND }); },
    });
    this.#recipients = new KeyedBuckets({
      capacity: limits.recipientBudgetBytes,
      ratePerSecond: limits.recipientBudgetBytes / limits.recipientWindowS,
      maxKeys: limits.rateLimitKeys,
      now,
      onEvict: (lost) => { if (lost) metrics?.rateLimitEvictions.inc({ limit: LimitName.RECIPIENT_BYTES }); },
    });
  }

  /** One envelope from the sender `senderKey`: 0 when it may go, else the ms until it
   *  may (taken from nothing; counted in hushwire_rate_limited_total). `now`, in both: a
   *  reading of this limiter's clock (performance.now() unless one was given to the
   *  constructor), when the caller has one; else it is read here. No Error: the send
   *  path answers with a receipt: a refusal must cost less than the work it
   *  refuses, and an Error's stack trace cost ~6 µs, more than relaying an envelope. */
  sendWait(senderKey: string, now?: number): number {
    const wait = this.#send.take(senderKey, 1, now);
    if (wait > 0) this.#metrics?.rateLimited.inc(DEVICE_SEND_LABEL);
    return wait;
  }

  /** `bytes` more for the recipient `recipientKey`, as sendWait. */
  recipientWait(recipientKey: string, bytes: number, now?: number): number {
    const wait = this.#recipients.take(recipientKey, bytes, now);
    if (wait > 0) this.#metrics?.rateLimited.inc(RECIPIENT_BYTES_LABEL);
    return wait;
  }

  /** Buckets held, for tests and the bound's documentation. */
  get sizes(): { senders: number; recipients: number } {
    return { senders: this.#send.size, recipients: this.#recipients.size };
  }
}
