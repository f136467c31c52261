// VOPRF evaluation off the event loop: a fixed pool of worker threads (piscina), each
// holding the key. One element costs a few milliseconds of CPU (a scalar
// multiplication plus its share of the batch proof), so a 1000-element batch evaluated
// on the main thread would stall every other request, and the NATS pings, for seconds.
//
// Bounds (each with its overflow behaviour):
// - elements waiting or in work: at most `maxQueuedElements`; a batch that would go over
//   is refused at once with RATE_LIMITED (retry-after) instead of queueing work that
//   would finish after its caller gave up. One batch is always admitted when the pool
//   is idle, so the bound must be at least the largest batch.
// - every task has a deadline: a task still queued when it passes is skipped by the
//   worker (TIMEOUT), so a backlog cannot make the pool compute answers nobody reads.
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { HushwireError, ErrorCode, wireErrorCode } from './errors.ts';
import type { OprfKeyPair, Evaluation, Blinded } from './crypto/oprf.ts';
import type { AnyEvaluation } from './crypto/oprf-split.ts';
import type { EvaluateOutcome, PoolTask } from './oprf-worker-task.ts';

export interface OprfPoolOptions {
  /** The key the threads evaluate with; null for a pool that only blinds and finalizes
   *  (a gateway whose key is held by remote evaluators). */
  key: OprfKeyPair | null;
  /** Worker threads (>= 1); each uses up to one core while it works. */
  threads: number;
  /** Elements waiting or in work at once; more is refused with RATE_LIMITED. */
  maxQueuedElements: number;
}

export interface OprfPoolStats {
  /** Elements waiting or in work now. */
  queuedElements: number;
  /** Tasks (batches and routes) evaluated, refused because the pool was full, skipped
   *  past their deadline. */
  evaluated: number;
  refused: number;
  expired: number;
}

const WORKER = fileURLToPath(new URL('./oprf-worker.js', import.meta.url));
/** Retry-after hint sent with a refusal (a full queue drains in about this long at the
 *  default bound); callers add jitter. */
const BUSY_RETRY_AFTER_MS = 1000;

export class OprfPool {
  readonly threads: number;
  readonly maxQueuedElements: number;
  #piscina: Piscina;
  #queued = 0;
  #stats = { evaluated: 0, refused: 0, expired: 0 };
  #closed: Promise<void> | null = null;
  #hold: Promise<void> | null = null;
  #ready: Promise<void> | null = null;
  #started = false;

