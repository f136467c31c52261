// The Node transport: `ws`, with what its API adds to the standard one (client/socket.ts):
// pings and pongs (the connection pings and detects a silent, half-open socket), the
// HTTP status of a refused upgrade and errno codes in the failure reason ("HTTP 404 at
// the WebSocket upgrade", "connection refused"), a handshake timeout of its own, no
// permessage-deflate, and terminate() (drop the TCP connection without a closing
// handshake).
import WebSocket from 'ws';
import { describeSocketError, unrefTimer, type Transport } from './socket.ts';

export const wsTransport: Transport = {
  name: 'ws',
  canPing: true,
  open(url, events, { connectTimeoutMs }) {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: connectTimeoutMs });
    ws.binaryType = 'nodebuffer';
    let resolveClosed: () => void = () => {};
    const closed = new Promise<void>((resolve) => { resolveClosed = resolve; });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) events.onFrame(data);
      else events.onUnsupported('text frame');
    });
    ws.on('ping', () => events.onActivity());
    ws.on('pong', () => events.onActivity());
    // 'error' is always followed by 'close'.
    ws.on('error', (e: Error) => events.onError(describeSocketError(e)));
    ws.on('close', (code: number, reason: Buffer) => {
      ws.removeAllListeners('message');
      resolveClosed();
      events.onClose(code, reason.toString());
    });
    return {
      get readyState() {
        return ws.readyState;
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      closed,
      send(data) {
        if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: true });
      },
      close(code, reason) {
        try {
          ws.close(code, reason);
        } catch {
          ws.terminate();
          return;
        }
        // A peer that never answers our close frame must not stall the funnel.
        unrefTimer(setTimeout(() => ws.terminate(), 1000));
      },
      terminate() {
        // 1006 cannot be sent in a close frame; terminate yields it locally.
        ws.terminate();
      },
      ping() {
        try {
          ws.ping();
        } catch { /* closing */ }
      },
    };
  },
};
