// Webhook verifier: POSTs {"number","code"} as JSON to an operator URL (an SMS
// provider bridge). This POST is the only place a phone number leaves a gateway. The
// number is not logged, and neither the URL's answer body nor the number reaches errors.
import { HushwireError, ErrorCode } from '../errors.ts';
import type { Verifier } from './verifier.ts';

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
      const timer = setTimeout(() => ac.abort(), opts.timeoutMs);
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (opts.token) headers.authorization = `Bearer ${opts.token}`;
        const res = await fetch(url, {
          method: 'POST', headers, body: JSON.stringify({ number, code }), signal: ac.signal,
        });
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) {
          throw new HushwireError(ErrorCode.UNAVAILABLE, `verifier answered HTTP ${res.status}`);
        }
        return {};
      } catch (e) {
        if (e instanceof HushwireError) throw e;
        throw new HushwireError(ErrorCode.UNAVAILABLE, 'verifier unreachable', { cause: e });
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
