// The OPRF evaluator: the only holder of the OPRF key (or of one share of it). Gateways
// call it to evaluate blinded numbers for discovery and to compute the route of a
// number that just passed opt-in verification.
//
// - `LocalEvaluator` holds the key in the gateway process: the embedded single-node
//   default (and NATS mode with a key file shared by the gateways).
// - `ShareEvaluator` (relay/evaluator-shares.ts) asks one or more key holders and, with
//   a split key, hands the handset one evaluation per share; `RemoteEvaluator`
//   (relay/evaluator-remote.ts) is that over NATS to `hushwire oprf` processes.
import { randomBytes } from 'node:crypto';
import { hexToBytes } from '@noble/hashes/utils.js';
import {
  deriveServerKey, evaluateBlinded, serverRouteForNumber, MAX_EVALUATE_BATCH,
  type OprfKeyPair,
} from './crypto/oprf.ts';
import { keyPairFromScalar } from './crypto/oprf-split.ts';
import { HushwireError, ErrorCode } from './errors.ts';
import { OprfPool } from './oprf-pool.ts';
import { readSettingText, SettingError, SETTING_FILE_MAX_BYTES } from './setting-file.ts';

/** One share's evaluation (wire.EvaluatedShare). */
export interface EvaluationShare {
  publicKey: Uint8Array;
  evaluated: Uint8Array[];
  proof: Uint8Array;
}

/** An answer to Evaluate (wire.Evaluated): `evaluated` + `proof` for a single key, or
 *  `shares` (and empty `evaluated`/`proof`) for a split key. */
export interface EvaluatorResult {
  evaluated: Uint8Array[];
  proof: Uint8Array;
  shares: EvaluationShare[];
}

export interface Evaluator {
  /** VOPRF public key (ristretto255, 32 bytes) that handsets pin: the combined key when
   *  the key is split. */
  readonly publicKey: Uint8Array;
  /** The share keys (summing to publicKey) when the key is split; empty otherwise. */
  readonly shareKeys: readonly Uint8Array[];
  /** The most blinded elements one `evaluate` may carry, when known: the evaluators'
   *  --max-batch (the smallest of a split key's), learnt from their answers; 0 while not
   *  known (an evaluator not heard from yet, or an older one that does not say). A larger
   *  evaluate would be refused TOO_LARGE by the evaluator; the gateway refuses it first. */
  readonly maxBatch: number;
  evaluate(blinded: Uint8Array[]): Promise<EvaluatorResult>;
  /** route for a verified number (server-side evaluation of the same function). */
  routeForNumber(e164: string): Promise<Uint8Array>;
  /** Starts the evaluator's worker thread, if it has one and it is not running, and
   *  resolves once it answers. The gateway calls it when it starts listening (not
   *  awaited), so that the first registration does not wait for a thread start; without
   *  it the thread starts at the first use. Rejects UNAVAILABLE once closed. */
  ready?(): Promise<void>;
  close(): Promise<void>;
}

export interface LocalEvaluatorOptions {
  /** Batches up to this many elements are evaluated on the calling thread; larger ones
   *  go to a worker thread started on first use. Default 0: every evaluation goes to the
   *  worker, and so does the route of a number (with 1 or more, routes stay inline).
   *  One element costs ~5 ms of pure-JS group arithmetic (with its proof), a route
   *  ~1.5 ms, and on the gateway's event loop that stalled every other connection for as
   *  long: at 500 registrations/s a 1 ms timer ran 4.4 ms late at the median inline,
   *  0.1 ms with the worker, and the worker finished the 100 evaluations as fast. */
  inlineMax?: number;
  /** Elements queued for the worker at once; more => RATE_LIMITED. Default 2 max batches. */
  maxQueuedElements?: number;
}

/** A batch's wait for the worker, past which it fails with TIMEOUT instead of running. */
const LOCAL_DEADLINE_MS = 30_000;

/** The text of a TOO_LARGE for an evaluate over the evaluator's largest request
 *  (`max` 0: the evaluator refused it without saying its size). */
export function evaluatorBatchRefusal(max: number): string {
  return max > 0
    ? `this deployment's OPRF evaluator takes at most ${max} elements per evaluate: send smaller batches`
    : 'this deployment\'s OPRF evaluator refused the batch as too large: send smaller batches';
}

export class LocalEvaluator implements Evaluator {
  readonly publicKey: Uint8Array;
  readonly shareKeys: readonly Uint8Array[] = [];
  readonly maxBatch = MAX_EVALUATE_BATCH;
  #key: OprfKeyPair;
  #inlineMax: number;
  #maxQueued: number;
  #pool: OprfPool | null = null;
  #closed = false;

  /** `key`: a 32-byte seed (the key file format) or a key pair. */
  constructor(key: Uint8Array | OprfKeyPair, opts: LocalEvaluatorOptions = {}) {
    if (key instanceof Uint8Array) {
      if (key.length !== 32) throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF key seed must be 32 bytes');
      this.#key = deriveServerKey(key);
    } else if (typeof key === 'object' && key !== null) {
      this.#key = keyPairFromScalar(key.secretKey);
    } else {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF key seed must be 32 bytes');
    }
    this.publicKey = this.#key.publicKey;
    this.#inlineMax = opts.inlineMax ?? 0;
    this.#maxQueued = opts.maxQueuedElements ?? 2 * MAX_EVALUATE_BATCH;
  }

