// The handset's WebSocket connection: a small state machine modelled on centrifuge-js.
//
//   disconnected -> connecting -> authenticating -> connected
//         ^              |               |              |
//         +--------------+---------------+--------------+   (one funnel: onSocketGone)
//   any state -> closed  (close(), or a terminal close code)
//
// Every socket end, whatever caused it (server close, network error, handshake or
// challenge or auth deadline, idle detection, a protocol violation), goes through
// onSocketGone exactly once per socket. That one place decides: stop for good, or
// back off (full jitter) and try again, on the next gateway when the old one is going
// away. Requests are correlated by `req` and each has a deadline that starts when the
// caller asks, so time spent waiting for a connection counts against it.
//
// The socket comes from a Transport (client/socket.ts): any WHATWG WebSocket
// constructor (options.WebSocket, else globalThis.WebSocket), or on Node `ws` with its
// extras (client/ws-transport.ts, the default there: client/platform.ts). Nothing here
// imports Node: this module is part of the portable SDK (client/portable.ts).
import { wire, type OpProps } from '../relay/wire.ts';
import { HushwireError, ErrorCode, CloseCode, wireErrorCode, type ErrorCode as ErrorCodeT } from '../relay/errors.ts';
import { fullJitterDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { whatwgTransport, unrefTimer, NotAWebSocket, WebSocketConstructorFailed, type Transport, type TransportSocket, type WebSocketConstructor } from './socket.ts';
import { defaultTransport } from './platform.ts';
import { timerDelay } from './timer-delay.ts';

export { describeSocketError } from './socket.ts';

type Timer = ReturnType<typeof setTimeout>;
type Interval = ReturnType<typeof setInterval>;

/** Runs `fn` on a later turn of the event loop (setImmediate where there is one). */
const nextTurn: (fn: () => void) => void = typeof setImmediate === 'function'
  ? (fn) => { setImmediate(fn); }
  : (fn) => { setTimeout(fn, 0); };

export type ConnectionState = 'disconnected' | 'connecting' | 'authenticating' | 'connected' | 'closed';

export interface Challenge {
  nonce: Uint8Array;
  serverTimeMs: number;
  oprfPublicKey: Uint8Array;
  /** Split key: each share's public key (they add up to oprfPublicKey); else empty. */
  oprfShareKeys: Uint8Array[];
  maxFrameBytes: number;
  authDeadlineMs: number;
  protocol: number;
  /** How long the deployment's mailbox keeps mail, in seconds (field 8); 0: not told (an
   *  older gateway). As received: client/prekeys.ts toldMaxAgeS checks its range. */
  mailboxMaxAgeS: number;
  /** The gateway's X25519 key for resumption tickets (field 9, docs/PROTOCOL.md section
   *  13); empty: it issues none (an older gateway, or tickets turned off there). */
  resumeKey: Uint8Array;
}

/** Builds an op when it is actually written, so it can sign the live challenge. */
export type OpBuilder = OpProps | ((challenge: Challenge) => OpProps);

/** Options of an AuthContext request. */
export interface AuthRequestOptions {
  /** An auth whose AUTH_FAILED does not end the connection (a resume with a ticket:
   *  docs/CLIENT.md, "Resumption"): when it is answered AUTH_FAILED, or the socket closes
   *  4002 while it is written and unanswered (it then rejects AUTH_FAILED too), that
   *  socket's 4002 close and the authenticator's AUTH_FAILED are not terminal: the socket
   *  is dropped and reconnected with the usual backoff. The authenticator must not make
   *  the same request again then (it would loop): the client signs. */
  retryOnAuthFailed?: boolean;
}

export interface AuthContext {
  challenge: Challenge;
  url: string;
  /** A request on this very socket, before the connection counts as connected. */
  request(op: OpBuilder, timeoutMs?: number, options?: AuthRequestOptions): Promise<OpProps>;
}

/** One change of the connection's state (ClientOptions.onState; docs/CLIENT.md). */
export interface StateChange {
  from: ConnectionState;
  to: ConnectionState;
  /** The gateway being connected to (connecting, authenticating, connected). */
  url?: string;
  /** The WebSocket close code that ended the socket (to: disconnected, or closed by a
   *  terminal code: 4002 AUTH_FAILED, 4003 CONNECTED_ELSEWHERE, 4006 UNREGISTERED). 4002
   *  to disconnected: a resume with a ticket the gateway rejected (not final: the next
   *  connect signs). */
  code?: number;
  /** The close reason the gateway gave, or a short local one ("idle", "no challenge in time"). */
  reason?: string;
  /** Why it stopped: to closed for good (the error messages() ends with), or to
   *  disconnected when a first connect() gave up. */
  error?: HushwireError;
  /** To disconnected: how long until the next attempt. */
  delayMs?: number;
}

export interface ConnectionOptions {
  urls: string[];
  /** A WHATWG WebSocket constructor. Default: `ws` on Node (through the SDK's Node entry),
   *  else globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** The socket layer itself (tests, and the Node default); wins over WebSocket. */
  transport?: Transport;
  /** Runs after the challenge on every socket; resolve = authenticated. None: connected at once. */
  authenticate?: (ctx: AuthContext) => Promise<void>;
  /** Unsolicited server ops (deliver, ...), in arrival order. */
  onOp?: (op: OpProps) => void;
  onState?: (change: StateChange) => void;
  requestTimeoutMs?: number;
  /** WebSocket handshake plus the challenge must arrive within this. */
  connectTimeoutMs?: number;
  /** Used when the challenge announces no auth deadline. */
  authTimeoutMs?: number;
  /** Requests in flight or waiting for a connection. */
  maxPending?: number;
  backoff?: BackoffOptions;
  /** Attempts connect() makes before giving up with UNAVAILABLE. Once connected, reconnection is unbounded. */
  connectAttempts?: number;
  /** Close codes that end the connection for good. */
  terminalCloseCodes?: number[];
  /** When 4003 CONNECTED_ELSEWHERE is not terminal: wait about this long before taking
   *  the device back, so a short-lived process on the same profile (a send) can finish. */
  yieldMs?: number;
  /** How often the socket is checked. Where the transport can ping (Node's ws): a
   *  WebSocket ping each time. Where it cannot (the standard API): a `ping` op when
   *  nothing arrived since the last check (docs/PROTOCOL.md, section 10). Default 20 s. */
  pingIntervalMs?: number;
  /** Nothing at all received for this long (no frame, and where the transport shows
   *  them no ping or pong) and the socket is presumed dead: dropped (close 1006) and
   *  reconnected with backoff. Default 50 s; NO_PING_OP_IDLE_FACTOR times that on a socket
   *  whose gateway refused the ping op (startPing). */
  idleTimeoutMs?: number;
  /** Backpressure: while more than this many bytes wait in the socket's send buffer,
   *  requests and acks stay queued (their deadlines still run). Default 1 MiB. */
  maxBufferedBytes?: number;
  random?: () => number;
}

/** Close codes that mean "this gateway is going away or unusable: try the next one". */
const ROTATE_CODES = new Set<number>([CloseCode.DRAINING, CloseCode.GOING_AWAY, 1006, CloseCode.TRY_AGAIN_LATER]);
const DEFAULT_TERMINAL = [CloseCode.AUTH_FAILED, CloseCode.UNREGISTERED, CloseCode.CONNECTED_ELSEWHERE];

const MAX_QUEUED_ACKS = 65_536;
// WebSocket readyState values (the same in ws and the standard API).
const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;
/** After a gateway refused the ping op (UNKNOWN_OP: older than the op), a socket with
 *  nothing received for this many idle timeouts is dropped and reconnected (10 minutes
 *  at the default 50 s): see startPing. */
export const NO_PING_OP_IDLE_FACTOR = 12;
/** Gateways refuse frames with too many ops (256 by default); stay well under. */
export const MAX_OPS_PER_FRAME = 128;

// Protobuf framing of `repeated Op ops = 1`: tag (field 1, length-delimited) + varint length.
const OPS_TAG = 0x0a;

interface PendingRequest {
  req: number;
  build: OpBuilder;
  resolve: (op: OpProps) => void;
  reject: (e: HushwireError) => void;
  timer: Timer;
  /** Socket generation it was written on; 0 = not written yet. */
  sentOn: number;
  /** How many frames the connection had received when it was written (a count, not a
   *  clock: a frame in the same millisecond as the write is still told apart). */
  seenAtSend: number;
  /** Auth-phase requests are bound to one socket and never wait for a connection. */
  authGen: number;
  /** AuthRequestOptions.retryOnAuthFailed. */
  retryOnAuthFailed: boolean;
}

/** Errors of requests that were written on a socket and never answered: the gateway
 *  may have acted on them (a send may have been delivered). */
const unanswered = new WeakSet<HushwireError>();

/** Whether `e` failed a request that was written and never answered (connection lost,
 *  timed out, or closed after the write). */
export function wasUnanswered(e: unknown): boolean {
  return e instanceof HushwireError && unanswered.has(e);
}

/** Errors the gateway sent as its answer to a request (an Error op), as opposed to this
 *  side's own (a connection lost, a deadline, a request that could not be built). */
const answered = new WeakSet<HushwireError>();

/** Whether `e` is the gateway's own answer to a request (its Error op). */
export function wasAnsweredByGateway(e: unknown): boolean {
  return e instanceof HushwireError && answered.has(e);
}

function markUnanswered(e: HushwireError): HushwireError {
  const copy = new HushwireError(e.code, e.message, { retryAfterMs: e.retryAfterMs });
  unanswered.add(copy);
  return copy;
}

/** A close reason as it may go into an error message: printable ASCII, at most 64
 *  characters (a close frame's reason is the peer's, up to 123 bytes). */
function asciiReason(reason: string): string {
  return reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}

export function closeCodeError(code: number): HushwireError {
  switch (code) {
    case CloseCode.AUTH_FAILED:
      return new HushwireError(ErrorCode.AUTH_FAILED, 'authentication failed');
    case CloseCode.UNREGISTERED:
      return new HushwireError(ErrorCode.NOT_REGISTERED, 'not registered: this device has opted out');
    case CloseCode.CONNECTED_ELSEWHERE:
      return new HushwireError(ErrorCode.UNAVAILABLE, 'connected elsewhere: a newer connection of this device took over');
    default:
      return new HushwireError(ErrorCode.UNAVAILABLE, `connection closed (${code})`);
  }
}


/** How many gateway URLs a give-up message names; the rest are counted. */
const URLS_NAMED = 3;

/**
 * A gateway URL as an error may show it: scheme, host, port and path, without the
 * userinfo, query or fragment (a deployment may put a token in any of them). By hand,
 * not with URL: React Native's implements few of its getters. Nothing of a URL whose
 * authority has no '@' while what follows it has one: that may be userinfo whose
 * password holds an unescaped '/', '?' or '#' (`ws://u:p/ss@host/`), which splits it
 * there (host `u:p`, path `/ss@host/`). On Node such a URL never gets here (the client
 * takes gateway URLs as URL parses them, userinfo escaped); React Native's form check
 * lets it through.
 */
export function urlForMessage(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)/i.exec(url);
  if (!m || (!m[2].includes('@') && url.includes('@', m[1].length + m[2].length))) return '(a gateway URL)';
  const authority = m[2].slice(m[2].lastIndexOf('@') + 1);
  return `${m[1]}${authority}${m[3]}`;
}

