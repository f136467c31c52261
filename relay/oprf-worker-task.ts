// The work one pool thread does. With the key it was given at start (workerData), so
// the key never travels with a task: a batch VOPRF evaluation (discovery, a
// registration's blinded element) or the route of a verified number (RFC 9497
// server-side Evaluate). Without a key (a gateway whose key is held by remote
// evaluators): the client side of a number's evaluation, blinding it and then
// verifying the holders' proofs and unblinding. Errors come back as plain values: a
// HushwireError's class does not survive the structured clone between threads.
import { workerData } from 'piscina';
import { blindNumbers, evaluateBlinded, serverRouteForNumber, type OprfKeyPair } from './crypto/oprf.ts';
import { finalizeNumberEvaluation, type AnyEvaluation } from './crypto/oprf-split.ts';
import { HushwireError, ErrorCode } from './errors.ts';

export interface EvaluateTask {
  kind?: 'evaluate';
  blinded: Uint8Array[];
  /** Epoch ms after which nobody waits for the answer: skip the work. */
  deadline: number;
}

export interface RouteTask {
  kind: 'route';
  /** A verified E.164 number: held by the thread for the computation only, never kept. */
  e164: string;
  deadline: number;
}

/** Answered at once: tells the pool its thread has started (and loaded the key). */
export interface PingTask {
  kind: 'ping';
  deadline: number;
}

/** Blinds verified numbers for remote evaluators (the blinds stay in this process). */
export interface BlindTask {
  kind: 'blind';
  numbers: string[];
  deadline: number;
}

/** Verifies the evaluators' proofs against the pinned key and unblinds: the OPRF outputs. */
export interface FinalizeTask {
  kind: 'finalize';
  numbers: string[];
  blinds: Uint8Array[];
  blinded: Uint8Array[];
  evaluation: AnyEvaluation;
  pinnedKey: Uint8Array;
  deadline: number;
}

export type PoolTask = EvaluateTask | RouteTask | PingTask | BlindTask | FinalizeTask;

export type EvaluateOutcome =
  | { kind: 'ok'; evaluated: Uint8Array[]; proof: Uint8Array }
  | { kind: 'route'; route: Uint8Array }
  | { kind: 'pong' }
  | { kind: 'blinded'; blinds: Uint8Array[]; blinded: Uint8Array[] }
  | { kind: 'outputs'; outputs: Uint8Array[] }
  | { kind: 'expired' }
  | { kind: 'error'; code: string; message: string };

const key = (workerData as { key: OprfKeyPair | null }).key;

export function evaluateTask(task: PoolTask): EvaluateOutcome {
  if (Date.now() > task.deadline) return { kind: 'expired' };
  try {
    if (task.kind === 'ping') return { kind: 'pong' };
    if (task.kind === 'blind') return { kind: 'blinded', ...blindNumbers(task.numbers) };
    if (task.kind === 'finalize') {
      return { kind: 'outputs', outputs: finalizeNumberEvaluation(task.numbers, task.blinds, task.blinded, task.evaluation, task.pinnedKey) };
    }
    if (key === null) throw new HushwireError(ErrorCode.INTERNAL, 'this OPRF thread holds no key');
    if (task.kind === 'route') return { kind: 'route', route: serverRouteForNumber(key, task.e164) };
    const { evaluated, proof } = evaluateBlinded(key, task.blinded);
    return { kind: 'ok', evaluated, proof };
  } catch (e) {
    if (e instanceof HushwireError) return { kind: 'error', code: e.code, message: e.message };
    return { kind: 'error', code: 'INTERNAL', message: 'internal error' };
  }
}
