// Opt-in: prove the number (verify_start, then the code), register fresh device keys,
// and check the route the gateway assigned. The handset blinds its own number and
// finalizes the gateway's VOPRF evaluation against the key announced in the challenge;
// that key is pinned in the profile, so a gateway that later evaluates with another
// key (to learn who looks up whom, or to split the network) is caught on every lookup.
import { randomBytes, bytesToHex } from '@noble/hashes/utils.js';
import { generateIdentity, sign, verify, registerInput, prekeyInput } from '../relay/crypto/sign.ts';
import { generateKeyPair } from '../relay/crypto/hpke.ts';
import { blindNumbers, routeFromOutput } from '../relay/crypto/oprf.ts';
import { finalizeNumberEvaluation } from '../relay/crypto/oprf-split.ts';
import { parseE164 } from '../relay/number.ts';
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { DEVICE_BYTES, ROUTE_BYTES } from '../relay/wire.ts';
import { Connection, wasAnsweredByGateway, wasUnanswered, type Challenge } from './connection-core.ts';
import { DEFAULT_BACKOFF, fullJitterDelay } from './backoff.ts';
import type { OpProps } from '../relay/wire.ts';
import { readRouteBook } from './routes.ts';
import { noteMailboxAge } from './prekeys.ts';
import { verifyListed } from './discovery.ts';
import { readKeyBook, KEYS_CAPACITY } from './keybook.ts';
import { checkGatewayUrl, writeDevice, writeGateways, readPendingDevice, writePendingDevice, ProfileState, DEVICE_FILE, STATE_FILE, PENDING_DEVICE_FILE, type PendingDevice } from './profile-data.ts';
import { isProfileStore, lockIdentity, withRecordLock, type ProfileLock, type ProfileStore } from './store.ts';
import { openDirectory, checkRandom } from './platform.ts';
import type { WebSocketConstructor } from './socket.ts';

export interface VerifyInfo {
  /** How long the code stays valid (the gateway's `expires_in_s`). */
  expiresInS: number;
  /** Seconds from now to enter the code. The gateway keeps the pending verification
   *  only on this connection and, once it has answered verify_start, keeps that
   *  connection open until the code expires (not just its short auth deadline): so
   *  this is what is left of `expires_in_s`. A gateway that sends no `expires_in_s`
   *  gets its auth deadline from the challenge instead. */
  answerWithinS: number;
}

/** VerifyInfo from the verify_started answer received at `startedAt` (ms), for a
 *  connection that got its challenge at `connectedAt` with `authDeadlineMs`. */
export function verifyInfo(expiresInS: number, startedAt: number, connectedAt: number, authDeadlineMs: number, now = Date.now()): VerifyInfo {
  const deadline = codeDeadline(expiresInS, startedAt, connectedAt, authDeadlineMs);
  return { expiresInS, answerWithinS: Math.max(0, Math.floor((deadline - now) / 1000)) };
}

/** When the code stops being good (ms since the epoch): the gateway counts expires_in_s
 *  from its answer; counting from its arrival here errs short by the one-way latency,
 *  never long. */
function codeDeadline(expiresInS: number, startedAt: number, connectedAt: number, authDeadlineMs: number): number {
  return expiresInS > 0 ? startedAt + expiresInS * 1000 : connectedAt + authDeadlineMs;
}

/** How many times `register` goes out in all (the first time and its retries, each the
 *  same op: same device id, identity key, prekey, code and signature) while the gateway
 *  answers UNAVAILABLE, TIMEOUT or RATE_LIMITED (registerRetryable). */
export const REGISTER_ATTEMPTS = 5;
/** From the first `register`, no retry starts later than this, nor after the code expires. */
export const REGISTER_RETRY_WINDOW_MS = 60_000;

