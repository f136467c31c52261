// Gateway settings -> privacy options (relay/privacy/options.ts) and the deployment
// key of the Nats-Msg-Id HMAC (relay/bus/nats-privacy.ts). Kept apart from server.ts so
// the assembly stays a list of parts.
import { readFileSync } from 'node:fs';
import type { GatewayConfig } from './config.ts';
import type { PrivacyOptions } from '../relay/privacy/options.ts';
import { ConfigError } from './config.ts';

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
 *  in the sense that it must not be logged; the error never echoes the file. */
export function dedupKeyOption(c: GatewayConfig): { msgIdKey?: Uint8Array } {
  if (!c.dedupKeyFile) return {};
  let text: string;
  try {
    text = readFileSync(c.dedupKeyFile, 'utf8').trim().toLowerCase();
  } catch {
    throw new ConfigError('--dedup-key-file cannot be read');
  }
  if (!/^[0-9a-f]{64}$/.test(text)) throw new ConfigError('--dedup-key-file must hold 64 hex characters (32 bytes)');
  return { msgIdKey: new Uint8Array(Buffer.from(text, 'hex')) };
}
