// The transport seam (client/socket.ts) as the portable SDK uses it: the connection
// over a WHATWG-style WebSocket constructor, driven here by a scripted fake so that
// every path is reached without a network: wrong types, a constructor that throws, one
// that makes no socket, a socket that never opens (bounded by the connect deadline),
// close codes the standard API refuses, text and non-ArrayBuffer messages, the silent
// socket (no WebSocket pings in the standard API: ping ops and the idle check), backpressure, close() against a peer that
// never answers. This file imports only the portable core: no `ws` default is
// registered in its process.
import t from 'tap';
import { Connection, NO_PING_OP_IDLE_FACTOR, type ConnectionOptions, type StateChange } from '../../client/connection-core.ts';
import { whatwgTransport } from '../../client/socket.ts';
import { HushwireClient, MemoryStore } from '../../client/portable.ts';
import { HushwireError, ErrorCode, CloseCode } from '../../relay/errors.ts';
import { encodeFrame, wire, type OpProps } from '../../relay/wire.ts';
import { sleep, until } from './fake-gateway.ts';

/** Close codes a WHATWG close() accepts; others throw (as in browsers). */
function allowedCode(code: number | undefined): boolean {
  return code === undefined || code === 1000 || (code >= 3000 && code <= 4999);
}

type Mode = 'manual' | 'auto';