  async evaluate(blinded: Uint8Array[]): Promise<EvaluatorResult> {
    if (this.#closed) throw new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator closed');
    // Off the event loop (see inlineMax): even one element is ~5 ms of group arithmetic,
    // and a full contact sync would stall the gateway for seconds. Non-arrays fall
    // through to evaluateBlinded, which refuses them with its own error.
    if (!Array.isArray(blinded) || blinded.length <= this.#inlineMax) {
      const { evaluated, proof } = evaluateBlinded(this.#key, blinded);
      return { evaluated, proof, shares: [] };
    }
    const { evaluated, proof } = await this.#worker().evaluate(blinded, Date.now() + LOCAL_DEADLINE_MS);
    return { evaluated, proof, shares: [] };
  }

  /** At every verify_start (its per-number budget is keyed by the route) and at every
   *  registration: on the worker, or a flood of verify_starts would stall the event
   *  loop ~1.5 ms each. Until the worker has started (the first call starts it; ~0.2 s,
   *  longer on a busy machine) routes are computed here instead: a handset's first
   *  verify_start must not wait for a thread, nor outlast the auth deadline. */
  async routeForNumber(e164: string) {
    if (this.#closed) throw new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator closed');
    if (this.#inlineMax >= 1) return serverRouteForNumber(this.#key, e164);
    const pool = this.#worker();
    if (!pool.started) return serverRouteForNumber(this.#key, e164);
    return pool.route(e164, Date.now() + LOCAL_DEADLINE_MS);
  }

  /** Starts the worker thread if it is not running and resolves once it answers (what
   *  routeForNumber waits for before it moves off the event loop). */
  async ready(): Promise<void> {
    if (this.#closed) throw new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator closed');
    await this.#worker().ready();
  }

  #worker(): OprfPool {
    // Its thread starts now; until it answers (or if it never does) routes stay here.
    this.#pool ??= new OprfPool({ key: this.#key, threads: 1, maxQueuedElements: Math.max(this.#maxQueued, MAX_EVALUATE_BATCH) });
    return this.#pool;
  }

  /** The worker pool, null until the first use or ready(). For tests. */
  get workerPool(): OprfPool | null {
    return this.#pool;
  }

  async close() {
    this.#closed = true;
    await this.#pool?.close();
  }
}

// ---- key files ----
//
// Two forms, one token per file (whitespace ignored):
// - 64 hex chars: a 32-byte seed; the key is derived from it (RFC 9497 DeriveKeyPair,
//   key info "hushwire oprf v1"). What `hushwire oprf-key generate` writes, and what a
//   gateway with a local key has always read.
// - "oprf-scalar-v1:" + 64 hex chars: the secret scalar itself (32 bytes little-endian).
//   What `hushwire oprf-key split` writes: shares of an existing key are scalars, not seeds.

export const SCALAR_PREFIX = 'oprf-scalar-v1:';

/** Reads a 32-byte seed as 64 hex chars from a file (whitespace ignored) or a string. */
export function parseOprfSeed(text: string): Uint8Array {
  const hex = text.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF key must be 64 hex characters (32 bytes)');
  }
  return hexToBytes(hex);
}

/** A key file's text (either form) to its key pair. Errors never echo the text. */
export function parseOprfKey(text: string): OprfKeyPair {
  const t = text.trim();
  if (t.toLowerCase().startsWith(SCALAR_PREFIX)) {
    const hex = t.slice(SCALAR_PREFIX.length).toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, `OPRF key share must be "${SCALAR_PREFIX}" and 64 hex characters`);
    }
    return keyPairFromScalar(hexToBytes(hex));
  }
  return deriveServerKey(parseOprfSeed(t));
}

/** The text of a scalar key file. */
export function formatScalarKey(secretKey: Uint8Array): string {
  return `${SCALAR_PREFIX}${Buffer.from(secretKey).toString('hex')}\n`;
}

/** A public key given as 64 hex chars (a pinned evaluator key). */
export function parsePublicKey(text: string): Uint8Array {
  const hex = text.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF public key must be 64 hex characters (32 bytes)');
  }
  return hexToBytes(hex);
}

/**
 * The key in the file a setting names (`flag`: "key-file" for `hushwire oprf` and
 * `hushwire oprf-key`, "oprf-key-file" for the gateway), read as the gateway reads its
 * setting files: at most SETTING_FILE_MAX_BYTES (a wrong path, /dev/zero or a log file,
 * is refused without being read whole). Throws SettingError, one line that names the
 * flag and the path and says what is wrong (no such file, permission denied, is a
 * directory, larger than the bound, not a key), never the contents. `onMode`: the
 * permission bits of the file as opened (readSettingText), for the mode warning.
 */
export function readOprfKeyFile(flag: string, path: string, onMode?: (mode: number) => void): OprfKeyPair {
  const text = readSettingText(flag, path, SETTING_FILE_MAX_BYTES, 'it should hold one line (a key)', onMode);
  try {
    return parseOprfKey(text);
  } catch (e) {
    const why = e instanceof HushwireError ? e.message : 'not an OPRF key';
    throw new SettingError(`--${flag}: ${path}: ${why}`);
  }
}

/** The gateway's in-process key: its value, else its file (--oprf-key-file), else an
 *  ephemeral one. */
export function loadOprfKey(opts: { file?: string; hex?: string }): { key: OprfKeyPair; ephemeral: boolean } {
  if (opts.hex) return { key: parseOprfKey(opts.hex), ephemeral: false };
  if (opts.file) return { key: readOprfKeyFile('oprf-key-file', opts.file), ephemeral: false };
  return { key: deriveServerKey(new Uint8Array(randomBytes(32))), ephemeral: true };
}

