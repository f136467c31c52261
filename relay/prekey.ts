// Signed-prekey rotation (set_prekey, docs/PROTOCOL.md section 11): the authenticated
// device replaces its X25519 prekey in the route's directory entry. One compare-and-set
// edit of that entry (relay/privacy/devices.ts editDevices): only this device's prekey,
// its signature and the time of the rotation change; the other devices of the route and
// this device's other fields are written back as they were read.
import type { Bus, DirectoryReadOptions } from './bus/bus.ts';
import type { DirectoryDevice, DirectoryDeviceProps } from './wire.ts';
import { HushwireError, ErrorCode } from './errors.ts';
import { bytesEqual, isBytes } from './bytes.ts';
import { verify, prekeyInput } from './crypto/sign.ts';
import { editDevices, deviceProps } from './privacy/devices.ts';

export const PREKEY_BYTES = 32;
export const PREKEY_SIGNATURE_BYTES = 64;

/** What a set_prekey did: wrote the new prekey, or found it already current (a retry of
 *  a rotation whose `ok` was lost: answered `ok`, nothing written, no interval charged). */
export type PrekeyChange = 'rotated' | 'unchanged';

/** The sizes of a set_prekey op's fields (BAD_REQUEST otherwise: a malformed op). */
export function checkPrekeyFields(prekey: unknown, signature: unknown): asserts prekey is Uint8Array {
  if (!isBytes(prekey, PREKEY_BYTES) || !isBytes(signature, PREKEY_SIGNATURE_BYTES)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `prekey must be ${PREKEY_BYTES} bytes and prekey_signature ${PREKEY_SIGNATURE_BYTES} bytes`);
  }
}

/**
 * The decision for one device record (pure; no I/O): throws AUTH_FAILED for a signature
 * that the record's identity key does not verify, RATE_LIMITED (retry_after_ms: until the
 * interval has passed since the last rotation) for a new prekey sent too soon; returns
 * 'unchanged' when `prekey` is the record's prekey already, else 'rotated'. A clock that
 * went back (now before the last rotation) counts as no time passed.
 */
export function prekeyDecision(
  dev: Pick<DirectoryDevice, 'identityKey' | 'prekey' | 'prekeyRotatedAtMs'>,
  prekey: Uint8Array, signature: Uint8Array, nowMs: number, intervalMs: number,
): PrekeyChange {
  if (!verify(dev.identityKey, prekeyInput(prekey), signature)) {
    throw new HushwireError(ErrorCode.AUTH_FAILED, 'prekey signature did not verify against the device identity key');
  }
  if (bytesEqual(dev.prekey, prekey)) return 'unchanged';
  const last = Number(dev.prekeyRotatedAtMs);
  if (last > 0) {
    const wait = last + intervalMs - Math.max(nowMs, last);
    if (wait > 0) {
      throw new HushwireError(ErrorCode.RATE_LIMITED, 'prekey rotated too recently', { retryAfterMs: Math.min(wait, 0xffff_ffff) });
    }
  }
  return 'rotated';
}

/**
 * Sets `device`'s prekey in the route `tag`'s directory entry (compare-and-set, retried
 * on conflict by editDevices; UNAVAILABLE when it stays busy or the bus is down).
 * NOT_REGISTERED when the device is no longer in the directory (opted out or expired
 * meanwhile); the errors of prekeyDecision. A refusal (NOT_REGISTERED, RATE_LIMITED,
 * AUTH_FAILED) is decided again on a read at the leader before it is given: an ordinary
 * read may come from a replica that lags, which would not list a device registered a
 * moment ago, or would show the previous prekey and its rotation time when the new one
 * is current already (a retry after a lost `ok`, answered RATE_LIMITED instead of `ok`).
 * The SDK takes NOT_REGISTERED as final.
 */
