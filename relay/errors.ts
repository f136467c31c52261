// Every failure Hushwire reports has a stable code. Error codes travel in Error ops
// (the socket stays open); close codes end a socket. Messages never carry identifiers:
// no number, route, device id, key or payload may appear in `message`.

export const ErrorCode = {
  BAD_FRAME: 'BAD_FRAME',               // undecodable protobuf / malformed op
  UNKNOWN_OP: 'UNKNOWN_OP',             // an op the server does not know or accept from clients
  BAD_REQUEST: 'BAD_REQUEST',           // a field has the wrong size or type
  BAD_NUMBER: 'BAD_NUMBER',             // not an E.164 number, or one the SMS bridge will not send a code to (final)
  BAD_TOKEN: 'BAD_TOKEN',               // route/device token of the wrong length/shape
  NOT_AUTHENTICATED: 'NOT_AUTHENTICATED',
  ALREADY_AUTHENTICATED: 'ALREADY_AUTHENTICATED',
  AUTH_FAILED: 'AUTH_FAILED',
  RESUME_REFUSED: 'RESUME_REFUSED',     // a resumption ticket this gateway cannot open now: sign instead (connection stays open)
  VERIFY_FAILED: 'VERIFY_FAILED',       // wrong, expired or unknown verification code
  NOT_REGISTERED: 'NOT_REGISTERED',     // recipient route or device not in the directory
  TOO_MANY_DEVICES: 'TOO_MANY_DEVICES',
  RATE_LIMITED: 'RATE_LIMITED',
  MAILBOX_FULL: 'MAILBOX_FULL',
  TOO_LARGE: 'TOO_LARGE',
  UNAVAILABLE: 'UNAVAILABLE',           // bus/store unreachable; retry
  TIMEOUT: 'TIMEOUT',
  INTERNAL: 'INTERNAL',
  // SDK only, never on the wire: a contact's keys changed and sends to it are held
  // until the user accepts or verifies them (client/keybook.ts).
  IDENTITY_CHANGED: 'IDENTITY_CHANGED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const SDK_ONLY: ReadonlySet<string> = new Set([ErrorCode.IDENTITY_CHANGED]);
const WIRE_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode).filter((c) => !SDK_ONLY.has(c)));

/** A code read off the wire (an error op, a receipt, an evaluator's answer): one of ours
 *  that may travel, else INTERNAL. A peer cannot make the SDK report an SDK-only code. */
export function wireErrorCode(code: string | null | undefined): ErrorCode {
  return typeof code === 'string' && WIRE_CODES.has(code) ? (code as ErrorCode) : ErrorCode.INTERNAL;
}

/** WebSocket close codes (RFC 6455 standard ones plus Hushwire's 4xxx). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,   // a text frame
  POLICY: 1008,             // too many fragments in one message (ws); a foreign Origin gets HTTP 403 instead
  TOO_LARGE: 1009,          // frame over the maximum size
  INTERNAL: 1011,
  TRY_AGAIN_LATER: 1013,    // gateway full or not ready
  BAD_FRAME: 4000,          // undecodable frame
  AUTH_TIMEOUT: 4001,       // no Auth/RegisterDevice within the deadline
  AUTH_FAILED: 4002,        // wrong challenge signature or unknown device
  CONNECTED_ELSEWHERE: 4003,// the same device opened a newer connection
  SLOW_CONSUMER: 4004,      // send buffer over its bound
  DRAINING: 4005,           // gateway is shutting down: reconnect elsewhere
  UNREGISTERED: 4006,       // the device opted out
  IDLE_TIMEOUT: 4007,       // no traffic or pong within the idle timeout
  FLOOD: 4008,              // too many bad frames / ops
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export interface HushwireErrorOptions {
  cause?: unknown;
  retryAfterMs?: number;
  /** The SDK's send: an attempt was written and never answered, so the message may have
   *  arrived although the send failed. */
  maybeDelivered?: boolean;
  /** The SDK's AUTH_FAILED of a profile that sent an opt-out and never got its answer
   *  (client/opt-out-marker.ts). */
  optOutUnconfirmed?: boolean;
}

/** The one error class for Hushwire failures: a stable `code`, a safe `message`. */
export class HushwireError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number;
  /** true only on a failed send() of which an attempt was written to a gateway and never
   *  answered (a connection lost, a timeout): the message may have been delivered, so
   *  resending it under a new id may show it twice (docs/CLIENT.md). */
  readonly maybeDelivered: boolean;
  /** true only on the SDK's AUTH_FAILED for a profile from which an opt-out was sent
   *  whose answer never came (UNAVAILABLE, TIMEOUT, a connection lost): the relay most
   *  likely removed the device then (docs/CLIENT.md, "An opt-out without an answer"). The
   *  relay itself never says whether a device exists; this is the handset's own record. */
  readonly optOutUnconfirmed: boolean;
  constructor(code: ErrorCode, message: string, options: HushwireErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HushwireError';
    this.code = code;
    this.retryAfterMs = options.retryAfterMs ?? 0;
    this.maybeDelivered = options.maybeDelivered ?? false;
    this.optOutUnconfirmed = options.optOutUnconfirmed ?? false;
  }
}

export function isHushwireError(e: unknown): e is HushwireError {
  return e instanceof HushwireError;
}

/** Maps anything thrown to a code + safe message (unknown errors become INTERNAL). */
export function toWireError(e: unknown): { code: ErrorCode; message: string; retryAfterMs: number } {
  if (e instanceof HushwireError) return { code: e.code, message: e.message, retryAfterMs: e.retryAfterMs };
  return { code: ErrorCode.INTERNAL, message: 'internal error', retryAfterMs: 0 };
}
