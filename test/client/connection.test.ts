import t from 'tap';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Connection, describeSocketError, urlForMessage, type StateChange, type ConnectionOptions, MAX_OPS_PER_FRAME } from '../../client/connection.ts';
import { HushwireError, ErrorCode, CloseCode } from '../../relay/errors.ts';
import WS from 'ws';
import { startFakeGateway, deadUrl, until, sleep, authOk, type FakeGateway, type FakeGatewayOptions } from './fake-gateway.ts';
import { within } from '../helpers/poll.ts';

const FAST = { baseMs: 5, capMs: 40 };

function authHook(): ConnectionOptions['authenticate'] {
  return async (ctx) => {
    await ctx.request({ auth: { route: new Uint8Array(32), device: new Uint8Array(16), signature: ctx.challenge.nonce } });
  };
}

function connection(gws: FakeGateway[] | string[], extra: Partial<ConnectionOptions> = {}): { conn: Connection; states: StateChange[] } {
  const states: StateChange[] = [];
  const urls = gws.map((g) => (typeof g === 'string' ? g : g.url));
  const conn = new Connection({
    urls,
    authenticate: authHook(),
    backoff: FAST,
    random: () => 0, // start on the first URL; zero backoff delays
    onState: (c) => states.push(c),
    ...extra,
  });
  return { conn, states };
}

/** Catches at once (no unhandled rejection while the test waits); rejects() checks it later. */
function held<T>(p: Promise<T>): { promise: Promise<T> } {
  const outcome = p.then((v) => ({ v }), (e: unknown) => ({ e }));
  return {
    get promise() {
      return outcome.then((o) => ('e' in o ? Promise.reject(o.e) : o.v));
    },
  };
}

async function rejects(p: Promise<unknown>, code: string): Promise<HushwireError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HushwireError && e.code === code) return e;
    throw new Error(`expected ${code}, got ${e instanceof HushwireError ? e.code : String(e)}`);
  }
  throw new Error(`expected ${code}, but it resolved`);
}

/** A fake gateway (`opts`) and a Connection to it (`extra`), both closed at the test's
 *  end: where most tests here start. */
async function oneGateway(t: { teardown(fn: () => unknown): void }, opts: FakeGatewayOptions = {}, extra: Partial<ConnectionOptions> = {}): Promise<{ gw: FakeGateway; conn: Connection; states: StateChange[] }> {
  const gw = await startFakeGateway(opts);
  t.teardown(() => gw.close());
  const { conn, states } = connection([gw], extra);
  t.teardown(() => conn.close());
  return { gw, conn, states };
}

/** A fake gateway's handler that answers every request ok (the auth as authOk does). */
const answersOk: NonNullable<FakeGatewayOptions['handler']> = (c, op) => {
  if (op.auth) return authOk(c, op);
  c.send([{ req: op.req, ok: {} }]);
};

t.test('connects through connecting -> authenticating -> connected, signing the live challenge', async (t) => {
  const { gw, conn, states } = await oneGateway(t);
  t.equal(conn.state, 'disconnected');
  await conn.connect();
  t.equal(conn.state, 'connected');
  t.same(states.map((s) => s.to), ['connecting', 'authenticating', 'connected']);
  const c = await gw.waitConn(1);
  const auth = c.ops.find((o) => o.auth);
  t.ok(auth, 'auth op sent');
  t.ok(auth!.req! > 0, 'auth carries a req id');
  t.same(Buffer.from(auth!.auth!.signature!), Buffer.from(c.nonce), 'auth was built from this socket\'s challenge');
  t.same(Buffer.from(conn.challenge!.nonce), Buffer.from(c.nonce));
});

t.test('correlates answers by req, even out of order', async (t) => {
  const held: { conn: Parameters<NonNullable<Parameters<typeof startFakeGateway>[0]>['handler'] & {}>[0]; req: number }[] = [];
  const { conn } = await oneGateway(t, {
    handler: (c, op) => {
      if (op.auth) return authOk(c, op);
      if (op.lookup) held.push({ conn: c, req: op.req! });
      if (held.length === 2) {
        // Answer the second request first.
        for (const h of held.reverse()) h.conn.send([{ req: h.req, devices: { route: new Uint8Array(32).fill(h.req) } }]);
      }
    },
  });
  await conn.connect();
  const [a, b] = await Promise.all([conn.request({ lookup: { route: new Uint8Array(32) } }), conn.request({ lookup: { route: new Uint8Array(32) } })]);
  t.not(a.req, b.req);
  t.equal(a.devices!.route![0], a.req, 'first answer matches its req');
  t.equal(b.devices!.route![0], b.req, 'second answer matches its req');
});

