// Ed25519 device identity signatures, and the exact bytes each protocol signature covers.
//
// sign/verify go through node:crypto (OpenSSL): verification sits on the gateway's
// connection path and is 7-10x faster there than pure-JS noble. A raw 32-byte key is
// imported as a JWK (`{kty: 'OKP', crv: 'Ed25519', x[, d]}`), which Node hands to
// OpenSSL's raw-key constructor: ~7 µs for a public key and ~42 µs for a secret seed
// here, against ~83 and ~370 µs for the same key wrapped in its DER header (OpenSSL 3's
// decoder lookup). Keys are imported per verification and nothing is kept: the cache
// of parsed public keys this replaced saved ~27 µs per reconnect to the same gateway
// but held ~240 B per idle device (docs/BENCHMARKS.md, optimisations). verifyNoble is the
// independent second implementation the tests cross-check against. Both reject
// non-canonical encodings (noble is told zip215: false) and small-order keys. One
// difference is left, pinned in the tests: noble checks the cofactored equation, OpenSSL
// the cofactorless one, so a signature whose R has a small-order component passes noble
// only. Only the secret key's holder can make one, so it forges nothing; production code
// uses `verify`.
//
// Every signed message starts with its own label and a 0x00 byte, so a signature made
// for one purpose can never be replayed as another.
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type JsonWebKeyInput, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { assertRoute, assertDevice } from '../tokens.ts';
import { assertBytes, b64url, label0 } from './bytes.ts';
import { X25519_KEY_BYTES } from './hpke.ts';

export const IDENTITY_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const NONCE_BYTES = 32; // Challenge.nonce

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

// The encodings of the eight small-order points (libsodium's list; the x sign bit, the
// top bit of the last byte, is ignored). With such a public key, "signatures" that
// verify for every message are trivial to make. RFC 8032 does not forbid them and
// OpenSSL accepts them; noble's strict mode refuses them. Both paths refuse them here,
// so the two verifiers agree and no device can register a key anyone can sign for.
const SMALL_ORDER_KEYS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((h) => Buffer.from(h, 'hex'));

function isSmallOrder(pk: Uint8Array): boolean {
  return SMALL_ORDER_KEYS.some((b) => {
    for (let i = 0; i < 31; i++) if (pk[i] !== b[i]) return false;
    return (pk[31] & 0x7f) === b[31];
  });
}

const AUTH_LABEL = label0('hushwire auth v1');
const REGISTER_LABEL = label0('hushwire register v1');
const PREKEY_LABEL = label0('hushwire prekey v1');

export interface Identity {
  /** The 32-byte RFC 8032 secret seed. */
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function generateIdentity(): Identity {
  const { secretKey, publicKey } = ed25519.keygen();
  return { secretKey, publicKey };
}

/** The KeyObject of a secret seed. Node reads only `d` of a private OKP JWK (it checks
 *  that `x` is a string, not that it matches), so `x` is left empty and the public key
 *  comes from the seed, as with the DER form. Should a Node version refuse that, the
 *  DER form (slower, same key) is used instead. */
function privateKeyObject(secretKey: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(secretKey), x: '' }, format: 'jwk' });
  } catch {
    return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
  }
}

/** A raw 32-byte public key as node:crypto takes it. Given to verify as is (not made a
 *  KeyObject first), Node imports it straight to a native handle: no JS wrapper object
 *  per verification for the GC. */
function publicKeyInput(publicKey: Uint8Array): JsonWebKeyInput {
  return { key: { kty: 'OKP', crv: 'Ed25519', x: b64url(publicKey) }, format: 'jwk' };
}

/** The public key of a secret seed (used to catch a mismatched identity pair early). */
export function identityPublicKey(secretKey: Uint8Array): Uint8Array {
  assertBytes(secretKey, 'identity secret key', IDENTITY_KEY_BYTES);
  const x = createPublicKey(privateKeyObject(secretKey)).export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('Ed25519 public key export failed');
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

export function sign(secretKey: Uint8Array, msg: Uint8Array): Uint8Array {
  assertBytes(secretKey, 'identity secret key', IDENTITY_KEY_BYTES);
  assertBytes(msg, 'message');
  const sig = nodeSign(null, msg, privateKeyObject(secretKey));
  return new Uint8Array(sig.buffer, sig.byteOffset, sig.length);
}

/** true only for a valid signature; malformed or small-order keys give false. */
export function verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  checkVerifyArgs(publicKey, msg, sig);
  if (isSmallOrder(publicKey)) return false;
  try {
    return nodeVerify(null, msg, publicKeyInput(publicKey), sig);
  } catch {
    return false;
  }
}

/** The same check in pure JS (noble), strict RFC 8032 like OpenSSL. */
export function verifyNoble(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  checkVerifyArgs(publicKey, msg, sig);
  if (isSmallOrder(publicKey)) return false;
  try {
    return ed25519.verify(sig, msg, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

function checkVerifyArgs(publicKey: unknown, msg: unknown, sig: unknown): void {
  assertBytes(publicKey, 'identity public key', IDENTITY_KEY_BYTES);
  assertBytes(msg, 'message');
  assertBytes(sig, 'signature', SIGNATURE_BYTES);
}

// ---- signing inputs ----

/** Auth: "hushwire auth v1" 0x00 || nonce || route || device. */
export function authInput(nonce: Uint8Array, route: Uint8Array, device: Uint8Array): Uint8Array {
  assertBytes(nonce, 'nonce', NONCE_BYTES);
  assertRoute(route);
  assertDevice(device);
  return concatBytes(AUTH_LABEL, nonce, route, device);
}

/** RegisterDevice: "hushwire register v1" 0x00 || nonce || device || identity_key || prekey. */
export function registerInput(nonce: Uint8Array, device: Uint8Array, identityKey: Uint8Array, prekey: Uint8Array): Uint8Array {
  assertBytes(nonce, 'nonce', NONCE_BYTES);
  assertDevice(device);
  assertBytes(identityKey, 'identity key', IDENTITY_KEY_BYTES);
  assertBytes(prekey, 'prekey', X25519_KEY_BYTES);
  return concatBytes(REGISTER_LABEL, nonce, device, identityKey, prekey);
}

/** Prekey signature: "hushwire prekey v1" 0x00 || prekey. */
export function prekeyInput(prekey: Uint8Array): Uint8Array {
  assertBytes(prekey, 'prekey', X25519_KEY_BYTES);
  return concatBytes(PREKEY_LABEL, prekey);
}
