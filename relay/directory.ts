// The device directory: per route, the list of devices with their public keys. Stored
// through the Bus (JetStream KV in NATS mode) as an encoded DirectoryEntry, keyed by
// route tag. Updates are compare-and-set loops so two gateways never lose a write.
import type { Bus, DirectoryReadOptions, DirectoryRecord } from './bus/bus.ts';
import { isWriteOutcomeUnknown } from './bus/common.ts';
import { wire, type DirectoryDevice, type DirectoryDeviceProps } from './wire.ts';
import { HushwireError, ErrorCode } from './errors.ts';
import { bytesEqual } from './bytes.ts';

const CAS_ATTEMPTS = 8;

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
   *  and the handset's retry could no longer authenticate. */
  async removeDevice(tag: string, device: Uint8Array): Promise<{ remaining: number }> {
    let lost = false;
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const rec = await this.#bus.directoryGet(tag, lost ? { fromLeader: true } : undefined);
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
        lost = true;
      }
    }
    throw new HushwireError(ErrorCode.UNAVAILABLE, 'directory busy, retry');
  }
}
