// The gateway's protocol edge, spoken raw (no SDK), on every transport that loads:
// challenge, opt-in, authentication, and each kind of bad input with its documented
// error or close code — and after each, the gateway still serves a well-behaved client.
import t from 'tap';
import { ed25519Engine } from '../../relay/crypto/ed25519-engine.ts';
import { randomBytes } from 'node:crypto';
import { connectRaw } from '../helpers/raw.ts';
import { registerRaw, authenticateRaw, stillServes } from '../helpers/raw-device.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { generateIdentity, sign, authInput } from '../../relay/crypto/sign.ts';
import { CloseCode, ErrorCode } from '../../relay/errors.ts';
import { encodeFrame } from '../../relay/wire.ts';

const transports: ('uws' | 'ws')[] = (await uwsAvailable()) ? ['uws', 'ws'] : ['ws'];


for (const transport of transports) {
  t.test(`protocol edge on ${transport}`, async (t) => {
    // liveTimeoutMs: the ping-during-delivery test acks by hand; a loaded machine must
    // not turn its live delivery into a stored one.
    // mailboxMaxAgeS: told in the challenge (field 8) by the embedded bus.
    const gw = await startTestGateway({ transport, authTimeoutMs: 2500, maxFrameBytes: 65_536, maxEnvelopeBytes: 60_000, liveTimeoutMs: 30_000, mailboxMaxAgeS: 45 * 86_400 });
    t.teardown(() => gw.close());
    t.equal(gw.transport, transport);
    const { c: regConn, dev } = await registerRaw(gw.url, '+15550001001');
    t.equal(dev.route.length, 32, 'handset derived a 32-byte route and the server agreed');
    regConn.close();

    t.test('challenge', async (t) => {
      const c = await connectRaw(gw.url);
      const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
      t.equal(ch.nonce.length, 32);
      t.equal(ch.oprfPublicKey.length, 32);
      t.equal(ch.protocol, 1);
      t.equal(ch.authDeadlineMs, 2500);
      t.equal(ch.mailboxMaxAgeS, 45 * 86_400, 'the mailbox retention, from --mailbox-max-age-s');
      c.close();
    });

    t.test('an op before authentication gets NOT_AUTHENTICATED', async (t) => {
      const c = await connectRaw(gw.url);
      c.send([{ req: 3, lookup: { route: dev.route } }]);
      const r = await c.reply(3);
      t.equal(r.error?.code, ErrorCode.NOT_AUTHENTICATED);
      c.close();
    });

    t.test('no authentication before the deadline closes 4001', async (t) => {
      const c = await connectRaw(gw.url);
      t.equal((await c.closed).code, CloseCode.AUTH_TIMEOUT);
    });

    t.test('garbage bytes close 4000', async (t) => {
      const c = await connectRaw(gw.url);
      c.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
      t.equal((await c.closed).code, CloseCode.BAD_FRAME);
      await stillServes(t, gw.url, dev);
    });

    t.test('a text frame closes 1003', async (t) => {
      const c = await connectRaw(gw.url);
      c.sendRaw('hello', false);
      t.equal((await c.closed).code, CloseCode.UNSUPPORTED_DATA);
      await stillServes(t, gw.url, dev);
    });

    t.test('an oversize frame closes 1009', async (t) => {
      const c = await connectRaw(gw.url);
      c.sendRaw(new Uint8Array(70_000));
      t.equal((await c.closed).code, CloseCode.TOO_LARGE);
      await stillServes(t, gw.url, dev);
    });

    t.test('an unknown op type gets UNKNOWN_OP and the socket stays', async (t) => {
      const c = await connectRaw(gw.url);
      // Frame { ops: [ Op { req: 5, field 99 (varint) = 1 } ] }
      const op = new Uint8Array([0x08, 0x05, 0x98, 0x06, 0x01]);
      c.sendRaw(new Uint8Array([0x0a, op.length, ...op]));
      const r = await c.reply(5);
      t.equal(r.error?.code, ErrorCode.UNKNOWN_OP);
      // A server-only op sent by a client is unknown too.
      c.send([{ req: 6, challenge: { nonce: new Uint8Array(32) } }]);
      t.equal((await c.reply(6)).error?.code, ErrorCode.UNKNOWN_OP);
      t.equal(c.ws.readyState, c.ws.OPEN);
      c.close();
    });

    t.test('a wrong challenge signature gets AUTH_FAILED and close 4002', async (t) => {
      const c = await connectRaw(gw.url);
      await c.next((o) => o.body === 'challenge');
      const other = generateIdentity();
      c.send([{ req: 4, auth: { route: dev.route, device: dev.device, signature: sign(other.secretKey, authInput(new Uint8Array(32), dev.route, dev.device)) } }]);
      t.equal((await c.reply(4)).error?.code, ErrorCode.AUTH_FAILED);
      t.equal((await c.closed).code, CloseCode.AUTH_FAILED);
      await stillServes(t, gw.url, dev);
    });

    t.test('a replayed signature from another connection fails', async (t) => {
      const first = await connectRaw(gw.url);
      const ch1 = (await first.next((o) => o.body === 'challenge')).challenge!;
      const sig = sign(dev.id.secretKey, authInput(ch1.nonce, dev.route, dev.device));
      first.close();
      const c = await connectRaw(gw.url);
      await c.next((o) => o.body === 'challenge');
      c.send([{ req: 4, auth: { route: dev.route, device: dev.device, signature: sig } }]);
      t.equal((await c.reply(4)).error?.code, ErrorCode.AUTH_FAILED);
      t.equal((await c.closed).code, CloseCode.AUTH_FAILED);
    });

    t.test('an unknown device looks like a wrong signature', async (t) => {
      // Everything the socket sees (the answer and the close), for an auth of `device`
      // signed with `secretKey` over this connection's nonce.
      const seen = async (device: Uint8Array, secretKey: Uint8Array) => {
        const c = await connectRaw(gw.url);
        const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
        c.send([{ req: 4, auth: { route: dev.route, device, signature: sign(secretKey, authInput(ch.nonce, dev.route, device)) } }]);
        const r = await c.reply(4);
        const closed = await c.closed;
        return { body: r.body, error: { code: r.error?.code, message: r.error?.message, retryAfterMs: r.error?.retryAfterMs }, close: [closed.code, closed.reason] };
      };
      const unknown = await seen(new Uint8Array(randomBytes(16)), dev.id.secretKey);
      const wrongKey = await seen(dev.device, generateIdentity().secretKey);
      t.equal(unknown.error.code, ErrorCode.AUTH_FAILED);
      t.same(unknown, wrongKey, 'the same answer and close as a wrong signature of a registered device: no existence oracle');
    });

    t.test('opt-in errors', async (t) => {
      const c = await connectRaw(gw.url);
      c.send([{ req: 1, verifyStart: { number: '12345' } }]);
      t.equal((await c.reply(1)).error?.code, ErrorCode.BAD_NUMBER);
      c.send([{ req: 2, verifyStart: { number: '+15550001002' } }]);
      t.equal((await c.reply(2)).body, 'verifyStarted');
      c.send([{ req: 3, register: { number: '+15550001002', code: 'nope' } }]);
      t.equal((await c.reply(3)).error?.code, ErrorCode.VERIFY_FAILED);
      c.send([{ req: 4, register: { number: '+15550001003', code: '000000' } }]);
      t.equal((await c.reply(4)).error?.code, ErrorCode.VERIFY_FAILED, 'code for another number');
      c.close();
    });

    t.test('authenticated errors', async (t) => {
      const c = await authenticateRaw(gw.url, dev);
      c.send([{ req: 1, lookup: { route: new Uint8Array(32) } }]);
      // Unknown route: an empty device list of the fixed answer size, not an error (docs/PRIVACY.md).
      t.same((await c.reply(1)).devices?.devices, [], 'unknown route: no devices');
      c.send([{ req: 2, lookup: { route: new Uint8Array(5) } }]);
      t.equal((await c.reply(2)).error?.code, ErrorCode.BAD_TOKEN);
      c.send([{ req: 3, send: { envelopes: [{ version: 1, suite: 1, route: dev.route, device: new Uint8Array(3) }] } }]);
      const sr = (await c.reply(3)).sendResult!;
      t.equal(sr.receipts[0]!.status, 'failed');
      t.equal(sr.receipts[0]!.code, ErrorCode.BAD_TOKEN);
      c.send([{ req: 4, auth: { route: dev.route, device: dev.device, signature: new Uint8Array(64) } }]);
      t.equal((await c.reply(4)).error?.code, ErrorCode.ALREADY_AUTHENTICATED);
      c.send([{ req: 5, send: { envelopes: [] } }]);
      t.equal((await c.reply(5)).error?.code, ErrorCode.TOO_LARGE);
      c.close();
    });

    t.test('a second connection of the same device closes the first with 4003', async (t) => {
      const a = await authenticateRaw(gw.url, dev);
      const b = await authenticateRaw(gw.url, dev);
      t.equal((await a.closed).code, CloseCode.CONNECTED_ELSEWHERE);
      t.equal(b.ws.readyState, b.ws.OPEN);
      b.close();
    });

    t.test('a flood of bad ops closes 4008', async (t) => {
      const c = await connectRaw(gw.url);
      const frame = encodeFrame(Array.from({ length: 40 }, (_, i) => ({ req: i + 1, lookup: { route: dev.route } })));
      c.sendRaw(frame);
      t.equal((await c.closed).code, CloseCode.FLOOD);
      await stillServes(t, gw.url, dev);
    });

    t.test('ping before authentication: ok with the same req; the auth deadline still holds', async (t) => {
      const c = await connectRaw(gw.url);
      await c.next((o) => o.body === 'challenge');
      c.send([{ req: 41, ping: {} }, { req: 2 ** 32 - 1, ping: {} }]);
      t.equal((await c.reply(41)).body, 'ok');
      t.equal((await c.reply(2 ** 32 - 1)).body, 'ok', 'the largest req is echoed');
      // Pings do not extend the deadline: a socket that keeps pinging is still closed.
      let req = 100;
      const pinger = setInterval(() => { if (c.ws.readyState === c.ws.OPEN) c.send([{ req: ++req, ping: {} }]); }, 300);
      const closed = await c.closed;
      clearInterval(pinger);
      t.equal(closed.code, CloseCode.AUTH_TIMEOUT);
      t.ok(c.ops.filter((o) => o.body === 'ok').length >= 3, 'the pings meanwhile were answered');
      t.equal(c.ops.filter((o) => o.body === 'error').length, 0, 'and none was an error');
    });

    t.test('ping after authentication: ok with the same req, the socket stays', async (t) => {
      const c = await authenticateRaw(gw.url, dev);
      c.send([{ req: 42, ping: {} }]);
      const r = await c.reply(42);
      t.equal(r.body, 'ok');
      t.equal(r.req, 42);
      // Several in one frame, answered in order, each with its own req.
      c.send([{ req: 43, ping: {} }, { req: 44, ping: {} }, { req: 45, lookup: { route: dev.route } }, { req: 46, ping: {} }]);
      for (const req of [43, 44, 46]) t.equal((await c.reply(req)).body, 'ok', `ping ${req}`);
      t.equal((await c.reply(45)).body, 'devices', 'the other op of the frame is answered too');
      t.equal(c.ws.readyState, c.ws.OPEN);
      c.close();
    });

    t.test('a flood of pings gets the standard flood outcome: BAD_REQUEST past the ops per frame, then 4008', async (t) => {
      const { maxOpsPerFrame, maxBadOps } = gw.relay.limits;
      const n = maxOpsPerFrame + maxBadOps + 8;
      const c = await authenticateRaw(gw.url, dev);
      c.sendRaw(encodeFrame(Array.from({ length: n }, (_, i) => ({ req: 1000 + i, ping: {} }))));
      t.equal((await c.closed).code, CloseCode.FLOOD);
      const oks = c.ops.filter((o) => o.req >= 1000 && o.body === 'ok').length;
      const refused = c.ops.filter((o) => o.req >= 1000 && o.error?.code === ErrorCode.BAD_REQUEST).length;
      t.equal(oks, maxOpsPerFrame, 'the frame\'s first maxOpsPerFrame pings are answered');
      t.equal(refused, maxBadOps + 1, 'the excess gets BAD_REQUEST until the bad-op limit closes the socket');
      await stillServes(t, gw.url, dev);
    });

    t.test('a ping does not disturb a delivery in flight', async (t) => {
      const { c: sender } = await registerRaw(gw.url, '+15550001005');
      const b = await authenticateRaw(gw.url, dev);
      const id = new Uint8Array(randomBytes(16));
      sender.send([{ req: 11, send: { envelopes: [{ version: 1, suite: 1, route: dev.route, device: dev.device, id, enc: new Uint8Array(32), ciphertext: new Uint8Array(272) }] } }]);
      const got = await b.next((o) => o.body === 'deliver');
      t.same(Buffer.from(got.deliver!.envelopes[0]!.id), Buffer.from(id), 'handed to the device, not acked yet');
      b.send([{ req: 12, ping: {} }]);
      t.equal((await b.reply(12)).body, 'ok');
      // The ack in the same frame as another ping: both handled.
      b.send([{ req: 13, ping: {} }, { req: 0, deliverAck: { ids: [id] } }]);
      t.equal((await b.reply(13)).body, 'ok');
      const receipt = (await sender.reply(11)).sendResult!.receipts[0]!;
      t.equal(receipt.status, 'delivered', 'the ack after the pings settled the live delivery');
      t.equal(b.ops.filter((o) => o.body === 'deliver').length, 1, 'delivered once');
      t.equal(b.ws.readyState, b.ws.OPEN);
      b.close();
      sender.close();
    });

    t.test('HTTP endpoints on the same port', async (t) => {
      const base = gw.url.replace('ws://', 'http://').replace(/\/ws$/, '');
      t.equal((await fetch(`${base}/healthz`)).status, 200);
      t.equal((await fetch(`${base}/readyz`)).status, 200);
      const m = await (await fetch(`${base}/metrics`)).text();
      t.match(m, /hushwire_connections_total/);
      t.match(m, new RegExp(`hushwire_transport_info\\{transport="${transport}"`));
      t.match(m, new RegExp(`hushwire_ed25519_info\\{engine="${ed25519Engine().kind}",reason="[^"]+"\\} 1`));
    });
  });
}
