// Route ids from phone numbers with RFC 9497 VOPRF (mode 0x01), ristretto255-SHA512.
//
// route = HKDF-SHA256(ikm = VOPRF output, salt = empty, info = "hushwire route v1", 32).
// A plain hash of a number is no pseudonym (the number space is hashed in seconds); the
// keyed OPRF makes routes map back to numbers only for whoever holds the server key.
// The handset blinds its inputs, so the server evaluates contacts it never sees; the
// verifiable mode lets the handset check, with one batch DLEQ proof, that the server
// used the key the handset pinned (Challenge.oprf_public_key) and not a per-user key
// that would let it tag and link lookups.
//
// All group math is noble's (ristretto255_oprf.voprf); this module fixes the inputs,
// limits and error codes. The number input is the UTF-8 of the normalized E.164 string.
import { ristretto255, ristretto255_oprf } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { HushwireError, ErrorCode } from '../errors.ts';
import { parseE164 } from '../number.ts';
import { ROUTE_BYTES } from '../wire.ts';
import { assertArray, assertBytes } from './bytes.ts';

const voprf = ristretto255_oprf.voprf;
const Fn = ristretto255.Point.Fn;

const OPRF_KEY_INFO = utf8ToBytes('hushwire oprf v1');
const ROUTE_INFO = utf8ToBytes('hushwire route v1');
const EMPTY = new Uint8Array(0);

export const ELEMENT_BYTES = 32; // a ristretto255 element
export const SCALAR_BYTES = 32;
export const PROOF_BYTES = 64; // DLEQ proof: two scalars
export const OUTPUT_BYTES = 64; // SHA-512
export const SEED_BYTES = 32;
/** Most elements one Evaluate may carry: bounds the server's work per request. */
export const MAX_EVALUATE_BATCH = 1000;

/** Randomness source, as noble takes it: returns `n` uniformly random bytes. */
export type Rng = typeof randomBytes;

export interface OprfKeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}
export interface Blinded {
  /** Secret blind scalars: the handset keeps these until finalize. */
  blinds: Uint8Array[];
  /** Blinded elements: what goes to the server in Evaluate. */
  blinded: Uint8Array[];
}
export interface Evaluation {
  evaluated: Uint8Array[];
  proof: Uint8Array;
}

const PROOF_FAILED = 'OPRF proof did not verify against the pinned key';

// ---- server ----

/** The server key from a 32-byte secret seed (the configured OPRF key file). */
export function deriveServerKey(seed32: Uint8Array): OprfKeyPair {
  return _deriveKeyPair(seed32, OPRF_KEY_INFO);
}

export function generateServerKey(): OprfKeyPair {
  const { secretKey, publicKey } = voprf.generateKeyPair();
  return { secretKey, publicKey };
}

/** Evaluates one batch of blinded elements with one batch proof. */
export function evaluateBlinded(key: OprfKeyPair, blinded: Uint8Array[]): Evaluation {
  return _evaluateBlindedWith(key, blinded, randomBytes);
}

/** noble's non-interactive VOPRF Evaluate; present at run time, not in noble's types. */
const voprfEvaluate = (voprf as unknown as { evaluate(secretKey: Uint8Array, input: Uint8Array): Uint8Array }).evaluate;

/**
 * The route of a number, computed by the server during opt-in verification: RFC 9497
 * §3.3.2 Evaluate, the server's own evaluation of the PRF, which is by definition what a
 * handset gets from blind, BlindEvaluate and Finalize (test/crypto/oprf.test.ts checks
 * the two agree on every number it tries). It costs one hash to the group and one
 * scalar multiplication: 1.3 ms here, against 12.3 ms for running the handset's steps
 * with their proof, which was the largest part of a registration's gateway CPU.
 */
export function serverRouteForNumber(key: OprfKeyPair, e164: string): Uint8Array {
  checkKeyPair(key);
  return routeFromOutput(voprfEvaluate(key.secretKey, numberInput(e164)));
}

// ---- handset ----

/** The OPRF input for a number: UTF-8 of its normalized E.164 form. */
export function numberInput(e164: string): Uint8Array {
  return utf8ToBytes(parseE164(e164));
}

export function blindNumbers(numbers: string[]): Blinded {
  return _blindInputs(numberInputs(numbers), randomBytes);
}

/**
 * Verifies the batch proof against the pinned public key, then unblinds. Returns one
 * 64-byte OPRF output per number, in order; feed each to routeFromOutput.
 */
export function finalizeNumbers(
  numbers: string[],
  blinds: Uint8Array[],
  blinded: Uint8Array[],
  evaluated: Uint8Array[],
  proof: Uint8Array,
  publicKey: Uint8Array,
): Uint8Array[] {
  return _finalizeInputs(numberInputs(numbers), blinds, blinded, evaluated, proof, publicKey);
}

export function routeFromOutput(output: Uint8Array): Uint8Array {
  assertBytes(output, 'OPRF output', OUTPUT_BYTES);
  return hkdf(sha256, output, EMPTY, ROUTE_INFO, ROUTE_BYTES);
}

/**
 * Convenience for the handset: routes for numbers, given a way to reach the server's
 * Evaluate (one call per MAX_EVALUATE_BATCH numbers). The proof is checked against
 * `publicKey`, the key the handset pinned.
 */
