// Signed-prekey rotation on the handset (docs/CLIENT.md, "Prekey rotation"): the key
// pairs a device has besides its current prekey, how they are kept in device.json, and
// the pure rules for which of them may still open mail.
//
//   current   the prekey the directory lists; senders seal to it
//   pending   a new key pair made and saved before the set_prekey op is sent (crash
//             safety): made current once the gateway answers ok; after a crash or a
//             failed op it is sent again (the same key, so a retry whose first ok was lost
//             is answered ok), but not before the retry_after_ms of a RATE_LIMITED
//             refusal of it has passed (kept with it: pendingHoldMs); it opens mail
//             meanwhile, in case the gateway took it
//   retired   former current prekeys with the time they were replaced: mail sealed to
//             them before (queued in the mailbox, or by a sender's cached lookup) still
//             opens until the retention window has passed; then they are deleted, which
//             is the point: what the device holds no longer opens older mail
//
// The retention window is ClientOptions.prekeyRetentionMs, or longer when the gateways
// say their mailbox keeps mail longer (the challenge's mailbox_max_age_s, remembered in
// device.json as mailboxMaxAge): that plus a margin, up to MAX_TOLD_PREKEY_RETENTION_MS.
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
/** Added to the mailbox max age a gateway tells (the same margin as in the default). */
export const PREKEY_RETENTION_MARGIN_MS = 3 * DAY_MS;
/** The most a gateway's mailbox_max_age_s can make a device keep a retired secret: 400
 *  days (a gateway may be set to keep mail up to 10 years, or without limit). Keeping old
 *  secrets costs forward secrecy: whoever takes the device's storage reads all mail sealed
 *  to them, so a gateway (or someone posing as one) must not stretch that without bound.
 *  Mail queued longer than this after a rotation does not open. ClientOptions
 *  .prekeyRetentionMs is the app's own choice and is not capped. */
export const MAX_TOLD_PREKEY_RETENTION_MS = 400 * DAY_MS;
/** The largest mailbox_max_age_s (uint32): "no limit" from a gateway. */
const MAX_TOLD_AGE_S = 0xffff_ffff;
/** A remembered mailboxMaxAge whose value is unchanged is written again only after this
 *  long (its toldAt refreshed), not at every connect. */
export const MAILBOX_AGE_REFRESH_MS = DAY_MS;

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
  /** The gateway refused it RATE_LIMITED at `refusedAt` (the rotation interval, or the
   *  connection's set_prekey budget, had not passed) and said to come back after
   *  retry_after_ms: it is not sent again before `retryAt` (pendingHoldMs). Both by the
   *  client's clock, ms since the epoch; absent: not refused (send it when due). */
  refusedAt?: number;
  retryAt?: number;
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

/** The mailbox max age gateways told, as the profile remembers it (device.json
 *  mailboxMaxAge): the value in force, in seconds, and when a gateway last told it. */
export interface ToldMailboxAge {
  maxAgeS: number;
  toldAt: number;
}

/** A challenge's mailbox_max_age_s worth heeding, in seconds, or undefined: not told (0,
 *  absent: an older gateway) or out of range (not an integer of 1..4294967295). */
export function toldMaxAgeS(v: unknown): number | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_TOLD_AGE_S) return undefined;
  return v;
}

/** How long a value told at toldAt stays in force against a lower one told later. */
function inForceMs(a: ToldMailboxAge): number {
  return Math.min(a.maxAgeS * 1000, MAX_TOLD_PREKEY_RETENTION_MS);
}

/**
 * What the profile remembers after a gateway told `maxAgeS` at `nowMs`. Several gateways
 * of one deployment may tell different values: each tells the largest max_age of the
 * shared mailbox streams as it last looked at them, so a gateway that has not reconnected
 * since another raised --mailbox-max-age-s still tells the old, lower value, and clients
 * spread over gateways would see both for a while. The latest value would flip between
 * them, and each low turn would delete secrets whose mail the mailbox still keeps. So the
 * largest value is kept, and a lower one replaces it only once the larger has not been
 * told for as long as it lasts (capped at MAX_TOLD_PREKEY_RETENTION_MS): by then mail
 * stored under the larger retention has expired, if the deployment really lowered it.
 * An equal value refreshes toldAt. `maxAgeS` not worth heeding (toldMaxAgeS): `stored`
 * unchanged. Pure.
 */
export function noteMailboxAge(stored: ToldMailboxAge | undefined, maxAgeS: unknown, nowMs: number): ToldMailboxAge | undefined {
  const v = toldMaxAgeS(maxAgeS);
  if (v === undefined || typeof nowMs !== 'number' || !Number.isFinite(nowMs)) return stored;
  if (stored === undefined || v >= stored.maxAgeS) return { maxAgeS: v, toldAt: v === stored?.maxAgeS ? Math.max(nowMs, stored.toldAt) : nowMs };
  return nowMs - stored.toldAt >= inForceMs(stored) ? { maxAgeS: v, toldAt: nowMs } : stored;
}

/** Two remembered values (this client's and the profile's on disk, which another process
 *  may have written) as one: the later told, noted on top of the earlier. */
export function mergeMailboxAge(a: ToldMailboxAge | undefined, b: ToldMailboxAge | undefined): ToldMailboxAge | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const [early, late] = a.toldAt <= b.toldAt ? [a, b] : [b, a];
  return noteMailboxAge(early, late.maxAgeS, late.toldAt);
}

