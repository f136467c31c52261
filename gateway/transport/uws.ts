// Transport on uWebSockets.js (either registry republish; select.ts picks one).
//
// What uWS does on its own and what we add:
// - Oversize frames: uWS drops the TCP connection without a close frame when a frame is
//   over its maxPayloadLength (the client would see 1006). So the library cap is set to
//   twice the configured maximum (UWS_PAYLOAD_HEADROOM) and the configured maximum is
//   enforced here with a proper 1009 close frame; only frames over the library cap still
//   see a dropped connection (reported to handlers.close as 1009).
// - Idle timeouts: uWS drops the connection (client sees 1006); reported as 4007.
// - Backpressure: uWS's own limit drops the frame *and* the close frame that would tell
//   the client why (end() goes through the same check). So the library limit is off
//   (maxBackpressure 0) and send() enforces maxBackpressureBytes itself: after each send,
//   over the bound => end(4004), whose close frame queues behind the buffered data. The
//   same when all sockets' buffers together are over the send budget and this one holds
//   more than its shed floor (send-budget.ts).
// - Message data is an ArrayBuffer that uWS neuters when the callback returns: copied.

import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { CloseCode } from '../../relay/errors.ts';
import type { SendOutcome, Socket, Transport, TransportOptions } from './transport.ts';
import type { BudgetShare, SendBudget } from './send-budget.ts';
import { closeFrameArgs, INTERNAL_REASON, nextSocketId, pathOf, reportError, statusLine, asciiLine } from './common.ts';

/** A port the kernel gives as free on `host` now (node:net, bound with port 0, closed
 *  again: no connection, so no TIME_WAIT left on it). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** uWS's own payload cap, as a multiple of the configured maximum (see above). */
const UWS_PAYLOAD_HEADROOM = 2;
/** uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT: bind without SO_REUSEPORT. */
const LISTEN_EXCLUSIVE_PORT = 1;

// Minimal types for the parts of uWebSockets.js used here (both republishes agree on them).
export type UwsListenSocket = object;
export interface UwsWebSocket<U> {
  send(message: Uint8Array, isBinary?: boolean, compress?: boolean): number;
  getBufferedAmount(): number;
  end(code?: number, shortMessage?: string): void;
  cork(cb: () => void): unknown;
  getUserData(): U;
}
export interface UwsHttpResponse {
  writeStatus(status: string): UwsHttpResponse;
  writeHeader(key: string, value: string): UwsHttpResponse;
  end(body?: string, closeConnection?: boolean): UwsHttpResponse;
  onAborted(handler: () => void): UwsHttpResponse;
  cork(cb: () => void): UwsHttpResponse;
  upgrade<U>(userData: U, key: string, protocol: string, extensions: string, context: unknown): void;
}
export interface UwsHttpRequest {
  getHeader(lowerCaseKey: string): string;
  getUrl(): string;
  getMethod(): string;
}
export interface UwsBehavior<U> {
  compression?: number;
  maxPayloadLength?: number;
  idleTimeout?: number;
  maxBackpressure?: number;
  closeOnBackpressureLimit?: boolean;
  sendPingsAutomatically?: boolean;
  maxLifetime?: number;
  upgrade?: (res: UwsHttpResponse, req: UwsHttpRequest, context: unknown) => void;
  open?: (ws: UwsWebSocket<U>) => void;
  message?: (ws: UwsWebSocket<U>, message: ArrayBuffer, isBinary: boolean) => void;
  drain?: (ws: UwsWebSocket<U>) => void;
  close?: (ws: UwsWebSocket<U>, code: number, message: ArrayBuffer) => void;
}
export interface UwsApp {
  ws<U>(pattern: string, behavior: UwsBehavior<U>): UwsApp;
  any(pattern: string, handler: (res: UwsHttpResponse, req: UwsHttpRequest) => void): UwsApp;
  /** options: 0 = LIBUS_LISTEN_DEFAULT (SO_REUSEPORT), 1 = LIBUS_LISTEN_EXCLUSIVE_PORT. */
  listen(host: string, port: number, options: number, cb: (listenSocket: UwsListenSocket | false) => void): UwsApp;
}
export interface UwsModule {
  App(): UwsApp;
  us_listen_socket_close(listenSocket: UwsListenSocket): void;
  us_socket_local_port(listenSocket: UwsListenSocket): number;
  DISABLED: number;
}

/** uWS.js aborts the process on 0 < idleTimeout < 8, and its timers tick every 4 s. */
export function uwsIdleTimeout(seconds: number): number {
  if (!(seconds > 0)) return 0;
  return Math.min(960, Math.max(8, Math.ceil(seconds / 4) * 4));
}

// uWS closes these without a close frame and reports 1006 with one of these texts.
const FORCED_CLOSE_CODES: Record<string, number> = {
  'Received too big message': CloseCode.TOO_LARGE,
  'Received too big message, or other inflation error': CloseCode.TOO_LARGE,
  'WebSocket timed out from inactivity': CloseCode.IDLE_TIMEOUT,
  'Received invalid UTF-8': 1007,
};