export async function setPrekey(
  bus: Bus, tag: string, device: Uint8Array, prekey: Uint8Array, signature: Uint8Array, nowMs: number, intervalMs: number,
): Promise<PrekeyChange> {
  try {
    return await setPrekeyOnce(bus, tag, device, prekey, signature, nowMs, intervalMs, {});
  } catch (e) {
    const code = e instanceof HushwireError ? e.code : undefined;
    if (code !== ErrorCode.NOT_REGISTERED && code !== ErrorCode.RATE_LIMITED && code !== ErrorCode.AUTH_FAILED) throw e;
    return setPrekeyOnce(bus, tag, device, prekey, signature, nowMs, intervalMs, { fromLeader: true });
  }
}

async function setPrekeyOnce(
  bus: Bus, tag: string, device: Uint8Array, prekey: Uint8Array, signature: Uint8Array, nowMs: number, intervalMs: number,
  read: DirectoryReadOptions,
): Promise<PrekeyChange> {
  let change: PrekeyChange = 'unchanged';
  let found = false;
  await editDevices(bus, tag, (devices): DirectoryDeviceProps[] | null => {
    const me = devices.find((d) => bytesEqual(d.device, device));
    found = me !== undefined;
    if (me === undefined) return null;
    change = prekeyDecision(me, prekey, signature, nowMs, intervalMs);
    if (change === 'unchanged') return null;
    return devices.map((d) => (d === me
      ? { ...deviceProps(d), prekey, prekeySignature: signature, prekeyRotatedAtMs: nowMs }
      : deviceProps(d)));
  }, read);
  if (!found) throw new HushwireError(ErrorCode.NOT_REGISTERED, 'this device is no longer registered');
  return change;
}

/** set_prekey ops one connection may have served at once (SetPrekeyBudget). */
export const SET_PREKEY_BURST = 4;
/** Then one more per this long. */
export const SET_PREKEY_REFILL_MS = 60_000;

/**
 * The set_prekey ops of one connection that cost a directory read: a burst of
 * SET_PREKEY_BURST, then one per SET_PREKEY_REFILL_MS. The rotation interval kept in the
 * record bounds rotations, but not the current prekey sent again (answered ok, nothing
 * written, no interval charged: a retry of a lost ok): without this, one authenticated
 * socket could have the gateway read the directory once per round trip. The SDK sends
 * one per connect and its retries at least a second apart. Kept in a module WeakMap, so
 * a session that never rotates carries nothing.
 */
const budgets = new WeakMap<object, { tokens: number; atMs: number }>();

/** Takes one op from `conn`'s budget, or throws RATE_LIMITED (retry_after_ms: until the
 *  next one). A clock that went back refills nothing. */
export function takeSetPrekeyOp(conn: object, nowMs: number): void {
  let b = budgets.get(conn);
  if (b === undefined) {
    b = { tokens: SET_PREKEY_BURST, atMs: nowMs };
    budgets.set(conn, b);
  }
  const elapsed = Math.max(0, nowMs - b.atMs);
  const refill = Math.floor(elapsed / SET_PREKEY_REFILL_MS);
  if (refill > 0) {
    b.tokens = Math.min(SET_PREKEY_BURST, b.tokens + refill);
    b.atMs = b.tokens === SET_PREKEY_BURST ? nowMs : b.atMs + refill * SET_PREKEY_REFILL_MS;
  } else if (nowMs < b.atMs) {
    b.atMs = nowMs;
  }
  if (b.tokens <= 0) {
    throw new HushwireError(ErrorCode.RATE_LIMITED, 'too many set_prekey on this connection', { retryAfterMs: Math.max(1, b.atMs + SET_PREKEY_REFILL_MS - nowMs) });
  }
  b.tokens--;
}

/** Gives back the op taken for a set_prekey that turned out a bad op (a bad signature:
 *  those are bounded by maxBadOps, and must reach it). */
export function giveBackSetPrekeyOp(conn: object): void {
  const b = budgets.get(conn);
  if (b !== undefined) b.tokens = Math.min(SET_PREKEY_BURST, b.tokens + 1);
}
