// NatsBus reads mailboxes through short-lived server-side pull consumers ("readers"),
// one kept per device for the drain's next page. Every way a drain can stop must
// delete its reader, not leave it on nats-server until its 60 s inactivity threshold
// (each costs the server on every store to the stream): a drain left unfinished (the
// device disconnected, a read failed), the NATS connection lost mid-drain (the server
// kept running), a reader create whose answer never came (a timeout), and the bus
// closing with a create or a pull under way. Real nats-server; where the connection
// must drop or an answer must be lost, the bus connects through a small TCP proxy in
// this file. Every wait below is far shorter than the server's threshold, so only the
// bus can have removed a reader.
import t, { type Test } from 'tap';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { NatsBus } from '../../relay/bus/nats.ts';
import { CONTRACT_LIMITS, tok } from './contract.ts';
import { haveNatsServer, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import { until } from '../helpers/poll.ts';

/** Waits for a reader's removal: far below the server's 60 s inactivity threshold. */
const GONE_WITHIN_MS = 15_000;
const LIMITS = { ...CONTRACT_LIMITS, maxMessagesPerDevice: 100 };

/**
 * A TCP proxy to nats-server that can cut every connection (the server keeps running)
 * and drop the server's answers to reader creates (MSG/HMSG frames whose payload is a
 * consumer create response) or to pulls (messages on a consumer's ack subject and the
 * pull's status replies would need parsing; creates are enough here).
 */
class Proxy {
  readonly server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  dropCreateAnswers = false;
  dropped = 0;
  constructor(target: number) {
    this.server = createServer((client) => {
      const upstream = tcpConnect(target, '127.0.0.1');
      const pair: [Socket, Socket] = [client, upstream];
      this.#pairs.add(pair);
      const end = (): void => {
        this.#pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.pipe(upstream);
      let buf = Buffer.alloc(0);
      upstream.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const eol = buf.indexOf('\r\n');
          if (eol < 0) break;
          const line = buf.subarray(0, eol).toString('latin1');
          let len = eol + 2;
          if (line.startsWith('MSG ') || line.startsWith('HMSG ')) {
            const size = Number(line.slice(line.lastIndexOf(' ') + 1));
            if (buf.length < eol + 2 + size + 2) break; // the payload is not all here yet
            len = eol + 2 + size + 2;
            const payload = buf.subarray(eol + 2, eol + 2 + size).toString('latin1');
            if (this.dropCreateAnswers && payload.includes('consumer_create_response')) {
              this.dropped++;
              buf = buf.subarray(len);
              continue;
            }
          }
          client.write(buf.subarray(0, len));
          buf = buf.subarray(len);
        }
      });
    });
  }
  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as { port: number }).port)));
  }
  /** Cuts every connection through the proxy; new ones are still accepted. */
  cut(): void {
    for (const [a, b] of this.#pairs) {
      a.destroy();
      b.destroy();
    }
    this.#pairs.clear();
  }
  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface Setup {
  server: NatsServerHandle;
  /** The bus's log lines so far. */
  lines: string[];
  bus: NatsBus;
  proxy: Proxy;
  readers: () => Promise<number>;
  stream: string;
}

async function setup(t: Test, opts: { readerIdleMs?: number; requestTimeoutMs?: number } = {}): Promise<Setup> {
  const server = await startNatsServer({ t });
  const lines: string[] = [];
  const proxy = new Proxy(server.port);
  const port = await proxy.listen();
  t.teardown(() => proxy.close());
  const bus = new NatsBus({
    servers: `nats://127.0.0.1:${port}`, limits: LIMITS, prefix: 'rdr', mailboxShards: 1, name: 'hushwire-test',
    requestTimeoutMs: opts.requestTimeoutMs ?? 2000, reconnectWaitMs: 100, log: (_level, msg) => { lines.push(msg); },
    ...(opts.readerIdleMs === undefined ? {} : { readerIdleMs: opts.readerIdleMs }),
  });
  t.teardown(() => bus.close());
  await bus.start();
  // Another connection, straight to the server, looks at the stream's consumers.
  const nc: NatsConnection = await connect({ servers: server.url });
  t.teardown(() => nc.close());
  const jsm: JetStreamManager = await jetstreamManager(nc);
  const stream = bus.streamNames[0] as string;
  const readers = async (): Promise<number> => (await jsm.consumers.list(stream).next()).length;
  return { server, lines, bus, proxy, readers, stream };
}

