// A lean RFC 6455 WebSocket client for the bench's generator, for the systems whose
// handsets speak plain binary WebSocket (Hushwire's wire protocol, the bare uWS relay).
//
// Why not `ws`: its client handshake goes through Node's HTTP client (a ClientRequest,
// an llhttp parser, stream plumbing per connection). Measured here, 3,000 connects to the
// bare uWS relay cost ~260-320 µs of CPU each through `ws` and ~75-100 µs over a plain
// socket (docs/BENCHMARKS.md, "The generator's WebSocket client"). The generator shares the
// machine's two cores with the servers it measures, so in a reconnect storm the `ws`
// handshake took as much CPU as the gateways did. Nothing here is used by the product: the
// SDK and the gateways keep `ws`/uWS. `--ws-client ws` switches the bench back to `ws`.
//
// What it does: the client side of the opening handshake (random Sec-WebSocket-Key,
// status 101, Upgrade/Connection headers and Sec-WebSocket-Accept checked, no extension
// or subprotocol accepted), masked binary frames with a fresh random mask each, and the
// server's frames: binary/text (delivered as Buffers), fragmentation, ping (answered),
// pong, close (echoed). Anything else is a protocol error and closes the connection with
// the RFC's close code. One funnel (#finish) ends a connection, once.
//
// Bounds: the response head is at most 16 KiB; a message at most `maxMessageBytes`
// (close 1009 beyond). Outgoing frames are handed to the socket at once: the callers
// bound what they keep outstanding (the bench's window), so no queue of our own.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createHash, randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_HEAD_BYTES = 16 * 1024;
const DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024;
const CLOSE_WAIT_MS = 2000;
const EMPTY = Buffer.alloc(0);

const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

// Masks and handshake keys: random bytes drawn from a refilled pool, not one
// crypto call per frame.
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolAt = POOL_BYTES;
function randomBytesFromPool(n: number): Buffer {
  if (poolAt + n > POOL_BYTES) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

export type LeanWsState = 'connecting' | 'open' | 'closing' | 'closed';

/** The server answered the opening handshake with an HTTP status other than 101 (a
 *  gateway over its connection rate answers 429, a full or draining one 503): the error
 *  a connection ends with, from either client (bench/drivers/client-socket.ts). */
export class UpgradeRefused extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'UpgradeRefused';
    this.status = status;
  }
}

export interface LeanWsHandlers {
  /** The handshake completed; frames can be sent. */
  open(): void;
  /** A whole message (binary or text) from the server. */
  message(data: Buffer): void;
  /** The connection ended (once): the server's close code, 1006 when it just went away,
   *  or our own protocol-error code; `error` when a handshake or socket error caused it. */
  close(code: number, reason: string, error?: Error): void;
}

export interface LeanWsOptions {
  maxMessageBytes?: number;
  /** Source address of the TCP connection (default: the system's choice). */
  localAddress?: string;
  /** ws: only (not wss:). The socket reads into this buffer, which the thread's
   *  connections may share (net's `onread`), instead of a new Buffer per read pushed
   *  through a Readable stream: ~1.2 µs less of the generator's CPU per read
   *  (docs/BENCHMARKS.md, Method). A message given to `handlers.message` is then a view
   *  into it, valid only during that call: the handler copies what it keeps. What the
   *  client itself keeps across reads (a partial frame, fragments, the response head)
   *  it copies. */
  readBuffer?: Buffer;
}

/** `Sec-WebSocket-Accept` for a key (RFC 6455 section 4.2.2). */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** Bytes of a client frame's head (FIN/opcode, length, mask) for a payload of `len`. */
function headBytes(len: number): number {
  return (len < 126 ? 2 : len < 65536 ? 4 : 10) + 4;
}

/** Writes a client frame's head at out[0]; returns where the payload starts. */
function writeHead(out: Buffer, opcode: number, len: number, mask: Uint8Array): number {
  out[0] = 0x80 | opcode;
  let at = 2;
  if (len < 126) {
    out[1] = 0x80 | len;
  } else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
    at = 4;
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(len / 0x1_0000_0000), 2);
    out.writeUInt32BE(len >>> 0, 6);
    at = 10;
  }
  out[at] = mask[0]!;
  out[at + 1] = mask[1]!;
  out[at + 2] = mask[2]!;
  out[at + 3] = mask[3]!;
  return at + 4;
}

