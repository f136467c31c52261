// Small helpers both adapters share, so the two behave the same on the wire.

import { STATUS_CODES } from 'node:http';

let lastSocketId = 0;

/** Process-wide counter: ids stay unique even when both transports run in one process. */
export function nextSocketId(): number {
  lastSocketId += 1;
  return lastSocketId;
}

/** The longest close reason RFC 6455 allows (125-byte payload minus the 2-byte code). */
const MAX_CLOSE_REASON = 123;

/**
 * A code and reason that are legal to put in a close frame. ws throws on codes that may
 * not be sent (1004-1006, 1015, <1000, 1016-2999, >4999) and on reasons over 123 bytes;
 * uWS would send them as they are. Both get the same sanitised pair.
 */
export function closeFrameArgs(code: number, reason: string): [number, string] {
  const legal = Number.isInteger(code)
    && ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006)
      || (code >= 3000 && code <= 4999));
  return [legal ? code : 1011, asciiLine(reason, MAX_CLOSE_REASON)];
}

/** Printable ASCII only, no CR/LF: safe in a close frame, a status line or a log. */
export function asciiLine(s: string, max: number): string {
  return s.replace(/[^\x20-\x7e]/g, '').slice(0, max);
}

/** "403 Forbidden" — status line text for a numeric status. */
export function statusLine(status: number): string {
  const code = Number.isInteger(status) && status >= 100 && status <= 599 ? status : 500;
  return `${code} ${STATUS_CODES[code] ?? 'Unknown'}`;
}

/** The path of a request target without its query string. */
export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The reason a failing handler's socket is closed with (never the error text: it may hold data). */
export const INTERNAL_REASON = 'internal error';

/** Reports an error from user code; without a reporter it is rethrown so a bug stays loud. */
export function reportError(onError: ((where: string, err: unknown) => void) | undefined, where: string, err: unknown): void {
  if (onError) {
    try { onError(where, err); } catch { /* a failing reporter must not take the transport down */ }
    return;
  }
  queueMicrotask(() => { throw err; });
}
