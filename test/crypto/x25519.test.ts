// relay/crypto/x25519.ts, on every engine present (libsodium where it loads, OpenSSL
// always) and through the exported functions: RFC 7748 vectors, agreement with noble on
// random keys, low-order public keys refused, keys given as views read at their offset.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { x25519KeyPair, x25519PublicKey, x25519SharedSecret, x25519OpenSSL, x25519Sodium, type X25519Engine } from '../../relay/crypto/x25519.ts';

/** The exported functions (whichever engine they use), then each engine directly. */
const exported: X25519Engine = { kind: 'openssl', keyPair: x25519KeyPair, publicKey: x25519PublicKey, sharedSecret: x25519SharedSecret };
const engines: [string, X25519Engine][] = [
  ['exported', exported],
  ['openssl', x25519OpenSSL],
  ...(x25519Sodium ? [['libsodium', x25519Sodium] as [string, X25519Engine]] : []),
];

const h = hexToBytes;
const hex = bytesToHex;

for (const [name, e] of engines) {
  t.test(`${name}: RFC 7748 §6.1: Alice and Bob`, async (t) => {
    const a = h('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const b = h('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const A = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
    const B = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
    const K = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    t.equal(hex(e.publicKey(a)), A);
    t.equal(hex(e.publicKey(b)), B);
    t.equal(hex(e.sharedSecret(a, h(B))), K);
    t.equal(hex(e.sharedSecret(b, h(A))), K);
  });

  t.test(`${name}: RFC 7748 §5.2: test vector 1 (an unclamped scalar is clamped at use)`, async (t) => {
    const k = h('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4');
    const u = h('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c');
    t.equal(hex(e.sharedSecret(k, u)), 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552');
  });

  t.test(`${name}: agrees with noble on random keys; fresh key pairs are consistent and distinct`, async (t) => {
    let bad = 0;
    for (let i = 0; i < 100; i++) {
      const sk = new Uint8Array(randomBytes(32)); // any 32 bytes, as DeriveKeyPair gives them
      const peer = x25519.utils.randomSecretKey();
      const pk = e.publicKey(sk);
      if (hex(pk) !== hex(x25519.getPublicKey(sk))) bad++;
      const peerPub = x25519.getPublicKey(peer);
      if (hex(e.sharedSecret(sk, peerPub)) !== hex(x25519.getSharedSecret(sk, peerPub))) bad++;
    }
    t.equal(bad, 0, 'public keys and shared secrets equal noble\'s');
    const p = e.keyPair();
    const q = e.keyPair();
    t.equal(p.secretKey.length, 32);
    t.equal(p.publicKey.length, 32);
    t.not(hex(p.secretKey), hex(q.secretKey), 'fresh randomness');
    t.equal(hex(e.publicKey(p.secretKey)), hex(p.publicKey));
    t.equal(hex(e.sharedSecret(p.secretKey, q.publicKey)), hex(e.sharedSecret(q.secretKey, p.publicKey)), 'both ends agree');
  });

  t.test(`${name}: low-order public keys are refused, as noble refuses them`, async (t) => {
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ];
    const sk = e.keyPair().secretKey;
    for (const p of lowOrder) {
      // libsodium's own status text is replaced by ours; OpenSSL may refuse in its own words
      t.throws(() => e.sharedSecret(sk, h(p)), name === 'libsodium' ? /X25519 output is all zeros \(low-order public key\)/ : Error, `${p.slice(0, 8)}… refused`);
      t.throws(() => x25519.getSharedSecret(sk, h(p)), `${p.slice(0, 8)}… refused by noble too`);
    }
  });

  t.test(`${name}: keys given as views into larger buffers are read at their offset`, async (t) => {
    const p = e.keyPair();
    const q = e.keyPair();
    const big = new Uint8Array(randomBytes(90));
    big.set(p.secretKey, 5);
    big.set(q.publicKey, 50);
    t.equal(hex(e.publicKey(big.subarray(5, 37))), hex(p.publicKey));
    t.equal(hex(e.sharedSecret(big.subarray(5, 37), big.subarray(50, 82))), hex(e.sharedSecret(p.secretKey, q.publicKey)));
  });
}

t.test('the engine: libsodium wherever sodium-native ships a binary', async (t) => {
  const prebuilt = ['linux', 'darwin', 'win32'].includes(process.platform) && ['x64', 'arm64'].includes(process.arch);
  if (prebuilt) t.ok(x25519Sodium, 'libsodium X25519 loaded and passed its self-check');
  t.equal(x25519OpenSSL.kind, 'openssl');
  if (x25519Sodium) t.equal(x25519Sodium.kind, 'libsodium');
});

t.test('wrong sizes: a clear error, not a native assertion', async (t) => {
  const k = x25519KeyPair();
  t.throws(() => x25519SharedSecret(k.secretKey, new Uint8Array(31)), /X25519 keys are 32 bytes/);
  t.throws(() => x25519SharedSecret(new Uint8Array(33), k.publicKey), /X25519 keys are 32 bytes/);
  t.throws(() => x25519PublicKey(new Uint8Array(0)), /X25519 keys are 32 bytes/);
});
