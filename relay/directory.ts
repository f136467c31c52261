// The device directory: per route, the list of devices with their public keys. Stored
// through the Bus (JetStream KV in NATS mode) as an encoded DirectoryEntry, keyed by
// route tag. Updates are compare-and-set loops so two gateways never lose a write.
import type { Bus, DirectoryReadOptions, DirectoryRecord } from './bus/bus.ts';
import { isWriteOutcomeUnknown, withTimeout } from './bus/common.ts';
import { wire, type DirectoryDevice, type DirectoryDeviceProps } from './wire.ts';
import { HushwireError, ErrorCode } from './errors.ts';
import { bytesEqual } from './bytes.ts';

const CAS_ATTEMPTS = 8;
/** How long a removal whose write was lost with the connection to NATS waits, once the
 *  bus fails its re-read for a loss past its outage grace (2 s), for the reconnect before
 *  it gives up (Directory.removeDevice): with the opt-out's other steps, within the
 *  SDK's request deadline (10 s). */
export const LOST_REMOVAL_WAIT_MS = 5_000;

/** The devices of a directory record (none without one). */
export function devicesOf(rec: DirectoryRecord | null): DirectoryDevice[] {
  return rec ? (wire.DirectoryEntry.decode(rec.value).devices as DirectoryDevice[]) : [];
}

export class Directory {
  #bus: Bus;
  #maxDevices: number;

  constructor(bus: Bus, maxDevicesPerRoute: number) {
    this.#bus = bus;
    this.#maxDevices = maxDevicesPerRoute;
  }

  async devices(tag: string, opts?: DirectoryReadOptions): Promise<DirectoryDevice[]> {
    return devicesOf(await this.#bus.directoryGet(tag, opts));
  }

  /** `fromLeader`: see Bus.directoryGet (a second look when the first refused). Every
   *  authentication makes this read: a continuation, not two async frames. */
  findDevice(tag: string, device: Uint8Array, opts?: DirectoryReadOptions): Promise<DirectoryDevice | null> {
    return this.#bus.directoryGet(tag, opts).then((rec) => {
      for (const d of devicesOf(rec)) if (bytesEqual(d.device, device)) return d;
      return null;
    });
  }

  /** Adds or replaces a device. Returns how many other devices the route had. */
  async upsertDevice(tag: string, dev: DirectoryDeviceProps & { device: Uint8Array }): Promise<{ others: number }> {
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const rec = await this.#bus.directoryGet(tag);
      const devices = devicesOf(rec);
      const others = devices.filter((d) => !bytesEqual(d.device, dev.device));
      if (others.length >= this.#maxDevices) {
        const n = this.#maxDevices;
        // Told to the handset (and by the CLI): the user's words, not the relay's ("route").
        throw new HushwireError(ErrorCode.TOO_MANY_DEVICES, `this number already has the most devices this service allows (${n} ${n === 1 ? 'device' : 'devices'}): unregister one of them first (hushwire unregister on that device); a device lost for good is removed once it has not connected for the service's idle expiry`);
      }
      const value = wire.DirectoryEntry.encode({ devices: [...others, dev] }).finish();
      const rev = await this.#bus.directoryPut(tag, value, rec ? rec.revision : 0);
      if (rev !== null) return { others: others.length };
    }
    throw new HushwireError(ErrorCode.UNAVAILABLE, 'directory busy, retry');
  }

  /** Removes a device; deletes the whole entry when it was the last. The delete is
   *  revision-checked like every write here: a device another gateway registers on the
   *  same route between the read and the delete (a new phone, while the old one opts
   *  out) makes it conflict, and the loop keeps that device.
   *  A write whose request was in flight when the bus lost NATS (it may have landed:
   *  bus/common.ts WriteOutcomeUnknown) is not the caller's failure: the record is read
   *  again at the leader (the bus waits for the reconnect) and the removal decided again:
   *  gone means done. Before, an opt-out whose removal landed was answered UNAVAILABLE,
   *  and the handset's retry could no longer authenticate. A loss that outlasts the
   *  bus's grace fails that read at once: it is made again once reconnected, for up to
   *  LOST_REMOVAL_WAIT_MS (#readAfterLoss); a longer outage fails it (UNAVAILABLE, the
   *  outcome unknown), and a route entry it leaves listing no devices is erased by the
   *  idle sweep (Privacy #eraseEmptyEntry). */
  async removeDevice(tag: string, device: Uint8Array): Promise<{ remaining: number }> {
    let lost = false;
    let waitUntil = 0;
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const rec = lost ? await this.#readAfterLoss(tag, waitUntil) : await this.#bus.directoryGet(tag);
      if (!rec) return { remaining: 0 };
      const devices = devicesOf(rec);
      const rest = devices.filter((d) => !bytesEqual(d.device, device));
      if (rest.length === devices.length && rest.length > 0) return { remaining: rest.length };
      try {
        if (rest.length === 0) {
          if (await this.#bus.directoryDelete(tag, rec.revision)) return { remaining: 0 };
          continue;
        }
        const value = wire.DirectoryEntry.encode({ devices: rest }).finish();
        const rev = await this.#bus.directoryPut(tag, value, rec.revision);
        if (rev !== null) return { remaining: rest.length };
      } catch (e) {
        if (!isWriteOutcomeUnknown(e)) throw e;
        if (!lost) waitUntil = Date.now() + LOST_REMOVAL_WAIT_MS;
        lost = true;
      }
    }
    throw new HushwireError(ErrorCode.UNAVAILABLE, 'directory busy, retry');
  }

  /** The record at the leader after a write of removeDevice was lost with the connection.
   *  A read that fails while the bus is still reconnecting (past its grace it fails at
   *  once) waits for the reconnect (Bus.reconnected), until `until` (Date.now), and is
   *  made again: the write may have landed, the device gone, and only a read tells
   *  (test/faults/nats-erase-outage.test.ts). */
  async #readAfterLoss(tag: string, until: number): Promise<DirectoryRecord | null> {
    for (;;) {
      try {
        return await this.#bus.directoryGet(tag, { fromLeader: true });
      } catch (e) {
        const left = until - Date.now();
        const bus = this.#bus;
        if (left <= 0 || bus.reconnected === undefined || bus.status().state !== 'reconnecting') throw e;
        if (!(await withTimeout(bus.reconnected().then(() => true), left, false))) throw e;
        // Resolved, yet still reconnecting (a new loss at once): not a tight loop.
        if (bus.status().state === 'reconnecting') await new Promise((r) => setTimeout(r, Math.min(250, Math.max(0, until - Date.now()))));
      }
    }
  }
}
