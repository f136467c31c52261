// A TCP proxy in front of a nats-server, so that one client's connection alone can be
// cut (test/faults/nats-blip.test.ts, test/faults/nats-kick-blip.test.ts).
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A TCP proxy to `port` on loopback: `cut` drops its connections and stops listening
 *  (the client's reconnect attempts are refused), `open` listens again on the same port. */
export async function tcpProxy(port: number): Promise<{ url: string; cut(): Promise<void>; open(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
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
  };
}
