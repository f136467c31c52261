// A minimal Socket.IO relay, the peer "a developer would write in an afternoon":
// each client joins a room named by its id (and by the groups it belongs to, for
// fanout); `m(to, data, ack)` forwards `data` to every socket in room `to` and then
// acknowledges to the sender (at-most-once: nothing is stored, nothing is retried).
// Runs as its own process so the bench can read its CPU time and RSS.
//   node --import tsx bench/peers/socketio-relay.ts --port 0
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_GROUPS = 16;

const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 0;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('socketio-relay: --port must be 0..65535\n');
  process.exit(2);
}

const http = createServer((_req, res) => { res.writeHead(404).end(); });
const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 1_000_000,
  pingInterval: 25_000,
  pingTimeout: 20_000,
});

io.on('connection', (socket) => {
  const auth = socket.handshake.auth as { id?: unknown; groups?: unknown };
  const groups = Array.isArray(auth.groups) ? auth.groups.slice(0, MAX_GROUPS) : [];
  if (typeof auth.id !== 'string' || !NAME_RE.test(auth.id) || !groups.every((g) => typeof g === 'string' && NAME_RE.test(g))) {
    socket.disconnect(true);
    return;
  }
  void socket.join([auth.id, ...(groups as string[])]);
  socket.on('m', (to: unknown, data: unknown, ack?: unknown) => {
    if (typeof to === 'string' && NAME_RE.test(to) && typeof data === 'string') socket.to(to).emit('m', data);
    if (typeof ack === 'function') (ack as () => void)();
  });
});

http.listen(port, '127.0.0.1', () => {
  process.stdout.write(`socketio-relay listening on http://127.0.0.1:${(http.address() as AddressInfo).port}\n`);
});

let closing = false;
const stop = (): void => {
  if (closing) return;
  closing = true;
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
