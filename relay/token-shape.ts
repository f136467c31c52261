// Length checks of route and device ids, with no Node dependency: the crypto modules
// (and through them the portable handset SDK, client/portable.ts) use these; the
// gateway's token helpers (relay/tokens.ts) re-export them.
import { ROUTE_BYTES, DEVICE_BYTES } from './wire.ts';
import { HushwireError, ErrorCode } from './errors.ts';

export function assertRoute(route: unknown): asserts route is Uint8Array {
  if (!(route instanceof Uint8Array) || route.length !== ROUTE_BYTES) {
    throw new HushwireError(ErrorCode.BAD_TOKEN, `route must be ${ROUTE_BYTES} bytes`);
  }
}

export function assertDevice(device: unknown): asserts device is Uint8Array {
  if (!(device instanceof Uint8Array) || device.length !== DEVICE_BYTES) {
    throw new HushwireError(ErrorCode.BAD_TOKEN, `device must be ${DEVICE_BYTES} bytes`);
  }
}
