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
// The handshake too (since 2026-12-07, for the storm: every device reconnects at once,
// and the generator's CPU per reconnect is CPU the gateways do not get): the challenge,
// the answer to an auth and a ticket are read by hand (readHandshakeFrame), the auth is
// written by hand (writeAuthFrame); test/bench/hushwire-handshake.test.ts cross-checks
// them with the generated code the same ways.
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

/** An Op's req and where its body field is (scanOp fills it: one object for all ops,
 *  read before the next scan). */
interface OpShape { req: number; body: number; bodies: number; start: number; end: number }
const shape: OpShape = { req: 0, body: 0, bodies: 0, start: 0, end: 0 };

/** Walks an Op's fields: req (1), the body field (its number and extent; `bodies` counts
 *  them: more than one, never from a gateway, is left to the generated decoder's oneof
 *  and merge rules), the rest skipped at the Op's depth. */
function scanOp(buf: Uint8Array, start: number, end: number): OpShape {
  const c = new Cursor(buf, start, end);
  shape.req = 0;
  shape.body = 0;
  shape.bodies = 0;
  shape.start = 0;
  shape.end = 0;
  while (c.pos < c.end) {
    const tag = c.field();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 1 && wt === 0) {
      shape.req = c.uint32();
    } else if (wt === 2 && isBodyField(field)) {
      shape.start = c.delimited();
      shape.end = c.pos;
      shape.body = field;
      shape.bodies++;
    } else {
      c.skip(wt, field, OP_DEPTH);
    }
  }
  return shape;
}

function readOp(buf: Uint8Array, start: number, end: number, sink: ServerFrameSink): void {
  const { req, body, bodies, start: bodyStart, end: bodyEnd } = scanOp(buf, start, end);
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
      c.skip(tag & 7, tag >>> 3, BODY_DEPTH);
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
      c.skip(tag & 7, field, BODY_DEPTH + 1);
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
      c.skip(tag & 7, tag >>> 3, BODY_DEPTH);
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
      c.skip(tag & 7, field, BODY_DEPTH + 1);
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
      c.skip(tag & 7, field, BODY_DEPTH);
    }
  }
  return code;
}



// ---- the handshake: the challenge, the answer to an auth or ticket request ----

/** An op as a handset reads it before it is ready: the four bodies its handshake acts on,
 *  each null (or false) when the op does not carry it. Bytes are views into the frame:
 *  copy what is kept past it. `op`: the generated decoder's op, when it made this one
 *  (anything else an op may carry, for fromOp). */
