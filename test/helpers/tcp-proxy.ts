// A TCP proxy in front of a nats-server, so that one client's connection alone can be
// cut (test/faults/nats-blip.test.ts, test/faults/nats-kick-blip.test.ts,
// test/faults/nats-erase-blip.test.ts).
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A TCP proxy to `port` on loopback: `cut` drops its connections and stops listening
 *  (the client's reconnect attempts are refused), `open` listens again on the same port.
 *  `hold` stops passing on, on the connections open now, what the server sends
 *  ('replies': the client's requests still reach the server, their answers stay here)
 *  or what the client sends ('requests': nothing more reaches the server); a `cut`
 *  then drops it, as a connection lost at that moment would. */
export async function tcpProxy(port: number): Promise<{ url: string; cut(): Promise<void>; open(): Promise<void>; hold(what: 'replies' | 'requests'): void }> {
  const sockets = new Set<Socket>();
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    client.on('close', () => pairs.delete(pair));
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (p: number): Promise<number> => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  const own = await listen(0);
  return {
    url: `nats://127.0.0.1:${own}`,
    cut: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
    open: async () => { await listen(own); },
    hold: (what) => {
      for (const { client, upstream } of pairs) {
        const [from, to] = what === 'replies' ? [upstream, client] : [client, upstream];
        from.unpipe(to);
        from.pause();
      }
    },
  };
}
