// Which implementation computes Ed25519 and X25519: a slot that starts with noble's pure
// JS (no Node dependency, so the handset SDK's portable entry, client/portable.ts, runs
// in browsers, React Native and Deno) and that Node's native engines take over when
// their modules load: relay/crypto/ed25519-engine.ts (libsodium or OpenSSL) and
// relay/crypto/x25519.ts (likewise), both pulled in by relay/crypto/native.ts, which
// every Node entry imports (the gateway's session, the SDK's Node entry
// client/index.ts, the bench). The bytes are the same either way (RFC 8032 signatures
// are deterministic; X25519 is a function): only the cost differs, ~10x for X25519
// (docs/BENCHMARKS.md). sign.ts and hpke.ts call through here.
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';

/** What sign.ts needs of an Ed25519 implementation (arguments already checked there). */
export interface Ed25519Ops {
  readonly kind: string;
  sign(seed: Uint8Array, msg: Uint8Array): Uint8Array;
  signer(seed: Uint8Array): (msg: Uint8Array) => Uint8Array;
  publicKey(seed: Uint8Array): Uint8Array;
  /** false for any invalid signature or key; never throws for 32/64-byte inputs. */
  verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean;
}

/** What hpke.ts needs of an X25519 implementation. */
export interface X25519Ops {
  readonly kind: string;
  keyPair(): { secretKey: Uint8Array; publicKey: Uint8Array };
  publicKey(secretKey: Uint8Array): Uint8Array;
  /** Throws for a low-order public key (an all-zero result). */
  sharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

export const LOW_ORDER = 'X25519 output is all zeros (low-order public key)';

function allZero(b: Uint8Array): boolean {
  let acc = 0;
  for (const x of b) acc |= x;
  return acc === 0;
}

const L = ed25519.Point.Fn.ORDER;

/**
 * RFC 8032 verification with the cofactorless equation that libsodium and OpenSSL use:
 * [s]B - [k]A, encoded, must be the signature's R bytes (s < L, A a canonical point).
 * noble's own `verify` checks the cofactored equation, which also accepts an R with a
 * small-order component: a key holder could then make messages or prekeys that handsets
 * on this engine (the portable SDK) accept and handsets on Node's engines drop. With this
 * every engine accepts exactly the same signatures (small-order R and A are refused
 * before any engine runs, in sign.ts); test/crypto/sign.test.ts checks it.
 */
function verifyCofactorless(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  let A: InstanceType<typeof ed25519.Point>;
  try {
    A = ed25519.Point.fromBytes(publicKey); // strict: y < p
  } catch {
    return false;
  }
  const R = sig.subarray(0, 32);
  const s = bytesToNumberLE(sig.subarray(32, 64));
  if (s >= L) return false;
  const k = bytesToNumberLE(sha512(concatBytes(R, publicKey, msg))) % L;
  const check = ed25519.Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k)).toBytes();
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= (check[i] as number) ^ (R[i] as number);
  return diff === 0;
}

/** noble's pure JS, verifying as libsodium and OpenSSL do (verifyCofactorless). */
export const nobleEd25519: Ed25519Ops = {
  kind: 'noble',
  sign: (seed, msg) => ed25519.sign(msg, seed),
  signer(seed) {
    // A copy: a caller wiping its seed must not change (or break) the signer.
    const own = seed.slice();
    return (msg) => ed25519.sign(msg, own);
  },
  publicKey: (seed) => ed25519.getPublicKey(seed),
  verify(publicKey, msg, sig) {
    try {
      return verifyCofactorless(publicKey, msg, sig);
    } catch {
      return false;
    }
  },
};

/** noble's X25519; random secret keys from globalThis.crypto.getRandomValues. */
export const nobleX25519: X25519Ops = {
  kind: 'noble',
  keyPair() {
    const { secretKey, publicKey } = x25519.keygen();
    return { secretKey, publicKey };
  },
  publicKey: (secretKey) => x25519.getPublicKey(secretKey),
  sharedSecret(secretKey, publicKey) {
    let out: Uint8Array;
    try {
      out = x25519.getSharedSecret(secretKey, publicKey);
    } catch {
      // noble refuses an all-zero result with its own text; ours is the same for every engine
      throw new Error(LOW_ORDER);
    }
    if (allZero(out)) throw new Error(LOW_ORDER);
    return out;
  },
};

let ed25519Source: () => Ed25519Ops = () => nobleEd25519;
let x25519Engine: X25519Ops = nobleX25519;

/** Node's Ed25519 engine module hands over its (switchable) choice. */
export function installEd25519(source: () => Ed25519Ops): void {
  ed25519Source = source;
}

/** Node's X25519 module hands over its engine. */
export function installX25519(engine: X25519Ops): void {
  x25519Engine = engine;
}

/** The Ed25519 implementation in use (sign.ts). */
export function currentEd25519(): Ed25519Ops {
  return ed25519Source();
}

/** The X25519 implementation in use. */
export function currentX25519(): X25519Ops {
  return x25519Engine;
}

function check32(...keys: Uint8Array[]): void {
  for (const k of keys) if (!(k instanceof Uint8Array) || k.length !== 32) throw new Error('X25519 keys are 32 bytes');
}

/** A fresh random key pair (32-byte secret and public keys). */
export function x25519KeyPair(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  return x25519Engine.keyPair();
}

/** The public key of a 32-byte secret key. */
export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  check32(secretKey);
  return x25519Engine.publicKey(secretKey);
}

/** X25519(secretKey, publicKey). Throws when the result is all zeros (a low-order public
 *  key: RFC 7748 §6.1, RFC 9180 §7.1.4), or a key is not 32 bytes. */
export function x25519SharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  check32(secretKey, publicKey);
  return x25519Engine.sharedSecret(secretKey, publicKey);
}
