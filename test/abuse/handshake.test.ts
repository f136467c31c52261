// Bad input around authentication and the HTTP upgrade, on every transport that loads:
// replayed and stale challenge signatures, a socket that never authenticates, thousands
// of headers on the upgrade request, a foreign Origin where an allow-list is configured.
// Each has its expected code, and afterwards the gateway still serves.
//
// Already covered in test/gateway/protocol.test.ts (not repeated here): a signature by
// the wrong key (4002), a signature over another connection's nonce that never
// authenticated (4002), an unknown device (same answer as a wrong signature), a socket
// that sends nothing (4001).
import t from 'tap';
import { connect as netConnect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { connectRaw } from '../helpers/raw.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerRaw, authenticateRaw, stillServes } from '../helpers/raw-device.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { generateIdentity, sign, authInput, registerInput, prekeyInput } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { blindNumbers } from '../../relay/crypto/oprf.ts';
import { CloseCode, ErrorCode } from '../../relay/errors.ts';

const transports: ('uws' | 'ws')[] = (await uwsAvailable()) ? ['uws', 'ws'] : ['ws'];

/** Writes a raw HTTP request; resolves with the status line of the answer, or '' when
 *  the server closed the connection without one. Bounded by timeoutMs. */
function rawRequest(port: number, request: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error('no answer and no close in time')); }, timeoutMs);
    const done = () => { clearTimeout(timer); s.destroy(); resolve(got.split('\r\n')[0] ?? ''); };
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); if (got.includes('\r\n')) done(); });
    s.on('error', () => done()); // a reset is an answer too: refused
    s.on('close', () => done());
    s.write(request);
  });
}

function upgradeRequest(port: number, extra: string[]): string {
  return [
    'GET /ws HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13',
    ...extra, '', '',
  ].join('\r\n');
}

