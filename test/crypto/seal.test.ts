// Sealed-sender envelopes: roundtrip, the exact construction (checked by hand from the
// spec, not through seal.ts), tampering of every outer field, signature failures,
// padding buckets, input checks.
import t from 'tap';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { sealEnvelope, openEnvelope, envelopeAad, CONTENT_TYPE_TEXT, type SealParams } from '../../relay/crypto/seal.ts';
import { generateKeyPair, openBase, sealBase } from '../../relay/crypto/hpke.ts';
import { generateIdentity, sign, verify } from '../../relay/crypto/sign.ts';
import { pad, unpad, PAD_BUCKETS } from '../../relay/crypto/pad.ts';
import { wire, type EnvelopeProps } from '../../relay/wire.ts';

const rand = (n: number) => new Uint8Array(nodeRandomBytes(n));
const hex = bytesToHex;
const CANNOT_OPEN = { name: 'HushwireError', code: 'BAD_REQUEST', message: 'cannot open envelope' };
const SIG_FAILED = { name: 'HushwireError', code: 'AUTH_FAILED', message: 'sender signature did not verify' };

function party(number: string) {
  const id = generateIdentity();
  const prekey = generateKeyPair();
  return {
    route: rand(32),
    device: rand(16),
    identitySecret: id.secretKey,
    identityPublic: id.publicKey,
    number,
    prekey,
  };
}
type Party = ReturnType<typeof party>;

function params(from: Party, to: Party, body: Uint8Array, extra: Partial<SealParams> = {}): SealParams {
  return {
    recipient: { route: to.route, device: to.device, prekey: to.prekey.publicKey },
    sender: {
      route: from.route,
      device: from.device,
      identitySecret: from.identitySecret,
      identityPublic: from.identityPublic,
      number: from.number,
    },
    body,
    seq: 7,
    clientTs: 1_700_000_000_123,
    ...extra,
  };
}
const keysOf = (p: Party) => ({ route: p.route, device: p.device, prekeySecret: p.prekey.secretKey });
const req = <T>(v: T | null | undefined): T => {
  if (v === null || v === undefined) throw new Error('missing field');
  return v;
};

const alice = party('+14155550100');
const bob = party('+442079460958');

t.test('roundtrip returns every inner field', async (t) => {
  const body = utf8ToBytes('hello bob 👋');
  const env = sealEnvelope(params(alice, bob, body));
  t.equal(env.version, 1);
  t.equal(env.suite, 1);
  t.equal(env.serverTs, 0);
  t.equal(hex(req(env.route)), hex(bob.route));
  t.equal(hex(req(env.device)), hex(bob.device));
  t.equal(req(env.id).length, 16);
  t.equal(req(env.enc).length, 32);
  const o = openEnvelope(env, keysOf(bob));
  t.equal(hex(o.senderRoute), hex(alice.route));
  t.equal(hex(o.senderDevice), hex(alice.device));
  t.equal(hex(o.senderIdentityKey), hex(alice.identityPublic));
  t.equal(o.senderNumber, '+14155550100');
  t.equal(o.clientTs, 1_700_000_000_123);
  t.equal(o.contentType, CONTENT_TYPE_TEXT);
  t.equal(new TextDecoder().decode(o.body), 'hello bob 👋');
  t.equal(o.seq, 7);
  t.equal(hex(o.id), hex(req(env.id)));
});

t.test('through the wire: Envelope encode/decode, explicit id, content type, big counters', async (t) => {
  const id = rand(16);
  const env = sealEnvelope(
    params(alice, bob, new Uint8Array(0), { id, contentType: 42, seq: Number.MAX_SAFE_INTEGER, clientTs: 0 }),
  );
  t.equal(hex(req(env.id)), hex(id));
  const decoded = wire.Envelope.decode(wire.Envelope.encode({ ...env, serverTs: Date.now() }).finish());
  const o = openEnvelope(decoded, keysOf(bob));
  t.equal(o.contentType, 42);
  t.equal(o.seq, Number.MAX_SAFE_INTEGER);
  t.equal(o.clientTs, 0);
  t.equal(o.body.length, 0);
  t.equal(hex(o.id), hex(id));
});