/**
 * Whether the gateway's answer `e` to a `register` leaves the code waiting for that same
 * register on that connection, so sending it again there is worth it: `UNAVAILABLE` or
 * `TIMEOUT` answered by the gateway, its OPRF evaluator, its directory write or the
 * device's subscription after that write down, busy or too slow, or `RATE_LIMITED` (for a
 * `register` only ever "OPRF evaluator busy": the per-number verification budget is
 * charged at `verify_start`, not here) (relay/session.ts keeps the code then, same expiry,
 * same attempts left; from the directory write on, bound to this device id and these keys,
 * since the write may have landed: the same register again writes the same device once
 * more, one registration; docs/PROTOCOL.md register errors). The kept code lives in the
 * connection's session, not in a store shared by the gateways: so never this side's own
 * errors (a connection lost, a request past the SDK's deadline: the code went, or goes,
 * with that connection), and never `VERIFY_FAILED`, `TOO_MANY_DEVICES` (the code used
 * up) or anything else.
 */
export function registerRetryable(e: unknown): boolean {
  if (!wasAnsweredByGateway(e)) return false;
  const code = (e as HushwireError).code;
  return code === ErrorCode.UNAVAILABLE || code === ErrorCode.TIMEOUT || code === ErrorCode.RATE_LIMITED;
}

/** What a person must do after a registration that failed once its code was in: the code
 *  was held on the registration's connection only, which is gone. */
const NEW_CODE = 'register again, which sends a new code';

/** `e`, a register this side never had an answer to (the connection lost, the SDK's
 *  request deadline), as the person should hear it: the code is gone with the connection. */
function unansweredRegister(e: HushwireError): HushwireError {
  const what = e.code === ErrorCode.TIMEOUT
    ? `the gateway did not answer the registration in time (${e.message}): the verification code was held on that connection only, which is now closed, so it can no longer be used`
    : `the connection to the gateway was lost during the registration (${e.message}): the verification code was held on that connection only, so it can no longer be used`;
  return new HushwireError(e.code, `${what}; ${NEW_CODE}`, { cause: e });
}

/** The gateway's error `e` as a message part: its text and code. */
function gatewaySaid(e: HushwireError): string {
  return `${e.message}, ${e.code}`;
}

/** What an aborted register() rejects with: the signal's reason (an `AbortError`
 *  DOMException for a plain `abort()`, as fetch rejects), or one of that name where the
 *  runtime set none. */
function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error('the registration was aborted'), { name: 'AbortError' });
}

/** Throws the abort's reason when `signal` has aborted. */
function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** Settles as `p` does, or rejects with the abort's reason as soon as `signal` aborts (`p`
 *  is then left to settle, observed). For the steps an abort may cut short: nothing of
 *  the registration is at the relay while they run. */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

/** Waits `ms`, or rejects with the abort's reason as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sends the `register` that `build` makes on `conn` (`first`: the connection's socket,
 * whose session holds the code), again after the gateway's `UNAVAILABLE`, `TIMEOUT` or
 * `RATE_LIMITED` (registerRetryable) while that socket lasts: after max(retry_after_ms, full-jitter
 * backoff), at most REGISTER_ATTEMPTS sends, none starting after `deadline`. Every
 * failure that ends it says whether a new code is needed (it always is once it ends:
 * the code dies with the connection, which the registration then closes).
 * `signal` aborted: a wait between sends ends at once, and a send under way is let end
 * (its answer may be the device registered, which must not be lost) but not followed by
 * another; either way the abort's reason is thrown unless the device was registered.
 */