interface UserData { socket: UwsSocket | null }

class UwsSocket implements Socket, BudgetShare {
  readonly id: number;
  closed = false;
  readonly #ws: UwsWebSocket<UserData>;
  readonly #maxBuffered: number;
  readonly #budget: SendBudget | null;
  budgetBytes = 0;

  constructor(ws: UwsWebSocket<UserData>, maxBuffered: number, budget: SendBudget | null) {
    this.id = nextSocketId();
    this.#ws = ws;
    this.#maxBuffered = maxBuffered;
    this.#budget = budget;
  }

  send(data: Uint8Array): SendOutcome {
    if (this.closed) return 'closed';
    // 0 = buffered (backpressure), 1 = written, 2 = dropped by uWS's own limit (off here,
    // but handled in case a build behaves otherwise).
    const status = this.#ws.send(data, true, false);
    // 1 leaves nothing buffered (uWS returns it only when the write, or the cork, took
    // it all), so only a 0 can be over the limit: no second native call per frame.
    if (status === 1) {
      if (this.budgetBytes !== 0) this.#budget?.report(this, 0);
      return 'ok';
    }
    const buffered = status === 2 ? Infinity : this.#ws.getBufferedAmount();
    if (buffered > this.#maxBuffered || (this.#budget !== null && !this.#budget.report(this, buffered))) {
      this.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
      return 'dropped';
    }
    return 'ok';
  }

  /** uWS wrote some of the buffer (its drain event). */
  drained(): void {
    if (!this.closed) this.#budget?.report(this, this.#ws.getBufferedAmount());
  }

  /** Closed: its buffer no longer counts (not read from uWS: the socket is gone). */
  released(): void {
    this.#budget?.drop(this);
  }

  cork(fn: () => void): void {
    if (this.closed) { fn(); return; }
    this.#ws.cork(fn);
  }

  bufferedAmount(): number {
    return this.closed ? 0 : this.#ws.getBufferedAmount();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    const [c, r] = closeFrameArgs(code, reason);
    // end() sends the close frame and calls the behavior's close handler synchronously.
    this.#ws.end(c, r);
  }
}

