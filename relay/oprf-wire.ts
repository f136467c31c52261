// The evaluator's NATS protocol, shared by `hushwire oprf` (relay/oprf-service.ts) and
// the gateways' client (relay/evaluator-remote.ts):
//
//   request   <prefix>.oprf.<evaluator-id>.eval   OprfRequest  (queue group per id, so
//             replicas of one evaluator share the load)
//   reply     OprfResponse: evaluated + proof + the evaluator's public key, or an error
//
// A request carries only blinded elements: random-looking group elements that say
// nothing about the numbers behind them, nor who asked. No headers are used.
import { wire } from './wire.ts';
import { HushwireError, ErrorCode, wireErrorCode } from './errors.ts';
import { ELEMENT_BYTES, MAX_EVALUATE_BATCH, PROOF_BYTES } from './crypto/oprf.ts';

export const OPRF_PROTOCOL_VERSION = 1;
/** Evaluator ids name subjects: lowercase letters, digits, '_' and '-' only. */
export const EVALUATOR_ID_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const PREFIX_RE = /^[a-z][a-z0-9_-]{0,31}$/;
/** The evaluator's wait for a request whose caller did not say (ms), and the range. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
export const MAX_REQUEST_TIMEOUT_MS = 60_000;

export function checkEvaluatorId(id: unknown): string {
  if (typeof id !== 'string' || !EVALUATOR_ID_RE.test(id)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'evaluator id must be 1-32 of a-z 0-9 _ - (starting with a letter or digit)');
  }
  return id;
}

export function evalSubject(prefix: string, id: string): string {
  if (!PREFIX_RE.test(prefix)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'NATS prefix must be 1-32 of a-z 0-9 _ -');
  return `${prefix}.oprf.${checkEvaluatorId(id)}.eval`;
}

export function queueGroup(prefix: string, id: string): string {
  return `${prefix}_oprf_${checkEvaluatorId(id)}`;
}

/** Largest well-formed request for `maxBatch` elements: bigger payloads are refused
 *  before decoding. 2 bytes of tag and length per element, plus the small fields. */
export function maxRequestBytes(maxBatch: number): number {
  return maxBatch * (ELEMENT_BYTES + 2) + 32;
}

export interface OprfRequestFields {
  blinded: Uint8Array[];
  /** How long the caller waits (ms). */
  timeoutMs: number;
}

export function encodeRequest(blinded: Uint8Array[], timeoutMs: number): Uint8Array {
  return wire.OprfRequest.encode({ version: OPRF_PROTOCOL_VERSION, blinded, timeoutMs }).finish();
}

/**
 * Decodes and checks a request. Throws TOO_LARGE (payload or batch over the limit) or
 * BAD_REQUEST (not an OPRF request: undecodable, another version or message type,
 * empty, or an element of the wrong size). Group-element validity is checked by the
 * evaluation itself.
 */
export function decodeRequest(data: Uint8Array, maxBatch: number): OprfRequestFields {
  if (data.length > maxRequestBytes(maxBatch)) {
    throw new HushwireError(ErrorCode.TOO_LARGE, `request over ${maxRequestBytes(maxBatch)} bytes`);
  }
  let m: ReturnType<typeof wire.OprfRequest.decode>;
  try {
    m = wire.OprfRequest.decode(data);
  } catch {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'not an OPRF evaluation request');
  }
  // A message of another type (or garbage that happens to decode) lacks version 1.
  if (m.version !== OPRF_PROTOCOL_VERSION) throw new HushwireError(ErrorCode.BAD_REQUEST, 'not an OPRF evaluation request');
  const blinded = m.blinded;
  if (blinded.length === 0) throw new HushwireError(ErrorCode.BAD_REQUEST, 'blinded must not be empty');
  if (blinded.length > maxBatch) throw new HushwireError(ErrorCode.TOO_LARGE, `at most ${maxBatch} elements per request`);
  for (const b of blinded) {
    if (b.length !== ELEMENT_BYTES) throw new HushwireError(ErrorCode.BAD_REQUEST, `blinded element must be ${ELEMENT_BYTES} bytes`);
  }
  const t = m.timeoutMs;
  const timeoutMs = t === 0 ? DEFAULT_REQUEST_TIMEOUT_MS : Math.min(Math.max(1, t), MAX_REQUEST_TIMEOUT_MS);
  return { blinded, timeoutMs };
}

/** `maxBatch`: the evaluator's --max-batch, said in every answer (OprfResponse.max_batch)
 *  so that gateways refuse larger evaluates themselves (TOO_LARGE) instead of sending them. */
export function encodeResponse(evaluated: Uint8Array[], proof: Uint8Array, publicKey: Uint8Array, maxBatch = 0): Uint8Array {
  return wire.OprfResponse.encode({ evaluated, proof, publicKey, maxBatch }).finish();
}

export function encodeErrorResponse(e: { code: string; message: string; retryAfterMs: number }, maxBatch = 0): Uint8Array {
  return wire.OprfResponse.encode({ error: { code: e.code, message: e.message, retryAfterMs: e.retryAfterMs }, maxBatch }).finish();
}

export interface OprfAnswer {
  evaluated: Uint8Array[];
  proof: Uint8Array;
  publicKey: Uint8Array;
  /** The evaluator's largest request (elements); 0 when it did not say (an older one). */
  maxBatch: number;
}

/** The evaluator's error, as it said it (code checked against ours, message not kept:
 *  the caller shows its own fixed text). */
export class EvaluatorRefusal extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number;
  /** The evaluator's largest request, when it said (0: not said). */
  readonly maxBatch: number;
  constructor(code: ErrorCode, retryAfterMs: number, maxBatch = 0) {
    super(`evaluator refused: ${code}`);
    this.name = 'EvaluatorRefusal';
    this.code = code;
    this.retryAfterMs = retryAfterMs;
    this.maxBatch = maxBatch;
  }
}

/** OprfResponse.max_batch as a count: 0 (not said) unless a whole number in range. */
function maxBatchOf(v: unknown): number {
  const n = Number(v ?? 0);
  return Number.isSafeInteger(n) && n > 0 && n <= MAX_EVALUATE_BATCH ? n : 0;
}

/** Decodes a reply for a request of `n` elements. Throws EvaluatorRefusal for an error
 *  reply and HushwireError UNAVAILABLE for a malformed one. */
export function decodeResponse(data: Uint8Array, n: number): OprfAnswer {
  let m: ReturnType<typeof wire.OprfResponse.decode>;
  try {
    m = wire.OprfResponse.decode(data);
  } catch {
    throw malformed();
  }
  if (m.error) {
    const code = wireErrorCode(m.error.code);
    const retry = Number(m.error.retryAfterMs ?? 0);
    throw new EvaluatorRefusal(code, Number.isFinite(retry) ? Math.min(Math.max(0, retry), 60_000) : 0, maxBatchOf(m.maxBatch));
  }
  if (m.evaluated.length !== n || m.proof.length !== PROOF_BYTES || m.publicKey.length !== ELEMENT_BYTES
    || m.evaluated.some((e) => e.length !== ELEMENT_BYTES)) {
    throw malformed();
  }
  return { evaluated: m.evaluated, proof: m.proof, publicKey: m.publicKey, maxBatch: maxBatchOf(m.maxBatch) };
}

function malformed(): HushwireError {
  return new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator sent a malformed answer');
}