  constructor(opts: OprfPoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF pool needs at least one thread');
    }
    if (!Number.isInteger(opts.maxQueuedElements) || opts.maxQueuedElements < 1) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF pool queue bound must be a positive integer');
    }
    this.threads = opts.threads;
    this.maxQueuedElements = opts.maxQueuedElements;
    this.#piscina = new Piscina({
      filename: WORKER,
      minThreads: opts.threads,
      maxThreads: opts.threads,
      // Our own element bound above is the real queue limit.
      maxQueue: Infinity,
      idleTimeout: Infinity,
      workerData: { key: opts.key === null ? null : { secretKey: opts.key.secretKey, publicKey: opts.key.publicKey } },
    });
    // Tells `started` when the threads answer; a failed start surfaces through the
    // tasks (and ready()), so nothing to do with it here.
    this.ready().catch(() => undefined);
  }

  get stats(): OprfPoolStats {
    return { queuedElements: this.#queued, ...this.#stats };
  }

  /** Evaluates one batch with its proof. Throws RATE_LIMITED when full, TIMEOUT when the
   *  deadline passed before the work started, UNAVAILABLE after close(), and the
   *  evaluation's own errors (BAD_REQUEST for an invalid element). */
  async evaluate(blinded: Uint8Array[], deadline: number): Promise<Evaluation> {
    const out = await this.#run({ blinded, deadline }, blinded.length);
    if (out.kind !== 'ok') throw new HushwireError(ErrorCode.INTERNAL, 'OPRF worker answered out of kind');
    return { evaluated: out.evaluated.map(toU8), proof: toU8(out.proof) };
  }

  /** The route of a verified number (RFC 9497 server-side Evaluate, ~1.5 ms of group
   *  arithmetic), counted as one element against the bound; same errors as evaluate(). */
  async route(e164: string, deadline: number): Promise<Uint8Array> {
    const out = await this.#run({ kind: 'route', e164, deadline }, 1);
    if (out.kind !== 'route') throw new HushwireError(ErrorCode.INTERNAL, 'OPRF worker answered out of kind');
    return toU8(out.route);
  }

  /** Blinds verified numbers (no key needed); one element per number against the bound. */
  async blind(numbers: string[], deadline: number): Promise<Blinded> {
    const out = await this.#run({ kind: 'blind', numbers, deadline }, numbers.length);
    if (out.kind !== 'blinded') throw new HushwireError(ErrorCode.INTERNAL, 'OPRF worker answered out of kind');
    return { blinds: out.blinds.map(toU8), blinded: out.blinded.map(toU8) };
  }

  /** finalizeNumberEvaluation on a thread: verifies every proof against `pinnedKey`
   *  (AUTH_FAILED when one does not verify) and unblinds; the OPRF outputs in order. */
  async finalize(numbers: string[], blinds: Uint8Array[], blinded: Uint8Array[], evaluation: AnyEvaluation, pinnedKey: Uint8Array, deadline: number): Promise<Uint8Array[]> {
    const out = await this.#run({ kind: 'finalize', numbers, blinds, blinded, evaluation, pinnedKey, deadline }, numbers.length);
    if (out.kind !== 'outputs') throw new HushwireError(ErrorCode.INTERNAL, 'OPRF worker answered out of kind');
    return out.outputs.map(toU8);
  }

  /** Resolves once a thread has started and answers (the first start loads the crypto
   *  code: ~0.2 s, longer on a busy machine); rejects like evaluate(). Not counted
   *  against the bound. The first call starts the check; later calls share it. */
  ready(): Promise<void> {
    if (this.#ready === null) {
      this.#ready = this.#run({ kind: 'ping', deadline: Number.MAX_SAFE_INTEGER }, 0).then(() => { this.#started = true; });
      this.#ready.catch(() => { this.#ready = null; }); // a failed start may be retried
    }
    return this.#ready;
  }

  /** true once a thread has answered: work sent now does not wait for a thread start. */
  get started(): boolean {
    return this.#started;
  }

  /** The pool's threads now: all of them from construction on (they start then), none
   *  once close() has settled (a thread that ended has threadId -1). For tests. */
  get workerThreads(): readonly Worker[] {
    return this.#piscina.threads;
  }

  async #run(task: PoolTask, n: number): Promise<Exclude<EvaluateOutcome, { kind: 'expired' | 'error' }>> {
    if (this.#closed) throw new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator is closing');
    if (this.#queued > 0 && this.#queued + n > this.maxQueuedElements) {
      this.#stats.refused++;
      throw new HushwireError(ErrorCode.RATE_LIMITED, 'OPRF evaluator busy', { retryAfterMs: BUSY_RETRY_AFTER_MS });
    }
    this.#queued += n;
    try {
      if (this.#hold) await this.#hold;
      if (this.#closed) throw new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator is closing');
      let out: EvaluateOutcome;
      try {
        out = (await this.#piscina.run(task)) as EvaluateOutcome;
      } catch {
        // A worker that died (or a pool destroyed under us); piscina replaces the worker.
        throw new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluation failed');
      }
      if (out.kind === 'expired') {
        this.#stats.expired++;
        throw new HushwireError(ErrorCode.TIMEOUT, 'OPRF request expired before it was evaluated');
      }
      if (out.kind === 'error') throw new HushwireError(asCode(out.code), out.message);
      if (out.kind !== 'pong') this.#stats.evaluated++;
      return out;
    } finally {
      this.#queued -= n;
    }
  }

  /**
   * Test hook: admitted batches wait (counted in queuedElements) until the returned
   * function is called. Lets a test fill the queue deterministically, without timing.
   */
  hold(): () => void {
    let release!: () => void;
    const p = new Promise<void>((r) => { release = r; });
    this.#hold = p;
    return () => {
      if (this.#hold === p) this.#hold = null;
      release();
    };
  }

  /** Stops the threads; idempotent. Batches still queued fail with UNAVAILABLE. */
  close(): Promise<void> {
    this.#closed ??= this.#piscina.destroy().catch(() => undefined);
    return this.#closed;
  }
}

/** Buffers come back from the worker as plain Uint8Arrays; normalize subclass views. */
function toU8(b: Uint8Array): Uint8Array {
  return b instanceof Uint8Array && b.constructor === Uint8Array ? b : new Uint8Array(b);
}

function asCode(code: string): ErrorCode {
  return wireErrorCode(code);
}