/** A scripted WHATWG WebSocket. `auto`: opens and sends a challenge on the next turn. */
class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  static mode: Mode = 'auto';
  /** Whether the "peer" answers a close (onclose on a later turn), as a real one does. */
  static echoClose = true;
  /** How the "gateway" answers a `ping` op (on a later turn): ok, as an older gateway
   *  does (error UNKNOWN_OP), or not at all (a dead network). */
  static pings: 'ok' | 'unknown' | 'silent' = 'silent';
  readonly url: string;
  binaryType = 'blob';
  readyState = 0;
  bufferedAmount = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: OpProps[] = [];
  closeCalls: (number | undefined)[] = [];

  constructor(url: string) {
    this.url = url;
    FakeWebSocket.instances.push(this);
    if (FakeWebSocket.mode === 'auto') setTimeout(() => { this.open(); this.challenge(); }, 0);
  }

  send(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw new TypeError('bytes expected');
    for (const op of wire.Frame.decode(data).ops) {
      this.sent.push(op);
      const req = op.req ?? 0;
      if (op.ping && FakeWebSocket.pings === 'ok') setTimeout(() => this.receive([{ req, ok: {} }]), 0);
      if (op.ping && FakeWebSocket.pings === 'unknown') setTimeout(() => this.receive([{ req, error: { code: ErrorCode.UNKNOWN_OP, message: 'unknown or server-only op' } }]), 0);
    }
  }

  close(code?: number, reason?: string): void {
    if (!allowedCode(code)) throw new Error('InvalidAccessError');
    void reason;
    this.closeCalls.push(code);
    const wasConnecting = this.readyState === 0;
    if (this.readyState < 2) this.readyState = 2;
    if (FakeWebSocket.echoClose) setTimeout(() => this.serverClose(wasConnecting ? 1006 : code ?? 1005), 0);
  }

  // ---- the test's side
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(ops: OpProps[]): void {
    const f = encodeFrame(ops);
    // an ArrayBuffer, as binaryType 'arraybuffer' gives
    this.onmessage?.({ data: f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength) });
  }

  challenge(): void {
    this.receive([{ challenge: { nonce: new Uint8Array(32).fill(1), oprfPublicKey: new Uint8Array(32), maxFrameBytes: 65_536, authDeadlineMs: 5_000, protocol: 1 } }]);
  }

  serverClose(code: number, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

function last(): FakeWebSocket {
  return FakeWebSocket.instances[FakeWebSocket.instances.length - 1]!;
}

function conn(over: Partial<ConnectionOptions> = {}): { c: Connection; states: StateChange[] } {
  const states: StateChange[] = [];
  const c = new Connection({
    urls: ['ws://gw.invalid/ws'],
    WebSocket: FakeWebSocket,
    backoff: { baseMs: 5, capMs: 20 },
    connectTimeoutMs: 200,
    connectAttempts: 3,
    random: () => 0.5,
    onState: (s) => states.push(s),
    ...over,
  });
  return { c, states };
}

async function failure(p: Promise<unknown>): Promise<HushwireError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HushwireError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

t.beforeEach(() => {
  FakeWebSocket.instances = [];
  FakeWebSocket.mode = 'auto';
  FakeWebSocket.echoClose = true;
  FakeWebSocket.pings = 'silent';
});

t.test('no WebSocket option and no ws registered: globalThis.WebSocket, or BAD_REQUEST saying what to pass', async (t) => {
  if (typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function') {
    const c = new Connection({ urls: ['ws://127.0.0.1:9/ws'] });
    t.equal(c.state, 'disconnected', 'this Node has a global WebSocket: it is the default');
    await c.close();
    return;
  }
  t.throws(() => new Connection({ urls: ['ws://127.0.0.1:9/ws'] }), { code: ErrorCode.BAD_REQUEST, message: /pass a WHATWG WebSocket constructor/ });
});

t.test('wrong types are BAD_REQUEST before any network use', async (t) => {
  for (const bad of [42, 'WebSocket', {}, null]) {
    t.throws(() => new Connection({ urls: ['ws://gw.invalid/ws'], WebSocket: bad as never }), { code: ErrorCode.BAD_REQUEST, message: /WebSocket must be a WebSocket constructor/ }, String(bad));
  }
  t.throws(() => whatwgTransport(undefined), { code: ErrorCode.BAD_REQUEST });
  const store = new MemoryStore();
  t.equal((await failure(HushwireClient.register({ store, gateways: ['ws://gw.invalid/ws'], number: '+15550100001', WebSocket: 7 as never }))).code, ErrorCode.BAD_REQUEST);
  t.equal(store.size, 0, 'nothing written');
  t.equal((await failure(HushwireClient.register({ store: {} as never, gateways: ['ws://gw.invalid/ws'], number: '+15550100001' }))).code, ErrorCode.BAD_REQUEST, 'a store without read/write/delete');
  t.equal((await failure(HushwireClient.register({ gateways: ['ws://gw.invalid/ws'], number: '+15550100001' }))).code, ErrorCode.BAD_REQUEST, 'neither store nor directory');
  const e = await failure(HushwireClient.register({ profileDir: '/tmp/x', gateways: ['ws://gw.invalid/ws'], number: '+15550100001' }));
  t.match(e, { code: ErrorCode.BAD_REQUEST, message: /needs the Node entry/ }, 'a directory without the Node entry');
  t.equal((await failure(HushwireClient.open(42 as never))).code, ErrorCode.BAD_REQUEST);
  t.equal((await failure(HushwireClient.open(new MemoryStore()))).code, ErrorCode.NOT_REGISTERED, 'an empty store is not registered');
});

t.test('a constructor that throws is treated like an unusable URL (rotate, back off, give up after the attempts) and named', async (t) => {
  let calls = 0;
  class Throws {
    constructor() {
      calls++;
      throw new SyntaxError('The URL is invalid');
    }
  }
  const { c, states } = conn({ WebSocket: Throws as never, urls: ['ws://a.invalid/ws', 'ws://b.invalid/ws'] });
  const e = await failure(c.connect());
  t.equal(e.code, ErrorCode.UNAVAILABLE);
  t.match(e.message, /no gateway reachable \(tried ws:\/\/b\.invalid\/ws and ws:\/\/a\.invalid\/ws; last attempt: the WebSocket constructor threw \(SyntaxError\)\)/);
  t.notMatch(e.message, /The URL is invalid/, "the implementation's text is not passed on");
  t.equal(calls, 3, 'connectAttempts');
  t.equal(c.state, 'disconnected');
  t.ok(states.filter((s) => s.to === 'disconnected').every((s) => s.code === 1006));
  await c.close();
});

t.test('a constructor that makes no socket is a programming error: closed with BAD_REQUEST, no retries', async (t) => {
  let calls = 0;
  class NotASocket {
    constructor() {
      calls++;
      return { hello: 1 } as never;
    }
  }
  const { c } = conn({ WebSocket: NotASocket as never });
  const e = await failure(c.connect());
  t.match(e, { code: ErrorCode.BAD_REQUEST, message: /without send, close and readyState/ });
  t.equal(calls, 1);
  t.equal(c.state, 'closed');
});

t.test('a socket that never opens is bounded by the connect deadline, per attempt', async (t) => {
  FakeWebSocket.mode = 'manual';
  const { c, states } = conn({ connectTimeoutMs: 50, connectAttempts: 2 });
  const e = await failure(c.connect());
  t.match(e, { code: ErrorCode.UNAVAILABLE, message: /no challenge in time/ });
  t.equal(FakeWebSocket.instances.length, 2);
  for (const ws of FakeWebSocket.instances) t.same(ws.closeCalls, [undefined], 'each abandoned with close() (the standard API has no terminate)');
  t.same(states.filter((s) => s.to === 'disconnected').map((s) => s.code), [1006, 1006]);
  await c.close();
});

t.test('an error without a close (Node 20 built-in on a refused upgrade) ends the attempt at once, not at the deadline', async (t) => {
  FakeWebSocket.mode = 'manual';
  FakeWebSocket.echoClose = false;
  const { c, states } = conn({ connectTimeoutMs: 600_000, connectAttempts: 2 });
  const p = c.connect();
  for (let n = 1; n <= 2; n++) {
    await until(() => FakeWebSocket.instances.length === n, 5_000, `attempt ${n}`);
    last().onerror?.({ type: 'error' }); // and never onclose
  }
  const e = await failure(p);
  t.match(e, { code: ErrorCode.UNAVAILABLE, message: /the standard WebSocket API gives no reason/ });
  t.same(states.filter((s) => s.to === 'disconnected').map((s) => s.code), [1006, 1006]);
  await c.close();
});

t.test('binaryType arraybuffer; requests and answers; close() sends 1000', async (t) => {
  const { c } = conn();
  await c.connect();
  const ws = last();
  t.equal(ws.binaryType, 'arraybuffer');
  const p = c.request({ lookup: { route: new Uint8Array(32) } });
  await until(() => ws.sent.length === 1, 2_000, 'the request written');
  ws.receive([{ req: ws.sent[0]!.req, ok: {} }]);
  t.ok((await p).ok, 'answered');
  await c.close();
  t.same(ws.closeCalls, [1000], 'closed with 1000');
  t.equal(c.state, 'closed');
});

t.test('close codes: a terminal one from the gateway ends it; 1001 reconnects', async (t) => {
  const a = conn();
  await a.c.connect();
  last().serverClose(CloseCode.GOING_AWAY, 'going away');
  await until(() => FakeWebSocket.instances.length === 2 && a.c.state === 'connected', 2_000, 'reconnected');
  last().serverClose(CloseCode.AUTH_FAILED, 'no');
  await until(() => a.c.state === 'closed', 2_000, 'closed');
  t.equal(a.c.error?.code, ErrorCode.AUTH_FAILED);
});

t.test('a text message, or bytes not as an ArrayBuffer, drop the socket (1003 cannot be sent: close() without a code)', async (t) => {
  for (const data of ['hello', { size: 3, type: '' } /* a Blob-like */]) {
    FakeWebSocket.instances = [];
    const { c, states } = conn();
    await c.connect();
    const ws = last();
    ws.onmessage?.({ data });
    t.same(ws.closeCalls, [undefined], 'close() without the refused code');
    await until(() => FakeWebSocket.instances.length === 2 && c.state === 'connected', 2_000, 'reconnected');
    t.ok(states.some((s) => s.to === 'disconnected'));
    await c.close();
  }
});

t.test('a Uint8Array message (an implementation that ignores binaryType) is read too', async (t) => {
  const { c } = conn();
  await c.connect();
  const ws = last();
  const p = c.request({ lookup: { route: new Uint8Array(32) } });
  await until(() => ws.sent.length === 1, 2_000, 'written');
  ws.onmessage?.({ data: encodeFrame([{ req: ws.sent[0]!.req, ok: {} }]) });
  t.ok((await p).ok);
  await c.close();
});

t.test('without pings, a request deadline that passes in silence drops the socket; one with traffic does not', async (t) => {
  const { c } = conn({ requestTimeoutMs: 60 });
  await c.connect();
  const first = last();
  t.equal((await failure(c.request({ lookup: { route: new Uint8Array(32) } }))).code, ErrorCode.TIMEOUT);
  t.same(first.closeCalls, [undefined], 'the silent socket is abandoned');
  await until(() => FakeWebSocket.instances.length === 2 && c.state === 'connected', 2_000, 'a new socket');
  const second = last();
  const p = c.request({ lookup: { route: new Uint8Array(32) } });
  await until(() => second.sent.length === 1, 2_000, 'written');
  second.receive([{ notice: { kind: 'x', atMs: 1 } }]); // something arrives after the write
  t.equal((await failure(p)).code, ErrorCode.TIMEOUT);
  t.same(second.closeCalls, [], 'a socket that spoke since is kept');
  t.equal(c.state, 'connected');
  await c.close();
});

t.test('backpressure: nothing is written while bufferedAmount is over the mark; deadlines still run', async (t) => {
  const { c } = conn({ maxBufferedBytes: 1000 });
  await c.connect();
  const ws = last();
  ws.bufferedAmount = 5000;
  const p = c.request({ lookup: { route: new Uint8Array(32) } });
  const late = c.request({ lookup: { route: new Uint8Array(32) } }, 30);
  t.equal((await failure(late)).code, ErrorCode.TIMEOUT, 'a held request still times out');
  t.equal(ws.sent.length, 0, 'held back');
  ws.bufferedAmount = 0;
  await until(() => ws.sent.length === 1, 2_000, 'written once the buffer drained');
  ws.receive([{ req: ws.sent[0]!.req, ok: {} }]);
  t.ok((await p).ok);
  await c.close();
});

t.test('close() against a peer that never answers the close frame still ends', async (t) => {
  const { c } = conn();
  await c.connect();
  const ws = last();
  FakeWebSocket.echoClose = false;
  await c.close(); // the fake never fires onclose: the adapter cuts it off
  t.equal(c.state, 'closed');
  t.same(ws.closeCalls, [1000, undefined], 'close frame, then abandoned');
});

/** The ping ops written on a socket. */
function pings(ws: FakeWebSocket): OpProps[] {
  return ws.sent.filter((o) => o.ping);
}

t.test('no WebSocket pings: a silent peer gets ping ops, is dropped after the idle timeout, and the client reconnects', async (t) => {
  const { c, states } = conn({ pingIntervalMs: 50, idleTimeoutMs: 300 });
  await c.connect();
  const first = last();
  await until(() => FakeWebSocket.instances.length === 2 && c.state === 'connected', 5_000, 'dropped and reconnected');
  t.ok(pings(first).length >= 1, 'pinged the silent socket first');
  t.ok(pings(first).every((o) => (o.req ?? 0) > 0), 'each ping asks with a req');
  t.same(first.closeCalls, [undefined], 'the silent socket is abandoned (close() without a code, reported as 1006)');
  t.ok(states.some((s) => s.to === 'disconnected' && s.delayMs !== undefined), 'through the funnel, with a backoff delay');
  const gone = states.find((s) => s.to === 'disconnected');
  t.same([gone?.code, gone?.reason], [1006, 'idle'], 'the state change says why the client dropped it');
  t.equal(c.pendingCount, 0, 'pings leave nothing pending');
  await c.close();
});

t.test('no WebSocket pings: a peer that answers the ping ops keeps the connection', async (t) => {
  FakeWebSocket.pings = 'ok';
  const { c, states } = conn({ pingIntervalMs: 50, idleTimeoutMs: 600 });
  await c.connect();
  const ws = last();
  // Well over two idle timeouts' worth of checks (a ping every other check at most).
  await until(() => pings(ws).length >= 14, 10_000, 'many ping rounds');
  t.equal(FakeWebSocket.instances.length, 1, 'one socket all along');
  t.same(ws.closeCalls, [], 'never dropped');
  t.equal(c.state, 'connected');
  t.notOk(states.some((s) => s.to === 'disconnected'));
  t.equal(new Set(pings(ws).map((o) => o.req)).size, pings(ws).length, 'a fresh req per ping');
  t.equal(c.pendingCount, 0);
  await c.close();
});

t.test('no WebSocket pings: after UNKNOWN_OP (a gateway older than the ping op) no more ping ops on that socket', async (t) => {
  // Such a gateway counts every UNKNOWN_OP as a bad op and closes the socket 4008 after
  // limits.maxBadOps of them (about 11 minutes into an idle stretch). One refusal ends
  // the ping ops on that socket; what arrives still counts as alive; the next socket
  // tries the op again.
  FakeWebSocket.pings = 'unknown';
  const idleTimeoutMs = 300;
  const { c, states } = conn({ pingIntervalMs: 50, idleTimeoutMs });
  await c.connect();
  const ws = last();
  await until(() => pings(ws).length === 1, 5_000, 'the first ping');
  await sleep(50); // its UNKNOWN_OP answer arrives on a later turn
  // Frames keep coming, but with gaps longer than a check (50 ms): each gap was a ping
  // before. Five idle timeouts of it.
  const talk = setInterval(() => ws.receive([{ notice: { kind: 'x', atMs: 1 } }]), 120);
  await sleep(5 * idleTimeoutMs);
  clearInterval(talk);
  t.equal(pings(ws).length, 1, 'no ping op after the UNKNOWN_OP');
  t.equal(c.state, 'connected', 'not declared dead while frames flow');
  t.same(ws.closeCalls, []);
  // A request still works on that socket: the error answer was not mistaken for it.
  const p = c.request({ lookup: { route: new Uint8Array(32) } });
  await until(() => ws.sent.some((o) => o.lookup), 2_000, 'the request written');
  ws.receive([{ req: ws.sent.find((o) => o.lookup)!.req, ok: {} }]);
  t.ok((await p).ok, 'answered');
  t.equal(c.pendingCount, 0, 'the refused ping left nothing pending');

  // Quiet now: the usual idle timeout would drop a healthy socket about once a minute
  // here (nothing can be asked of the gateway), so the bound is NO_PING_OP_IDLE_FACTOR
  // idle timeouts (10 minutes by default), still without pings.
  await sleep(3 * idleTimeoutMs);
  t.equal(c.state, 'connected', 'a quiet socket outlives the usual idle timeout');
  t.equal(FakeWebSocket.instances.length, 1);
  t.equal(pings(ws).length, 1, 'still no ping op');
  await until(() => FakeWebSocket.instances.length === 2 && c.state === 'connected', NO_PING_OP_IDLE_FACTOR * idleTimeoutMs + 3_000, 'the quiet socket dropped and replaced');
  t.same(ws.closeCalls, [undefined], 'abandoned (1006), not closed with an alarming code');
  t.ok(states.some((s) => s.to === 'disconnected' && s.delayMs !== undefined), 'through the funnel, a reconnect like any other');
  t.equal(pings(ws).length, 1, 'no ping op on that socket to the end');

  // The next socket asks again: the gateway behind the URL may have been upgraded.
  FakeWebSocket.pings = 'ok';
  const next = last();
  await until(() => pings(next).length >= 3, 5_000, 'ping ops on the next socket');
  t.equal(c.state, 'connected');
  t.equal(FakeWebSocket.instances.length, 2, 'answered: kept');
  await c.close();
});

t.test('no WebSocket pings: a socket with traffic is not pinged', async (t) => {
  const { c } = conn({ pingIntervalMs: 200, idleTimeoutMs: 2_000 });
  await c.connect();
  const ws = last();
  // Something arrives every few milliseconds: every check (a few of them) finds that the
  // socket spoke since the one before.
  const talk = setInterval(() => ws.receive([{ notice: { kind: 'x', atMs: 1 } }]), 5);
  t.teardown(() => clearInterval(talk));
  await sleep(700);
  clearInterval(talk);
  t.equal(pings(ws).length, 0, 'no ping while frames keep arriving');
  t.equal(c.state, 'connected');
  await c.close();
});
