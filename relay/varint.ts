// Protobuf base-128 varints for the hand-written encoders (relay/relayed-envelope.ts,
// relay/frame-out.ts), for non-negative safe integers (not only 32-bit ones: server_ts).

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
