// Ed25519: RFC 8032 test 1 and the cross-checks of every engine present (libsodium,
// OpenSSL) against each other and noble on random and tampered inputs, small-order keys
// and R values, and the exact bytes of each protocol signing input.
import t from 'tap';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  generateIdentity,
  identityPublicKey,
  sign,
  signer,
  verify,
  verifyNoble,
  verifyWith,
  authInput,
  registerInput,
  prekeyInput,
} from '../../relay/crypto/sign.ts';
import { activeEd25519, ed25519Engine, libsodium, openssl, useEd25519 } from '../../relay/crypto/ed25519-engine.ts';
import { nobleEd25519, type Ed25519Ops } from '../../relay/crypto/engines.ts';

/** Every engine this machine has: OpenSSL always, libsodium where its binary loads, and
 *  the pure-JS one the portable SDK runs on (relay/crypto/engines.ts). */
const engines: Ed25519Ops[] = [...(libsodium ? [libsodium, openssl] : [openssl]), nobleEd25519];

const h = hexToBytes;
const hex = bytesToHex;
const rand = (n: number) => new Uint8Array(nodeRandomBytes(n));
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const RFC8032_1 = {
  secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
};

t.test('RFC 8032 §7.1 test 1 (empty message)', async (t) => {
  const msg = new Uint8Array(0);
  t.equal(hex(identityPublicKey(h(RFC8032_1.secret))), RFC8032_1.public);
  t.equal(hex(sign(h(RFC8032_1.secret), msg)), RFC8032_1.sig);
  t.equal(verify(h(RFC8032_1.public), msg, h(RFC8032_1.sig)), true);
  t.equal(verifyNoble(h(RFC8032_1.public), msg, h(RFC8032_1.sig)), true);
  t.equal(verify(h(RFC8032_1.public), Uint8Array.of(0), h(RFC8032_1.sig)), false, 'other message');
  t.equal(verifyNoble(h(RFC8032_1.public), Uint8Array.of(0), h(RFC8032_1.sig)), false, 'other message (noble)');
  for (const e of engines) {
    t.equal(hex(e.publicKey(h(RFC8032_1.secret))), RFC8032_1.public, `${e.kind}: public key`);
    t.equal(hex(e.sign(h(RFC8032_1.secret), msg)), RFC8032_1.sig, `${e.kind}: signature`);
    t.equal(hex(e.signer(h(RFC8032_1.secret))(msg)), RFC8032_1.sig, `${e.kind}: signer`);
    t.equal(verifyWith(e, h(RFC8032_1.public), msg, h(RFC8032_1.sig)), true, `${e.kind}: verifies`);
    t.equal(verifyWith(e, h(RFC8032_1.public), Uint8Array.of(0), h(RFC8032_1.sig)), false, `${e.kind}: other message`);
  }
});

t.test('the engine: libsodium wherever sodium-native ships a binary, and the start-up line says so', async (t) => {
  const prebuilt = ['linux', 'darwin', 'win32'].includes(process.platform) && ['x64', 'arm64'].includes(process.arch);
  const { kind, why } = ed25519Engine();
  t.equal(activeEd25519().kind, kind);
  if (prebuilt) {
    t.equal(kind, 'libsodium', why);
    t.ok(libsodium, 'libsodium engine present');
    t.match(why, /^using libsodium \(sodium-native \d+\.\d+\.\d+\)$/);
  } else {
    t.match(why, /libsodium|OpenSSL/);
  }
  t.equal(openssl.kind, 'openssl');
});