t.test('the construction, checked by hand from the spec', async (t) => {
  const id = new Uint8Array(16).fill(0x11);
  const env = sealEnvelope(params(alice, bob, utf8ToBytes('spec'), { id }));
  const aad = concatBytes(utf8ToBytes('hushwire envelope v1'), Uint8Array.of(0, 1, 1), bob.route, bob.device, id);
  t.equal(hex(envelopeAad(1, 1, bob.route, bob.device, id)), hex(aad), 'aad layout');
  const padded = openBase(bob.prekey.secretKey, req(env.enc), utf8ToBytes('hushwire sealed sender v1'), aad, req(env.ciphertext));
  t.equal(padded.length, 256);
  const sealed = wire.Sealed.decode(unpad(padded));
  const unsigned = wire.Sealed.encode({
    senderRoute: alice.route,
    senderDevice: alice.device,
    senderIdentityKey: alice.identityPublic,
    senderNumber: '+14155550100',
    clientTs: 1_700_000_000_123,
    contentType: 1,
    body: utf8ToBytes('spec'),
    seq: 7,
  }).finish();
  const signed = concatBytes(utf8ToBytes('hushwire sealed v1'), Uint8Array.of(0), aad, unsigned);
  t.equal(verify(alice.identityPublic, signed, sealed.signature), true, 'signature covers label || 0 || aad || fields 1..8');
  t.equal(hex(sign(alice.identitySecret, signed)), hex(sealed.signature), 'and is exactly that (Ed25519 is deterministic)');
});

t.test('ciphertext is always a bucket + 16', async (t) => {
  const sizes = [0, 1, 100, 120, 150, 200, 255, 256, 900, 1000, 4000, 16000, 40000, 65000, 65300];
  for (let i = 0; i < 20; i++) sizes.push(Math.floor(Math.random() * 65300));
  const seen = new Set<number>();
  for (const size of sizes) {
    const body = rand(size);
    const env = sealEnvelope(params(alice, bob, body));
    const len = req(env.ciphertext).length;
    if (!PAD_BUCKETS.includes(len - 16)) t.fail(`size ${size}: ciphertext ${len}`);
    seen.add(len);
    const o = openEnvelope(env, keysOf(bob));
    if (hex(o.body) !== hex(body)) t.fail(`body ${size}`);
  }
  t.same([...seen].sort((a, b) => a - b), PAD_BUCKETS.map((b) => b + 16), 'every bucket used');
  t.throws(() => sealEnvelope(params(alice, bob, new Uint8Array(65536))), { name: 'HushwireError', code: 'TOO_LARGE' });
});

t.test('tampering any outer field fails', async (t) => {
  const env = sealEnvelope(params(alice, bob, utf8ToBytes('tamper me')));
  const flip = (b: Uint8Array | null | undefined, i = 0) => {
    const c = req(b).slice();
    c[i] ^= 1;
    return c;
  };
  t.equal(openEnvelope(env, keysOf(bob)).body.length, 9, 'untouched opens');
  // Route or device changed by the relay: even a recipient that holds the prekey (the
  // relay re-addressed it to another of bob's ids) cannot open it: the aad binds them.
  const route2 = flip(env.route);
  t.throws(() => openEnvelope({ ...env, route: route2 }, { ...keysOf(bob), route: route2 }), CANNOT_OPEN, 'route');
  const device2 = flip(env.device);
  t.throws(() => openEnvelope({ ...env, device: device2 }, { ...keysOf(bob), device: device2 }), CANNOT_OPEN, 'device');
  t.throws(() => openEnvelope({ ...env, id: flip(env.id) }, keysOf(bob)), CANNOT_OPEN, 'id');
  t.throws(() => openEnvelope({ ...env, enc: flip(env.enc, 31) }, keysOf(bob)), CANNOT_OPEN, 'enc');
  for (const i of [0, 1, 100, 255, 256, 271]) {
    t.throws(() => openEnvelope({ ...env, ciphertext: flip(env.ciphertext, i) }, keysOf(bob)), CANNOT_OPEN, `ciphertext byte ${i}`);
  }
  t.throws(() => openEnvelope({ ...env, ciphertext: req(env.ciphertext).subarray(0, 271) }, keysOf(bob)), CANNOT_OPEN, 'truncated');
  t.throws(() => openEnvelope({ ...env, ciphertext: concatBytes(req(env.ciphertext), new Uint8Array(768)) }, keysOf(bob)), CANNOT_OPEN, 'extended to next bucket');
  t.throws(() => openEnvelope({ ...env, version: 2 }, keysOf(bob)), { code: 'BAD_REQUEST', message: 'unsupported envelope version' });
  t.throws(() => openEnvelope({ ...env, suite: 2 }, keysOf(bob)), { code: 'BAD_REQUEST', message: 'unsupported envelope suite' });
});