/** `a`, `a, b and c`, `a, b, c and 2 more`. */
function listUrls(urls: string[]): string {
  const shown = urls.slice(0, URLS_NAMED).map(urlForMessage);
  const more = urls.length - shown.length;
  if (more > 0) return `${shown.join(', ')} and ${more} more`;
  return shown.length > 1 ? `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}` : shown.join('');
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return 0;
  return Number(String(v));
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Concatenates encoded ops into one Frame message without re-encoding them. */
function frameOf(encodedOps: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const o of encodedOps) size += 1 + varintLength(o.length) + o.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const o of encodedOps) {
    out[pos++] = OPS_TAG;
    pos = writeVarint(out, pos, o.length);
    out.set(o, pos);
    pos += o.length;
  }
  return out;
}

export class Connection {
  private readonly urls: string[];
  private readonly opts: Required<Omit<ConnectionOptions, 'authenticate' | 'onOp' | 'onState' | 'WebSocket' | 'transport'>>;
  private readonly transport: Transport;
  private readonly authenticate: ConnectionOptions['authenticate'];
  private readonly onOp: ConnectionOptions['onOp'];
  private readonly onStateChange: ConnectionOptions['onState'];

  private stateValue: ConnectionState = 'disconnected';
  private ws: TransportSocket | null = null;
  /** Increases per socket; events from an older socket are ignored. */
  private gen = 0;
  private urlIndex = 0;
  private attempt = 0;
  /** Attempts since connect() was called without a connection yet. */
  private connectTries = 0;
  /** The gateway URLs those attempts went to, each once (at most the list's length),
   *  for the give-up message. */
  private readonly triedUrls = new Set<string>();
  private everConnected = false;
  /** Why the latest socket failed before a challenge, for the give-up message. */
  private lastFailure = '';
  /** Why this client ended the current socket itself ("idle", "no challenge in time"):
   *  a socket ended locally closes with 1006 and no reason of its own, and the state
   *  change should say why. */
  private localDrop = '';
  private rotateNext = false;
  private reconnectHintMs = -1;
  /** The retry_after_ms of an auth the gateway refused (RATE_LIMITED: the device's
   *  send-only connections there all taken), with that gateway's URL: the next attempt
   *  at the same URL waits at least this long (onSocketGone). */
  private authRetryAfter: { url: string; ms: number } | null = null;
  /** The socket (its gen) whose auth request flagged retryOnAuthFailed (a resume) was
   *  answered AUTH_FAILED, or closed 4002 while it was unanswered: its AUTH_FAILED is not
   *  final (onAuthFailed, onSocketGone). 0: none. */
  private softAuthFailedGen = 0;
  private challengeValue: Challenge | null = null;
  private lastSeen = 0;
  /** Frames (and, where the transport reports them, pongs) received, on any socket. */
  private received = 0;
  /** The reqs of the current socket's ping ops still unanswered (their answers are
   *  looked at here, not settled as requests). */
  private pingReqs = new Set<number>();
  /** The current socket's gateway answered a ping op UNKNOWN_OP (it is older than the
   *  op): no more ping ops on this socket. Reset for every socket. */
  private pingOpRefused = false;

