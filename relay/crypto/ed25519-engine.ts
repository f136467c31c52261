// Which Ed25519 implementation signs and verifies: libsodium (through sodium-native) when
// its binary loads here, else OpenSSL (through node:crypto).
//
// Why two: a gateway verifies one signature per connect (DESIGN.md: every connect signs
// the gateway's challenge), and in a reconnect storm that check was the largest single
// cost on both sides of the socket. On the reference machine (docs/BENCHMARKS.md)
// libsodium verifies in ~37 µs and signs in ~14, OpenSSL 3.0 in ~90 and ~33 (plus ~7 µs
// to import a raw public key and ~42 to import a secret seed per call). libsodium also
// takes raw 32-byte keys as they are, so nothing is imported or cached per device.
// sodium-native (loaded by relay/crypto/sodium.ts) is a prebuilt native addon; where it
// has no binary the gateway runs on OpenSSL and says so in its start-up line. Both
// engines are strict RFC 8032 (canonical S, no small-order keys: relay/crypto/sign.ts
// refuses those before either runs); test/crypto/sign.test.ts
// cross-checks them with each other and with noble on the same inputs and pins the one
// place they differ (libsodium also refuses R = the identity point, which OpenSSL
// accepts; only the key's owner can make such a signature: it forges nothing).
//
// The functions here take arguments already checked by sign.ts (types and lengths).
import { sign as nodeSign, verify as nodeVerify, createPublicKey, type JsonWebKeyInput, type KeyObject } from 'node:crypto';
import { b64url, okpPrivateKey } from './okp-key.ts';
import { sodium, sodiumVersion, sodiumWhy, type SodiumNative } from './sodium.ts';
import { installEd25519 } from './engines.ts';

export type Ed25519EngineKind = 'libsodium' | 'openssl';

export interface Ed25519Engine {
  readonly kind: Ed25519EngineKind;
  /** Signs with a 32-byte RFC 8032 seed. */
  sign(seed: Uint8Array, msg: Uint8Array): Uint8Array;
  /** A signing function holding the seed's expanded key, for a key that signs often (a
   *  handset's identity): saves the per-call key set-up (~12 µs libsodium, ~42 OpenSSL). */
  signer(seed: Uint8Array): (msg: Uint8Array) => Uint8Array;
  /** The public key of a seed. */
  publicKey(seed: Uint8Array): Uint8Array;
  /** false for any invalid signature or key; never throws for 32/64-byte inputs. */
  verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean;
}

// ---- OpenSSL (node:crypto) ----

const privateKeyObject = (seed: Uint8Array): KeyObject => okpPrivateKey('Ed25519', seed);

/** A raw public key as node:crypto takes it: given to verify as is (not made a KeyObject
 *  first), Node imports it straight to a native handle (~7 µs), no JS wrapper to collect. */
function publicKeyInput(publicKey: Uint8Array): JsonWebKeyInput {
  return { key: { kty: 'OKP', crv: 'Ed25519', x: b64url(publicKey) }, format: 'jwk' };
}

function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

export const openssl: Ed25519Engine = {
  kind: 'openssl',
  sign(seed, msg) {
    return view(nodeSign(null, msg, privateKeyObject(seed)));
  },
  signer(seed) {
    const key = privateKeyObject(seed);
    return (msg) => view(nodeSign(null, msg, key));
  },
  publicKey(seed) {
    const x = createPublicKey(privateKeyObject(seed)).export({ format: 'jwk' }).x;
    if (typeof x !== 'string') throw new Error('Ed25519 public key export failed');
    return new Uint8Array(Buffer.from(x, 'base64url'));
  },
  verify(publicKey, msg, sig) {
    try {
      return nodeVerify(null, msg, publicKeyInput(publicKey), sig);
    } catch {
      return false; // a key OpenSSL cannot decode
    }
  },
};

// ---- libsodium (sodium-native) ----

