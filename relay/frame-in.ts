// Inbound frames, decoded by hand for the two ops that carry the traffic (`send` and
// `deliver_ack`); every other op goes through the generated decoder.
//
// Why: the generated Op decoder keeps its oneof by assigning `op.body`, whose setter
// deletes every other member (about twenty `delete`s per op, which also turns the object
// into a slow dictionary), and reading `op.body` back lists the object's keys. With a
// Send and an Envelope object per message on top, decoding was a tenth of a gateway's
// busy time (docs/BENCHMARKS.md). Here a `send` becomes plain objects with views into the
// frame, a `deliver_ack` an array of views.
//
// Same bytes, same meaning as the generated code (proto/hushwire.proto): unknown fields
// and fields with an unexpected wire type are skipped, the last occurrence of a singular
// field wins, uint32 varints keep their low 32 bits, and whatever the generated decoder
// rejects (truncated or overlong varints, lengths past the end, wire types 6 and 7,
// unterminated groups) throws here too. An op that is not exactly `req` plus one `send`
// or one `deliver_ack` is handed to the generated decoder whole, so oneof and merge rules
// for the rare ops stay the library's. test/gateway/frame-in.test.ts cross-checks both
// decoders on generated and mutated frames.
import { wire, type EnvelopeProps, type Op } from './wire.ts';

export interface InEnvelope extends EnvelopeProps {
  version: number;
  route: Uint8Array;
  device: Uint8Array;
  id: Uint8Array;
  suite: number;
  enc: Uint8Array;
  ciphertext: Uint8Array;
}

export type InOp =
  | { kind: 'send'; req: number; envelopes: InEnvelope[] }
  | { kind: 'ack'; req: number; ids: Uint8Array[] }
  | { kind: 'other'; req: number; op: Op };

const EMPTY = new Uint8Array(0);
const OP_SEND = 25;
const OP_DELIVER_ACK = 26;
/** protobufjs's util.recursionLimit (protoc's default). */
const MAX_DEPTH = 100;

class Malformed extends RangeError {}

/** A cursor over one message's bytes [pos, end). */
class Cursor {
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

/** Decodes a Frame. Throws (RangeError) on bytes the generated decoder would refuse. */
export function decodeInbound(data: Uint8Array): InOp[] {
  const c = new Cursor(data, 0, data.length);
  const ops: InOp[] = [];
  while (c.pos < c.end) {
    const tag = c.tag();
    if (tag >>> 3 === 0) throw new Malformed('field number 0');
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const start = c.delimited();
      ops.push(decodeOp(data, start, c.pos));
    } else {
      c.skip(tag & 7, tag >>> 3);
    }
  }
  return ops;
}

function decodeOp(data: Uint8Array, start: number, end: number): InOp {
  const c = new Cursor(data, start, end);
  let req = 0;
  let body = 0;       // field number of the one body field seen, 0 = none
  let bodyStart = 0;
  let bodyEnd = 0;
  let plain = true;   // only req and one send/deliver_ack, nothing else
  while (c.pos < c.end) {
    const tag = c.tag();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 0) throw new Malformed('field number 0');
    if (field === 1 && wt === 0) {
      req = c.uint32();
    } else if ((field === OP_SEND || field === OP_DELIVER_ACK) && wt === 2 && body === 0) {
      bodyStart = c.delimited();
      bodyEnd = c.pos;
      body = field;
    } else {
      c.skip(wt, field);
      plain = false;
    }
  }
  if (!plain || body === 0) return { kind: 'other', req, op: wire.Op.decode(data.subarray(start, end)) };
  if (body === OP_SEND) return { kind: 'send', req, envelopes: decodeSend(data, bodyStart, bodyEnd) };
  return { kind: 'ack', req, ids: decodeIds(data, bodyStart, bodyEnd) };
}

function decodeSend(data: Uint8Array, start: number, end: number): InEnvelope[] {
  const c = new Cursor(data, start, end);
  const out: InEnvelope[] = [];
  while (c.pos < c.end) {
    const tag = c.tag();
    if (tag >>> 3 === 0) throw new Malformed('field number 0');
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const s = c.delimited();
      out.push(decodeEnvelope(data, s, c.pos));
    } else {
      c.skip(tag & 7, tag >>> 3);
    }
  }
  return out;
}

function decodeEnvelope(data: Uint8Array, start: number, end: number): InEnvelope {
  const c = new Cursor(data, start, end);
  const e: InEnvelope = { version: 0, route: EMPTY, device: EMPTY, id: EMPTY, suite: 0, enc: EMPTY, ciphertext: EMPTY };
  while (c.pos < c.end) {
    const tag = c.tag();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 0) throw new Malformed('field number 0');
    if (wt === 0 && (field === 1 || field === 5)) {
      const v = c.uint32();
      if (field === 1) e.version = v;
      else e.suite = v;
    } else if (wt === 2 && (field === 2 || field === 3 || field === 4 || field === 6 || field === 7)) {
      const s = c.delimited();
      const bytes = data.subarray(s, c.pos);
      switch (field) {
        case 2: e.route = bytes; break;
        case 3: e.device = bytes; break;
        case 4: e.id = bytes; break;
        case 6: e.enc = bytes; break;
        default: e.ciphertext = bytes;
      }
    } else if (wt === 0 && field === 8) {
      // server_ts is the accepting gateway's to set: a client's is read past (but, as
      // the generated uint64 reader does, refused when over 10 bytes).
      c.uint32();
    } else {
      c.skip(wt, field);
    }
  }
  return e;
}

function decodeIds(data: Uint8Array, start: number, end: number): Uint8Array[] {
  const c = new Cursor(data, start, end);
  const ids: Uint8Array[] = [];
  while (c.pos < c.end) {
    const tag = c.tag();
    if (tag >>> 3 === 0) throw new Malformed('field number 0');
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const s = c.delimited();
      ids.push(data.subarray(s, c.pos));
    } else {
      c.skip(tag & 7, tag >>> 3);
    }
  }
  return ids;
}
