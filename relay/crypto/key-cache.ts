// Parsed Ed25519 public keys (node:crypto KeyObjects), kept between verifications.
//
// Building a KeyObject from raw bytes (createPublicKey over a DER wrapper) cost more
// than the verification itself: on a reconnect storm it was the largest single item in
// the gateway's profile (docs/BENCHMARKS.md). A device verifies with the same identity
// key on every connect, so the parsed key is cached.
//
// Bound: MAX_KEYS entries, least recently used evicted first. Only public keys are
// held (they are public, and in the directory anyway); the cache is process memory,
// never logged or exported.
import { createPublicKey, type KeyObject } from 'node:crypto';

const MAX_KEYS = 65_536;
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const keys = new Map<string, KeyObject>();

/** The KeyObject of a raw 32-byte Ed25519 public key (throws on a malformed key, uncached). */
export function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1');
  const hit = keys.get(id);
  if (hit !== undefined) {
    keys.delete(id); // refresh its place in the LRU order
    keys.set(id, hit);
    return hit;
  }
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  keys.set(id, key);
  if (keys.size > MAX_KEYS) {
    const oldest = keys.keys().next().value;
    if (oldest !== undefined) keys.delete(oldest);
  }
  return key;
}
