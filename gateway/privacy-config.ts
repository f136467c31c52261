// Gateway settings -> privacy options (relay/privacy/options.ts) and the deployment
// key of the Nats-Msg-Id HMAC (relay/bus/nats-privacy.ts). Kept apart from server.ts so
// the assembly stays a list of parts.
import type { GatewayConfig } from './config.ts';
import type { PrivacyOptions } from '../relay/privacy/options.ts';
import { readDedupKey } from './config-files.ts';

export function privacyOptions(c: GatewayConfig): Partial<PrivacyOptions> {
  return {
    discoveryFirstSync: c.discoveryFirstSync,
    discoveryDaily: c.discoveryDaily,
    discoveryRouteDaily: c.discoveryRouteDaily,
    verifyStartsPerNumber: c.verifyStartsPerNumber,
    deviceIdleExpiryMs: c.deviceIdleExpiryS * 1000,
  };
}

/** `{ msgIdKey }` from --dedup-key-file (64 hex chars), or nothing. The key is a secret
 *  in the sense that it must not be logged; the error never echoes the file (read by
 *  gateway/config-files.ts, with the other files, before the gateway starts). */
export function dedupKeyOption(c: GatewayConfig): { msgIdKey?: Uint8Array } {
  return c.dedupKeyFile ? { msgIdKey: readDedupKey(c.dedupKeyFile) } : {};
}