/** bufferutil's native masking, when installed: what `ws` (and so every peer's client
 *  library that runs on `ws`: nats.js's WebSocket transport here, mqtt.js,
 *  socket.io-client) masks with. Without it the generator's own handsets masked in a JS
 *  loop, ~11% of their thread's busy time in chat (frames carry up to a window of
 *  envelopes: 3 KB in ~1.8 µs in JS, ~0.15 µs native). Optional, like for ws; the same
 *  environment switch turns it off (WS_NO_BUFFER_UTIL=1). */
interface NativeMask { mask(source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number): void }
const nativeMask: NativeMask | null = (() => {
  if (process.env.WS_NO_BUFFER_UTIL) return null;
  try {
    const m = createRequire(import.meta.url)('bufferutil') as Partial<NativeMask>;
    return typeof m.mask === 'function' ? (m as NativeMask) : null;
  } catch {
    return null;
  }
})();
/** Below this many bytes the JS loop beats the native call's own cost. */
const NATIVE_MASK_MIN = 128;

/** Whether frames are masked by bufferutil (for tests and the bench's notes). */
export const masksNatively = nativeMask !== null;

/** XORs `len` bytes of `src` from `from` with the mask into `out` from `at` (src may be
 *  out, at the same offset). */
export function maskInto(out: Uint8Array, at: number, src: Uint8Array, from: number, len: number, mask: Uint8Array, js = false): void {
  if (!js && nativeMask !== null && len >= NATIVE_MASK_MIN) {
    nativeMask.mask(src.subarray(from, from + len), mask, out, at, len);
    return;
  }
  const m0 = mask[0]!, m1 = mask[1]!, m2 = mask[2]!, m3 = mask[3]!;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    out[at + i] = src[from + i]! ^ m0;
    out[at + i + 1] = src[from + i + 1]! ^ m1;
    out[at + i + 2] = src[from + i + 2]! ^ m2;
    out[at + i + 3] = src[from + i + 3]! ^ m3;
  }
  for (; i < len; i++) out[at + i] = src[from + i]! ^ mask[i & 3]!;
}

/** One frame as a client sends it (FIN set, masked with `mask`). */
export function encodeClientFrame(opcode: number, payload: Uint8Array, mask: Uint8Array): Buffer {
  const len = payload.length;
  const out = Buffer.allocUnsafe(headBytes(len) + len);
  const at = writeHead(out, opcode, len, mask);
  maskInto(out, at, payload, 0, len, mask);
  return out;
}

/** The same frame, its payload written by `write` straight into the frame (at `at`,
 *  exactly `len` bytes) and masked there: no copy of the payload of its own. */
export function buildClientFrame(opcode: number, len: number, write: (out: Buffer, at: number) => void, mask: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(headBytes(len) + len);
  const at = writeHead(out, opcode, len, mask);
  write(out, at);
  maskInto(out, at, out, at, len, mask);
  return out;
}

/** What a connection needs of its URL, parsed once per URL (a storm opens thousands of
 *  connections to the same few). `request`: the upgrade request up to its key. */
interface Target {
  secure: boolean;
  host: string;
  port: number;
  request: string;
}
const targets = new Map<string, Target>();
const MAX_TARGETS = 256;

function targetOf(url: string): Target {
  let t = targets.get(url);
  if (t !== undefined) return t;
  const u = new URL(url);
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`not a WebSocket URL: ${u.protocol}`);
  const secure = u.protocol === 'wss:';
  t = {
    secure,
    host: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
    port: Number(u.port || (secure ? 443 : 80)),
    request:
      `GET ${u.pathname || '/'}${u.search} HTTP/1.1\r\n` +
      `Host: ${u.host}\r\n` +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      'Sec-WebSocket-Key: ',
  };
  if (targets.size >= MAX_TARGETS) targets.clear();
  targets.set(url, t);
  return t;
}

/**
 * The last response head the full check (#checkHandshake) accepted, and where its
 * Sec-WebSocket-Accept value sits. A later head equal to it byte for byte outside that
 * value, and whose value there is the new connection's own accept, is accepted without
 * being made into a string and parsed again: the check depends on the head's text and
 * the expected accept only, and an accept (28 base64 characters) holds no byte that
 * could change the head's lines (no CR, LF, colon or space), so that head's check is the
 * template's with its accept replaced by the expected one, which passed. Anything else
 * (another server's head, a wrong accept, one header more) takes the full check.
 */
let knownHead: { bytes: Buffer; acceptAt: number } | null = null;
const headCounts = { parsed: 0, matched: 0 };

/** Response heads this thread checked in full, and those it accepted as the last
 *  accepted head with a new accept (for tests). */
