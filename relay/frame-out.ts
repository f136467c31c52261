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
    const r = receipts[i] as ReceiptOut;
    const size = sizes[i * 3] as number;
    const status = sizes[i * 3 + 1] as number;
    const code = sizes[i * 3 + 2] as number;
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
  }
  return buf;
}

/**
 * A Frame of the given ops (pre-encoded Op bytes, or Op objects for the generated
 * encoder) followed, when there are any, by one `deliver` op carrying the envelopes
 * (each already an encoded Envelope).
 */
export function encodeFrameOut(ops: readonly (Uint8Array | OpProps)[], envelopes: readonly Uint8Array[]): Uint8Array {
  const encoded: Uint8Array[] = new Array<Uint8Array>(ops.length);
  let size = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as Uint8Array | OpProps;
    const b = op instanceof Uint8Array ? op : wire.Op.encode(op).finish();
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
  for (const b of encoded) o = writeBytesField(buf, o, FRAME_OP, b);
  if (envelopes.length > 0) {
    buf[o++] = FRAME_OP;
    o = writeVarint(buf, o, deliverOp);
    buf[o++] = OP_DELIVER;
    o = writeVarint(buf, o, deliver);
    for (const e of envelopes) o = writeBytesField(buf, o, REPEATED_1, e);
  }
  return buf;
}
