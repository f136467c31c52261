// Reads the fields the mailbox drain needs from a JetStream message's reply subject
// (its ack subject), without splitting it: a drained message costs one substring (the
// consumer name, a map key) instead of an array of ~10 strings. In a backlog drain's
// profile the split was most of the bus's own per-message time.
//
//   v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
//   v2: $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[.<token>...]
// (nats-server's ack reply formats; a v2 subject has at least 11 tokens.)

export interface AckFields {
  /** Where the stream name sits in the reply (compare with `ackStreamIs`, no substring). */
  streamAt: number;
  streamLength: number;
  consumer: string;
  /** The message's stream sequence. */
  seq: number;
  /** Messages left for the consumer after this one. */
  pending: number;
}

export function newAckFields(): AckFields {
  return { streamAt: 0, streamLength: 0, consumer: '', seq: 0, pending: 0 };
}

const PREFIX = '$JS.ACK.';
const MAX_TOKENS = 16;
const DOT = 0x2e;
// Token starts, reused: the bus reads replies one at a time and nothing here re-enters.
// starts[i] = index of token i's first character; starts[n] = length + 1 (a virtual dot).
const starts = new Int32Array(MAX_TOKENS + 1);

/** Token i of the last reply read, as a decimal number; -1 if it is not one (or has more
 *  than 15 digits, so every accepted value is a safe integer). */
function decimal(s: string, i: number): number {
  const from = starts[i]!;
  const to = starts[i + 1]! - 1;
  if (to <= from || to - from > 15) return -1;
  let n = 0;
  for (let k = from; k < to; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** Fills `out` from an ack reply subject and returns true, or returns false (leaving
 *  `out` in an unspecified state) when `reply` is not one. */
export function readAckReply(reply: string, out: AckFields): boolean {
  if (!reply.startsWith(PREFIX)) return false;
  let n = 0;
  starts[n++] = 0;
  for (let i = 0; i < reply.length; i++) {
    if (reply.charCodeAt(i) === DOT) {
      if (n >= MAX_TOKENS) return false;
      starts[n++] = i + 1;
    }
  }
  starts[n] = reply.length + 1;
  let base: number; // the stream's token
  if (n === 9) base = 2;
  else if (n >= 11) base = 4;
  else return false;
  const streamAt = starts[base]!;
  const streamLength = starts[base + 1]! - 1 - streamAt;
  const consumerAt = starts[base + 1]!;
  const consumerEnd = starts[base + 2]! - 1;
  if (streamLength <= 0 || consumerEnd <= consumerAt) return false;
  const seq = decimal(reply, base + 3);
  const pending = decimal(reply, base + 6);
  if (seq < 0 || pending < 0) return false;
  out.streamAt = streamAt;
  out.streamLength = streamLength;
  out.consumer = reply.slice(consumerAt, consumerEnd);
  out.seq = seq;
  out.pending = pending;
  return true;
}

/** Whether the stream named in `reply` (as read into `fields`) is `stream`. */
export function ackStreamIs(reply: string, fields: AckFields, stream: string): boolean {
  return fields.streamLength === stream.length && reply.startsWith(stream, fields.streamAt);
}
