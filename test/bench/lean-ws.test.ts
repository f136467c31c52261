// The bench's lean WebSocket client (bench/drivers/lean-ws.ts) against a real `ws`
// server on loopback (framing, fragmentation, ping, close handshake, random payloads
// compared byte for byte), and against a raw TCP server that answers wrongly on
// purpose (bad status, wrong accept, masked or oversize or unknown frames).
import t, { type Test } from 'tap';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { LeanWebSocket, UpgradeRefused, acceptFor, buildClientFrame, encodeClientFrame, handshakeHeadCounts, maskInto, masksNatively, type LeanWsHandlers } from '../../bench/drivers/lean-ws.ts';

interface Seen { opened: boolean; messages: Buffer[]; closes: { code: number; reason: string; error?: Error }[] }

function handlers(seen: Seen, onOpen?: () => void): LeanWsHandlers {
  return {
    open: () => { seen.opened = true; onOpen?.(); },
    message: (d) => { seen.messages.push(Buffer.from(d)); },
    close: (code, reason, error) => { seen.closes.push({ code, reason, ...(error ? { error } : {}) }); },
  };
}

const fresh = (): Seen => ({ opened: false, messages: [], closes: [] });

async function wsServer(t: Test, onConnection: (ws: WsSocket) => void): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', onConnection);
  t.teardown(() => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => r());
  }));
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/path?x=1`;
}

/** A TCP server that reads the upgrade request and answers with `respond(key)`. */
async function rawServer(t: Test, respond: (key: string, sock: Socket) => void): Promise<string> {
  const socks = new Set<Socket>();
  const srv: Server = createServer((sock) => {
    socks.add(sock);
    let head = '';
    sock.on('data', (d) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /Sec-WebSocket-Key: (\S+)/i.exec(head)?.[1] ?? '';
      respond(key, sock);
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => {
    for (const s of socks) s.destroy();
    srv.close(() => r());
  }));
  return `ws://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
}

