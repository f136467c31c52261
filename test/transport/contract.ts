// The one behaviour contract every transport adapter passes (run by uws.test.ts and
// ws.test.ts). Loopback only, port 0, every subtest bounded in time. Where the libraries
// differ on the wire (uWS drops the TCP connection without a close frame on oversize and
// idle) the expected client-side code comes from `expect`; what handlers see is the same.

import type { Test } from 'tap';
import { request } from 'node:http';
import net from 'node:net';
import type { Socket as NetSocket } from 'node:net';
import WebSocket from 'ws';
import type { Socket, Transport, TransportOptions } from '../../gateway/transport/transport.ts';
import { SendBudget, SHED_FLOOR_BYTES } from '../../gateway/transport/send-budget.ts';

export interface ContractExpect {
  /** Close code the client sees for an oversize frame. */
  oversizeClientCode: number;
  /** Close code the client sees when it ignores pings past the idle timeout. */
  idleClientCode: number;
}

type Make = (opts: TransportOptions) => Transport;

interface CloseRecord { code: number; reason: string }

interface Harness {
  transport: Transport;
  /** What the transport was made with. */
  opts: TransportOptions;
  port: number;
  url: string;
  opened: Socket[];
  closes: Map<number, CloseRecord[]>;
  /** Replaceable per test; default echoes. */
  onMessage: (s: Socket, data: Uint8Array) => void;
  onOpen: (s: Socket) => void;
  /** What the transport reported through onError; a test that expects some empties it. */
  errors: { where: string; err: unknown }[];
  /** Resolves when the server has seen `n` closes in total. */
  closedCount(n: number): Promise<void>;
}

const GOOD_ORIGIN = 'https://app.hushwire.example';

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e); });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function start(t: Test, make: Make, over: Partial<TransportOptions> = {}): Promise<Harness> {
  const closes = new Map<number, CloseRecord[]>();
  const waiters: { n: number; resolve: () => void }[] = [];
  let total = 0;
  const h: Harness = {
    transport: undefined as unknown as Transport,
    opts: undefined as unknown as TransportOptions,
    port: 0,
    url: '',
    opened: [],
    closes,
    onMessage: (s, data) => { s.send(data); },
    onOpen: () => {},
    errors: [],
    closedCount: (n) => new Promise<void>((resolve) => {
      if (total >= n) resolve(); else waiters.push({ n, resolve });
    }),
  };
  const opts: TransportOptions = {
    host: '127.0.0.1',
    port: 0,
    path: '/ws',
    maxPayloadBytes: 64 * 1024,
    idleTimeoutSeconds: 60,
    maxBackpressureBytes: 256 * 1024,
    http: async (method, path) => {
      await sleep(1); // exercise the async path (uWS: onAborted + cork)
      if (method === 'GET' && path === '/healthz') return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'ok\n' };
      return { status: 404, body: 'not found\n' };
    },
    gate: ({ origin }) => (origin === undefined || origin === GOOD_ORIGIN
      ? { ok: true }
      : { ok: false, status: 403, reason: 'origin not allowed' }),
    handlers: {
      open: (s) => { h.opened.push(s); h.onOpen(s); },
      message: (s, data) => h.onMessage(s, data),
      close: (s, code, reason) => {
        const list = closes.get(s.id) ?? [];
        list.push({ code, reason });
        closes.set(s.id, list);
        total += 1;
        for (const w of waiters.splice(0)) { if (total >= w.n) w.resolve(); else waiters.push(w); }
      },
    },
    onError: (where, err) => { h.errors.push({ where, err }); },
    ...over,
  };
  h.opts = opts;
  h.transport = make(opts);
  h.port = await h.transport.listen();
  h.url = `ws://127.0.0.1:${h.port}/ws`;
  const list = harnesses.get(t) ?? [];
  list.push(h);
  harnesses.set(t, list);
  t.teardown(() => h.transport.close(1001, 'test over')); // if the test failed half-way
  return h;
}

const harnesses = new WeakMap<Test, Harness[]>();

