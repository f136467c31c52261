// Webhook verifier: POSTs {"number","code"} as JSON to an operator URL (an SMS
// provider bridge). This POST is the only place a phone number leaves a gateway. The
// number is not logged, and neither the URL's answer body nor the number reaches errors.
import { HushwireError, ErrorCode } from '../errors.ts';
import { VerifierFailure, BRIDGE_RETRY_MAX_MS, BRIDGE_RETRY_MIN_MS, MISCONFIGURED_RETRY_MS, type Refusal, type Verifier } from './verifier.ts';

export interface WebhookVerifierOptions {
  url: string;
  timeoutMs: number;
  /** Optional bearer token sent as Authorization header (from a file/env, never logged). */
  token?: string;
}

/** Why `text` cannot be the webhook's URL, or null (gateway/config.ts checks it at
 *  start, naming --verifier-url). Names the scheme at most, never the URL. */
export function webhookUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a valid URL (http://host/path or https://host/path)';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must be http:// or https://, not ${url.protocol}//`;
  // fetch() refuses a URL with credentials: every verification would fail.
  if (url.username !== '' || url.password !== '') return 'must not carry a user or password (put a bearer token in --verifier-token-file)';
  return null;
}

export function createWebhookVerifier(opts: WebhookVerifierOptions): Verifier {
  const problem = webhookUrlProblem(opts.url);
  if (problem) throw new HushwireError(ErrorCode.BAD_REQUEST, `verifier URL ${problem}`);
  const url = new URL(opts.url);
  const controllers = new Set<AbortController>();
  return {
    kind: 'webhook',
    insecure: false,
    async deliver(number: string, code: string) {
      const ac = new AbortController();
      controllers.add(ac);
      let timedOut = false;
      const timer = setTimeout(() => { timedOut = true; ac.abort(); }, opts.timeoutMs);
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (opts.token) headers.authorization = `Bearer ${opts.token}`;
        const res = await fetch(url, {
          method: 'POST', headers, body: JSON.stringify({ number, code }), signal: ac.signal,
        });
        // The status decides, even if the deadline cuts the body short: a 2xx means the
        // bridge took the code. A 4xx or 503 is the bridge refusing the request: no SMS
        // (refusalOf says what kind). Other answers (502/504 from a proxy in front of a
        // slow bridge, 500) may come after the bridge sent it.
        await dropBody(res);
        if (!res.ok) throw refusedFailure(res.status, res.headers.get('retry-after'));
        return {};
      } catch (e) {
        if (e instanceof HushwireError) throw e;
        if (timedOut) {
          throw new VerifierFailure('timeout', `no answer within ${opts.timeoutMs} ms (--verifier-timeout-ms)`, 'verifier did not answer in time', { cause: e });
        }
        throw new VerifierFailure('failed', unreachableReason(e, ac.signal.aborted), 'verifier unreachable', { cause: e, notSent: neverReached(e, ac.signal.aborted) });
      } finally {
        clearTimeout(timer);
        controllers.delete(ac);
      }
    },
    async close() {
      for (const ac of controllers) ac.abort();
      controllers.clear();
    },
  };
}

/**
 * What a bridge's refusal says, by its status (docs/OPERATIONS.md, "Number
 * verification"); null for a status that is no refusal (the code may have been sent).
 * - 408 (it timed out reading our request), 425, 429 (too many), 503 (overloaded, its
 *   provider down): `busy`, a moment's trouble: asking again later works.
 * - 401, 403 (the bearer token of --verifier-token-file missing, wrong or retired), 407
 *   (a proxy in front of it wants credentials; Node's fetch, undici, turns a 407 into
 *   a network error before any status is seen, so the gateway logs "request failed" and
 *   keeps the charge instead), 405, 415 (it does not take a POST of JSON: --verifier-url
 *   names something else), 402 (it wants payment: its SMS provider account is out of
 *   credit or suspended): `misconfigured`. The gateway sends every
 *   number the same request, so these refuse every number alike; no handset can help,
 *   the operator must.
 * - Any other 4xx (400, 404, 410, 422, ...): `number`, the bridge's answer about this
 *   request, which differs from another only by its number: the number is one it will
 *   not send to (a landline, a country or range it does not serve, one on its block
 *   list). Asking again gets the same answer. A bridge whose URL is wrong altogether
 *   (404 for every request) refuses every number so: hushwire_verifier_refusals_total
 *   {class="number"} counting every delivery tells the operator (OPERATIONS.md).
 */
