// Route and device ids holding `.`, `*`, `>` or spaces. On the wire they are protobuf
// bytes; the gateway turns them into 32-hex tokens (relay/tokens.ts) before any subject
// or key is built. This test sends such ids every way a client can (auth, lookup, send,
// and a device registered with such an id), on a NATS-backed gateway per transport,
// while a `>` subscription records every subject and header that crosses NATS: none may
// hold a wildcard, a space or an empty token, and every Hushwire subject token is hex.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { connectRaw } from '../helpers/raw.ts';
import { registerRaw, authenticateRaw, stillServes } from '../helpers/raw-device.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { sign, authInput, registerInput, prekeyInput, generateIdentity } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { blindNumbers } from '../../relay/crypto/oprf.ts';
import { assertToken } from '../../relay/tokens.ts';
import { MemoryBus, DEFAULT_MAILBOX_LIMITS } from '../../relay/bus/index.ts';
import { CloseCode, ErrorCode, HushwireError } from '../../relay/errors.ts';

const transports: ('uws' | 'ws')[] = (await uwsAvailable()) ? ['uws', 'ws'] : ['ws'];
const HOSTILE_ROUTE = new Uint8Array(Buffer.from('*.> '.repeat(8)));          // 32 bytes
const HOSTILE_DEVICE = new Uint8Array(Buffer.from('a.b*c>d e.f*g>h '));        // 16 bytes

t.test('token strings with subject syntax are refused before any bus call', async (t) => {
  for (const bad of ['a.b', '*', '>', 'a b', '', '0'.repeat(31) + '.', '0'.repeat(31) + '*', '0'.repeat(31) + '>', '0'.repeat(31) + ' ', 'A'.repeat(32)]) {
    t.throws(() => assertToken(bad), { code: ErrorCode.BAD_TOKEN }, JSON.stringify(bad));
  }
  const bus = new MemoryBus({ limits: DEFAULT_MAILBOX_LIMITS });
  await bus.start();
  t.teardown(() => bus.close());
  const ok = '0'.repeat(32);
  const calls: [string, () => Promise<unknown>][] = [
    ['deliverLive', () => bus.deliverLive('a.*>', ok, new Uint8Array(1), 100)],
    ['mailboxPut', () => bus.mailboxPut(ok, 'a b', ok, new Uint8Array(1))],
    ['mailboxRead', () => bus.mailboxRead('>', ok, 0, 1)],
    ['directoryGet', () => bus.directoryGet('*')],
    ['publishControl', () => bus.publishControl(ok, 'x.y', { kind: 'unregistered' })],
  ];
  for (const [name, call] of calls) {
    try {
      await call();
      t.fail(`${name} accepted a hostile token`);
    } catch (e) {
      t.equal((e as HushwireError).code, ErrorCode.BAD_TOKEN, `${name}: BAD_TOKEN`);
    }
  }
});

