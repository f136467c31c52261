// Small byte helpers used across the relay.
import { bytesToHex } from '@noble/hashes/utils.js';

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

// Node's native hex encoder (Buffer.prototype.hexSlice works on any Uint8Array): the
// delivery path turns every envelope id into a map key twice, and the JS encoder cost
// about 2.5x as much per call.
export const hexSlice = (Buffer.prototype as unknown as { hexSlice: (this: Uint8Array, start: number, end: number) => string }).hexSlice;

/** Lowercase hex. */
export function hex(b: Uint8Array): string {
  if (!(b instanceof Uint8Array)) return bytesToHex(b); // let the library report the wrong type
  return hexSlice.call(b, 0, b.length);
}

export function isBytes(b: unknown, len?: number): b is Uint8Array {
  return b instanceof Uint8Array && (len === undefined || b.length === len);
}

/**
 * `n` bytes carved from Node's shared 8 KiB allocation slabs (Buffer.allocUnsafe: not
 * zeroed, so the caller writes every byte), returned as a plain Uint8Array view so that
 * `.slice()` still copies (Buffer's slice would return a view, and a copy meant to be
 * kept, such as a stored mailbox message, would then pin the slab).
 *
 * For short-lived buffers of the delivery path: one fewer ArrayBuffer to allocate,
 * track and free per message. A buffer kept long pins its whole slab (at most 8 KiB,
 * for buffers under 4 KiB; larger ones get their own memory as before).
 */
export function pooledBytes(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}