t.test('useEd25519 switches the engine sign and verify use; same bytes either way', async (t) => {
  t.teardown(() => { useEd25519('auto'); });
  const { secretKey, publicKey } = generateIdentity();
  const msg = utf8ToBytes('switch');
  const before = hex(sign(secretKey, msg));
  const o = useEd25519('openssl');
  t.equal(o.kind, 'openssl');
  t.match(o.why, /^using OpenSSL \S+ \(requested\)$/);
  t.equal(activeEd25519(), openssl, 'sign.ts now calls OpenSSL');
  t.equal(hex(sign(secretKey, msg)), before, 'same signature');
  t.equal(verify(publicKey, msg, h(before)), true);
  const a = useEd25519('auto');
  t.equal(a.kind, libsodium ? 'libsodium' : 'openssl');
  t.equal(activeEd25519(), libsodium ?? openssl);
  if (libsodium) {
    t.equal(useEd25519('libsodium').kind, 'libsodium');
  } else {
    t.throws(() => useEd25519('libsodium'), /--ed25519 libsodium: sodium-native/);
  }
  t.throws(() => useEd25519('nacl' as 'auto'), /must be auto, libsodium or openssl/);
  t.equal(activeEd25519(), libsodium ?? openssl, 'a refused choice changes nothing');
});

t.test('signer: the same signatures as sign, for every engine; the seed copied, not kept by reference', async (t) => {
  for (let i = 0; i < 20; i++) {
    const { secretKey, publicKey } = generateIdentity();
    const msg = rand(i * 13);
    const want = hex(ed25519.sign(msg, secretKey));
    const seed = secretKey.slice();
    const fns = [signer(seed), ...engines.map((e) => e.signer(seed))];
    seed.fill(0); // a caller wiping its copy does not change the signer
    for (const [j, f] of fns.entries()) {
      const got = f(msg);
      if (hex(got) !== want) t.fail(`signer ${j} differs at ${i}`);
      if (!verify(publicKey, msg, got)) t.fail(`signer ${j} signature does not verify at ${i}`);
    }
  }
  t.pass('20 keys, every signer agrees with noble');
  const f = signer(generateIdentity().secretKey);
  t.throws(() => (f as (m: unknown) => unknown)('text'), { name: 'HushwireError', code: 'BAD_REQUEST' }, 'message must be bytes');
});

t.test('generateIdentity gives a working, fresh key pair', async (t) => {
  const a = generateIdentity();
  const b = generateIdentity();
  t.equal(a.secretKey.length, 32);
  t.equal(a.publicKey.length, 32);
  t.not(hex(a.secretKey), hex(b.secretKey));
  t.equal(hex(identityPublicKey(a.secretKey)), hex(a.publicKey));
  t.equal(hex(ed25519.getPublicKey(a.secretKey)), hex(a.publicKey));
  t.ok(verify(a.publicKey, utf8ToBytes('hi'), sign(a.secretKey, utf8ToBytes('hi'))));
});

t.test('keys given as views into larger buffers are read at their offset', async (t) => {
  const { secretKey, publicKey } = generateIdentity();
  const msg = utf8ToBytes('view');
  const big = rand(100);
  big.set(secretKey, 7);
  const seedView = big.subarray(7, 39);
  const big2 = rand(80);
  big2.set(publicKey, 33);
  const pubView = big2.subarray(33, 65);
  t.equal(hex(identityPublicKey(seedView)), hex(publicKey), 'public key of a seed view');
  const sig = sign(seedView, msg);
  t.equal(hex(sig), hex(ed25519.sign(msg, secretKey)), 'signature with a seed view');
  t.equal(verify(pubView, msg, sig), true, 'verification with a public key view');
  t.equal(verify(big2.subarray(32, 64), msg, sig), false, 'the bytes next to it are another key');
});