async function sendRegister(conn: Connection, first: Challenge | null, build: (challenge: Challenge) => OpProps, deadline: number, signal: AbortSignal | undefined): Promise<OpProps> {
  let failed: HushwireError | null = null; // the first transient failure, if any
  for (let attempt = 1; ; attempt++) {
    try {
      return await conn.request(build);
    } catch (e) {
      if (!(e instanceof HushwireError)) throw e;
      // This side's own UNAVAILABLE or TIMEOUT: written and never answered, or never
      // written (the socket gone first). Either way the code went with that connection.
      const local = !wasAnsweredByGateway(e) && (e.code === ErrorCode.UNAVAILABLE || e.code === ErrorCode.TIMEOUT);
      if (wasUnanswered(e) || local) throw unansweredRegister(e);
      if (failed !== null && wasAnsweredByGateway(e) && e.code === ErrorCode.VERIFY_FAILED) {
        // The gateway kept no code after that failure (it expired meanwhile; or an older
        // gateway, which kept none after a failure at or after the directory write).
        throw new HushwireError(ErrorCode.VERIFY_FAILED, `the gateway no longer holds the verification code after its failure (${gatewaySaid(failed)}): ${e.message}; ${NEW_CODE}`, { cause: e });
      }
      if (!registerRetryable(e)) throw e;
      // Aborted while this one was under way: not sent again.
      checkAborted(signal);
      failed ??= e;
      const delay = Math.max(e.retryAfterMs, fullJitterDelay(attempt, DEFAULT_BACKOFF));
      if (attempt >= REGISTER_ATTEMPTS || Date.now() + delay >= deadline) {
        const tries = attempt === 1 ? 'once' : `${attempt} times, with the same code and keys`;
        throw new HushwireError(e.code, `the gateway could not finish the registration (${gatewaySaid(e)}; tried ${tries}): nothing was kept in the profile, and the verification code was held on this registration's connection, now closed, so it can no longer be used; ${NEW_CODE} (later, if the gateway is down)`, { cause: e, retryAfterMs: e.retryAfterMs });
      }
      // An abort ends the wait at once: the caller closes the connection, and with it the
      // gateway drops the code and removes a device a lost answer may have left listed
      // (relay/session.ts #eraseUnfinished).
      await pause(delay, signal);
      // The session that holds the code is that socket's: gone, the code is gone with it.
      if (conn.state !== 'connected' || conn.challenge !== first) {
        throw new HushwireError(ErrorCode.UNAVAILABLE, `the gateway could not finish the registration (${gatewaySaid(e)}), and the connection was lost before it was tried again: the verification code was held on that connection only, so it can no longer be used; ${NEW_CODE}`, { cause: e });
      }
    }
  }
}

/** How many times `verify_start` goes out in all while the gateway answers that it sent
 *  no code and when to ask again (verifyStartRetryable). Within the gateway's 5 starts per
 *  connection (docs/PROTOCOL.md section 2). */
export const VERIFY_START_ATTEMPTS = 5;
/** From the first `verify_start`, no retry of it starts later than this. */
export const VERIFY_START_RETRY_WINDOW_MS = 25_000;

/**
 * Whether the gateway's answer `e` to a `verify_start` says that no code was sent and
 * when to ask again, so that sending it again cannot send a second SMS: `UNAVAILABLE`
 * or `RATE_LIMITED` answered by the gateway WITH a `retry_after_ms`. A gateway answers
 * so only before its verifier was called: the counter or budget store, NATS or the OPRF
 * evaluator down or too slow (UNAVAILABLE), a budget spent or too many codes waiting
 * (RATE_LIMITED); also after its verifier certainly sent nothing (its SMS bridge never
 * reached, or refusing: busy, with the bridge's Retry-After as the wait, or refusing the
 * gateway's credentials, a minute); a failure once the verifier was called that may have
 * sent the SMS carries no retry_after_ms (relay/session.ts noCodeSent, codeMayHaveGone;
 * docs/PROTOCOL.md section 2). A wait that ends past VERIFY_START_RETRY_WINDOW_MS is not
 * waited for: the error says it (sendVerifyStart). Never this side's own errors (a
 * connection lost, no answer in time: the gateway may be sending the code), nor anything
 * else: BAD_NUMBER (also a bridge that will not send to the number) is final.
 */
export function verifyStartRetryable(e: unknown): boolean {
  if (!wasAnsweredByGateway(e)) return false;
  const err = e as HushwireError;
  return (err.code === ErrorCode.UNAVAILABLE || err.code === ErrorCode.RATE_LIMITED) && err.retryAfterMs > 0;
}

/** The end of noCodeSentError's message for an UNAVAILABLE whose wait is short: the
 *  CLI, which says the retryAfterMs of an UNAVAILABLE too, adds no second "try again"
 *  after it (cli/errors.ts). */
