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

export function createWebhookVerifier(opts: WebhookVerifierOptions): Verifier {
  const url = new URL(opts.url); // throws on a malformed URL at start-up
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'verifier URL must be http(s)');
  }
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
