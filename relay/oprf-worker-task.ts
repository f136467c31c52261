// The work one pool thread does: a batch VOPRF evaluation with the key it was given at
// start (workerData), so the key never travels with a task. Errors come back as plain
// values: a HushwireError's class does not survive the structured clone between threads.
import { workerData } from 'piscina';
import { evaluateBlinded, type OprfKeyPair } from './crypto/oprf.ts';
import { HushwireError } from './errors.ts';

export interface EvaluateTask {
  blinded: Uint8Array[];
  /** Epoch ms after which nobody waits for the answer: skip the work. */
  deadline: number;
}

export type EvaluateOutcome =
  | { kind: 'ok'; evaluated: Uint8Array[]; proof: Uint8Array }
  | { kind: 'expired' }
  | { kind: 'error'; code: string; message: string };

const key = (workerData as { key: OprfKeyPair }).key;

export function evaluateTask(task: EvaluateTask): EvaluateOutcome {
  if (Date.now() > task.deadline) return { kind: 'expired' };
  try {
    const { evaluated, proof } = evaluateBlinded(key, task.blinded);
    return { kind: 'ok', evaluated, proof };
  } catch (e) {
    if (e instanceof HushwireError) return { kind: 'error', code: e.code, message: e.message };
    return { kind: 'error', code: 'INTERNAL', message: 'internal error' };
  }
}
