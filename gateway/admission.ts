// Admission of new WebSocket connections, decided at the HTTP upgrade (before any
// per-socket state exists), so a refused client costs one short HTTP response:
//
// - connections: at most `maxConnections` open sockets on this gateway; over it the
//   upgrade is refused with HTTP 503 "gateway full" (a load balancer or handset tries
//   another gateway);
// - connect_rate: a token bucket of new connections per second (`connectRatePerS`,
//   burst `connectBurst`); over it, HTTP 429 "too many new connections". This spreads a
//   reconnect storm (a dead or draining neighbour's handsets) over time.
//
// The full-gateway check comes first and takes no token, so a full gateway does not
// also burn its rate budget. Both are counted in hushwire_rate_limited_total{limit}.
import type { Counter } from 'prom-client';
import { TokenBucket, monotonicMs, type Clock } from '../relay/token-bucket.ts';
import { LimitName } from '../relay/limiter.ts';

export type AdmissionVerdict = { ok: true } | { ok: false; status: number; reason: string; retryAfterS?: number };

export interface AdmissionOptions {
  maxConnections: number;
  connectRatePerS: number;
  connectBurst: number;
  /** Sockets open now. */
  openConnections: () => number;
  rateLimited?: Counter<'limit'>;
  now?: Clock;
}

/** Retry-After (seconds) on "gateway full". */
export const FULL_RETRY_AFTER_S = 5;

export function createAdmission(o: AdmissionOptions): () => AdmissionVerdict {
  const now = o.now ?? monotonicMs;
  const bucket = new TokenBucket(o.connectBurst, o.connectRatePerS, now());
  return () => {
    if (o.openConnections() >= o.maxConnections) {
      o.rateLimited?.inc({ limit: LimitName.CONNECTIONS });
      // Another gateway behind the balancer may have room now; this one in a while.
      return { ok: false, status: 503, reason: 'gateway full', retryAfterS: FULL_RETRY_AFTER_S };
    }
    const waitMs = bucket.take(1, now());
    if (waitMs > 0) {
      o.rateLimited?.inc({ limit: LimitName.CONNECT_RATE });
      return { ok: false, status: 429, reason: 'too many new connections', retryAfterS: Math.ceil(waitMs / 1000) };
    }
    return { ok: true };
  };
}
