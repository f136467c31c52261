// Number verification during opt-in. The gateway makes a random code and holds the
// pending verification in the socket's own session (so no shared store ever holds a
// number, and gateways stay stateless); a Verifier only *delivers* the code to the
// number. The verifier is the only component that ever sees the number, and only for
// the length of one `deliver` call.
import { HushwireError, ErrorCode } from '../errors.ts';

/** How one `deliver` ended, for hushwire_verifier_deliveries_total{outcome}. */
export type DeliveryOutcome = 'ok' | 'failed' | 'timeout';

/** What an SMS bridge's HTTP refusal says (relay/verifier/webhook.ts refusalOf), for
 *  hushwire_verifier_refusals_total{class} and the answer to the handset:
 *  - `busy`: a transient refusal (408, 425, 429, 503): UNAVAILABLE, retry_after_ms the
 *    bridge's Retry-After where it gave one, else VERIFY_NOT_SENT_RETRY_MS;
 *  - `misconfigured`: the bridge refuses the gateway's requests themselves, whatever the
 *    number (401, 403, 407: its credentials; 405, 415: its POST of JSON; 402: its
 *    provider account): an operator's
 *    mistake, UNAVAILABLE with MISCONFIGURED_RETRY_MS, logged at error level;
 *  - `number`: any other 4xx (400, 404, 410, 422, ...): the bridge will not send to this
 *    number: BAD_NUMBER, no retry_after_ms (asking again would get the same answer). */
export type Refusal = 'busy' | 'misconfigured' | 'number';
export const REFUSALS: readonly Refusal[] = ['busy', 'misconfigured', 'number'];

/** The least retry_after_ms a bridge's Retry-After gives (= relay/session.ts
 *  VERIFY_NOT_SENT_RETRY_MS, the floor of every "no code sent" answer): a Retry-After of
 *  0 or a date already past would have handsets ask again at once, in a storm, of a
 *  bridge that just said it is overloaded. */
export const BRIDGE_RETRY_MIN_MS = 1_000;
/** The most retry_after_ms a bridge's Retry-After gives: ten minutes. A bridge that says
 *  "an hour" or a date next year (a wrong clock, a maintenance page) would otherwise lock
 *  every handset out long after it is back; past ten minutes it is the operator's to
 *  fix, and a person told "try again in 10 min" comes back then. */
export const BRIDGE_RETRY_MAX_MS = 10 * 60_000;
/** retry_after_ms of a start the bridge refused as misconfigured (401, 402, 403, 407,
 *  405, 415): every number fails the same until the operator fixes the token or the URL (a
 *  rolling restart, minutes), so handsets asking every second would only load the
 *  gateway and the bridge. A minute is past the SDK's verify_start retry window
 *  (client/register.ts VERIFY_START_RETRY_WINDOW_MS, 25 s): the SDK does not ask again
 *  by itself but tells the person when to try. */
export const MISCONFIGURED_RETRY_MS = 60_000;

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
  /** The class of an HTTP refusal (notSent, a 4xx or 503), else null. */
  readonly refusal: Refusal | null;
  /** `code`: UNAVAILABLE (default), or BAD_NUMBER for a bridge that will not send to
   *  the number. `retryAfterMs` only with notSent (a code perhaps sent never invites a
   *  retry: relay/session.ts codeMayHaveGone). */
  constructor(outcome: 'failed' | 'timeout', reason: string, message: string,
    options: { cause?: unknown; notSent?: boolean; refusal?: Refusal; code?: ErrorCode; retryAfterMs?: number } = {}) {
    const notSent = outcome === 'failed' && options.notSent === true;
    super(options.code ?? ErrorCode.UNAVAILABLE, message, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      ...(notSent && options.retryAfterMs !== undefined ? { retryAfterMs: options.retryAfterMs } : {}),
    });
    this.name = 'VerifierFailure';
    this.outcome = outcome;
    this.reason = reason;
    this.notSent = notSent;
    this.refusal = notSent ? options.refusal ?? null : null;
  }
}

/** The outcome and log reason of anything `deliver` threw (a verifier that throws
 *  something else than VerifierFailure counts as failed, reason unknown). */
export function failureOf(e: unknown): { outcome: 'failed' | 'timeout'; reason: string; notSent: boolean; refusal: Refusal | null } {
  if (e instanceof VerifierFailure) return { outcome: e.outcome, reason: e.reason, notSent: e.notSent, refusal: e.refusal };
  return { outcome: 'failed', reason: e instanceof HushwireError ? e.code : 'unexpected error', notSent: false, refusal: null };
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