t.test('every engine and noble agree on random keys, messages and tampering', async (t) => {
  let n = 0;
  for (let i = 0; i < 150; i++) {
    const { secretKey, publicKey } = generateIdentity();
    const msg = rand(i % 7 === 0 ? 0 : Math.floor(Math.random() * 300));
    const sig = sign(secretKey, msg);
    // Ed25519 is deterministic: node's and noble's signatures are the same bytes.
    if (hex(sig) !== hex(ed25519.sign(msg, secretKey))) t.fail(`signature bytes differ at ${i}`);
    if (hex(identityPublicKey(secretKey)) !== hex(publicKey)) t.fail(`public key of the seed differs at ${i}`);
    for (const e of engines) {
      if (hex(e.sign(secretKey, msg)) !== hex(sig)) t.fail(`${e.kind} signature bytes differ at ${i}`);
      if (hex(e.publicKey(secretKey)) !== hex(publicKey)) t.fail(`${e.kind} public key differs at ${i}`);
    }
    const cases: [Uint8Array, Uint8Array, Uint8Array, boolean][] = [[publicKey, msg, sig, true]];
    const badSig = sig.slice();
    badSig[Math.floor(Math.random() * 64)] ^= 1 << Math.floor(Math.random() * 8);
    cases.push([publicKey, msg, badSig, false]);
    if (msg.length > 0) {
      const badMsg = msg.slice();
      badMsg[Math.floor(Math.random() * msg.length)] ^= 0x80;
      cases.push([publicKey, badMsg, sig, false]);
    }
    cases.push([publicKey, concatBytes(msg, Uint8Array.of(0)), sig, false]);
    cases.push([generateIdentity().publicKey, msg, sig, false]);
    const badKey = publicKey.slice();
    badKey[3] ^= 4;
    cases.push([badKey, msg, sig, false]);
    for (const [pk, m, s, want] of cases) {
      const got = [verify(pk, m, s), verifyNoble(pk, m, s), ...engines.map((e) => verifyWith(e, pk, m, s))];
      if (got.some((g) => g !== want)) t.fail(`case ${n}: verify, noble, ${engines.map((e) => e.kind).join(', ')}: ${got.join(', ')}; want ${want}`);
      n++;
    }
  }
  t.pass(`${n} cases agree`);
});

t.test('malleated S (S + L) is refused by both', async (t) => {
  const { secretKey, publicKey } = generateIdentity();
  const msg = utf8ToBytes('pay 10');
  const sig = sign(secretKey, msg);
  const s = bytesToNumberLE(sig.subarray(32));
  const mall = concatBytes(sig.subarray(0, 32), numberToBytesLE(s + L, 32));
  t.equal(verify(publicKey, msg, mall), false);
  t.equal(verifyNoble(publicKey, msg, mall), false);
  for (const e of engines) t.equal(verifyWith(e, publicKey, msg, mall), false, e.kind);
});

t.test('small-order public keys are refused by both (the "sign anything" keys)', async (t) => {
  const keys = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ];
  const msg = utf8ToBytes('any message at all');
  const identity = h(keys[1]);
  for (const k of keys) {
    for (const signBit of [0, 0x80]) {
      const pk = h(k);
      pk[31] |= signBit;
      // R = identity, S = 0 satisfies [S]B = R + [k]A whenever [k]A is the identity.
      const forged = concatBytes(identity, new Uint8Array(32));
      t.equal(verify(pk, msg, forged), false, `verify ${k.slice(0, 6)} sign ${signBit}`);
      t.equal(verifyNoble(pk, msg, forged), false, `noble ${k.slice(0, 6)} sign ${signBit}`);
      for (const e of engines) {
        t.equal(verifyWith(e, pk, msg, forged), false, `${e.kind} ${k.slice(0, 6)} sign ${signBit}`);
        // and the engine refuses it on its own too (libsodium), or is known not to (OpenSSL):
        // why sign.ts filters these keys before any engine runs
        if (e.kind === 'libsodium') t.equal(e.verify(pk, msg, forged), false, `libsodium alone ${k.slice(0, 6)} sign ${signBit}`);
      }
    }
  }
});

