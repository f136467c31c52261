// Bad input at the op level from an authenticated device, on every transport that loads:
// envelopes no SDK would make (wrong version, suite or field sizes), in floods that a
// frame can hold by the tens of thousands. Each has its expected receipt or close code,
// and afterwards the gateway still serves.
//
// Already covered elsewhere (not repeated here): ops of an unknown type and floods of
// them (test/gateway/protocol.test.ts), hostile route and device ids
// (test/abuse/tokens.test.ts), frame-level bytes (test/abuse/frames.test.ts).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import type { RawClient } from '../helpers/raw.ts';
import { registerRaw, authenticateRaw, stillServes, varint } from '../helpers/raw-device.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { CloseCode, ErrorCode } from '../../relay/errors.ts';
import { encodeFrame, type EnvelopeProps } from '../../relay/wire.ts';

const transports: ('uws' | 'ws')[] = (await uwsAvailable()) ? ['uws', 'ws'] : ['ws'];

/** hushwire_errors_total{code} so far. */
async function errorsOf(gw: TestGateway, code: string): Promise<number> {
  return (await gw.metrics.errors.get()).values.find((v) => v.labels.code === code)?.value ?? 0;
}

/** The socket's close code, or -1 when it is still open after `ms` (a deadline, so a
 *  socket that is never closed fails the test instead of hanging it). */
async function closeCode(c: RawClient, ms = 10_000): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const open = new Promise<number>((resolve) => { timer = setTimeout(() => resolve(-1), ms); });
  try {
    return await Promise.race([c.closed.then((x) => x.code), open]);
  } finally {
    clearTimeout(timer);
  }
}

/** A frame of `ops` send ops (req 1..ops), each of `perOp` empty envelopes (two bytes
 *  each: Send.envelopes of length 0), written by hand: 256 x 256 is 133 kB. */
function emptyEnvelopeSends(ops: number, perOp: number): Uint8Array {
  const send = new Array<number[]>(perOp).fill([0x0a, 0x00]).flat();
  const out: number[] = [];
  for (let req = 1; req <= ops; req++) {
    const op = [0x08, ...varint(req), ...varint((25 << 3) | 2), ...varint(send.length), ...send];
    out.push(0x0a, ...varint(op.length), ...op);
  }
  return new Uint8Array(out);
}

