// A TCP proxy in front of a nats-server, so that one client's connection alone can be
// cut (test/faults/nats-blip.test.ts, test/faults/nats-kick-blip.test.ts,
// test/faults/nats-erase-blip.test.ts), or made to lose its subscriptions' interest at the
// server while it stays connected (test/oprf/reply-interest.test.ts).
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { NatsFrameSplitter } from './nats-frames.ts';

/**
 * What a NATS client sends, passed on a whole frame at a time (nats-frames.ts), knowing
 * the sids of its subscriptions to subjects under a prefix. `lose(prefix)` sends the
 * server an UNSUB of each (between two frames) and drops every later SUB under it: the
 * server forgets the interest while the client believes itself subscribed, as a cluster
 * that lost a route's interest would behave for that client.
 */
class NatsClientFilter extends Transform {
  readonly #frames = new NatsFrameSplitter();
  readonly #subs = new Map<string, string>();
  #lost: string | null = null;
  /** holdFrom: the subject prefix whose first publish stops everything from then on. */
  #holdFrom: string | null = null;
  #holding = false;
  #onHold: (() => void) | null = null;
  /** dropNext: the subject prefix whose next publish is dropped. */
  #dropNext: string | null = null;

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

  /** What was passed on so far ends with a whole frame: the UNSUBs go out at once. */
  lose(prefix: string): void {
    this.#lost = prefix;
    for (const [sid, subject] of this.#subs) {
      if (subject.startsWith(prefix)) {
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
    for (const { raw, op, args } of this.#frames.push(chunk)) {
      const publish = op === 'PUB' || op === 'HPUB';
      if (publish && this.#holdFrom !== null && args[0]?.startsWith(this.#holdFrom) === true) {
        this.#holding = true;
        this.#onHold?.();
        break;
      }
      if (publish && this.#dropNext !== null && args[0]?.startsWith(this.#dropNext) === true) {
        this.#dropNext = null;
        continue;
      }
      if (op === 'SUB' && args.length >= 2) {
        const subject = args[0]!;
        if (this.#lost !== null && subject.startsWith(this.#lost)) continue;
        this.#subs.set(args.at(-1)!, subject);
      }
      if (op === 'UNSUB' && args.length === 1) this.#subs.delete(args[0]!);
      this.push(raw);
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
