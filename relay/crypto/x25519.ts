// X25519 (RFC 7748) for the HPKE KEM: through libsodium (sodium-native,
// relay/crypto/sodium.ts) where it loads, else OpenSSL through node:crypto. Loading this
// module installs that engine in relay/crypto/engines.ts, whose pure-JS (noble) default
// serves where neither exists (the portable SDK, client/portable.ts).
//
// noble's pure-JS X25519 took ~700 µs per scalar multiplication here, so sealing one
// envelope (an ephemeral key pair and a DH) cost ~1.4 ms and opening one (a DH and the
// recipient's public key) as much. Through OpenSSL a DH is ~70-85 µs and a public key
// ~35 µs (each imports its raw keys as JWK, OpenSSL's raw-key constructor: the DER forms
// go through OpenSSL 3's decoder lookup, ~9x slower); libsodium takes raw keys as they
// are, ~33 and ~12 µs. Secret keys are used exactly as given (both clamp at use, as noble
// does), so RFC 9180's DeriveKeyPair output works unchanged; both refuse low-order
// public keys. test/crypto/x25519.test.ts runs RFC 7748's vectors and a noble
// cross-check on every engine present; test/crypto/hpke.test.ts the RFC 9180 vectors.
import { createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { b64url } from './okp-key.ts';
import { sodium, type SodiumNative } from './sodium.ts';
import { okpPrivateKey } from './okp-key.ts';
import { installX25519, LOW_ORDER } from './engines.ts';

export interface X25519Engine {
  readonly kind: 'libsodium' | 'openssl';
  keyPair(): { secretKey: Uint8Array; publicKey: Uint8Array };
  publicKey(secretKey: Uint8Array): Uint8Array;
  /** Throws for a low-order public key (an all-zero result). */
  sharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

const fromB64url = (s: string | undefined): Uint8Array => {
  if (typeof s !== 'string') throw new Error('X25519 key export failed');
  return new Uint8Array(Buffer.from(s, 'base64url'));
};

const privateKeyObject = (secretKey: Uint8Array): KeyObject => okpPrivateKey('X25519', secretKey);

function allZero(b: Uint8Array): boolean {
  let acc = 0;
  for (const x of b) acc |= x;
  return acc === 0;
}

export const x25519OpenSSL: X25519Engine = {
  kind: 'openssl',
  keyPair() {
    const { privateKey } = generateKeyPairSync('x25519');
    const jwk = privateKey.export({ format: 'jwk' });
    return { secretKey: fromB64url(jwk.d), publicKey: fromB64url(jwk.x) };
  },
  publicKey(secretKey) {
    return fromB64url(createPublicKey(privateKeyObject(secretKey)).export({ format: 'jwk' }).x);
  },
  sharedSecret(secretKey, publicKey) {
    const pub = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(publicKey) }, format: 'jwk' });
    const out = diffieHellman({ privateKey: privateKeyObject(secretKey), publicKey: pub });
    // OpenSSL refuses an all-zero output itself; checked again so no build can differ.
    if (allZero(out)) throw new Error(LOW_ORDER);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  },
};

function sodiumX25519(na: SodiumNative): X25519Engine {
  const publicKey = (secretKey: Uint8Array): Uint8Array => {
    const pk = new Uint8Array(32);
    na.crypto_scalarmult_base(pk, secretKey);
    return pk;
  };
  return {
    kind: 'libsodium',
    keyPair() {
      const secretKey = new Uint8Array(randomBytes(32));
      return { secretKey, publicKey: publicKey(secretKey) };
    },
    publicKey,
    sharedSecret(secretKey, pk) {
      const out = new Uint8Array(32);
      try {
        // libsodium refuses low-order points (and an all-zero result) with a status that
        // sodium-native throws; its text is not ours to pass on
        na.crypto_scalarmult(out, secretKey, pk);
      } catch {
        throw new Error(LOW_ORDER);
      }
      if (allZero(out)) throw new Error(LOW_ORDER);
      return out;
    },
  };
}

/** libsodium's X25519 if it loaded and agrees with OpenSSL on RFC 7748's §6.1 pair. */
function checkedSodium(): X25519Engine | null {
  if (sodium === null) return null;
  const e = sodiumX25519(sodium);
  try {
    const a = new Uint8Array(Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'));
    const b = new Uint8Array(Buffer.from('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'hex'));
    const k = Buffer.from(e.sharedSecret(a, x25519OpenSSL.publicKey(b))).toString('hex');
    if (k === '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
      && Buffer.from(e.publicKey(a)).equals(Buffer.from(x25519OpenSSL.publicKey(a)))) return e;
  } catch {
    // a throw is a failed self-check too
  }
  return null;
}

/** libsodium's X25519 where it loads (and passes its self-check), else null. */
export const x25519Sodium: X25519Engine | null = checkedSodium();
const engine: X25519Engine = x25519Sodium ?? x25519OpenSSL;
// From here on hpke.ts (through relay/crypto/engines.ts) uses the native engine.
installX25519(engine);

// The functions (with their argument checks) live in engines.ts and call the engine
// installed there; re-exported so Node callers keep one import.
export { x25519KeyPair, x25519PublicKey, x25519SharedSecret } from './engines.ts';