const ok101 = (key: string): string =>
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`;

/** An unmasked server frame. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, len])
    : len < 65536 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 126, len >> 8, len & 0xff])
      : (() => { const b = Buffer.alloc(10); b[0] = (fin ? 0x80 : 0) | opcode; b[1] = 127; b.writeUInt32BE(len, 6); return b; })();
  return Buffer.concat([head, payload]);
}

function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not met in time'));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

t.test('maskInto: bufferutil (when installed) and the JS loop give the same bytes, in place or copied, at any offset', async (t) => {
  t.comment(masksNatively ? 'bufferutil installed: the native path is compared with the JS loop' : 'bufferutil not installed: the JS loop against a plain XOR');
  const reference = (src: Uint8Array, mask: Uint8Array): Buffer => Buffer.from(src.map((b, i) => b ^ mask[i & 3]!));
  let cases = 0;
  for (let n = 0; n < 400; n++) {
    const len = n < 40 ? n : n < 200 ? 100 + ((n * 37) % 200) : (n * 997) % 9000; // around the native threshold, and large
    const src = randomBytes(len + 20);
    const from = n % 7;
    const at = (n * 3) % 11;
    const mask = randomBytes(4);
    const want = reference(src.subarray(from, from + len), mask);
    const out = Buffer.alloc(len + 24, 0xee);
    maskInto(out, at, src, from, len, mask);
    const js = Buffer.alloc(len + 24, 0xee);
    maskInto(js, at, src, from, len, mask, true);
    if (!out.subarray(at, at + len).equals(want) || !js.equals(out)) {
      t.fail(`len ${len} from ${from} at ${at}: copied`);
      return;
    }
    if (out[at - 1] !== undefined && at > 0 && out[at - 1] !== 0xee) t.fail(`len ${len}: wrote before its range`);
    if (out[at + len] !== 0xee) t.fail(`len ${len}: wrote past its range`);
    const inPlace = Buffer.from(src);
    maskInto(inPlace, from, inPlace, from, len, mask);
    if (!inPlace.subarray(from, from + len).equals(want) || !inPlace.subarray(0, from).equals(src.subarray(0, from))) {
      t.fail(`len ${len} from ${from}: in place`);
      return;
    }
    cases++;
  }
  t.equal(cases, 400, 'all 400 lengths and offsets agree (lengths 0-8,999)');
});

t.test('encodeClientFrame: header forms, FIN, mask bit, payload masked with the given key', async (t) => {
  for (const len of [0, 1, 3, 125, 126, 127, 65535, 65536, 70001]) {
    const payload = randomBytes(len);
    const mask = randomBytes(4);
    const f = encodeClientFrame(2, payload, mask);
    t.equal(f[0], 0x82, `len ${len}: FIN + binary`);
    t.equal(f[1]! & 0x80, 0x80, `len ${len}: mask bit`);
    const l7 = f[1]! & 0x7f;
    const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
    t.equal(l7, len < 126 ? len : len < 65536 ? 126 : 127, `len ${len}: 7-bit length field`);
    const declared = head === 2 ? l7 : head === 4 ? f.readUInt16BE(2) : f.readUInt32BE(6);
    t.equal(declared, len, `len ${len}: declared length`);
    t.same(f.subarray(head, head + 4), mask, `len ${len}: mask key`);
    const body = Buffer.from(f.subarray(head + 4));
    for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
    t.ok(body.equals(payload), `len ${len}: unmasks to the payload`);
  }
});

t.test('buildClientFrame: the same bytes as encodeClientFrame, the payload written in place by the caller', async (t) => {
  for (const len of [0, 1, 3, 4, 5, 125, 126, 127, 65535, 65536, 70001]) {
    const payload = randomBytes(len);
    const mask = randomBytes(4);
    let asked: [number, number] | null = null;
    const f = buildClientFrame(2, len, (out, at) => {
      asked = [out.length - at, at];
      payload.copy(out, at);
    }, mask);
    t.same(asked, [len, len < 126 ? 6 : len < 65536 ? 8 : 14], `len ${len}: room for exactly the payload after the head`);
    t.ok(f.equals(encodeClientFrame(2, payload, mask)), `len ${len}: same frame`);
  }
});

t.test('round trip through a ws echo server: sizes around every length boundary and random payloads', async (t) => {
  const url = await wsServer(t, (ws) => ws.on('message', (d: Buffer) => ws.send(d)));
  const seen = fresh();
  let opened!: () => void;
  const open = new Promise<void>((r) => { opened = r; });
  const c = new LeanWebSocket(url, handlers(seen, () => opened()));
  await open;
  t.equal(c.state, 'open');
  const sent: Buffer[] = [];
  for (const len of [0, 1, 125, 126, 127, 65535, 65536, 200_000]) sent.push(randomBytes(len));
  for (let i = 0; i < 40; i++) sent.push(randomBytes(Math.floor(Math.random() * 3000)));
  for (const [i, b] of sent.entries()) {
    // every other one written in place by the caller (sendWith)
    t.ok(i % 2 === 0 ? c.send(b) : c.sendWith(b.length, (out, at) => { b.copy(out, at); }));
  }
  await until(() => seen.messages.length === sent.length);
  t.ok(seen.messages.every((m, i) => m.equals(sent[i]!)), 'every message comes back unchanged, in order');
  await c.close();
  t.equal(c.state, 'closed');
  t.equal(seen.closes.length, 1, 'close reported once');
  t.equal(seen.closes[0]!.code, 1000);
  t.notOk(c.send(Buffer.from('late')), 'send after close is refused');
  let called = false;
  t.notOk(c.sendWith(4, () => { called = true; }), 'sendWith after close is refused');
  t.notOk(called, '... without asking for the payload');
});

t.test('a message the server fragments arrives whole; the mail after the 101 in the same segment is read', async (t) => {
  const url = await wsServer(t, (ws) => {
    ws.send(Buffer.from('hel'), { fin: false });
    ws.send(Buffer.from('lo '), { fin: false });
    ws.send(Buffer.from('world'), { fin: true });
  });
  const seen = fresh();
  const c = new LeanWebSocket(url, handlers(seen));
  await until(() => seen.messages.length === 1);
  t.equal(seen.messages[0]!.toString(), 'hello world');
  c.terminate();

  const rawUrl = await rawServer(t, (key, sock) => sock.write(Buffer.concat([Buffer.from(ok101(key), 'latin1'), serverFrame(2, Buffer.from('challenge'))])));
  const seen2 = fresh();
  const c2 = new LeanWebSocket(rawUrl, handlers(seen2));
  await until(() => seen2.messages.length === 1);
  t.equal(seen2.messages[0]!.toString(), 'challenge');
  c2.terminate();
});

t.test('a ping is answered with a pong carrying its payload', async (t) => {
  let pong: Buffer | null = null;
  const url = await wsServer(t, (ws) => {
    ws.on('pong', (d: Buffer) => { pong = d; });
    ws.ping(Buffer.from('are you there'));
  });
  const seen = fresh();
  const c = new LeanWebSocket(url, handlers(seen));
  await until(() => pong !== null);
  t.equal(String(pong), 'are you there');
  c.terminate();
});

t.test('the server closes with a code and reason: echoed, reported once', async (t) => {
  let serverSaw: number | null = null;
  const url = await wsServer(t, (ws) => {
    ws.on('close', (code: number) => { serverSaw = code; });
    ws.close(4001, 'bye');
  });
  const seen = fresh();
  new LeanWebSocket(url, handlers(seen));
  await until(() => seen.closes.length === 1 && serverSaw !== null);
  t.equal(seen.closes[0]!.code, 4001);
  t.equal(seen.closes[0]!.reason, 'bye');
  t.equal(serverSaw, 4001, 'the server got its close code back');
  await new Promise((r) => setTimeout(r, 50));
  t.equal(seen.closes.length, 1, 'still reported once');
});

t.test('terminate: gone at once, close reported once with 1006, idempotent', async (t) => {
  let serverClosed = false;
  const url = await wsServer(t, (ws) => ws.on('close', () => { serverClosed = true; }));
  const seen = fresh();
  let opened!: () => void;
  const open = new Promise<void>((r) => { opened = r; });
  const c = new LeanWebSocket(url, handlers(seen, () => opened()));
  await open;
  c.terminate();
  c.terminate();
  await c.close();
  t.equal(seen.closes.length, 1);
  t.equal(seen.closes[0]!.code, 1006);
  await until(() => serverClosed);
});

t.test('refused handshakes end with an error saying why', async (t) => {
  const cases: [string, (key: string) => string, RegExp][] = [
    ['status 200', () => 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', /status 200/],
    ['wrong accept', () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n', /Sec-WebSocket-Accept/],
    ['no upgrade header', (k) => `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(k)}\r\n\r\n`, /Upgrade/],
    ['an extension not offered', (k) => ok101(k).replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n'), /extension/],
    ['not HTTP', () => 'SSH-2.0-OpenSSH\r\n\r\n', /not an HTTP/],
  ];
  for (const [name, answer, why] of cases) {
    const url = await rawServer(t, (key, sock) => sock.write(answer(key), 'latin1'));
    const seen = fresh();
    new LeanWebSocket(url, handlers(seen));
    await until(() => seen.closes.length === 1);
    t.notOk(seen.opened, `${name}: never open`);
    t.match(seen.closes[0]!.error?.message ?? '', why, `${name}: ${seen.closes[0]!.error?.message}`);
    const err = seen.closes[0]!.error;
    if (name === 'status 200') t.ok(err instanceof UpgradeRefused && err.status === 200, 'a status other than 101: UpgradeRefused with the status');
    else t.notOk(err instanceof UpgradeRefused, `${name}: not a refusal by status`);
  }
  // a gateway over its connection rate answers 429 (with Retry-After): the bench retries it
  {
    const url = await rawServer(t, (_key, sock) => sock.write('HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n', 'latin1'));
    const seen = fresh();
    new LeanWebSocket(url, handlers(seen));
    await until(() => seen.closes.length === 1);
    const err = seen.closes[0]!.error;
    t.ok(err instanceof UpgradeRefused && err.status === 429, `429: UpgradeRefused ${err?.message}`);
  }
  // nobody listening: a port that was just free
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const freePort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const seen = fresh();
  new LeanWebSocket(`ws://127.0.0.1:${freePort}/`, handlers(seen));
  await until(() => seen.closes.length === 1);
  t.equal(seen.closes[0]!.code, 1006);
  t.ok(seen.closes[0]!.error, 'connection refused is reported as the error');
});

