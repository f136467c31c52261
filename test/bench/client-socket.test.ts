// bench/drivers/client-socket.ts: both generator clients (the lean one and `ws`) behind
// the one interface, against a `ws` echo server on loopback: send and sendWith (the
// payload written in place) arrive unchanged and in order, and nothing is sent once closed.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { openClientSocket, WS_CLIENTS, type ClientSocket } from '../../bench/drivers/client-socket.ts';

for (const kind of WS_CLIENTS) {
  t.test(`${kind}: send and sendWith round trip; closed means nothing is written`, async (t) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    wss.on('connection', (ws) => ws.on('message', (d: Buffer) => ws.send(d)));
    t.teardown(() => new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => r());
    }));
    const got: Buffer[] = [];
    let closes = 0;
    let opened!: () => void;
    const open = new Promise<void>((r) => { opened = r; });
    const c: ClientSocket = openClientSocket(kind, `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, {
      open: () => opened(),
      message: (d) => { got.push(Buffer.from(d)); },
      close: () => { closes++; },
    });
    await open;
    t.ok(c.isOpen, 'open');
    const sent = [0, 1, 125, 126, 4000, 70_000].map((n) => randomBytes(n));
    sent.forEach((b, i) => (i % 2 === 0 ? c.send(b) : c.sendWith(b.length, (out, at) => { b.copy(out, at); })));
    const deadline = Date.now() + 5000;
    while (got.length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    t.equal(got.length, sent.length, 'every message came back');
    t.ok(got.every((m, i) => m.equals(sent[i]!)), 'unchanged and in order');
    await c.close();
    t.notOk(c.isOpen, 'closed');
    t.equal(closes, 1, 'close reported once');
    let asked = false;
    c.sendWith(4, () => { asked = true; });
    c.send(Buffer.from('late'));
    t.notOk(asked, 'sendWith on a closed socket does not ask for the payload');
  });
}

for (const kind of WS_CLIENTS) {
  t.test(`${kind}: a handset's connection leaves from its source address`, { skip: process.platform !== 'linux' ? 'all of 127.0.0.0/8 is local on Linux' : false }, async (t) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const seen = new Promise<string | undefined>((r) => wss.once('connection', (_ws, req) => r(req.socket.remoteAddress)));
    t.teardown(() => new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => r());
    }));
    const c = openClientSocket(kind, `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, { open: () => undefined, message: () => undefined, close: () => undefined }, '127.0.0.7');
    t.equal(await seen, '127.0.0.7', 'the server sees the handset at 127.0.0.7');
    await c.close();
  });
}
