// Small byte helpers used across the relay.
import { bytesToHex } from '@noble/hashes/utils.js';

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

// Node's native hex encoder (Buffer.prototype.hexSlice works on any Uint8Array): device
// tokens and ids are hexed on the delivery path, and the JS encoder cost about 2.5x as
// much per call.
export const hexSlice = (Buffer.prototype as unknown as { hexSlice: (this: Uint8Array, start: number, end: number) => string }).hexSlice;
/** Node's native latin1 decoder, likewise callable on any Uint8Array. */
export const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

/** Lowercase hex. */
export function hex(b: Uint8Array): string {
  if (!(b instanceof Uint8Array)) return bytesToHex(b); // let the library report the wrong type
  return hexSlice.call(b, 0, b.length);
}

export function isBytes(b: unknown, len?: number): b is Uint8Array {
  return b instanceof Uint8Array && (len === undefined || b.length === len);
}

/** Size of the slabs pooledBytes carves from (Node's Buffer.poolSize), and the largest
 *  request it carves (larger ones get memory of their own). */
const SLAB_BYTES = 8 * 1024;
const SLAB_MAX_REQUEST = SLAB_BYTES >>> 1;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * `n` bytes carved from a shared 8 KiB slab (as Buffer.allocUnsafe carves from Node's
 * pool, 8-byte aligned), as a plain Uint8Array, so that `.slice()` still copies (Buffer's
 * slice would return a view, and a copy meant to be kept, such as a stored mailbox
 * message, would then pin the slab). The caller writes every byte it reads.
 *
 * For short-lived buffers of the delivery path: one fewer ArrayBuffer to allocate,
 * track and free per message. A buffer kept long pins its whole slab (at most 8 KiB,
 * for buffers under 4 KiB; larger ones get their own memory). The slab is this module's
 * own rather than Node's pool so that one view is made per request, not a Buffer and
 * then a plain view of it.
 */
export function pooledBytes(n: number): Uint8Array {
  if (n >= SLAB_MAX_REQUEST) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const b = new Uint8Array(slab, slabUsed, n);
  slabUsed = (slabUsed + n + 7) & ~7;
  return b;
}
