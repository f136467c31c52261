// Splits a NATS protocol byte stream (either direction: client, server or cluster route)
// into whole frames, for the test proxies that pass on, drop or hold a connection's
// traffic a command at a time (route-proxy.ts, tcp-proxy.ts). A frame is one control
// line ending in CRLF (`PING`, `SUB <subject> <sid>`, `INFO {...}`, ...), and for the
// operations that carry a message, that line with the payload after it:
//   PUB <subject> [reply] <size>              (client → server)
//   HPUB <subject> [reply] <hdr size> <total>  (client → server)
//   MSG <subject> <sid> [reply] <size>         (server → client)
//   HMSG <subject> <sid> [reply] <hdr> <total> (server → client; on a route
//                                               HMSG <account> <subject> [reply] <hdr> <total>)
//   RMSG <account> <subject> [reply] <size>   (route), LMSG <subject> [reply] <size> (leaf)
// The last argument is always the payload's size in bytes (headers included), which a
// CRLF follows. Chunks cut frames anywhere (inside a line, between the CR and the LF,
// inside a payload); CRLFs inside a payload are payload. A message operation whose last
// argument is not a whole number is malformed: it is returned as a line with no payload,
// as it came (nats-server answers it with -ERR and closes the connection).

/** Operations followed by a payload of as many bytes as their last argument says. */
const WITH_PAYLOAD: ReadonlySet<string> = new Set(['PUB', 'HPUB', 'MSG', 'HMSG', 'RMSG', 'LMSG']);

export interface NatsFrame {
  /** The frame's bytes as they came: the control line with its CRLF, and for a message
   *  its payload and the CRLF after it. Pass these on to forward the frame unchanged. */
  readonly raw: Buffer;
  /** The operation, upper case ('PUB', 'RMSG', 'PING', ...); '' for an empty line. */
  readonly op: string;
  /** The control line's arguments after the operation, split on white space. */
  readonly args: readonly string[];
  /** A message's payload (headers and body, without the CRLF after it); null for a
   *  frame that carries none. */
  readonly payload: Buffer | null;
}

/** Feeds on a NATS protocol stream's chunks (`push`) and hands back the frames each one
 *  completes; what is left of an incomplete frame waits for the next chunk. */
export class NatsFrameSplitter {
  #buf: Buffer = Buffer.alloc(0);
  /** The control line of the message whose payload is awaited, and the payload's size. */
  #pending: { line: Buffer; op: string; args: string[]; size: number } | null = null;

  /** Bytes held back, waiting for the rest of their frame. */
  get held(): number {
    return this.#buf.length + (this.#pending?.line.length ?? 0);
  }

  /** Takes the next chunk of the stream; returns the frames completed by it, in order. */
  push(chunk: Buffer): NatsFrame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: NatsFrame[] = [];
    for (;;) {
      if (this.#pending !== null) {
        const { line, op, args, size } = this.#pending;
        if (this.#buf.length < size + 2) break;
        const body = this.#buf.subarray(0, size + 2);
        this.#buf = this.#buf.subarray(size + 2);
        this.#pending = null;
        frames.push({ raw: Buffer.concat([line, body]), op, args, payload: body.subarray(0, size) });
        continue;
      }
      const end = this.#buf.indexOf('\r\n');
      if (end < 0) break;
      const line = this.#buf.subarray(0, end + 2);
      this.#buf = this.#buf.subarray(end + 2);
      const [word = '', ...args] = line.toString('latin1').trim().split(/\s+/);
      const op = word.toUpperCase();
      const size = WITH_PAYLOAD.has(op) ? payloadSize(args.at(-1)) : null;
      if (size === null) {
        frames.push({ raw: line, op, args, payload: null });
        continue;
      }
      this.#pending = { line, op, args, size };
    }
    return frames;
  }
}

/** A payload size argument: a whole number of bytes; null when it is none. */
function payloadSize(arg: string | undefined): number | null {
  if (arg === undefined || !/^\d{1,15}$/.test(arg)) return null;
  return Number(arg);
}