/** After each test: close the transport; every opened socket got exactly one close call. */
async function finish(t: Test): Promise<void> {
  for (const h of harnesses.get(t) ?? []) {
    await within(h.transport.close(1001, 'test over'), 15_000, 'transport close');
    for (const s of h.opened) {
      t.equal(h.closes.get(s.id)?.length ?? 0, 1, `socket ${s.id}: close handler called exactly once`);
    }
    t.same(h.errors.map((e) => `${e.where}: ${String(e.err)}`), [], 'no unexpected errors reported');
  }
}

interface Client {
  ws: WebSocket;
  messages: Buffer[];
  closed: Promise<CloseRecord>;
  next(): Promise<Buffer>;
}

function client(t: Test, url: string, options: WebSocket.ClientOptions = {}): Promise<Client> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
  const messages: Buffer[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    messages.push(isBinary ? data : Buffer.from(`TEXT:${data.toString()}`));
    wake?.();
  });
  ws.on('error', () => { /* surfaced through 'close' / the open promise */ });
  const closed = new Promise<CloseRecord>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  t.teardown(() => { ws.terminate(); });
  const c: Client = {
    ws,
    messages,
    closed,
    next: async () => {
      while (messages.length === 0) await new Promise<void>((r) => { wake = r; });
      return messages.shift() as Buffer;
    },
  };
  return new Promise<Client>((resolve, reject) => {
    ws.once('open', () => resolve(c));
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode }));
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

async function echoWorks(t: Test, url: string, what: string): Promise<void> {
  const c = await within(client(t, url), 5000, `${what}: connect`);
  c.ws.send(bytes(100, 7));
  t.same(await within(c.next(), 5000, `${what}: echo`), bytes(100, 7), `${what}: echo works`);
  c.ws.close(1000);
}

