// Webhook verifier: POSTs {"number","code"} as JSON to an operator URL (an SMS
// provider bridge). This POST is the only place a phone number leaves a gateway. The
// number is not logged, and neither the URL's answer body nor the number reaches errors.
import { HushwireError, ErrorCode } from '../errors.ts';
import { VerifierFailure, type Verifier } from './verifier.ts';

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
        // bridge took the code. A 4xx or 503 is the bridge refusing the request: no SMS.
        // Other answers (502/504 from a proxy in front of a slow bridge, 500) may come
        // after the bridge sent it.
        await dropBody(res);
        if (!res.ok) {
          const refused = (res.status >= 400 && res.status < 500) || res.status === 503;
          throw new VerifierFailure('failed', `HTTP ${res.status}`, `verifier answered HTTP ${res.status}`, { notSent: refused });
        }
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
