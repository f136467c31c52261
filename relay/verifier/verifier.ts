// Number verification during opt-in. The gateway makes a random code and holds the
// pending verification in the socket's own session (so no shared store ever holds a
// number, and gateways stay stateless); a Verifier only *delivers* the code to the
// number. The verifier is the only component that ever sees the number, and only for
// the length of one `deliver` call.
import { HushwireError, ErrorCode } from '../errors.ts';

/** How one `deliver` ended, for hushwire_verifier_deliveries_total{outcome}. */
export type DeliveryOutcome = 'ok' | 'failed' | 'timeout';

/** A code the verifier did not send: refused or unreachable (`failed`), or no answer
 *  within the deadline (`timeout`). `reason` is for the log: a status, an errno code or
 *  the deadline; never the number, the code, the URL or the answer's body. */
export class VerifierFailure extends HushwireError {
  readonly outcome: 'failed' | 'timeout';
  readonly reason: string;
  /** true only when the code certainly did not go out: the bridge was never reached, or
   *  it refused the request outright (4xx, 503). A 502/504 from a proxy in front of a
   *  slow bridge, another 5xx, a connection dropped after the request was written, a
   *  timeout: the bridge may have sent it. Only a certain failure gives the number's
   *  verify_start charge back (relay/session.ts). */
  readonly notSent: boolean;
  constructor(outcome: 'failed' | 'timeout', reason: string, message: string, options: { cause?: unknown; notSent?: boolean } = {}) {
    super(ErrorCode.UNAVAILABLE, message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'VerifierFailure';
    this.outcome = outcome;
    this.reason = reason;
    this.notSent = outcome === 'failed' && options.notSent === true;
  }
}

/** The outcome and log reason of anything `deliver` threw (a verifier that throws
 *  something else than VerifierFailure counts as failed, reason unknown). */
export function failureOf(e: unknown): { outcome: 'failed' | 'timeout'; reason: string; notSent: boolean } {
  if (e instanceof VerifierFailure) return { outcome: e.outcome, reason: e.reason, notSent: e.notSent };
  return { outcome: 'failed', reason: e instanceof HushwireError ? e.code : 'unexpected error', notSent: false };
}

export interface Verifier {
  readonly kind: 'dev' | 'webhook';
  /** true for verifiers that prove nothing (the dev one): logged loudly at start. */
  readonly insecure: boolean;
  /** Sends `code` to `number`. Resolves with the code to hand back to the client when
   *  the verifier is the insecure dev one, otherwise undefined. Throws VerifierFailure
   *  (UNAVAILABLE) when the code was not sent: the session then gives the number's
   *  verify_start budget back (relay/session.ts). */
  deliver(number: string, code: string): Promise<{ devCode?: string }>;
  close(): Promise<void>;
}