for (const transport of transports) {
  t.test(`op abuse on ${transport}`, async (t) => {
    const gw = await startTestGateway({ transport, logLevel: 'warn', liveTimeoutMs: 1_000 });
    t.teardown(() => gw.close());
    const { maxBadOps } = gw.relay.limits;
    const { c: reg, dev } = await registerRaw(gw.url, '+15557770001');
    reg.close();
    const { c: reg2, dev: other } = await registerRaw(gw.url, '+15557770002');
    reg2.close();
    const wellFormed = (): EnvelopeProps => ({
      version: 1, suite: 1, route: other.route, device: other.device, id: new Uint8Array(randomBytes(16)),
      enc: new Uint8Array(32), ciphertext: new Uint8Array(64),
    });

    t.test('malformed envelopes count as bad ops: receipts BAD_REQUEST, then 4008 past maxBadOps', async (t) => {
      const c = await authenticateRaw(gw.url, dev);
      // One envelope per send, as the SDK sends: each gets its receipt until the limit.
      for (let i = 1; i <= maxBadOps + 1; i++) c.send([{ req: i, send: { envelopes: [{ ...wellFormed(), version: 9 }] } }]);
      t.equal(await closeCode(c), CloseCode.FLOOD, 'closed 4008 FLOOD');
      const receipts = c.ops.filter((o) => o.body === 'sendResult').map((o) => o.sendResult!.receipts[0]!);
      t.equal(receipts.length, maxBadOps + 1, 'every refused envelope was answered before the close');
      t.ok(receipts.every((r) => r.status === 'failed' && r.code === ErrorCode.BAD_REQUEST), 'each failed BAD_REQUEST');
      await stillServes(t, gw.url, dev);
    });

    t.test('a frame of 65,536 malformed envelopes is read only up to the close', async (t) => {
      const before = await errorsOf(gw, ErrorCode.BAD_REQUEST);
      const c = await authenticateRaw(gw.url, dev);
      c.sendRaw(emptyEnvelopeSends(256, 256));
      t.equal(await closeCode(c), CloseCode.FLOOD, 'closed 4008 FLOOD');
      // Each envelope looked at counts once in hushwire_errors_total; none after the close.
      t.equal(await errorsOf(gw, ErrorCode.BAD_REQUEST) - before, maxBadOps + 1, 'only maxBadOps + 1 envelopes were looked at');
      await stillServes(t, gw.url, dev);
    });

    t.test('refusals that are not the envelope\'s fault do not count: over the send rate the socket stays', async (t) => {
      const c = await authenticateRaw(gw.url, dev);
      const { sendBurst } = gw.relay.limits;
      // One frame (its envelopes share one reading of the clock, so the bucket does not
      // refill between them): past the burst each is RATE_LIMITED, more than maxBadOps.
      const n = sendBurst + maxBadOps + 8;
      const ops = [];
      for (let sent = 0, req = 1; sent < n; sent += 200, req++) {
        ops.push({ req, send: { envelopes: Array.from({ length: Math.min(200, n - sent) }, wellFormed) } });
      }
      c.send(ops);
      const receipts = (await Promise.all(ops.map((o) => c.reply(o.req)))).flatMap((o) => o.sendResult!.receipts);
      t.equal(receipts.length, n, 'every envelope answered');
      t.ok(receipts.filter((r) => r.code === ErrorCode.RATE_LIMITED).length > maxBadOps, 'more than maxBadOps over the send rate');
      c.send([{ req: 99, ping: {} }]);
      t.equal((await c.reply(99)).body, 'ok', 'the socket is still open');
      c.close();
      await c.closed;
    });

    t.test('lookups in flight are bounded per connection: the excess gets RATE_LIMITED, the socket stays', async (t) => {
      const { maxDiscoveryPerConnection } = gw.relay.limits;
      const c = await authenticateRaw(gw.url, dev);
      // One frame: its ops are all taken before any lookup is answered.
      const ops = Array.from({ length: maxDiscoveryPerConnection / 128 + 1 }, (_, i) => ({ req: 100 + i, lookup: { routes: Array.from({ length: 128 }, () => new Uint8Array(randomBytes(32))) } }));
      c.send(ops);
      const answers = await Promise.all(ops.map((o) => c.reply(o.req)));
      t.ok(answers.slice(0, -1).every((a) => a.body === 'devicesBatch'), `the first ${maxDiscoveryPerConnection} routes are answered`);
      const last = answers.at(-1)!;
      t.equal(last.error?.code, ErrorCode.RATE_LIMITED, 'the op past the bound is refused');
      t.equal(last.error?.retryAfterMs, 1000, 'with retry_after_ms');
      c.send([{ req: 200, lookup: { route: other.route } }]);
      t.equal((await c.reply(200)).devices?.devices.length, 1, 'once answered, lookups pass again on the same socket');
      c.close();
      await c.closed;
    });

    t.test('and over all connections of the gateway', async (t) => {
      const limits = gw.relay.limits;
      const saved = { ...limits };
      t.teardown(() => Object.assign(limits, saved));
      // This gateway's own bound set below one connection's, so one frame reaches it.
      Object.assign(limits, { maxDiscoveryPerConnection: 4096, maxDiscoveryInFlight: 1000 });
      const c = await authenticateRaw(gw.url, dev);
      const ops = Array.from({ length: 8 }, (_, i) => ({ req: 300 + i, lookup: { routes: Array.from({ length: 128 }, () => new Uint8Array(randomBytes(32))) } }));
      c.send(ops);
      const answers = await Promise.all(ops.map((o) => c.reply(o.req)));
      t.same(answers.map((a) => a.body), [...Array(7).fill('devicesBatch'), 'error'], '896 routes pass, the op that would make 1,024 does not');
      t.match(answers.at(-1)!.error, { code: ErrorCode.RATE_LIMITED, message: 'gateway busy with lookups' });
      t.equal(gw.relay.discoveryInFlight, 0, 'every unit given back');
      c.close();
      await c.closed;
    });

    t.test('a deliver_ack for another device\'s envelope changes nothing for it', async (t) => {
      const { c: rs, dev: sender } = await registerRaw(gw.url, '+15557770010');
      rs.close();
      const { c: a, dev: recipient } = await registerRaw(gw.url, '+15557770011'); // an empty mailbox
      const s = await authenticateRaw(gw.url, sender);
      const env = { ...wellFormed(), route: recipient.route, device: recipient.device };
      s.send([{ req: 21, send: { envelopes: [env] } }]);
      await a.next((o) => o.body === 'deliver');
      // Another device acks that id (it saw it nowhere; ids are not secret to a sender).
      const b = await authenticateRaw(gw.url, dev);
      b.send([{ req: 0, deliverAck: { ids: [env.id!] } }, { req: 22, ping: {} }]);
      await b.reply(22);
      // The recipient never acks: after the live timeout the sender is told 'stored'.
      t.equal((await s.reply(21, 15_000)).sendResult!.receipts[0]!.status, 'stored', 'not delivered: the ack was not the recipient\'s');
      a.close();
      await a.closed;
      const again = await authenticateRaw(gw.url, recipient);
      const got = await again.next((o) => o.body === 'deliver');
      t.same(Buffer.from(got.deliver!.envelopes[0]!.id!), Buffer.from(env.id!), 'the recipient gets it from its mailbox');
      for (const c of [again, s, b]) { c.close(); await c.closed; }
    });

    t.test('two unregister ops in one frame: one opt-out, the second refused', async (t) => {
      const count = async () => (await gw.metrics.unregistrations.get()).values[0]?.value ?? 0;
      const before = await count();
      const { c } = await registerRaw(gw.url, '+15557770009');
      c.send([{ req: 11, unregister: {} }, { req: 12, unregister: {} }]);
      t.equal((await c.reply(12, 5_000).catch(() => null))?.error?.code, ErrorCode.BAD_REQUEST, 'the second: BAD_REQUEST');
      t.equal((await c.reply(11)).body, 'ok', 'the first: ok');
      t.equal(await closeCode(c), CloseCode.UNREGISTERED, 'then 4006');
      t.equal(await count() - before, 1, 'one opt-out counted');
    });

    t.test('nothing went wrong inside the gateway', async (t) => {
      t.notMatch(gw.logs(), /"level":(50|60)/, 'no error or fatal log line');
    });
  });
}

