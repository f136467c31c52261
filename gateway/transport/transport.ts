// One small adapter over WebSocket libraries. Core code (relay/) never imports ws or
// uWebSockets.js; it sees only these types. Two implementations: uws.ts (fast path,
// default) and ws.ts (portable fallback); select.ts picks the first that loads.

import type { SendBudget } from './send-budget.ts';

export type TransportKind = 'uws' | 'ws';

/** What send() did with the data. 'closed': the socket is gone; 'dropped': the send
 *  buffer went over maxBackpressureBytes (or, with a send budget, all buffers together
 *  went over it while this one held more than its shed floor), so the socket was closed
 *  as SLOW_CONSUMER. */
export type SendOutcome = 'ok' | 'dropped' | 'closed';

export interface Socket {
  /** Process-unique, increasing. Never derived from the peer. */
  readonly id: number;
  /** Queues one binary message. The transport may keep a reference to `data` until it
   *  is written (ws does, uWS copies): do not modify it after the call. */
  send(data: Uint8Array): SendOutcome;
  /** Runs fn with writes coalesced into as few syscalls as the library allows. */
  cork(fn: () => void): void;
  bufferedAmount(): number;
  /** Closes with a code and a short ASCII reason; idempotent. handlers.close runs
   *  synchronously inside this call. Codes that may not be sent in a close frame become
   *  1011; the reason is cut to 123 printable ASCII characters. */
  close(code: number, reason: string): void;
  readonly closed: boolean;
}

export interface SocketHandlers {
  /** A socket passed the upgrade. */
  open(socket: Socket): void;
  /** A complete binary message. `data` is a copy owned by the callee (safe across awaits). */
  message(socket: Socket, data: Uint8Array): void;
  /** The send buffer drained below the bound after a backpressure period. */
  drain?(socket: Socket): void;
  /** Called exactly once per opened socket. `code` is what the server decided or the peer
   *  sent; where a library drops the TCP connection without a close frame (uWS on an
   *  oversize frame or idle timeout) it is the code the situation stands for (1009, 4007),
   *  not 1006. See docs/ARCHITECTURE.md for what the client observes. */
  close(socket: Socket, code: number, reason: string): void;
}

export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** Plain HTTP on the same port (health, readiness, metrics). */
export type HttpHandler = (method: string, path: string) => HttpResponse | Promise<HttpResponse>;

/** Decides whether an upgrade may proceed; returns a status + reason to refuse. */
export type UpgradeGate = (info: { origin: string | undefined }) => UpgradeVerdict;

/** A refusal may say when to come back: sent as a `Retry-After` header (seconds). */
export type UpgradeVerdict = { ok: true } | { ok: false; status: number; reason: string; retryAfterS?: number };

export interface TransportOptions {
  host: string;
  port: number;                 // 0 = pick a free port
  path: string;                 // WebSocket path, e.g. "/ws"
  maxPayloadBytes: number;      // larger frames close with 1009
  idleTimeoutSeconds: number;   // no traffic (pings are sent) => close 4007 / library idle close;
                                // 0 = off; uWS rounds up to a multiple of 4, at least 8
  maxBackpressureBytes: number; // send buffer bound => close 4004 SLOW_CONSUMER
  /** The bound on all sockets' send buffers together (gateway/transport/send-budget.ts);
   *  none: only each socket's own bound applies. */
  sendBudget?: SendBudget;
  http: HttpHandler;
  gate: UpgradeGate;
  handlers: SocketHandlers;
  /** A handler or the HTTP handler threw (the socket is closed with 1011 / a 500 is sent),
   *  or the server hit an error. Without it the error is rethrown on a microtask. */
  onError?(where: string, err: unknown): void;
}

export interface Transport {
  readonly kind: TransportKind;
  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number>;
  /** Stops accepting new connections (already open sockets stay). Idempotent. */
  stopAccepting(): Promise<void>;
  /** Closes every socket with the code and stops listening. Idempotent. */
  close(code: number, reason: string): Promise<void>;
}
