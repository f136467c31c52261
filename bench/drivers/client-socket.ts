// The WebSocket client a raw-WebSocket driver (Hushwire, the bare uWS relay) uses, behind
// one small interface so `--ws-client` can pick the bench's lean client (default,
// bench/drivers/lean-ws.ts) or `ws` (what the SDK uses) for the same run.
import WebSocket from 'ws';
import { LeanWebSocket, UpgradeRefused, type LeanWsHandlers } from './lean-ws.ts';

export { UpgradeRefused };

export const WS_CLIENTS = ['lean', 'ws'] as const;
export type WsClientKind = (typeof WS_CLIENTS)[number];

export interface ClientSocket {
  readonly isOpen: boolean;
  /** One binary message; dropped unless open. */
  send(data: Uint8Array): void;
  /** One binary message of `len` bytes, written by `write` at out[at] (the lean client
   *  writes it straight into the WebSocket frame); dropped unless open. */
  sendWith(len: number, write: (out: Buffer, at: number) => void): void;
  /** Gone at once, no close handshake. */
  terminate(): void;
  /** Close handshake (1000), bounded to ~2 s; resolves once closed. */
  close(): Promise<void>;
}

export type ClientSocketHandlers = LeanWsHandlers;

/** Opens a client connection; the handlers hear open, every message, and close once.
 *  `localAddress`: the connection's source address (default: the system's choice).
 *  `readBuffer` (lean client, ws: URLs): reads land in it, shared by the connections given
 *  the same one, and a message is a view into it valid only during `handlers.message`
 *  (LeanWsOptions.readBuffer); a handler that keeps bytes must copy them, whichever the
 *  client (`ws` gives each message a buffer of its own). */
export function openClientSocket(kind: WsClientKind, url: string, handlers: ClientSocketHandlers, localAddress?: string, readBuffer?: Buffer): ClientSocket {
  return kind === 'lean' ? new LeanSocket(url, handlers, localAddress, readBuffer) : new WsSocket(url, handlers, localAddress);
}

class LeanSocket implements ClientSocket {
  readonly #ws: LeanWebSocket;
  constructor(url: string, handlers: ClientSocketHandlers, localAddress?: string, readBuffer?: Buffer) {
    this.#ws = new LeanWebSocket(url, handlers, { ...(localAddress !== undefined ? { localAddress } : {}), ...(readBuffer !== undefined ? { readBuffer } : {}) });
  }
  get isOpen(): boolean {
    return this.#ws.state === 'open';
  }
  send(data: Uint8Array): void {
    this.#ws.send(data);
  }
  sendWith(len: number, write: (out: Buffer, at: number) => void): void {
    this.#ws.sendWith(len, write);
  }
  terminate(): void {
    this.#ws.terminate();
  }
  close(): Promise<void> {
    return this.#ws.close(1000);
  }
}

class WsSocket implements ClientSocket {
  readonly #ws: WebSocket;
  constructor(url: string, handlers: ClientSocketHandlers, localAddress?: string) {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress !== undefined ? { localAddress } : {}) });
    ws.binaryType = 'nodebuffer';
    let error: Error | undefined;
    ws.on('open', () => handlers.open());
    ws.on('message', (data: Buffer) => handlers.message(data));
    ws.on('error', (e: Error) => { error ??= e; });
    // A refused upgrade ends with the same error as on the lean client: its status.
    ws.on('unexpected-response', (_req, res) => {
      error ??= new UpgradeRefused(res.statusCode ?? 0, `handshake refused: status ${res.statusCode ?? 0}`);
      res.resume();
      ws.terminate();
    });
    ws.on('close', (code: number, reason: Buffer) => handlers.close(code, reason.toString(), error));
    this.#ws = ws;
  }
  get isOpen(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }
  send(data: Uint8Array): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(data);
  }
  sendWith(len: number, write: (out: Buffer, at: number) => void): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    const out = Buffer.allocUnsafe(len);
    write(out, 0);
    this.#ws.send(out);
  }
  terminate(): void {
    this.#ws.terminate();
  }
  close(): Promise<void> {
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => { ws.terminate(); resolve(); }, 2000);
      ws.once('close', () => { clearTimeout(timer); resolve(); });
      ws.close(1000);
    });
  }
}
