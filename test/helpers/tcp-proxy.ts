// A TCP proxy in front of a nats-server, so that one client's connection alone can be
// cut (test/faults/nats-blip.test.ts, test/faults/nats-kick-blip.test.ts,
// test/faults/nats-erase-blip.test.ts), or made to lose its subscriptions' interest at the
// server while it stays connected (test/oprf/reply-interest.test.ts).
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * What a NATS client sends, passed on whole commands at a time, knowing the sids of its
 * subscriptions to subjects under a prefix. `lose(prefix)` sends the server an UNSUB of
 * each (at a command boundary) and drops every later SUB under it: the server forgets
 * the interest while the client believes itself subscribed, as a cluster that lost a
 * route's interest would behave for that client.
 */
class NatsClientFilter extends Transform {
  #buf: Buffer = Buffer.alloc(0);
  /** Payload bytes (with their CRLF) still to pass on. */
  #payload = 0;
  readonly #subs = new Map<string, string>();
  #lost: string | null = null;
  #inject = false;
  /** holdFrom: the subject prefix whose first publish stops everything from then on. */
  #holdFrom: string | null = null;
  #holding = false;
  #onHold: (() => void) | null = null;
  /** dropNext: the subject prefix whose next publish is dropped; dropping its payload. */
  #dropNext: string | null = null;
  #dropping = false;

  /** The next PUB/HPUB to a subject under `prefix` is dropped (never reaches the
   *  server); what comes before and after passes. */
  dropNext(prefix: string): void {
    this.#dropNext = prefix;
  }

  /** From the first PUB/HPUB to a subject under `prefix` on, nothing more is passed on
   *  (that publish included); `onHold` is called then. null: no such hold (one already
   *  holding stays held). */
  holdFrom(prefix: string | null, onHold: (() => void) | null): void {
    this.#holdFrom = prefix;
    this.#onHold = onHold;
  }

  lose(prefix: string): void {
    this.#lost = prefix;
    this.#inject = true;
    if (this.#payload === 0) this.#flushInject();
  }

  #flushInject(): void {
    if (!this.#inject || this.#lost === null) return;
    this.#inject = false;
    for (const [sid, subject] of this.#subs) {
      if (subject.startsWith(this.#lost)) {
        this.push(Buffer.from(`UNSUB ${sid}\r\n`));
        this.#subs.delete(sid);
      }
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.#holding) {
      cb();
      return;
    }
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      if (this.#payload > 0) {
        const n = Math.min(this.#payload, this.#buf.length);
        if (n === 0) break;
        if (!this.#dropping) this.push(this.#buf.subarray(0, n));
        this.#buf = this.#buf.subarray(n);
        this.#payload -= n;
        if (this.#payload > 0) break;
        this.#dropping = false;
        this.#flushInject();
        continue;
      }
      const end = this.#buf.indexOf('\r\n');
      if (end < 0) break;
      const line = this.#buf.subarray(0, end + 2);
      this.#buf = this.#buf.subarray(end + 2);
      const [op = '', ...args] = line.toString('latin1').trim().split(/\s+/);
      const verb = op.toUpperCase();
      if (this.#holdFrom !== null && (verb === 'PUB' || verb === 'HPUB') && args[0]?.startsWith(this.#holdFrom) === true) {
        this.#holding = true;
        this.#buf = Buffer.alloc(0);
        this.#onHold?.();
        break;
      }
      if (verb === 'PUB' || verb === 'HPUB') this.#payload = Number(args.at(-1)) + 2;
      if (this.#dropNext !== null && (verb === 'PUB' || verb === 'HPUB') && args[0]?.startsWith(this.#dropNext) === true) {
        this.#dropNext = null;
        this.#dropping = true;
        continue;
      }
      if (verb === 'SUB' && args.length >= 2) {
        const subject = args[0]!;
        if (this.#lost !== null && subject.startsWith(this.#lost)) continue;
        this.#subs.set(args.at(-1)!, subject);
      }
      if (verb === 'UNSUB' && args.length === 1) this.#subs.delete(args[0]!);
      this.push(line);
      if (this.#payload === 0) this.#flushInject();
    }
    cb();
  }
}

/** A TCP proxy to `port` on loopback: `cut` drops its connections and stops listening
 *  (the client's reconnect attempts are refused), `open` listens again on the same port.
 *  `hold` stops passing on, on the connections open now, what the server sends
 *  ('replies': the client's requests still reach the server, their answers stay here)
 *  or what the client sends ('requests': nothing more reaches the server); a `cut`
 *  then drops it, as a connection lost at that moment would. `loseInterest(prefix)`: on
 *  the connections open now, the server is told to unsubscribe every subscription to a
 *  subject under `prefix` (a NATS client's reply inbox: '_INBOX.') and never hears of
 *  one again, while the client stays connected and knows nothing of it; connections
 *  opened later are left alone. `holdFrom(prefix, onHold)`: on the connections open now
 *  and those opened later, from the first publish (a request) to a subject under
 *  `prefix` on, nothing more the client sends reaches the server, and `onHold` is
 *  called; `holdFrom(null)` makes no more such holds (those holding stay held until a
 *  `cut`). `dropNext(prefix)`: on the connections open now, the next publish to a subject
 *  under `prefix` is dropped, the rest passed on (a request lost on its way). */
export async function tcpProxy(port: number): Promise<{ url: string; cut(): Promise<void>; open(): Promise<void>; hold(what: 'replies' | 'requests'): void; loseInterest(prefix: string): void; holdFrom(prefix: string | null, onHold?: () => void): void; dropNext(prefix: string): void }> {
  const sockets = new Set<Socket>();
  const pairs = new Set<{ client: Socket; upstream: Socket; filter: NatsClientFilter }>();
  let holdFrom: [string | null, (() => void) | null] = [null, null];
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    const filter = new NatsClientFilter();
    filter.holdFrom(...holdFrom);
    const pair = { client, upstream, filter };
    pairs.add(pair);
    client.on('close', () => pairs.delete(pair));
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(filter).pipe(upstream);
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
      for (const { client, upstream, filter } of pairs) {
        const [from, to] = what === 'replies' ? [upstream, client] : [client, filter];
        from.unpipe(to);
        from.pause();
      }
    },
    loseInterest: (prefix) => {
      for (const { filter } of pairs) filter.lose(prefix);
    },
    dropNext: (prefix) => {
      for (const { filter } of pairs) filter.dropNext(prefix);
    },
    holdFrom: (prefix, onHold) => {
      holdFrom = [prefix, onHold ?? null];
      for (const { filter } of pairs) filter.holdFrom(...holdFrom);
    },
  };
}