t.test('small-order and mixed-order R, made by the key holder: refused by every engine; noble\'s own verify (cofactored) differs', async (t) => {
  // Only someone holding the secret key can build these; they forge nothing. But every
  // engine must agree (a handset on the portable SDK must accept exactly what one on
  // Node does), and a change in any library's equation or checks must be noticed.
  const { secretKey, publicKey } = generateIdentity();
  const { scalar } = ed25519.utils.getExtendedPublicKey(secretKey);
  const msg = utf8ToBytes('m');
  const withR = (R: Uint8Array, r: bigint) => {
    const k = bytesToNumberLE(sha512(concatBytes(R, publicKey, msg))) % L;
    return concatBytes(R, numberToBytesLE((r + k * scalar) % L, 32));
  };
  const want = (sig: Uint8Array, expect: { noble: boolean; engines: boolean }, what: string) => {
    t.equal(verifyNoble(publicKey, msg, sig), expect.noble, `${what}: noble's own verify`);
    for (const e of engines) t.equal(verifyWith(e, publicKey, msg, sig), expect.engines, `${what}: ${e.kind} engine`);
  };
  // `noble` here is noble's own verify (the reference verifyNoble, cofactored equation);
  // the engines, the noble one included, all answer alike.
  const none = { noble: false, engines: false };
  // R of order 8: only the cofactored equation accepts
  want(withR(h('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'), 0n), { ...none, noble: true }, 'R of order 8');
  // R = identity: the cofactorless equation holds too (OpenSSL alone would accept it);
  // sign.ts refuses every small-order R before any engine runs, as libsodium does
  want(withR(h('0100000000000000000000000000000000000000000000000000000000000000'), 0n), { ...none, noble: true }, 'R = identity');
  t.equal(openssl.verify(publicKey, msg, withR(h('0100000000000000000000000000000000000000000000000000000000000000'), 0n)), true,
    'OpenSSL on its own accepts R = identity (why sign.ts checks R)');
  // R = rB + T with T of order 8 (mixed order): cofactored only
  const T = ed25519.Point.fromHex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05');
  const r = 123456789n;
  want(withR(ed25519.Point.BASE.multiply(r).add(T).toBytes(), r), { ...none, noble: true }, 'mixed-order R');
  // and an honest R still verifies everywhere, so the construction above is right
  want(withR(ed25519.Point.BASE.multiply(r).toBytes(), r), { noble: true, engines: true }, 'honest R');
});

t.test('non-canonical public key encodings (y >= p, either sign) are refused by every engine', async (t) => {
  const P = 2n ** 255n - 19n;
  const msg = utf8ToBytes('m');
  const sig = concatBytes(h('0100000000000000000000000000000000000000000000000000000000000000'), new Uint8Array(32));
  let n = 0;
  for (let y = P; y < 2n ** 255n; y++) {
    for (const signBit of [0, 0x80]) {
      const pk = numberToBytesLE(y, 32);
      pk[31] |= signBit;
      const got = [verifyNoble(pk, msg, sig), ...engines.map((e) => verifyWith(e, pk, msg, sig))];
      if (got.some(Boolean)) t.fail(`y = p + ${y - P}, sign ${signBit}: ${got.join(', ')}`);
      n++;
    }
  }
  t.equal(n, 38);
});

t.test('not-a-point public keys give false, not a throw', async (t) => {
  const msg = utf8ToBytes('x');
  const sig = sign(generateIdentity().secretKey, msg);
  const notPoint = h('0200000000000000000000000000000000000000000000000000000000000000'); // y = 2: no x
  t.equal(verify(notPoint, msg, sig), false);
  t.equal(verifyNoble(notPoint, msg, sig), false);
  const nonCanonical = h('f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'); // y >= p
  t.equal(verify(nonCanonical, msg, sig), false);
  t.equal(verifyNoble(nonCanonical, msg, sig), false);
  for (const e of engines) {
    t.equal(e.verify(notPoint, msg, sig), false, `${e.kind}: not a point`);
    t.equal(e.verify(nonCanonical, msg, sig), false, `${e.kind}: non-canonical`);
  }
});

