// A TCP proxy on a NATS cluster route (between two nats-servers), which can drop the
// messages the route carries on chosen subjects, in both directions, while the route
// stays up: what a route that broke and came back loses (core NATS keeps nothing of what
// was published meanwhile), without the cluster losing its JetStream quorum or its
// clients (test/privacy/optout-route-loss.test.ts). nats-server 2.9's route protocol:
// `RMSG <account> <subject> [reply] <size>` and `HMSG <account> <subject> [reply]
// <header size> <total size>`, each followed by its payload and CRLF; everything else is
// one line (split into frames by nats-frames.ts).
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { NatsFrameSplitter } from './nats-frames.ts';

class RouteFilter extends Transform {
  readonly #frames = new NatsFrameSplitter();
  readonly #drop: (subject: string) => boolean;
  dropped = 0;
  /** Subjects of the messages dropped, with how many each. */
  readonly droppedOn = new Map<string, number>();

  constructor(drop: (subject: string) => boolean) {
    super();
    this.#drop = drop;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    for (const frame of this.#frames.push(chunk)) {
      if (frame.op === 'RMSG' || frame.op === 'HMSG') {
        const subject = frame.args[1] ?? '';
        if (this.#drop(subject)) {
          this.dropped++;
          this.droppedOn.set(subject, (this.droppedOn.get(subject) ?? 0) + 1);
          continue;
        }
      }
      this.push(frame.raw);
    }
    cb();
  }
}

/** A proxy to the route port `port` on loopback (give its `url` as the other server's
 *  route). `drop(prefixes)`: from now on, messages on subjects starting with one of
 *  `prefixes` are dropped both ways; `pass()`: passed again. `dropped()`: how many were.
 *  `droppedEachWay(subject)`: a connection through the proxy dropped a message on
 *  `subject` in each of its two directions (a beat of the gateways on both sides lost).
 *  `cut()`: the route really breaks: every connection through the proxy is closed and
 *  new ones are closed as soon as they are accepted (the servers see their route fail
 *  and retry) until `heal()`. `connections()`: connections open through it now. */
export async function routeProxy(port: number): Promise<{ url: string; port: number; drop(prefixes: string[]): void; pass(): void; dropped(): number; droppedEachWay(subject: string): boolean; cut(): void; heal(): void; connections(): number; close(): Promise<void> }> {
  let prefixes: string[] = [];
  let cut = false;
  const pairs = new Set<Socket>();
  const match = (subject: string): boolean => prefixes.some((p) => subject.startsWith(p));
  const filters = new Set<RouteFilter>();
  /** Each connection's two filters: toward the upstream server, and back. */
  const ways = new Set<[RouteFilter, RouteFilter]>();
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (cut) {
      client.on('error', () => undefined);
      client.destroy();
      return;
    }
    pairs.add(client);
    client.on('close', () => pairs.delete(client));
    const upstream = connect(port, '127.0.0.1');
    const out = new RouteFilter(match);
    const back = new RouteFilter(match);
    filters.add(out);
    filters.add(back);
    ways.add([out, back]);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(out).pipe(upstream);
    upstream.pipe(back).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const own = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  return {
    url: `nats-route://127.0.0.1:${own}`,
    port: own,
    cut: () => {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    heal: () => { cut = false; },
    connections: () => pairs.size,
    drop: (p) => { prefixes = [...p]; },
    pass: () => { prefixes = []; },
    dropped: () => [...filters].reduce((n, f) => n + f.dropped, 0),
    droppedEachWay: (subject) => [...ways].some(([out, back]) => out.droppedOn.has(subject) && back.droppedOn.has(subject)),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}
