// Known-answer tests for the primitives under HPKE, straight from the RFCs: if noble
// (or an upgrade of it) ever disagreed with them, every construction above would too.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js';

const kat = JSON.parse(readFileSync(new URL('../fixtures/vectors/rfc-primitives-kat.json', import.meta.url), 'utf8')) as {
  rfc7748_x25519_scalarmult: { scalar: string; u: string; out: string }[];
  rfc7748_x25519_iterated: { iters: number; k: string }[];
  rfc7748_x25519_dh: Record<string, string>;
  rfc8439_chacha20poly1305_2_8_2: Record<string, string>;
};
const h = hexToBytes;
const hex = bytesToHex;

t.test('RFC 7748 §5.2 X25519 scalar multiplication', async (t) => {
  t.equal(kat.rfc7748_x25519_scalarmult.length, 2);
  for (const v of kat.rfc7748_x25519_scalarmult) {
    t.equal(hex(x25519.scalarMult(h(v.scalar), h(v.u))), v.out);
  }
});

t.test('RFC 7748 §5.2 X25519 iterated (1 and 1000 rounds)', async (t) => {
  const want = new Map(kat.rfc7748_x25519_iterated.map((v) => [v.iters, v.k]));
  let k = h('0900000000000000000000000000000000000000000000000000000000000000');
  let u = k.slice();
  for (let i = 1; i <= 1000; i++) {
    const next = x25519.scalarMult(k, u);
    u = k;
    k = next;
    const w = want.get(i);
    if (w !== undefined) t.equal(hex(k), w, `after ${i}`);
  }
});

t.test('RFC 7748 §6.1 X25519 Diffie-Hellman', async (t) => {
  const v = kat.rfc7748_x25519_dh;
  t.equal(hex(x25519.getPublicKey(h(v.alicePrivate))), v.alicePublic);
  t.equal(hex(x25519.getPublicKey(h(v.bobPrivate))), v.bobPublic);
  t.equal(hex(x25519.getSharedSecret(h(v.alicePrivate), h(v.bobPublic))), v.shared);
  t.equal(hex(x25519.getSharedSecret(h(v.bobPrivate), h(v.alicePublic))), v.shared);
});

t.test('RFC 8439 §2.8.2 ChaCha20-Poly1305 AEAD', async (t) => {
  const v = kat.rfc8439_chacha20poly1305_2_8_2;
  const sealed = chacha20poly1305(h(v.key), h(v.nonce), h(v.aad)).encrypt(h(v.pt));
  t.equal(hex(sealed), v.ct + v.tag);
  const opened = chacha20poly1305(h(v.key), h(v.nonce), h(v.aad)).decrypt(concatBytes(h(v.ct), h(v.tag)));
  t.equal(hex(opened), v.pt);
  const bad = h(v.tag);
  bad[0] ^= 1;
  t.throws(() => chacha20poly1305(h(v.key), h(v.nonce), h(v.aad)).decrypt(concatBytes(h(v.ct), bad)));
});