t.test('a head like the last one accepted, with its own accept, is accepted without a full parse; any other difference still gets the full check', async (t) => {
  // the same server head each time but for what the test changes (extra: a header more)
  let answer = (key: string): string => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept:  ${acceptFor(key)} \r\nX-Server: t\r\n\r\n`;
  const url = await rawServer(t, (key, sock) => sock.write(answer(key), 'latin1'));
  const connect = async (): Promise<Seen> => {
    const seen = fresh();
    const ws = new LeanWebSocket(url, handlers(seen));
    await until(() => seen.closes.length === 1 || seen.opened);
    ws.terminate();
    return seen;
  };
  const before = handshakeHeadCounts();
  t.ok((await connect()).opened, 'the first: open');
  t.ok((await connect()).opened, 'the second, its own accept in the same place: open');
  t.ok((await connect()).opened, 'the third: open');
  const after = handshakeHeadCounts();
  t.ok(after.matched - before.matched >= 2, `matched without a full parse (${after.matched - before.matched} of 3)`);
  const good = answer;
  const refusals: [string, (key: string) => string, RegExp][] = [
    ['another key\'s accept in its place', () => good(randomBytes(16).toString('base64')), /Sec-WebSocket-Accept/],
    ['an accept header more, the wrong one last', (k) => good(k).replace('X-Server: t', `Sec-WebSocket-Accept: ${acceptFor(randomBytes(16).toString('base64'))}`), /Sec-WebSocket-Accept/],
    ['one header more', (k) => good(k).replace('X-Server: t', 'X-Server: t\r\nSec-WebSocket-Protocol: chat'), /subprotocol/],
    ['another status', (k) => good(k).replace('101 Switching', '200 Switching'), /status 200/],
  ];
  for (const [name, bad, why] of refusals) {
    answer = bad;
    const seen = await connect();
    t.notOk(seen.opened, `${name}: never open`);
    t.match(seen.closes[0]?.error?.message ?? '', why, `${name}: ${seen.closes[0]?.error?.message}`);
  }
  answer = good;
  t.ok((await connect()).opened, 'the usual head again: open');
});

t.test('bad frames from the server close with the RFC code', async (t) => {
  const masked = Buffer.from([0x82, 0x81, 1, 2, 3, 4, 0x55]);
  const cases: [string, Buffer, number, number?][] = [
    ['masked frame', masked, 1002],
    ['reserved bit', Buffer.from([0xc2, 0x00]), 1002],
    ['unknown opcode', Buffer.from([0x83, 0x00]), 1002],
    ['fragmented ping', Buffer.from([0x09, 0x00]), 1002],
    ['continuation without a message', Buffer.from([0x80, 0x00]), 1002],
    ['message over the limit', serverFrame(2, Buffer.alloc(200)), 1009, 100],
  ];
  for (const [name, frame, code, max] of cases) {
    let serverGot = Buffer.alloc(0);
    const url = await rawServer(t, (key, sock) => {
      sock.on('data', (d) => { serverGot = Buffer.concat([serverGot, d]); });
      sock.write(Buffer.concat([Buffer.from(ok101(key), 'latin1'), frame]));
    });
    const seen = fresh();
    new LeanWebSocket(url, handlers(seen), max ? { maxMessageBytes: max } : {});
    await until(() => seen.closes.length === 1);
    t.equal(seen.closes[0]!.code, code, `${name}: close ${code}`);
    t.equal(seen.messages.length, 0, `${name}: nothing delivered`);
    // the close frame the client sent (masked): opcode 8, then the code once unmasked
    await until(() => serverGot.length >= 8).catch(() => undefined);
    if (serverGot.length >= 8) {
      t.equal(serverGot[0], 0x88, `${name}: a close frame was sent`);
      const m = serverGot.subarray(2, 6);
      t.equal(((serverGot[6]! ^ m[0]!) << 8) | (serverGot[7]! ^ m[1]!), code, `${name}: carrying ${code}`);
    } else {
      t.fail(`${name}: no close frame reached the server`);
    }
  }
});

t.test('wrong types and schemes are refused at construction', async (t) => {
  t.throws(() => new LeanWebSocket('http://127.0.0.1:1/', handlers(fresh())), TypeError);
  t.throws(() => new LeanWebSocket('not a url', handlers(fresh())));
});

t.test('readBuffer: connections sharing one read buffer; a partial head, a partial frame and fragments kept across reads of the other connection arrive intact', async (t) => {
  // Reads land in the shared buffer and the next read (of either connection) overwrites
  // it, so what a connection keeps between its reads must be a copy: B's traffic is read
  // between A's pieces.
  const socks: Socket[] = [];
  const keys: string[] = [];
  const url = await rawServer(t, (key, sock) => { socks.push(sock); keys.push(key); });
  const shared = Buffer.allocUnsafe(64 * 1024);
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 30));
  const seenB = fresh();
  const b = new LeanWebSocket(url, handlers(seenB), { readBuffer: shared });
  await until(() => socks.length === 1);
  socks[0]!.write(ok101(keys[0]!));
  await until(() => seenB.opened);
  let bSent = 0;
  const bTraffic = async (): Promise<void> => {
    // B's frames fill the shared buffer with other bytes
    socks[0]!.write(Buffer.concat([serverFrame(2, Buffer.alloc(20_000, 0xee)), serverFrame(2, Buffer.alloc(300, 0xdd))]));
    bSent += 2;
    await until(() => seenB.messages.length === bSent);
  };

  const seenA = fresh();
  const a = new LeanWebSocket(url, handlers(seenA), { readBuffer: shared });
  await until(() => socks.length === 2);
  const head = Buffer.from(ok101(keys[1]!), 'latin1');
  socks[1]!.write(head.subarray(0, 40)); // part of the response head
  await pause();
  await bTraffic();
  socks[1]!.write(head.subarray(40));
  await until(() => seenA.opened);
  const f1 = randomBytes(3000);
  const frame = serverFrame(2, f1);
  socks[1]!.write(frame.subarray(0, 1500)); // half a frame
  await pause();
  await bTraffic();
  const p1 = randomBytes(700);
  const p2 = randomBytes(900);
  socks[1]!.write(Buffer.concat([frame.subarray(1500), serverFrame(2, p1, false)])); // its rest, a first fragment
  await pause();
  await bTraffic();
  socks[1]!.write(serverFrame(0, p2, true)); // the last fragment
  await until(() => seenA.messages.length === 2);
  t.ok(seenA.messages[0]!.equals(f1), 'the frame split across reads arrives intact');
  t.ok(seenA.messages[1]!.equals(Buffer.concat([p1, p2])), 'the fragmented message arrives intact');
  t.ok(seenB.messages.every((m, i) => m.length === (i % 2 === 0 ? 20_000 : 300) && m.every((x) => x === (i % 2 === 0 ? 0xee : 0xdd))), 'and the other connection\'s messages too');
  a.terminate();
  b.terminate();
});
