// Gateways that never answer, for the CLI's --timeout and signal tests: a TCP server
// that takes the connection and says nothing (no WebSocket upgrade, no challenge: a hung
// gateway, or a proxy with no backend), and a WebSocket proxy in front of a real gateway
// that lets a client connect and authenticate as usual and then never answers the ops a
// test names (a gateway whose relay hangs on that op). useGateways points a CLI profile
// at one.
import type { Test } from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFrame, encodeFrame, type OpProps } from '../../relay/wire.ts';

/** Rewrites a profile's gateways.json: its commands connect to `urls` from now on. */
export function useGateways(profile: string, urls: string[]): void {
  writeFileSync(join(profile, 'gateways.json'), JSON.stringify({ version: 1, gateways: urls }));
}

export interface SilentGateway {
  /** ws://127.0.0.1:PORT/ws */
  url: string;
  /** The connections taken so far (each left open, unanswered). */
  sockets: Set<Socket>;
}

/** Takes every TCP connection and says nothing: each connect attempt of the SDK waits
 *  its 5 s for the challenge. Closed, its connections destroyed, at the test's end. */
export async function silentGateway(t: { teardown(fn: () => unknown): void }): Promise<SilentGateway> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => { sockets.add(s); s.on('error', () => {}); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close(); });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`, sockets };
}

export interface OpHoldingProxy {
  /** ws://127.0.0.1:PORT/ws */
  url: string;
  /** The ops swallowed so far, by body (e.g. { lookup: 2, unregister: 1 }). */
  held: Record<string, number>;
}

/** Swallows every client op whose body is in `hold` (the decoded op's `body`: 'lookup',
 *  'evaluate', 'setPrekey', 'unregister', ...). Closed at the test's end. */
export async function opHoldingProxy(t: Test, gatewayUrl: string, hold: readonly string[]): Promise<OpHoldingProxy> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws', perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const held: Record<string, number> = {};
  const sockets = new Set<WebSocket>();
  wss.on('connection', (down) => {
    const up = new WebSocket(gatewayUrl, { perMessageDeflate: false });
    sockets.add(down).add(up);
    const early: Buffer[] = [];
    down.on('error', () => undefined);
    up.on('error', () => undefined);
    up.on('open', () => { for (const f of early.splice(0)) up.send(f); });
    up.on('message', (data: Buffer, isBinary: boolean) => { if (down.readyState === WebSocket.OPEN) down.send(data, { binary: isBinary }); });
    down.on('message', (data: Buffer, isBinary: boolean) => {
      let out: Buffer = data;
      if (isBinary) {
        const ops = decodeFrame(new Uint8Array(data));
        const pass = ops.filter((op) => {
          if (op.body === undefined || !hold.includes(op.body)) return true;
          held[op.body] = (held[op.body] ?? 0) + 1;
          return false;
        });
        if (pass.length === 0) return;
        if (pass.length < ops.length) out = Buffer.from(encodeFrame(pass as unknown as OpProps[]));
      }
      if (up.readyState === WebSocket.OPEN) up.send(out, { binary: isBinary });
      else if (up.readyState === WebSocket.CONNECTING) early.push(out);
    });
    up.on('close', () => down.close());
    down.on('close', () => up.close());
  });
  t.teardown(async () => {
    for (const s of sockets) s.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  const { port } = wss.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}/ws`, held };
}
