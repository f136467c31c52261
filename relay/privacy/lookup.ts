// Lookup answers of one fixed size (docs/PRIVACY.md, "Discovery that can't be mined").
//
// A `devices` answer for a route with no devices, with one, or with the maximum all
// encode to the same number of bytes: a zero `padding` field fills the difference. So
// a network observer (who sees frame sizes through TLS) cannot tell a known number from
// an unknown one, nor how many devices it has. Unknown routes are answered with an
// empty device list (the handset reads that as NOT_REGISTERED), not with an error op of
// another size.
import { wire } from '../wire.ts';
import { DEVICE_BYTES, ROUTE_BYTES } from '../wire.ts';
import type { DirectoryDevice } from '../wire.ts';

type DevicesProps = {
  route: Uint8Array;
  devices: Array<{ device: Uint8Array; identityKey: Uint8Array; prekey: Uint8Array; prekeySignature: Uint8Array }>;
  padding?: Uint8Array;
};

const sizeCache = new Map<number, number>();

function encodedLength(d: DevicesProps): number {
  return wire.Devices.encode(d).finish().length;
}

/** The one size every answer has with `maxDevices` per route. */
export function fixedDevicesSize(maxDevices: number): number {
  let size = sizeCache.get(maxDevices);
  if (size === undefined) {
    const full: DevicesProps = {
      route: new Uint8Array(ROUTE_BYTES),
      devices: Array.from({ length: maxDevices }, () => ({
        device: new Uint8Array(DEVICE_BYTES), identityKey: new Uint8Array(32), prekey: new Uint8Array(32), prekeySignature: new Uint8Array(64),
      })),
      padding: new Uint8Array(1), // even the full answer carries the field, so it is never absent
    };
    size = encodedLength(full);
    sizeCache.set(maxDevices, size);
  }
  return size;
}

/** The answer for one route, padded to fixedDevicesSize(maxDevices). A route holding
 *  more devices than that (the limit was lowered later) gets no padding. */
export function paddedDevices(route: Uint8Array, devices: readonly DirectoryDevice[], maxDevices: number): DevicesProps {
  const out: DevicesProps = {
    route,
    devices: devices.map((d) => ({ device: d.device, identityKey: d.identityKey, prekey: d.prekey, prekeySignature: d.prekeySignature })),
  };
  const target = fixedDevicesSize(maxDevices);
  const bare = encodedLength({ ...out, padding: new Uint8Array(0) }); // tag + zero length: 2 bytes
  if (bare >= target) {
    out.padding = new Uint8Array(0);
    return out;
  }
  // The padding's length prefix is a varint: find the length whose total fits exactly.
  for (let p = target - bare; p >= 0; p--) {
    const candidate = { ...out, padding: new Uint8Array(p) };
    const len = encodedLength(candidate);
    if (len === target) return candidate;
    if (len < target) break;
  }
  out.padding = new Uint8Array(Math.max(0, target - bare));
  return out;
}
