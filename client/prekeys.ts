// Signed-prekey rotation on the handset (docs/CLIENT.md, "Prekey rotation"): the key
// pairs a device has besides its current prekey, how they are kept in device.json, and
// the pure rules for which of them may still open mail.
//
//   current   the prekey the directory lists; senders seal to it
//   pending   a new key pair made and saved before the set_prekey op is sent (crash
//             safety): made current once the gateway answers ok; after a crash or a
//             failed op it is sent again (the same key, so a retry whose first ok was lost
//             is answered ok); it opens mail meanwhile, in case the gateway took it
//   retired   former current prekeys with the time they were replaced: mail sealed to
//             them before (queued in the mailbox, or by a sender's cached lookup) still
//             opens until the retention window has passed; then they are deleted, which
//             is the point: what the device holds no longer opens older mail
//
// Portable: no Node import.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { openEnvelope, type Opened } from '../relay/crypto/seal.ts';
import type { EnvelopeProps } from '../relay/wire.ts';

const DAY_MS = 86_400_000;
/** ClientOptions.prekeyRotationMs default: a new prekey every 7 days. */
export const DEFAULT_PREKEY_ROTATION_MS = 7 * DAY_MS;
/** ClientOptions.prekeyRetentionMs default: the relay's default mailbox max age (30 days)
 *  plus 3 days of margin (a handset offline over a month-end, clocks that differ). */
export const DEFAULT_PREKEY_RETENTION_MS = 33 * DAY_MS;
/** ClientOptions.maxRetiredPrekeys default. At the default rotation and retention a
 *  device holds 5; rotating by hand as often as the gateway allows could add more:
 *  beyond this the oldest are deleted first (mail sealed to them no longer opens). */
export const DEFAULT_MAX_RETIRED_PREKEYS = 16;

export interface PrekeyPair {
  secret: Uint8Array;
  public: Uint8Array;
}

export interface PendingPrekey extends PrekeyPair {
  /** Ed25519(identity, "hushwire prekey v1" 0x00 || public): what set_prekey carries. */
  signature: Uint8Array;
  /** When it was made (ms since the epoch). */
  createdAt: number;
}

export interface RetiredPrekey extends PrekeyPair {
  /** When it stopped being current (ms since the epoch). */
  retiredAt: number;
}

/**
 * The retired prekeys still kept at `nowMs`: those retired less than `retentionMs` ago
 * (one retired "in the future", by a clock that went back since, counts as just
 * retired), newest first, at most `max` (the oldest beyond it are dropped). Pure: a new
 * array, the input untouched.
 */
export function keepRetired(list: readonly RetiredPrekey[], nowMs: number, retentionMs: number, max: number): RetiredPrekey[] {
  if (!Array.isArray(list)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'retired prekeys must be an array');
  if (![nowMs, retentionMs, max].every((n) => typeof n === 'number' && !Number.isNaN(n))) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'nowMs, retentionMs and max must be numbers');
  }
  return list
    .filter((r) => nowMs - r.retiredAt < retentionMs)
    .sort((a, b) => b.retiredAt - a.retiredAt)
    .slice(0, Math.max(0, Math.floor(max)));
}

/** Whether a prekey current since `sinceMs` is due for rotation at `nowMs`
 *  (rotationMs 0: never automatically). */
export function rotationDue(sinceMs: number, nowMs: number, rotationMs: number): boolean {
  return rotationMs > 0 && nowMs - sinceMs >= rotationMs;
}

/**
 * Opens `env` with the first of `secrets` that opens it (HPKE open fails on a wrong
 * key). Throws the first key's error when none does (an empty list: BAD_REQUEST).
 */
export function openWithAny(env: EnvelopeProps, me: { route: Uint8Array; device: Uint8Array }, secrets: readonly Uint8Array[]): Opened {
  let first: unknown = null;
  for (const prekeySecret of secrets) {
    try {
      return openEnvelope(env, { route: me.route, device: me.device, prekeySecret });
    } catch (e) {
      first ??= e;
    }
  }
  throw first ?? new HushwireError(ErrorCode.BAD_REQUEST, 'no prekey to open the envelope with');
}

// ---- device.json fields (client/profile-data.ts reads and writes the rest)

function damagedDevice(): HushwireError {
  return new HushwireError(ErrorCode.BAD_REQUEST, 'profile file device.json is damaged');
}

function hexOf(v: unknown): Uint8Array {
  if (typeof v !== 'string' || v.length === 0 || v.length % 2 !== 0 || !/^[0-9a-f]+$/.test(v)) throw damagedDevice();
  return hexToBytes(v);
}

function timeOf(v: unknown): number {
  const ms = typeof v === 'string' ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) throw damagedDevice();
  return ms;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function pendingToJson(p: PendingPrekey): object {
  return { secret: bytesToHex(p.secret), public: bytesToHex(p.public), signature: bytesToHex(p.signature), createdAt: iso(p.createdAt) };
}

export function retiredToJson(list: readonly RetiredPrekey[]): object[] {
  return list.map((r) => ({ secret: bytesToHex(r.secret), public: bytesToHex(r.public), retiredAt: iso(r.retiredAt) }));
}

/** device.json's pendingPrekey (absent: none); a damaged one is BAD_REQUEST "damaged". */
export function pendingFromJson(v: unknown): PendingPrekey | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw damagedDevice();
  const o = v as Record<string, unknown>;
  return { secret: hexOf(o.secret), public: hexOf(o.public), signature: hexOf(o.signature), createdAt: timeOf(o.createdAt) };
}

/** device.json's retiredPrekeys (absent, as in profiles written before rotation: none). */
export function retiredFromJson(v: unknown): RetiredPrekey[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw damagedDevice();
  return v.map((e: unknown) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw damagedDevice();
    const o = e as Record<string, unknown>;
    return { secret: hexOf(o.secret), public: hexOf(o.public), retiredAt: timeOf(o.retiredAt) };
  });
}

/** device.json's prekeySince (absent in profiles written before rotation). */
export function sinceFromJson(v: unknown): number | undefined {
  return v === undefined ? undefined : timeOf(v);
}

/** When a profile's current prekey became current: its prekeySince, else (a profile
 *  from before rotation) its registration time, else 0. */
export function prekeySinceOf(p: { prekeySince?: number; registeredAt: string }): number {
  if (p.prekeySince !== undefined) return p.prekeySince;
  const reg = Date.parse(p.registeredAt);
  return Number.isNaN(reg) ? 0 : reg;
}