export const NO_CODE_SENT_SOON = '; try again in a moment';
/** The longest retryAfterMs that is "a moment" in noCodeSentError's words. A longer one
 *  (a bridge's Retry-After, or a minute for a bridge that refuses the gateway's
 *  credentials: relay/verifier/verifier.ts MISCONFIGURED_RETRY_MS) is said as it is, by
 *  the CLI ("try again in 1 min") or read off the error's retryAfterMs. */
export const NO_CODE_SENT_SOON_MS = 5_000;

/** What a person hears when `verify_start` failed for good without a code sent. */
function noCodeSentError(e: HushwireError, attempts: number): HushwireError {
  const tries = attempts === 1 ? 'once' : `${attempts} times`;
  // RATE_LIMITED, or a long wait: when to ask again is its retryAfterMs (the CLI says
  // it: cli/errors.ts).
  const later = e.code === ErrorCode.RATE_LIMITED || e.retryAfterMs > NO_CODE_SENT_SOON_MS ? '' : NO_CODE_SENT_SOON;
  // The gateway's own note that no code was sent (relay/session.ts noCodeSent) is said
  // once, here, in the person's words.
  const said = `${e.message.replace(/; no verification code was sent$/, '')}, ${e.code}`;
  return new HushwireError(e.code, `the gateway could not send a verification code (${said}; asked ${tries}): the number was not sent a code${later}`, { cause: e, retryAfterMs: e.retryAfterMs });
}

/**
 * Sends `verify_start` for `number` on `held.conn` (connected), again after an answer that
 * says no code was sent (verifyStartRetryable): after max(retry_after_ms, full-jitter
 * backoff), at most VERIFY_START_ATTEMPTS sends, none starting more than
 * VERIFY_START_RETRY_WINDOW_MS after the first. Each retry goes out on a new connection
 * (`reopen`, put in `held`): a refused start leaves the socket's short auth deadline
 * running (docs/PROTOCOL.md section 2), and a socket closed by it while a start is under
 * way leaves that start unanswered, which is never sent again (the gateway may have been
 * sending the code). Nothing of the registration is at the relay before a code is sent,
 * so the socket does not matter until then. Resolves with the answer, the challenge of
 * the socket it was sent on (whose session holds the code) and when that socket had its
 * challenge. `signal` aborted: rejects with its reason at once, also during a wait.
 */
async function sendVerifyStart(held: { conn: Connection }, reopen: () => Connection, number: string, signal: AbortSignal | undefined, connectedAt: number): Promise<{ answer: OpProps; on: Challenge | null; connectedAt: number }> {
  const until = Date.now() + VERIFY_START_RETRY_WINDOW_MS;
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) {
      await held.conn.close();
      held.conn = reopen();
      await unlessAborted(held.conn.connect(), signal);
      connectedAt = Date.now();
    }
    let on: Challenge | null = null;
    try {
      const answer = await unlessAborted(held.conn.request((challenge) => {
        on = challenge;
        return { verifyStart: { number } };
      }), signal);
      return { answer, on, connectedAt };
    } catch (e) {
      if (!verifyStartRetryable(e)) throw e;
      checkAborted(signal);
      const err = e as HushwireError;
      const delay = Math.max(err.retryAfterMs, fullJitterDelay(attempt, DEFAULT_BACKOFF));
      if (attempt >= VERIFY_START_ATTEMPTS || Date.now() + delay >= until) throw noCodeSentError(err, attempt);
      await pause(delay, signal);
    }
  }
}

export interface RegisterOptions {
  /** Where the profile goes: a directory (Node entry only)... */
  profileDir?: string;
  /** ...or a store (client/store.ts); exactly one of the two. */
  store?: ProfileStore;
  gateways: string[];
  number: string;
  /** Asked for the code when the gateway's verifier does not hand it back (dev verifier does). */
  verifyCode?: (info: VerifyInfo) => Promise<string>;
  requestTimeoutMs?: number;
  /** A WHATWG WebSocket constructor (default: ws on Node, else globalThis.WebSocket). */
  WebSocket?: WebSocketConstructor;
  /** Aborts the registration: register() rejects with the signal's reason, the connection
   *  closed and the profile's lock released, at once, except while a `register` is under
   *  way (its answer is waited for, at most `requestTimeoutMs`: it may register the
   *  device) and once the gateway has registered the device (too late: register()
   *  finishes and resolves; unregister() takes it back). */
  signal?: AbortSignal;
  /** Told when the own number's baseline, taken at registration, could not be kept in
   *  keys.json (the store's error, or a damaged keys.json read as empty): the
   *  registration stands, and the first receiving client takes the baseline instead
   *  (docs/CLIENT.md, "The user's own number"). */
  onStoreError?: (err: unknown) => void;
}

