// A VOPRF key split between evaluators run by different operators.
//
// The key is k = k1 + k2 (+ ...) modulo the group order, so the public key is
// P = P1 + P2 and, for a blinded element B, k*B = k1*B + k2*B. Each evaluator proves its
// own share with a DLEQ proof against its share key Pi; the handset verifies every proof,
// checks that the share keys add up to the key it pinned, adds the evaluated elements
// and finalizes the sum. If each share is proven against its Pi and sum(Pi) = P, then
// sum(ki) = k: the output is exactly the single-key VOPRF output F_k(input), so routes
// do not depend on how (or whether) the key is split, and a share set that does not
// add up to the pinned key cannot pass. No single evaluator can compute a route.
//
// RFC 9497 Finalize (unblind, then Hash(input || element || "Finalize")) does not use
// the mode's context string, so the sum is finalized with noble's mode-0 finalize; but
// HashToGroup does use it, so inputs must be blinded with the VOPRF (0x01) blind, as
// relay/crypto/oprf.ts does. test/oprf/split.test.ts checks the outputs against a
// single key holding the sum and against the RFC 9497 A.1.1 vectors.
import { ristretto255, ristretto255_oprf } from '@noble/curves/ed25519.js';
import { HushwireError, ErrorCode } from '../errors.ts';
import { assertArray, assertBytes } from './bytes.ts';
import {
  ELEMENT_BYTES, PROOF_BYTES, SCALAR_BYTES, finalizeNumbers, numberInput,
  type OprfKeyPair,
} from './oprf.ts';

const Point = ristretto255.Point;
const Fn = Point.Fn;
const voprf = ristretto255_oprf.voprf;
const oprf = ristretto255_oprf.oprf;

/** At most this many shares (the design uses two; more work the same way). */
export const MAX_SHARES = 4;

const PROOF_FAILED = 'OPRF proof did not verify against the pinned key';
const SHARES_MISMATCH = 'OPRF share keys do not add up to the pinned key';
const MALFORMED = 'malformed OPRF evaluation';

/** One evaluator's answer for a batch: its share key, its elements, its proof. */
export interface ShareEvaluation {
  publicKey: Uint8Array;
  evaluated: Uint8Array[];
  proof: Uint8Array;
}

/** What a gateway answers to Evaluate (wire.Evaluated): one key (evaluated + proof) or shares. */
export interface AnyEvaluation {
  evaluated?: Uint8Array[] | null;
  proof?: Uint8Array | null;
  shares?: ReadonlyArray<{ publicKey?: Uint8Array | null; evaluated?: Uint8Array[] | null; proof?: Uint8Array | null }> | null;
}

// ---- keys ----

/** The key pair of a secret scalar (32 bytes little-endian, canonical, non-zero). */
export function keyPairFromScalar(secretKey: Uint8Array): OprfKeyPair {
  assertBytes(secretKey, 'OPRF secret key', SCALAR_BYTES);
  let k: bigint;
  try {
    k = Fn.fromBytes(secretKey);
  } catch {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF secret key is not a valid scalar');
  }
  if (Fn.is0(k)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF secret key is not a valid scalar');
  return { secretKey: Fn.toBytes(k), publicKey: Point.BASE.multiply(k).toBytes() };
}

/**
 * Splits a key into `n` random shares that add up to it. For moving an existing key to
 * split evaluators without changing any route; whoever runs this held the whole key,
 * so it must be done once, offline, and the original destroyed afterwards.
 */
export function splitKey(key: OprfKeyPair, n = 2): OprfKeyPair[] {
  if (!Number.isInteger(n) || n < 2 || n > MAX_SHARES) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `a key splits into 2 to ${MAX_SHARES} shares`);
  }
  const k = Fn.fromBytes(keyPairFromScalar(key.secretKey).secretKey);
  for (;;) {
    const parts: bigint[] = [];
    let rest = k;
    for (let i = 0; i < n - 1; i++) {
      const { secretKey } = voprf.generateKeyPair(); // a uniformly random non-zero scalar
      const s = Fn.fromBytes(secretKey);
      parts.push(s);
      rest = Fn.sub(rest, s);
    }
    if (Fn.is0(rest)) continue; // negligible; a zero share would be no share at all
    parts.push(rest);
    return parts.map((s) => keyPairFromScalar(Fn.toBytes(s)));
  }
}

