// The transport seam: what the connection (client/connection-core.ts) needs of a
// WebSocket, and an adapter from any WHATWG-style WebSocket constructor (browsers,
// React Native, Deno, Node 22's global, undici) to it. On Node the SDK's default is `ws`
// through client/ws-transport.ts, which can do more (see Transport.canPing and
// docs/CLIENT.md, "Using the SDK outside Node").
//
// The standard API cannot: send pings or see pings and pongs (the browser answers the
// gateway's pings itself), read the HTTP status (429, 503, 404...) or headers of a
// refused upgrade (it is one opaque `error` then close 1006), bound the opening
// handshake, or drop a socket at once without a closing handshake. The connection
// covers each: it sends the protocol's `ping` op instead (docs/PROTOCOL.md, section 10)
// and drops a socket that stays silent, its connect deadline bounds the handshake, a
// refused upgrade backs off and rotates like any unreachable gateway, and terminate()
// here detaches the socket and reports close 1006 on the next turn instead of waiting
// for the peer.
import { HushwireError, ErrorCode } from '../relay/errors.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- handler parameters stay loose so
   that the DOM's, undici's, ws's and React Native's WebSocket classes all fit. */

/** The part of a WHATWG WebSocket the SDK uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((ev: any) => any) | null;
  onmessage: ((ev: any) => any) | null;
  onclose: ((ev: any) => any) | null;
  onerror: ((ev: any) => any) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** A WHATWG-style WebSocket constructor: `globalThis.WebSocket` in browsers, React Native
 *  and Deno; on Node 22+ (or 20 with --experimental-websocket) the global too. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** What the connection hears from one socket. Nothing arrives after onClose. */
export interface TransportEvents {
  /** A binary message. */
  onFrame(data: Uint8Array): void;
  /** A message the protocol does not allow (a text frame, or a binary type the
   *  implementation would not give as bytes). */
  onUnsupported(reason: string): void;
  /** Liveness without a message: a ping or pong seen (only where canPing). */
  onActivity(): void;
  /** A short, safe reason why the socket failed; onClose follows. */
  onError(reason: string): void;
  onClose(code: number, reason: string): void;
}

export interface TransportSocket {
  /** 0 connecting, 1 open, 2 closing, 3 closed (the WHATWG values). */
  readonly readyState: number;
  /** Bytes handed to send() and not yet on the wire. */
  readonly bufferedAmount: number;
  /** Resolves when the socket is closed (onClose has run, or terminate() reported it). */
  readonly closed: Promise<void>;
  send(data: Uint8Array): void;
  /** A close frame with this code where the implementation allows it; a peer that does
   *  not answer within a second is cut off (terminate). */
  close(code: number, reason: string): void;
  /** Ends the socket now; onClose(1006) runs on a later turn, never synchronously. */
  terminate(): void;
  /** Present where the implementation can send pings (its pongs reach onActivity). */
  ping?(): void;
}

export interface Transport {
  readonly name: string;
  /** true: the connection sends WebSocket pings (their pongs are activity). false (the
   *  standard API): it sends `ping` ops instead. Either way a long silence is a dead
   *  socket. */
  readonly canPing: boolean;
  /** Opens a socket; throws for a URL the implementation refuses outright. */
  open(url: string, events: TransportEvents, opts: { connectTimeoutMs: number }): TransportSocket;
}

const OPEN = 1;
const CLOSED = 3;

function later(fn: () => void): void {
  setTimeout(fn, 0);
}

/** unref() where timers have it (Node), so a pending timer never holds a process open. */
export function unrefTimer(t: unknown): void {
  const u = (t as { unref?: () => void } | null)?.unref;
  if (typeof u === 'function') u.call(t);
}

/**
 * A short reason for a socket that failed before the gateway's challenge: what a user
 * who typed a wrong URL or started before the gateway needs to see. Gateway addresses
 * are not private; nothing else goes in.
 */
export function describeSocketError(e: Error): string {
  const errno = (e as { code?: unknown }).code;
  // A TLS client meeting a server without TLS: Node says ECONNRESET "...before secure TLS
  // connection was established", or EPROTO "...wrong version number".
  if (/secure TLS connection|wrong version number|SSL routines/i.test(e.message) || (typeof errno === 'string' && errno.startsWith('ERR_SSL_'))) {
    return 'TLS handshake failed (a wss:// URL for a gateway without TLS?)';
  }
  if (errno === 'ECONNREFUSED') return 'connection refused';
  if (errno === 'ENOTFOUND' || errno === 'EAI_AGAIN') return 'host not found';
  if (errno === 'ECONNRESET') return 'connection reset';
  if (errno === 'ETIMEDOUT') return 'connect timed out';
  const http = /Unexpected server response: (\d+)/.exec(e.message);
  if (http) {
    const status = Number(http[1]);
    if (status === 404) return 'HTTP 404 at the WebSocket upgrade (wrong path? gateways serve /ws)';
    if (status === 503) return 'HTTP 503: the gateway is full, draining or not ready';
    if (status === 429) return 'HTTP 429: too many connections from this address';
    if (status === 403) return 'HTTP 403: origin not allowed';
    return `HTTP ${status} at the WebSocket upgrade`;
  }
  if (/handshake timed out|Opening handshake has timed out/i.test(e.message)) return 'WebSocket handshake timed out';
  return typeof errno === 'string' && /^[A-Z0-9_]{2,32}$/.test(errno) ? errno : 'socket error';
}

/** The reason in a standard `error` event: browsers give none (on purpose); Node's
 *  implementations attach the underlying Error, whose errno says more. */
