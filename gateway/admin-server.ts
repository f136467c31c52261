// The optional admin listener (--admin-listen HOST:PORT): /metrics, /healthz and /readyz
// on an address of their own, typically loopback or a private interface, so the
// Prometheus scrape (load, limits, versions) is not served to the internet on the
// WebSocket port. With it on, the public port keeps /healthz and /readyz (load
// balancers probe them there) and answers /metrics 404. Plain node:http: a handful of
// scrapes a minute need nothing faster.
import { createServer, type Server } from 'node:http';
import type { HttpResponse } from './transport/transport.ts';

export interface AdminServer {
  readonly host: string;
  readonly port: number;
  /** Idempotent; waits until the listener is closed (open scrapes are cut). */
  close(): Promise<void>;
}

/** Parses `HOST:PORT` (`[v6]:PORT` for IPv6); null when it is not one. */
export function parseListen(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? m[2]!, port };
}

export type AdminHandler = (method: string, path: string) => Promise<HttpResponse>;

const ADMIN_PATHS = new Set(['/metrics', '/healthz', '/readyz']);

export async function startAdminServer(host: string, port: number, handler: AdminHandler, onError: (e: unknown) => void): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (!ADMIN_PATHS.has(path)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    handler(req.method ?? 'GET', path).then((r) => {
      res.writeHead(r.status, { 'content-type': 'text/plain', ...r.headers });
      res.end(req.method === 'HEAD' ? undefined : r.body);
    }, (e: unknown) => {
      onError(e);
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
    });
  });
  // A scrape has no business holding a socket open: bounded header and request times.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', onError);
  const addr = server.address();
  const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
  let closing: Promise<void> | null = null;
  return {
    host,
    port: bound,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
