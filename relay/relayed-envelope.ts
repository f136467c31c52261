// The two per-envelope protobuf steps of the delivery hot path, done by hand:
//
// - encodeRelayed: what crosses the bus and is stored is the sender's Envelope minus
//   route and device (docs/PRIVACY.md), plus server_ts. Written in one pass into one
//   buffer of the exact size; the generated encoder builds an operation list and a
//   buffer per call, and the gateway does this once per envelope. The buffer is carved
//   from a shared slab (relay/bytes.ts pooledBytes) rather than given an ArrayBuffer of
//   its own: chat A/B on 2026-12-05, gateway CPU 12.8-13.1 -> 11.6-11.7 µs per message
//   (docs/BENCHMARKS.md). It lives until the delivery settles: on the live path it is
//   copied into the batch for the recipient's node at once (a batch buffer of at least
//   16 KiB, itself kept until answered), and a mailbox store copies it (the embedded
//   bus slices, NATS publishes); so an envelope waiting for a slow recipient pins at
//   most 8 KiB more, for at most --live-timeout-ms, next to the batch it already pins.
// - envelopeIdStart: the recipient's gateway needs only where the id is (to match the
//   device's ack), not a decoded Envelope object with five buffer views.
//
// Both produce and read standard protobuf (proto/hushwire.proto, message Envelope); the
// tests cross-check them against the generated code (test/gateway/relayed-envelope.test.ts).

import { varintSize, writeVarint } from './varint.ts';
import { pooledBytes } from './bytes.ts';
import type { InEnvelope } from './frame-in.ts';

// Field numbers and wire types of hushwire.v1.Envelope.
const F_VERSION = (1 << 3) | 0;
const F_ID = (4 << 3) | 2;
const F_SUITE = (5 << 3) | 0;
const F_ENC = (6 << 3) | 2;
const F_CIPHERTEXT = (7 << 3) | 2;
const F_SERVER_TS = (8 << 3) | 0;

export interface RelayedFields {
  version: number;
  id: Uint8Array;
  suite: number;
  enc: Uint8Array;
  ciphertext: Uint8Array;
  /** ms since the epoch (a safe integer). */
  serverTs: number;
}

/** Encoded Envelope {version, id, suite, enc, ciphertext, server_ts}; zero fields are
 *  left out as proto3 does. Integers must be non-negative safe integers (version and
 *  suite are checked by the caller; server_ts is the clock). */
export function encodeRelayed(f: RelayedFields): Uint8Array {
  const { id, enc, ciphertext } = f;
  return writeRelayed(f.version, f.suite, f.serverTs, id, 0, id.length, enc, 0, enc.length, ciphertext, 0, ciphertext.length);
}

/** encodeRelayed of an envelope read from a frame (relay/frame-in.ts): the fields are
 *  copied straight from the frame, with no view made per field. Same bytes as
 *  encodeRelayed of the same fields. */
export function encodeRelayedIn(e: InEnvelope, serverTs: number): Uint8Array {
  const d = e.data;
  return writeRelayed(e.version, e.suite, serverTs, d, e.idStart, e.idEnd, d, e.encStart, e.encEnd, d, e.ctStart, e.ctEnd);
}

/** The one writer of both: each bytes field is the range [start, end) of its source. */
function writeRelayed(
  version: number, suite: number, serverTs: number,
  idSrc: Uint8Array, idStart: number, idEnd: number,
  encSrc: Uint8Array, encStart: number, encEnd: number,
  ctSrc: Uint8Array, ctStart: number, ctEnd: number,
): Uint8Array {
  const idLen = idEnd - idStart;
  const encLen = encEnd - encStart;
  const ctLen = ctEnd - ctStart;
  let size = 0;
  if (version !== 0) size += 1 + varintSize(version);
  if (idLen > 0) size += 1 + varintSize(idLen) + idLen;
  if (suite !== 0) size += 1 + varintSize(suite);
  if (encLen > 0) size += 1 + varintSize(encLen) + encLen;
  if (ctLen > 0) size += 1 + varintSize(ctLen) + ctLen;
  if (serverTs !== 0) size += 1 + varintSize(serverTs);
  const buf = pooledBytes(size); // every byte is written below
  let o = 0;
  if (version !== 0) {
    buf[o++] = F_VERSION;
    o = writeVarint(buf, o, version);
  }
  if (idLen > 0) o = writeRangeField(buf, o, F_ID, idSrc, idStart, idEnd);
  if (suite !== 0) {
    buf[o++] = F_SUITE;
    o = writeVarint(buf, o, suite);
  }
  if (encLen > 0) o = writeRangeField(buf, o, F_ENC, encSrc, encStart, encEnd);
  if (ctLen > 0) o = writeRangeField(buf, o, F_CIPHERTEXT, ctSrc, ctStart, ctEnd);
  if (serverTs !== 0) {
    buf[o++] = F_SERVER_TS;
    o = writeVarint(buf, o, serverTs);
  }
  return buf;
}

