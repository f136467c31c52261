// Outbound frames, assembled by hand: one buffer of the exact size per frame.
//
// A session's frame per event-loop turn holds the receipts of the sends it answered,
// any other replies, and the envelopes delivered to it. Receipts are the per-message
// part: encodeSendResultOp writes one `send_result` op directly (the generated encoder
// builds an operation list, an Op and a Receipt object per send). Envelopes are spliced
// in as the relayed bytes they already are. Rare ops still go through the generated
// encoder. Output is standard protobuf (proto/hushwire.proto), canonical proto3 (zero
// values left out); test/gateway/frame-out.test.ts decodes it with the generated code.
import { wire, type OpProps } from './wire.ts';
import { bytesFieldSize, varintSize, writeBytesField, writeVarint } from './varint.ts';

export interface ReceiptOut {
  id: Uint8Array;
  status: string;
  code: string;
  retryAfterMs: number;
}

const OP_REQ = (1 << 3) | 0;
const OP_SEND_RESULT = (8 << 3) | 2;
const OP_DELIVER = (9 << 3) | 2;
const FRAME_OP = (1 << 3) | 2;
const REPEATED_1 = (1 << 3) | 2; // SendResult.receipts, Deliver.envelopes
const R_ID = (1 << 3) | 2;
const R_STATUS = (2 << 3) | 2;
const R_CODE = (3 << 3) | 2;
const R_RETRY = (4 << 3) | 0;

// The first frame of every connection: one `challenge` op.
const OP_CHALLENGE = (2 << 3) | 2;
const CH_NONCE = (1 << 3) | 2;
const CH_SERVER_TIME = (2 << 3) | 0;

/** What a relay's challenges share (every field but the nonce and the server time). */
export interface ChallengeTailProps {
  oprfPublicKey: Uint8Array;
  oprfShareKeys: readonly Uint8Array[];
  maxFrameBytes: number;
  authDeadlineMs: number;
  protocol: number;
  /** The mailbox's retention in seconds (field 8, mailboxMaxAgeField); 0: left out. */
  mailboxMaxAgeS: number;
  /** The X25519 key ticket requests use (field 9, docs/PROTOCOL.md section 13); null:
   *  no tickets issued here, left out. Optional for callers from before the field. */
  resumeKey?: Uint8Array | null;
}

const UINT32_MAX = 0xffff_ffff;

/** Challenge field 8 from the retention the mailbox applies (Bus.mailboxMaxAgeMs): whole
 *  seconds rounded up (never less than the mail lives), 1 at least (0 would read as "not
 *  told"), UINT32_MAX for none (Infinity) or beyond the field. */
export function mailboxMaxAgeField(ms: number): number {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms <= 0) throw new TypeError('mailbox max age must be a positive number of ms');
  if (ms / 1000 >= UINT32_MAX) return UINT32_MAX;
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Challenge fields 3-9, encoded once per relay by the generated encoder: they follow
 *  the nonce (1) and the server time (2) in field order, so a challenge is those two
 *  written by hand, then these bytes (encodeChallengeFrame). */
export function encodeChallengeTail(c: ChallengeTailProps): Uint8Array {
  return wire.Challenge.encode({
    oprfPublicKey: c.oprfPublicKey,
    maxFrameBytes: c.maxFrameBytes,
    authDeadlineMs: c.authDeadlineMs,
    protocol: c.protocol,
    oprfShareKeys: [...c.oprfShareKeys],
    mailboxMaxAgeS: c.mailboxMaxAgeS,
    ...(c.resumeKey ? { resumeKey: c.resumeKey } : {}),
  }).finish();
}

/** A connection's challenge frame (one op, req 0 left out as proto3 does): the bytes
 *  the generated encoder writes for the same challenge, without building the Frame, Op
 *  and Challenge objects and the writer's operation list for each connection. */
export function encodeChallengeFrame(nonce: Uint8Array, serverTimeMs: number, tail: Uint8Array): Uint8Array {
  const chLen = bytesFieldSize(nonce) + (serverTimeMs > 0 ? 1 + varintSize(serverTimeMs) : 0) + tail.length;
  const opLen = 1 + varintSize(chLen) + chLen;
  const buf = new Uint8Array(1 + varintSize(opLen) + opLen);
  let o = 0;
  buf[o++] = FRAME_OP;
  o = writeVarint(buf, o, opLen);
  buf[o++] = OP_CHALLENGE;
  o = writeVarint(buf, o, chLen);
  o = writeBytesField(buf, o, CH_NONCE, nonce);
  if (serverTimeMs > 0) {
    buf[o++] = CH_SERVER_TIME;
    o = writeVarint(buf, o, serverTimeMs);
  }
  buf.set(tail, o);
  return buf;
}

/** UTF-8 length of s; the statuses and error codes are ASCII, so usually s.length. */
function utf8Size(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

function writeString(buf: Uint8Array, o: number, s: string, size: number): number {
  if (size === s.length) {
    for (let i = 0; i < size; i++) buf[o + i] = s.charCodeAt(i);
  } else {
    Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).write(s, o, 'utf8');
  }
  return o + size;
}

function receiptSize(r: ReceiptOut, status: number, code: number): number {
  let n = 0;
  if (r.id.length > 0) n += bytesFieldSize(r.id);
  if (status > 0) n += 1 + varintSize(status) + status;
  if (code > 0) n += 1 + varintSize(code) + code;
  const retry = r.retryAfterMs >>> 0;
  if (retry > 0) n += 1 + varintSize(retry);
  return n;
}

