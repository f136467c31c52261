// X25519 (RFC 7748) through node:crypto (OpenSSL), for the HPKE KEM.
//
// noble's pure-JS X25519 took ~700 µs per scalar multiplication here, so sealing one
// envelope (an ephemeral key pair and a DH) cost ~1.4 ms and opening one (a DH and the
// recipient's public key) as much; through OpenSSL each step is ~40 µs. Raw keys are
// imported as JWK, which Node hands to OpenSSL's raw-key constructor (the DER forms go
// through OpenSSL 3's decoder lookup, ~9x slower: relay/crypto/sign.ts). Secret keys
// are used exactly as given (OpenSSL clamps at use, as noble does), so RFC 9180's
// DeriveKeyPair output works unchanged; test/crypto/hpke.test.ts checks every result
// against the RFC's vectors and against noble on random keys.
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { b64url } from './bytes.ts';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

const fromB64url = (s: string | undefined): Uint8Array => {
  if (typeof s !== 'string') throw new Error('X25519 key export failed');
  return new Uint8Array(Buffer.from(s, 'base64url'));
};

/** Node reads only `d` of a private OKP JWK (it checks that `x` is a string, not that it
 *  matches), so `x` is left empty; should a Node version refuse that, the PKCS#8 form
 *  (slower, same key) is used. */
function privateKeyObject(secretKey: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64url(secretKey), x: '' }, format: 'jwk' });
  } catch {
    return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
  }
}

/** A fresh random key pair (32-byte secret and public keys). */
export function x25519KeyPair(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return { secretKey: fromB64url(jwk.d), publicKey: fromB64url(jwk.x) };
}

/** The public key of a 32-byte secret key. */
export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return fromB64url(createPublicKey(privateKeyObject(secretKey)).export({ format: 'jwk' }).x);
}

/** X25519(secretKey, publicKey). Throws when the result is all zeros (a low-order public
 *  key: RFC 7748 §6.1, RFC 9180 §7.1.4), or the public key is not 32 bytes. */
export function x25519SharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const pub = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(publicKey) }, format: 'jwk' });
  const out = diffieHellman({ privateKey: privateKeyObject(secretKey), publicKey: pub });
  // OpenSSL refuses an all-zero output itself; checked again so no build can differ.
  let acc = 0;
  for (const b of out) acc |= b;
  if (acc === 0) throw new Error('X25519 output is all zeros (low-order public key)');
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