t.test('error ops become HushwireError with code and retry hint', async (t) => {
  const { conn } = await oneGateway(t, {
    handler: (c, op) => {
      if (op.auth) return authOk(c, op);
      c.send([{ req: op.req, error: { code: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 1234 } }]);
    },
  });
  await conn.connect();
  const e = await rejects(conn.request({ evaluate: { blinded: [] } }), ErrorCode.RATE_LIMITED);
  t.equal(e.retryAfterMs, 1234);
  t.equal(e.message, 'slow down');
});

t.test('a request without an answer fails with TIMEOUT at its deadline; a late answer is ignored', async (t) => {
  let lateReq = 0;
  let lateConn: Parameters<typeof authOk>[0] | null = null;
  const gw = await startFakeGateway({
    handler: (c, op) => {
      if (op.auth) return authOk(c, op);
      lateReq = op.req!;
      lateConn = c;
    },
  });
  t.teardown(() => gw.close());
  // The connection's own deadline is ten minutes: a request that ignored its 150 ms one
  // would not fail within the test's wait (a bound against a hang, not a timing).
  const { conn } = connection([gw], { requestTimeoutMs: 600_000 });
  t.teardown(() => conn.close());
  await conn.connect();
  // Not before its deadline: a 100 ms timer set in the same turn fires first (timers of
  // one turn fire in the order of their expiry, however loaded the machine).
  const order: string[] = [];
  setTimeout(() => order.push('100 ms'), 100);
  const timedOut = rejects(conn.request({ lookup: { route: new Uint8Array(32) } }, 150), ErrorCode.TIMEOUT).then(() => order.push('TIMEOUT'));
  await within(timedOut, 30_000, 'the request with a 150 ms deadline');
  t.same(order, ['100 ms', 'TIMEOUT'], 'it failed at its own deadline, not before');
  t.equal(conn.pendingCount, 0, 'timed-out request forgotten');
  lateConn!.send([{ req: lateReq, ok: {} }]);
  await sleep(50);
  t.equal(conn.state, 'connected', 'late answer did no harm');
});

t.test('the deadline counts time spent waiting for a connection', async (t) => {
  const { conn } = connection([await deadUrl()], { connectAttempts: Infinity });
  t.teardown(() => conn.close());
  void conn.connect().catch(() => {});
  await rejects(conn.request({ lookup: { route: new Uint8Array(32) } }, 100), ErrorCode.TIMEOUT);
});

t.test('the pending queue is bounded', async (t) => {
  const { conn } = await oneGateway(t, { handler: (c, op) => { if (op.auth) authOk(c, op); } }, { maxPending: 2 });
  await conn.connect();
  const a = conn.request({ lookup: {} }, 5_000).catch((e: unknown) => e);
  const b = conn.request({ lookup: {} }, 5_000).catch((e: unknown) => e);
  await rejects(conn.request({ lookup: {} }), ErrorCode.RATE_LIMITED);
  await conn.close();
  t.ok((await a) instanceof HushwireError);
  t.ok((await b) instanceof HushwireError);
});

t.test('requests made before connecting are sent once connected', async (t) => {
  const { gw, conn } = await oneGateway(t, { handler: answersOk });
  const p = conn.request({ lookup: { route: new Uint8Array(32) } });
  await conn.connect();
  t.ok((await p).ok, 'answered');
  const c = await gw.waitConn(1);
  t.ok(c.ops.findIndex((o) => o.auth) < c.ops.findIndex((o) => o.lookup), 'auth went first');
});

t.test('acks of one event-loop turn leave in one op of one frame', async (t) => {
  const { gw, conn } = await oneGateway(t);
  await conn.connect();
  const c = await gw.waitConn(1);
  const before = c.frameSizes.length;
  for (let i = 0; i < 100; i++) conn.ack([new Uint8Array(16).fill(i)]);
  await until(() => c.ops.some((o) => o.deliverAck), 2_000, 'ack');
  await sleep(30);
  const acks = c.ops.filter((o) => o.deliverAck);
  t.equal(acks.length, 1, 'one deliver_ack op');
  t.equal(acks[0].deliverAck!.ids!.length, 100, 'with all 100 ids');
  t.equal(c.frameSizes.length - before, 1, 'in one frame');
  t.equal(acks[0].req ?? 0, 0, 'acks are unsolicited (req 0)');
});

