// An Evaluator that asks key holders instead of holding the key: one (the key lives in
// a separate `hushwire oprf` process) or several, each holding one share of a split key
// (k = k1 + k2, run by different operators; relay/crypto/oprf-split.ts has the math).
//
// - Discovery (`evaluate`): the same blinded elements go to every holder at once. With
//   one holder the handset gets its evaluated elements and proof as before; with a
//   split key it gets one evaluation per share, labelled with the share key this
//   gateway pinned, and verifies each share itself. The gateway does not verify (the
//   handset must anyway, and it would double the CPU cost); it only checks sizes.
// - Registration (`routeForNumber`): the gateway blinds the verified number itself, asks
//   every holder, verifies every proof against the pinned keys and finalizes. No holder
//   sees the number, and no holder alone can compute the route.
//
// A holder that fails or does not answer in time makes the whole call fail (UNAVAILABLE
// or the holder's RATE_LIMITED): a split key needs every share.
import { blindNumbers, routeFromOutput, evaluateBlinded, ELEMENT_BYTES, PROOF_BYTES, MAX_EVALUATE_BATCH, type OprfKeyPair } from './crypto/oprf.ts';
import { OprfPool } from './oprf-pool.ts';
import { combinePublicKeys, finalizeNumberEvaluation, keyPairFromScalar, MAX_SHARES } from './crypto/oprf-split.ts';
import { HushwireError, ErrorCode } from './errors.ts';
import type { Evaluator, EvaluatorResult } from './evaluator.ts';
import type { Logger } from './log.ts';

/** What to do about an evaluator whose key is not the pinned one (its log lines end with
 *  it): both sides name their flag, no key is printed. */
export const KEY_MISMATCH_FIX = (id: string): string =>
  `registrations and discoveries through it fail UNAVAILABLE until the key it holds (hushwire oprf --key-file; every replica of --id ${id}) `
  + `and the gateway's --oprf-public-key for it match: compare them with hushwire oprf-key public --key-file on its key file, or hushwire oprf-key fetch --id ${id}`;

/** One holder's answer: its elements, its batch proof, the key it says it used. */
export interface ShareAnswer {
  evaluated: Uint8Array[];
  proof: Uint8Array;
  publicKey: Uint8Array;
}

export interface ShareClient {
  /** The holder's operator-chosen id (logs, metric labels); never user data. */
  readonly id: string;
  /** The holder's largest request (elements), when it said; 0 or absent: not known. */
  readonly maxBatch?: number;
  evaluate(blinded: Uint8Array[]): Promise<ShareAnswer>;
  close(): Promise<void>;
}

export interface PinnedShare {
  client: ShareClient;
  /** The holder's public key as configured on this gateway (never taken from the holder). */
  publicKey: Uint8Array;
}

export interface ShareEvaluatorOptions {
  shares: PinnedShare[];
  log?: Logger;
  /** Called when a holder reports a key other than the pinned one (it still goes to the
   *  handset, which refuses it; this is the operator's early signal). */
  onKeyMismatch?: (id: string) => void;
  /** Runs after the clients closed (the owner's own resources). */
  onClose?: () => Promise<void>;
  /** Blind and finalize a registration's number on a worker thread of this evaluator's
   *  own (started at the first registration; until it runs, on the calling thread).
   *  Together ~7.5 ms of group arithmetic per route, and a registration computes the
   *  route twice (verify_start and register). Default false (tests with in-process
   *  holders); RemoteEvaluator, what gateways run, turns it on. */
  offThread?: boolean;
}

/** Wait for a blind or finalize on the thread, past which it fails with TIMEOUT. */
const OFFLOAD_DEADLINE_MS = 30_000;

const EMPTY = new Uint8Array(0);
const MISMATCH_LOG_EVERY_MS = 60_000;

export class ShareEvaluator implements Evaluator {
  readonly publicKey: Uint8Array;
  readonly shareKeys: readonly Uint8Array[];
  #shares: PinnedShare[];
  #log: Logger | undefined;
  #onKeyMismatch: ((id: string) => void) | undefined;
  #onClose: (() => Promise<void>) | undefined;
  #lastMismatchLog = new Map<string, number>();
  #closing: Promise<void> | null = null;
  #offThread: boolean;
  #pool: OprfPool | null = null;

