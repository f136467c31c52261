// The resume proof a bench handset sends on every reconnect of a storm (docs/PROTOCOL.md,
// section 13): HMAC-SHA256(resumption secret, "hushwire resume proof v1" 0x00 || nonce ||
// route || device), the bytes of relay/resume-tickets.ts resumeProofNode (the gateway's
// check) and relay/crypto/resume.ts resumeProof (the SDK's), made cheaper per proof.
//
// Why: the generator shares the two cores with the gateways it measures, and in a storm
// every reconnect makes one proof. Through node:crypto a proof is a new Hmac object (its
// key prepared, an OpenSSL context made and freed) and four updates: ~1.7 µs of CPU in a
// loop here, and ~5-9% of the generator's storm profile (2026-12-07). A KeyObject made
// once per ticket saves nothing measurable (the key's bytes are not what costs). Here the
// key's two padded blocks are hashed once per ticket, with libsodium's SHA-256
// (sodium-native, relay/crypto/sodium.ts), and a proof copies those two states, hashes
// the message (its label, route and device written once, the nonce into its slot) and
// the inner digest: ~1.0 µs. Where libsodium does not load, or lacks the SHA-256
// functions, or computes a wrong HMAC at load (checked against node:crypto), a proof is
// resumeProofNode itself. test/bench/resume-proof.test.ts checks the bytes against both.
import { createHmac } from 'node:crypto';
import { sodium } from '../../relay/crypto/sodium.ts';
import { PROOF_LABEL } from '../../relay/crypto/resume.ts';
import { resumeProofNode } from '../../relay/resume-tickets.ts';

const NONCE_BYTES = 32;
const BLOCK = 64;

interface Sha256State {
  crypto_hash_sha256_STATEBYTES: number;
  crypto_hash_sha256_init(state: Uint8Array): void;
  crypto_hash_sha256_update(state: Uint8Array, data: Uint8Array): void;
  crypto_hash_sha256_final(state: Uint8Array, out: Uint8Array): void;
}

function sha256States(): Sha256State | null {
  const s = sodium as unknown as Partial<Sha256State> | null;
  if (s === null || typeof s.crypto_hash_sha256_init !== 'function' || typeof s.crypto_hash_sha256_update !== 'function'
    || typeof s.crypto_hash_sha256_final !== 'function' || typeof s.crypto_hash_sha256_STATEBYTES !== 'number') return null;
  return s as Sha256State;
}

/** A function giving the proof for a nonce, for one ticket's secret and one device. */
export type Prover = (nonce: Uint8Array) => Uint8Array;

/** The proofs for `secret`, `route` and `device`: the bytes of resumeProofNode(secret,
 *  nonce, route, device) for every nonce. `native: false` (tests) takes node:crypto. */
export function resumeProver(secret: Uint8Array, route: Uint8Array, device: Uint8Array, native = true): Prover {
  return proverWith(native ? engine : null, secret, route, device);
}

/** Whether proofs are made with libsodium's SHA-256 (for tests and notes). */
export function proverIsNative(): boolean {
  return engine !== null;
}

function proverWith(s: Sha256State | null, secret: Uint8Array, route: Uint8Array, device: Uint8Array): Prover {
  // HMAC hashes a key longer than a block first; a ticket secret is 32 bytes
  if (s === null || secret.length > BLOCK) return (nonce) => resumeProofNode(secret, nonce, route, device);
  const msg = new Uint8Array(PROOF_LABEL.length + NONCE_BYTES + route.length + device.length);
  msg.set(PROOF_LABEL, 0);
  msg.set(route, PROOF_LABEL.length + NONCE_BYTES);
  msg.set(device, PROOF_LABEL.length + NONCE_BYTES + route.length);
  const inner = new Uint8Array(s.crypto_hash_sha256_STATEBYTES);
  const outer = new Uint8Array(s.crypto_hash_sha256_STATEBYTES);
  const pad = new Uint8Array(BLOCK);
  for (const [state, byte] of [[inner, 0x36], [outer, 0x5c]] as const) {
    pad.fill(byte);
    for (let i = 0; i < secret.length; i++) pad[i] = secret[i]! ^ byte;
    s.crypto_hash_sha256_init(state);
    s.crypto_hash_sha256_update(state, pad);
  }
  pad.fill(0);
  const state = new Uint8Array(s.crypto_hash_sha256_STATEBYTES);
  const mid = new Uint8Array(32);
  return (nonce) => {
    if (nonce.length !== NONCE_BYTES) return resumeProofNode(secret, nonce, route, device);
    msg.set(nonce, PROOF_LABEL.length);
    const out = new Uint8Array(32);
    state.set(inner);
    s.crypto_hash_sha256_update(state, msg);
    s.crypto_hash_sha256_final(state, mid);
    state.set(outer);
    s.crypto_hash_sha256_update(state, mid);
    s.crypto_hash_sha256_final(state, out);
    return out;
  };
}

/** libsodium's SHA-256 when present and right: one proof checked against node:crypto. */
const engine: Sha256State | null = (() => {
  const s = sha256States();
  if (s === null) return null;
  try {
    const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 1) & 0xff);
    const nonce = Uint8Array.from({ length: NONCE_BYTES }, (_, i) => 255 - i);
    const route = new Uint8Array(32).fill(3);
    const device = new Uint8Array(16).fill(4);
    const want = createHmac('sha256', key).update(PROOF_LABEL).update(nonce).update(route).update(device).digest();
    return Buffer.from(proverWith(s, key, route, device)(nonce)).equals(want) ? s : null;
  } catch {
    return null;
  }
})();
