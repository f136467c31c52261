// A raw protocol client for gateway tests: speaks frames directly (no SDK), so tests
// can send anything, including garbage, and see every op and the close code.
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, type DecodedOp as Op, type OpProps } from '../../relay/wire.ts';

export interface RawClient {
  ws: WebSocket;
  ops: Op[];
  /** Every binary frame received, as it came (for checks that bytes never reach a client). */
  frames: Buffer[];
  /** Resolves with the first (past or future) op matching pred. */
  next(pred: (op: Op) => boolean, timeoutMs?: number): Promise<Op>;
  reply(req: number, timeoutMs?: number): Promise<Op>;
  send(ops: OpProps[]): void;
  sendRaw(data: Uint8Array | string, binary?: boolean): void;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function connectRaw(url: string, opts: WebSocket.ClientOptions = {}): Promise<RawClient> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...opts });
  const ops: Op[] = [];
  const frames: Buffer[] = [];
  const waiters: { pred: (op: Op) => boolean; resolve: (op: Op) => void }[] = [];
  ws.binaryType = 'nodebuffer';
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return;
    frames.push(data);
    for (const op of decodeFrame(new Uint8Array(data))) {
      ops.push(op);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(op)) { waiters[i]!.resolve(op); waiters.splice(i, 1); }
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  // A deadline against a hang, not a timing check: on a 2-core CI machine running
  // several suites at once a first register (the engines and the OPRF evaluator start on
  // first use) took over 10 s (test/gateway/ed25519-engine.test.ts, twice), so 30 s.
  const next = (pred: (op: Op) => boolean, timeoutMs = 30_000) => {
    const found = ops.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise<Op>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for op')), timeoutMs);
      waiters.push({ pred, resolve: (op) => { clearTimeout(timer); resolve(op); } });
    });
  };
  return {
    ws, ops, frames, next, closed,
    reply: (req, timeoutMs) => next((op) => op.req === req, timeoutMs),
    send: (o) => ws.send(encodeFrame(o)),
    sendRaw: (d, binary = true) => ws.send(d, { binary }),
    close: () => ws.close(),
  };
}