  constructor(opts: ShareEvaluatorOptions) {
    const shares = opts.shares;
    if (!Array.isArray(shares) || shares.length < 1 || shares.length > MAX_SHARES) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, `an evaluator needs 1 to ${MAX_SHARES} key holders`);
    }
    if (new Set(shares.map((s) => s.client.id)).size !== shares.length) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF evaluator ids must differ');
    }
    // Validates every key (a valid, non-identity element) and gives the combined key.
    const combined = combinePublicKeys(shares.map((s) => s.publicKey));
    this.#shares = shares.map((s) => ({ client: s.client, publicKey: s.publicKey.slice() }));
    this.publicKey = combined;
    this.shareKeys = shares.length > 1 ? this.#shares.map((s) => s.publicKey) : [];
    this.#log = opts.log;
    this.#onKeyMismatch = opts.onKeyMismatch;
    this.#onClose = opts.onClose;
    this.#offThread = opts.offThread === true;
  }

  /** The smallest largest-request the holders said (0: none said yet). */
  get maxBatch(): number {
    let max = 0;
    for (const s of this.#shares) {
      const m = s.client.maxBatch ?? 0;
      if (m > 0 && (max === 0 || m < max)) max = m;
    }
    return max;
  }

  async evaluate(blinded: Uint8Array[]): Promise<EvaluatorResult> {
    if (this.#closing) throw new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator closed');
    if (!Array.isArray(blinded) || blinded.length === 0) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'blinded must not be empty');
    }
    for (const b of blinded) {
      if (!(b instanceof Uint8Array) || b.length !== ELEMENT_BYTES) {
        throw new HushwireError(ErrorCode.BAD_REQUEST, `blinded element must be ${ELEMENT_BYTES} bytes`);
      }
    }
    const answers = await Promise.all(this.#shares.map((s) => s.client.evaluate(blinded)));
    answers.forEach((a, i) => this.#checkAnswer(a, blinded.length, this.#shares[i]!));
    if (this.#shares.length === 1) {
      const a = answers[0]!;
      return { evaluated: a.evaluated, proof: a.proof, shares: [] };
    }
    return {
      evaluated: [],
      proof: EMPTY,
      shares: answers.map((a, i) => ({ publicKey: this.#shares[i]!.publicKey, evaluated: a.evaluated, proof: a.proof })),
    };
  }

  async routeForNumber(e164: string): Promise<Uint8Array> {
    if (this.#closing) throw new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator closed');
    const pool = this.#worker();
    const numbers = [e164];
    const { blinds, blinded } = pool ? await pool.blind(numbers, Date.now() + OFFLOAD_DEADLINE_MS) : blindNumbers(numbers);
    const result = await this.evaluate(blinded);
    let outputs: Uint8Array[];
    try {
      outputs = pool
        ? await pool.finalize(numbers, blinds, blinded, result, this.publicKey, Date.now() + OFFLOAD_DEADLINE_MS)
        : finalizeNumberEvaluation(numbers, blinds, blinded, result, this.publicKey);
    } catch (e) {
      if (e instanceof HushwireError && e.code === ErrorCode.AUTH_FAILED) {
        this.#log?.error({ evaluators: this.#shares.map((s) => s.client.id) }, 'OPRF evaluator answer did not verify against the pinned key');
        throw new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator answer did not verify');
      }
      throw e;
    }
    return routeFromOutput(outputs[0]!);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all(this.#shares.map((s) => s.client.close().catch(() => undefined)));
      await this.#pool?.close();
      await this.#onClose?.();
    })();
    return this.#closing;
  }

  /** With offThread: resolves once the worker thread answers (starting it). */
  async ready(): Promise<void> {
    if (this.#closing) throw new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator closed');
    if (!this.#offThread) return;
    this.#worker();
    await this.#pool!.ready();
  }

  /** The keyless worker when it is running; null while it starts (or without offThread). */
  #worker(): OprfPool | null {
    if (!this.#offThread) return null;
    // Its thread starts now; until it answers (or if it never does) the work stays here.
    this.#pool ??= new OprfPool({ key: null, threads: 1, maxQueuedElements: 2 * MAX_EVALUATE_BATCH });
    return this.#pool.started ? this.#pool : null;
  }

  #checkAnswer(a: ShareAnswer, n: number, share: PinnedShare): void {
    const ok = typeof a === 'object' && a !== null
      && Array.isArray(a.evaluated) && a.evaluated.length === n
      && a.evaluated.every((e) => e instanceof Uint8Array && e.length === ELEMENT_BYTES)
      && a.proof instanceof Uint8Array && a.proof.length === PROOF_BYTES;
    if (!ok) {
      this.#log?.error({ evaluator: share.client.id }, 'OPRF evaluator sent a malformed answer');
      throw new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator sent a malformed answer');
    }
    if (!(a.publicKey instanceof Uint8Array) || !equalBytes(a.publicKey, share.publicKey)) {
      this.#onKeyMismatch?.(share.client.id);
      const now = Date.now();
      if (now - (this.#lastMismatchLog.get(share.client.id) ?? 0) >= MISMATCH_LOG_EVERY_MS) {
        this.#lastMismatchLog.set(share.client.id, now);
        this.#log?.error({ evaluator: share.client.id }, `OPRF evaluator reports a key other than the pinned one; handsets will refuse its answers: ${KEY_MISMATCH_FIX(share.client.id)}`);
      }
    }
  }
}

/** A key holder in this process (tests, and evaluators embedded for a single node). */
export function localShareClient(id: string, key: OprfKeyPair): ShareClient {
  const k = keyPairFromScalar(key.secretKey);
  return {
    id,
    maxBatch: MAX_EVALUATE_BATCH,
    evaluate: async (blinded) => ({ ...evaluateBlinded(k, blinded), publicKey: k.publicKey }),
    close: async () => {},
  };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