export function refusalOf(status: number): Refusal | null {
  if (status === 408 || status === 425 || status === 429 || status === 503) return 'busy';
  if (status === 401 || status === 402 || status === 403 || status === 407 || status === 405 || status === 415) return 'misconfigured';
  if (status >= 400 && status < 500) return 'number';
  return null;
}

/** The VerifierFailure for a non-2xx `status` with the answer's Retry-After header
 *  (`retryAfter`, null when absent). Its message, which the handset reads, names the
 *  status only: never the URL, the token or the answer's body. */
function refusedFailure(status: number, retryAfter: string | null): VerifierFailure {
  const reason = `HTTP ${status}`;
  const refusal = refusalOf(status);
  switch (refusal) {
    case null:
      return new VerifierFailure('failed', reason, `verifier answered HTTP ${status}`);
    case 'busy': {
      // The bridge's own word on when to come back, where it gave one (RFC 9110 10.2.3
      // defines it for 503 and 429; on 408 and 425 it has no meaning): clamped,
      // a malformed one ignored (the session's floor, VERIFY_NOT_SENT_RETRY_MS, then).
      const wait = status === 429 || status === 503 ? parseRetryAfter(retryAfter) : null;
      return new VerifierFailure('failed', reason, `verifier answered HTTP ${status}`,
        { notSent: true, refusal, ...(wait === null ? {} : { retryAfterMs: wait }) });
    }
    case 'misconfigured':
      // A Retry-After here is not honoured: the wait is for the operator's fix.
      return new VerifierFailure('failed', reason, `verifier answered HTTP ${status}: the service's SMS bridge refuses this gateway's requests (a configuration fault for its operator)`,
        { notSent: true, refusal, retryAfterMs: MISCONFIGURED_RETRY_MS });
    case 'number':
      // BAD_NUMBER ("a number this service cannot use"), not UNAVAILABLE: a definite
      // answer, without retry_after_ms, so no handset asks again by itself
      // (client/register.ts verifyStartRetryable); the SDK and the CLI report it as the
      // number's fault, as they do a number that is not E.164.
      return new VerifierFailure('failed', reason, `the service's SMS bridge will not send a verification code to this number (HTTP ${status})`,
        { notSent: true, refusal, code: ErrorCode.BAD_NUMBER });
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const DAY = 'Mon|Tue|Wed|Thu|Fri|Sat|Sun';
const LONG_DAY = 'Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** RFC 9110 5.6.7 HTTP-date, the three forms a recipient must take: IMF-fixdate
 *  ("Sun, 06 Nov 1994 08:49:37 GMT"), the obsolete RFC 850 form ("Sunday, 06-Nov-94
 *  08:49:37 GMT") and asctime's ("Sun Nov  6 08:49:37 1994"). */
const IMF_FIXDATE = new RegExp(`^(?:${DAY}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^(?:${LONG_DAY}), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^(?:${DAY}) (${MONTH}) ( \\d|\\d{2}) ${TIME} (\\d{4})$`);

/** An HTTP-date as ms since the epoch, or null when `text` is none (or names no real
 *  instant: 31 Feb, 25:00). The weekday is not checked against the date. Not Date.parse:
 *  its reading of anything but ISO 8601 is the engine's own, and V8's takes asctime's
 *  form in the gateway's local time zone (it has no "GMT") and free text such as "2 Jan"
 *  as a date in 2001. */
export function parseHttpDate(text: string, nowMs: number): number | null {
  // [day, month, year, hh, mm, ss] as the form gives them.
  let f: [string, string, number, string, string, string];
  let r: RegExpExecArray | null;
  if ((r = IMF_FIXDATE.exec(text)) !== null) {
    f = [r[1]!, r[2]!, Number(r[3]), r[4]!, r[5]!, r[6]!];
  } else if ((r = RFC850_DATE.exec(text)) !== null) {
    // A two-digit year more than 50 years ahead is the latest past year with those
    // digits (RFC 9110 5.6.7).
    const thisYear = new Date(nowMs).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(r[3]);
    if (year > thisYear + 50) year -= 100;
    f = [r[1]!, r[2]!, year, r[4]!, r[5]!, r[6]!];
  } else if ((r = ASCTIME_DATE.exec(text)) !== null) {
    f = [r[2]!, r[1]!, Number(r[6]), r[3]!, r[4]!, r[5]!];
  } else {
    return null;
  }
  const [day, month, year, h, m, s] = f;
  const d = Number(day.trim()), hh = Number(h), mm = Number(m), ss = Number(s);
  // 60: a leap second, read as the next minute's start.
  if (d < 1 || hh > 23 || mm > 59 || ss > 60) return null;
  const at = Date.UTC(year, MONTHS.indexOf(month), d, hh, mm, ss);
  // Date.UTC rolls 31 Feb over into March: no such date.
  if (new Date(Date.UTC(year, MONTHS.indexOf(month), d)).getUTCDate() !== d) return null;
  return at;
}

/**
 * A bridge's Retry-After header (RFC 9110 10.2.3: delay-seconds, or an HTTP-date) as the
 * ms a handset should wait, clamped to BRIDGE_RETRY_MIN_MS..BRIDGE_RETRY_MAX_MS (a date
 * already past is the least wait); null when absent or malformed ("soon", "1.5", "-1",
 * "5, 10" from two headers, a date in any other form): the caller's own wait applies
 * then. `now` for a date's distance (the gateway's clock: a bridge whose clock is far off
 * is caught by the clamp).
 */
export function parseRetryAfter(value: unknown, nowMs: number = Date.now()): number | null {
  if (typeof value !== 'string' || value.length > 64) return null;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) {
    // Any number of digits: "99999999999999999999" is finite (1e20) and clamped below.
    ms = Number(text) * 1000;
  } else {
    const at = parseHttpDate(text, nowMs);
    if (at === null) return null;
    ms = at - nowMs;
  }
  if (!Number.isFinite(ms)) return BRIDGE_RETRY_MAX_MS;
  return Math.min(BRIDGE_RETRY_MAX_MS, Math.max(BRIDGE_RETRY_MIN_MS, Math.ceil(ms)));
}

/** The most of an answer's body the gateway reads (and drops); the rest is not read. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Reads and drops an answer's body, at most MAX_ANSWER_BYTES of it (a short body read
 *  to its end lets fetch reuse the connection); past that, cancels the rest. Only the
 *  status counts: a large or endless body (a proxy's error page, a bridge echoing
 *  something) must cost neither memory nor the deadline. Never throws. */
async function dropBody(res: Response): Promise<void> {
  const body = res.body;
  if (body === null) return;
  const reader = body.getReader();
  try {
    for (let read = 0; read <= MAX_ANSWER_BYTES;) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
    }
    await reader.cancel();
  } catch {
    // cut short by the deadline or the connection: the status still decides
  }
}

/** Errors that mean the connection to the bridge was never made, so the request was
 *  never written: the code certainly did not go out. A reset or a closed socket after
 *  connecting, or our own abort (the gateway closing), may come after it was sent. */
const NEVER_REACHED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID']);

function neverReached(e: unknown, aborted: boolean): boolean {
  if (aborted) return false;
  const code = (e as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' && NEVER_REACHED.has(code);
}

/** Why fetch() failed, for the log: an errno-style code from its cause (ECONNREFUSED,
 *  ENOTFOUND, UND_ERR_SOCKET, ...), never its message (it may hold the URL). */
function unreachableReason(e: unknown, aborted: boolean): string {
  if (aborted) return 'gateway closing';
  const cause = (e as { cause?: { code?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' && /^[A-Z0-9_]{2,40}$/.test(cause.code) ? cause.code : null;
  return code === null ? 'request failed' : `connection failed (${code})`;
}
