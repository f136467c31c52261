// A cursor over protobuf wire bytes for the hand-written decoders (relay/frame-in.ts in
// the gateway, bench/drivers/hushwire-frames.ts in the bench's generator), with the
// generated decoder's rules: what protobufjs refuses (truncated or overlong varints,
// lengths past the end, wire types 6 and 7, unterminated or mismatched groups, nesting
// deeper than its recursion limit) throws `Malformed` here too, and what it accepts
// (unknown fields of any valid wire type) can be skipped.

/** protobufjs's util.recursionLimit (protoc's default). */
const MAX_DEPTH = 100;

/** Bytes a protobuf decoder must refuse (truncated, overlong, bad wire type, ...). */
export class Malformed extends RangeError {}

/** A cursor over one message's bytes [pos, end). */
export class Cursor {
  buf: Uint8Array;
  pos: number;
  end: number;
  constructor(buf: Uint8Array, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** A varint's low 32 bits, unsigned (protobufjs uint32): at most 10 bytes. */
  uint32(): number {
    const b = this.buf;
    let v = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Malformed('varint past the end');
      const byte = b[this.pos++] as number;
      if (i < 5) v = (v | ((byte & 0x7f) << (7 * i))) >>> 0;
      if (byte < 0x80) return v;
    }
    throw new Malformed('varint over 10 bytes');
  }

  /** The first four 7-bit groups of a varint; -1 when a fifth byte follows. */
  #first4(): number {
    const b = this.buf;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.end) throw new Malformed('varint past the end');
      const byte = b[this.pos++] as number;
      v |= (byte & 0x7f) << (7 * i);
      if (byte < 0x80) return v >>> 0;
    }
    return -1 - v; // v < 2^28: the caller adds the fifth byte
  }

  /** A field tag: at most five bytes, the fifth with only its low four bits (protobufjs tag()). */
  tag(): number {
    const v = this.#first4();
    if (v >= 0) return v;
    if (this.pos >= this.end) throw new Malformed('tag past the end');
    const byte = this.buf[this.pos++] as number;
    if (byte >= 0x80 || (byte & 0x70) !== 0) throw new Malformed('invalid tag encoding');
    return ((-1 - v) | (byte << 28)) >>> 0;
  }

  /** The next field's tag, refused when its field number is 0 (as protobufjs does). */
  field(): number {
    const tag = this.tag();
    if (tag >>> 3 === 0) throw new Malformed('field number 0');
    return tag;
  }

  /** A length prefix below 2^31: at most five bytes, the fifth at most 7 (protobufjs size()). */
  size(): number {
    const v = this.#first4();
    if (v >= 0) return v;
    if (this.pos >= this.end) throw new Malformed('length past the end');
    const byte = this.buf[this.pos++] as number;
    if (byte > 7) throw new Malformed('invalid length encoding');
    return ((-1 - v) | (byte << 28)) >>> 0;
  }

  /** A length-delimited field's extent; returns its start, moves past it. */
  delimited(): number {
    const len = this.size();
    const start = this.pos;
    if (len > this.end - start) throw new Malformed('length past the end');
    this.pos = start + len;
    return start;
  }

  /** Skips a field of this wire type (the tag already read); groups nest at most
   *  MAX_DEPTH deep, as in protobufjs. */
  skip(wireType: number, field: number, depth = 0): void {
    if (depth > MAX_DEPTH) throw new Malformed('max depth exceeded');
    switch (wireType) {
      case 0:
        // Like protobufjs's skip(): continuation bytes up to the end, no length limit.
        do {
          if (this.pos >= this.end) throw new Malformed('varint past the end');
        } while ((this.buf[this.pos++] as number) & 0x80);
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.delimited();
        return;
      case 3:
        // A group: skip fields until its end tag (wire type 4, same field number).
        for (;;) {
          const tag = this.tag();
          const wt = tag & 7;
          if (wt === 4) {
            if (tag >>> 3 !== field) throw new Malformed('group end of another field');
            return;
          }
          if (tag >>> 3 === 0) throw new Malformed('field number 0');
          this.skip(wt, tag >>> 3, depth + 1);
        }
      case 5:
        this.advance(4);
        return;
      default:
        throw new Malformed(`wire type ${wireType}`);
    }
  }

  advance(n: number): void {
    if (n > this.end - this.pos) throw new Malformed('field past the end');
    this.pos += n;
  }
}