function sodiumEngine(na: SodiumNative): Ed25519Engine {
  /** libsodium's 64-byte secret key (seed || public key) for a seed. */
  const expand = (seed: Uint8Array): Uint8Array => {
    const sk = new Uint8Array(64);
    na.crypto_sign_seed_keypair(new Uint8Array(32), sk, seed);
    return sk;
  };
  const signWith = (sk: Uint8Array, msg: Uint8Array): Uint8Array => {
    const sig = new Uint8Array(64);
    na.crypto_sign_detached(sig, msg, sk);
    return sig;
  };
  return {
    kind: 'libsodium',
    sign(seed, msg) {
      const sk = expand(seed);
      try {
        return signWith(sk, msg);
      } finally {
        na.sodium_memzero(sk);
      }
    },
    signer(seed) {
      const sk = expand(seed);
      return (msg) => signWith(sk, msg);
    },
    publicKey(seed) {
      const pk = new Uint8Array(32);
      const sk = new Uint8Array(64);
      na.crypto_sign_seed_keypair(pk, sk, seed);
      na.sodium_memzero(sk);
      return pk;
    },
    verify(publicKey, msg, sig) {
      return na.crypto_sign_verify_detached(sig, msg, publicKey) === true;
    },
  };
}

/** libsodium's engine if it loaded and passed its self-check; else why not. */
function loadSodium(): { engine: Ed25519Engine; failure: null } | { engine: null; failure: string } {
  if (sodium === null) return { engine: null, failure: sodiumWhy };
  const engine = sodiumEngine(sodium);
  // A load-time self-check: a binary that loads but computes wrongly must not be used.
  try {
    const seed = new Uint8Array(32).fill(7);
    const msg = Uint8Array.of(1, 2, 3);
    const sig = engine.sign(seed, msg);
    const pk = engine.publicKey(seed);
    if (openssl.verify(pk, msg, sig) && engine.verify(openssl.publicKey(seed), msg, openssl.sign(seed, msg))) {
      return { engine, failure: null };
    }
  } catch {
    // a throw is a failed self-check too
  }
  return { engine: null, failure: `sodium-native ${sodiumVersion} failed its Ed25519 self-check` };
}

const sodiumLoad = loadSodium();

/** libsodium when it loaded, else null (tests cross-check it against OpenSSL). */
export const libsodium: Ed25519Engine | null = sodiumLoad.engine;

/** The start-up line of `auto`. */
const AUTO_WHY = sodiumLoad.engine !== null
  ? `using libsodium (sodium-native ${sodiumVersion})`
  : `${sodiumLoad.failure}; using OpenSSL ${process.versions.openssl}`;

export type Ed25519Choice = 'auto' | Ed25519EngineKind;

let active: Ed25519Engine = libsodium ?? openssl;
let activeWhy: string = AUTO_WHY;

/** Picks the engine for this process (the gateway's `--ed25519`): `auto` (the default:
 *  libsodium if it loads, else OpenSSL), `libsodium` (fail rather than fall back) or
 *  `openssl` (e.g. where only a validated OpenSSL may be used). Process-wide: the
 *  signatures are the same bytes either way, only the cost differs. */
export function useEd25519(choice: Ed25519Choice): { kind: Ed25519EngineKind; why: string } {
  if (choice === 'openssl') {
    active = openssl;
    activeWhy = `using OpenSSL ${process.versions.openssl} (requested)`;
  } else if (choice === 'libsodium' && !libsodium) {
    throw new Error(`--ed25519 libsodium: ${sodiumLoad.failure}`);
  } else if (choice === 'libsodium' || choice === 'auto') {
    active = libsodium ?? openssl;
    activeWhy = AUTO_WHY;
  } else {
    throw new Error('ed25519 engine must be auto, libsodium or openssl');
  }
  return ed25519Engine();
}

/** The engine in use, and one line for the start-up log and /metrics saying why. */
export function ed25519Engine(): { kind: Ed25519EngineKind; why: string } {
  return { kind: active.kind, why: activeWhy };
}

/** The engine sign.ts calls. */
export function activeEd25519(): Ed25519Engine {
  return active;
}

// From here on sign.ts (through relay/crypto/engines.ts) uses this module's choice.
installEd25519(activeEd25519);