/** Copies src[s, e) to dst at o; returns the offset after it. Short ranges (ids, keys)
 *  by a loop: a TypedArray#set of part of src needs a view of the range, one
 *  allocation (~50 ns here, more than the loop up to ~32 bytes). */
function copyRange(dst: Uint8Array, o: number, src: Uint8Array, s: number, e: number): number {
  const n = e - s;
  if (n <= 32) {
    for (let i = 0; i < n; i++) dst[o + i] = src[s + i] as number;
  } else if (s === 0 && e === src.length) {
    dst.set(src, o);
  } else {
    dst.set(src.subarray(s, e), o);
  }
  return o + n;
}

function writeRangeField(dst: Uint8Array, o: number, tag: number, src: Uint8Array, s: number, e: number): number {
  dst[o++] = tag;
  o = writeVarint(dst, o, e - s);
  return copyRange(dst, o, src, s, e);
}

/** Where encodeRelayed/encodeRelayedIn put the id of an envelope with this version and
 *  id length (id non-empty): the id is the first bytes field, after the version. */
export function relayedIdStart(version: number, idLen: number): number {
  return (version !== 0 ? 1 + varintSize(version) : 0) + 1 + varintSize(idLen);
}

// The offset after the last varint readVarint read: returned through this module
// variable, not a [value, offset] pair, so reading an envelope's id allocates nothing
// (it runs for every delivered envelope).
let after = 0;

/** Reads a varint at o and sets `after`; returns its value, or -1 past the end / over 2^53. */
function readVarint(b: Uint8Array, o: number): number {
  let n = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (o >= b.length) return -1;
    const byte = b[o++] as number;
    n += (byte & 0x7f) * mul;
    if (byte < 0x80) {
      after = o;
      return n;
    }
    mul *= 128;
  }
  return -1;
}

/** The end of the id found by the last envelopeIdStart call that found one. */
let idEnd = 0;

/**
 * Where the id field (4) of an encoded Envelope is: its start in `b` (its end:
 * envelopeIdEnd()), or -1 when the bytes are not a well-formed Envelope up to it or
 * carry no id. The last id wins if repeated, as in protobuf decoding. No view is made:
 * the recipient's gateway keys the envelope by the id's bytes, read straight from `b`.
 */
export function envelopeIdStart(b: Uint8Array): number {
  let id = -1;
  let end = 0;
  let o = 0;
  while (o < b.length) {
    const tag = readVarint(b, o);
    if (tag < 0) return -1;
    o = after;
    switch (tag & 7) {
      case 0:
        if (readVarint(b, o) < 0) return -1;
        o = after;
        break;
      case 1:
        o += 8;
        break;
      case 2: {
        const len = readVarint(b, o);
        if (len < 0) return -1;
        const start = after;
        if (start + len > b.length) return -1;
        if (tag === F_ID) {
          id = start;
          end = start + len;
        }
        o = start + len;
        break;
      }
      case 5:
        o += 4;
        break;
      default:
        return -1; // groups (3, 4) and invalid wire types
    }
    if (o > b.length) return -1;
  }
  if (id >= 0) idEnd = end;
  return id;
}

/** The end of the id whose start the last successful envelopeIdStart returned. */
export function envelopeIdEnd(): number {
  return idEnd;
}
