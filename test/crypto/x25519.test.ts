// relay/crypto/x25519.ts (node:crypto): RFC 7748 vectors, agreement with noble on random
// keys, low-order public keys refused, keys given as views read at their offset.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { x25519KeyPair, x25519PublicKey, x25519SharedSecret } from '../../relay/crypto/x25519.ts';

const h = hexToBytes;
const hex = bytesToHex;

t.test('RFC 7748 §6.1: Alice and Bob', async (t) => {
  const a = h('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const b = h('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
  const A = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
  const B = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
  const K = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  t.equal(hex(x25519PublicKey(a)), A);
  t.equal(hex(x25519PublicKey(b)), B);
  t.equal(hex(x25519SharedSecret(a, h(B))), K);
  t.equal(hex(x25519SharedSecret(b, h(A))), K);
});

t.test('RFC 7748 §5.2: test vector 1 (an unclamped scalar is clamped at use)', async (t) => {
  const k = h('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4');
  const u = h('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c');
  t.equal(hex(x25519SharedSecret(k, u)), 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552');
});

t.test('agrees with noble on random keys; fresh key pairs are consistent and distinct', async (t) => {
  let bad = 0;
  for (let i = 0; i < 100; i++) {
    const sk = new Uint8Array(randomBytes(32)); // any 32 bytes, as DeriveKeyPair gives them
    const peer = x25519.utils.randomSecretKey();
    const pk = x25519PublicKey(sk);
    if (hex(pk) !== hex(x25519.getPublicKey(sk))) bad++;
    const peerPub = x25519.getPublicKey(peer);
    if (hex(x25519SharedSecret(sk, peerPub)) !== hex(x25519.getSharedSecret(sk, peerPub))) bad++;
  }
  t.equal(bad, 0, 'public keys and shared secrets equal noble\'s');
  const p = x25519KeyPair();
  const q = x25519KeyPair();
  t.equal(p.secretKey.length, 32);
  t.equal(p.publicKey.length, 32);
  t.not(hex(p.secretKey), hex(q.secretKey), 'fresh randomness');
  t.equal(hex(x25519PublicKey(p.secretKey)), hex(p.publicKey));
  t.equal(hex(x25519SharedSecret(p.secretKey, q.publicKey)), hex(x25519SharedSecret(q.secretKey, p.publicKey)), 'both ends agree');
});

t.test('low-order public keys are refused, as noble refuses them', async (t) => {
  const lowOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ];
  const sk = x25519KeyPair().secretKey;
  for (const p of lowOrder) {
    t.throws(() => x25519SharedSecret(sk, h(p)), `${p.slice(0, 8)}… refused`);
    t.throws(() => x25519.getSharedSecret(sk, h(p)), `${p.slice(0, 8)}… refused by noble too`);
  }
});

t.test('keys given as views into larger buffers are read at their offset', async (t) => {
  const p = x25519KeyPair();
  const q = x25519KeyPair();
  const big = new Uint8Array(randomBytes(90));
  big.set(p.secretKey, 5);
  big.set(q.publicKey, 50);
  t.equal(hex(x25519PublicKey(big.subarray(5, 37))), hex(p.publicKey));
  t.equal(hex(x25519SharedSecret(big.subarray(5, 37), big.subarray(50, 82))), hex(x25519SharedSecret(p.secretKey, q.publicKey)));
});
