// The engine slot (relay/crypto/engines.ts): noble's pure JS, the portable SDK's engine,
// computes the same bytes as the native engines Node installs (relay/crypto/native.ts).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { nobleEd25519, nobleX25519, currentEd25519, currentX25519, LOW_ORDER } from '../../relay/crypto/engines.ts';
import '../../relay/crypto/native.ts';

t.test('native engines are installed once their modules load', async (t) => {
  t.not(currentEd25519().kind, 'noble');
  t.not(currentX25519().kind, 'noble');
});

t.test('Ed25519: noble signs and verifies as the native engine does', async (t) => {
  const native = currentEd25519();
  for (let i = 0; i < 20; i++) {
    const seed = new Uint8Array(randomBytes(32));
    const msg = new Uint8Array(randomBytes(i * 7));
    t.equal(bytesToHex(nobleEd25519.publicKey(seed)), bytesToHex(native.publicKey(seed)));
    const sig = nobleEd25519.sign(seed, msg);
    t.equal(bytesToHex(sig), bytesToHex(native.sign(seed, msg)), 'deterministic signatures agree');
    t.equal(bytesToHex(nobleEd25519.signer(seed)(msg)), bytesToHex(sig));
    t.ok(native.verify(nobleEd25519.publicKey(seed), msg, sig));
    t.ok(nobleEd25519.verify(native.publicKey(seed), msg, native.sign(seed, msg)));
    const bad = sig.slice();
    bad[0]! ^= 1;
    t.notOk(nobleEd25519.verify(native.publicKey(seed), msg, bad));
  }
  t.notOk(nobleEd25519.verify(new Uint8Array(32), new Uint8Array(1), new Uint8Array(64)), 'a garbage key is false, not a throw');
});

t.test('X25519: noble agrees with the native engine and refuses low-order keys alike', async (t) => {
  const native = currentX25519();
  for (let i = 0; i < 10; i++) {
    const a = nobleX25519.keyPair();
    const b = native.keyPair();
    t.equal(bytesToHex(nobleX25519.publicKey(b.secretKey)), bytesToHex(b.publicKey));
    t.equal(bytesToHex(native.publicKey(a.secretKey)), bytesToHex(a.publicKey));
    t.equal(bytesToHex(nobleX25519.sharedSecret(a.secretKey, b.publicKey)), bytesToHex(native.sharedSecret(b.secretKey, a.publicKey)));
  }
  const sk = nobleX25519.keyPair().secretKey;
  t.throws(() => nobleX25519.sharedSecret(sk, new Uint8Array(32)), { message: LOW_ORDER });
  t.throws(() => native.sharedSecret(sk, new Uint8Array(32)), { message: LOW_ORDER });
});
