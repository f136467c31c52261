// Transport on the `ws` package over node:http: the portable fallback when no
// uWebSockets.js build loads. Written to behave like uws.ts on the wire, plus what ws
// lets us do better: close frames with 1009 on oversize and 4007 on idle timeout.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { CloseCode } from '../../relay/errors.ts';
import type { SendOutcome, Socket, Transport, TransportOptions } from './transport.ts';
import type { BudgetShare, SendBudget } from './send-budget.ts';
import { asciiLine, closeFrameArgs, INTERNAL_REASON, nextSocketId, pathOf, reportError, statusLine } from './common.ts';

// A real client sends ~10-20 headers. Node keeps only the first maxHeadersCount and drops
// the rest silently, so a request that reaches the cap is refused (431) rather than served
// with headers missing. maxHeaderSize bounds the bytes (Node answers 431 itself).
const MAX_HEADERS = 64;
const MAX_HEADER_BYTES = 16 * 1024;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const CONNECTIONS_CHECK_MS = 2_000; // how often Node enforces the two timeouts above

/** After a server-side close, how long the peer gets to finish the closing handshake. */
function closeGraceMs(idleTimeoutSeconds: number): number {
  return Math.min(10_000, Math.max(2_000, idleTimeoutSeconds * 500));
}

// ws reports protocol errors as an 'error' event (then closes with this status itself).
const ERROR_CLOSE_CODES: Record<string, number> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: CloseCode.TOO_LARGE,
  WS_ERR_INVALID_UTF8: 1007,
  // More than maxFragments (16,384) continuation frames in one message: ws closes 1008.
  WS_ERR_TOO_MANY_BUFFERED_PARTS: CloseCode.POLICY,
};

class WsSocket implements Socket, BudgetShare {
  readonly id: number;
  closed = false;
  lastSeen = Date.now();
  readonly ws: WebSocket;
  readonly #raw: Duplex;
  readonly #maxBuffered: number;
  readonly #graceMs: number;
  readonly #onClose: (s: WsSocket, code: number, reason: string) => void;
  readonly #budget: SendBudget | null;
  budgetBytes = 0;

  constructor(ws: WebSocket, raw: Duplex, maxBuffered: number, graceMs: number,
    onClose: (s: WsSocket, code: number, reason: string) => void, budget: SendBudget | null) {
    this.id = nextSocketId();
    this.ws = ws;
    this.#raw = raw;
    this.#maxBuffered = maxBuffered;
    this.#graceMs = graceMs;
    this.#onClose = onClose;
    this.#budget = budget;
  }

  send(data: Uint8Array): SendOutcome {
    if (this.closed) return 'closed';
    this.ws.send(data, { binary: true, compress: false });
    const buffered = this.ws.bufferedAmount;
    // reported only when it changed (most sends leave nothing buffered)
    if (buffered > this.#maxBuffered || (this.#budget !== null && buffered !== this.budgetBytes && !this.#budget.report(this, buffered))) {
      this.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
      return 'dropped';
    }
    return 'ok';
  }

  /** The TCP socket's buffer drained. */
  drained(): void {
    if (!this.closed) this.#budget?.report(this, this.ws.bufferedAmount);
  }

  /** Closed: its buffer no longer counts. */
  released(): void {
    this.#budget?.drop(this);
  }

