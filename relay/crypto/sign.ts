// Ed25519 device identity signatures, and the exact bytes each protocol signature covers.
//
// sign/verify go through the engine installed in relay/crypto/engines.ts: on Node the
// faster one available (relay/crypto/ed25519-engine.ts installs it when loaded: libsodium
// when its native binary loads, else OpenSSL through node:crypto), elsewhere noble. Verification
// sits on the gateway's connection path (one per connect), so its cost is the reconnect
// storm's largest item. Raw 32-byte keys go in as they are and nothing is kept per
// device (a cache of parsed keys once saved ~27 µs per reconnect but held ~240 B per
// idle device: docs/BENCHMARKS.md, optimisations). verifyNoble is the independent pure-JS
// implementation the tests cross-check the engines against. Every engine (libsodium,
// OpenSSL, noble's in engines.ts) rejects non-canonical S and uses the cofactorless
// equation; small-order keys and small-order R are refused here before any engine runs,
// so all accept exactly the same signatures. noble's own verify (cofactored; the
// reference verifyNoble) also accepts an R with a small-order component: pinned in the
// tests. Only the secret key's holder can make such a signature, so it forges nothing.
//
// Every signed message starts with its own label and a 0x00 byte, so a signature made
// for one purpose can never be replayed as another.
import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import { assertRoute, assertDevice } from '../token-shape.ts';
import { assertBytes, label0 } from './bytes.ts';
import { currentEd25519 as engine, type Ed25519Ops } from './engines.ts';
import { X25519_KEY_BYTES } from './hpke.ts';

export const IDENTITY_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const NONCE_BYTES = 32; // Challenge.nonce

// The encodings of the eight small-order points (libsodium's list; the x sign bit, the
// top bit of the last byte, is ignored). With such a public key, "signatures" that
// verify for every message are trivial to make. RFC 8032 does not forbid them and
// OpenSSL accepts them; libsodium and noble's strict mode refuse them. They are refused
// here whatever the engine, so all agree and no device can register a key anyone can
// sign for.
const SMALL_ORDER_KEYS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((h) => hexToBytes(h));

function isSmallOrder(pk: Uint8Array): boolean {
  return SMALL_ORDER_KEYS.some((b) => {
    for (let i = 0; i < 31; i++) if (pk[i] !== b[i]) return false;
    return (pk[31] & 0x7f) === b[31];
  });
}

const AUTH_LABEL = label0('hushwire auth v1');
const REGISTER_LABEL = label0('hushwire register v1');
const PREKEY_LABEL = label0('hushwire prekey v1');
const UNREGISTER_LABEL = label0('hushwire unregister v1');

export interface Identity {
  /** The 32-byte RFC 8032 secret seed. */
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function generateIdentity(): Identity {
  const { secretKey, publicKey } = ed25519.keygen();
  return { secretKey, publicKey };
}

/** The public key of a secret seed (used to catch a mismatched identity pair early). */
export function identityPublicKey(secretKey: Uint8Array): Uint8Array {
  assertBytes(secretKey, 'identity secret key', IDENTITY_KEY_BYTES);
  return engine().publicKey(secretKey);
}

export function sign(secretKey: Uint8Array, msg: Uint8Array): Uint8Array {
  assertBytes(secretKey, 'identity secret key', IDENTITY_KEY_BYTES);
  assertBytes(msg, 'message');
  return engine().sign(secretKey, msg);
}

/** A signing function for a key that signs often (a handset's identity: each connect,
 *  each sealed envelope), holding its expanded key: same signatures as `sign`, without
 *  the per-call key set-up. The function keeps the secret for as long as it lives. */
export function signer(secretKey: Uint8Array): (msg: Uint8Array) => Uint8Array {
  assertBytes(secretKey, 'identity secret key', IDENTITY_KEY_BYTES);
  const signWith = engine().signer(secretKey);
  return (msg) => {
    assertBytes(msg, 'message');
    return signWith(msg);
  };
}

/** true only for a valid signature; malformed or small-order keys give false. */
export function verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  return verifyWith(engine(), publicKey, msg, sig);
}

/** `verify` on a given engine (the tests run each engine present here). */
export function verifyWith(e: Ed25519Ops, publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  checkVerifyArgs(publicKey, msg, sig);
  // A small-order R: libsodium refuses it, OpenSSL and the noble engine accept R =
  // identity (the equation holds); refused here so every engine agrees.
  if (isSmallOrder(publicKey) || isSmallOrder(sig)) return false;
  return e.verify(publicKey, msg, sig);
}

/** noble's own verify (strict RFC 8032 encodings, cofactored equation): the independent
 *  reference the tests cross-check the engines against; it accepts an R with a
 *  small-order component, which no engine does (test/crypto/sign.test.ts pins it). */
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

/** Unregister.signature: "hushwire unregister v1" 0x00 || route || device. Required on a
 *  connection authenticated with a resumption ticket (docs/PROTOCOL.md, section 7): an
 *  opt-out then rests on the identity key, not on the gateways' ticket keys. No nonce: a
 *  copy can only opt out that very device, which its first use already did (a new
 *  registration draws a new device id). */
export function unregisterInput(route: Uint8Array, device: Uint8Array): Uint8Array {
  assertRoute(route);
  assertDevice(device);
  return concatBytes(UNREGISTER_LABEL, route, device);
}

/** Prekey signature: "hushwire prekey v1" 0x00 || prekey. */
export function prekeyInput(prekey: Uint8Array): Uint8Array {
  assertBytes(prekey, 'prekey', X25519_KEY_BYTES);
  return concatBytes(PREKEY_LABEL, prekey);
}
