// The frames a bench handset writes and reads once it is authenticated, by hand.
//
// Why: the generator shares the machine's two cores with the gateways it measures, so
// every microsecond it spends per message is one the gateways do not get. Through
// protobufjs a message cost the generator ~8 µs (docs/BENCHMARKS.md, Method, "Hushwire
// handsets"): the envelope was copied five times on its way out (a copy to stamp the id,
// into an op writer, out of it, into the frame writer, out of that, then masked into the
// WebSocket frame), and each delivery decoded into an Op, a Deliver and an Envelope object
// with a view per field. Here a frame's size is computed first, the envelopes are copied
// once, straight into the WebSocket frame (masked there in place, bench/drivers/lean-ws.ts),
// and a server frame is walked with relay/proto-cursor.ts for the few fields a bench
// handset needs: delivered envelope ids, receipts' status and code, errors' code.
//
// Same bytes, same meaning as the generated code (test/bench/hushwire-frames.test.ts
// cross-checks both ways): unknown fields and fields with an unexpected wire type are
// skipped, the last of a repeated scalar field wins, malformed bytes throw; an op with
// more than one body field (the oneof's merge rules) goes to the generated decoder.
import { Cursor } from '../../relay/proto-cursor.ts';
import { bytesFieldSize, varintSize, writeBytesField, writeVarint } from '../../relay/varint.ts';
import { wire, type Op } from '../../relay/wire.ts';
import { writeId } from './driver.ts';
import { MAX_OPS_PER_FRAME } from '../../client/connection-core.ts';

/** Ops a bench handset puts in one frame: the SDK's own bound (gateways answer the ops
 *  past their limit, 256 by default, with BAD_REQUEST and close a socket after 32 such
 *  errors, 4008). */
export { MAX_OPS_PER_FRAME };

/** One pre-sealed envelope: its encoding and where its 16-byte id sits in it. */
export interface Sealed {
  bytes: Uint8Array;
  idOffset: number;
}

/** One queued `send` op: envelopes to write with the id (sender, seq, run tag) stamped in. */
export interface OutSend {
  req: number;
  sender: number;
  seq: number;
  envelopes: readonly Sealed[];
}

const TAG_FRAME_OP = (1 << 3) | 2;
const TAG_REQ = (1 << 3) | 0;
const TAG_SEND = (25 << 3) | 2;          // two bytes as a varint
const TAG_DELIVER_ACK = (26 << 3) | 2;   // two bytes as a varint
const TAG_ITEM = (1 << 3) | 2;           // Send.envelopes, DeliverAck.ids

function sendBodySize(s: OutSend): number {
  let n = 0;
  for (const e of s.envelopes) n += bytesFieldSize(e.bytes);
  return n;
}

function sendOpSize(s: OutSend, body: number): number {
  return (s.req === 0 ? 0 : 1 + varintSize(s.req)) + 2 + varintSize(body) + body;
}

function acksBodySize(acks: readonly Uint8Array[]): number {
  let n = 0;
  for (const id of acks) n += bytesFieldSize(id);
  return n;
}

/** Bytes of the Frame holding `sends` (in order) and, when `acks` is not empty, one
 *  deliver_ack op (req 0) with them. */
export function clientFrameSize(sends: readonly OutSend[], acks: readonly Uint8Array[]): number {
  let n = 0;
  for (const s of sends) {
    const op = sendOpSize(s, sendBodySize(s));
    n += 1 + varintSize(op) + op;
  }
  if (acks.length > 0) {
    const body = acksBodySize(acks);
    const op = 2 + varintSize(body) + body;
    n += 1 + varintSize(op) + op;
  }
  return n;
}

/** Writes that Frame at out[at], exactly clientFrameSize() bytes; returns the offset after it. */
export function writeClientFrame(out: Uint8Array, at: number, sends: readonly OutSend[], acks: readonly Uint8Array[], runTag: Uint8Array): number {
  let o = at;
  for (const s of sends) {
    const body = sendBodySize(s);
    out[o++] = TAG_FRAME_OP;
    o = writeVarint(out, o, sendOpSize(s, body));
    if (s.req !== 0) {
      out[o++] = TAG_REQ;
      o = writeVarint(out, o, s.req);
    }
    o = writeVarint(out, o, TAG_SEND);
    o = writeVarint(out, o, body);
    for (const e of s.envelopes) {
      o = writeBytesField(out, o, TAG_ITEM, e.bytes);
      writeId(out, o - e.bytes.length + e.idOffset, s.sender, s.seq, runTag); // this message's id
    }
  }
  if (acks.length > 0) {
    const body = acksBodySize(acks);
    out[o++] = TAG_FRAME_OP;
    o = writeVarint(out, o, 2 + varintSize(body) + body);
    o = writeVarint(out, o, TAG_DELIVER_ACK);
    o = writeVarint(out, o, body);
    for (const id of acks) o = writeBytesField(out, o, TAG_ITEM, id);
  }
  return o;
}