export interface RegisterResult {
  /** The new device id (hex). */
  device: string;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export async function registerDevice(opts: RegisterOptions): Promise<RegisterResult> {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'register takes an options object: { profileDir or store, gateways, number, ... }');
  }
  const number = parseE164(opts.number);
  if (!Array.isArray(opts.gateways)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateways must be an array of ws:// or wss:// URLs');
  const urls = opts.gateways.map(checkGatewayUrl);
  if (urls.length === 0) throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateways must list at least one ws:// or wss:// URL');
  if (opts.requestTimeoutMs !== undefined && (typeof opts.requestTimeoutMs !== 'number' || !Number.isFinite(opts.requestTimeoutMs) || opts.requestTimeoutMs <= 0)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'option requestTimeoutMs must be a positive number of milliseconds');
  }
  if (opts.verifyCode !== undefined && typeof opts.verifyCode !== 'function') {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'option verifyCode must be a function');
  }
  if (opts.onStoreError !== undefined && typeof opts.onStoreError !== 'function') {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'option onStoreError must be a function');
  }
  const signal = opts.signal;
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function')) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'option signal must be an AbortSignal');
  }
  checkAborted(signal);
  checkRandom();
  if ((opts.store === undefined) === (opts.profileDir === undefined)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'register needs either profileDir or store');
  }
  let store: ProfileStore;
  let prepare: (() => Promise<() => Promise<void>>) | null = null;
  if (opts.store !== undefined) {
    if (!isProfileStore(opts.store)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'store must be a ProfileStore (read, write, delete)');
    store = opts.store;
  } else {
    const dir = openDirectory(opts.profileDir!);
    store = dir.store;
    prepare = () => dir.prepare();
  }
  // One registration per profile at a time in this process: two (a double tap) would
  // both register a device, and the one whose device.json lost would stay registered at
  // the relay with keys nobody has. Checked before the directory is touched.
  const key = profileKey(store);
  if (registering.has(key)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'a registration of this profile is already in progress');
  }
  registering.add(key);
  let undo: () => Promise<void> = async () => {};
  let lock: ProfileLock | null = null;
  try {
    // A failed first registration leaves no empty profile directory behind (the undo
    // removes only an empty one, so nothing written meanwhile can be lost).
    if (prepare) undo = await prepare();
    // Across processes (two `hushwire register`, an app and the CLI): the profile's
    // identity lock, held until the registration is written or undone, and taken before
    // anything reaches the relay, so the one that waited finds the profile registered.
    lock = await lockIdentity(store);
    checkAborted(opts.signal);
    if ((await store.read(DEVICE_FILE)) !== undefined) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'this profile is already registered (unregister first)');
    }
    return await registerInto(opts, store, number, urls, lock);
  } catch (e) {
    // The lock lives in the directory the undo removes when it is empty.
    await lock?.release();
    await undo();
    throw e;
  } finally {
    await lock?.release();
    registering.delete(key);
  }
}

/** `p` when it is a pending device of `number` whose keys sign as they should (one that
 *  does not is not sent: a fresh device is made instead). */
function usablePending(p: PendingDevice | undefined, number: string): PendingDevice | undefined {
  if (p === undefined || p.number !== number) return undefined;
  try {
    const input = prekeyInput(p.prekeyPublic);
    return verify(p.identityPublic, input, sign(p.identitySecret, input)) ? p : undefined;
  } catch {
    return undefined;
  }
}

