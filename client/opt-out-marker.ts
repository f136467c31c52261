// An opt-out whose outcome this handset does not know, as the profile remembers it
// (device.json's `optOut`: two times, nothing else).
//
// unregister() writes the marker (`sentAt`) before its `unregister` op goes out, and
// adds `endedAt` when the op fails without the relay's `ok` (an UNAVAILABLE or TIMEOUT
// answer, a connection lost, a deadline, any error: the relay may have removed the
// device before it failed, docs/ARCHITECTURE.md "Opt-out and erasure"). A successful
// opt-out deletes device.json, marker and all. The relay never says whether a device
// exists (an AUTH_FAILED is the same for an unknown device and a wrong key: PRIVACY),
// so only this handset's own memory can tell the user, on a later AUTH_FAILED, that the
// refusal most likely is that opt-out having gone through (its erasure finished by the
// relay's next idle sweep at the latest).
//
// A marker goes once an authentication succeeds that began after the opt-out ended
// (`endedAt`): the device was still registered then, so that opt-out did not go through,
// and a later AUTH_FAILED has another cause. One begun earlier proves nothing (the
// removal may have landed after it). A marker without `endedAt` was left by a process
// that ended (or lost the profile's lock) during its opt-out: found under the lock, it
// gets `endedAt` then, and a later authentication clears it as above.
import { HushwireError, ErrorCode } from '../relay/errors.ts';

export interface OptOutMarker {
  /** When the opt-out's op was about to be sent (ms since the epoch). */
  sentAt: number;
  /** When it was known to have failed, or found abandoned (ms since the epoch). */
  endedAt?: number;
}

/** What the marker becomes after an authentication that began at `authBeganAt` succeeded
 *  (`lockHeld`: the profile's identity lock is held, so no opt-out is under way):
 *  undefined (cleared), the marker with its `endedAt` set, or the same object (kept). */
export function afterAuthenticated(marker: OptOutMarker, authBeganAt: number, now: number, lockHeld: boolean): OptOutMarker | undefined {
  if (marker.endedAt !== undefined) return authBeganAt > marker.endedAt ? undefined : marker;
  // Still being sent, as far as the record says: only under the lock is it known that the
  // opt-out that wrote it is over.
  return lockHeld ? { sentAt: marker.sentAt, endedAt: Math.max(now, marker.sentAt) } : marker;
}

/** Whether `afterAuthenticated` may change the marker (worth taking the lock for). */
export function mayChangeAfterAuthenticated(marker: OptOutMarker | undefined, authBeganAt: number): boolean {
  return marker !== undefined && (marker.endedAt === undefined || authBeganAt > marker.endedAt);
}

/** The message of an AUTH_FAILED refusal of a profile with a marker (the SDK's). */
export const OPT_OUT_UNCONFIRMED_MESSAGE =
  'authentication failed after an opt-out from this profile that got no answer (unregister() failed after its request was sent: ' +
  'UNAVAILABLE, TIMEOUT, a lost connection): the relay most likely removed this device then, and finishes erasing its directory ' +
  'entry and mail by its next idle sweep (within the hour); the profile still holds the device\'s keys and records, which the relay ' +
  'no longer accepts: forget it locally (delete its records; the CLI: hushwire unregister --profile DIR --forget-locally)';

/** `e` as the client reports it given the profile's marker: a bare AUTH_FAILED (the
 *  relay's "authentication failed", a 4002 close) of a profile with a marker becomes
 *  AUTH_FAILED with OPT_OUT_UNCONFIRMED_MESSAGE and `optOutUnconfirmed`; anything else is
 *  returned as it is. */
export function explainAuthFailed(e: unknown, marker: OptOutMarker | undefined): unknown {
  if (marker === undefined || !isBareAuthFailed(e)) return e;
  return new HushwireError(ErrorCode.AUTH_FAILED, OPT_OUT_UNCONFIRMED_MESSAGE, { cause: e, optOutUnconfirmed: true });
}

/** The relay's refusal of the device's key, which says no more (not the SDK's own
 *  AUTH_FAILED about a pinned OPRF key or its shares). */
export function isBareAuthFailed(e: unknown): e is HushwireError {
  return e instanceof HushwireError && e.code === ErrorCode.AUTH_FAILED && e.message === 'authentication failed' && !e.optOutUnconfirmed;
}

/** device.json's `optOut` as JSON: ISO times. */
export function markerToJson(m: OptOutMarker): Record<string, string> {
  const out: Record<string, string> = { sentAt: new Date(m.sentAt).toISOString() };
  if (m.endedAt !== undefined) out.endedAt = new Date(m.endedAt).toISOString();
  return out;
}

/** device.json's `optOut` read back; undefined when absent. One that cannot be read is
 *  taken as a marker that ended long ago (the safe side: a later AUTH_FAILED is told as
 *  after an opt-out, and the next authentication clears it). */
export function markerFromJson(v: unknown): OptOutMarker | undefined {
  if (v === undefined) return undefined;
  const time = (x: unknown): number | undefined => {
    if (typeof x !== 'string') return undefined;
    const ms = Date.parse(x);
    return Number.isFinite(ms) ? ms : undefined;
  };
  const o = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const sentAt = time(o.sentAt);
  if (sentAt === undefined) return { sentAt: 0, endedAt: 0 };
  const endedAt = o.endedAt === undefined ? undefined : time(o.endedAt) ?? sentAt;
  return endedAt === undefined ? { sentAt } : { sentAt, endedAt };
}