async function mailboxOf(bus: NatsBus, n: number): Promise<[string, string]> {
  const [r, d] = [tok(), tok()];
  for (let i = 0; i < n; i++) await bus.mailboxPut(r, d, tok(), new Uint8Array([i]));
  return [r, d];
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  t.test('a drain left unfinished: its reader is deleted once it can no longer be reused', async (t) => {
    const { bus, readers } = await setup(t, { readerIdleMs: 200 });
    const [r, d] = await mailboxOf(bus, 10);
    t.equal((await bus.mailboxRead(r, d, 0, 3)).length, 3, 'a first page read');
    t.equal(await readers(), 1, 'its reader is kept for the next page');
    // The device went away: nobody reads the next page.
    await until('the reader to be deleted', async () => (await readers()) === 0, GONE_WITHIN_MS);
    t.pass('deleted by the bus, long before the server\'s inactivity threshold');
    t.equal((await bus.mailboxRead(r, d, 0, 20)).length, 10, 'a later drain reads the mailbox from the start');
  });

  t.test('the NATS connection lost mid-drain: the reader is deleted after the reconnect', async (t) => {
    const { bus, proxy, readers, lines } = await setup(t); // readers idle 20 s: not the sweep's doing
    const [r, d] = await mailboxOf(bus, 10);
    t.equal((await bus.mailboxRead(r, d, 0, 3)).length, 3, 'a first page read');
    t.equal(await readers(), 1, 'its reader is on the server');
    proxy.cut(); // the server keeps running, and the reader with it
    await until('the bus to lose NATS and reconnect', () => lines.some((l) => l.startsWith('bus: NATS reconnected')), 20_000);
    t.ok(lines.some((l) => l.startsWith('bus: NATS connection lost')), 'the connection was lost');
    await until('the reader to be deleted', async () => (await readers()) === 0, GONE_WITHIN_MS);
    t.pass('deleted after the reconnect');
    t.equal((await bus.mailboxRead(r, d, 0, 20)).length, 10, 'the drain starts again from the start');
  });

  t.test('a reader create whose answer never came: the reader is deleted by its name', async (t) => {
    const { bus, proxy, readers } = await setup(t, { requestTimeoutMs: 1000 });
    const [r, d] = await mailboxOf(bus, 10);
    proxy.dropCreateAnswers = true;
    await t.rejects(bus.mailboxRead(r, d, 0, 3), { code: 'UNAVAILABLE' }, 'the read fails at its deadline');
    t.equal(proxy.dropped, 1, 'the server answered the create (the answer was lost on the way)');
    await until('the reader to be deleted', async () => (await readers()) === 0, GONE_WITHIN_MS);
    t.pass('the reader the server made was deleted');
    proxy.dropCreateAnswers = false;
    t.equal((await bus.mailboxRead(r, d, 0, 20)).length, 10, 'the next read works');
  });

  t.test('closing with a reader create unanswered: close deletes it', async (t) => {
    const { bus, proxy, readers } = await setup(t, { requestTimeoutMs: 20_000 });
    const [r, d] = await mailboxOf(bus, 10);
    proxy.dropCreateAnswers = true;
    const read = bus.mailboxRead(r, d, 0, 3);
    read.catch(() => undefined);
    await until('the server to have made the reader', async () => (await readers()) === 1, 10_000);
    await bus.close();
    t.equal(await readers(), 0, 'no reader left once close resolved');
    await t.rejects(read, { code: 'UNAVAILABLE' }, 'the read failed');
  });

  t.test('closing mid-drain: close deletes the reader kept for the next page', async (t) => {
    const { bus, readers } = await setup(t);
    const [r, d] = await mailboxOf(bus, 10);
    t.equal((await bus.mailboxRead(r, d, 0, 3)).length, 3);
    t.equal(await readers(), 1);
    await bus.close();
    t.equal(await readers(), 0, 'no reader left once close resolved');
  });
}