t.test('hostile ids over a NATS-backed gateway', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const key = oprfKeyFile();
  const spy = await connect({ servers: server.url });
  t.teardown(() => spy.close());
  const subjects: string[] = [];
  const headers: string[] = [];
  spy.subscribe('>', {
    callback: (_e, m) => {
      subjects.push(m.subject);
      if (m.reply) subjects.push(m.reply);
      if (m.headers) headers.push(m.headers.toString());
    },
  });
  await spy.flush();

  for (const [i, transport] of transports.entries()) {
    await t.test(transport, async (t) => {
      const gw = await startTestGateway({ transport, nats: server.url, oprfKeyFile: key, logLevel: 'warn', name: `tok-${i}` });
      t.teardown(() => gw.close());
      const { c: reg, dev } = await registerRaw(gw.url, `+1555888000${i}`);
      reg.close();

      // Auth claiming hostile ids: the same answer as any unknown device.
      const c = await connectRaw(gw.url);
      const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
      c.send([{ req: 1, auth: { route: HOSTILE_ROUTE, device: HOSTILE_DEVICE, signature: sign(dev.id.secretKey, authInput(ch.nonce, HOSTILE_ROUTE, HOSTILE_DEVICE)) } }]);
      t.equal((await c.reply(1)).error?.code, ErrorCode.AUTH_FAILED);
      t.equal((await c.closed).code, CloseCode.AUTH_FAILED);

      // Authenticated: lookups and sends aimed at hostile ids.
      const a = await authenticateRaw(gw.url, dev);
      a.send([{ req: 2, lookup: { route: HOSTILE_ROUTE } }]);
      t.same((await a.reply(2)).devices?.devices, [], 'lookup of a hostile 32-byte route: no devices (fixed-size answer)');
      a.send([{ req: 3, lookup: { route: new Uint8Array(Buffer.from('a.b')) } }]);
      t.equal((await a.reply(3)).error?.code, ErrorCode.BAD_TOKEN, "lookup of 'a.b'");
      const env = (route: Uint8Array, device: Uint8Array) => ({
        version: 1, suite: 1, route, device, id: new Uint8Array(randomBytes(16)), enc: new Uint8Array(32), ciphertext: new Uint8Array(48),
      });
      a.send([{
        req: 4,
        send: {
          envelopes: [
            env(HOSTILE_ROUTE, HOSTILE_DEVICE),
            env(new Uint8Array(Buffer.from('*')), HOSTILE_DEVICE),
            env(HOSTILE_ROUTE, new Uint8Array(Buffer.from('> '))),
            env(dev.route, HOSTILE_DEVICE),
          ],
        },
      }]);
      const receipts = (await a.reply(4)).sendResult!.receipts;
      t.same(receipts.map((r) => [r.status, r.code]), [
        ['failed', ErrorCode.NOT_REGISTERED], ['failed', ErrorCode.BAD_TOKEN], ['failed', ErrorCode.BAD_TOKEN], ['failed', ErrorCode.NOT_REGISTERED],
      ], 'hostile but well-sized ids: NOT_REGISTERED; wrong sizes: BAD_TOKEN');
      a.close();

      // A device whose random id happens to be made of those bytes is just a device.
      const number = `+1555888100${i}`;
      const r = await connectRaw(gw.url);
      const rch = (await r.next((o) => o.body === 'challenge')).challenge!;
      r.send([{ req: 1, verifyStart: { number } }]);
      const code = (await r.reply(1)).verifyStarted!.devCode;
      const id = generateIdentity();
      const prekey = generateKeyPair();
      r.send([{
        req: 2,
        register: {
          number, code, device: HOSTILE_DEVICE, identityKey: id.publicKey, prekey: prekey.publicKey,
          prekeySignature: sign(id.secretKey, prekeyInput(prekey.publicKey)),
          signature: sign(id.secretKey, registerInput(rch.nonce, HOSTILE_DEVICE, id.publicKey, prekey.publicKey)),
          blinded: blindNumbers([number]).blinded[0],
        },
      }]);
      const registered = await r.reply(2);
      t.equal(registered.body, 'registered', 'registered with a hostile-looking device id');
      const hostileRoute = registered.registered!.route;
      const sender = await authenticateRaw(gw.url, dev);
      const e = env(hostileRoute, HOSTILE_DEVICE);
      sender.send([{ req: 5, send: { envelopes: [e] } }]);
      const deliver = await r.next((o) => o.body === 'deliver');
      t.same(deliver.deliver!.envelopes[0]!.id, e.id, 'delivered live to it');
      r.send([{ req: 0, deliverAck: { ids: [e.id] } }]);
      t.equal((await sender.reply(5)).sendResult!.receipts[0]!.status, 'delivered');
      sender.close();
      r.close();
      await stillServes(t, gw.url, dev);
    });
  }

  await spy.flush();
  t.ok(subjects.length > 0, 'the spy saw the traffic');
  const bad = subjects.filter((s) => !/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(s));
  t.same(bad, [], 'no subject holds a wildcard, a space or an empty token');
  const hw = subjects.filter((s) => s.startsWith('hw.'));
  t.ok(hw.length > 0, 'Hushwire subjects were used');
  // hw.gw.<16 zeros>: each gateway's start-up permission probe (an empty publish; its
  // all-zero device subject matches the pattern below anyway). Real node batches carry
  // a gateway's random node id; none flow in this test, but the bus's periodic probe
  // (relay/bus/nats-heal.ts, every 30 s: an empty publish) goes to its own. hw.unreg: the opt-out
  // announcements' one fixed subject (the device's tokens are its payload, checked by
  // test/bus/nats.test.ts), here the start-up probe's empty publish; hw.unreg.intent,
  // the removals' intents (the same payload), likewise; hw.unreg.beat, every gateway's
  // beats (a random node name and a count: test/bus/nats.test.ts).
  t.same(hw.filter((s) => !/^hw\.gw\.[0-9a-f]{16}$/.test(s) && s !== 'hw.unreg' && s !== 'hw.unreg.intent' && s !== 'hw.unreg.beat' && !/^hw\.(dev|mbox\.\d{1,2})\.[0-9a-f]{32}\.[0-9a-f]{32}$/.test(s)), [], 'every hw subject is prefix.kind[.shard].hex32.hex32');
  const kv = subjects.filter((s) => s.startsWith('$KV.'));
  // Directory keys are route tags; rate-limit counters (relay/bus/counters.ts) kind.hex32
  // (vcode: the cluster's verification code budget, one constant key).
  t.same(kv.filter((s) => !/^\$KV\.(hw_dir|hw_rl\.(dev|rt|vs|sweep|vcode))\.[0-9a-f]{32}$/.test(s)), [], 'every directory and counter key is hex32');
  const hostileText = [Buffer.from(HOSTILE_ROUTE).toString('latin1'), Buffer.from(HOSTILE_DEVICE).toString('latin1')];
  t.same(headers.filter((h) => hostileText.some((x) => h.includes(x))), [], 'no header carries the hostile bytes');
});