  private connectTimer: Timer | null = null;
  private authTimer: Timer | null = null;
  private reconnectTimer: Timer | null = null;
  private pingTimer: Interval | null = null;
  private moveTimer: Timer | null = null;
  /** Re-flush while the send buffer is over maxBufferedBytes. */
  private drainTimer: Timer | null = null;

  private nextReq = 1;
  private readonly pending = new Map<number, PendingRequest>();
  /** Requests waiting to be written (in order). */
  private waiting: PendingRequest[] = [];
  private ackIds: Uint8Array[] = [];
  private flushScheduled = false;

  private connectWaiters: { resolve: () => void; reject: (e: HushwireError) => void }[] = [];
  private closePromise: Promise<void> | null = null;
  private terminalError: HushwireError | null = null;

  constructor(options: ConnectionOptions) {
    if (!Array.isArray(options.urls) || options.urls.length === 0) throw new HushwireError(ErrorCode.BAD_REQUEST, 'at least one gateway URL is required');
    // Throws BAD_REQUEST for something that is not a constructor, or when there is no
    // WebSocket at all (a Node 20 process without the SDK's Node entry, say).
    this.transport = options.transport ?? (options.WebSocket !== undefined ? whatwgTransport(options.WebSocket) : defaultTransport());
    this.urls = [...options.urls];
    this.authenticate = options.authenticate;
    this.onOp = options.onOp;
    this.onStateChange = options.onState;
    this.opts = {
      urls: this.urls,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      authTimeoutMs: options.authTimeoutMs ?? 10_000,
      maxPending: options.maxPending ?? 1024,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      connectAttempts: options.connectAttempts ?? Infinity,
      terminalCloseCodes: options.terminalCloseCodes ?? DEFAULT_TERMINAL,
      yieldMs: options.yieldMs ?? 2_000,
      pingIntervalMs: options.pingIntervalMs ?? 20_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 50_000,
      maxBufferedBytes: options.maxBufferedBytes ?? 1 << 20,
      random: options.random ?? Math.random,
    };
    // Start on a random gateway so a fleet of handsets spreads over the list.
    this.urlIndex = Math.floor(this.opts.random() * this.urls.length) % this.urls.length;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The challenge of the current socket (null before the first one arrives). */
  get challenge(): Challenge | null {
    return this.challengeValue;
  }

  get url(): string {
    return this.urls[this.urlIndex % this.urls.length];
  }

  /** The error that closed the connection for good, if any. */
  get error(): HushwireError | null {
    return this.terminalError;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Resolves once connected (authenticated); starts connecting if idle. Before the first
   * connection it gives up after `connectAttempts`; once connected it waits through
   * reconnects, so callers that must not wait without bound pass `timeoutMs`: after it
   * the promise rejects UNAVAILABLE (the reconnecting goes on) and its waiter is gone.
   */
  connect(timeoutMs?: number): Promise<void> {
    if (this.stateValue === 'closed') {
      return Promise.reject(this.terminalError ?? new HushwireError(ErrorCode.UNAVAILABLE, 'connection is closed'));
    }
    if (this.stateValue === 'connected') return Promise.resolve();
    // A first connect is bounded by connectAttempts and ends with why the last attempt
    // failed; the deadline is for waits through reconnects (which have no such bound).
    const bounded = timeoutMs !== undefined && (this.everConnected || !Number.isFinite(this.opts.connectAttempts));
    const p = new Promise<void>((resolve, reject) => {
      if (!bounded) {
        this.connectWaiters.push({ resolve, reject });
        return;
      }
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: HushwireError) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const i = this.connectWaiters.indexOf(waiter);
        if (i >= 0) this.connectWaiters.splice(i, 1);
        // Which gateways this reconnect has tried (since the last connection), as "no
        // gateway reachable" says: a user with several profiles or a stale gateways.json
        // can tell which one is down.
        const tried = this.triedUrls.size > 0 ? `; tried ${listUrls([...this.triedUrls])}` : '';
        const last = this.lastFailure ? `; last attempt: ${this.lastFailure}` : '';
        reject(new HushwireError(ErrorCode.UNAVAILABLE, `not connected: no gateway answered in time (still reconnecting${tried}${last})`));
      }, Math.max(0, timeoutMs ?? 0));
      this.connectWaiters.push(waiter);
    });
    if (this.stateValue === 'disconnected' && this.reconnectTimer === null) {
      this.connectTries = 0;
      this.triedUrls.clear();
      this.openSocket();
    }
    return p;
  }

  /** Sends a request and resolves with the answer op (rejects with the Error op as HushwireError). */
  request(op: OpBuilder, timeoutMs = this.opts.requestTimeoutMs): Promise<OpProps> {
    return this.enqueue(op, timeoutMs, 0);
  }

  /** Queues deliver_ack ids; all ids of one event-loop turn leave in one op. */
  ack(ids: Uint8Array[]): void {
    if (this.stateValue === 'closed' || ids.length === 0) return;
    for (const id of ids) this.ackIds.push(id);
    // Acks wait across a reconnect (they spare a redelivery), but not without bound:
    // a dropped ack only costs a duplicate, which the inbox drops by id.
    if (this.ackIds.length > MAX_QUEUED_ACKS) this.ackIds.splice(0, this.ackIds.length - MAX_QUEUED_ACKS);
    this.scheduleFlush();
  }

  /** Idempotent. Flushes queued acks, closes the socket, rejects what is still pending. */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closePromise = this.shutdown(null, CloseCode.NORMAL, 'client closed');
    return this.closePromise;
  }

  // ---- requests -------------------------------------------------------------------

  private enqueue(build: OpBuilder, timeoutMs: number, authGen: number, retryOnAuthFailed = false): Promise<OpProps> {
    if (this.stateValue === 'closed') {
      return Promise.reject(this.terminalError ?? new HushwireError(ErrorCode.UNAVAILABLE, 'connection is closed'));
    }
    if (this.pending.size >= this.opts.maxPending) {
      return Promise.reject(new HushwireError(ErrorCode.RATE_LIMITED, 'too many requests pending'));
    }
    return new Promise<OpProps>((resolve, reject) => {
      const req = this.allocReq();
      const rec: PendingRequest = {
        req,
        build,
        resolve,
        reject,
        sentOn: 0,
        seenAtSend: 0,
        authGen,
        retryOnAuthFailed: retryOnAuthFailed && authGen !== 0,
        timer: setTimeout(() => {
          this.forget(rec);
          this.suspectSilence(rec);
          const err = new HushwireError(ErrorCode.TIMEOUT, 'request timed out');
          reject(rec.sentOn !== 0 ? markUnanswered(err) : err);
        }, timeoutMs),
      };
      this.pending.set(req, rec);
      this.waiting.push(rec);
      this.scheduleFlush();
    });
  }

  /**
   * Without WebSocket pings (the standard API) a dead, half-open socket stays "open" as
   * long as the platform's TCP stack lets it, or until the idle check (startPing) finds
   * it silent. A request written on the current socket whose deadline passed with not a
   * byte received since is earlier evidence: drop the socket (close 1006) and reconnect;
   * the caller's retry goes out on the new one.
   */
  private suspectSilence(rec: PendingRequest): void {
    if (this.transport.canPing || rec.sentOn === 0 || rec.sentOn !== this.gen || !this.ws) return;
    if (this.received === rec.seenAtSend) this.dropSocket(this.gen, 1006, 'no answer in time');
  }

  private allocReq(): number {
    // uint32, never 0 (0 marks unsolicited ops), skipping ids still in use after a wrap.
    for (;;) {
      const req = this.nextReq;
      this.nextReq = this.nextReq >= 0xffffffff ? 1 : this.nextReq + 1;
      if (!this.pending.has(req) && !this.pingReqs.has(req)) return req;
    }
  }

  private forget(rec: PendingRequest): void {
    clearTimeout(rec.timer);
    this.pending.delete(rec.req);
    const i = this.waiting.indexOf(rec);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  private settle(op: OpProps): void {
    const rec = this.pending.get(op.req ?? 0);
    // A late answer after its deadline, or for a socket we already left: ignore.
    if (!rec || rec.sentOn !== this.gen) return;
    this.forget(rec);
    if (op.error) {
      const code = wireErrorCode(op.error.code);
      // Recorded before the authenticator hears of it: the gateway's 4002 close may
      // reach onSocketGone before the rejection reaches onAuthFailed. Any other auth
      // request of the socket answered AUTH_FAILED (a signed one) makes it final again.
      if (code === ErrorCode.AUTH_FAILED && rec.authGen !== 0) this.softAuthFailedGen = rec.retryOnAuthFailed ? rec.sentOn : 0;
      const err = new HushwireError(code, op.error.message || code.toLowerCase().replace(/_/g, ' '), {
        retryAfterMs: toNumber(op.error.retryAfterMs),
      });
      answered.add(err);
      rec.reject(err);
    } else {
      rec.resolve(op);
    }
  }

  private rejectAll(filter: (rec: PendingRequest) => boolean, err: HushwireError): void {
    for (const rec of [...this.pending.values()]) {
      if (filter(rec)) {
        this.forget(rec);
        rec.reject(rec.sentOn !== 0 ? markUnanswered(err) : err);
      }
    }
  }

  // ---- outgoing frames ------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // One frame per event-loop turn: everything queued during this turn (many acks,
    // several requests) leaves in as few kernel writes as the frame limit allows.
    nextTurn(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN || !this.challengeValue) return;
    if (ws.bufferedAmount > this.opts.maxBufferedBytes) {
      // Backpressure: the network is slower than the writes. Hold what is queued (the
      // requests' deadlines still run) and look again shortly; the standard API has no
      // drain event, so this polls, and only while the buffer is over the mark.
      if (this.drainTimer === null) {
        this.drainTimer = setTimeout(() => {
          this.drainTimer = null;
          this.scheduleFlush();
        }, 20);
        unrefTimer(this.drainTimer);
      }
      return;
    }
    const authenticating = this.stateValue === 'authenticating';
    const connected = this.stateValue === 'connected';
    if (!authenticating && !connected) return;
    const challenge = this.challengeValue;
    const ops: Uint8Array[] = [];

    const keep: PendingRequest[] = [];
    for (const rec of this.waiting) {
      // Auth-phase requests go only on their own socket; others only once connected.
      const mayGo = rec.authGen !== 0 ? rec.authGen === this.gen : connected;
      if (!mayGo) {
        keep.push(rec);
        continue;
      }
      let encoded: Uint8Array;
      try {
        const body = typeof rec.build === 'function' ? rec.build(challenge) : rec.build;
        encoded = wire.Op.encode({ ...body, req: rec.req }).finish();
      } catch (e) {
        this.pending.delete(rec.req);
        clearTimeout(rec.timer);
        rec.reject(e instanceof HushwireError ? e : new HushwireError(ErrorCode.BAD_REQUEST, 'request could not be encoded'));
        continue;
      }
      if (this.tooLarge(encoded, challenge)) {
        this.pending.delete(rec.req);
        clearTimeout(rec.timer);
        rec.reject(new HushwireError(ErrorCode.TOO_LARGE, 'request is larger than the gateway accepts'));
        continue;
      }
      rec.sentOn = this.gen;
      rec.seenAtSend = this.received;
      ops.push(encoded);
    }
    this.waiting = keep;

    if (connected && this.ackIds.length > 0) {
      const ids = this.ackIds;
      this.ackIds = [];
      // ~18 bytes per id on the wire; chunk so an ack op always fits in a frame.
      const per = Math.max(1, Math.floor((this.frameLimit(challenge) - 16) / 20));
      for (let i = 0; i < ids.length; i += per) {
        ops.push(wire.Op.encode({ deliverAck: { ids: ids.slice(i, i + per) } }).finish());
      }
    }
    this.writeOps(ws, ops, challenge);
  }

  private frameLimit(challenge: Challenge): number {
    return challenge.maxFrameBytes > 0 ? challenge.maxFrameBytes : 1 << 20;
  }

  private tooLarge(encoded: Uint8Array, challenge: Challenge): boolean {
    return 1 + varintLength(encoded.length) + encoded.length > this.frameLimit(challenge);
  }

  private writeOps(ws: TransportSocket, ops: Uint8Array[], challenge: Challenge): void {
    const limit = this.frameLimit(challenge);
    let batch: Uint8Array[] = [];
    let size = 0;
    for (const o of ops) {
      const len = 1 + varintLength(o.length) + o.length;
      if (batch.length > 0 && (size + len > limit || batch.length >= MAX_OPS_PER_FRAME)) {
        ws.send(frameOf(batch));
        batch = [];
        size = 0;
      }
      batch.push(o);
      size += len;
    }
    if (batch.length > 0) ws.send(frameOf(batch));
  }

  // ---- socket lifecycle -----------------------------------------------------------

  private setState(to: ConnectionState, info: Omit<StateChange, 'from' | 'to'> = {}): void {
    const from = this.stateValue;
    if (from === to) return;
    this.stateValue = to;
    if (this.onStateChange) {
      try {
        this.onStateChange({ from, to, ...info });
      } catch { /* a listener's bug must not wedge the state machine */ }
    }
  }

  private openSocket(): void {
    this.reconnectTimer = null;
    if (this.stateValue === 'closed') return;
    const gen = ++this.gen;
    const url = this.url;
    this.challengeValue = null;
    this.lastFailure = '';
    this.localDrop = '';
    this.connectTries++;
    this.triedUrls.add(url);
    this.setState('connecting', { url });
    let ws: TransportSocket;
    try {
      ws = this.transport.open(url, {
        onFrame: (data) => this.onMessage(gen, data),
        onUnsupported: (reason) => {
          if (gen !== this.gen) return;
          this.lastFailure = reason;
          this.dropSocket(gen, CloseCode.UNSUPPORTED_DATA, reason);
        },
        onActivity: () => {
          if (gen === this.gen) {
            this.lastSeen = Date.now();
            this.received++;
          }
        },
        // An error is always followed by a close; the close carries the decision. What
        // went wrong is kept for the give-up message of a first connect.
        // Not after our own drop (dropSocket): terminating a socket that had not opened
        // yet makes ws report "closed before the connection was established" ("socket
        // error"), which would replace why we dropped it ("no challenge in time").
        onError: (reason) => {
          if (gen === this.gen && !this.localDrop) this.lastFailure = reason;
        },
        onClose: (code, reason) => this.onSocketGone(gen, code, reason),
      }, { connectTimeoutMs: this.opts.connectTimeoutMs });
    } catch (e) {
      if (e instanceof NotAWebSocket) {
        // A programming error no retry can fix: stop, saying so.
        nextTurn(() => { void this.shutdown(e, null, ''); });
        return;
      }
      // An unusable URL (or a constructor that throws for it) fails like an unreachable
      // gateway: rotate past it, saying which it was.
      const why = e instanceof WebSocketConstructorFailed ? e.message : 'bad url';
      this.rotateNext = true;
      this.lastFailure = why;
      nextTurn(() => this.onSocketGone(gen, 1006, why));
      return;
    }
    this.ws = ws;
    this.lastSeen = Date.now();
    this.connectTimer = setTimeout(() => this.dropSocket(gen, 1006, 'no challenge in time'), this.opts.connectTimeoutMs);
  }

  /** Ends the socket from our side; the 'close' event then runs the funnel. */
  private dropSocket(gen: number, code: number, reason: string): void {
    if (gen !== this.gen || !this.ws) return;
    const ws = this.ws;
    if (code === 1006) {
      if (!this.lastFailure) this.lastFailure = reason;
      this.localDrop = reason;
      // 1006 cannot be sent in a close frame; terminate yields it locally.
      ws.terminate();
    } else {
      // A peer that never answers our close frame is cut off after a second.
      ws.close(code, reason);
    }
  }

  private onMessage(gen: number, data: Uint8Array): void {
    if (gen !== this.gen) return;
    this.lastSeen = Date.now();
    this.received++;
    let ops: OpProps[];
    try {
      ops = wire.Frame.decode(data).ops;
    } catch {
      this.dropSocket(gen, CloseCode.BAD_FRAME, 'bad frame');
      return;
    }
    for (const op of ops) {
      if (gen !== this.gen) return;
      if (op.challenge) {
        this.onChallenge(gen, op);
      } else if (op.req && this.pingReqs.delete(op.req)) {
        this.onPingAnswer(op);
      } else if (op.req) {
        this.settle(op);
      } else if (op.reconnect) {
        this.onReconnectOp(gen, op);
      } else if (this.onOp) {
        try {
          this.onOp(op);
        } catch { /* a handler's bug must not kill the socket */ }
      }
    }
  }

  private onReconnectOp(gen: number, op: OpProps): void {
    this.rotateNext = true;
    this.reconnectHintMs = toNumber(op.reconnect?.retryAfterMs);
    // The gateway closes with 4005 next; if it does not, leave on our own.
    if (this.moveTimer === null) {
      this.moveTimer = setTimeout(() => {
        this.moveTimer = null;
        this.dropSocket(gen, CloseCode.NORMAL, 'moving');
      }, 2000);
    }
  }

  private onChallenge(gen: number, op: OpProps): void {
    if (this.stateValue !== 'connecting' || !op.challenge) return;
    const c = op.challenge;
    const challenge: Challenge = {
      nonce: c.nonce ?? new Uint8Array(0),
      serverTimeMs: toNumber(c.serverTimeMs),
      oprfPublicKey: c.oprfPublicKey ?? new Uint8Array(0),
      oprfShareKeys: c.oprfShareKeys ?? [],
      maxFrameBytes: toNumber(c.maxFrameBytes),
      authDeadlineMs: toNumber(c.authDeadlineMs),
      protocol: toNumber(c.protocol),
      mailboxMaxAgeS: toNumber(c.mailboxMaxAgeS),
      resumeKey: c.resumeKey ?? new Uint8Array(0),
    };
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.challengeValue = challenge;
    this.startPing(gen);
    this.setState('authenticating', { url: this.url });
    const auth = this.authenticate;
    if (!auth) {
      this.onAuthenticated(gen);
      return;
    }
    // Our own deadline is the gateway's (it closes 4001 then) so we never wait longer.
    const deadline = challenge.authDeadlineMs > 0 ? challenge.authDeadlineMs : this.opts.authTimeoutMs;
    this.authTimer = setTimeout(() => this.dropSocket(gen, 1006, 'auth deadline'), deadline);
    const ctx: AuthContext = {
      challenge,
      url: this.url,
      request: (build, timeoutMs, options) => this.enqueue(build, Math.min(timeoutMs ?? deadline, deadline), gen, options?.retryOnAuthFailed === true),
    };
    let result: Promise<void>;
    try {
      result = auth(ctx);
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(
      () => this.onAuthenticated(gen),
      (e: unknown) => this.onAuthFailed(gen, e),
    );
  }

  private onAuthenticated(gen: number): void {
    if (gen !== this.gen || this.stateValue !== 'authenticating') return;
    if (this.authTimer) clearTimeout(this.authTimer);
    this.authTimer = null;
    this.attempt = 0;
    this.connectTries = 0;
    this.triedUrls.clear();
    this.everConnected = true;
    this.setState('connected', { url: this.url });
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.resolve();
    this.scheduleFlush();
  }

  private onAuthFailed(gen: number, e: unknown): void {
    if (gen !== this.gen) return;
    const err = e instanceof HushwireError ? e : new HushwireError(ErrorCode.AUTH_FAILED, 'authentication failed');
    if (err.code === ErrorCode.AUTH_FAILED && gen === this.softAuthFailedGen) {
      // A resume answered AUTH_FAILED (retryOnAuthFailed): no verdict on the key. Leave
      // this socket (the gateway closes it 4002 anyway) and reconnect; the client signs.
      if (!this.lastFailure) this.lastFailure = 'AUTH_FAILED: the gateway rejected the resume (signing next)';
      this.dropSocket(gen, CloseCode.NORMAL, 'resume rejected');
      return;
    }
    if (err.code === ErrorCode.AUTH_FAILED || err.code === ErrorCode.NOT_REGISTERED) {
      // Retrying a rejected key only hammers the gateway: stop for good.
      void this.shutdown(err, CloseCode.NORMAL, 'auth failed');
      return;
    }
    // Kept for the give-up message of a first connect: a refusal that is no key problem
    // (RATE_LIMITED: the device's send-only connections on this gateway are all taken)
    // must not read as "auth failed", which says wrong key or wrong gateway.
    if (!this.lastFailure) this.lastFailure = `${err.code}: ${err.message}`;
    if (err.retryAfterMs > 0) this.authRetryAfter = { url: this.url, ms: err.retryAfterMs };
    this.dropSocket(gen, 1006, 'auth failed');
  }

  /**
   * The idle check, from the challenge on. A half-open TCP connection (gateway host gone,
   * a NAT that forgot the flow, a radio change) never emits 'close' by itself: nothing
   * received for idleTimeoutMs drops the socket through the funnel. Something must then
   * arrive on a healthy quiet socket: where the transport can ping (ws), a WebSocket ping
   * at every check (its pong is activity); where it cannot (the standard API sees neither
   * pings nor pongs), a `ping` op at every check that follows one with nothing received,
   * once connected (before that the auth deadline bounds the socket). Its answer is a
   * frame, `ok`.
   *
   * A gateway older than the op answers `error UNKNOWN_OP`, and counts each as a bad op
   * (a client fault: past limits.maxBadOps it closes the socket 4008 FLOOD, about 11
   * minutes into an idle stretch at one ping per 20 s). So the first such answer ends the
   * ping ops on that socket (onPingAnswer); the next socket tries again, as the gateway
   * behind the URL may have been upgraded meanwhile (one bad op per connection, far from
   * the limit). What is left to tell a quiet socket from a dead one there: every frame
   * received still counts (deliveries, notices, the answers to the app's own requests,
   * and a request written on a socket that then stays silent past its deadline drops it:
   * suspectSilence). The gateway's own WebSocket pings (at half its idle timeout) are
   * answered by the platform, which keeps the gateway's side right (it closes a dead
   * socket, and mail for it goes to the mailbox), but the standard API never shows them
   * to us, and no other op of an old gateway is answered both for free and without a
   * bad op (an empty send is BAD_REQUEST, a lookup costs the bus). Keeping the usual
   * idle timeout would then drop and reconnect a quiet, healthy socket about once a
   * minute; dropping none would leave a receive-only handset on a dead network deaf
   * until the platform notices, which can take very long. The middle: a socket of such a
   * gateway with nothing received for NO_PING_OP_IDLE_FACTOR idle timeouts (10 minutes
   * by default) is dropped and reconnected quietly (close 1006, reason "idle, gateway
   * without ping op"; the reconnect rotates, likely onto an upgraded gateway): a dead
   * socket is noticed within that bound, a quiet one costs one reconnect per 10 minutes
   * (the 4008 closes this replaces came every 11), and the gateway counts no flood.
   */
  private startPing(gen: number): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingReqs = new Set();
    this.pingOpRefused = false;
    const every = Math.max(50, Math.min(this.opts.pingIntervalMs, this.opts.idleTimeoutMs / 2));
    const viaOp = !this.transport.canPing;
    let receivedAtCheck = this.received;
    this.pingTimer = setInterval(() => {
      if (gen !== this.gen || !this.ws) return;
      const now = Date.now();
      const idleMs = this.pingOpRefused ? this.opts.idleTimeoutMs * NO_PING_OP_IDLE_FACTOR : this.opts.idleTimeoutMs;
      if (now - this.lastSeen > idleMs) {
        this.dropSocket(gen, 1006, this.pingOpRefused ? 'idle, gateway without ping op' : 'idle');
        return;
      }
      const quietSince = this.received === receivedAtCheck;
      receivedAtCheck = this.received;
      if (!viaOp) this.ws.ping?.();
      else if (quietSince && this.stateValue === 'connected' && !this.pingOpRefused) this.sendPingOp(this.ws);
    }, every);
    unrefTimer(this.pingTimer);
  }

  /** Writes a `ping` op at once, outside the request machinery: no deadline of its own
   *  (the idle timeout is its deadline) and no pending entry; its answer goes to
   *  onPingAnswer, and like any frame counts as something received. */
  private sendPingOp(ws: TransportSocket): void {
    if (ws.readyState !== OPEN) return;
    const req = this.allocReq();
    // Bounded: a ping goes out only after a check with nothing received, and the idle
    // timeout drops a socket that answers none of them.
    this.pingReqs.add(req);
    ws.send(frameOf([wire.Op.encode({ req, ping: {} }).finish()]));
  }

  /** The answer to one of this socket's ping ops: `ok`, or from a gateway older than the
   *  op `error UNKNOWN_OP`, after which this socket sends no more (startPing). Nothing
   *  is reported: a rolling upgrade is no fault of anyone's. */
  private onPingAnswer(op: OpProps): void {
    if (op.error?.code === ErrorCode.UNKNOWN_OP) this.pingOpRefused = true;
  }

  private clearSocketTimers(): void {
    for (const t of [this.connectTimer, this.authTimer, this.moveTimer, this.drainTimer]) if (t) clearTimeout(t);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.connectTimer = this.authTimer = this.moveTimer = this.drainTimer = this.pingTimer = null;
  }

  /** THE disconnect funnel: every socket end arrives here exactly once. */
  private onSocketGone(gen: number, code: number, closeReason: string): void {
    if (gen !== this.gen) return;
    const reason = closeReason || (code === 1006 ? this.localDrop : '');
    const refusedFor = this.authRetryAfter; // this socket's auth refusal, if any
    this.authRetryAfter = null;
    this.clearSocketTimers();
    this.ws = null;
    // A 4002 close while a resume (retryOnAuthFailed) written on this socket is still
    // unanswered is that resume's AUTH_FAILED, its answer unseen: told to the
    // authenticator as such, and, like an AUTH_FAILED answer to it, not final.
    const softRec = (r: PendingRequest) => r.retryOnAuthFailed && r.authGen === gen && r.sentOn === gen;
    if (code === CloseCode.AUTH_FAILED && [...this.pending.values()].some(softRec)) {
      this.softAuthFailedGen = gen;
      this.rejectAll(softRec, closeCodeError(code));
    }
    const softAuthFailed = code === CloseCode.AUTH_FAILED && this.softAuthFailedGen === gen;
    // With the close code and reason (the gateway's, e.g. 4001 auth timeout when a
    // registration's steps outlasted its auth deadline, or ours, 1006 idle): "connection
    // lost" alone told the user nothing of why.
    const lost = new HushwireError(ErrorCode.UNAVAILABLE, `connection lost (close ${code}${reason ? ` ${asciiReason(reason)}` : ''})`);
    // What was written on this socket may or may not have been processed: the caller
    // decides (a send retries with the same envelope ids, which the relay dedups).
    this.rejectAll((r) => r.sentOn === gen || r.authGen === gen, lost);
    if (this.stateValue === 'closed') return;

    if (this.opts.terminalCloseCodes.includes(code) && !softAuthFailed) {
      void this.shutdown(closeCodeError(code), null, '', { code, reason });
      return;
    }
    if (!this.everConnected && this.connectTries >= this.opts.connectAttempts) {
      // connect() gave up: tell its callers and whoever queued requests for it, and
      // go idle (a later connect() starts over).
      const last = this.lastFailure || (code === 1006 ? reason : `closed ${code}${reason ? ` ${reason}` : ''}`);
      const tried = `tried ${listUrls([...this.triedUrls])}`;
      const err = new HushwireError(ErrorCode.UNAVAILABLE, `no gateway reachable (${tried}${last ? `; last attempt: ${last}` : ''})`);
      this.rejectAll((r) => r.sentOn === 0, err);
      const waiters = this.connectWaiters;
      this.connectWaiters = [];
      this.setState('disconnected', { code, reason, error: err });
      for (const w of waiters) w.reject(err);
      return;
    }
    // A gateway that never got as far as a challenge is as good as gone: rotate too.
    if (this.rotateNext || ROTATE_CODES.has(code) || this.stateValue === 'connecting') {
      this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    }
    this.rotateNext = false;
    let delayMs = this.reconnectHintMs >= 0
      ? Math.floor(this.opts.random() * this.reconnectHintMs)
      : fullJitterDelay(this.attempt, this.opts.backoff, this.opts.random);
    if (code === CloseCode.CONNECTED_ELSEWHERE) {
      delayMs = Math.max(delayMs, Math.floor(this.opts.yieldMs * (1 + this.opts.random() / 2)));
    }
    // A gateway that refused the auth for now said when to come back: not sooner (another
    // gateway, the next in the list, is tried at the usual backoff).
    if (refusedFor !== null && refusedFor.url === this.url) delayMs = Math.max(delayMs, refusedFor.ms);
    // Both come from the gateway as uint32 ms (up to ~49.7 days): past setTimeout's range
    // a timer fires after 1 ms, which made "come back in a month" a reconnect at once,
    // every time, with no backoff (test/client/reconnect-delay-clamp.test.ts).
    delayMs = timerDelay(delayMs);
    this.reconnectHintMs = -1;
    this.attempt++;
    this.setState('disconnected', { code, reason, delayMs });
    this.reconnectTimer = setTimeout(() => this.openSocket(), delayMs);
  }

  private async shutdown(err: HushwireError | null, code: number | null, reason: string, closedBy: { code: number; reason: string } | null = null): Promise<void> {
    if (this.stateValue === 'closed') return;
    this.terminalError = err;
    // Acks queued this turn still go out: they spare the recipient a redelivery.
    if (err === null) this.flush();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.clearSocketTimers();
    const ws = this.ws;
    this.ws = null;
    this.gen++;
    // A terminal close code (4002, 4003, 4006) is passed on with the error, so an app
    // can tell a takeover from an opt-out without parsing the message.
    this.setState('closed', { ...(closedBy ?? {}), ...(err ? { error: err } : {}) });
    const closedErr = err ?? new HushwireError(ErrorCode.UNAVAILABLE, 'connection is closed');
    this.rejectAll(() => true, closedErr);
    this.waiting = [];
    this.ackIds = [];
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.reject(closedErr);
    if (ws && ws.readyState !== CLOSED) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 2000);
        void ws.closed.then(() => {
          clearTimeout(t);
          resolve();
        });
        if (code === null || ws.readyState === CONNECTING) ws.terminate();
        else ws.close(code, reason);
      });
    }
  }
}