t.test('wrong recipient', async (t) => {
  const env = sealEnvelope(params(alice, bob, utf8ToBytes('for bob')));
  const mallory = party('+15555550199');
  t.throws(() => openEnvelope(env, keysOf(mallory)), { code: 'BAD_REQUEST', message: 'envelope is not addressed to this device' });
  t.throws(
    () => openEnvelope(env, { route: bob.route, device: bob.device, prekeySecret: mallory.prekey.secretKey }),
    CANNOT_OPEN,
    'right address, wrong prekey',
  );
  t.throws(() => openEnvelope(env, { ...keysOf(bob), device: rand(16) }), { message: 'envelope is not addressed to this device' });
});

// Builds an envelope by hand so the inside can be anything a malicious sender chooses.
function craft(to: Party, inner: Uint8Array, id: Uint8Array = rand(16)): EnvelopeProps {
  const aad = envelopeAad(1, 1, to.route, to.device, id);
  const { enc, ciphertext } = sealBase(to.prekey.publicKey, utf8ToBytes('hushwire sealed sender v1'), aad, inner);
  return { version: 1, route: to.route, device: to.device, id, suite: 1, enc, ciphertext, serverTs: 0 };
}
function fieldsOf(from: Party, body: Uint8Array) {
  return {
    senderRoute: from.route,
    senderDevice: from.device,
    senderIdentityKey: from.identityPublic,
    senderNumber: from.number,
    clientTs: 5,
    contentType: 1,
    body,
    seq: 1,
  };
}
const sigInput = (aad: Uint8Array, unsigned: Uint8Array) => concatBytes(utf8ToBytes('hushwire sealed v1'), Uint8Array.of(0), aad, unsigned);

t.test('signature failures are AUTH_FAILED', async (t) => {
  const mallory = party('+15555550199');
  const id = rand(16);
  const aad = envelopeAad(1, 1, bob.route, bob.device, id);
  // Mallory claims to be alice (alice's identity key) but can only sign with her own key.
  const claimed = fieldsOf(alice, utf8ToBytes('I am alice'));
  const forged = sign(mallory.identitySecret, sigInput(aad, wire.Sealed.encode(claimed).finish()));
  const env = craft(bob, pad(wire.Sealed.encode({ ...claimed, signature: forged }).finish()), id);
  t.throws(() => openEnvelope(env, keysOf(bob)), SIG_FAILED, 'impersonation');

  // Surreptitious forwarding: bob re-seals alice's signed message to carol unchanged.
  const carol = party('+4930123456');
  const toBob = sealEnvelope(params(alice, bob, utf8ToBytes('for bob only')));
  const inner = wire.Sealed.decode(unpad(openBase(bob.prekey.secretKey, req(toBob.enc), utf8ToBytes('hushwire sealed sender v1'),
    envelopeAad(1, 1, bob.route, bob.device, req(toBob.id)), req(toBob.ciphertext))));
  const forwarded = craft(carol, pad(wire.Sealed.encode(inner).finish()), req(toBob.id));
  t.throws(() => openEnvelope(forwarded, keysOf(carol)), SIG_FAILED, 'forwarded to another recipient');

  // A signed field changed after signing (the body).
  const honest = fieldsOf(alice, utf8ToBytes('pay 10'));
  const sig = sign(alice.identitySecret, sigInput(aad, wire.Sealed.encode(honest).finish()));
  const changed = craft(bob, pad(wire.Sealed.encode({ ...honest, body: utf8ToBytes('pay 99'), signature: sig }).finish()), id);
  t.throws(() => openEnvelope(changed, keysOf(bob)), SIG_FAILED, 'body changed');
  const intact = craft(bob, pad(wire.Sealed.encode({ ...honest, signature: sig }).finish()), id);
  t.equal(new TextDecoder().decode(openEnvelope(intact, keysOf(bob)).body), 'pay 10', 'the honest one opens');
});