/** Whether `next` differs from `saved` (what device.json holds) enough to write it: a
 *  new value, or the same one told again a day (MAILBOX_AGE_REFRESH_MS) later. */
export function mailboxAgeToSave(saved: ToldMailboxAge | undefined, next: ToldMailboxAge | undefined): boolean {
  if (next === undefined) return false;
  if (saved === undefined || saved.maxAgeS !== next.maxAgeS) return true;
  return next.toldAt - saved.toldAt >= MAILBOX_AGE_REFRESH_MS;
}

/**
 * How long retired prekeys are kept: `optionMs` (ClientOptions.prekeyRetentionMs), or
 * the told mailbox max age plus PREKEY_RETENTION_MARGIN_MS when that is longer, the
 * latter capped at MAX_TOLD_PREKEY_RETENTION_MS. Nothing told (an older gateway, a
 * profile from before): `optionMs`, as before the field. Pure.
 */
export function prekeyRetentionMs(optionMs: number, told: ToldMailboxAge | undefined): number {
  if (typeof optionMs !== 'number' || Number.isNaN(optionMs)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'optionMs must be a number');
  const v = toldMaxAgeS(told?.maxAgeS);
  if (v === undefined) return optionMs;
  return Math.max(optionMs, Math.min(v * 1000 + PREKEY_RETENTION_MARGIN_MS, MAX_TOLD_PREKEY_RETENTION_MS));
}

/**
 * How long, at `nowMs`, the pending key `p` must still wait before it is sent again: what
 * is left of the retry_after_ms of the gateway's last RATE_LIMITED refusal of it (0: send
 * it when due). Sending it sooner would only be refused again, and each refusal is one
 * more RATE_LIMITED at the gateway (and, before this was kept, came at every connect of
 * every process of the profile: each `hushwire send`, each reconnect of a `listen`). A
 * clock that has gone back past the refusal makes the hold unknowable: 0, and the next
 * refusal, if any, sets it again. Pure.
 */
export function pendingHoldMs(p: PendingPrekey | undefined, nowMs: number): number {
  if (p?.retryAt === undefined || p.refusedAt === undefined || !(nowMs >= p.refusedAt)) return 0;
  return Math.max(0, p.retryAt - nowMs);
}

/** `p` as the gateway refused it at `nowMs` for `retryAfterMs` (pendingHoldMs). Pure. */
export function refusedPending(p: PendingPrekey, nowMs: number, retryAfterMs: number): PendingPrekey {
  return { ...p, refusedAt: nowMs, retryAt: nowMs + Math.max(0, retryAfterMs) };
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

/** What a damaged device.json is told as, with what to do (client/profile-data.ts says it
 *  too; forgetDevice in client/profile.ts knows it by this message). */
export const DAMAGED_DEVICE_MESSAGE = 'profile file device.json is damaged: this device\'s keys cannot be read; ' +
  'restore the file from a backup, or forget the profile (hushwire unregister --forget-locally, or delete the directory) and register again';

function damagedDevice(): HushwireError {
  return new HushwireError(ErrorCode.BAD_REQUEST, DAMAGED_DEVICE_MESSAGE);
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
  const out: Record<string, string> = { secret: bytesToHex(p.secret), public: bytesToHex(p.public), signature: bytesToHex(p.signature), createdAt: iso(p.createdAt) };
  if (p.refusedAt !== undefined && p.retryAt !== undefined) {
    out.refusedAt = iso(p.refusedAt);
    out.retryAt = iso(p.retryAt);
  }
  return out;
}

export function retiredToJson(list: readonly RetiredPrekey[]): object[] {
  return list.map((r) => ({ secret: bytesToHex(r.secret), public: bytesToHex(r.public), retiredAt: iso(r.retiredAt) }));
}

/** device.json's pendingPrekey (absent: none); a damaged one is BAD_REQUEST "damaged". */
export function pendingFromJson(v: unknown): PendingPrekey | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw damagedDevice();
  const o = v as Record<string, unknown>;
  const p: PendingPrekey = { secret: hexOf(o.secret), public: hexOf(o.public), signature: hexOf(o.signature), createdAt: timeOf(o.createdAt) };
  // Only advice (when to send the key again): malformed or half there, it reads as
  // absent (the key is sent when due, as before the fields) rather than as damage.
  const refusedAt = typeof o.refusedAt === 'string' ? Date.parse(o.refusedAt) : NaN;
  const retryAt = typeof o.retryAt === 'string' ? Date.parse(o.retryAt) : NaN;
  if (!Number.isNaN(refusedAt) && !Number.isNaN(retryAt)) {
    p.refusedAt = refusedAt;
    p.retryAt = retryAt;
  }
  return p;
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

export function mailboxAgeToJson(a: ToldMailboxAge): object {
  return { maxAgeS: a.maxAgeS, toldAt: iso(a.toldAt) };
}

/** device.json's mailboxMaxAge (absent in profiles written before it: undefined). Only
 *  advice: a malformed one reads as absent (the app's prekeyRetentionMs applies, as in
 *  an old profile) rather than making the profile unusable, and is replaced when a
 *  gateway tells a value again. */
export function mailboxAgeFromJson(v: unknown): ToldMailboxAge | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const maxAgeS = toldMaxAgeS(o.maxAgeS);
  const toldAt = typeof o.toldAt === 'string' ? Date.parse(o.toldAt) : NaN;
  if (maxAgeS === undefined || Number.isNaN(toldAt)) return undefined;
  return { maxAgeS, toldAt };
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
