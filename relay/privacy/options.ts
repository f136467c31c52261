// Privacy settings with their defaults; the reasons for the numbers are in
// docs/PRIVACY.md. Each is a gateway setting (gateway/config.ts).
import { COUNTER_TTL_MS } from '../bus/counters.ts';

export interface PrivacyOptions {
  /** Blinded numbers one device may have evaluated in its first RATE_WINDOW_MS after
   *  registration: a first full contact sync. */
  discoveryFirstSync: number;
  /** Blinded numbers per device per RATE_WINDOW_MS after its first one: new contacts. */
  discoveryDaily: number;
  /** Blinded numbers per route (all its devices together) per RATE_WINDOW_MS: caps
   *  re-registering devices to get fresh first-sync budgets. */
  discoveryRouteDaily: number;
  /** verify_start requests per number (keyed by its route tag) per RATE_WINDOW_MS, over
   *  all gateways and connections. */
  verifyStartsPerNumber: number;
  /** Routes per batched lookup op; more => BAD_REQUEST. */
  lookupBatchMax: number;
  /** A device not seen (authenticated) for this long is erased like an opt-out. */
  deviceIdleExpiryMs: number;
}

/** Length of every rate-limit window. Equal to the counters' TTL on the bus, so a
 *  counter never vanishes inside its window and never outlives it by more than one
 *  window. */
export const RATE_WINDOW_MS = COUNTER_TTL_MS;

export const DEFAULT_PRIVACY: Readonly<PrivacyOptions> = Object.freeze({
  discoveryFirstSync: 2000,
  discoveryDaily: 100,
  discoveryRouteDaily: 4000,
  verifyStartsPerNumber: 5,
  lookupBatchMax: 128,
  deviceIdleExpiryMs: 180 * 24 * 60 * 60 * 1000,
});

/** How often a device's last_seen is written at most: a day, or an eighth of the idle
 *  period when that is shorter (tests use seconds). Far below the idle period, so a
 *  device in use never comes near expiry; far above "every auth", so reconnect storms
 *  do not become directory write storms. */
export function lastSeenWriteEveryMs(o: PrivacyOptions): number {
  return Math.max(250, Math.min(24 * 60 * 60 * 1000, Math.floor(o.deviceIdleExpiryMs / 8)));
}

/** How often a sweep for idle devices runs (on one gateway at a time): an hour, or a
 *  quarter of the idle period when that is shorter. */
export function idleSweepEveryMs(o: PrivacyOptions): number {
  return Math.max(250, Math.min(60 * 60 * 1000, Math.floor(o.deviceIdleExpiryMs / 4)));
}
