// Loads libsodium through sodium-native (a prebuilt native addon: holepunch, MIT; binaries
// in the package for linux, macOS, Windows and Android on x64 and arm64, nothing compiled
// at install), once per process, for the two places that use it: Ed25519
// (relay/crypto/ed25519-engine.ts) and X25519 (relay/crypto/x25519.ts). Where it does not
// load, both fall back to OpenSSL through node:crypto, and `sodiumWhy` says why. Each
// user checks the functions it needs against OpenSSL when it loads: a binary that loads
// but computes wrongly must not be used.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { explainLoadFailure } from '../native-load.ts';

/** The part of sodium-native used here (the package ships no types). Functions throw on
 *  a non-zero libsodium status (e.g. crypto_scalarmult with a low-order point). */
export interface SodiumNative {
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, msg: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean;
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
  sodium_memzero(b: Uint8Array): void;
}

const FUNCTIONS = [
  'crypto_sign_seed_keypair', 'crypto_sign_detached', 'crypto_sign_verify_detached',
  'crypto_scalarmult', 'crypto_scalarmult_base', 'sodium_memzero',
] as const;

function load(): { sodium: SodiumNative | null; version: string; why: string } {
  const require = createRequire(import.meta.url);
  let version = 'unknown';
  try {
    const v = (JSON.parse(readFileSync(require.resolve('sodium-native/package.json'), 'utf8')) as { version?: unknown }).version;
    if (typeof v === 'string') version = v;
  } catch {
    // not installed: the require below says so
  }
  try {
    // CommonJS native addon: require(), as for uWebSockets.js (gateway/transport/select.ts).
    const m = require('sodium-native') as Record<string, unknown> | null;
    const missing = FUNCTIONS.filter((f) => typeof m?.[f] !== 'function');
    if (missing.length > 0) return { sodium: null, version, why: `sodium-native ${version} lacks ${missing.join(', ')}` };
    return { sodium: m as unknown as SodiumNative, version, why: `sodium-native ${version}` };
  } catch (e) {
    return { sodium: null, version, why: `sodium-native ${version} failed to load (${explainLoadFailure(e)})` };
  }
}

const loaded = load();

/** libsodium's functions, or null where sodium-native does not load. */
export const sodium: SodiumNative | null = loaded.sodium;
/** sodium-native's version as installed ('unknown' if not). */
export const sodiumVersion: string = loaded.version;
/** Why it is null (the load failure), or the version that loaded. */
export const sodiumWhy: string = loaded.why;
