// Small pieces the shared-counter tests (test/privacy/budget-*.test.ts, bus-store.test.ts)
// each wrote again: a fresh counter key, a verification-start charge, and the error code
// a call ended with (so a check reads as one equal on a string).
import { randomBytes } from 'node:crypto';
import type { ChargeSpec } from '../../relay/privacy/budget.ts';

/** 32 random hex characters: a key part no other test uses. */
export const tok = (): string => randomBytes(16).toString('hex');

/** One verification start charged to `key` against a budget of `limit` a window, as
 *  relay/privacy/privacy.ts charges a number. */
export const verifyStart = (key: string, limit: number): ChargeSpec[] => [{ key, n: 1, label: 'verify_start', fresh: (now) => ({ s: now, n: 0 }), limit: () => limit }];

/** 'ok' when `p` resolves, else the code it was rejected with ('throw' for none). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? 'throw';
  }
}