export interface HandshakeOp {
  req: number;
  challenge: { nonce: Uint8Array; maxFrameBytes: number; resumeKey: Uint8Array } | null;
  ok: boolean;
  /** Error.code ('' when it carries none), null: not an error. */
  error: string | null;
  ticket: { ticket: Uint8Array; expiresInS: number } | null;
  op?: Op;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const OP_CHALLENGE = 2;
const OP_OK = 3;
const OP_TICKET = 14;
/** protobufjs's depth of an Op's fields (Frame 0, Op 1), of its body's (2: Deliver,
 *  SendResult, Error, Challenge, ...) and of theirs (3: Envelope, Receipt): its skipType
 *  counts groups from there (relay/proto-cursor.ts MAX_DEPTH), so unknown groups nested
 *  near the limit are refused by both readers alike. */
const OP_DEPTH = 1;
const BODY_DEPTH = 2;

/** The handset's reading of ops the generated decoder made (the reference, and the way
 *  for frames readHandshakeFrame leaves to it). */
export function handshakeOpsOf(ops: readonly Op[]): HandshakeOp[] {
  return ops.map((op) => {
    const c = op.challenge;
    const t = op.ticket;
    return {
      req: op.req ?? 0,
      challenge: c ? { nonce: c.nonce ?? EMPTY, maxFrameBytes: c.maxFrameBytes ?? 0, resumeKey: c.resumeKey ?? EMPTY } : null,
      ok: !!op.ok,
      error: op.error ? (op.error.code ?? '') : null,
      ticket: t ? { ticket: t.ticket ?? EMPTY, expiresInS: t.expiresInS ?? 0 } : null,
      op,
    };
  });
}

/**
 * A frame of the handshake, read by hand: its ops when each carries exactly one body and
 * that is a challenge, ok, error or ticket (what a connect hears before it is ready: the
 * challenge, the answer to its auth, to its ticket request); null for any other frame
 * (mail drained in the frame of the ok, an op without or with two bodies, ...), which
 * the generated decoder then reads (handshakeOpsOf). Throws where the generated decoder
 * refuses the frame (test/bench/hushwire-handshake.test.ts): nothing is acted on before
 * the whole frame is read, as with it.
 */
export function readHandshakeFrame(buf: Uint8Array): HandshakeOp[] | null {
  const ops: HandshakeOp[] = [];
  const c = new Cursor(buf, 0, buf.length);
  while (c.pos < c.end) {
    const tag = c.field();
    if (tag === TAG_FRAME_OP) {
      const start = c.delimited();
      const op = readHandshakeOp(buf, start, c.pos);
      if (op === null) return null;
      ops.push(op);
    } else {
      c.skip(tag & 7, tag >>> 3);
    }
  }
  return ops;
}

function readHandshakeOp(buf: Uint8Array, start: number, end: number): HandshakeOp | null {
  const { req, body, bodies, start: bodyStart, end: bodyEnd } = scanOp(buf, start, end);
  if (bodies > 1) return null; // two bodies: the generated decoder's oneof and merge rules
  const op: HandshakeOp = { req, challenge: null, ok: false, error: null, ticket: null };
  if (body === OP_CHALLENGE) op.challenge = readChallenge(buf, bodyStart, bodyEnd);
  else if (body === OP_OK) op.ok = skipAll(buf, bodyStart, bodyEnd);
  else if (body === OP_ERROR) op.error = readErrorCode(buf, bodyStart, bodyEnd);
  else if (body === OP_TICKET) op.ticket = readTicket(buf, bodyStart, bodyEnd);
  else return null;
  return op;
}

/** Challenge: nonce (1), max_frame_bytes (4), resume_key (9) kept, the last of each
 *  (an empty one meaning absent, as in the generated decoder); the other fields read and
 *  checked: server_time_ms (2), oprf_public_key (3), auth_deadline_ms (5), protocol
 *  (6), oprf_share_keys (7), mailbox_max_age_s (8). */
function readChallenge(buf: Uint8Array, start: number, end: number): { nonce: Uint8Array; maxFrameBytes: number; resumeKey: Uint8Array } {
  const c = new Cursor(buf, start, end);
  let nonce = EMPTY;
  let resumeKey = EMPTY;
  let maxFrameBytes = 0;
  while (c.pos < c.end) {
    const tag = c.field();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (wt === 2 && (field === 1 || field === 9)) {
      const s = c.delimited();
      const v = s === c.pos ? EMPTY : buf.subarray(s, c.pos);
      if (field === 1) nonce = v;
      else resumeKey = v;
    } else if (wt === 0 && field === 4) {
      maxFrameBytes = c.uint32();
    } else if (wt === 0 && field >= 2 && field <= 8 && field !== 3 && field !== 7) {
      c.uint32(); // refused over 10 bytes, as the generated reader does (uint64 included)
    } else {
      c.skip(wt, field, BODY_DEPTH); // 3 and 7 (bytes: checked to fit) as unknown fields are
    }
  }
  return { nonce, maxFrameBytes, resumeKey };
}

/** Ticket: ticket (1), expires_in_s (2), the last of each. */
function readTicket(buf: Uint8Array, start: number, end: number): { ticket: Uint8Array; expiresInS: number } {
  const c = new Cursor(buf, start, end);
  let ticket = EMPTY;
  let expiresInS = 0;
  while (c.pos < c.end) {
    const tag = c.field();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (tag === ((1 << 3) | 2)) {
      const s = c.delimited();
      ticket = s === c.pos ? EMPTY : buf.subarray(s, c.pos);
    } else if (field === 2 && wt === 0) {
      expiresInS = c.uint32();
    } else {
      c.skip(wt, field, BODY_DEPTH);
    }
  }
  return { ticket, expiresInS };
}

/** A message with no fields of its own (Ok): every field skipped, the bytes checked. */
function skipAll(buf: Uint8Array, start: number, end: number): true {
  const c = new Cursor(buf, start, end);
  while (c.pos < c.end) {
    const tag = c.field();
    c.skip(tag & 7, tag >>> 3, BODY_DEPTH);
  }
  return true;
}

// ---- the auth a handset writes: Frame { op { req, auth { route, device, signature | ticket, proof } } } ----

const TAG_AUTH = (20 << 3) | 2; // two bytes as a varint

/** The fields of an Auth as the handset sends it: signed (signature) or resumed (ticket
 *  and proof). Empty or absent fields are left out, as the generated encoder does. */
export interface AuthFields {
  route: Uint8Array;
  device: Uint8Array;
  signature?: Uint8Array;
  ticket?: Uint8Array;
  proof?: Uint8Array;
}

const optField = (b: Uint8Array | undefined): number => (b === undefined || b.length === 0 ? 0 : bytesFieldSize(b));

function authBodySize(a: AuthFields): number {
  return optField(a.route) + optField(a.device) + optField(a.signature) + optField(a.ticket) + optField(a.proof);
}

function authOpSize(req: number, body: number): number {
  return (req === 0 ? 0 : 1 + varintSize(req)) + 2 + varintSize(body) + body;
}

/** Bytes of the Frame with one op { req, auth }: what wire.Frame.encode makes of it. */
export function authFrameSize(req: number, a: AuthFields): number {
  const op = authOpSize(req, authBodySize(a));
  return 1 + varintSize(op) + op;
}

function writeOptField(out: Uint8Array, o: number, tag: number, b: Uint8Array | undefined): number {
  return b === undefined || b.length === 0 ? o : writeBytesField(out, o, tag, b);
}

/** Writes that Frame at out[at], exactly authFrameSize() bytes; returns the offset after
 *  it. The same bytes as wire.Frame.encode({ ops: [{ req, auth }] }) (fields in number
 *  order: route 1, device 2, signature 3, ticket 5, proof 6). */
export function writeAuthFrame(out: Uint8Array, at: number, req: number, a: AuthFields): number {
  const body = authBodySize(a);
  let o = at;
  out[o++] = TAG_FRAME_OP;
  o = writeVarint(out, o, authOpSize(req, body));
  if (req !== 0) {
    out[o++] = TAG_REQ;
    o = writeVarint(out, o, req);
  }
  o = writeVarint(out, o, TAG_AUTH);
  o = writeVarint(out, o, body);
  o = writeOptField(out, o, (1 << 3) | 2, a.route);
  o = writeOptField(out, o, (2 << 3) | 2, a.device);
  o = writeOptField(out, o, (3 << 3) | 2, a.signature);
  o = writeOptField(out, o, (5 << 3) | 2, a.ticket);
  return writeOptField(out, o, (6 << 3) | 2, a.proof);
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
