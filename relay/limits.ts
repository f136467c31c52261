// Per-gateway protocol limits, with the defaults documented in docs/OPERATIONS.md and
// `hushwire gateway --help`. Each limit has a stated overflow behaviour.
import type { EnvelopeRateLimits } from './limiter.ts';
import type { VerifyGateLimits } from './verify-gate.ts';

/** The rate limits (send rate, recipient byte budget, their state bound) are described
 *  in relay/limiter.ts; the verification code budget and the cap on sockets waiting for
 *  a code in relay/verify-gate.ts. */
export interface RelayLimits extends EnvelopeRateLimits, VerifyGateLimits {
  /** No auth/register within this => close 4001 AUTH_TIMEOUT. */
  authTimeoutMs: number;
  /** How long a sender's gateway waits for the recipient device's ack before storing the
   *  envelope in the mailbox instead (a late ack may then cause a duplicate, which the
   *  handset drops by id). */
  liveTimeoutMs: number;
  /** Largest accepted frame (bytes); larger => close 1009. */
  maxFrameBytes: number;
  /** Largest single envelope (encoded bytes); larger => receipt TOO_LARGE. */
  maxEnvelopeBytes: number;
  /** Devices per route; more => TOO_MANY_DEVICES. */
  maxDevicesPerRoute: number;
  /** Ops per frame; more => error BAD_REQUEST for the frame's excess ops. */
  maxOpsPerFrame: number;
  /** Envelopes per send op; more => error TOO_LARGE for the op. */
  maxEnvelopesPerSend: number;
  /** Envelopes handed to a socket and not yet acknowledged; more => the live offer is
   *  refused and the sender's gateway stores the envelope in the mailbox. */
  maxInflightDeliveries: number;
  /** Envelopes this gateway has accepted from its senders and not yet answered (live
   *  offers awaiting the recipient's ack, stores awaiting JetStream), over all
   *  connections (--max-sends-in-flight); more => that envelope's receipt `failed UNAVAILABLE` with
   *  retry_after_ms at once, before any bus work. It keeps an overloaded gateway doing
   *  the work it can instead of queueing without bound: past this, live offers
   *  overflowed into mailbox stores (several times the work each), the stores
   *  overflowed the bus's request pool, nats-server cut the gateway off as a slow
   *  consumer, and deliveries fell to almost none (docs/BENCHMARKS.md, "Overload"). */
  maxSendsInFlight: number;
  /** Blinded elements per evaluate op; more => BAD_REQUEST. */
  maxEvaluateBatch: number;
  /** Discovery work one connection may have in flight (each route of a lookup, each
   *  evaluate op: bus reads and budget updates); more => error RATE_LIMITED for the op
   *  (retry_after_ms 1000), the socket stays. */
  maxDiscoveryPerConnection: number;
  /** The same over all connections of this gateway. Lookups share the bus's request
   *  pool (relay/bus/nats-requests.ts: 49,152 of its 65,536 for everything but
   *  authentications) with mailbox reads and stored sends, so without it one device's
   *  pipelined lookups made everyone's auth (then) and mailbox reads fail UNAVAILABLE;
   *  more => error RATE_LIMITED, as above. */
  maxDiscoveryInFlight: number;
  /** Lifetime of a verification code. */
  verifyCodeTtlMs: number;
  /** Wrong codes per verification before it is void. */
  verifyAttempts: number;
  /** Bad ops (errors caused by the client) per connection before close 4008 FLOOD. */
  maxBadOps: number;
  /** verify_start ops per connection; one more => error RATE_LIMITED and close 4008
   *  FLOOD. Each costs the route of its number (OPRF) before the per-number budget can
   *  be charged, so without this one socket could make any number of them. */
  maxVerifyStartsPerConnection: number;
  /** Mailbox messages fetched per read while draining. */
  drainBatch: number;
  /** How long a drain waits for the device to ack a batch before giving up (the rest
   *  stays in the mailbox for the next connection). */
  drainAckTimeoutMs: number;
  /** Least time between two set_prekey rotations of one device (kept in its directory
   *  record, so all gateways agree); a sooner one => error RATE_LIMITED with
   *  retry_after_ms, the socket stays. */
  prekeyRotationIntervalMs: number;
  /** How often a gateway checks that the devices holding send-only connections on it are
   *  still in the directory (one read per device, not per connection), closing the
   *  connections of one that is gone with 4006: a send-only connection subscribes
   *  nothing on the bus, so an opt-out made through another gateway reaches it no other
   *  way. */
  sendOnlyRecheckMs: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  sendOnlyRecheckMs: 30_000,
  authTimeoutMs: 10_000,
  liveTimeoutMs: 5_000,
  maxFrameBytes: 262_144,
  maxEnvelopeBytes: 70_000,
  maxDevicesPerRoute: 5,
  maxOpsPerFrame: 256,
  maxEnvelopesPerSend: 256,
  maxInflightDeliveries: 1024,
  maxSendsInFlight: 32_768,
  maxEvaluateBatch: 1000,
  maxDiscoveryPerConnection: 1024,
  maxDiscoveryInFlight: 16_384,
  verifyCodeTtlMs: 5 * 60_000,
  verifyAttempts: 5,
  maxBadOps: 32,
  maxVerifyStartsPerConnection: 5,
  drainBatch: 256,
  drainAckTimeoutMs: 30_000,
  prekeyRotationIntervalMs: 15 * 60_000,
  sendRatePerS: 100,
  sendBurst: 500,
  recipientBudgetBytes: 16_777_216,
  recipientWindowS: 60,
  rateLimitKeys: 100_000,
  // gateway/config.ts says why these defaults (--verify-start-rate, --verify-start-burst,
  // --max-pending-verifications: 10% of --max-connections).
  verifyStartRatePerS: 3,
  verifyStartBurst: 30,
  verifyStartScope: 'cluster',
  maxPendingVerifications: 5_000,
};
