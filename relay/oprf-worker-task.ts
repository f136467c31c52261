// The work one pool thread does with the key it was given at start (workerData), so the
// key never travels with a task: a batch VOPRF evaluation (discovery, a registration's
// blinded element) or the route of a verified number (RFC 9497 server-side Evaluate).
// Errors come back as plain values: a HushwireError's class does not survive the
// structured clone between threads.
import { workerData } from 'piscina';
import { evaluateBlinded, serverRouteForNumber, type OprfKeyPair } from './crypto/oprf.ts';
import { HushwireError } from './errors.ts';

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

export type PoolTask = EvaluateTask | RouteTask | PingTask;

export type EvaluateOutcome =
  | { kind: 'ok'; evaluated: Uint8Array[]; proof: Uint8Array }
  | { kind: 'route'; route: Uint8Array }
  | { kind: 'pong' }
  | { kind: 'expired' }
  | { kind: 'error'; code: string; message: string };

const key = (workerData as { key: OprfKeyPair }).key;

export function evaluateTask(task: PoolTask): EvaluateOutcome {
  if (Date.now() > task.deadline) return { kind: 'expired' };
  try {
    if (task.kind === 'ping') return { kind: 'pong' };
    if (task.kind === 'route') return { kind: 'route', route: serverRouteForNumber(key, task.e164) };
    const { evaluated, proof } = evaluateBlinded(key, task.blinded);
    return { kind: 'ok', evaluated, proof };
  } catch (e) {
    if (e instanceof HushwireError) return { kind: 'error', code: e.code, message: e.message };
    return { kind: 'error', code: 'INTERNAL', message: 'internal error' };
  }
}