  cork(fn: () => void): void {
    // ws writes header and payload as separate socket writes; corking the TCP socket
    // coalesces every frame written inside fn into one writev.
    this.#raw.cork();
    try { fn(); } finally { this.#raw.uncork(); }
  }

  bufferedAmount(): number {
    return this.closed ? 0 : this.ws.bufferedAmount;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    const [c, r] = closeFrameArgs(code, reason);
    this.ws.close(c, r);
    // ws waits up to 30 s for the peer's close frame; a peer that stopped reading (slow
    // consumer, dead link) gets the same short grace uWS gives after end().
    const timer = setTimeout(() => this.ws.terminate(), this.#graceMs);
    timer.unref();
    this.ws.once('close', () => clearTimeout(timer));
    this.#onClose(this, c, r);
  }

  /** The library closed it (peer close frame, protocol error, TCP loss). */
  closedBy(code: number, reason: string): void {
    if (this.closed) return;
    this.#onClose(this, code, reason);
  }
}

function refuseRaw(socket: Duplex, status: number, reason: string, retryAfterS?: number): void {
  const body = `${asciiLine(reason, 200)}\n`;
  const retry = retryAfterS === undefined ? '' : `Retry-After: ${Math.max(1, Math.ceil(retryAfterS))}\r\n`;
  socket.on('error', () => { /* the peer may be gone already */ });
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${statusLine(status)}\r\nConnection: close\r\nContent-Type: text/plain\r\n${retry}`
    + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function tooManyHeaders(req: IncomingMessage): boolean {
  return req.rawHeaders.length / 2 >= MAX_HEADERS;
}

export function createWsTransport(opts: TransportOptions): Transport {
  const { handlers } = opts;
  const sockets = new Set<WsSocket>();
  const graceMs = closeGraceMs(opts.idleTimeoutSeconds);
  let accepting = true;
  let listening = false;
  let closing: Promise<void> | null = null;
  let idleTimer: NodeJS.Timeout | null = null;

  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: CONNECTIONS_CHECK_MS });
  server.maxHeadersCount = MAX_HEADERS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: opts.maxPayloadBytes,
    clientTracking: false, // we track our own sockets
  });

  const onSocketClosed = (s: WsSocket, code: number, reason: string): void => {
    s.closed = true;
    s.released();
    sockets.delete(s);
    try { handlers.close(s, code, reason); } catch (e) { reportError(opts.onError, 'close', e); }
  };

  const fail = (where: string, err: unknown, s?: WsSocket): void => {
    if (s) s.close(CloseCode.INTERNAL, INTERNAL_REASON);
    reportError(opts.onError, where, err);
  };

  const onOpen = (ws: WebSocket, raw: Duplex): void => {
    ws.binaryType = 'nodebuffer';
    const s = new WsSocket(ws, raw, opts.maxBackpressureBytes, graceMs, onSocketClosed, opts.sendBudget ?? null);
    sockets.add(s);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (s.closed) return;
      s.lastSeen = Date.now();
      if (!isBinary) { s.close(CloseCode.UNSUPPORTED_DATA, 'binary frames only'); return; }
      // With binaryType 'nodebuffer' data is one Buffer that nothing else reuses: no copy.
      try { handlers.message(s, data as Buffer); } catch (e) { fail('message', e, s); }
    });
    ws.on('pong', () => { s.lastSeen = Date.now(); });
    ws.on('ping', () => { s.lastSeen = Date.now(); });
    ws.on('error', (err: Error & { code?: string }) => {
      // ws already sent the matching close frame; tell handlers now, not after the handshake.
      s.closedBy(ERROR_CLOSE_CODES[err.code ?? ''] ?? 1002, asciiLine(err.message, 123));
    });
    ws.on('close', (code: number, reason: Buffer) => s.closedBy(code, reason.toString('utf8')));
    if (opts.handlers.drain || opts.sendBudget) {
      const drain = opts.handlers.drain;
      raw.on('drain', () => {
        if (s.closed) return;
        s.drained();
        if (!drain) return;
        try { drain(s); } catch (e) { fail('drain', e, s); }
      });
    }
    try { handlers.open(s); } catch (e) { fail('open', e, s); }
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!accepting) { refuseRaw(socket, 503, 'not accepting connections'); return; }
    if (tooManyHeaders(req)) { refuseRaw(socket, 431, 'too many headers'); return; }
    if (pathOf(req.url) !== opts.path) { refuseRaw(socket, 404, 'not found'); return; }
    let verdict;
    try {
      verdict = opts.gate({ origin: req.headers.origin });
    } catch (e) {
      refuseRaw(socket, 500, 'internal error');
      reportError(opts.onError, 'gate', e);
      return;
    }
    if (!verdict.ok) { refuseRaw(socket, verdict.status, verdict.reason, verdict.retryAfterS); return; }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!accepting) { ws.close(CloseCode.TRY_AGAIN_LATER, 'not accepting connections'); return; }
      onOpen(ws, socket);
    });
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const text = (status: number, body: string): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(body);
    };
    if (tooManyHeaders(req)) { text(431, 'too many headers\n'); return; }
    const path = pathOf(req.url);
    if (path === opts.path) { text(426, 'websocket upgrade required\n'); return; }
    const write = (status: number, headers: Record<string, string> | undefined, body: string): void => {
      if (res.destroyed) return;
      res.writeHead(status, headers).end(body);
    };
    const failed = (e: unknown): void => {
      if (!res.headersSent) text(500, 'internal error\n');
      reportError(opts.onError, 'http', e);
    };
    try {
      const r = opts.http((req.method ?? 'GET').toUpperCase(), path);
      if (r instanceof Promise) r.then((v) => write(v.status, v.headers, v.body), failed);
      else write(r.status, r.headers, r.body);
    } catch (e) {
      failed(e);
    }
  });

  // One timer for all sockets: ping after half the idle timeout, close 4007 after all of
  // it. Ticking every quarter leaves a ping at least a quarter of the timeout to come back.
  const startIdleSweep = (): void => {
    const idle = opts.idleTimeoutSeconds * 1000;
    if (!(idle > 0)) return;
    idleTimer = setInterval(() => {
      const now = Date.now();
      for (const s of sockets) {
        const quiet = now - s.lastSeen;
        if (quiet >= idle) s.close(CloseCode.IDLE_TIMEOUT, 'idle timeout');
        else if (quiet >= idle / 2) s.ws.ping();
      }
    }, Math.max(250, Math.floor(idle / 4)));
    idleTimer.unref();
  };

  const stopAccepting = async (): Promise<void> => {
    accepting = false;
    if (listening) {
      listening = false;
      server.close(() => { /* resolves when the last HTTP connection ends; not awaited */ });
    }
  };

  const close = async (code: number, reason: string): Promise<void> => {
    await stopAccepting();
    if (idleTimer) clearInterval(idleTimer);
    const gone = [...sockets].map((s) => new Promise<void>((resolve) => {
      if (s.ws.readyState === s.ws.CLOSED) resolve();
      else s.ws.once('close', () => resolve());
    }));
    for (const s of [...sockets]) s.close(code, reason);
    server.closeAllConnections(); // keep-alive HTTP connections; upgraded sockets are ours
    // Close frames are flushed and handshakes end within graceMs (then terminate()).
    await Promise.all(gone);
  };

  return {
    kind: 'ws',
    listen: () => new Promise<number>((resolve, reject) => {
      if (closing || !accepting) { reject(new Error('transport is closed')); return; }
      const onError = (e: Error): void => reject(e);
      server.once('error', onError);
      server.listen(opts.port, opts.host, () => {
        server.off('error', onError);
        server.on('error', (e) => reportError(opts.onError, 'server', e));
        listening = true;
        startIdleSweep();
        resolve((server.address() as AddressInfo).port);
      });
    }),
    stopAccepting,
    close: (code, reason) => {
      closing ??= close(code, reason);
      return closing;
    },
  };
}