/** What a handset hears in a server frame, op by op, in order. */
export interface ServerFrameSink {
  /** A delivered envelope's id (a view into the frame: copy it to keep it past the frame). */
  delivered(id: Uint8Array): void;
  /** The answer to send `req`: ok when every receipt says delivered or stored, else the
   *  code of the last one that did not ("failed" when it has none). */
  sendResult(req: number, ok: boolean, code: string): void;
  /** An error op answering `req` ("error" when it carries no code). */
  error(req: number, code: string): void;
}

const OP_ERROR = 4;
const OP_SEND_RESULT = 8;
const OP_DELIVER = 9;
/** Field numbers of Op's oneof `body` (proto/hushwire.proto; test/bench/hushwire-frames.test.ts
 *  checks this list against the schema, so a new op cannot be missed: a body field read as
 *  unknown would skip a malformed body the generated decoder refuses). */
export const OP_BODY_FIELDS: ReadonlySet<number> = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
const isBodyField = (f: number): boolean => OP_BODY_FIELDS.has(f);

const DELIVERED = new TextEncoder().encode('delivered');
const STORED = new TextEncoder().encode('stored');
// proto3 strings must be valid UTF-8: the generated decoder refuses the frame otherwise.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function equalAt(buf: Uint8Array, start: number, end: number, word: Uint8Array): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[start + i] !== word[i]) return false;
  return true;
}

/** Walks a server Frame, telling `sink` what it holds; throws on bytes the generated
 *  decoder refuses (after telling it what came before them). */
export function readServerFrame(buf: Uint8Array, sink: ServerFrameSink): void {
  const c = new Cursor(buf, 0, buf.length);
  while (c.pos < c.end) {
    const tag = c.field();
    if (tag === TAG_FRAME_OP) {
      const start = c.delimited();
      readOp(buf, start, c.pos, sink);
    } else {
      c.skip(tag & 7, tag >>> 3);
    }
  }
}

function readOp(buf: Uint8Array, start: number, end: number, sink: ServerFrameSink): void {
  const c = new Cursor(buf, start, end);
  let req = 0;
  let body = 0;
  let bodies = 0;
  let bodyStart = 0;
  let bodyEnd = 0;
  while (c.pos < c.end) {
    const tag = c.field();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 1 && wt === 0) {
      req = c.uint32();
    } else if (wt === 2 && isBodyField(field)) {
      bodyStart = c.delimited();
      bodyEnd = c.pos;
      body = field;
      bodies++;
    } else {
      c.skip(wt, field);
    }
  }
  // More than one body field (never from a gateway): the generated decoder's oneof and
  // merge rules decide what the op is.
  if (bodies > 1) return fromOp(wire.Op.decode(buf.subarray(start, end)), sink);
  if (body === OP_DELIVER) readDeliver(buf, bodyStart, bodyEnd, sink);
  else if (body === OP_SEND_RESULT) readSendResult(buf, bodyStart, bodyEnd, req, sink);
  else if (body === OP_ERROR) sink.error(req, readErrorCode(buf, bodyStart, bodyEnd) || 'error');
  else if (body !== 0) wire.Op.decode(buf.subarray(start, end)); // nothing to read, but refused when malformed
}

/** The same for an op the generated decoder made. */
export function fromOp(op: Op, sink: ServerFrameSink): void {
  if (op.body === 'deliver') {
    for (const env of op.deliver!.envelopes ?? []) if (env.id && env.id.length > 0) sink.delivered(env.id);
  } else if (op.body === 'sendResult') {
    let ok = true;
    let code = '';
    for (const r of op.sendResult!.receipts ?? []) {
      if (r.status !== 'delivered' && r.status !== 'stored') {
        ok = false;
        code = r.code || 'failed';
      }
    }
    sink.sendResult(op.req ?? 0, ok, code);
  } else if (op.body === 'error') {
    sink.error(op.req ?? 0, op.error!.code || 'error');
  }
}

function readDeliver(buf: Uint8Array, start: number, end: number, sink: ServerFrameSink): void {
  const c = new Cursor(buf, start, end);
  while (c.pos < c.end) {
    const tag = c.field();
    if (tag === TAG_ITEM) {
      const s = c.delimited();
      const id = envelopeId(buf, s, c.pos);
      if (id !== null) sink.delivered(id);
    } else {
      c.skip(tag & 7, tag >>> 3);
    }
  }
}

/** Envelope.id (field 4), the last one if repeated; null when absent or empty. */
function envelopeId(buf: Uint8Array, start: number, end: number): Uint8Array | null {
  const c = new Cursor(buf, start, end);
  let idStart = -1;
  let idEnd = -1;
  while (c.pos < c.end) {
    const tag = c.field();
    const field = tag >>> 3;
    if (tag === ((4 << 3) | 2)) {
      idStart = c.delimited();
      idEnd = c.pos;
    } else if ((field === 1 || field === 5 || field === 8) && (tag & 7) === 0) {
      c.uint32(); // version, suite, server_ts: refused over 10 bytes, as the generated reader does
    } else {
      c.skip(tag & 7, field);
    }
  }
  return idEnd > idStart ? buf.subarray(idStart, idEnd) : null;
}