function describeErrorEvent(ev: unknown): string {
  const err = (ev as { error?: unknown } | null)?.error;
  if (err instanceof Error) {
    const d = describeSocketError(err);
    if (d !== 'socket error') return d;
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error) return describeSocketError(cause);
  }
  // No status, no errno: a refused upgrade (HTTP 4xx/5xx), a refused connection and an
  // unknown host all look like this through the standard API.
  return 'WebSocket failed to open or was closed (the standard WebSocket API gives no reason)';
}

/** Checks that `Ctor` can be a WebSocket constructor (BAD_REQUEST otherwise). */
export function checkWebSocketConstructor(Ctor: unknown): asserts Ctor is WebSocketConstructor {
  if (typeof Ctor !== 'function') {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'WebSocket must be a WebSocket constructor (a class such as globalThis.WebSocket)');
  }
  // An arrow function (or a method) cannot be called with `new`: it has no prototype.
  if (typeof (Ctor as { prototype?: unknown }).prototype !== 'object') {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'WebSocket must be a constructor (a class or a function called with new), not an arrow function');
  }
}

/** Thrown by open() when the WebSocket constructor itself threw: said as such, not as a bad URL. */
export class WebSocketConstructorFailed extends HushwireError {
  constructor(cause: unknown) {
    const name = cause instanceof Error && /^[A-Za-z]{1,40}$/.test(cause.name) ? ` (${cause.name})` : '';
    super(ErrorCode.UNAVAILABLE, `the WebSocket constructor threw${name}`, { cause });
  }
}

function isSocketLike(ws: unknown): ws is WebSocketLike {
  if (typeof ws !== 'object' || ws === null) return false;
  const s = ws as Record<string, unknown>;
  return typeof s.send === 'function' && typeof s.close === 'function' && typeof s.readyState === 'number';
}

/** Thrown by open() for an object that is not a WebSocket: a programming error that no retry fixes. */
export class NotAWebSocket extends HushwireError {
  constructor() {
    super(ErrorCode.BAD_REQUEST, 'the WebSocket constructor made something without send, close and readyState');
  }
}

/** The transport over a WHATWG-style WebSocket constructor. */
export function whatwgTransport(Ctor: unknown, name = 'websocket'): Transport {
  checkWebSocketConstructor(Ctor);
  return {
    name,
    canPing: false,
    open(url, events) {
      let ws: unknown;
      try {
        ws = new Ctor(url);
      } catch (e) {
        throw new WebSocketConstructorFailed(e);
      }
      if (!isSocketLike(ws)) {
        try {
          (ws as { close?: () => void } | null)?.close?.();
        } catch { /* not ours to fix */ }
        throw new NotAWebSocket();
      }
      try {
        ws.binaryType = 'arraybuffer';
      } catch { /* checked per message below */ }
      let done = false;
      let resolveClosed: () => void = () => {};
      const closed = new Promise<void>((resolve) => { resolveClosed = resolve; });
      let cutoff: ReturnType<typeof setTimeout> | null = null;
      const finish = (code: number, reason: string): void => {
        if (done) return;
        done = true;
        if (cutoff !== null) clearTimeout(cutoff);
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
        resolveClosed();
        events.onClose(code, reason);
      };
      ws.onopen = () => {};
      ws.onmessage = (ev: { data?: unknown } | null) => {
        if (done) return;
        const data = ev?.data;
        if (data instanceof ArrayBuffer) events.onFrame(new Uint8Array(data));
        else if (ArrayBuffer.isView(data)) events.onFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        else if (typeof data === 'string') events.onUnsupported('text frame');
        else events.onUnsupported('binary message not as an ArrayBuffer (binaryType "arraybuffer" unsupported)');
      };
      ws.onerror = (ev: unknown) => {
        if (done) return;
        events.onError(describeErrorEvent(ev));
        // The standard says an error is followed by close 1006 ("fail the WebSocket
        // connection"); some implementations never fire it (Node 20's built-in one on a
        // refused upgrade stays CONNECTING), so the close is reported here on the next
        // turn unless the real one came first: either way it is 1006.
        later(() => {
          if (done) return;
          try {
            ws.close();
          } catch { /* already closing */ }
          finish(1006, '');
        });
      };
      ws.onclose = (ev: { code?: unknown; reason?: unknown } | null) => {
        const code = typeof ev?.code === 'number' ? ev.code : 1006;
        finish(code, typeof ev?.reason === 'string' ? ev.reason : '');
      };
      const terminate = (): void => {
        if (done) return;
        // Detached first: the close() below may fire onclose (1005, no code) before the
        // report, and a socket this side abandoned is 1006, as the interface says.
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
        try {
          // The standard API has no abort: close() without a code is the nearest (a
          // socket still connecting is failed by it).
          ws.close();
        } catch { /* already closing */ }
        later(() => finish(1006, ''));
      };
      return {
        get readyState() {
          return done ? CLOSED : ws.readyState;
        },
        get bufferedAmount() {
          const b = ws.bufferedAmount;
          return typeof b === 'number' && b > 0 ? b : 0;
        },
        closed,
        send(data) {
          if (ws.readyState === OPEN) ws.send(data);
        },
        close(code, reason) {
          if (done) return;
          try {
            // The standard API allows only 1000 and 3000-4999 (1003 UNSUPPORTED_DATA,
            // say, throws): those close without a code.
            if (code === 1000 || (code >= 3000 && code <= 4999)) ws.close(code, reason);
            else ws.close();
          } catch {
            terminate();
            return;
          }
          // A peer that never answers our close frame must not stall the funnel.
          cutoff = setTimeout(terminate, 1000);
          unrefTimer(cutoff);
        },
        terminate,
      };
    },
  };
}
