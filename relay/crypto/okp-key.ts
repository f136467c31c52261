// A raw 32-byte Ed25519 seed or X25519 secret key as an OpenSSL KeyObject (node:crypto),
// for the OpenSSL engines of relay/crypto/ed25519-engine.ts and relay/crypto/x25519.ts.
//
// Node reads only `d` of a private OKP JWK (it checks that `x` is a string, not that it
// matches), so `x` is left empty and the public key comes from the secret, as with the
// DER form. A raw key goes through OpenSSL's raw-key constructor this way (~42 µs here)
// rather than OpenSSL 3's DER decoder lookup (~370 µs). Should a Node version refuse
// the empty `x`, the PKCS#8 DER form (slower, same key) is used instead.
import { createPrivateKey, type KeyObject } from 'node:crypto';

/** base64url without padding, of exactly the bytes in view (a subarray is read at its
 *  offset): how raw keys are written into a JWK for node:crypto. Here, in a Node-only
 *  module, because it uses Buffer (relay/crypto/bytes.ts is on the portable SDK's path). */
export function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

const PKCS8_PREFIX = {
  Ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
  X25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
} as const;

export function okpPrivateKey(crv: 'Ed25519' | 'X25519', secret: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv, d: b64url(secret), x: '' }, format: 'jwk' });
  } catch {
    return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX[crv], secret]), format: 'der', type: 'pkcs8' });
  }
}