t.test('signing inputs: exact bytes', async (t) => {
  const nonce = new Uint8Array(32).fill(0xaa);
  const route = new Uint8Array(32).fill(0xbb);
  const device = new Uint8Array(16).fill(0xcc);
  const ik = new Uint8Array(32).fill(0xdd);
  const pre = new Uint8Array(32).fill(0xee);
  t.equal(hex(authInput(nonce, route, device)), hex(utf8ToBytes('hushwire auth v1')) + '00' + 'aa'.repeat(32) + 'bb'.repeat(32) + 'cc'.repeat(16));
  t.equal(
    hex(registerInput(nonce, device, ik, pre)),
    hex(utf8ToBytes('hushwire register v1')) + '00' + 'aa'.repeat(32) + 'cc'.repeat(16) + 'dd'.repeat(32) + 'ee'.repeat(32),
  );
  t.equal(hex(prekeyInput(pre)), hex(utf8ToBytes('hushwire prekey v1')) + '00' + 'ee'.repeat(32));
  t.equal(hex(authInput(nonce, route, device)).slice(0, 34), '6875736877697265206175746820763100', 'label bytes pinned literally');
  // a signature for one purpose does not verify for another
  const id = generateIdentity();
  const s = sign(id.secretKey, prekeyInput(pre));
  t.equal(verify(id.publicKey, prekeyInput(pre), s), true);
  t.equal(verify(id.publicKey, concatBytes(utf8ToBytes('hushwire auth v1'), Uint8Array.of(0), pre), s), false);
});

t.test('wrong-type and wrong-size inputs are HushwireError', async (t) => {
  const id = generateIdentity();
  const msg = utf8ToBytes('m');
  const sig = sign(id.secretKey, msg);
  const n32 = new Uint8Array(32);
  const r32 = new Uint8Array(32);
  const d16 = new Uint8Array(16);
  type F = (...a: unknown[]) => unknown;
  const bad: [string, () => unknown, string?][] = [
    ['sign sk string', () => (sign as F)(hex(id.secretKey), msg)],
    ['sign sk 64 bytes', () => sign(new Uint8Array(64), msg)],
    ['sign msg string', () => (sign as F)(id.secretKey, 'hello')],
    ['identityPublicKey short', () => identityPublicKey(new Uint8Array(31))],
    ['identityPublicKey array', () => (identityPublicKey as F)(Array.from(id.secretKey))],
    ['signer sk short', () => signer(new Uint8Array(31))],
    ['signer sk string', () => (signer as F)(hex(id.secretKey))],
    ['verifyWith pk short', () => verifyWith(openssl, new Uint8Array(31), msg, sig)],
    ['verifyWith sig long', () => verifyWith(openssl, id.publicKey, msg, new Uint8Array(65))],
    ...[verify, verifyNoble].flatMap((f, i): [string, () => unknown][] => [
      [`verify${i} pk short`, () => f(new Uint8Array(31), msg, sig)],
      [`verify${i} pk string`, () => (f as F)('pk', msg, sig)],
      [`verify${i} msg string`, () => (f as F)(id.publicKey, 'm', sig)],
      [`verify${i} sig short`, () => f(id.publicKey, msg, sig.subarray(0, 63))],
      [`verify${i} sig null`, () => (f as F)(id.publicKey, msg, null)],
    ]),
    ['authInput nonce short', () => authInput(new Uint8Array(31), r32, d16)],
    ['authInput nonce string', () => (authInput as F)('nonce', r32, d16)],
    ['authInput route short', () => authInput(n32, new Uint8Array(31), d16), 'BAD_TOKEN'],
    ['authInput device long', () => authInput(n32, r32, new Uint8Array(17)), 'BAD_TOKEN'],
    ['registerInput nonce', () => registerInput(new Uint8Array(0), d16, n32, n32)],
    ['registerInput device', () => (registerInput as F)(n32, 'device', n32, n32), 'BAD_TOKEN'],
    ['registerInput identity', () => registerInput(n32, d16, new Uint8Array(33), n32)],
    ['registerInput prekey', () => (registerInput as F)(n32, d16, n32, undefined)],
    ['prekeyInput short', () => prekeyInput(new Uint8Array(31))],
    ['prekeyInput string', () => (prekeyInput as F)('prekey')],
  ];
  for (const [name, fn, code] of bad) t.throws(fn, { name: 'HushwireError', code: code ?? 'BAD_REQUEST' }, name);
});
