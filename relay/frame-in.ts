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
import { Cursor } from './proto-cursor.ts';

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

/** Decodes a Frame. Throws (RangeError) on bytes the generated decoder would refuse. */
export function decodeInbound(data: Uint8Array): InOp[] {
  const c = new Cursor(data, 0, data.length);
  const ops: InOp[] = [];
  while (c.pos < c.end) {
    const tag = c.field();
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
    const tag = c.field();
    const field = tag >>> 3;
    const wt = tag & 7;
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
    const tag = c.field();
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
    const tag = c.field();
    const field = tag >>> 3;
    const wt = tag & 7;
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
    const tag = c.field();
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const s = c.delimited();
      ids.push(data.subarray(s, c.pos));
    } else {
      c.skip(tag & 7, tag >>> 3);
    }
  }
  return ids;
}
