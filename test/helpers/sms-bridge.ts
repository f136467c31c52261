// A webhook verifier's SMS bridge on loopback (relay/verifier/webhook.ts POSTs
// {"number","code"} to it), a real HTTP server whose behaviour a test switches between
// calls, for the cases a gateway must tell apart (docs/PROTOCOL.md section 2, "Asking
// again: sent or not"):
// - 'ok': reads the request, answers 204, keeps the code (an SMS sent);
// - 'down': nothing listens on the port (connection refused: the request was never
//   written, the code certainly not sent);
// - 'refuse': reads the request, answers 503 (the bridge says it sent nothing);
// - 'fail': reads the request, answers 500 (it may have sent it);
// - 'drop': reads the request, then closes the connection without an answer (it may
//   have sent it).
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { bridgeCodes } from './bridge-codes.ts';

export type BridgeMode = 'ok' | 'down' | 'refuse' | 'fail' | 'drop';

export interface SmsBridge {
  /** The URL to give the gateway (--verifier-url); the same port in every mode. */
  readonly url: string;
  /** Requests the bridge read, in every mode but 'down' (none reach it then). */
  readonly posts: number;
  /** Codes taken in 'ok' mode, in order. */
  readonly codes: readonly string[];
  /** The n-th code taken (0-based), once it is; rejects after `timeoutMs`. */
  code(n: number, timeoutMs?: number): Promise<string>;
  /** Switches the mode ('down' closes the listener, any other opens it again). */
  set(mode: BridgeMode): Promise<void>;
  readonly mode: BridgeMode;
}

/** A bridge in `mode` (default 'ok'), closed at `t`'s teardown. */
export async function startSmsBridge(t: { teardown(fn: () => unknown): void }, mode: BridgeMode = 'ok'): Promise<SmsBridge> {
  const taken = bridgeCodes();
  let current: BridgeMode = mode;
  let posts = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      posts++;
      const m = current;
      if (m === 'drop') {
        req.socket.destroy();
        return;
      }
      if (m !== 'ok') {
        res.writeHead(m === 'refuse' ? 503 : 500).end();
        return;
      }
      const code = (JSON.parse(body) as { code: string }).code;
      res.writeHead(204).end();
      taken.take(code);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  let port = 0;
  const listen = (): Promise<void> => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      port = (server.address() as AddressInfo).port;
      resolve();
    });
  });
  const close = (): Promise<void> => new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  await listen();
  if (mode === 'down') await close();
  t.teardown(close);
  return {
    url: `http://127.0.0.1:${port}/send-code`,
    get posts() { return posts; },
    codes: taken.codes,
    get mode() { return current; },
    async set(m: BridgeMode) {
      if (m === 'down' && current !== 'down') await close();
      if (m !== 'down' && current === 'down') await listen();
      current = m;
    },
    code: taken.code,
  };
}