/** Writes one receipt as a SendResult.receipts entry (tag, length, fields). */
function writeReceipt(buf: Uint8Array, o: number, r: ReceiptOut, size: number, status: number, code: number): number {
  buf[o++] = REPEATED_1;
  o = writeVarint(buf, o, size);
  if (r.id.length > 0) {
    o = writeBytesField(buf, o, R_ID, r.id);
  }
  if (status > 0) {
    buf[o++] = R_STATUS;
    o = writeVarint(buf, o, status);
    o = writeString(buf, o, r.status, status);
  }
  if (code > 0) {
    buf[o++] = R_CODE;
    o = writeVarint(buf, o, code);
    o = writeString(buf, o, r.code, code);
  }
  const retry = r.retryAfterMs >>> 0;
  if (retry > 0) {
    buf[o++] = R_RETRY;
    o = writeVarint(buf, o, retry);
  }
  return o;
}

/** One Op {req, send_result {receipts}} (without the Frame's field tag). */
export function encodeSendResultOp(reqIn: number, receipts: readonly ReceiptOut[]): Uint8Array {
  const req = reqIn >>> 0; // uint32, as the generated encoder writes it
  const sizes = new Array<number>(receipts.length * 3);
  let result = 0;
  for (let i = 0; i < receipts.length; i++) {
    const r = receipts[i] as ReceiptOut;
    const status = utf8Size(r.status);
    const code = utf8Size(r.code);
    const size = receiptSize(r, status, code);
    sizes[i * 3] = size;
    sizes[i * 3 + 1] = status;
    sizes[i * 3 + 2] = code;
    result += 1 + varintSize(size) + size;
  }
  const total = (req !== 0 ? 1 + varintSize(req) : 0) + 1 + varintSize(result) + result;
  const buf = new Uint8Array(total);
  let o = 0;
  if (req !== 0) {
    buf[o++] = OP_REQ;
    o = writeVarint(buf, o, req);
  }
  buf[o++] = OP_SEND_RESULT;
  o = writeVarint(buf, o, result);
  for (let i = 0; i < receipts.length; i++) {
    o = writeReceipt(buf, o, receipts[i] as ReceiptOut, sizes[i * 3] as number, sizes[i * 3 + 1] as number, sizes[i * 3 + 2] as number);
  }
  return buf;
}

/**
 * What a session queues for its next frame: an encoded Op, an Op object for the
 * generated encoder, or a send's single receipt as two items, its `req` (a number) then
 * the receipt. The last is the common case (one envelope per send): written straight
 * into the frame, with no buffer of its own per message (such a buffer, with its size
 * array, was ~8% of a gateway's allocation in chat: docs/BENCHMARKS.md).
 */
export type OutItem = Uint8Array | OpProps | number | ReceiptOut;

/** Size of the Op {req, send_result {receipt}} of one receipt. */
function singleResultOpSize(req: number, r: ReceiptOut): number {
  const size = receiptSize(r, utf8Size(r.status), utf8Size(r.code));
  const result = 1 + varintSize(size) + size;
  return (req !== 0 ? 1 + varintSize(req) : 0) + 1 + varintSize(result) + result;
}

/**
 * A Frame of the given ops (see OutItem) followed, when there are any, by one `deliver`
 * op carrying the envelopes (each already an encoded Envelope). Ops keep their order.
 */
export function encodeFrameOut(ops: readonly OutItem[], envelopes: readonly Uint8Array[]): Uint8Array {
  // Per op: its encoding (Uint8Array), or, for a single receipt, null here and the op's
  // size in `single`.
  const encoded = new Array<Uint8Array | null>(ops.length);
  let single: number[] | null = null;
  let size = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as OutItem;
    if (typeof op === 'number') {
      const r = ops[i + 1];
      if (r === undefined || typeof r === 'number' || r instanceof Uint8Array) throw new TypeError('a req must be followed by its receipt');
      const n = singleResultOpSize(op >>> 0, r as ReceiptOut);
      single ??= new Array<number>(ops.length);
      single[i] = n;
      encoded[i] = null;
      encoded[i + 1] = null;
      size += 1 + varintSize(n) + n;
      i++;
      continue;
    }
    const b = op instanceof Uint8Array ? op : wire.Op.encode(op as OpProps).finish();
    encoded[i] = b;
    size += bytesFieldSize(b);
  }
  let deliver = 0;
  let deliverOp = 0;
  if (envelopes.length > 0) {
    for (const e of envelopes) deliver += bytesFieldSize(e);
    deliverOp = 1 + varintSize(deliver) + deliver;
    size += 1 + varintSize(deliverOp) + deliverOp;
  }
  const buf = new Uint8Array(size);
  let o = 0;
  for (let i = 0; i < ops.length; i++) {
    const b = encoded[i];
    if (b !== null && b !== undefined) {
      o = writeBytesField(buf, o, FRAME_OP, b);
      continue;
    }
    const req = (ops[i] as number) >>> 0;
    const r = ops[i + 1] as ReceiptOut;
    i++;
    buf[o++] = FRAME_OP;
    o = writeVarint(buf, o, (single as number[])[i - 1] as number);
    if (req !== 0) {
      buf[o++] = OP_REQ;
      o = writeVarint(buf, o, req);
    }
    const status = utf8Size(r.status);
    const code = utf8Size(r.code);
    const rsize = receiptSize(r, status, code);
    buf[o++] = OP_SEND_RESULT;
    o = writeVarint(buf, o, 1 + varintSize(rsize) + rsize);
    o = writeReceipt(buf, o, r, rsize, status, code);
  }
  if (envelopes.length > 0) {
    buf[o++] = FRAME_OP;
    o = writeVarint(buf, o, deliverOp);
    buf[o++] = OP_DELIVER;
    o = writeVarint(buf, o, deliver);
    for (const e of envelopes) o = writeBytesField(buf, o, REPEATED_1, e);
  }
  return buf;
}