t.test('one device pipelining lookups over NATS does not stop other devices authenticating', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const key = oprfKeyFile();
  for (const [i, transport] of transports.entries()) {
    await t.test(transport, async (t) => {
      const gw = await startTestGateway({ transport, nats: server.url, oprfKeyFile: key, logLevel: 'warn', name: `lookups-${i}` });
      t.teardown(() => gw.close());
      const { c: a, dev: attacker } = await registerRaw(gw.url, `+1555777${i}101`);
      a.close();
      const { c: b, dev } = await registerRaw(gw.url, `+1555777${i}102`);
      b.close();
      const flood = await authenticateRaw(gw.url, attacker);
      // It never reads its answers; 30 frames of 60 batched lookups of 128 routes: 230,400
      // directory reads asked for at once, more than the bus's request window (65,536)
      // that every authentication's directory read goes through too.
      (flood.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const routes = Array.from({ length: 128 }, () => new Uint8Array(randomBytes(32)));
      const frame = encodeFrame(Array.from({ length: 60 }, (_, k) => ({ req: k + 1, lookup: { routes } })));
      for (let k = 0; k < 30; k++) flood.ws.send(frame);
      // Another device connects again and again meanwhile (one connection at a time: a
      // newer one would close the older with 4003 before its answer).
      const outcomes: string[] = [];
      for (let k = 0; k < 10; k++) {
        outcomes.push(await authenticateRaw(gw.url, dev).then(async (c) => { c.close(); await c.closed; return 'ok'; }, (e: Error) => e.message));
      }
      t.same(outcomes.filter((o) => o !== 'ok'), [], 'all 10 authentications of another device succeed');
      flood.ws.terminate();
      await flood.closed;
    });
  }
});