t.test('unknown fields stay signed and field order does not matter', async (t) => {
  const id = rand(16);
  const aad = envelopeAad(1, 1, bob.route, bob.device, id);
  const fields = fieldsOf(alice, utf8ToBytes('from the future'));
  const field10 = Uint8Array.of(0x52, 3, 1, 2, 3); // field 10, length-delimited, 3 bytes
  const unsigned = concatBytes(wire.Sealed.encode(fields).finish(), field10);
  const signature = sign(alice.identitySecret, sigInput(aad, unsigned));
  const inner = concatBytes(wire.Sealed.encode({ ...fields, signature }).finish(), field10);
  t.equal(openEnvelope(craft(bob, pad(inner), id), keysOf(bob)).senderNumber, '+14155550100');
  // and the unknown field is covered: change it and the signature fails
  const inner2 = concatBytes(wire.Sealed.encode({ ...fields, signature }).finish(), Uint8Array.of(0x52, 3, 1, 2, 4));
  t.throws(() => openEnvelope(craft(bob, pad(inner2), id), keysOf(bob)), SIG_FAILED);
  // another encoder's field order (signature first) verifies too: the signed bytes are
  // the received bytes without the signature record, not a re-encoding
  const sigFirst = concatBytes(wire.Sealed.encode({ signature }).finish(), unsigned);
  t.equal(openEnvelope(craft(bob, pad(sigFirst), id), keysOf(bob)).body.length, 15);
});

t.test('malformed insides are cannot open envelope', async (t) => {
  const id = rand(16);
  const aad = envelopeAad(1, 1, bob.route, bob.device, id);
  const good = fieldsOf(alice, utf8ToBytes('x'));
  const signed = (f: Record<string, unknown>) =>
    wire.Sealed.encode({ ...f, signature: sign(alice.identitySecret, sigInput(aad, wire.Sealed.encode(f).finish())) }).finish();
  const cases: [string, Uint8Array][] = [
    ['not padded', new Uint8Array(256).fill(7)],
    ['not a bucket size', concatBytes(signed(good), Uint8Array.of(0x80))],
    ['not protobuf', pad(Uint8Array.of(0xff, 0xff, 0xff, 0xff))],
    ['no signature', pad(wire.Sealed.encode(good).finish())],
    ['short sender route', pad(signed({ ...good, senderRoute: rand(31) }))],
    ['short sender device', pad(signed({ ...good, senderDevice: rand(15) }))],
    ['short identity key', pad(signed({ ...good, senderIdentityKey: alice.identityPublic.subarray(0, 31) }))],
    ['bad sender number', pad(signed({ ...good, senderNumber: '555-0100' }))],
  ];
  for (const [name, inner] of cases) t.throws(() => openEnvelope(craft(bob, inner, id), keysOf(bob)), CANNOT_OPEN, name);
});

t.test('seal refuses a mismatched identity pair and bad sender numbers', async (t) => {
  const other = generateIdentity();
  const p = params(alice, bob, utf8ToBytes('x'));
  t.throws(() => sealEnvelope({ ...p, sender: { ...p.sender, identityPublic: other.publicKey } }), {
    code: 'BAD_REQUEST',
    message: 'sender identity public key does not match the secret key',
  });
  t.throws(() => sealEnvelope({ ...p, sender: { ...p.sender, number: '4155550100' } }), { code: 'BAD_NUMBER' });
  const o = openEnvelope(sealEnvelope({ ...p, sender: { ...p.sender, number: '+1 (415) 555-0100' } }), keysOf(bob));
  t.equal(o.senderNumber, '+14155550100', 'the number is normalized before signing');
});