function readSendResult(buf: Uint8Array, start: number, end: number, req: number, sink: ServerFrameSink): void {
  const c = new Cursor(buf, start, end);
  let ok = true;
  let code = '';
  while (c.pos < c.end) {
    const tag = c.field();
    if (tag === TAG_ITEM) {
      const s = c.delimited();
      const r = readReceipt(buf, s, c.pos);
      if (r !== null) {
        ok = false;
        code = r || 'failed';
      }
    } else {
      c.skip(tag & 7, tag >>> 3);
    }
  }
  sink.sendResult(req, ok, code);
}

/** null for a receipt that says delivered or stored, else its code ('' when none). */
function readReceipt(buf: Uint8Array, start: number, end: number): string | null {
  const c = new Cursor(buf, start, end);
  let ok = false;
  let code = '';
  while (c.pos < c.end) {
    const tag = c.field();
    const field = tag >>> 3;
    if (tag === ((2 << 3) | 2)) {
      const s = c.delimited();
      ok = equalAt(buf, s, c.pos, DELIVERED) || equalAt(buf, s, c.pos, STORED);
      if (!ok) checkUtf8(buf, s, c.pos);
    } else if (tag === ((3 << 3) | 2)) {
      const s = c.delimited();
      code = s === c.pos ? '' : utf8.decode(buf.subarray(s, c.pos));
    } else if (field === 4 && (tag & 7) === 0) {
      c.uint32();
    } else {
      c.skip(tag & 7, field);
    }
  }
  return ok ? null : code;
}

/** Throws unless buf[start, end) is UTF-8 (every string field is checked, as the generated decoder does). */
function checkUtf8(buf: Uint8Array, start: number, end: number): void {
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) {
      utf8.decode(buf.subarray(i, end));
      return;
    }
  }
}

/** Error.code (field 1), '' when absent. */
function readErrorCode(buf: Uint8Array, start: number, end: number): string {
  const c = new Cursor(buf, start, end);
  let code = '';
  while (c.pos < c.end) {
    const tag = c.field();
    const field = tag >>> 3;
    if (tag === ((1 << 3) | 2)) {
      const s = c.delimited();
      code = utf8.decode(buf.subarray(s, c.pos));
    } else if (tag === ((2 << 3) | 2)) {
      const s = c.delimited();
      checkUtf8(buf, s, c.pos); // the message: only checked
    } else if (field === 3 && (tag & 7) === 0) {
      c.uint32();
    } else {
      c.skip(tag & 7, field);
    }
  }
  return code;
}



/** A frame's share of the queued sends and acks (views of the queues' arrays). */
export interface FramePart {
  sends: readonly OutSend[];
  acks: readonly Uint8Array[];
}

/**
 * Splits one turn's queued sends and acks into frames the gateway accepts: at most
 * MAX_OPS_PER_FRAME ops (the sends, plus the deliver_ack op in the first frame that has
 * room), and at most `maxBytes` bytes each (the challenge's max_frame_bytes), in the
 * order queued. A turn normally fits in one frame (a window of 16 sends); a handset
 * behind its fixed-rate schedule catches up in one turn, hundreds of sends, which in one
 * frame had its ops past the limit refused and then the socket closed for them. A single
 * send larger than `maxBytes` still goes alone (the gateway closes with 1009, which the
 * run reports, rather than the generator hiding it). Acks go in as many ids as fit.
 */
export function splitClientFrames(sends: readonly OutSend[], acks: readonly Uint8Array[], maxBytes: number): FramePart[] {
  const parts: FramePart[] = [];
  let i = 0;
  let a = 0;
  while (i < sends.length || a < acks.length) {
    let bytes = 0;
    const from = i;
    while (i < sends.length && i - from < MAX_OPS_PER_FRAME - 1) {
      const op = sendOpSize(sends[i]!, sendBodySize(sends[i]!));
      const size = 1 + varintSize(op) + op;
      if (i > from && bytes + size > maxBytes) break;
      bytes += size;
      i++;
    }
    // The acks' op takes what room is left (an op of its own when the sends filled it).
    const ackFrom = a;
    let ackBody = 0;
    const room = maxBytes - bytes - 10; // the frame's op tag and length, the op's tag (2) and body length
    while (a < acks.length) {
      const f = bytesFieldSize(acks[a]!);
      if (ackBody + f > room) break;
      ackBody += f;
      a++;
    }
    // Only with a frame limit below one ack id (gateways accept no limit under 1024).
    if (i === from && a === ackFrom) throw new RangeError(`a frame limit of ${maxBytes} bytes holds no op`);
    parts.push({ sends: from === 0 && i === sends.length ? sends : sends.slice(from, i), acks: ackFrom === 0 && a === acks.length ? acks : acks.slice(ackFrom, a) });
  }
  return parts;
}
