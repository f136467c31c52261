// set_prekey (docs/PROTOCOL.md section 11) against a real gateway on a real nats-server:
// the device's prekey is replaced in the directory (lookup shows it, signature verifying),
// the same prekey again is an idempotent `ok`, a new one within the interval is
// RATE_LIMITED, a bad signature / wrong sizes / no authentication are refused with their
// codes (the first two as bad ops: 4008 past maxBadOps), concurrent rotations of the
// devices of one route all land (compare-and-set), the other devices' records and this
// device's other fields stay as they were, and a stopped NATS gives UNAVAILABLE.
import t, { type Test } from 'tap';
import { startTestGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { freshNumber } from '../helpers/handsets.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { registerRaw, authenticateRaw, type RawDevice } from '../helpers/raw-device.ts';
import { httpGet, sample } from '../ops/fixtures.ts';
import { generateIdentity, sign, verify, prekeyInput } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { routeTag } from '../../relay/tokens.ts';
import { wire } from '../../relay/wire.ts';
import { bytesEqual } from '../../relay/bytes.ts';
import { ErrorCode, CloseCode } from '../../relay/errors.ts';
import { SET_PREKEY_BURST } from '../../relay/prekey.ts';

const skip = !haveNatsServer() && 'nats-server not installed';

let nextReq = 100;
async function setPrekey(c: RawClient, prekey: Uint8Array, signature: Uint8Array) {
  const req = nextReq++;
  c.send([{ req, setPrekey: { prekey, prekeySignature: signature } }]);
  return c.reply(req);
}

function signedPrekey(dev: RawDevice): { pub: Uint8Array; sig: Uint8Array } {
  const kp = generateKeyPair();
  return { pub: kp.publicKey, sig: sign(dev.id.secretKey, prekeyInput(kp.publicKey)) };
}

async function lookupSelf(c: RawClient, route: Uint8Array) {
  const req = nextReq++;
  c.send([{ req, lookup: { route } }]);
  const r = await c.reply(req);
  return r.devices!.devices;
}

async function gateway(t: Test, intervalS = 900) {
  const server = await startNatsServer({ t });
  const gw = await startTestGateway({ nats: [server.url], oprfKeyFile: oprfKeyFile(), natsPrefix: 'pk', mailboxShards: 1, prekeyRotationIntervalS: intervalS });
  t.teardown(() => gw.close());
  return { server, gw };
}

t.test('rotation: lookup shows the new prekey; same prekey again ok; a new one too soon RATE_LIMITED', { skip }, async (t) => {
  const { gw } = await gateway(t);
  const { c, dev } = await registerRaw(gw.url, freshNumber());
  t.teardown(() => c.close());
  const before = (await gw.relay.directory.devices(routeTag(dev.route)))[0]!;

  const next = signedPrekey(dev);
  const r = await setPrekey(c, next.pub, next.sig);
  t.equal(r.body, 'ok', 'set_prekey answered ok');

  const listed = await lookupSelf(c, dev.route);
  t.equal(listed.length, 1);
  t.ok(bytesEqual(listed[0]!.prekey!, next.pub), 'lookup lists the new prekey');
  t.ok(verify(dev.id.publicKey, prekeyInput(listed[0]!.prekey!), listed[0]!.prekeySignature!), 'and its signature verifies with the identity key');

  const after = (await gw.relay.directory.devices(routeTag(dev.route)))[0]!;
  t.ok(bytesEqual(after.identityKey, before.identityKey), 'identity key kept');
  t.equal(Number(after.registeredAtMs), Number(before.registeredAtMs), 'registered_at kept');
  t.equal(Number(after.lastSeenMs), Number(before.lastSeenMs), 'last_seen kept');
  t.ok(Number(after.prekeyRotatedAtMs) > 0, 'rotation time recorded');

  // A retry of the same rotation (its ok lost): ok again, nothing written.
  const again = await setPrekey(c, next.pub, next.sig);
  t.equal(again.body, 'ok', 'the current prekey again is accepted (idempotent)');

  const third = signedPrekey(dev);
  const limited = await setPrekey(c, third.pub, third.sig);
  t.equal(limited.error?.code, ErrorCode.RATE_LIMITED, 'a new prekey within the interval is refused');
  t.ok(limited.error!.retryAfterMs > 0 && limited.error!.retryAfterMs <= 900_000, `retry_after_ms within the interval (${limited.error!.retryAfterMs})`);
  const still = await lookupSelf(c, dev.route);
  t.ok(bytesEqual(still[0]!.prekey!, next.pub), 'the refused prekey was not written');

  // Another connection of the device meets the same interval (kept in the directory).
  c.close();
  await c.closed;
  const c2 = await authenticateRaw(gw.url, dev);
  t.teardown(() => c2.close());
  const limited2 = await setPrekey(c2, third.pub, third.sig);
  t.equal(limited2.error?.code, ErrorCode.RATE_LIMITED, 'a new connection does not reset the interval');

  const m = (await httpGet(gw.url, '/metrics')).body;
  t.equal(sample(m, 'hushwire_prekey_rotations_total', { outcome: 'rotated' }), 1, 'one rotation counted');
  t.equal(sample(m, 'hushwire_prekey_rotations_total', { outcome: 'unchanged' }), 1);
  t.equal(sample(m, 'hushwire_prekey_rotations_total', { outcome: 'rate_limited' }), 2);
});

t.test('refusals: unauthenticated, wrong sizes, bad signature (bad ops: 4008 past maxBadOps)', { skip }, async (t) => {
  const { gw } = await gateway(t);
  const { c, dev } = await registerRaw(gw.url, freshNumber());
  t.teardown(() => c.close());
  const next = signedPrekey(dev);

  const anon = await connectRaw(gw.url);
  t.teardown(() => anon.close());
  await anon.next((o) => o.body === 'challenge');
  const na = await setPrekey(anon, next.pub, next.sig);
  t.equal(na.error?.code, ErrorCode.NOT_AUTHENTICATED, 'before authentication: NOT_AUTHENTICATED');

  const short = await setPrekey(c, next.pub.subarray(0, 31), next.sig);
  t.equal(short.error?.code, ErrorCode.BAD_REQUEST, '31-byte prekey: BAD_REQUEST');
  const shortSig = await setPrekey(c, next.pub, next.sig.subarray(0, 63));
  t.equal(shortSig.error?.code, ErrorCode.BAD_REQUEST, '63-byte signature: BAD_REQUEST');
  const empty = await setPrekey(c, new Uint8Array(0), new Uint8Array(0));
  t.equal(empty.error?.code, ErrorCode.BAD_REQUEST, 'empty fields: BAD_REQUEST');

  // Signed by another identity key (one the request cannot supply: only the directory's counts).
  const other = generateIdentity();
  const forged = await setPrekey(c, next.pub, sign(other.secretKey, prekeyInput(next.pub)));
  t.equal(forged.error?.code, ErrorCode.AUTH_FAILED, 'a signature by another key: AUTH_FAILED');
  // A signature over another prekey.
  const wrong = signedPrekey(dev);
  const mismatched = await setPrekey(c, next.pub, wrong.sig);
  t.equal(mismatched.error?.code, ErrorCode.AUTH_FAILED, 'a signature over another prekey: AUTH_FAILED');
  const listed = await lookupSelf(c, dev.route);
  t.ok(bytesEqual(listed[0]!.prekey!, dev.prekey.publicKey), 'nothing written by the refusals');

  // 5 bad ops so far; the 33rd (past maxBadOps, 32) closes the socket 4008.
  const forgedSig = sign(other.secretKey, prekeyInput(next.pub));
  for (let i = 0; i < 27; i++) {
    const r = await setPrekey(c, next.pub, forgedSig);
    t.equal(r.error?.code, ErrorCode.AUTH_FAILED);
  }
  c.send([{ req: nextReq++, setPrekey: { prekey: next.pub, prekeySignature: forgedSig } }]);
  t.equal((await c.closed).code, CloseCode.FLOOD, 'bad signatures count as bad ops: 4008 FLOOD');

  const m = (await httpGet(gw.url, '/metrics')).body;
  t.equal(sample(m, 'hushwire_prekey_rotations_total', { outcome: 'bad_request' }), 3);
  t.equal(sample(m, 'hushwire_prekey_rotations_total', { outcome: 'bad_signature' }), 30);
  t.equal(sample(m, 'hushwire_prekey_rotations_total', { outcome: 'rotated' }), 0);
  t.notMatch(gw.logs(), Buffer.from(dev.route).toString('hex'), 'no route in the logs');
  t.notMatch(gw.logs(), Buffer.from(next.pub).toString('hex'), 'no prekey in the logs');
});

t.test('concurrent rotations of the devices of one route all land (compare-and-set)', { skip }, async (t) => {
  const { gw } = await gateway(t);
  const number = freshNumber();
  const devs: { c: RawClient; dev: RawDevice }[] = [];
  for (let i = 0; i < 5; i++) {
    const d = await registerRaw(gw.url, number);
    t.teardown(() => d.c.close());
    devs.push(d);
  }
  const next = devs.map((d) => signedPrekey(d.dev));
  // Sent in the same turn: each set_prekey reads the same revision; all but one conflict.
  const reqs = devs.map((d, i) => {
    const req = nextReq++;
    d.c.send([{ req, setPrekey: { prekey: next[i]!.pub, prekeySignature: next[i]!.sig } }]);
    return d.c.reply(req);
  });
  const answers = await Promise.all(reqs);
  t.same(answers.map((a) => a.body), devs.map(() => 'ok'), 'every rotation answered ok');
  const listed = await lookupSelf(devs[0]!.c, devs[0]!.dev.route);
  t.equal(listed.length, 5, 'all five devices still listed');
  for (let i = 0; i < devs.length; i++) {
    const mine = listed.find((d) => bytesEqual(d.device!, devs[i]!.dev.device));
    t.ok(mine && bytesEqual(mine.prekey!, next[i]!.pub), `device ${i} has its new prekey`);
  }
});

t.test('another device of the route is left exactly as it was', { skip }, async (t) => {
  const { gw } = await gateway(t);
  const number = freshNumber();
  const a = await registerRaw(gw.url, number);
  t.teardown(() => a.c.close());
  const b = await registerRaw(gw.url, number);
  t.teardown(() => b.c.close());
  const tag = routeTag(a.dev.route);
  const bBefore = (await gw.relay.directory.devices(tag)).find((d) => bytesEqual(d.device, b.dev.device))!;
  const next = signedPrekey(a.dev);
  t.equal((await setPrekey(a.c, next.pub, next.sig)).body, 'ok');
  const bAfter = (await gw.relay.directory.devices(tag)).find((d) => bytesEqual(d.device, b.dev.device))!;
  t.ok(bytesEqual(wire.DirectoryDevice.encode(bAfter).finish(), wire.DirectoryDevice.encode(bBefore).finish()), "the other device's record is unchanged");
});

t.test('NATS unavailable: UNAVAILABLE', { skip }, async (t) => {
  const { gw, server } = await gateway(t);
  const { c, dev } = await registerRaw(gw.url, freshNumber());
  t.teardown(() => c.close());
  await server.stop();
  const next = signedPrekey(dev);
  const r = await setPrekey(c, next.pub, next.sig);
  t.equal(r.error?.code, ErrorCode.UNAVAILABLE, 'refused UNAVAILABLE while nats-server is down');
});

t.test('one set_prekey at a time per connection: a second in the same frame is BAD_REQUEST', { skip }, async (t) => {
  const { gw } = await gateway(t);
  const { c, dev } = await registerRaw(gw.url, freshNumber());
  t.teardown(() => c.close());
  const a = signedPrekey(dev);
  const b = signedPrekey(dev);
  const [r1, r2] = [nextReq++, nextReq++];
  c.send([{ req: r1, setPrekey: { prekey: a.pub, prekeySignature: a.sig } }, { req: r2, setPrekey: { prekey: b.pub, prekeySignature: b.sig } }]);
  t.equal((await c.reply(r1)).body, 'ok', 'the first is done');
  const second = await c.reply(r2);
  t.equal(second.error?.code, ErrorCode.BAD_REQUEST, 'the second, sent while the first was under way');
  t.match(second.error?.message, /already in progress/);
  // Once the first is answered, another may come (here: the same prekey again, ok).
  t.equal((await setPrekey(c, a.pub, a.sig)).body, 'ok', 'the next one after the answer is served');
});

t.test('set_prekey ops per connection are bounded: the current prekey sent again in a loop is RATE_LIMITED past the burst', { skip }, async (t) => {
  const { gw } = await gateway(t);
  const { c, dev } = await registerRaw(gw.url, freshNumber());
  t.teardown(() => c.close());
  // Each set_prekey costs a directory read; the current prekey again writes nothing and
  // is not charged the rotation interval, so only a per-connection budget bounds it.
  const cur = { pub: dev.prekey.publicKey, sig: sign(dev.id.secretKey, prekeyInput(dev.prekey.publicKey)) };
  const answers: string[] = [];
  for (let i = 0; i < SET_PREKEY_BURST + 1; i++) {
    const r = await setPrekey(c, cur.pub, cur.sig);
    answers.push(r.body === 'ok' ? 'ok' : String(r.error?.code));
    if (i === SET_PREKEY_BURST) t.ok(Number(r.error?.retryAfterMs ?? 0) > 0, 'with retry_after_ms');
  }
  t.same(answers, [...Array(SET_PREKEY_BURST).fill('ok'), ErrorCode.RATE_LIMITED], 'the burst is served, the next one refused');
  // Not a bad op: the socket stays and serves other ops.
  const listed = await lookupSelf(c, dev.route);
  t.equal(listed.length, 1, 'the socket still serves');
  const m = (await httpGet(gw.url, '/metrics')).body;
  t.match(m, /hushwire_prekey_rotations_total\{outcome="rate_limited"\} 1\n/);
});
