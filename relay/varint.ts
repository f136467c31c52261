// Protobuf base-128 varints for the hand-written encoders (relay/relayed-envelope.ts,
// relay/frame-out.ts, the bench's bench/drivers/hushwire-frames.ts), for non-negative
// safe integers (not only 32-bit ones: server_ts), and length-delimited fields.

/** Bytes of a varint holding n. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes n at buf[o]; returns the offset after it. */
export function writeVarint(buf: Uint8Array, o: number, n: number): number {
  while (n >= 0x80) {
    buf[o++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[o++] = n;
  return o;
}

/** Bytes of a length-delimited field with a one-byte tag holding `bytes`. */
export function bytesFieldSize(bytes: Uint8Array): number {
  return 1 + varintSize(bytes.length) + bytes.length;
}

/** Writes a length-delimited field (one-byte tag, length, the bytes) at buf[o]; returns
 *  the offset after it. */
export function writeBytesField(buf: Uint8Array, o: number, tag: number, bytes: Uint8Array): number {
  buf[o++] = tag;
  o = writeVarint(buf, o, bytes.length);
  buf.set(bytes, o);
  return o + bytes.length;
}