/** The key that shares add up to (tests and `hushwire oprf split` checks). */
export function combineSecretKeys(shares: Uint8Array[]): OprfKeyPair {
  checkCount(shares, 'OPRF secret key shares', 1);
  let k = Fn.ZERO;
  for (const s of shares) k = Fn.add(k, Fn.fromBytes(keyPairFromScalar(s).secretKey));
  if (Fn.is0(k)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF key shares add up to zero');
  return keyPairFromScalar(Fn.toBytes(k));
}

/** P = P1 + P2 (+ ...). Each key must be a valid non-identity element, and so the sum. */
export function combinePublicKeys(keys: Uint8Array[]): Uint8Array {
  checkCount(keys, 'OPRF public keys', 1);
  let sum = Point.ZERO;
  for (const k of keys) sum = sum.add(decodeKey(k));
  if (sum.is0()) throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF public keys add up to the identity');
  return sum.toBytes();
}

/** True when `shares` add up to `pinned` (a handset's check of Challenge.oprf_share_keys). */
export function sharesMatchKey(shares: Uint8Array[], pinned: Uint8Array): boolean {
  try {
    return equalBytes(combinePublicKeys(shares), pinned);
  } catch {
    return false;
  }
}

// ---- verification and finalization ----

/**
 * Verifies one share's batch proof for `blinded` against `publicKey` (noble's VOPRF
 * verification; RFC 9497 §2.2.2). Throws AUTH_FAILED if it does not hold.
 */
export function verifyShare(blinded: Uint8Array[], share: ShareEvaluation): void {
  checkShare(share, blinded.length);
  // noble exposes verification only through finalizeBatch; the outputs it also computes
  // (unblinded with a blind of 1) are thrown away.
  const one = Fn.toBytes(Fn.ONE);
  const items = blinded.map((b, i) => ({ input: EMPTY, blind: one, blinded: b, evaluated: share.evaluated[i] }));
  try {
    voprf.finalizeBatch(items, share.publicKey, share.proof);
  } catch {
    throw new HushwireError(ErrorCode.AUTH_FAILED, PROOF_FAILED);
  }
}

/**
 * Verifies every share against its key, checks the keys add up to `pinnedKey`, adds the
 * evaluated elements and finalizes: one 64-byte output per input, equal to the
 * single-key VOPRF output under the combined key.
 */
export function finalizeShares(
  inputs: Uint8Array[],
  blinds: Uint8Array[],
  blinded: Uint8Array[],
  shares: ShareEvaluation[],
  pinnedKey: Uint8Array,
): Uint8Array[] {
  assertArray(inputs, 'inputs');
  for (const input of inputs) assertBytes(input, 'OPRF input');
  assertArray(blinds, 'blinds');
  for (const b of blinds) assertBytes(b, 'blind', SCALAR_BYTES);
  assertArray(blinded, 'blinded');
  for (const b of blinded) assertBytes(b, 'blinded element', ELEMENT_BYTES);
  const n = inputs.length;
  if (n === 0 || blinds.length !== n || blinded.length !== n) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF batch arrays differ in length');
  }
  decodeKey(pinnedKey);
  checkCount(shares, 'OPRF shares', 2);
  for (const s of shares) checkShare(s, n);
  if (!sharesMatchKey(shares.map((s) => s.publicKey), pinnedKey)) {
    throw new HushwireError(ErrorCode.AUTH_FAILED, SHARES_MISMATCH);
  }
  for (const s of shares) verifyShare(blinded, s);
  try {
    return inputs.map((input, i) => {
      let z = Point.ZERO;
      for (const s of shares) z = z.add(Point.fromBytes(s.evaluated[i]));
      // Mode-independent RFC 9497 Finalize of the summed element (see the header).
      return oprf.finalize(input, blinds[i], z.toBytes());
    });
  } catch {
    // Proven elements under keys that add up to a non-identity key cannot sum to the
    // identity; reaching this means an answer we should not trust.
    throw new HushwireError(ErrorCode.AUTH_FAILED, PROOF_FAILED);
  }
}

/**
 * The handset's one entry point for a gateway's evaluation, single key or split:
 * checks its shape, verifies every proof against the pinned key (directly, or through
 * share keys that must add up to it) and returns one output per number.
 */
export function finalizeNumberEvaluation(
  numbers: string[],
  blinds: Uint8Array[],
  blinded: Uint8Array[],
  ev: AnyEvaluation | null | undefined,
  pinnedKey: Uint8Array,
): Uint8Array[] {
  assertArray(numbers, 'numbers');
  if (typeof ev !== 'object' || ev === null) throw new HushwireError(ErrorCode.BAD_REQUEST, MALFORMED);
  const shares = ev.shares ?? [];
  if (shares.length === 0) {
    const evaluated = ev.evaluated ?? [];
    if (evaluated.length !== numbers.length || !(ev.proof instanceof Uint8Array)) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, MALFORMED);
    }
    return finalizeNumbers(numbers, blinds, blinded, evaluated, ev.proof, pinnedKey);
  }
  const list: ShareEvaluation[] = shares.map((s) => ({
    publicKey: s.publicKey ?? new Uint8Array(0),
    evaluated: s.evaluated ?? [],
    proof: s.proof ?? new Uint8Array(0),
  }));
  return finalizeShares(numbers.map((x) => numberInput(x)), blinds, blinded, list, pinnedKey);
}


// ---- checks ----

const EMPTY = new Uint8Array(0);

function checkCount(list: unknown, name: string, min: number): asserts list is unknown[] {
  assertArray(list, name);
  if (list.length < min || list.length > MAX_SHARES) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `${name}: expected ${min} to ${MAX_SHARES}`);
  }
}

function checkShare(s: ShareEvaluation, n: number): void {
  if (typeof s !== 'object' || s === null) throw new HushwireError(ErrorCode.BAD_REQUEST, MALFORMED);
  if (!(s.publicKey instanceof Uint8Array) || s.publicKey.length !== ELEMENT_BYTES
    || !Array.isArray(s.evaluated) || s.evaluated.length !== n
    || !(s.proof instanceof Uint8Array) || s.proof.length !== PROOF_BYTES) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, MALFORMED);
  }
  for (const e of s.evaluated) {
    if (!(e instanceof Uint8Array) || e.length !== ELEMENT_BYTES) throw new HushwireError(ErrorCode.BAD_REQUEST, MALFORMED);
  }
}

function decodeKey(key: unknown): InstanceType<typeof Point> {
  assertBytes(key, 'OPRF public key', ELEMENT_BYTES);
  let p: InstanceType<typeof Point>;
  try {
    p = Point.fromBytes(key);
  } catch {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF public key is not a valid group element');
  }
  if (p.is0()) throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF public key is not a valid group element');
  return p;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}