t.test('many requests in one turn are framed within the per-frame op bound', async (t) => {
  const { gw, conn } = await oneGateway(t, { handler: answersOk });
  await conn.connect();
  const n = 300;
  await Promise.all(Array.from({ length: n }, () => conn.request({ lookup: {} })));
  const c = await gw.waitConn(1);
  t.ok(Math.max(...c.frameSizes) <= MAX_OPS_PER_FRAME, 'no frame over the bound');
  t.ok(c.frameSizes.length <= 1 + Math.ceil(n / MAX_OPS_PER_FRAME) + 1, `batched (${c.frameSizes.length} frames)`);
});

t.test('reconnect op + 4005 moves to the next gateway and re-authenticates', async (t) => {
  const a = await startFakeGateway();
  const b = await startFakeGateway();
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  const { conn, states } = connection([a, b]);
  t.teardown(() => conn.close());
  await conn.connect();
  const ca = await a.waitConn(1);
  ca.send([{ reconnect: { retryAfterMs: 20, reason: 'draining' } }]);
  ca.close(CloseCode.DRAINING, 'draining');
  const cb = await b.waitConn(1);
  await until(() => conn.state === 'connected' && cb.ops.some((o) => o.auth), 5_000, 'auth on b');
  t.equal(a.conns.length, 1, 'did not come back to the draining gateway');
  const gone = states.find((s) => s.to === 'disconnected');
  t.equal(gone?.code, CloseCode.DRAINING);
  t.ok((gone?.delayMs ?? 99) <= 20, 'delay within the retry hint');
});

t.test('a gateway that vanishes (1006) is replaced by the next one', async (t) => {
  const a = await startFakeGateway();
  const b = await startFakeGateway();
  t.teardown(() => b.close());
  const { conn } = connection([a, b]);
  t.teardown(() => conn.close());
  await conn.connect();
  const ca = await a.waitConn(1);
  ca.ws.terminate();
  await a.close();
  await b.waitConn(1);
  await until(() => conn.state === 'connected', 5_000, 'reconnected');
  t.pass('connected to b');
});

t.test('other closes retry the same gateway with backoff', async (t) => {
  const a = await startFakeGateway();
  const b = await startFakeGateway();
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  const { conn } = connection([a, b]);
  t.teardown(() => conn.close());
  await conn.connect();
  (await a.waitConn(1)).close(CloseCode.IDLE_TIMEOUT, 'idle');
  await a.waitConn(2);
  await until(() => conn.state === 'connected', 5_000, 'reconnected');
  t.equal(b.conns.length, 0, 'stayed on a');
});

for (const [code, errCode] of [
  [CloseCode.AUTH_FAILED, ErrorCode.AUTH_FAILED],
  [CloseCode.UNREGISTERED, ErrorCode.NOT_REGISTERED],
  [CloseCode.CONNECTED_ELSEWHERE, ErrorCode.UNAVAILABLE],
] as const) {
  t.test(`close ${code} is terminal`, async (t) => {
    const gw = await startFakeGateway();
    t.teardown(() => gw.close());
    const { conn, states } = connection([gw]);
    await conn.connect();
    const pending = held(conn.request({ lookup: {} }, 5_000));
    (await gw.waitConn(1)).close(code, 'bye');
    await until(() => conn.state === 'closed', 3_000, 'closed');
    await rejects(pending.promise, ErrorCode.UNAVAILABLE);
    t.equal(conn.error?.code, errCode);
    t.equal(states.at(-1)?.to, 'closed');
    await rejects(conn.connect(), errCode);
    await rejects(conn.request({ lookup: {} }), errCode);
    await sleep(150);
    t.equal(gw.conns.length, 1, 'no reconnect attempt');
  });
}