export function handshakeHeadCounts(): { parsed: number; matched: number } {
  return { ...headCounts };
}

/** The socket's owner, for the listeners shared by every connection (one function per
 *  event for all of them: tsx keeps function names, so a closure made per connection
 *  costs a defineProperty, ~0.25 µs each). */
const OWNER = Symbol('LeanWebSocket');
type OwnedSocket = Socket & { [OWNER]: LeanWebSocket };

export class LeanWebSocket {
  #state: LeanWsState = 'connecting';
  readonly #socket: Socket;
  readonly #handlers: LeanWsHandlers;
  readonly #maxMessage: number;
  readonly #accept: string;
  #head: Buffer | null = EMPTY; // response head bytes so far (null once open)
  #pending: Buffer = EMPTY;     // received bytes not yet parsed into frames
  #fragments: Buffer[] = [];
  #fragmentBytes = 0;
  #closeCode = 1006;
  #closeReason = '';
  #error: Error | undefined;
  #closeTimer: NodeJS.Timeout | null = null;
  /** Reads land in a buffer the next read overwrites (options.readBuffer). */
  readonly #sharedReads: boolean;
  /** close()'s promise, made when asked for. */
  #closed: Promise<void> | null = null;
  #resolveClosed: (() => void) | null = null;

  constructor(url: string, handlers: LeanWsHandlers, options: LeanWsOptions = {}) {
    this.#handlers = handlers;
    this.#maxMessage = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE;
    const { secure, host, port, request } = targetOf(url);
    const key = randomBytesFromPool(16).toString('base64');
    this.#accept = acceptFor(key);
    const local = options.localAddress !== undefined ? { localAddress: options.localAddress } : {};
    const readBuffer = secure ? undefined : options.readBuffer;
    this.#sharedReads = readBuffer !== undefined;
    this.#socket = secure ? tlsConnect({ host, port, servername: host, ...local })
      : readBuffer !== undefined
        ? netConnect({ host, port, noDelay: true, ...local, onread: { buffer: readBuffer, callback: (n: number, buf: Uint8Array): boolean => { this.#onData(buf.subarray(0, n) as Buffer); return true; } } })
        : netConnect({ host, port, noDelay: true, ...local });
    if (secure) this.#socket.setNoDelay(true);
    // Written at once: the socket queues it until connected.
    this.#socket.write(request + key + '\r\nSec-WebSocket-Version: 13\r\n\r\n', 'latin1');
    (this.#socket as OwnedSocket)[OWNER] = this;
    if (readBuffer === undefined) this.#socket.on('data', LeanWebSocket.#onSocketData);
    this.#socket.on('error', LeanWebSocket.#onSocketError);
    this.#socket.on('end', LeanWebSocket.#onSocketEnd);
    this.#socket.on('close', LeanWebSocket.#onSocketClose);
  }

  static #onSocketData(this: Socket, chunk: Buffer): void {
    (this as OwnedSocket)[OWNER].#onData(chunk);
  }

  static #onSocketError(this: Socket, e: Error): void {
    const ws = (this as OwnedSocket)[OWNER];
    ws.#error ??= e;
  }

  static #onSocketEnd(this: Socket): void {
    this.end();
  }

  static #onSocketClose(this: Socket): void {
    const ws = (this as OwnedSocket)[OWNER];
    ws.#finish(ws.#closeCode, ws.#closeReason);
  }

  get state(): LeanWsState {
    return this.#state;
  }

  /** Sends one binary message; false (nothing sent) unless the connection is open. */
  send(data: Uint8Array): boolean {
    if (this.#state !== 'open') return false;
    this.#socket.write(encodeClientFrame(OP_BINARY, data, randomBytesFromPool(4)));
    return true;
  }

  /** Sends one binary message of `len` bytes that `write` puts at out[at] (see
   *  buildClientFrame); false (nothing written) unless the connection is open. */
  sendWith(len: number, write: (out: Buffer, at: number) => void): boolean {
    if (this.#state !== 'open') return false;
    this.#socket.write(buildClientFrame(OP_BINARY, len, write, randomBytesFromPool(4)));
    return true;
  }

  /** Drops the connection at once, without a close frame. */
  terminate(): void {
    if (this.#state === 'closed') return;
    this.#closeCode = 1006;
    this.#socket.destroy();
    this.#finish(1006, '');
  }

  /** Close handshake with `code`; the socket is destroyed if the server has not
   *  answered within 2 s. Resolves once the connection is closed. */
  close(code = 1000): Promise<void> {
    if (this.#state === 'connecting') {
      this.terminate();
    } else if (this.#state === 'open') {
      this.#sendClose(code);
    }
    if (this.#state === 'closed') return Promise.resolve();
    this.#closed ??= new Promise<void>((r) => { this.#resolveClosed = r; });
    return this.#closed;
  }

  #sendClose(code: number): void {
    this.#state = 'closing';
    const body = Buffer.allocUnsafe(2);
    body.writeUInt16BE(code, 0);
    this.#socket.write(encodeClientFrame(OP_CLOSE, body, randomBytesFromPool(4)));
    this.#closeTimer = setTimeout(() => this.#socket.destroy(), CLOSE_WAIT_MS);
  }

  /** Ends the connection with a protocol-level failure: close frame (if open), then gone. */
  #fail(code: number, why: string): void {
    if (this.#state === 'closed') return;
    this.#error ??= new Error(why);
    this.#closeCode = code;
    this.#closeReason = why;
    if (this.#state === 'open') {
      const body = Buffer.allocUnsafe(2);
      body.writeUInt16BE(code, 0);
      this.#socket.write(encodeClientFrame(OP_CLOSE, body, randomBytesFromPool(4)));
    }
    this.#socket.end();
    this.#socket.destroy();
    this.#finish(code, why);
  }

  /** The one way out: runs once, whatever ended the connection. */
  #finish(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    this.#closeTimer = null;
    this.#pending = EMPTY;
    this.#fragments = [];
    this.#head = null;
    if (!this.#socket.destroyed) this.#socket.destroy();
    this.#resolveClosed?.();
    this.#handlers.close(code, reason, this.#error);
  }

  #onData(chunk: Buffer): void {
    if (this.#state === 'connecting') {
      const head = this.#head === EMPTY ? chunk : Buffer.concat([this.#head!, chunk]);
      const end = head.indexOf('\r\n\r\n', 0, 'latin1');
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) this.#fail(1002, 'handshake response head too large');
        else this.#head = head === chunk ? this.#keep(head) : head;
        return;
      }
      const problem = this.#isKnownHead(head, end) ? null : this.#checkHandshake(head, end);
      if (problem !== null) {
        this.#fail(1002, `handshake refused: ${problem}`);
        return;
      }
      this.#head = null;
      this.#state = 'open';
      this.#handlers.open();
      if (end + 4 < head.length && this.#state === 'open') this.#onFrames(head.subarray(end + 4));
      return;
    }
    if (this.#state === 'open' || this.#state === 'closing') this.#onFrames(chunk);
  }

  /** Whether head[0, end) is the last accepted head with this connection's accept in
   *  place of its own (knownHead). */
  #isKnownHead(head: Buffer, end: number): boolean {
    const k = knownHead;
    const accept = this.#accept;
    if (k === null || k.bytes.length !== end) return false;
    const a = k.acceptAt;
    const n = accept.length;
    if (head.compare(k.bytes, 0, a, 0, a) !== 0 || head.compare(k.bytes, a + n, end, a + n, end) !== 0) return false;
    for (let i = 0; i < n; i++) if (head[a + i] !== accept.charCodeAt(i)) return false;
    headCounts.matched++;
    return true;
  }

  /** null when the response head (head[0, end), latin1) accepts the upgrade, else why
   *  not (a status other than 101 also becomes the connection's UpgradeRefused error).
   *  An accepted head becomes knownHead. */
  #checkHandshake(bytes: Buffer, end: number): string | null {
    headCounts.parsed++;
    const head = bytes.toString('latin1', 0, end);
    const lines = head.split('\r\n');
    const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '');
    if (status === null) return 'not an HTTP/1.1 response';
    if (status[1] !== '101') {
      this.#error ??= new UpgradeRefused(Number(status[1]), `handshake refused: status ${status[1]}`);
      return `status ${status[1]}`;
    }
    const headers = new Map<string, string>();
    let lineAt = lines[0]!.length + 2;
    let acceptAt = -1; // where the last Sec-WebSocket-Accept value starts in the head
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) return 'malformed header line';
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.set(name, value);
      // the value's first byte: a base64 accept cannot begin inside the spaces trimmed
      if (name === 'sec-websocket-accept') acceptAt = value === this.#accept ? lineAt + line.indexOf(value, colon + 1) : -1;
      lineAt += line.length + 2;
    }
    if (headers.get('upgrade')?.toLowerCase() !== 'websocket') return 'no Upgrade: websocket';
    if (!(headers.get('connection') ?? '').toLowerCase().split(/\s*,\s*/).includes('upgrade')) return 'no Connection: upgrade';
    if (headers.get('sec-websocket-accept') !== this.#accept) return 'wrong Sec-WebSocket-Accept';
    if (headers.has('sec-websocket-extensions')) return 'an extension was not offered';
    if (headers.has('sec-websocket-protocol')) return 'a subprotocol was not offered';
    if (acceptAt >= 0) knownHead = { bytes: Buffer.from(bytes.subarray(0, end)), acceptAt }; // a copy: reads may share their buffer
    return null;
  }

  #onFrames(chunk: Buffer): void {
    const buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    let at = 0;
    while (this.#state === 'open' || this.#state === 'closing') {
      const left = buf.length - at;
      if (left < 2) break;
      const b0 = buf[at]!;
      const b1 = buf[at + 1]!;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      if ((b0 & 0x70) !== 0) return this.#fail(1002, 'reserved bits set');
      if ((b1 & 0x80) !== 0) return this.#fail(1002, 'masked frame from the server');
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (left < 4) break;
        len = buf.readUInt16BE(at + 2);
        head = 4;
      } else if (len === 127) {
        if (left < 10) break;
        const hi = buf.readUInt32BE(at + 2);
        if (hi > 0x1fffff) return this.#fail(1009, 'frame too large');
        len = hi * 0x1_0000_0000 + buf.readUInt32BE(at + 6);
        head = 10;
      }
      if (opcode >= 0x8) {
        if (!fin || len > 125) return this.#fail(1002, 'fragmented or long control frame');
      } else if (this.#fragmentBytes + len > this.#maxMessage) {
        return this.#fail(1009, 'message too large');
      }
      if (left < head + len) break;
      const payload = buf.subarray(at + head, at + head + len);
      at += head + len;
      this.#onFrame(fin, opcode, payload);
    }
    if (this.#state === 'closed') return;
    // a partial frame waits for the next read: a copy when reads land in a shared buffer
    // (a concatenation with what was pending is already a buffer of its own)
    this.#pending = at === buf.length ? EMPTY : buf === chunk ? this.#keep(buf.subarray(at)) : buf.subarray(at);
  }

  /** `b` itself, or a copy of it when reads land in a buffer the next read overwrites. */
  #keep(b: Buffer): Buffer {
    return this.#sharedReads ? Buffer.from(b) : b;
  }

  #onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OP_TEXT:
      case OP_BINARY:
        if (this.#fragments.length > 0) return this.#fail(1002, 'new message inside a fragmented one');
        if (fin) {
          if (this.#state === 'open') this.#handlers.message(payload);
          return;
        }
        this.#fragments.push(this.#keep(payload));
        this.#fragmentBytes = payload.length;
        return;
      case OP_CONT: {
        if (this.#fragments.length === 0) return this.#fail(1002, 'continuation without a message');
        if (!fin) {
          this.#fragments.push(this.#keep(payload));
          this.#fragmentBytes += payload.length;
          return;
        }
        this.#fragments.push(payload); // concatenated right here
        this.#fragmentBytes += payload.length;
        const whole = Buffer.concat(this.#fragments, this.#fragmentBytes);
        this.#fragments = [];
        this.#fragmentBytes = 0;
        if (this.#state === 'open') this.#handlers.message(whole);
        return;
      }
      case OP_PING:
        if (this.#state === 'open') this.#socket.write(encodeClientFrame(OP_PONG, payload, randomBytesFromPool(4)));
        return;
      case OP_PONG:
        return;
      case OP_CLOSE: {
        if (payload.length === 1) return this.#fail(1002, 'one-byte close payload');
        this.#closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.#closeReason = payload.length > 2 ? payload.toString('utf8', 2) : '';
        if (this.#state === 'open') {
          // Echo the close, then wait for the server to end the TCP connection (RFC 6455
          // 7.1.1: the server closes first); the timer bounds that wait.
          const echo = this.#closeCode === 1005 ? EMPTY : payload.subarray(0, 2);
          this.#state = 'closing';
          this.#socket.write(encodeClientFrame(OP_CLOSE, echo, randomBytesFromPool(4)));
          this.#closeTimer = setTimeout(() => this.#socket.destroy(), CLOSE_WAIT_MS);
        } else {
          this.#socket.end();
        }
        return;
      }
      default:
        return this.#fail(1002, `unknown opcode ${opcode}`);
    }
  }
}
