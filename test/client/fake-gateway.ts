// A scriptable stand-in for a gateway, for unit tests of client/connection.ts: a `ws`
// WebSocketServer on 127.0.0.1:0 that sends a challenge on open, records every op it
// receives (and how they were framed), and answers through a test-supplied handler.
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { wire, encodeFrame, type OpProps } from '../../relay/wire.ts';

export interface FakeConn {
  ws: WebSocket;
  /** Every op received on this socket, in order. */
  ops: OpProps[];
  /** Ops per received frame (to check batching). */
  frameSizes: number[];
  nonce: Uint8Array;
  send(ops: OpProps[]): void;
  close(code: number, reason?: string): void;
  closed: Promise<{ code: number }>;
}

export type Handler = (conn: FakeConn, op: OpProps) => void;

export interface FakeGatewayOptions {
  /** Default: answer auth with ok; leave everything else unanswered. */
  handler?: Handler;
  /** false: never send a challenge. */
  challenge?: boolean;
  authDeadlineMs?: number;
  maxFrameBytes?: number;
  oprfPublicKey?: Uint8Array;
  /** Challenge field 8; absent (default): not told, as by a gateway older than it. */
  mailboxMaxAgeS?: number;
  /** Challenge field 9 (resumption tickets); absent (default): none, as an older gateway. */
  resumeKey?: Uint8Array;
}

export interface FakeGateway {
  url: string;
  conns: FakeConn[];
  /** Resolves with the n-th connection (1-based) once it exists. */
  waitConn(n: number, timeoutMs?: number): Promise<FakeConn>;
  close(): Promise<void>;
}

export const authOk: Handler = (conn, op) => {
  if (op.auth) conn.send([{ req: op.req, ok: {} }]);
};

export async function startFakeGateway(opts: FakeGatewayOptions = {}): Promise<FakeGateway> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as AddressInfo).port;
  const conns: FakeConn[] = [];
  const waiters: (() => void)[] = [];
  const handler = opts.handler ?? authOk;
  const oprfPublicKey = opts.oprfPublicKey ?? new Uint8Array(32).fill(7);

  wss.on('connection', (ws) => {
    let onClosed: (v: { code: number }) => void = () => {};
    const conn: FakeConn = {
      ws,
      ops: [],
      frameSizes: [],
      nonce: new Uint8Array(randomBytes(32)),
      send: (ops) => {
        if (ws.readyState === ws.OPEN) ws.send(encodeFrame(ops), { binary: true });
      },
      close: (code, reason = '') => ws.close(code, reason),
      closed: new Promise((resolve) => { onClosed = resolve; }),
    };
    ws.on('close', (code) => onClosed({ code }));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      const frame = wire.Frame.decode(data);
      conn.frameSizes.push(frame.ops.length);
      for (const op of frame.ops) {
        conn.ops.push(op);
        handler(conn, op);
      }
    });
    conns.push(conn);
    for (const w of waiters.splice(0)) w();
    if (opts.challenge !== false) {
      conn.send([{
        challenge: {
          nonce: conn.nonce,
          serverTimeMs: Date.now(),
          oprfPublicKey,
          maxFrameBytes: opts.maxFrameBytes ?? 262_144,
          authDeadlineMs: opts.authDeadlineMs ?? 5_000,
          protocol: 1,
          ...(opts.mailboxMaxAgeS !== undefined ? { mailboxMaxAgeS: opts.mailboxMaxAgeS } : {}),
          ...(opts.resumeKey !== undefined ? { resumeKey: opts.resumeKey } : {}),
        },
      }]);
    }
  });

  return {
    url: `ws://127.0.0.1:${port}/ws`,
    conns,
    async waitConn(n, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (conns.length < n) {
        if (Date.now() > deadline) throw new Error(`connection ${n} did not arrive`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return conns[n - 1];
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** A URL on which nothing listens (a port bound then released). */
export async function deadUrl(): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as AddressInfo).port;
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  return `ws://127.0.0.1:${port}/ws`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until cond() is true or the deadline passes. */
export async function until(cond: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