t.test('an error answer to auth ends the connection (no retry storm)', async (t) => {
  const gw = await startFakeGateway({
    handler: (c, op) => {
      if (op.auth) c.send([{ req: op.req, error: { code: 'AUTH_FAILED', message: 'authentication failed' } }]);
    },
  });
  t.teardown(() => gw.close());
  const { conn } = connection([gw]);
  await rejects(conn.connect(), ErrorCode.AUTH_FAILED);
  t.equal(conn.state, 'closed');
  await sleep(100);
  t.equal(gw.conns.length, 1);
});

t.test('connect() gives up after connectAttempts with UNAVAILABLE', async (t) => {
  const urls = [await deadUrl(), await deadUrl()];
  const { conn, states } = connection(urls, { connectAttempts: 3 });
  t.teardown(() => conn.close());
  const queued = conn.request({ lookup: {} }, 10_000);
  const e = await rejects(conn.connect(), ErrorCode.UNAVAILABLE);
  t.equal(e.message, `no gateway reachable (tried ${urls[0]} and ${urls[1]}; last attempt: connection refused)`, 'names the gateways tried');
  await rejects(queued, ErrorCode.UNAVAILABLE);
  t.equal(states.filter((s) => s.to === 'connecting').length, 3);
  t.equal(conn.state, 'disconnected', 'idle, not closed: a later connect() may try again');
});

