// A bare uWebSockets.js relay: the calibration row of the bench, not a product anyone
// would pick. Issue 5 describes its reference machine by what such a relay did there
// ("a bare uWS relay with no NATS delivered about 74k messages/s at 10 CPU-us per
// message"); running the same kind of relay here says how this machine compares, so the
// other numbers can be read against the issue's.
//
// No NATS, no storage, no acknowledgement, no authentication: a client connects to
// /?id=<name>&groups=<g1,g2>, is subscribed to its name and groups (uWS's built-in
// topics), and each binary message [1 byte n][n bytes topic][payload] is published to
// that topic as [payload]. Runs as its own process so the bench reads its CPU and RSS.
//   node --import tsx bench/peers/uws-relay.ts --port 0
import { loadUws } from '../../gateway/transport/select.ts';

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_GROUPS = 16;
/** Per subscriber: uWS drops a publish to a subscriber whose backpressure is over this,
 *  so it is far above what a bench window can queue (a drop would count as lost). */
const MAX_BACKPRESSURE = 64 * 1024 * 1024;

interface Res { getQuery(key: string): string | undefined; upgrade(ud: object, key: string, proto: string, ext: string, ctx: unknown): void }
interface Req { getQuery(key: string): string | undefined; getHeader(h: string): string }
interface Ws { getUserData(): { topics: string[] }; subscribe(topic: string): boolean }
interface App {
  ws(pattern: string, behavior: object): App;
  listen(host: string, port: number, cb: (token: unknown) => void): App;
  publish(topic: string, message: ArrayBuffer | Uint8Array, binary: boolean): boolean;
}

const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 0;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('uws-relay: --port must be 0..65535\n');
  process.exit(2);
}

const loaded = loadUws();
if (!loaded.ok) {
  process.stderr.write(`uws-relay: no uWebSockets.js build loads here: ${loaded.notes.join('; ')}\n`);
  process.exit(3);
}
const uws = loaded.uws as unknown as { App(): App; us_socket_local_port(t: unknown): number; us_listen_socket_close(t: unknown): void };

let listenToken: unknown = null;
const app = uws.App().ws('/*', {
  maxPayloadLength: 64 * 1024,
  idleTimeout: 0,
  maxBackpressure: MAX_BACKPRESSURE,
  upgrade: (res: Res, req: Req, ctx: unknown) => {
    const id = req.getQuery('id') ?? '';
    const groups = (req.getQuery('groups') ?? '').split(',').filter((g) => g !== '').slice(0, MAX_GROUPS);
    if (!NAME_RE.test(id) || !groups.every((g) => NAME_RE.test(g))) {
      (res as unknown as { writeStatus(s: string): { end(): void } }).writeStatus('400 Bad Request').end();
      return;
    }
    res.upgrade({ topics: [id, ...groups] }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'), ctx);
  },
  open: (ws: Ws) => {
    for (const t of ws.getUserData().topics) ws.subscribe(t);
  },
  message: (_ws: Ws, data: ArrayBuffer, isBinary: boolean) => {
    // `data` is only valid inside this callback: publish synchronously.
    if (!isBinary || data.byteLength < 2) return;
    const bytes = new Uint8Array(data);
    const n = bytes[0]!;
    if (n === 0 || 1 + n > bytes.length) return;
    const topic = Buffer.from(bytes.buffer, 1, n).toString('latin1');
    if (!NAME_RE.test(topic)) return;
    app.publish(topic, bytes.subarray(1 + n), true);
  },
}).listen('127.0.0.1', port, (token) => {
  if (!token) {
    process.stderr.write(`uws-relay: cannot listen on 127.0.0.1:${port}\n`);
    process.exit(1);
  }
  listenToken = token;
  process.stdout.write(`uws-relay listening on ws://127.0.0.1:${uws.us_socket_local_port(token)}\n`);
});

let closing = false;
const stop = (): void => {
  if (closing) return;
  closing = true;
  if (listenToken !== null) uws.us_listen_socket_close(listenToken);
  // Open sockets keep the loop alive; the bench has closed its clients by now.
  setTimeout(() => process.exit(0), 200);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