export function createUwsTransport(uws: UwsModule, opts: TransportOptions): Transport {
  const { handlers } = opts;
  const sockets = new Set<UwsSocket>();
  let listenSocket: UwsListenSocket | null = null;
  let accepting = true;
  let closing: Promise<void> | null = null;

  const fail = (where: string, err: unknown, socket?: UwsSocket): void => {
    if (socket) socket.close(CloseCode.INTERNAL, INTERNAL_REASON);
    reportError(opts.onError, where, err);
  };

  const refuse = (res: UwsHttpResponse, status: number, reason: string, retryAfterS?: number): void => {
    res.writeStatus(statusLine(status)).writeHeader('Content-Type', 'text/plain');
    if (retryAfterS !== undefined) res.writeHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfterS))));
    res.end(`${asciiLine(reason, 200)}\n`, true);
  };

  const app = uws.App();

  app.ws<UserData>(opts.path, {
    compression: uws.DISABLED, // permessage-deflate is declined
    maxPayloadLength: opts.maxPayloadBytes * UWS_PAYLOAD_HEADROOM,
    idleTimeout: uwsIdleTimeout(opts.idleTimeoutSeconds),
    sendPingsAutomatically: true,
    maxBackpressure: 0, // enforced in send(); see the top of this file
    closeOnBackpressureLimit: false,
    maxLifetime: 0,

    upgrade: (res, req, context) => {
      // req lives only during this callback: read every header now (the gate is synchronous).
      const origin = req.getHeader('origin');
      const key = req.getHeader('sec-websocket-key');
      const protocols = req.getHeader('sec-websocket-protocol');
      if (!accepting) { refuse(res, 503, 'not accepting connections'); return; }
      let verdict;
      try {
        verdict = opts.gate({ origin: origin === '' ? undefined : origin });
      } catch (e) {
        refuse(res, 500, 'internal error');
        reportError(opts.onError, 'gate', e);
        return;
      }
      if (!verdict.ok) { refuse(res, verdict.status, verdict.reason, verdict.retryAfterS); return; }
      // Like ws's default handleProtocols: the first offered subprotocol, if any.
      const protocol = protocols.split(',')[0]?.trim() ?? '';
      // Extensions '' : no permessage-deflate (compression is DISABLED as well).
      res.upgrade<UserData>({ socket: null }, key, protocol, '', context);
    },

    open: (ws) => {
      const socket = new UwsSocket(ws, opts.maxBackpressureBytes, opts.sendBudget ?? null);
      ws.getUserData().socket = socket;
      sockets.add(socket);
      try { handlers.open(socket); } catch (e) { fail('open', e, socket); }
    },

    message: (ws, message, isBinary) => {
      const socket = ws.getUserData().socket;
      if (!socket || socket.closed) return;
      if (!isBinary) { socket.close(CloseCode.UNSUPPORTED_DATA, 'binary frames only'); return; }
      if (message.byteLength > opts.maxPayloadBytes) { socket.close(CloseCode.TOO_LARGE, 'frame too large'); return; }
      // uWS neuters `message` when this callback returns: hand over an owned copy.
      const data = new Uint8Array(message.slice(0));
      try { handlers.message(socket, data); } catch (e) { fail('message', e, socket); }
    },

    drain: (ws) => {
      const socket = ws.getUserData().socket;
      if (!socket || socket.closed) return;
      socket.drained();
      if (!handlers.drain) return;
      try { handlers.drain(socket); } catch (e) { fail('drain', e, socket); }
    },

    close: (ws, code, message) => {
      const socket = ws.getUserData().socket;
      if (!socket || socket.closed) return;
      socket.closed = true;
      socket.released();
      sockets.delete(socket);
      const reason = Buffer.from(message).toString('utf8');
      const reported = code === 1006 ? (FORCED_CLOSE_CODES[reason] ?? code) : code;
      try { handlers.close(socket, reported, reason); } catch (e) { fail('close', e); }
    },
  });

  app.any('/*', (res, req) => {
    const method = req.getMethod().toUpperCase();
    const path = pathOf(req.getUrl());
    const isUpgrade = req.getHeader('upgrade') !== '';
    let aborted = false;
    res.onAborted(() => { aborted = true; });
    if (path === opts.path) { refuse(res, 426, 'websocket upgrade required'); return; }
    if (isUpgrade) { refuse(res, 404, 'not found'); return; }

    const write = (status: number, headers: Record<string, string> | undefined, body: string): void => {
      if (aborted) return;
      // Outside the route callback uWS is not corked: one cork = one write syscall.
      res.cork(() => {
        res.writeStatus(statusLine(status));
        if (headers) for (const k of Object.keys(headers)) res.writeHeader(k, headers[k]);
        res.end(body);
      });
    };
    const failed = (e: unknown): void => {
      write(500, { 'Content-Type': 'text/plain' }, 'internal error\n');
      reportError(opts.onError, 'http', e);
    };
    try {
      const r = opts.http(method, path);
      if (r instanceof Promise) r.then((v) => write(v.status, v.headers, v.body), failed);
      else write(r.status, r.headers, r.body);
    } catch (e) {
      failed(e);
    }
  });

  const stopAccepting = async (): Promise<void> => {
    accepting = false;
    if (listenSocket) {
      uws.us_listen_socket_close(listenSocket);
      listenSocket = null;
    }
  };

  return {
    kind: 'uws',
    listen: () => new Promise<number>((resolve, reject) => {
      if (closing || !accepting) { reject(new Error('transport is closed')); return; }
      // uSockets binds with SO_REUSEPORT unless told otherwise: a second gateway (or
      // anything else with that option) on a port in use would then start "fine" and the
      // kernel would split new connections between the two. Exclusive, a port in use is
      // an error, as it is on the ws transport (EADDRINUSE).
      const bind = (port: number): Promise<UwsListenSocket | false> => new Promise((done) => {
        app.listen(opts.host, port, LISTEN_EXCLUSIVE_PORT, done);
      });
      const inUse = (port: number): Error => new Error(`could not listen on ${opts.host}:${port} (uWebSockets.js): address in use or not available`);
      const take = (ls: UwsListenSocket): void => {
        if (closing || !accepting) { uws.us_listen_socket_close(ls); reject(new Error('transport is closed')); return; }
        listenSocket = ls;
        resolve(uws.us_socket_local_port(ls));
      };
      if (opts.port !== 0) {
        void bind(opts.port).then((ls) => { if (ls) take(ls); else reject(inUse(opts.port)); });
        return;
      }
      // Port 0: uSockets sets SO_REUSEADDR only on a port other than 0, so a listener it
      // bound to 0 leaves TIME_WAIT entries no later bind can share, and a gateway
      // restarted on that port failed "address in use" for a minute. A free port is asked
      // of the kernel through node:net instead and given to uSockets (which then sets
      // SO_REUSEADDR); another process may take it in between, so a few tries.
      void (async () => {
        let last: Error = inUse(0);
        for (let attempt = 0; attempt < 8; attempt++) {
          let port: number;
          try {
            port = await freePort(opts.host);
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
            return;
          }
          const ls = await bind(port);
          if (ls) { take(ls); return; }
          last = inUse(port);
        }
        reject(last);
      })();
    }),
    stopAccepting,
    close: (code, reason) => {
      closing ??= (async () => {
        await stopAccepting();
        for (const s of [...sockets]) s.close(code, reason);
      })();
      return closing;
    },
  };
}