t.test('wrong-type and wrong-size inputs are HushwireError', async (t) => {
  const p = params(alice, bob, utf8ToBytes('x'));
  const env = sealEnvelope(p);
  const k = keysOf(bob);
  type F = (...a: unknown[]) => unknown;
  const s = sealEnvelope as F;
  const o = openEnvelope as F;
  const a = envelopeAad as F;
  const bad: [string, () => unknown, string?][] = [
    ['seal no params', () => s()],
    ['seal string', () => s('params')],
    ['seal no recipient', () => s({ ...p, recipient: undefined })],
    ['seal sender null', () => s({ ...p, sender: null })],
    ['seal recipient route short', () => s({ ...p, recipient: { ...p.recipient, route: rand(31) } }), 'BAD_TOKEN'],
    ['seal recipient device string', () => s({ ...p, recipient: { ...p.recipient, device: 'dev' } }), 'BAD_TOKEN'],
    ['seal prekey short', () => s({ ...p, recipient: { ...p.recipient, prekey: rand(31) } })],
    ['seal prekey low order', () => s({ ...p, recipient: { ...p.recipient, prekey: new Uint8Array(32) } })],
    ['seal sender route', () => s({ ...p, sender: { ...p.sender, route: [] } }), 'BAD_TOKEN'],
    ['seal sender device', () => s({ ...p, sender: { ...p.sender, device: rand(32) } }), 'BAD_TOKEN'],
    ['seal identity secret', () => s({ ...p, sender: { ...p.sender, identitySecret: rand(64) } })],
    ['seal identity public', () => s({ ...p, sender: { ...p.sender, identityPublic: 'pk' } })],
    ['seal number type', () => s({ ...p, sender: { ...p.sender, number: 14155550100 } }), 'BAD_NUMBER'],
    ['seal body string', () => s({ ...p, body: 'hello' })],
    ['seal body missing', () => s({ ...p, body: undefined })],
    ['seal contentType negative', () => s({ ...p, contentType: -1 })],
    ['seal contentType too big', () => s({ ...p, contentType: 2 ** 32 })],
    ['seal contentType string', () => s({ ...p, contentType: '1' })],
    ['seal seq fraction', () => s({ ...p, seq: 1.5 })],
    ['seal seq negative', () => s({ ...p, seq: -1 })],
    ['seal seq unsafe', () => s({ ...p, seq: 2 ** 53 })],
    ['seal seq string', () => s({ ...p, seq: '1' })],
    ['seal clientTs missing', () => s({ ...p, clientTs: undefined })],
    ['seal clientTs NaN', () => s({ ...p, clientTs: NaN })],
    ['seal id short', () => s({ ...p, id: rand(15) })],
    ['seal id string', () => s({ ...p, id: 'x'.repeat(16) })],
    ['open no env', () => o(undefined, k)],
    ['open no keys', () => o(env, undefined)],
    ['open keys route', () => o(env, { ...k, route: rand(16) }), 'BAD_TOKEN'],
    ['open keys device', () => o(env, { ...k, device: null }), 'BAD_TOKEN'],
    ['open keys prekey', () => o(env, { ...k, prekeySecret: rand(31) })],
    ['open env version missing', () => o({ ...env, version: undefined }, k)],
    ['open env route missing', () => o({ ...env, route: undefined }, k), 'BAD_TOKEN'],
    ['open env device short', () => o({ ...env, device: rand(8) }, k), 'BAD_TOKEN'],
    ['open env id short', () => o({ ...env, id: rand(8) }, k)],
    ['open env enc short', () => o({ ...env, enc: rand(31) }, k)],
    ['open env ciphertext string', () => o({ ...env, ciphertext: 'ct' }, k)],
    ['aad version', () => a(256, 1, bob.route, bob.device, rand(16))],
    ['aad suite', () => a(1, 'x', bob.route, bob.device, rand(16))],
    ['aad route', () => a(1, 1, rand(31), bob.device, rand(16)), 'BAD_TOKEN'],
    ['aad device', () => a(1, 1, bob.route, rand(17), rand(16)), 'BAD_TOKEN'],
    ['aad id', () => a(1, 1, bob.route, bob.device, rand(17))],
  ];
  for (const [name, fn, code] of bad) t.throws(fn, { name: 'HushwireError', code: code ?? 'BAD_REQUEST' }, name);
});

t.test('error messages carry no identifiers or plaintext', async (t) => {
  const env = sealEnvelope(params(alice, bob, utf8ToBytes('secret plans')));
  const msgs: string[] = [];
  const tries = [
    () => openEnvelope({ ...env, id: rand(16) }, keysOf(bob)),
    () => openEnvelope(env, keysOf(alice)),
    () => sealEnvelope({ ...params(alice, bob, utf8ToBytes('x')), seq: -1 }),
  ];
  for (const f of tries) {
    try {
      f();
    } catch (e) {
      msgs.push((e as Error).message);
    }
  }
  t.equal(msgs.length, 3);
  for (const m of msgs) {
    t.notMatch(m, /secret plans|4155550100|[0-9a-f]{16}/);
  }
});
