// Inbound frames, decoded by hand for the two ops that carry the traffic (`send` and
// `deliver_ack`); every other op goes through the generated decoder.
//
// Why: the generated Op decoder keeps its oneof by assigning `op.body`, whose setter
// deletes every other member (about twenty `delete`s per op, which also turns the object
// into a slow dictionary), and reading `op.body` back lists the object's keys. With a
// Send and an Envelope object per message on top, decoding was a tenth of a gateway's
// busy time (docs/BENCHMARKS.md). Here a `send` becomes one flat object per envelope
// holding the offsets of its fields in the frame, a `deliver_ack` an array of offsets:
// no Uint8Array view is made per field (five views per envelope were the largest single
// source of a gateway's garbage in chat, ~11% of what it allocated). The relay copies
// what it keeps straight out of the frame (relay/relay.ts acceptInboundCb), and an acked
// id becomes its map key straight from the frame's bytes.
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

/**
 * One envelope of a `send` op: its integer fields, and each bytes field as the range
 * [start, end) of `data` (the frame). A field that is absent is the empty range 0..0,
 * as an absent bytes field decodes to empty bytes.
 */
export interface InEnvelope {
  data: Uint8Array;
  version: number;
  suite: number;
  routeStart: number;
  routeEnd: number;
  deviceStart: number;
  deviceEnd: number;
  idStart: number;
  idEnd: number;
  encStart: number;
  encEnd: number;
  ctStart: number;
  ctEnd: number;
}

export type InOp =
  | { kind: 'send'; req: number; envelopes: InEnvelope[] }
  /** `ids` holds [start, end) of each acked id in `data`, two numbers per id. */
  | { kind: 'ack'; req: number; data: Uint8Array; ids: number[] }
  | { kind: 'other'; req: number; op: Op }
  /** An op past `maxOps` (decodeInbound): only its req is read, its other fields are
   *  skipped by their wire type and length (not decoded). */
  | { kind: 'excess'; req: number };
const OP_SEND = 25;
const OP_DELIVER_ACK = 26;

/** Decodes a Frame. Throws (RangeError) on bytes the generated decoder would refuse.
 *  Ops past the first `maxOps` are 'excess': the caller refuses them unseen, so only their
 *  req is read (a frame of 131,072 two-byte ops cost ~50-100 ms through the generated
 *  decoder), and past `maxOps + maxExcess` they are checked and left out (the caller
 *  closes the socket before it would get to them). Bytes inside such an op's fields are
 *  not checked, so a malformed nested message there does not make the frame undecodable. */
export function decodeInbound(data: Uint8Array, maxOps = Infinity, maxExcess = Infinity): InOp[] {
  // One cursor for the whole frame: each nested message is read by pointing it at the
  // message's range, then back at the rest of its parent (a cursor object per op and
  // per envelope was garbage of its own on every message).
  const c = new Cursor(data, 0, data.length);
  const ops: InOp[] = [];
  const keep = maxOps + maxExcess;
  while (c.pos < c.end) {
    const tag = c.field();
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const start = c.delimited();
      const next = c.pos;
      if (ops.length < maxOps) ops.push(decodeOp(c, data, start, next));
      else if (ops.length < keep) ops.push(excessOp(c, start, next));
      else excessReq(c, start, next);
      c.pos = next;
      c.end = data.length;
    } else {
      c.skip(tag & 7, tag >>> 3);
    }
  }
  return ops;
}

function decodeOp(c: Cursor, data: Uint8Array, start: number, end: number): InOp {
  c.pos = start;
  c.end = end;
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
  if (body === OP_SEND) return { kind: 'send', req, envelopes: decodeSend(c, data, bodyStart, bodyEnd) };
  return { kind: 'ack', req, data, ids: decodeIds(c, bodyStart, bodyEnd) };
}

/** An op past the frame's limit: its req (the last one, as the generated decoder keeps),
 *  every other field skipped by its wire type. */
function excessOp(c: Cursor, start: number, end: number): InOp {
  return { kind: 'excess', req: excessReq(c, start, end) };
}

function excessReq(c: Cursor, start: number, end: number): number {
  c.pos = start;
  c.end = end;
  let req = 0;
  while (c.pos < c.end) {
    const tag = c.field();
    if (tag >>> 3 === 1 && (tag & 7) === 0) req = c.uint32();
    else c.skip(tag & 7, tag >>> 3);
  }
  return req;
}

function decodeSend(c: Cursor, data: Uint8Array, start: number, end: number): InEnvelope[] {
  c.pos = start;
  c.end = end;
  // Nearly every send carries one envelope (one per message, as the SDK sends): an
  // array of exactly one then, not a growable one (whose first push reserves 17 slots).
  let first: InEnvelope | null = null;
  let out: InEnvelope[] | null = null;
  while (c.pos < c.end) {
    const tag = c.field();
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const s = c.delimited();
      const next = c.pos;
      const e = decodeEnvelope(c, data, s, next);
      c.pos = next;
      c.end = end;
      if (first === null) first = e;
      else if (out === null) out = [first, e];
      else out.push(e);
    } else {
      c.skip(tag & 7, tag >>> 3);
    }
  }
  return out ?? (first === null ? [] : [first]);
}

function decodeEnvelope(c: Cursor, data: Uint8Array, start: number, end: number): InEnvelope {
  c.pos = start;
  c.end = end;
  const e: InEnvelope = {
    data, version: 0, suite: 0,
    routeStart: 0, routeEnd: 0, deviceStart: 0, deviceEnd: 0, idStart: 0, idEnd: 0, encStart: 0, encEnd: 0, ctStart: 0, ctEnd: 0,
  };
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
      const to = c.pos;
      switch (field) {
        case 2: e.routeStart = s; e.routeEnd = to; break;
        case 3: e.deviceStart = s; e.deviceEnd = to; break;
        case 4: e.idStart = s; e.idEnd = to; break;
        case 6: e.encStart = s; e.encEnd = to; break;
        default: e.ctStart = s; e.ctEnd = to;
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

function decodeIds(c: Cursor, start: number, end: number): number[] {
  c.pos = start;
  c.end = end;
  const ids: number[] = [];
  while (c.pos < c.end) {
    const tag = c.field();
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const s = c.delimited();
      ids.push(s, c.pos);
    } else {
      c.skip(tag & 7, tag >>> 3);
    }
  }
  return ids;
}

/** Spans of an EnvelopeProps: the envelope encoded by the generated code, then read
 *  back as offsets (Relay.acceptEnvelopeCb, whose callers hand over objects). Fields of
 *  the wrong type must have been refused before. */
export function inEnvelopeOf(env: EnvelopeProps): InEnvelope {
  const data = wire.Envelope.encode(env).finish();
  return decodeEnvelope(new Cursor(data, 0, data.length), data, 0, data.length);
}