/** A register the gateway refused before its directory write: nothing of it is listed. */
function refusedUnwritten(e: unknown): boolean {
  if (!wasAnsweredByGateway(e)) return false;
  const code = (e as HushwireError).code;
  return code === ErrorCode.VERIFY_FAILED || code === ErrorCode.TOO_MANY_DEVICES || code === ErrorCode.AUTH_FAILED
    || code === ErrorCode.BAD_REQUEST || code === ErrorCode.BAD_TOKEN || code === ErrorCode.BAD_NUMBER;
}

/** Profiles with a registration in progress (a directory by its path, a store by itself). */
const registering = new Set<unknown>();

function profileKey(store: ProfileStore): unknown {
  const dir = (store as { dir?: unknown }).dir;
  return typeof dir === 'string' ? `dir:${dir}` : store;
}

async function registerInto(opts: RegisterOptions, store: ProfileStore, number: string, urls: string[], lock: ProfileLock): Promise<RegisterResult> {

  // No authenticate hook: the socket counts as connected after the challenge, and the
  // register op itself authenticates it. The register op is built (and signed) when it
  // is written, against the live challenge, so a socket swap is caught there.
  // A new_device notice on the registering connection (a device registered this number
  // after this one did, and the gateway showed it here, clearing it): the own-number
  // baseline taken at registration is then this device alone (keepOwnBaseline).
  const notices = { newDevice: false };
  const open = (): Connection => new Connection({
    urls,
    ...(opts.WebSocket !== undefined ? { WebSocket: opts.WebSocket } : {}),
    connectAttempts: Math.max(3, urls.length * 2),
    requestTimeoutMs: opts.requestTimeoutMs ?? 15_000,
    onOp: (op) => {
      if (op.notice && String(op.notice.kind ?? '') === 'new_device') notices.newDevice = true;
    },
  });
  // The connection in use: verify_start's retries each open a new one (sendVerifyStart).
  const held = { conn: open() };
  const signal = opts.signal;
  try {
    // Until the register goes out nothing of this registration is at the relay: an abort
    // ends any of these steps at once (the finally closes the connection).
    await unlessAborted(held.conn.connect(), signal);
    // Asked again while the gateway answers that it sent no code (sendVerifyStart).
    const { answer: started, on, connectedAt } = await sendVerifyStart(held, open, number, signal, Date.now());
    const startedAt = Date.now();
    const conn = held.conn;
    // The socket whose session holds the code.
    const first = on ?? conn.challenge;
    const authDeadlineMs = first && first.authDeadlineMs > 0 ? first.authDeadlineMs : 10_000;
    const expiresInS = Number(started.verifyStarted?.expiresInS ?? 0);
    const info = verifyInfo(expiresInS, startedAt, connectedAt, authDeadlineMs);
    let code = started.verifyStarted?.devCode ?? '';
    if (!code && opts.verifyCode) code = (await unlessAborted(Promise.resolve(opts.verifyCode(info)), signal)).trim();
    checkAborted(signal);
    if (!code) throw new HushwireError(ErrorCode.VERIFY_FAILED, 'a verification code is required');

    // The device this registration sends: the one an earlier registration of this number
    // sent and did not finish, when the profile keeps it (the relay may list it still,
    // until the gateway has removed it in the background: sent again, it is rewritten
    // instead of added, so that a number near its device limit is not refused
    // TOO_MANY_DEVICES for a device nobody holds); else a fresh one, kept in the profile
    // before the register goes out (test/client/register-pending-device.test.ts).
    const earlier = usablePending(await readPendingDevice(store), number);
    const pending: PendingDevice = earlier ?? (() => {
      const id = generateIdentity();
      const pk = generateKeyPair();
      return { number, device: randomBytes(DEVICE_BYTES), identitySecret: id.secretKey, identityPublic: id.publicKey, prekeySecret: pk.secretKey, prekeyPublic: pk.publicKey };
    })();
    if (earlier === undefined) await writePendingDevice(store, pending);
    const identity = { secretKey: pending.identitySecret, publicKey: pending.identityPublic };
    const prekey = { secretKey: pending.prekeySecret, publicKey: pending.prekeyPublic };
    const device = pending.device;
    const prekeySignature = sign(identity.secretKey, prekeyInput(prekey.publicKey));
    const { blinds, blinded } = blindNumbers([number]);
    let used: Challenge | null = null;
    // Sent again, unchanged, while the gateway answers UNAVAILABLE, TIMEOUT or RATE_LIMITED and keeps
    // the code (sendRegister): a directory write that landed with its answer lost is then
    // written again for this same device, one registration.
    const retriesUntil = Math.min(Date.now() + REGISTER_RETRY_WINDOW_MS, codeDeadline(expiresInS, startedAt, connectedAt, authDeadlineMs));
    let sends = 0;
    const answer = await sendRegister(conn, first, (challenge) => {
      // verify_start's pending state lives on the socket it was sent on; a new socket
      // (the gateway closed the old one when the code expired) has none.
      if (challenge !== first) {
        throw new HushwireError(ErrorCode.VERIFY_FAILED, 'the code came too late: the gateway closed the connection when the code expired (run register again)');
      }
      used = challenge;
      sends++;
      return {
        register: {
          number,
          code,
          device,
          identityKey: identity.publicKey,
          prekey: prekey.publicKey,
          prekeySignature,
          signature: sign(identity.secretKey, registerInput(challenge.nonce, device, identity.publicKey, prekey.publicKey)),
          blinded: blinded[0],
        },
      };
    }, retriesUntil, signal).catch(async (e: unknown) => {
      // Refused at its only send, before anything was written (a wrong code, the number's
      // devices at their limit): the relay cannot list this device, so a fresh one made
      // for this registration is not kept. Kept otherwise: a write may have landed.
      if (earlier === undefined && sends === 1 && refusedUnwritten(e)) await store.delete(PENDING_DEVICE_FILE).catch(() => {});
      throw e;
    });
    // Takes a registration this call will not keep back at the relay. Once the relay
    // has withdrawn it, nothing of it is listed any more, so the pending device goes too
    // (and with it a profile directory this call made, left empty); a withdrawal that
    // fails keeps it, for a later register of the number to rewrite that device.
    const withdraw = async (): Promise<void> => {
      try {
        await conn.request({ unregister: {} });
      } catch {
        return;
      }
      await store.delete(PENDING_DEVICE_FILE).catch(() => {});
    };
    const challenge = used as Challenge | null;
    const reg = answer.registered;
    const ev = reg?.evaluation;
    if (!challenge || !reg || !reg.route || reg.route.length !== ROUTE_BYTES || !ev) {
      await withdraw();
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateway sent a malformed registration answer');
    }
    let route: Uint8Array;
    try {
      // Single key or split between evaluators: checked against the key being pinned.
      const [output] = finalizeNumberEvaluation([number], blinds, blinded, ev, challenge.oprfPublicKey);
      route = routeFromOutput(output);
    } catch (e) {
      await withdraw();
      throw e instanceof HushwireError ? e : new HushwireError(ErrorCode.AUTH_FAILED, 'OPRF proof did not verify');
    }
    if (!equalBytes(route, reg.route)) {
      // Do not keep a registration we cannot trust.
      await withdraw();
      throw new HushwireError(ErrorCode.AUTH_FAILED, 'gateway returned a route that does not match the pinned OPRF key');
    }

    // From here the relay has the device: a profile that cannot keep it (its store
    // failing, its lock lost, or a registration written meanwhile by something that took
    // no lock) must not leave it registered there with keys nobody holds.
    try {
      await lock.check();
      if ((await store.read(DEVICE_FILE)) !== undefined) {
        throw new HushwireError(ErrorCode.BAD_REQUEST, 'this profile was registered by another registration meanwhile (this one is undone)');
      }
      await writeGateways(store, urls);
      const told = noteMailboxAge(undefined, challenge.mailboxMaxAgeS, Date.now());
      await writeDevice(store, {
        device,
        identitySecret: identity.secretKey,
        identityPublic: identity.publicKey,
        prekeySecret: prekey.secretKey,
        prekeyPublic: prekey.publicKey,
        number,
        route,
        oprfPublicKey: challenge.oprfPublicKey,
        registeredAt: new Date().toISOString(),
        // The mailbox retention this gateway told, remembered from the start (client/prekeys.ts).
        ...(told !== undefined ? { mailboxMaxAge: told } : {}),
      });
    } catch (e) {
      await withdraw();
      throw e;
    }
    // Registered and kept in device.json: nothing pending any more. One left by a failed
    // delete is harmless (a registered profile is not registered again; an opt-out
    // deletes it).
    await store.delete(PENDING_DEVICE_FILE).catch(() => {});
    // A fresh dedup state: ids seen by an earlier registration of this profile are void,
    // and so are its sequence counters (keyed by contacts' routes). Written whole, not
    // saved: a save merges in what the record holds, which would keep a state.json left
    // in the profile. Under the record's lock like any rewrite of it.
    await withRecordLock(store, STATE_FILE, () => store.write(STATE_FILE, JSON.stringify(new ProfileState(store).toJSON()) + '\n'));
    // Our own route is proven already: a message to ourselves needs no evaluate.
    await (await readRouteBook(store, challenge.oprfPublicKey)).set(number, route);
    await keepOwnBaseline(opts, store, held.conn, challenge, notices, { number, route, device, identityPublic: identity.publicKey });
    return { device: bytesToHex(device) };
  } finally {
    await held.conn.close();
  }
}