for (const transport of transports) {
  t.test(`handshake abuse on ${transport}`, async (t) => {
    const gw = await startTestGateway({
      transport, authTimeoutMs: 800, logLevel: 'warn', allowedOrigins: ['https://app.hushwire.example'],
    });
    t.teardown(() => gw.close());
    const port = Number(new URL(gw.url).port);
    const { c: reg, dev } = await registerRaw(gw.url, '+15556660001');
    reg.close();
    const { c: reg2, dev: dev2 } = await registerRaw(gw.url, '+15556660002');
    reg2.close();

    t.test('a signature recorded from a successful session is stale on the next: 4002', async (t) => {
      const first = await connectRaw(gw.url);
      const ch = (await first.next((o) => o.body === 'challenge')).challenge!;
      const recorded = { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(ch.nonce, dev.route, dev.device)) };
      first.send([{ req: 1, auth: recorded }]);
      t.equal((await first.reply(1)).body, 'ok', 'accepted on its own connection');
      first.close();
      await first.closed;
      const replay = await connectRaw(gw.url);
      await replay.next((o) => o.body === 'challenge');
      replay.send([{ req: 2, auth: recorded }]);
      t.equal((await replay.reply(2)).error?.code, ErrorCode.AUTH_FAILED);
      t.equal((await replay.closed).code, CloseCode.AUTH_FAILED);
      await stillServes(t, gw.url, dev);
    });

    t.test('a valid auth replayed on the same socket gets ALREADY_AUTHENTICATED', async (t) => {
      const c = await connectRaw(gw.url);
      const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
      const auth = { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(ch.nonce, dev.route, dev.device)) };
      c.send([{ req: 1, auth }]);
      t.equal((await c.reply(1)).body, 'ok');
      c.send([{ req: 2, auth }]);
      t.equal((await c.reply(2)).error?.code, ErrorCode.ALREADY_AUTHENTICATED);
      t.equal(c.ws.readyState, c.ws.OPEN, 'the authenticated socket stays');
      c.close();
    });

    t.test("this nonce, but signed for another device's ids: 4002", async (t) => {
      const c = await connectRaw(gw.url);
      const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
      // dev signs over dev2's ids: the server checks against dev2's key.
      c.send([{ req: 1, auth: { route: dev2.route, device: dev2.device, signature: sign(dev.id.secretKey, authInput(ch.nonce, dev2.route, dev2.device)) } }]);
      t.equal((await c.reply(1)).error?.code, ErrorCode.AUTH_FAILED);
      t.equal((await c.closed).code, CloseCode.AUTH_FAILED);
      await stillServes(t, gw.url, dev2);
    });

    t.test('malformed signatures (short, empty, all zero) get AUTH_FAILED and 4002', async (t) => {
      for (const signature of [new Uint8Array(63), new Uint8Array(0), new Uint8Array(64)]) {
        const c = await connectRaw(gw.url);
        await c.next((o) => o.body === 'challenge');
        c.send([{ req: 1, auth: { route: dev.route, device: dev.device, signature } }]);
        t.equal((await c.reply(1)).error?.code, ErrorCode.AUTH_FAILED, `${signature.length}-byte signature`);
        t.equal((await c.closed).code, CloseCode.AUTH_FAILED);
      }
      await stillServes(t, gw.url, dev);
    });

    t.test('a register signature replayed on a new connection is refused and registers nothing', async (t) => {
      const number = '+15556660003';
      const id = generateIdentity();
      const prekey = generateKeyPair();
      const device = new Uint8Array(randomBytes(16));
      const old = await connectRaw(gw.url);
      const oldCh = (await old.next((o) => o.body === 'challenge')).challenge!;
      const stale = sign(id.secretKey, registerInput(oldCh.nonce, device, id.publicKey, prekey.publicKey));
      old.close();
      const c = await connectRaw(gw.url);
      await c.next((o) => o.body === 'challenge');
      c.send([{ req: 1, verifyStart: { number } }]);
      const code = (await c.reply(1)).verifyStarted!.devCode;
      c.send([{
        req: 2,
        register: {
          number, code, device, identityKey: id.publicKey, prekey: prekey.publicKey,
          prekeySignature: sign(id.secretKey, prekeyInput(prekey.publicKey)), signature: stale,
          blinded: blindNumbers([number]).blinded[0],
        },
      }]);
      t.equal((await c.reply(2)).error?.code, ErrorCode.AUTH_FAILED);
      c.close();
      const me = await authenticateRaw(gw.url, dev);
      const { route: otherRoute } = await registerRaw(gw.url, '+15556660004').then(({ c: x, dev: d }) => { x.close(); return d; });
      t.ok(otherRoute.length === 32);
      me.close();
      // The stale device cannot authenticate: it was never registered.
      const probe = await connectRaw(gw.url);
      const pch = (await probe.next((o) => o.body === 'challenge')).challenge!;
      probe.send([{ req: 3, auth: { route: otherRoute, device, signature: sign(id.secretKey, authInput(pch.nonce, otherRoute, device)) } }]);
      t.equal((await probe.reply(3)).error?.code, ErrorCode.AUTH_FAILED, 'no such device');
      await stillServes(t, gw.url, dev);
    });

    t.test('a socket that keeps talking but never authenticates is closed 4001 on time', async (t) => {
      const c = await connectRaw(gw.url);
      await c.next((o) => o.body === 'challenge');
      // Ops before auth are answered NOT_AUTHENTICATED; they do not extend the deadline.
      const talk = setInterval(() => {
        if (c.ws.readyState === c.ws.OPEN) c.send([{ req: 5, lookup: { route: dev.route } }]);
      }, 100);
      const { code } = await c.closed;
      clearInterval(talk);
      t.equal(code, CloseCode.AUTH_TIMEOUT);
      t.ok(c.ops.some((o) => o.error?.code === ErrorCode.NOT_AUTHENTICATED), 'its ops were refused meanwhile');
      await stillServes(t, gw.url, dev);
    });

    t.test('verify_start and auth in one frame: the verify_start is answered in either order', async (t) => {
      for (const [i, order] of (['verify_start first', 'auth first'] as const).entries()) {
        for (let k = 0; k < 3; k++) {
          const c = await connectRaw(gw.url);
          const nonce = (await c.next((o) => o.body === 'challenge')).challenge!.nonce;
          const auth = { req: 7, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(nonce, dev.route, dev.device)) } };
          const start = { req: 8, verifyStart: { number: `+155566610${i}${k}` } };
          c.send(order === 'auth first' ? [auth, start] : [start, auth]);
          t.equal((await c.reply(7)).body, 'ok', `${order} #${k}: authenticated`);
          // With the auth under way when it arrives: BAD_REQUEST; done while the start was
          // computed: ALREADY_AUTHENTICATED; it used to get no answer at all.
          const answer = await c.reply(8, 5_000).catch(() => null);
          t.ok(answer !== null && ['verifyStarted', 'error'].includes(answer.body ?? ''), `${order} #${k}: the verify_start is answered (${answer?.error?.code ?? answer?.body})`);
          c.close();
          await c.closed;
        }
      }
    });

    t.test('verify_start past the per-connection cap gets RATE_LIMITED and 4008; the next connection starts fresh', async (t) => {
      const c = await connectRaw(gw.url);
      await c.next((o) => o.body === 'challenge');
      // Five different numbers (the per-number budget is not what refuses here), then a
      // sixth. (Sent in one frame, the sixth would close the socket before the first
      // five are answered: a flood gets no more answers.)
      const numbers = Array.from({ length: 6 }, (_, i) => `+1555777${transport === 'uws' ? 1 : 2}${String(i).padStart(3, '0')}`);
      for (let i = 1; i <= 5; i++) {
        c.send([{ req: i, verifyStart: { number: numbers[i - 1]! } }]);
        t.equal((await c.reply(i)).body, 'verifyStarted', `start ${i} answered`);
      }
      c.send([{ req: 6, verifyStart: { number: numbers[5]! } }]);
      const sixth = await c.reply(6);
      t.equal(sixth.error?.code, ErrorCode.RATE_LIMITED, 'the sixth is refused');
      t.notMatch(sixth.error?.message ?? '', /555777/, 'the refusal does not echo the number');
      t.equal((await c.closed).code, CloseCode.FLOOD, 'and the socket closed 4008');
      const again = await connectRaw(gw.url);
      await again.next((o) => o.body === 'challenge');
      again.send([{ req: 1, verifyStart: { number: numbers[5]! } }]);
      t.equal((await again.reply(1)).body, 'verifyStarted', 'a new connection may start a verification');
      again.close();
      await stillServes(t, gw.url, dev);
    });

    t.test('thousands of headers on the upgrade request are refused; the process is fine', async (t) => {
      const many = Array.from({ length: 5000 }, (_, i) => `X-H${i}: v`);
      const status = await rawRequest(port, upgradeRequest(port, many));
      t.notMatch(status, /^HTTP\/1\.1 101/, `not upgraded (${status || 'connection closed'})`);
      t.ok(status === '' || /^HTTP\/1\.1 4\d\d/.test(status), 'a 4xx or a closed connection');
      // One huge header line too.
      const huge = await rawRequest(port, upgradeRequest(port, [`X-Big: ${'a'.repeat(200_000)}`]));
      t.notMatch(huge, /^HTTP\/1\.1 101/, `one 200 kB header not upgraded (${huge || 'connection closed'})`);
      // A normal upgrade right after works.
      const ok = await rawRequest(port, upgradeRequest(port, []));
      t.match(ok, /^HTTP\/1\.1 101/, 'a normal upgrade still works');
      await stillServes(t, gw.url, dev);
    });

    t.test('a foreign Origin is refused with 403 where an allow-list is configured', async (t) => {
      await t.rejects(connectRaw(gw.url, { origin: 'https://evil.example' }), /HTTP 403/);
      await t.rejects(connectRaw(gw.url, { origin: 'https://app.hushwire.example.evil.example' }), /HTTP 403/, 'no prefix match');
      await t.rejects(connectRaw(gw.url, { origin: 'null' }), /HTTP 403/, 'opaque origin');
      const allowed = await connectRaw(gw.url, { origin: 'https://app.hushwire.example' });
      t.equal((await allowed.next((o) => o.body === 'challenge')).body, 'challenge', 'the allowed Origin is served');
      allowed.close();
      await stillServes(t, gw.url, dev); // handsets send no Origin at all
    });

    t.test('nothing went wrong inside the gateway', async (t) => {
      t.notMatch(gw.logs(), /"level":(50|60)/, 'no error or fatal log line');
    });
  });
}
