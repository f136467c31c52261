// Small waiting helpers for fault and abuse tests: every wait has a deadline, and a
// failed wait says what it was waiting for (tests assert behaviour, not timings).
import { request } from 'node:http';

/** Polls `check` until it returns true; rejects with `what` after timeoutMs. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Awaits p, rejecting with "`what`: no answer within `ms` ms" if it has not settled by then. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); }),
  ]);
}

/** GET an http:// URL on loopback: status code, or 0 when nothing answered in time. */
export function httpStatus(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** http://host:port of a gateway's ws://host:port/path URL. */
export function httpBase(wsUrl: string): string {
  const u = new URL(wsUrl);
  return `http://${u.host}`;
}

/** One unlabelled sample of a gateway's /metrics (its ws:// URL's host, the public port
 *  of a gateway without --admin-listen); NaN when it is not there. */
export async function gatewayMetric(wsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpBase(wsUrl)}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}