export function transportContract(t: Test, make: Make, expect: ContractExpect): void {
  const sub = (name: string, ms: number, fn: (t: Test) => Promise<void>): void => {
    t.test(name, { timeout: ms }, async (t) => {
      await fn(t);
      await finish(t);
    });
  };

  sub('binary echo roundtrip, cork keeps order, send after close is "closed"', 10_000, async (t) => {
    const h = await start(t, make);
    h.onMessage = (s, data) => {
      s.cork(() => {
        t.equal(s.send(data), 'ok');
        t.equal(s.send(Uint8Array.of(1, 2, 3)), 'ok');
      });
      t.type(s.bufferedAmount(), 'number');
    };
    const c = await client(t, h.url);
    const payload = Buffer.from([0, 1, 2, 250, 251, 255]);
    c.ws.send(payload);
    t.same(await within(c.next(), 5000, 'echo'), payload, 'echo is byte-identical');
    t.same(await within(c.next(), 5000, 'second'), Buffer.from([1, 2, 3]), 'corked frames arrive in order');
    const s = h.opened[0];
    t.ok(s.id > 0, 'socket has a positive id');
    s.close(4000, 'bye');
    s.close(4001, 'again'); // idempotent
    t.equal(s.closed, true);
    t.equal(s.send(payload), 'closed');
    t.same(await within(c.closed, 5000, 'client close'), { code: 4000, reason: 'bye' });
    t.same(h.closes.get(s.id), [{ code: 4000, reason: 'bye' }], 'handler saw the server-chosen code once');
  });

  // uSockets sets SO_REUSEADDR only when given a port other than 0, so a uWS gateway
  // started with --port 0 left its closed connections' TIME_WAIT entries (60 s) holding
  // that port: a restart on it (--port N) failed "address in use" for a minute, as
  // README's embedded gateway on --port 0 did when restarted. A port taken with 0 is as
  // reusable as one given.
  sub('a port taken with port 0 can be listened on again at once after close', 15_000, async (t) => {
    const h = await start(t, make);
    // Connections the server ends (its side then holds TIME_WAIT), one each way.
    for (const by of ['server', 'client'] as const) {
      const c = await client(t, h.url);
      await within(new Promise<void>((r) => { if (h.opened.length > 0 && !h.opened[h.opened.length - 1]!.closed) r(); else h.onOpen = () => r(); }), 5000, 'open');
      const s = h.opened[h.opened.length - 1]!;
      if (by === 'server') s.close(4000, 'bye'); else c.ws.close(1000, 'bye');
      await within(c.closed, 5000, `closed by the ${by}`);
    }
    await within(h.closedCount(2), 5000, 'both closes seen');
    await within(h.transport.close(1001, 'restart'), 10_000, 'close');
    const again = make({ ...h.opts, port: h.port });
    try {
      t.equal(await again.listen(), h.port, 'listening on the same port again');
    } finally {
      await again.close(1001, 'test over');
    }
  });

  sub('a port in use is an error, not shared (no SO_REUSEPORT)', 10_000, async (t) => {
    const h = await start(t, make);
    // A second gateway started by mistake on a port in use must fail, not split the
    // port's new connections with the first one.
    const second = make({ ...h.opts, port: h.port });
    try {
      await t.rejects(second.listen(), /address in use|EADDRINUSE/);
    } finally {
      await second.close(1001, 'test over');
    }
    // And nothing else can bind on top of a listening transport either.
    const other = net.createServer();
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      other.once('error', resolve);
      other.listen(h.port, '127.0.0.1', () => resolve(null));
    });
    if (!err) await new Promise<void>((r) => other.close(() => r()));
    t.equal(err?.code, 'EADDRINUSE');
    // The first still serves.
    const c = await client(t, h.url);
    c.ws.send(Buffer.from([7]));
    t.same(await within(c.next(), 5000, 'echo'), Buffer.from([7]));
    c.ws.close();
    await h.closedCount(1);
  });

  sub('a throwing handler closes its socket with 1011 and is reported; HTTP answers 500', 10_000, async (t) => {
    const h = await start(t, make, { http: () => { throw new Error('boom'); } });
    h.onMessage = () => { throw new Error('bug'); };
    const c = await client(t, h.url);
    c.ws.send(bytes(3, 1));
    t.equal((await within(c.closed, 5000, 'close')).code, 1011, 'client sees 1011');
    t.equal(h.closes.get(h.opened[0].id)?.[0]?.code, 1011, 'handlers see 1011');
    t.equal((await within(httpGet(h.port, '/healthz'), 5000, 'http')).status, 500, 'HTTP 500');
    t.same(h.errors.map((e) => e.where).sort(), ['http', 'message'], 'both reported');
    h.errors.length = 0;
    h.onMessage = (s, d) => { s.send(d); };
    await echoWorks(t, h.url, 'after the failures');
  });

  sub('ids are unique and increasing', 10_000, async (t) => {
    const h = await start(t, make);
    const a = await client(t, h.url);
    const b = await client(t, h.url);
    await within((async () => { while (h.opened.length < 2) await sleep(5); })(), 5000, 'two opens');
    t.ok(h.opened[1].id > h.opened[0].id, 'second id is larger');
    a.ws.close(1000); b.ws.close(1000);
    await within(h.closedCount(2), 5000, 'closes');
  });

  sub('message data is an owned copy: unchanged after later messages arrive', 10_000, async (t) => {
    const h = await start(t, make);
    const kept: Uint8Array[] = [];
    let release!: () => void;
    const done = new Promise<void>((r) => { release = r; });
    h.onMessage = (s, data) => {
      kept.push(data);
      if (kept.length === 1) {
        void (async () => {
          await sleep(50); // the other messages arrive while we hold the first
          await done;
          s.send(Uint8Array.of(kept.length));
        })();
      }
      if (kept.length === 3) release();
    };
    const c = await client(t, h.url);
    c.ws.send(bytes(4096, 0x11));
    c.ws.send(bytes(4096, 0x22));
    c.ws.send(bytes(4096, 0x33));
    t.same(await within(c.next(), 5000, 'ack'), Buffer.from([3]));
    t.ok(kept[0] instanceof Uint8Array, 'a Uint8Array');
    t.same(Buffer.from(kept[0]), bytes(4096, 0x11), 'first message intact');
    t.same(Buffer.from(kept[1]), bytes(4096, 0x22), 'second message intact');
    t.same(Buffer.from(kept[2]), bytes(4096, 0x33), 'third message intact');
  });

  sub('a text frame closes the socket with 1003', 10_000, async (t) => {
    const h = await start(t, make);
    let got = 0;
    h.onMessage = () => { got += 1; };
    const c = await client(t, h.url);
    c.ws.send('hello');
    t.equal((await within(c.closed, 5000, 'close')).code, 1003);
    await within(h.closedCount(1), 5000, 'server close');
    t.equal(got, 0, 'no message handed to handlers');
    t.equal(h.closes.get(h.opened[0].id)?.[0]?.code, 1003);
  });

  sub('an oversize frame closes the socket; others are still served', 10_000, async (t) => {
    const h = await start(t, make, { maxPayloadBytes: 1024 });
    let got = 0;
    h.onMessage = (s, d) => { got += 1; s.send(d); };
    const c = await client(t, h.url);
    c.ws.send(bytes(1025, 1));
    t.equal((await within(c.closed, 5000, 'close')).code, expect.oversizeClientCode, 'client-side code');
    await within(h.closedCount(1), 5000, 'server close');
    t.equal(h.closes.get(h.opened[0].id)?.[0]?.code, 1009, 'handlers see 1009');
    t.equal(got, 0, 'nothing delivered');
    const d = await client(t, h.url);
    d.ws.send(bytes(1024, 2)); // exactly the limit is fine
    t.same(await within(d.next(), 5000, 'echo at limit'), bytes(1024, 2), 'a second client is served');
  });

  sub('the Origin gate refuses with its status', 10_000, async (t) => {
    const h = await start(t, make);
    const err = await within(client(t, h.url, { origin: 'https://evil.example' }).then(
      () => null, (e: unknown) => e as { status?: number }), 5000, 'refusal');
    t.equal(err?.status, 403, 'client sees 403');
    const ok = await client(t, h.url, { origin: GOOD_ORIGIN });
    t.equal(ok.ws.readyState, WebSocket.OPEN, 'an allowed origin connects');
    t.equal(h.opened.length, 1, 'only the allowed socket opened');
  });

  sub('permessage-deflate offered by the client is not negotiated', 10_000, async (t) => {
    const h = await start(t, make);
    let header: string | string[] | undefined = 'unset';
    const ws = new WebSocket(h.url, { perMessageDeflate: true });
    t.teardown(() => { ws.terminate(); });
    ws.on('upgrade', (res) => { header = res.headers['sec-websocket-extensions']; });
    await within(new Promise<void>((r, j) => { ws.once('open', () => r()); ws.once('error', j); }), 5000, 'open');
    t.equal(header, undefined, 'no Sec-WebSocket-Extensions in the 101');
    t.equal(ws.extensions, '', 'no extension negotiated');
    ws.close(1000);
  });

  sub('HTTP requests on the same port go to the http handler', 10_000, async (t) => {
    const h = await start(t, make);
    t.same(await within(httpGet(h.port, '/healthz'), 5000, 'healthz'), { status: 200, body: 'ok\n' });
    t.same(await within(httpGet(h.port, '/healthz?x=1'), 5000, 'query'), { status: 200, body: 'ok\n' }, 'query string stripped');
    t.equal((await within(httpGet(h.port, '/nope'), 5000, '404')).status, 404);
    t.equal((await within(httpGet(h.port, '/ws'), 5000, 'plain GET on ws path')).status, 426);
  });

  sub('idle timeout closes a client that ignores pings; a ponging one stays', 30_000, async (t) => {
    const h = await start(t, make, { idleTimeoutSeconds: 4 });
    const t0 = Date.now();
    const silent = await client(t, h.url, { autoPong: false });
    const alive = await client(t, h.url);
    let pings = 0;
    silent.ws.on('ping', () => { pings += 1; });
    const closed = await within(silent.closed, 20_000, 'idle close');
    const elapsed = Date.now() - t0;
    t.equal(closed.code, expect.idleClientCode, `client-side code after ${elapsed} ms`);
    t.ok(pings >= 1, 'the server pinged first');
    // The one wall-clock check left (docs/TESTING.md says why): a lower bound, which a
    // loaded machine cannot fail (no timer fires early); uWS times the idle in native
    // code, which a test's timer cannot be ordered against.
    t.ok(elapsed >= 3_000, 'not closed before the timeout');
    const silentId = h.opened[0].id;
    await within(h.closedCount(1), 5000, 'server close');
    t.equal(h.closes.get(silentId)?.[0]?.code, 4007, 'handlers see 4007');
    t.equal(alive.ws.readyState, WebSocket.OPEN, 'the client that answers pings is still open');
    alive.ws.send(bytes(10, 3));
    t.same(await within(alive.next(), 5000, 'echo'), bytes(10, 3));
  });

  sub('a slow consumer is closed with 4004; other clients are unaffected', 30_000, async (t) => {
    const h = await start(t, make, { maxBackpressureBytes: 256 * 1024 });
    const slow = await client(t, h.url, { maxPayload: 0 });
    const raw = (slow.ws as unknown as { _socket: NetSocket })._socket;
    raw.pause(); // stop reading: the kernel buffers fill, then the server's
    const other = await client(t, h.url);
    const target = h.opened[0];
    const frame = new Uint8Array(64 * 1024).fill(9);
    let outcome = 'ok';
    let sent = 0;
    await within((async () => {
      while (outcome === 'ok' && sent < 512 * 1024 * 1024) {
        for (let i = 0; i < 16 && outcome === 'ok'; i++) { outcome = target.send(frame); sent += frame.length; }
        await sleep(1);
      }
    })(), 20_000, 'send until the bound');
    t.equal(outcome, 'dropped', `send says dropped after ${Math.round(sent / 1048576)} MiB`);
    t.equal(target.closed, true);
    t.equal(h.closes.get(target.id)?.[0]?.code, 4004, 'handlers see 4004');
    t.equal(target.send(frame), 'closed');
    other.ws.send(bytes(10, 4));
    t.same(await within(other.next(), 5000, 'other echo'), bytes(10, 4), 'another client is served meanwhile');
    raw.resume(); // the consumer wakes up: it reads what was queued, then the close frame
    t.equal((await within(slow.closed, 10_000, 'slow close')).code, 4004, 'client sees 4004');
  });

  sub('all buffers together over the send budget: the slow consumers are shed, a socket that keeps up is not', 40_000, async (t) => {
    // Each socket's own bound is far away (64 MiB); the budget over all is 1 MiB.
    const budget = new SendBudget(1024 * 1024);
    const h = await start(t, make, { maxBackpressureBytes: 64 * 1024 * 1024, sendBudget: budget });
    const slow = [await client(t, h.url, { maxPayload: 0 }), await client(t, h.url, { maxPayload: 0 })];
    for (const c of slow) (c.ws as unknown as { _socket: NetSocket })._socket.pause();
    const fast = await client(t, h.url);
    await within((async () => { while (h.opened.length < 3) await sleep(5); })(), 5000, 'opens');
    const [s1, s2, f] = h.opened as [Socket, Socket, Socket];
    const frame = new Uint8Array(64 * 1024).fill(7);
    const outcomes = new Map<Socket, string>([[s1, 'ok'], [s2, 'ok']]);
    const atDrop = new Map<Socket, number>();
    let fastSent = 0;
    let fastRefused = 0;
    await within((async () => {
      while ([...outcomes.values()].some((o) => o === 'ok')) {
        for (const s of [s1, s2]) {
          for (let i = 0; i < 8 && outcomes.get(s) === 'ok'; i++) {
            const own = s.bufferedAmount();
            const o = s.send(frame);
            outcomes.set(s, o);
            if (o === 'dropped') atDrop.set(s, own);
          }
        }
        // the socket that reads gets small frames all along, and is never shed
        if (f.send(bytes(100, fastSent % 256)) !== 'ok') fastRefused++;
        fastSent++;
        await sleep(1);
      }
    })(), 30_000, 'send until both are shed');
    for (const s of [s1, s2]) {
      t.equal(outcomes.get(s), 'dropped', `slow socket ${s.id} shed`);
      const own = atDrop.get(s)!;
      t.ok(own < 64 * 1024 * 1024, `... holding ${Math.round(own / 1024)} KiB, far under its own bound`);
      t.ok(own + frame.length > SHED_FLOOR_BYTES, '... and over the shed floor');
      t.equal(h.closes.get(s.id)?.[0]?.code, 4004, '... handlers see 4004');
    }
    t.equal(fastRefused, 0, `every one of ${fastSent} sends to the socket that keeps up went through`);
    t.equal(f.closed, false, 'the socket that keeps up is open');
    t.ok(budget.total < SHED_FLOOR_BYTES, `closed sockets no longer count (total ${budget.total} B)`);
    for (let i = 0; i < 3; i++) fast.ws.send(bytes(10, 200 + i));
    // its echoes, after the small frames it was sent
    let seen = 0;
    await within((async () => { while (seen < fastSent + 3) { await fast.next(); seen++; } })(), 10_000, 'fast reads everything');
    t.pass(`the reading socket got all ${fastSent} frames and its echoes`);
  });

  sub('stopAccepting refuses new connections; open ones keep working', 10_000, async (t) => {
    const h = await start(t, make);
    const a = await client(t, h.url);
    await h.transport.stopAccepting();
    await h.transport.stopAccepting(); // idempotent
    const err = await within(client(t, h.url).then(() => null, (e: unknown) => e as NodeJS.ErrnoException),
      5000, 'refused');
    t.equal(err?.code, 'ECONNREFUSED', 'new connections are refused');
    a.ws.send(bytes(20, 5));
    t.same(await within(a.next(), 5000, 'echo'), bytes(20, 5), 'the open socket still works');
  });

  sub('close() closes every socket with the code, once, and is idempotent', 10_000, async (t) => {
    const h = await start(t, make);
    const a = await client(t, h.url);
    const b = await client(t, h.url);
    await within((async () => { while (h.opened.length < 2) await sleep(5); })(), 5000, 'opens');
    await within(Promise.all([h.transport.close(4005, 'draining'), h.transport.close(4005, 'draining')]), 5000, 'close');
    await within(h.transport.close(1000, 'again'), 5000, 'close again');
    t.same(await within(a.closed, 5000, 'a'), { code: 4005, reason: 'draining' });
    t.same(await within(b.closed, 5000, 'b'), { code: 4005, reason: 'draining' });
    for (const s of h.opened) t.same(h.closes.get(s.id), [{ code: 4005, reason: 'draining' }]);
    const err = await within(client(t, h.url).then(() => null, (e: unknown) => e as NodeJS.ErrnoException), 5000, 'refused');
    t.equal(err?.code, 'ECONNREFUSED', 'not listening any more');
  });

  sub('thousands of headers on an upgrade are refused without a crash', 10_000, async (t) => {
    const h = await start(t, make);
    for (const count of [5000, 200]) {
      const reply = await within(new Promise<string>((resolve) => {
        const sock = net.connect(h.port, '127.0.0.1');
        let got = '';
        let head = 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
          + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
        for (let i = 0; i < count; i++) head += `x-h${i}: ${i}\r\n`;
        sock.on('data', (d) => { got += d.toString('latin1'); });
        sock.on('error', () => { /* a reset is a refusal too */ });
        sock.on('close', () => resolve(got));
        sock.write(`${head}\r\n`);
        setTimeout(() => sock.destroy(), 3000);
      }), 5000, `${count} headers`);
      t.notMatch(reply, /^HTTP\/1\.1 101/, `${count} headers: no upgrade (${JSON.stringify(reply.split('\r\n')[0] ?? '')})`);
    }
    t.equal(h.opened.length, 0, 'no socket opened');
    await echoWorks(t, h.url, 'after the header flood');
  });
}