/**
 * The own number's baseline, taken at registration: one `lookup` of the own route (at the
 * directory's leader: `fresh`, which lists every device written so far, this one
 * included; a route lookup is charged to no discovery budget, only to the connection's
 * lookups in flight) on the registering connection, authenticated as this device, whose
 * devices listed then go to keys.json as the baseline (KeyBook.takeOwnBaseline). They
 * were there when this device registered; a device listed later (an attacker's, or one
 * an operator lists, between this registration and the first `listen`) is told
 * (`own: true`, added) whether or not the gateway sends its new_device notice.
 *
 * Best effort, never failing the registration (the device is registered and kept
 * already): a lookup that fails, is refused, lists no valid device, does not list this
 * device with its key, or gets no answer within `requestTimeoutMs` (the register's own
 * request deadline), or an abort, keeps no baseline, silently: the first receiving
 * client takes it as before (docs/CLIENT.md). A keys.json that cannot be written (or
 * reads damaged) is told to `onStoreError`, the registration standing. A new_device
 * notice seen on this connection before it closed makes the baseline this device
 * alone (every other device is told at the first look), as a notice before a first look
 * does. The connection is closed before the record is written: no notice comes after.
 */
async function keepOwnBaseline(
  opts: RegisterOptions, store: ProfileStore, conn: Connection, used: Challenge, notices: { newDevice: boolean },
  me: { number: string; route: Uint8Array; device: Uint8Array; identityPublic: Uint8Array },
): Promise<void> {
  let listed: ReturnType<typeof verifyListed>;
  try {
    const op = await unlessAborted(conn.request((challenge) => {
      // Only on the socket the register authenticated: a new one is not (no lookup there).
      if (challenge !== used) throw new HushwireError(ErrorCode.UNAVAILABLE, 'the registering connection was lost');
      return { lookup: { route: me.route, fresh: true } };
    }), opts.signal);
    const d = op.devices;
    if (!d || !d.route || !equalBytes(d.route, me.route)) return;
    listed = verifyListed(d.devices ?? []);
  } catch {
    return;
  }
  const mine = listed.find((v) => equalBytes(v.device, me.device));
  if (!mine || !equalBytes(mine.identityKey, me.identityPublic)) return;
  await conn.close();
  const tell = (e: unknown): void => {
    try {
      opts.onStoreError?.(e);
    } catch {
      // the application's callback: nothing of the registration depends on it
    }
  };
  try {
    const keys = await readKeyBook(store, used.oprfPublicKey, KEYS_CAPACITY, {
      device: me.device,
      ownRoute: me.route,
      onDamaged: (problem) => tell(new HushwireError(ErrorCode.BAD_REQUEST, problem)),
    });
    await keys.takeOwnBaseline(listed, me.number, notices.newDevice);
  } catch (e) {
    tell(e);
  }
}