t.test('the give-up message names the gateways tried, without userinfo, query or fragment, and counts the rest', async (t) => {
  const dead = await deadUrl(); // ws://127.0.0.1:<port>/ws
  const secret = (i: number) => dead.replace('ws://', `ws://user${i}:pass${i}@`).replace('/ws', `/ws${i}`) + `?token=tok${i}#frag${i}`;
  const urls = [1, 2, 3, 4, 5].map(secret);
  const { conn } = connection(urls, { connectAttempts: 5 });
  t.teardown(() => conn.close());
  const e = await rejects(conn.connect(), ErrorCode.UNAVAILABLE);
  const shown = (i: number) => dead.replace('/ws', `/ws${i}`);
  // (ws refuses a URL with a fragment before connecting: the last attempt's reason is that.)
  t.ok(e.message.startsWith(`no gateway reachable (tried ${shown(1)}, ${shown(2)}, ${shown(3)} and 2 more; last attempt: `), e.message);
  t.notMatch(e.message, /user|pass|tok|frag|@|\?|#/, 'no userinfo, query or fragment');
  t.equal(urlForMessage('wss://gw.example:8443/ws'), 'wss://gw.example:8443/ws');
  t.equal(urlForMessage('wss://a:b@c@gw.example/?x=1#y'), 'wss://gw.example/');
  t.equal(urlForMessage('not a url'), '(a gateway URL)');
  // A password with an unescaped '/', '?' or '#' splits the authority there: the part
  // before it reads as host and port, the rest as path, query or fragment. Nothing of
  // it is shown (React Native's form check lets such a URL through; URL would refuse it).
  for (const u of ['ws://us3r:p4ss/w0rd@gw.example/ws', 'wss://us3r:p4ss?w0rd@gw.example/ws', 'wss://us3r:p4ss#w0rd@gw.example:8443/', 'ws://us3r:p4ss/w@rd@gw.example/']) {
    t.equal(urlForMessage(u), '(a gateway URL)', u);
  }
  t.equal(urlForMessage('wss://us3r:p4ss@gw.example/ws@1?x=@'), 'wss://gw.example/ws@1', 'userinfo given whole: the rest as before');
});

t.test('no challenge within connectTimeoutMs counts as a failed attempt', async (t) => {
  const mute = await startFakeGateway({ challenge: false });
  t.teardown(() => mute.close());
  const { conn } = connection([mute], { connectTimeoutMs: 100, connectAttempts: 2 });
  t.teardown(() => conn.close());
  // The gateway never answers: the attempts end by their own 100 ms deadlines, before
  // the test's wait of 5 s, the default connectTimeoutMs. Its timer, set in this turn,
  // fires before any attempt's timer with the default (set later, when a socket opens),
  // since timers fire by expiry: an ignored connectTimeoutMs fails here, however loaded
  // the machine. Not a timing.
  const e = await rejects(within(conn.connect(), 5_000, 'connect() to a gateway that sends no challenge'), ErrorCode.UNAVAILABLE);
  t.match(e.message, /last attempt: no challenge in time/);
  t.equal(mute.conns.length, 2);
});

t.test('no auth answer within the challenge deadline drops the socket and retries', async (t) => {
  const { gw, conn } = await oneGateway(t, { handler: () => {}, authDeadlineMs: 100 }, { connectAttempts: 2 });
  await rejects(conn.connect(), ErrorCode.UNAVAILABLE);
  t.equal(gw.conns.length, 2);
});

t.test('a request in flight when the socket drops fails with UNAVAILABLE (caller may retry)', async (t) => {
  const { gw, conn } = await oneGateway(t, { handler: (c, op) => { if (op.auth) authOk(c, op); } });
  await conn.connect();
  const p = conn.request({ lookup: {} }, 5_000);
  const c = await gw.waitConn(1);
  await until(() => c.ops.some((o) => o.lookup), 2_000, 'lookup sent');
  c.close(CloseCode.IDLE_TIMEOUT, 'idle');
  const e = await rejects(p, ErrorCode.UNAVAILABLE);
  // It said only "connection lost": a register against a gateway whose NATS was down ended
  // so after 10 s (the gateway's auth deadline, 4001), with nothing to tell why. The close
  // code and reason are now in it.
  t.match(e.message, /^connection lost \(close 4007 idle\)$/);
});

t.test('a text frame from the gateway drops the socket and reconnects', async (t) => {
  const { gw, conn } = await oneGateway(t);
  await conn.connect();
  (await gw.waitConn(1)).ws.send('hello');
  await gw.waitConn(2);
  await until(() => conn.state === 'connected', 3_000, 'reconnected');
  t.pass();
});

t.test('unsolicited ops reach onOp in order', async (t) => {
  const gw = await startFakeGateway();
  t.teardown(() => gw.close());
  const seen: number[] = [];
  const { conn } = connection([gw], { onOp: (op) => { if (op.deliver) seen.push(op.deliver.envelopes![0].version!); } });
  t.teardown(() => conn.close());
  await conn.connect();
  const c = await gw.waitConn(1);
  c.send([{ deliver: { envelopes: [{ version: 1 }] } }, { deliver: { envelopes: [{ version: 2 }] } }]);
  c.send([{ deliver: { envelopes: [{ version: 3 }] } }]);
  await until(() => seen.length === 3, 2_000, 'deliveries');
  t.same(seen, [1, 2, 3]);
});

t.test('close() is idempotent, flushes queued acks and rejects what is pending', async (t) => {
  const gw = await startFakeGateway({ handler: (c, op) => { if (op.auth) authOk(c, op); } });
  t.teardown(() => gw.close());
  const { conn, states } = connection([gw]);
  await conn.connect();
  const p = held(conn.request({ lookup: {} }, 5_000));
  conn.ack([new Uint8Array(16).fill(9)]);
  const c1 = conn.close();
  const c2 = conn.close();
  t.equal(c1, c2, 'same promise');
  await c1;
  await rejects(p.promise, ErrorCode.UNAVAILABLE);
  t.equal(conn.state, 'closed');
  t.equal(states.filter((s) => s.to === 'closed').length, 1, 'one closed transition');
  const c = await gw.waitConn(1);
  const { code } = await c.closed;
  t.equal(code, 1000);
  t.ok(c.ops.some((o) => o.deliverAck), 'ack flushed before the close');
  await rejects(conn.request({ lookup: {} }), ErrorCode.UNAVAILABLE);
});

t.test('close() while reconnecting stops the loop', async (t) => {
  const { conn } = connection([await deadUrl()], { connectAttempts: Infinity });
  const p = conn.connect();
  await sleep(50);
  await conn.close();
  await rejects(p, ErrorCode.UNAVAILABLE);
  t.equal(conn.state, 'closed');
});

t.test('a silent gateway is detected by the idle check', async (t) => {
  const a = await startFakeGateway();
  const b = await startFakeGateway();
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  const { conn, states } = connection([a, b], { pingIntervalMs: 50, idleTimeoutMs: 200 });
  t.teardown(() => conn.close());
  await conn.connect();
  const ca = await a.waitConn(1);
  // Stop answering pings: a half-dead TCP peer.
  (ca.ws as unknown as { _receiver: { removeAllListeners: (e: string) => void } })._receiver.removeAllListeners('ping');
  ca.ws.pause();
  await b.waitConn(1, 3_000);
  await until(() => conn.state === 'connected', 3_000, 'moved on');
  t.equal(ca.ops.filter((o) => o.ping).length, 0, 'ws pings: no ping op on the Node path');
  const gone = states.find((s) => s.to === 'disconnected');
  t.same([gone?.code, gone?.reason], [1006, 'idle'], 'the state change says why the client dropped it');
});

t.test('the standard WebSocket API against a gateway older than the ping op: one UNKNOWN_OP ends the ping ops on that socket', async (t) => {
  // `ws` through the WHATWG seam (transport cannot ping): the portable path, on a real
  // socket. The gateway answers ping like one from before Op.ping (UNKNOWN_OP, which it
  // counts as a bad op) and otherwise sends a notice now and then.
  const { gw, conn, states } = await oneGateway(t, {
    handler: (conn, op) => {
      authOk(conn, op);
      if (op.ping) conn.send([{ req: op.req, error: { code: ErrorCode.UNKNOWN_OP, message: 'unknown or server-only op' } }]);
    },
  }, { WebSocket: WS as unknown as ConnectionOptions['WebSocket'], pingIntervalMs: 50, idleTimeoutMs: 400 });
  await conn.connect();
  const c = await gw.waitConn(1);
  await until(() => c.ops.some((o) => o.ping), 3_000, 'the first ping op');
  const talk = setInterval(() => c.send([{ notice: { kind: 'x', atMs: 1 } }]), 150);
  t.teardown(() => clearInterval(talk));
  await sleep(2_000); // five idle timeouts, with gaps of three checks between frames
  clearInterval(talk);
  t.equal(c.ops.filter((o) => o.ping).length, 1, 'one ping op, then none on that socket');
  t.equal(conn.state, 'connected', 'frames keep it alive');
  t.equal(gw.conns.length, 1, 'never reconnected');
  t.notOk(states.some((s) => s.to === 'disconnected'));
});

t.test('with 4003 not terminal, the device is taken back after the yield pause', async (t) => {
  const gw = await startFakeGateway();
  t.teardown(() => gw.close());
  // Beside the state changes, a mark 100 ms after the 4003's: set in the same turn as the
  // reconnect's timer, it comes first if and only if the reconnect waits longer (timers
  // of one turn fire in the order of their expiry, however loaded the machine). With
  // random 0 the backoff alone would reconnect at once.
  const events: string[] = [];
  const { conn, states } = connection([gw], {
    terminalCloseCodes: [CloseCode.AUTH_FAILED, CloseCode.UNREGISTERED], yieldMs: 150,
    onState: (c) => {
      states.push(c);
      events.push(c.to);
      if (c.code === CloseCode.CONNECTED_ELSEWHERE) setTimeout(() => events.push('100 ms later'), 100);
    },
  });
  t.teardown(() => conn.close());
  await conn.connect();
  (await gw.waitConn(1)).close(CloseCode.CONNECTED_ELSEWHERE, 'connected elsewhere');
  await gw.waitConn(2);
  await until(() => conn.state === 'connected', 3_000, 'reconnected');
  t.same(events, ['connecting', 'authenticating', 'connected', 'disconnected', '100 ms later', 'connecting', 'authenticating', 'connected'], 'waited before reconnecting');
  t.ok((states.find((s) => s.code === CloseCode.CONNECTED_ELSEWHERE)?.delayMs ?? 0) >= 150);
});

t.test('a URL that answers the upgrade with an HTTP error says which (a wrong path is 404)', async (t) => {
  for (const [status, expect] of [[404, /HTTP 404 at the WebSocket upgrade \(wrong path\? gateways serve \/ws\)/], [503, /HTTP 503: the gateway is full, draining or not ready/], [418, /HTTP 418 at the WebSocket upgrade/]] as const) {
    const srv = createServer((_req, res) => { res.writeHead(status).end(); });
    srv.on('upgrade', (_req, socket) => { socket.end(`HTTP/1.1 ${status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`); });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const { port } = srv.address() as AddressInfo;
    const { conn } = connection([`ws://127.0.0.1:${port}/nope`], { connectAttempts: 1 });
    const e = await rejects(conn.connect(), ErrorCode.UNAVAILABLE);
    t.match(e.message, expect, String(status));
    await conn.close();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

t.test('describeSocketError: short reasons, nothing but the failure', async (t) => {
  const errno = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.1:9`), { code });
  t.equal(describeSocketError(errno('ECONNREFUSED')), 'connection refused');
  t.equal(describeSocketError(errno('ENOTFOUND')), 'host not found');
  t.equal(describeSocketError(errno('ECONNRESET')), 'connection reset');
  t.equal(describeSocketError(errno('EHOSTUNREACH')), 'EHOSTUNREACH');
  t.equal(describeSocketError(new Error('Opening handshake has timed out')), 'WebSocket handshake timed out');
  t.equal(describeSocketError(new Error('something else entirely')), 'socket error');
});

t.test('connect(timeoutMs): a first connect ends by its attempts and says why; a wait through reconnects ends at the deadline and leaves no waiter', async (t) => {
  const { conn } = connection([await deadUrl()], { connectAttempts: 2 });
  t.teardown(() => conn.close());
  const e = await rejects(conn.connect(1), ErrorCode.UNAVAILABLE);
  t.match(e.message, /^no gateway reachable \(tried ws:\/\/127\.0\.0\.1:\d+\/ws; last attempt: connection refused\)$/, 'not "not connected in time": the attempts decide, with the reason');

  const gw = await startFakeGateway({ handler: authOk });
  const { conn: c2 } = connection([gw], { connectAttempts: Infinity, backoff: { baseMs: 200, capMs: 200 }, random: () => 1 });
  t.teardown(() => c2.close());
  await c2.connect();
  await gw.close();
  await until(() => c2.state !== 'connected', 5_000, 'the client to notice');
  for (let i = 0; i < 3; i++) await rejects(c2.connect(20), ErrorCode.UNAVAILABLE);
  t.equal((c2 as unknown as { connectWaiters: unknown[] }).connectWaiters.length, 0, 'timed-out waiters are removed, not kept until the next connection');
  // Once it has tried the gateway again, the deadline's message names it, as the give-up does.
  await until(() => c2.state === 'connecting' || c2.state === 'disconnected', 5_000, 'a reconnect attempt');
  await sleep(250);
  const late = await rejects(c2.connect(20), ErrorCode.UNAVAILABLE);
  t.match(late.message, new RegExp(`^not connected: no gateway answered in time \\(still reconnecting; tried ${gw.url.replace(/[.]/g, '\\.')}(; last attempt: .*)?\\)$`), 'the waits through reconnects name the gateways tried');
});

t.test('a wss:// URL for a server without TLS: the reason is said, not the "socket error" of our own drop', async (t) => {
  // A plain HTTP server (what a gateway without TLS is to a TLS client): it answers the
  // ClientHello with an HTTP 400, or waits; either way the give-up names what failed.
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  srv.on('connection', (s) => { t.teardown(() => s.destroy()); });
  const { port } = srv.address() as AddressInfo;
  const { conn } = connection([`wss://127.0.0.1:${port}/ws`], { connectAttempts: 1, connectTimeoutMs: 2000 });
  t.teardown(() => conn.close());
  const e = await rejects(conn.connect(), ErrorCode.UNAVAILABLE);
  t.notMatch(e.message, /socket error/, e.message);
  t.match(e.message, /last attempt: (TLS handshake failed \(a wss:\/\/ URL for a gateway without TLS\?\)|no challenge in time)\)$/);
  // A server that never answers the TLS ClientHello: our own deadline drops the socket
  // (terminate, before it opened), and ws's error for that must not replace the reason.
  const silent = createNetServer((s) => { t.teardown(() => s.destroy()); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => silent.close(() => r())));
  const { conn: c2 } = connection([`wss://127.0.0.1:${(silent.address() as AddressInfo).port}/ws`], { connectTimeoutMs: 200, connectAttempts: 1 });
  t.teardown(() => c2.close());
  t.match((await rejects(c2.connect(), ErrorCode.UNAVAILABLE)).message, /last attempt: no challenge in time\)$/);
  t.equal(describeSocketError(Object.assign(new Error('Client network socket disconnected before secure TLS connection was established'), { code: 'ECONNRESET' })), 'TLS handshake failed (a wss:// URL for a gateway without TLS?)');
  t.equal(describeSocketError(Object.assign(new Error('write EPROTO C0:ssl3_get_record:wrong version number'), { code: 'EPROTO' })), 'TLS handshake failed (a wss:// URL for a gateway without TLS?)');
});