export async function routesForNumbers(
  numbers: string[],
  publicKey: Uint8Array,
  evaluate: (blinded: Uint8Array[]) => Evaluation | Promise<Evaluation>,
): Promise<Uint8Array[]> {
  assertArray(numbers, 'numbers');
  assertBytes(publicKey, 'OPRF public key', ELEMENT_BYTES);
  if (typeof evaluate !== 'function') throw new HushwireError(ErrorCode.BAD_REQUEST, 'evaluate must be a function');
  const routes: Uint8Array[] = [];
  for (let i = 0; i < numbers.length; i += MAX_EVALUATE_BATCH) {
    const chunk = numbers.slice(i, i + MAX_EVALUATE_BATCH);
    const { blinds, blinded } = blindNumbers(chunk);
    const res = await evaluate(blinded);
    if (typeof res !== 'object' || res === null) throw new HushwireError(ErrorCode.BAD_REQUEST, 'evaluation must be an object');
    const outputs = finalizeNumbers(chunk, blinds, blinded, res.evaluated, res.proof, publicKey);
    for (const o of outputs) routes.push(routeFromOutput(o));
  }
  return routes;
}

/** One number's route; see routesForNumbers. */
export async function routeForNumber(
  e164: string,
  publicKey: Uint8Array,
  evaluate: (blinded: Uint8Array[]) => Evaluation | Promise<Evaluation>,
): Promise<Uint8Array> {
  const [route] = await routesForNumbers([e164], publicKey, evaluate);
  return route;
}

// ---- raw-input layer (exported with a leading underscore for the RFC vectors) ----
// The RFC's inputs are arbitrary bytes and its blinds and proof nonces are fixed; these
// take raw inputs and an rng so the vector tests run the exact code the API runs.
// Product code must use the functions above: a proof nonce from a predictable rng
// reveals the server key.

export function _deriveKeyPair(seed: Uint8Array, keyInfo: Uint8Array): OprfKeyPair {
  assertBytes(seed, 'OPRF seed', SEED_BYTES);
  assertBytes(keyInfo, 'OPRF key info');
  const { secretKey, publicKey } = voprf.deriveKeyPair(seed, keyInfo);
  return { secretKey, publicKey };
}

export function _blindInputs(inputs: Uint8Array[], rng: Rng): Blinded {
  assertArray(inputs, 'inputs');
  const blinds: Uint8Array[] = [];
  const blinded: Uint8Array[] = [];
  for (const input of inputs) {
    assertBytes(input, 'OPRF input');
    const b = voprf.blind(input, rng);
    blinds.push(b.blind);
    blinded.push(b.blinded);
  }
  return { blinds, blinded };
}

export function _evaluateBlindedWith(key: OprfKeyPair, blinded: Uint8Array[], rng: Rng): Evaluation {
  checkKeyPair(key);
  checkElements(blinded, 'blinded');
  if (blinded.length > MAX_EVALUATE_BATCH) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `at most ${MAX_EVALUATE_BATCH} elements per evaluation`);
  }
  try {
    const { evaluated, proof } = voprf.blindEvaluateBatch(key.secretKey, key.publicKey, blinded, rng);
    return { evaluated, proof };
  } catch {
    // The key pair was checked above, so what noble refused is a client's element:
    // not a canonical ristretto255 encoding, or the identity.
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'blinded element is not a valid group element');
  }
}

export function _finalizeInputs(
  inputs: Uint8Array[],
  blinds: Uint8Array[],
  blinded: Uint8Array[],
  evaluated: Uint8Array[],
  proof: Uint8Array,
  publicKey: Uint8Array,
): Uint8Array[] {
  assertArray(inputs, 'inputs');
  for (const input of inputs) assertBytes(input, 'OPRF input');
  checkScalars(blinds, 'blinds');
  checkElements(blinded, 'blinded');
  checkElements(evaluated, 'evaluated');
  const n = inputs.length;
  if (blinds.length !== n || blinded.length !== n || evaluated.length !== n) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF batch arrays differ in length');
  }
  assertBytes(proof, 'OPRF proof', PROOF_BYTES);
  checkPublicKey(publicKey);
  const items = inputs.map((input, i) => ({ input, blind: blinds[i], blinded: blinded[i], evaluated: evaluated[i] }));
  try {
    return voprf.finalizeBatch(items, publicKey, proof);
  } catch {
    // Our own inputs were checked above; a failure here is the server's answer (a bad
    // proof, an invalid or identity element): it did not prove it used the pinned key.
    throw new HushwireError(ErrorCode.AUTH_FAILED, PROOF_FAILED);
  }
}

// ---- checks ----

function numberInputs(numbers: unknown): Uint8Array[] {
  assertArray(numbers, 'numbers');
  return numbers.map((n) => numberInput(n as string));
}

function checkElements(list: unknown, name: string): asserts list is Uint8Array[] {
  assertArray(list, name);
  if (list.length === 0) throw new HushwireError(ErrorCode.BAD_REQUEST, `${name} must not be empty`);
  for (const e of list) assertBytes(e, `${name} element`, ELEMENT_BYTES);
}

function checkScalars(list: unknown, name: string): asserts list is Uint8Array[] {
  assertArray(list, name);
  for (const e of list) assertBytes(e, `${name} element`, SCALAR_BYTES);
}

function checkPublicKey(publicKey: unknown): asserts publicKey is Uint8Array {
  assertBytes(publicKey, 'OPRF public key', ELEMENT_BYTES);
  let ok = false;
  try {
    ok = !ristretto255.Point.fromBytes(publicKey).is0();
  } catch {
    ok = false;
  }
  if (!ok) throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF public key is not a valid group element');
}

function checkKeyPair(key: unknown): asserts key is OprfKeyPair {
  if (typeof key !== 'object' || key === null) throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF key must be an object');
  const k = key as OprfKeyPair;
  assertBytes(k.secretKey, 'OPRF secret key', SCALAR_BYTES);
  let ok = false;
  try {
    ok = !Fn.is0(Fn.fromBytes(k.secretKey)); // canonical: below the group order, non-zero
  } catch {
    ok = false;
  }
  if (!ok) throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF secret key is not a valid scalar');
  checkPublicKey(k.publicKey);
}
