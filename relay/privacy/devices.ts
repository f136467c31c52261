// Small compare-and-set edits of a route's directory entry that the privacy features
// need (pending notices, last_seen), next to relay/directory.ts's add/remove; prekey
// rotation and resume verifiers use them too.
import type { Bus, DirectoryReadOptions } from '../bus/bus.ts';
import { wire, type DirectoryDevice, type DirectoryDeviceProps } from '../wire.ts';
import { HushwireError, ErrorCode } from '../errors.ts';
import { devicesOf } from '../directory.ts';
import { isWriteOutcomeUnknown } from '../bus/common.ts';

const CAS_ATTEMPTS = 8;

/** What an editDevices `fn` returns to erase the route's whole entry (its last devices
 *  go): revision-checked like a write, so a device registered meanwhile is kept. */
export const DELETE_ENTRY: unique symbol = Symbol('delete the directory entry');

/**
 * Applies `fn` to the route's devices and writes the result with compare-and-set,
 * re-reading on a conflict. `fn` returns the new list, null for "no change" (then
 * nothing is written), or DELETE_ENTRY to erase the entry (Bus.directoryDelete with the
 * revision read: a conflict re-reads and calls `fn` again). Resolves whether something
 * was written or erased. A missing entry is left
 * missing (fn is not called). The first read is an ordinary one (`read`: its options);
 * the re-reads after a conflict are made at the leader: a replicated KV may answer an
 * ordinary read from a replica that lags (nats-server < 2.9.17 answers direct gets from
 * any replica), and a stale revision would only conflict again, up to CAS_ATTEMPTS.
 *
 * `retryLost`: a write whose request was in flight when the bus lost NATS (it may have
 * landed: bus/common.ts WriteOutcomeUnknown) is decided again on a fresh read at the
 * leader (the bus waits for the reconnect) instead of failing; `fn` is then called with
 * `lost` true (its earlier write may be in place: a device it removed may now be
 * missing for that reason), and a missing entry or "no change" then resolves true (the
 * edit, or another's, is in place). For the removals (the idle expiry, an unfinished
 * registration's device), whose outcome a read tells; without it such a write fails
 * UNAVAILABLE as before.
 */
export async function editDevices(
  bus: Bus, tag: string, fn: (devices: DirectoryDevice[], lost: boolean) => DirectoryDeviceProps[] | null | typeof DELETE_ENTRY, read: DirectoryReadOptions = {},
  retryLost = false,
): Promise<boolean> {
  let lost = false;
  for (let i = 0; i < CAS_ATTEMPTS; i++) {
    const rec = await bus.directoryGet(tag, i === 0 ? read : { ...read, fromLeader: true });
    if (rec === null) return lost;
    const devices = devicesOf(rec);
    let next = fn(devices, lost);
    // An entry with no devices after a lost write is a delete half done (its erase lost
    // with the connection: Bus.directoryDelete): finished here.
    if (next === null && lost && devices.length === 0) next = DELETE_ENTRY;
    if (next === null) return lost;
    try {
      if (next === DELETE_ENTRY) {
        if (await bus.directoryDelete(tag, rec.revision)) return true;
        continue;
      }
      const rev = await bus.directoryPut(tag, wire.DirectoryEntry.encode({ devices: next }).finish(), rec.revision);
      if (rev !== null) return true;
    } catch (e) {
      if (!retryLost || !isWriteOutcomeUnknown(e)) throw e;
      lost = true;
    }
  }
  throw new HushwireError(ErrorCode.UNAVAILABLE, 'directory busy, retry', { retryAfterMs: 250 });
}

/** A copy of a decoded device as plain props (decoded messages keep defaults on the
 *  prototype; spreading would lose them). */
export function deviceProps(d: DirectoryDevice): DirectoryDeviceProps {
  return {
    device: d.device,
    identityKey: d.identityKey,
    prekey: d.prekey,
    prekeySignature: d.prekeySignature,
    registeredAtMs: Number(d.registeredAtMs),
    lastSeenMs: Number(d.lastSeenMs),
    newDeviceNoticeAtMs: Number(d.newDeviceNoticeAtMs),
    prekeyRotatedAtMs: Number(d.prekeyRotatedAtMs),
    // Kept by every edit (prekey, notices, last_seen, expiry); only a new registration
    // (Directory.upsertDevice) starts without them (docs/PROTOCOL.md section 13).
    resumeVerifiers: d.resumeVerifiers,
  };
}
