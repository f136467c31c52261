// One Session per WebSocket: the protocol state machine of docs/PROTOCOL.md.
//
//   challenge --(auth | register)--> authenticated --(close)--> closed
//
// A session holds only per-socket state (the challenge nonce, a pending verification,
// the device it authenticated as, envelopes handed to the device and not yet acked).
// Everything durable goes through the Relay to the Bus, so any gateway can serve any
// device. Outgoing ops are queued and written once per event-loop turn (one frame, one
// syscall, many ops), which is the main lever on socket cost.
import { randomBytes, randomInt, createHmac } from 'node:crypto';
import { pooledRandomBytes } from './crypto/random-pool.ts';
import {
  ROUTE_BYTES, DEVICE_BYTES,
  type Op, type OpProps, type Auth, type VerifyStart, type RegisterDevice, type Evaluate, type Lookup, type Send, type DeliverAck,
  type SetPrekey, type TicketRequest, type Unregister, type DirectoryDevice,
} from './wire.ts';
import { HushwireError, ErrorCode, CloseCode, toWireError } from './errors.ts';
import { routeTag, routeTagUncached, deviceToken } from './tokens.ts';
import { bytesEqual, hex, isBytes, latin1Slice } from './bytes.ts';
import { hexToBytes } from '@noble/hashes/utils.js';
import { verify, authInput, registerInput, prekeyInput, unregisterInput } from './crypto/sign.ts';
// The native Ed25519 engine (libsodium or OpenSSL) for every auth check, not noble's JS.
import './crypto/native.ts';
import { parseE164 } from './number.ts';
import { failureOf } from './verifier/verifier.ts';
import { evaluatorBatchRefusal, type EvaluatorResult } from './evaluator.ts';
import type { Socket } from '../gateway/transport/transport.ts';
import type { DeviceSubscription, ControlMessage, ControlSink, DirectoryReadOptions, LiveSink, MailboxItem } from './bus/bus.ts';
import { announcedRemoval } from './bus/unregistered.ts';
import { MAX_SEND_ONLY_PER_DEVICE, type Relay, type ReceiptProps } from './relay.ts';
import { closeCodeLabel, PATH_LABELS, PREKEY_ROTATION_OUTCOMES, type PrekeyRotationOutcome } from './metrics.ts';
import { LimitName } from './limiter.ts';
import { envelopeIdEnd, envelopeIdStart } from './relayed-envelope.ts';
import { setPrekey, checkPrekeyFields, takeSetPrekeyOp, giveBackSetPrekeyOp } from './prekey.ts';
import { decodeInbound, inEnvelopeOf, type InEnvelope, type InOp } from './frame-in.ts';
import { encodeChallengeFrame, encodeFrameOut, encodeSendResultOp, type OutItem } from './frame-out.ts';
import { dropResumeVerifier, hasResumeVerifier, recordResumeVerifier, resumeProofMatches, resumeVerifierNode } from './resume-tickets.ts';
import { RESUME_PROOF_BYTES, RESUME_PUBLIC_KEY_BYTES, ticketSecret } from './crypto/resume.ts';
import { x25519SharedSecret } from './crypto/x25519.ts';

type State = 'challenge' | 'authenticated' | 'closed';

interface PendingVerification {
  numberMac: string;
  code: string;
  expiresAt: number;
  attemptsLeft: number;
  /** A register compared a code with this one (wrong or right): its start keeps the
   *  number's charge even if the delivery then fails (#verifyStart). */
  tried: boolean;
  /** Set once a register with this code reached the directory write and failed there
   *  (UNAVAILABLE, TIMEOUT: the write may have landed) or after it (the device's
   *  subscription: the write landed): the device it was for (registration binding: device
   *  id, identity key and prekey as latin1), the only one the code may still register
   *  (#onRegister). '' while no write was tried. */
  boundTo: string;
  /** A directory write of the bound device succeeded (counted in registrations_total
   *  once, not again at the retry that finishes it). */
  written: boolean;
  /** The number's other devices were told of the bound device (its new-device notices,
   *  Privacy.announceNewDevice, went out): the retry that finishes the registration does
   *  not tell them twice. */
  announced: boolean;
}

/** The registration a register op asks for (or a directory record holds), as
 *  PendingVerification.boundTo keeps it. */
function registrationBinding(m: Pick<RegisterDevice, 'device' | 'identityKey' | 'prekey'>): string {
  return latin1Slice.call(m.device, 0, m.device.length)
    + latin1Slice.call(m.identityKey, 0, m.identityKey.length)
    + latin1Slice.call(m.prekey, 0, m.prekey.length);
}

/** An envelope handed to the device and waiting for its ack. */
interface InFlight {
  /** Called once: true when the device acked it, false when refused or timed out. */
  done: (acked: boolean) => void;
  /** performance.now() after which it counts as not acked (checked by Relay's in-flight sweep). */
  deadline: number;
  size: number;
  written: number;
  path: 'live' | 'mailbox';
}

const PER_PROCESS_MAC_KEY = randomBytes(32);
const NO_NONCE = new Uint8Array(0);
/** The in-flight map of every session with nothing in flight. Never written to: the one
 *  `set` (#handOver) swaps in a Map of the session's own first. */
const NO_INFLIGHT: Map<string, InFlight> = new Map();
/** The directory reads of an authentication (Bus.directoryGet: the request pool's reserve). */
const AUTH_READ: DirectoryReadOptions = { authentication: true };
const AUTH_RECHECK: DirectoryReadOptions = { authentication: true, fromLeader: true };
/** What recheckRegistered and #checkUnregistered hand #onControl when the device is gone. */
const UNREGISTERED: ControlMessage = Object.freeze({ kind: 'unregistered' });

/** The in-flight map's key for the envelope id b[start, end): its bytes as a latin1
 *  string (one character per byte: half the size of hex, and a copy instead of an
 *  encoding). Internal to this map only; never logged or sent anywhere. */
function idKey(b: Uint8Array, start: number, end: number): string {
  return latin1Slice.call(b, start, end);
}
/** The shared empty queue an idle session points at (frozen: a push onto it would be a
 *  bug, and throws). A session gets its own array with its first queued item and goes
 *  back to this one when the frame is written, so an idle device keeps no arrays for
 *  frames it is not writing (~32 B each, more once they have grown). */
const NONE: never[] = Object.freeze([]) as unknown as never[];
/** After a live hand-over failed, when to look at the mailbox again (the sender's
 *  gateway needs a moment to store the envelope). */
const REDRAIN_DELAY_MS = 1_000;
/** Envelope bytes handed to one device and not yet acked, past which the mailbox drain
 *  waits for acks: a healthy handset with a mailbox of large messages is fed at the pace
 *  it acks, instead of in one huge frame that overflows its send buffer (4004) on every
 *  reconnect (found by test/faults/slow-consumer.test.ts). One envelope always fits,
 *  whatever its size. Live deliveries are not held back: a handset that cannot keep up
 *  with them is a slow consumer (4004) and gets the rest from its mailbox, paced. */
const DELIVERY_WINDOW_BYTES = 256 * 1024;
/** Pages of a drain whose acknowledged items may still be being erased while the drain
 *  reads and hands over the next ones. An erasing delete costs nats-server 2.9 far more
 *  than reading and handing over a message (an fsync each; relay/bus/nats-privacy.ts),
 *  so with one page the drain of a large mailbox ran at the erase rate; the device now
 *  gets its mail first and the erases trail by up to this many pages (a drain still ends
 *  only when they are done). With drainBatch 256, at most 1,024 seqs per drain. */
const DRAIN_DELETE_PAGES = 4;
/** Label sets of the auth path's directory re-check (hushwire_auth_directory_rechecks_total). */
const RECHECK_ACCEPTED = { outcome: 'accepted' } as const;
const RECHECK_REFUSED = { outcome: 'refused' } as const;
/** Label sets of hushwire_auth_optout_checks_total, by the bus's verdict (#checkUnregistered). */
const OPTOUT_CHECK = {
  announced: Object.freeze({ outcome: 'announced' }),
  none: Object.freeze({ outcome: 'clear' }),
  unknown: Object.freeze({ outcome: 'reread' }),
  unconfirmed: Object.freeze({ outcome: 'reread' }),
} as const;
/** Session.#resumed once a ticket request on the resumed connection renewed its ticket. */
const RENEWED = '';
/** Label sets of hushwire_auth_resumes_total (docs/PROTOCOL.md, section 13). */
const RESUMED = { result: 'resumed' } as const;
const RESUME_REFUSED = { result: 'refused' } as const;
const RESUME_FAILED = { result: 'failed' } as const;
/** Ticket requests one connection may make (more: RATE_LIMITED). A device needs one per
 *  connection at most; each costs the gateway an X25519 exchange and a directory write
 *  (the ticket's verifier). */
export const MAX_TICKET_REQUESTS_PER_CONNECTION = 4;
/** retry_after_ms of a lookup or evaluate refused for the discovery work in flight. */
const DISCOVERY_RETRY_MS = 1_000;
/** retry_after_ms at least, of a verify_start refused for a transient reason before the
 *  verifier was asked to send anything (noCodeSent). */
export const VERIFY_NOT_SENT_RETRY_MS = 1_000;

/**
 * A verify_start that failed BEFORE the verifier was called (the code budget's or the
 * number's counter store unreachable or too slow, NATS lost, the OPRF evaluator down or
 * past its deadline), or at a verifier that certainly sent nothing (VerifierFailure
 * notSent: its bridge never reached, or refusing the request outright; the number's
 * charge given back): no code went out, so the handset may simply ask again. Such a
 * transient failure (UNAVAILABLE or TIMEOUT) is answered UNAVAILABLE, saying that no code
 * was sent, always with a retry_after_ms (at least VERIFY_NOT_SENT_RETRY_MS, or the
 * verifier's own: a bridge's Retry-After, a minute for a bridge refusing the gateway's
 * credentials: relay/verifier/webhook.ts refusalOf): the SDK sends verify_start again
 * only on such answers (client/register.ts). Refusals that are no fault of the relay
 * (RATE_LIMITED with its own retry_after_ms, BAD_NUMBER: also a bridge that will not send
 * to the number) are answered as they are. docs/PROTOCOL.md section 2.
 */
function noCodeSent(e: unknown): unknown {
  if (!(e instanceof HushwireError) || (e.code !== ErrorCode.UNAVAILABLE && e.code !== ErrorCode.TIMEOUT)) return e;
  return new HushwireError(ErrorCode.UNAVAILABLE, `${e.message}; no verification code was sent`,
    { cause: e, retryAfterMs: Math.max(e.retryAfterMs, VERIFY_NOT_SENT_RETRY_MS) });
}

/** A verify_start that failed once the verifier had been called, short of a certain
 *  notSent: the SMS may have gone out (a timeout, a 5xx, a connection dropped after the
 *  request), so the answer never carries a retry_after_ms, whatever the verifier threw,
 *  and a handset must not send verify_start again on its own (it would send a second
 *  SMS). docs/PROTOCOL.md section 2. */
function codeMayHaveGone(e: unknown): unknown {
  if (!(e instanceof HushwireError) || !(e.retryAfterMs > 0)) return e;
  return new HushwireError(e.code, e.message, { cause: e });
}

/** The body of every `ok` answer to a ping (empty; shared, never written to). */
const OK_BODY = Object.freeze({});
/** Sessions with a set_prekey under way (one at a time per connection): a set kept
 *  beside the sessions rather than a field of each, which every idle device would carry. */
const SETTING_PREKEY = new WeakSet<object>();
/** A new-device notice (its at_ms) that reached a session's subscription before the
 *  session was authenticated (#becomeAuthenticated subscribes first): shown, and only then
 *  cleared, once it is (#showHeldNotice). Beside the sessions, as SETTING_PREKEY: rare. */
const HELD_NOTICES = new WeakMap<object, number>();

/** A register's directory write that may have landed (tried: its answer may have been
 *  lost) while its registration has not finished: removed from the directory when the
 *  connection closes first (Session #eraseUnfinished, Privacy.eraseUnfinished). */
interface UnfinishedWrite {
  tag: string;
  device: Uint8Array;
  /** registrationBinding of the device written. */
  binding: string;
  /** registeredAtMs of each write tried (a retry writes again, with its own time). */
  stamps: number[];
  /** A write of it is under way: the removal waits for it to settle. */
  writing: boolean;
  /** A write of it got no answer (UNAVAILABLE, TIMEOUT): it may land later, so the
   *  removal looks again for a device it found absent (Privacy.eraseUnfinished). */
  unknown: boolean;
}
/** The unfinished writes of a connection (#onRegister), beside the sessions as
 *  HELD_NOTICES: rare, so an idle session carries no field for them. */
const UNFINISHED = new WeakMap<object, UnfinishedWrite[]>();
/** Label sets of hushwire_prekey_rotations_total, one per outcome. */
const PREKEY_OUTCOME = Object.fromEntries(PREKEY_ROTATION_OUTCOMES.map((o) => [o, Object.freeze({ outcome: o })])) as Record<PrekeyRotationOutcome, { outcome: string }>;

export class Session implements LiveSink, ControlSink {
  readonly socket: Socket;
  readonly conn: number;
  #relay: Relay;
  #state: State = 'challenge';
  /** Random id of this connection, sent in its "kick" control message; set when it
   *  authenticates (only authenticated connections kick or are kicked). */
  #connectionId = '';
  /** The challenge nonce; dropped once authenticated (NO_NONCE), so an idle device's
   *  session keeps no buffer for it. */
  #nonce: Uint8Array;
  #authTimer: NodeJS.Timeout | null;
  #verification: PendingVerification | null = null;
  /** This socket holds one of the gateway's slots for sockets waiting for a code
   *  (relay/verify-gate.ts); given back only by #leavePending. */
  #pendingSlot = false;
  /** #authTimer is the code's expiry (verifyCodeTtlMs), not the short auth deadline. */
  #codeDeadline = false;
  /** verify_starts of this socket being charged or delivered: the socket keeps its slot
   *  while one is, even with no code set yet (#onVerifyStart's finally). */
  #startsInFlight = 0;
  #tag = '';
  #devTok = '';
  /** `<tag>.<devTok>`: keys this device's send-rate bucket. */
  #senderKey = '';
  #sub: DeviceSubscription | null = null;
  /** NO_INFLIGHT (shared, always empty) until the first hand-over, and again once the
   *  Relay's sweep finds nothing in flight: an idle device keeps no Map of its own
   *  (~170 B each with its table, bench/heap-diff.ts). */
  #inflight: Map<string, InFlight> = NO_INFLIGHT;
  #inflightBytes = 0;
  /** Drains waiting for room in the delivery window (woken by every settle). */
  #windowWaiters: (() => void)[] = NONE;
  /** This turn's ops (relay/frame-out.ts OutItem: a send's single receipt is its req
   *  then the receipt, two items). */
  #outOps: OutItem[] = NONE;
  #outEnvelopes: Uint8Array[] = NONE;
  #flushScheduled = false;
  #badOps = 0;
  #unregistering = false;
  /** Discovery work of this connection in flight (#discovery). */
  #discoveryInFlight = 0;
  #busy = false; // an auth/register is in progress
  #verifyStarts = 0;
  #registeredAtMs = 0; // of the authenticated device: starts its first-sync discovery budget
  /** The identity key of the record the device authenticated (or registered) with: with
   *  #registeredAtMs, the registration a ticket_request must still find (#onTicketRequest).
   *  Kept as a latin1 string (one character per byte, a copy: relay/bytes.ts latin1Slice):
   *  the decoded key is a view into the whole frame or directory entry it came in, which
   *  every idle connection would otherwise keep alive (+600 B per device in the idle
   *  bench). '' until authenticated. */
  #identityKey = '';
  /** Authenticated with Auth.send_only (docs/PROTOCOL.md, "Send-only connections"): no
   *  kick, no device subscription, no mailbox drain, no notices; acks are refused. */
  #sendOnly = false;
  /** `<tag>.<devTok>` once this send-only session holds one of its device's slots on
   *  this gateway (Relay.takeSendOnlySlot), else ''. */
  #sendOnlyKey = '';
  /** Resumption (docs/PROTOCOL.md, section 13), one small integer for both states rather
   *  than two fields every idle device would carry: before authentication, 1 once an
   *  auth with a ticket was tried (one per connection); once authenticated, the ticket
   *  requests made (#authenticated() starts it at 0). */
  #tickets = 0;
  /** Authenticated with a resumption ticket, not a signature (null: signed): its
   *  `unregister` must carry the identity key's signature (an opt-out never rests on the
   *  ticket keys alone). The verifier of that ticket (its 16 bytes as a latin1 string:
   *  ~32 bytes of heap per resumed connection, where a Buffer costs several times that)
   *  until a ticket request on this connection renews it (its verifier then replaces this
   *  one in the record, and this becomes RENEWED). */
  #resumed: string | null = null;

  constructor(relay: Relay, socket: Socket) {
    this.#relay = relay;
    this.socket = socket;
    this.conn = socket.id;
    this.#nonce = pooledRandomBytes(32);
    const limits = relay.limits;
    this.#authTimer = setTimeout(() => this.close(CloseCode.AUTH_TIMEOUT, 'auth timeout'), limits.authTimeoutMs);
    this.#authTimer.unref?.();
    // Written at once, not queued for the turn's flush: the transport calls this from
    // its open callback, where uWS corks, so the challenge leaves in the same write as
    // the upgrade response (one syscall and one setImmediate less per connection). A
    // socket that refused it closes by itself; the auth timer ends the session then.
    const outcome = socket.send(encodeChallengeFrame(this.#nonce, Date.now(), relay.challengeTail()));
    if (outcome === 'ok') relay.metrics.framesOut.inc();
    else if (outcome === 'dropped') relay.metrics.sendDrops.inc();
  }

  get state(): State {
    return this.#state;
  }

  /** A method, not a comparison in place: TypeScript would keep a loop's earlier
   *  narrowing of #state, which the loop's own calls may change. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  /** As #isClosed: for a check after an await, where TypeScript keeps the narrowing. */
  #isAuthenticated(): boolean {
    return this.#state === 'authenticated';
  }

  get authenticated(): boolean {
    return this.#state === 'authenticated';
  }

  /** Authenticated send-only (Auth.send_only): it takes nothing for the device. */
  get sendOnly(): boolean {
    return this.#sendOnly;
  }

  /** The key of the send-only slot this session holds (Relay.onSessionClosed gives it
   *  back), '' if none. */
  get sendOnlyKey(): string {
    return this.#sendOnlyKey;
  }

  /** The device this connection authenticated as (relay/privacy/privacy.ts). */
  get deviceKey(): { tag: string; devTok: string; device: Uint8Array } | null {
    const device = this.#deviceBytes();
    return device === null || this.#tag === '' ? null : { tag: this.#tag, devTok: this.#devTok, device };
  }

  /** The device id, rebuilt from its token when needed (notices, last_seen, opt-out:
   *  rare). An idle session keeps only the two 32-char tokens, no Uint8Array view (a
   *  view kept the whole auth frame's buffer alive: ~400 B per idle device). */
  #deviceBytes(): Uint8Array | null {
    return this.#devTok === '' ? null : hexToBytes(this.#devTok);
  }

  /** Queues an unsolicited notice op (e.g. another device registered this number). */
  notify(kind: 'new_device', atMs: number): void {
    if (this.#state === 'authenticated' && !this.#sendOnly) this.#queue({ req: 0, notice: { kind, atMs } });
  }

  // ---------------------------------------------------------------- inbound

  /** A complete binary frame from the socket (already a private copy). */
  onFrame(data: Uint8Array): void {
    if (this.#state === 'closed') return;
    let ops: InOp[];
    try {
      // The whole frame is checked before any op runs (relay/frame-in.ts).
      // Past the frame's op limit each op is a bad op: after maxBadOps + 1 of them the
      // socket is closed, so no more are needed.
      ops = decodeInbound(data, this.#relay.limits.maxOpsPerFrame, this.#relay.limits.maxBadOps + 1);
    } catch {
      this.#relay.metrics.errors.inc({ code: ErrorCode.BAD_FRAME });
      this.close(CloseCode.BAD_FRAME, 'undecodable frame');
      return;
    }
    if (ops.length === 0) {
      this.#fail(0, new HushwireError(ErrorCode.BAD_FRAME, 'frame has no ops'));
      return;
    }
    const max = this.#relay.limits.maxOpsPerFrame;
    // The clocks of the frame's sends, read at its first send (acceptInboundCb says why).
    let mono = -1;
    let wall = 0;
    for (let i = 0; i < ops.length; i++) {
      // An op that closed the socket (4008 FLOOD, 4002) ends the frame: what follows
      // would only be refused one by one (a frame of 100,000 tiny ops cost ~1 s of CPU).
      if (this.#isClosed()) return;
      const op = ops[i] as InOp;
      if (i >= max || op.kind === 'excess') {
        this.#fail(op.req, new HushwireError(ErrorCode.BAD_REQUEST, `at most ${max} ops per frame`));
        continue;
      }
      // The two hot ops arrive decoded by hand, synchronously; the rest as generated ops.
      if (op.kind === 'ack') {
        if (this.#state !== 'authenticated') this.#fail(op.req, notAuthenticated());
        else if (this.#sendOnly) this.#fail(op.req, sendOnlyAck());
        else this.#onDeliverAckIn(op.data, op.ids);
      } else if (op.kind === 'send') {
        if (mono < 0) {
          mono = performance.now();
          wall = Date.now();
        }
        this.#send(op.req, op.envelopes, mono, wall);
      } else {
        this.#dispatch(op.op);
      }
    }
  }

  #send(req: number, envelopes: InEnvelope[], mono: number, wall: number): void {
    if (this.#state !== 'authenticated') return this.#fail(req, notAuthenticated());
    this.#onSend(req, envelopes, mono, wall);
  }

  #dispatch(op: Op): void {
    const req = (op.req ?? 0) >>> 0;
    const body = op.body;
    // deliver_ack is the hot path: handle it synchronously, no promise.
    if (body === 'deliverAck') {
      if (this.#state !== 'authenticated') return this.#fail(req, notAuthenticated());
      if (this.#sendOnly) return this.#fail(req, sendOnlyAck());
      this.#onDeliverAck((op.deliverAck as DeliverAck).ids);
      return;
    }
    let p: Promise<void>;
    switch (body) {
      case 'auth':
        p = this.#onAuth(req, op.auth as Auth);
        break;
      case 'verifyStart':
        p = this.#onVerifyStart(req, op.verifyStart as VerifyStart);
        break;
      case 'register':
        p = this.#onRegister(req, op.register as RegisterDevice);
        break;
      case 'evaluate':
        p = this.#authed(req, () => this.#onEvaluate(req, op.evaluate as Evaluate));
        break;
      case 'lookup':
        p = this.#authed(req, () => this.#onLookup(req, op.lookup as Lookup));
        break;
      case 'send':
        // a send the fast decoder handed over (extra fields in its op): its envelopes,
        // decoded by the generated code, re-read as offsets (the rare path)
        return this.#send(req, (op.send as Send).envelopes.map((e) => inEnvelopeOf(e)), performance.now(), Date.now());
      case 'unregister':
        p = this.#authed(req, () => this.#onUnregister(req, op.unregister as Unregister | null | undefined));
        break;
      case 'setPrekey':
        p = this.#authed(req, () => this.#onSetPrekey(req, op.setPrekey as SetPrekey));
        break;
      case 'ticketRequest':
        p = this.#authed(req, () => this.#onTicketRequest(req, op.ticketRequest as TicketRequest));
        break;
      case 'ping':
        // Liveness for clients whose WebSocket API cannot ping (docs/PROTOCOL.md, section 10):
        // answered in any state, synchronously, in this turn's frame; nothing else is
        // touched (no bus, no timer: it does not extend the auth deadline). A flood of
        // pings meets the limits every op does (maxOpsPerFrame, then maxBadOps: 4008).
        this.#queue({ req, ok: OK_BODY });
        return;
      default:
        // Unknown field numbers, an empty oneof, or a server-only op sent by a client.
        this.#fail(req, new HushwireError(ErrorCode.UNKNOWN_OP, 'unknown or server-only op'));
        return;
    }
    p.catch((e) => this.#fail(req, e));
  }

  async #authed(req: number, fn: () => Promise<void>): Promise<void> {
    if (this.#state !== 'authenticated') return this.#fail(req, notAuthenticated());
    return fn();
  }

  // ---- opt-in

  async #onVerifyStart(req: number, m: VerifyStart): Promise<void> {
    if (this.#state !== 'challenge') throw new HushwireError(ErrorCode.ALREADY_AUTHENTICATED, 'already authenticated');
    // An auth or register under way would make this start moot (and, done first, left it
    // unanswered): refused like a second auth, before a code is charged or sent.
    if (this.#busy) throw new HushwireError(ErrorCode.BAD_REQUEST, 'authentication already in progress');
    // Counted before anything is computed: each start costs a route (OPRF) before the
    // per-number budget applies. A handset needs one, or a few to resend a code.
    if (++this.#verifyStarts > this.#relay.limits.maxVerifyStartsPerConnection) {
      this.#queue({ req, error: { code: ErrorCode.RATE_LIMITED, message: 'too many verification starts on this connection' } });
      this.#relay.metrics.errors.inc({ code: ErrorCode.RATE_LIMITED });
      this.close(CloseCode.FLOOD, 'too many verification starts');
      return;
    }
    const number = parseE164(m.number);
    // Two starts of one socket may overlap (sent together, or a resend before the first
    // was answered): whichever ends last without a code leaving gives the slot back.
    this.#startsInFlight++;
    try {
      await this.#verifyStart(req, number);
    } finally {
      if (--this.#startsInFlight === 0 && this.#verification === null) this.#leavePending();
    }
  }

  async #verifyStart(req: number, number: string): Promise<void> {
    const gate = this.#relay.verifyGate;
    // This gateway's own bounds (relay/verify-gate.ts), before anything is charged or
    // sent: a slot among the sockets waiting for a code (one per socket, kept across its
    // resends), then a code from the code budget (the cluster's, or with
    // --verify-start-scope gateway this gateway's). A refusal cost nothing, so it does
    // not count against this connection's starts; the socket keeps its auth deadline.
    // (A start that ends without a code gives the slot back, unless another start of the
    // socket is still under way or an earlier code still waits: #onVerifyStart.)
    if (!this.#pendingSlot) {
      try {
        gate.reserve();
      } catch (e) {
        this.#verifyStarts--;
        throw e;
      }
      this.#pendingSlot = true;
    }
    let budgetToken: { shared: boolean };
    try {
      budgetToken = await gate.takeCode();
    } catch (e) {
      this.#verifyStarts--;
      throw noCodeSent(e);
    }
    // Per-number budget shared by all gateways, keyed by the number's route tag. Charged
    // before the code goes out, so concurrent starts cannot exceed it.
    let refund: () => Promise<boolean>;
    try {
      refund = await this.#relay.privacy.chargeVerifyStart(number);
    } catch (e) {
      // Not charged (the number's budget is spent, or the counter store or the OPRF
      // evaluator failed): no code goes out, so the gateway's budget gets its code back
      // too, and the answer says to try again (noCodeSent).
      gate.giveBackCode(budgetToken);
      throw noCodeSent(e);
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const limits = this.#relay.limits;
    // The session remembers only a keyed MAC of the number, never the number itself.
    const mine: PendingVerification = {
      numberMac: macNumber(number),
      code,
      expiresAt: Date.now() + limits.verifyCodeTtlMs,
      attemptsLeft: limits.verifyAttempts,
      tried: false,
      boundTo: '',
      written: false,
      announced: false,
    };
    this.#verification = mine;
    let r: { devCode?: string };
    try {
      r = await this.#relay.verifier.deliver(number, code);
    } catch (e) {
      // A code that did not go out (as far as the gateway can tell) must not stay
      // guessable: with its start refunded, it would give free register attempts against
      // the number (5 per start, starts no longer counted) during a bridge outage. The
      // socket gives back its pending slot and returns to the short auth deadline
      // (#onVerifyStart), unless a resend made since holds a code of its own.
      if (this.#verification === mine) this.#verification = null;
      // The bridge refused or was never reached: no SMS went out, so the number gets its
      // charge back, or an outage of the SMS bridge would lock numbers out for a day.
      // Anything that may have come after the bridge sent it (no answer in time, a 502
      // from its proxy, a dropped connection) keeps the charge: refunding those would let
      // a slow bridge (or whoever slows it) send codes past the budget, which is what the
      // budget stops (SMS pumping). If a refund fails, the charge simply stays too.
      // And a code that registers were already tried against (the code is pending while
      // the bridge answers) keeps it too: those guesses must be paid for, or a bridge
      // slow to refuse would give 5 free guesses per start, starts no longer counted
      // (test/privacy/optin-guess-during-delivery.test.ts).
      const { notSent } = failureOf(e);
      if (notSent) gate.giveBackCode(budgetToken);
      const refundResult = notSent && !mine.tried ? ((await refund()) ? 'refunded' : 'kept') : 'withheld';
      this.#relay.verifierWatch.failed(e, refundResult);
      // Certainly not sent (the verifier says so: its bridge never reached, or it refused
      // the request outright): answered as a failure before the verifier is, with a
      // retry_after_ms, so the handset asks again (no second SMS can follow: there was no
      // first). Anything else may have sent the code: no retry_after_ms.
      throw notSent ? noCodeSent(e) : codeMayHaveGone(e);
    }
    this.#relay.verifierWatch.delivered();
    // Authenticated meanwhile (an auth sent after this start): the code went out but is
    // of no use on this socket; answered all the same (every request gets an answer).
    if (this.#isAuthenticated()) throw new HushwireError(ErrorCode.ALREADY_AUTHENTICATED, 'already authenticated');
    if (this.#state !== 'challenge') return;
    // The person now reads an SMS and types the code: the socket that holds the pending
    // verification stays open until the code expires instead of the short auth deadline,
    // counted among the gateway's pending verifications. (A code voided meanwhile, e.g.
    // by wrong codes sent while it was being delivered, gave its slot back: then no.)
    if (this.#pendingSlot && this.#verification !== null) {
      this.#armAuthTimer(limits.verifyCodeTtlMs, 'verification expired');
      this.#codeDeadline = true;
    }
    this.#queue({
      req,
      verifyStarted: { expiresInS: Math.floor(limits.verifyCodeTtlMs / 1000), devCode: r.devCode ?? '' },
    });
  }

  async #onRegister(req: number, m: RegisterDevice): Promise<void> {
    if (this.#state !== 'challenge') throw new HushwireError(ErrorCode.ALREADY_AUTHENTICATED, 'already authenticated');
    if (this.#busy) throw new HushwireError(ErrorCode.BAD_REQUEST, 'authentication already in progress');
    const number = parseE164(m.number);
    const v = this.#verification;
    if (!v || Date.now() > v.expiresAt || v.numberMac !== macNumber(number)) {
      this.#leavePending();
      throw new HushwireError(ErrorCode.VERIFY_FAILED, 'no pending verification for this number, or it expired');
    }
    v.tried = true;
    if (typeof m.code !== 'string' || !timingSafeStringEqual(m.code, v.code)) {
      v.attemptsLeft--;
      if (v.attemptsLeft <= 0) this.#leavePending(); // void: back to the short auth deadline
      throw new HushwireError(ErrorCode.VERIFY_FAILED, 'wrong verification code');
    }
    if (!isBytes(m.device, DEVICE_BYTES)) throw new HushwireError(ErrorCode.BAD_TOKEN, `device must be ${DEVICE_BYTES} bytes`);
    if (!isBytes(m.identityKey, 32) || !isBytes(m.prekey, 32)) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'identity_key and prekey must be 32 bytes');
    }
    if (!isBytes(m.prekeySignature, 64) || !isBytes(m.signature, 64) || !isBytes(m.blinded, 32)) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'signatures must be 64 bytes and blinded 32 bytes');
    }
    if (!verify(m.identityKey, prekeyInput(m.prekey), m.prekeySignature)
      || !verify(m.identityKey, registerInput(this.#nonce, m.device, m.identityKey, m.prekey), m.signature)) {
      this.#relay.metrics.authFailures.inc();
      throw new HushwireError(ErrorCode.AUTH_FAILED, 'registration signature did not verify');
    }
    // A code whose directory write failed, and may have landed (its answer lost), or
    // whose registration failed after its write (the device's subscription), is good
    // again only for that same device and keys: written twice, that is still one
    // registration; another device would make the one code register two.
    const binding = registrationBinding(m);
    if (v.boundTo !== '' && v.boundTo !== binding) {
      throw new HushwireError(ErrorCode.VERIFY_FAILED, 'this code was used for a registration that did not finish: it can only finish that registration (the same register again), not register another device');
    }
    this.#verification = null; // one code, one registration
    this.#busy = true;
    try {
      const relay = this.#relay;
      let route: Uint8Array;
      let evaluation: Awaited<ReturnType<typeof relay.evaluator.evaluate>>;
      try {
        // Both go to the OPRF evaluator(s): in parallel, one round trip.
        [route, evaluation] = await Promise.all([relay.evaluator.routeForNumber(number), relay.evaluator.evaluate([m.blinded])]);
      } catch (e) {
        // The evaluator was down, busy or too slow (its request, or the work on the pool's
        // thread, past its deadline: TIMEOUT), not the code wrong: nothing was checked
        // but the code, so it stays good for a retry on this socket (same expiry, same
        // attempts left; test/gateway/register-timeout.test.ts).
        const code = toWireError(e).code;
        if ((code === ErrorCode.UNAVAILABLE || code === ErrorCode.RATE_LIMITED || code === ErrorCode.TIMEOUT) && this.#state === 'challenge') this.#verification = v;
        throw e;
      }
      // Closed while the evaluator answered: nothing is written for a registration that
      // can no longer finish.
      if (this.#isClosed()) return;
      const tag = routeTag(route);
      const now = Date.now();
      // From here the device may be in the directory until the registration finishes: a
      // connection that closes first has it removed (#eraseUnfinished).
      const unfinished = this.#unfinishedWrite(tag, m, binding);
      unfinished.stamps.push(now);
      unfinished.writing = true;
      relay.registerWriteStarted();
      try {
        await relay.directory.upsertDevice(tag, {
          device: m.device, identityKey: m.identityKey, prekey: m.prekey,
          prekeySignature: m.prekeySignature, registeredAtMs: now, lastSeenMs: now,
        });
      } catch (e) {
        // The directory down, busy or too slow (UNAVAILABLE, TIMEOUT): the code is not used
        // up, so the handset retries on this socket (same expiry, same attempts left)
        // instead of asking for another SMS. The write may have landed with its answer
        // lost: then the device is registered, and the code stays bound to it
        // (boundTo), so that the retry writes the same device again (replacing itself in
        // the record: one registration) and nothing else can use the code. A refusal
        // (TOO_MANY_DEVICES) uses it up, as before (test/gateway/register-directory.test.ts).
        const code = toWireError(e).code;
        if (code === ErrorCode.UNAVAILABLE || code === ErrorCode.TIMEOUT) unfinished.unknown = true;
        if ((code === ErrorCode.UNAVAILABLE || code === ErrorCode.TIMEOUT) && this.#state === 'challenge') {
          v.boundTo = binding;
          this.#verification = v;
        }
        throw e;
      } finally {
        unfinished.writing = false;
        // Closed while the write was under way: its device goes now that it has settled.
        // (Its removal is counted before the write stops being: a gateway's close waiting
        // for both, Relay.settleUnfinished, never sees neither in between.)
        try {
          this.#eraseUnfinished();
        } finally {
          relay.registerWriteEnded();
        }
      }
      // Closed meanwhile: nothing finishes the registration, and the device is being
      // removed (#eraseUnfinished): neither counted nor announced.
      if (this.#isClosed()) return;
      // From here the device is in the directory: whatever fails now (the device's
      // subscription or its kick on the bus: UNAVAILABLE, TIMEOUT) leaves the code bound
      // to it, so the handset's retry on this socket writes the same device again and
      // finishes the registration (the SDK sends the same register again) instead of
      // leaving it listed with keys nobody holds until its idle expiry, and the person
      // asking for another SMS (test/gateway/register-directory.test.ts).
      v.boundTo = binding;
      if (!v.written) relay.metrics.registrations.inc();
      v.written = true;
      try {
        // The number's other devices hear of this one (now if connected, else on next
        // auth): once per registration. A retry after a later failure does not tell them
        // again: a live notice names no device, so a second one would show as a second
        // new device (the SDK hands every notice to onNotice). One whose notice failed
        // is told at the retry.
        if (!v.announced) {
          await relay.privacy.announceNewDevice(tag, m.device, now).then(
            () => { v.announced = true; },
            (e: unknown) => relay.warnRepeated('new-device notice failed', { conn: this.conn, err: toWireError(e).code }),
          );
        }
        this.#registeredAtMs = now;
        this.#identityKey = latin1Slice.call(m.identityKey, 0, m.identityKey.length);
        if (this.#state !== 'challenge') return; // closed meanwhile
        await this.#becomeAuthenticated(tag, m.device);
        if (!this.#isAuthenticated()) return; // closed meanwhile (#becomeAuthenticated)
      } catch (e) {
        if (this.#state === 'challenge') this.#verification = v;
        throw e;
      }
      this.#queue({ req, registered: { route, evaluation } });
      this.#showHeldNotice();
      this.#startMailboxDrain();
    } finally {
      this.#busy = false;
      // Failed with the code used up (too many devices): nothing waits for a code on
      // this socket any more. (Registered: left at authentication; the evaluator, the
      // directory write or the device's subscription after it down: the code was kept
      // for a retry.)
      if (this.#state === 'challenge' && this.#verification === null) this.#leavePending();
    }
  }

  // ---- authentication

  async #onAuth(req: number, m: Auth): Promise<void> {
    if (this.#state !== 'challenge') throw new HushwireError(ErrorCode.ALREADY_AUTHENTICATED, 'already authenticated');
    if (this.#busy) throw new HushwireError(ErrorCode.BAD_REQUEST, 'authentication already in progress');
    // Resumption (docs/PROTOCOL.md, section 13): a ticket and a proof instead of a signature.
    const resuming = isBytes(m.ticket) && m.ticket.length > 0;
    if (!isBytes(m.route, ROUTE_BYTES) || !isBytes(m.device, DEVICE_BYTES)
      || (resuming
        // one resume per connection, never both proofs. A ticket of another length is not
        // refused here: tickets are opaque to the device, so one of a format this gateway
        // does not know (a newer gateway's, in a rolling upgrade) must cost the device a
        // signature (RESUME_REFUSED below: open() opens nothing but its own format), not
        // its client (SDKs before 2f319fe took an AUTH_FAILED to a resume as final; today's
        // forgets its tickets and signs on a new connection: a round trip and a reconnect).
        ? this.#tickets !== 0 || (isBytes(m.signature) && m.signature.length > 0) || !isBytes(m.proof, RESUME_PROOF_BYTES)
        : !isBytes(m.signature, 64))) {
      return this.#authFailed(req);
    }
    if (resuming) this.#tickets = 1;
    this.#busy = true;
    /** The verifier of the ticket this auth resumed with. */
    let resumedWith: Uint8Array | null = null;
    try {
      const tag = routeTagUncached(m.route);
      // Announcements of devices leaving the directory from here on count against this
      // authentication (#checkUnregistered).
      const mark = this.#relay.bus.unregisteredMark();
      // `authentication`: on NATS these reads may use the request pool's reserve, so
      // other devices' traffic (stored sends, lookups) cannot make logins fail.
      let dev = await this.#relay.directory.findDevice(tag, m.device, AUTH_READ);
      if (resuming) {
        // Opened only with the identity key the directory holds now: an erased device or a
        // new key has no ticket that opens. And honoured only while the record holds its
        // secret's verifier (written when it was issued, at most 4 kept, none carried over a
        // re-registration): a ticket sealed with a ticket key alone, for a secret of the
        // sealer's choosing, has none. Whatever the reason (unknown device included: no
        // existence oracle), the device is told to sign, on this same connection.
        // The verifier covers the whole ticket (its expiry included), not the secret alone:
        // a secret taken from a device, sealed again with a later expiry by a ticket key,
        // has none (test/gateway/resume-reseal.test.ts).
        const tickets = this.#relay.resume?.tickets;
        const devTok = deviceToken(m.device);
        let secret = dev && tickets ? tickets.open(m.ticket, tag, devTok, dev.identityKey) : null;
        let verifier = secret === null ? null : resumeVerifierNode(m.ticket, secret);
        if (tickets && (dev === null || (verifier !== null && !hasResumeVerifier(dev.resumeVerifiers, verifier)))) {
          // The device unknown, or the ticket opens but its verifier is not in the record:
          // the ordinary read may come from a replica that has not seen the registration
          // or the verifier of a ticket issued a moment ago (nats-server < 2.9.17 answers
          // direct gets from any replica), which would cost the device a refusal and a
          // signature. Read once more at the leader, as a refused signature is. (A ticket
          // that does not open for the record read is not re-read: the replica's lag
          // changes nothing there but a new identity key.)
          secret?.fill(0);
          dev = await this.#relay.directory.findDevice(tag, m.device, AUTH_RECHECK);
          secret = dev ? tickets.open(m.ticket, tag, devTok, dev.identityKey) : null;
          verifier = secret === null ? null : resumeVerifierNode(m.ticket, secret);
          const found = verifier !== null && hasResumeVerifier(dev!.resumeVerifiers, verifier);
          this.#relay.metrics.authRechecks.inc(found ? RECHECK_ACCEPTED : RECHECK_REFUSED);
        }
        if (secret === null || verifier === null || !hasResumeVerifier(dev!.resumeVerifiers, verifier)) {
          secret?.fill(0);
          this.#relay.metrics.authResumes.inc(RESUME_REFUSED);
          throw resumeRefused();
        }
        const ok = resumeProofMatches(secret, this.#nonce, m.route, m.device, m.proof);
        secret.fill(0);
        resumedWith = verifier;
        if (!ok) {
          // Answered as a ticket that does not open (counted apart): the holder of a real
          // ticket without its secret learns nothing (not whether the device is still
          // registered), and a device whose secret and ticket disagree (a bug, a mixed-up
          // store) signs on this connection instead of reconnecting (older SDKs were ended by
          // an AUTH_FAILED here).
          this.#relay.metrics.authResumes.inc(RESUME_FAILED);
          throw resumeRefused();
        }
      } else {
        const input = authInput(this.#nonce, m.route, m.device);
        if (!dev || !verify(dev.identityKey, input, m.signature)) {
          // A replicated directory may have answered from a replica that has not seen a
          // registration (or new key) of a moment ago; the SDK takes AUTH_FAILED as final,
          // so look once more at the leader before refusing (a single copy: the same read).
          dev = await this.#relay.directory.findDevice(tag, m.device, AUTH_RECHECK);
          // Unknown device and wrong signature answer alike: no existence oracle.
          if (!dev || !verify(dev.identityKey, input, m.signature)) {
            this.#relay.metrics.authRechecks.inc(RECHECK_REFUSED);
            return this.#authFailed(req);
          }
          this.#relay.metrics.authRechecks.inc(RECHECK_ACCEPTED);
        }
      }
      if (this.#state !== 'challenge' || dev === null) return;
      if (m.sendOnly === true) {
        if (!this.#becomeSendOnly(req, tag, m.device)) return;
      } else {
        await this.#becomeAuthenticated(tag, m.device);
      }
      // Closed while it subscribed (its socket gone, a newer connection of the device took
      // over): it was shown nothing, so it clears nothing. The pending notice stays for
      // the next connection (test/privacy/notice-race.test.ts); before, onAuthenticated
      // below cleared it unseen.
      if (!this.#isAuthenticated()) return;
      if (!this.#sendOnly && !this.#checkUnregistered(tag, mark)) return;
      // Counted once it authenticated: a fifth send-only connection refused RATE_LIMITED,
      // or one closed meanwhile, did not resume.
      if (resumedWith !== null && this.#isAuthenticated()) {
        this.#resumed = latin1Slice.call(resumedWith, 0, resumedWith.length);
        this.#relay.metrics.authResumes.inc(RESUMED);
      }
      this.#queue({ req, ok: {} });
      this.#registeredAtMs = Number(dev.registeredAtMs);
      this.#identityKey = latin1Slice.call(dev.identityKey, 0, dev.identityKey.length);
      // A pending new-device notice, and last_seen (which keeps the device from expiring).
      const write = this.#relay.privacy.onAuthenticated(this, dev);
      if (write !== null) void write.catch((e: unknown) => this.#relay.warnRepeated('post-auth directory update failed', { conn: this.conn, err: toWireError(e).code }));
      this.#showHeldNotice();
      if (!this.#sendOnly) this.#startMailboxDrain();
    } finally {
      this.#busy = false;
    }
  }

  /** Now that the device's subscription is in place: an opt-out (or idle expiry) that
   *  removed the device after this authentication's read began, and sent its
   *  `unregistered` message before nats-server had this connection's SUB, reached
   *  nothing here, and the connection would stay, authenticated as a device no longer
   *  registered (test/privacy/optout-auth-race.test.ts). Every such removal is also
   *  announced to every gateway (Bus.publishControl), and the bus remembers the
   *  announcements (relay/bus/unregistered.ts): one that arrived since `mark` ends the
   *  connection as the device message would have (4006, with the device's send-only
   *  connections here; false: closed). One arriving later reaches the subscription, which
   *  is in place. When one may have been missed (the bus disconnected or reconnected since
   *  the mark, the mark too old, too many announcements meanwhile: 'unknown'), the
   *  record is read again instead (recheckRegistered). Either way the session is noted
   *  by the relay, which reads again should the bus lose its connection just after
   *  (Relay's gap), and a few seconds after the reconnect (its second pass); one whose
   *  read began before such a pass took its sessions reads at the leader now. */
  #checkUnregistered(tag: string, mark: number): boolean {
    const relay = this.#relay;
    const verdict = relay.bus.unregisteredSince(tag, this.#devTok, mark);
    if (verdict === 'announced') {
      relay.metrics.authOptoutChecks.inc(OPTOUT_CHECK[verdict]);
      this.#onControl(UNREGISTERED);
      return false;
    }
    const missedPass = relay.authChecked(this, mark);
    relay.metrics.authOptoutChecks.inc(OPTOUT_CHECK[missedPass ? 'unknown' : verdict]);
    if (verdict === 'unknown' || verdict === 'unconfirmed' || missedPass) {
      // A read that fails (the bus lost NATS again, JetStream not answering yet after a
      // restart) is tried again by the relay, as its re-reads after a reconnect are.
      // 'unconfirmed' (a removal announced as intended, never as done), or a second pass
      // missed: at the leader, where the removal, if it was made, has landed.
      const atLeader = verdict === 'unconfirmed' || missedPass;
      void this.recheckRegistered(atLeader).then((decided) => { if (!decided) relay.recheckAfterFailedRead(this, atLeader); });
    }
    return true;
  }

  /** The device's record read once more (#checkUnregistered's fallback, and the relay's
   *  after the bus lost announcements): found gone, the connection ends as the device's
   *  `unregistered` message would have ended it (4006, with the device's send-only
   *  connections here). Not awaited by the auth: it is answered meanwhile. A device the
   *  read does not find is read again at the directory's leader before anything is
   *  closed, as a refused auth is: a replica that has not seen a registration of a
   *  moment ago must not end a registered device's connection with a code the SDK takes
   *  as final (test/faults/stale-directory.test.ts). A read that fails decides nothing;
   *  one from a replica that has not caught up with the removal misses it (the
   *  directory's replica lag, as for the auth's own read). Resolves false when a read
   *  failed (nothing decided: the relay tries again, Relay.#recheck), else true.
   *  `atLeader`: read at the leader at once (a removal announced as intended whose
   *  announcement never came: a replica behind it would still show the device). */
  recheckRegistered(atLeader = false): Promise<boolean> {
    // A session opting its own device out (#onUnregister) is answered and closed by that
    // op: its record found gone meanwhile is the op's own removal, and closing it 4006
    // here would beat the op's ok (the handset would not know its opt-out went through).
    if (!this.#isAuthenticated() || this.#sendOnly || this.#unregistering) return Promise.resolve(true);
    const directory = this.#relay.directory;
    const tag = this.#tag;
    const device = this.#deviceBytes()!;
    return directory.findDevice(tag, device, atLeader ? AUTH_RECHECK : AUTH_READ)
      .then((d) => (d !== null || !this.#isAuthenticated() ? d : directory.findDevice(tag, device, AUTH_RECHECK)))
      .then((d) => {
        if (d === null && this.#isAuthenticated() && !this.#unregistering) this.#onControl(UNREGISTERED);
        return true;
      }, () => false);
  }

  /** ticket_request (docs/PROTOCOL.md, section 13): the resumption secret from an X25519
   *  exchange with the device's fresh key; its verifier written into the device's
   *  directory record first, then the secret sealed into a ticket with the identity key
   *  of that record. */
  async #onTicketRequest(req: number, m: TicketRequest): Promise<void> {
    const resume = this.#relay.resume;
    if (resume === null) throw new HushwireError(ErrorCode.UNAVAILABLE, 'this gateway issues no resumption tickets');
    if (!isBytes(m.publicKey, RESUME_PUBLIC_KEY_BYTES)) throw new HushwireError(ErrorCode.BAD_REQUEST, `public_key must be ${RESUME_PUBLIC_KEY_BYTES} bytes`);
    if (++this.#tickets > MAX_TICKET_REQUESTS_PER_CONNECTION) {
      this.#relay.metrics.rateLimited.inc({ limit: LimitName.TICKET_REQUESTS });
      throw new HushwireError(ErrorCode.RATE_LIMITED, `at most ${MAX_TICKET_REQUESTS_PER_CONNECTION} ticket requests per connection`);
    }
    let shared: Uint8Array;
    try {
      shared = x25519SharedSecret(resume.secretKey, m.publicKey);
    } catch {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'public_key is not a usable X25519 key');
    }
    const device = this.#deviceBytes()!;
    const secret = ticketSecret(shared, device, m.publicKey, resume.publicKey);
    shared.fill(0);
    const tag = this.#tag;
    const devTok = this.#devTok;
    try {
      // Not closed here: #authed found the session authenticated in this same turn, and
      // nothing is awaited before the write (a request waits for no turn). A session
      // closed while the write is under way takes its verifier out again (below).
      // Sealed first (no I/O), for the registration this connection authenticated against
      // (its identity key: the only record recordResumeVerifier writes into), then the
      // verifier of that very ticket (its expiry, key id and IV included) written into the
      // record, and only then is the ticket sent: a resume is honoured only with the
      // verifier (#onAuth). A failed write fails the request (UNAVAILABLE): the device
      // keeps signing. Not an authentication's read (AUTH_READ): the pool's reserve for
      // those is sized for one per connection (#busy), and a connection may have 4 ticket
      // requests in flight; a ticket is worth no login's room
      // (test/gateway/resume-reserve.test.ts). Only into the record of the registration
      // this connection authenticated against: a device registered again elsewhere (its
      // kick not here yet) gets no ticket from a connection of before
      // (test/gateway/resume-verifier-reregister.test.ts).
      const registration = { identityKey: this.#identityKey, registeredAtMs: this.#registeredAtMs };
      const t = resume.tickets.seal(tag, devTok, Buffer.from(this.#identityKey, 'latin1'), secret);
      const verifier = resumeVerifierNode(t.ticket, secret);
      // A renewal on a connection that resumed: the device replaces the ticket it resumed
      // with by this one, so that ticket's verifier leaves the record in the same edit
      // rather than hold one of the 4 slots (the first request here only).
      const replacing = this.#resumed !== null && this.#resumed !== RENEWED ? Buffer.from(this.#resumed, 'latin1') : null;
      if (replacing !== null) this.#resumed = RENEWED;
      let identityKey: Uint8Array | null;
      try {
        identityKey = await recordResumeVerifier(this.#relay.bus, tag, device, verifier, registration, replacing);
      } catch (e) {
        // The write failed, but may have landed with its answer lost (the request timed out
        // after nats-server applied it): the verifier of a ticket never sent would hold one
        // of the device's 4 slots, pushing out a ticket it holds. It leaves the record again
        // (and the renewed one comes back), revision-checked: nothing is written when it is
        // not there, so a write that never landed costs a read. Awaited before the error is
        // answered, so that the device's retry (a new key, a new verifier: a ticket cannot
        // be issued twice alike) finds it done. Best effort, as the write: a failure leaves
        // the slot used. This connection may still renew the ticket it resumed with
        // (test/gateway/resume-lost-answer.test.ts).
        await dropResumeVerifier(this.#relay.bus, tag, device, verifier, replacing)
          .catch((err: unknown) => this.#relay.warnRepeated('resume verifier removal failed', { conn: this.conn, err: toWireError(err).code }));
        if (replacing !== null && this.#resumed === RENEWED) this.#resumed = latin1Slice.call(replacing, 0, replacing.length);
        throw e;
      }
      // Opted out or registered again meanwhile: nothing to send a ticket for.
      if (identityKey === null) throw new HushwireError(ErrorCode.NOT_REGISTERED, 'device not registered');
      if (this.#isClosed()) {
        // Closed while the verifier was written: the ticket is never sent, so its verifier
        // leaves the record again (and the renewed one comes back), revision-checked.
        void dropResumeVerifier(this.#relay.bus, tag, device, verifier, replacing)
          .catch((e: unknown) => this.#relay.warnRepeated('resume verifier removal failed', { conn: this.conn, err: toWireError(e).code }));
        return;
      }
      this.#relay.metrics.ticketsIssued.inc();
      this.#queue({ req, ticket: { ticket: t.ticket, expiresInS: t.expiresInS } });
    } finally {
      secret.fill(0);
    }
  }

  /** The one way out of waiting for a code (idempotent; every path calls it: registered
   *  or authenticated, code voided, delivery failed, closed for any reason, drain): the
   *  code is forgotten, the gateway's pending slot given back, and a socket still
   *  unauthenticated that was kept open for the code goes back to the short auth
   *  deadline, counted from now. */
  #leavePending(): void {
    this.#verification = null;
    if (this.#pendingSlot) {
      this.#pendingSlot = false;
      this.#relay.verifyGate.release();
    }
    if (this.#codeDeadline) {
      this.#codeDeadline = false;
      if (this.#state === 'challenge') this.#armAuthTimer(this.#relay.limits.authTimeoutMs, 'auth timeout');
    }
  }

  /** The unfinished write of `m`'s device on `tag`, made if this connection has none. */
  #unfinishedWrite(tag: string, m: RegisterDevice, binding: string): UnfinishedWrite {
    let list = UNFINISHED.get(this);
    if (list === undefined) UNFINISHED.set(this, list = []);
    let u = list.find((w) => w.tag === tag && w.binding === binding);
    if (u === undefined) {
      u = { tag, device: Uint8Array.from(m.device), binding, stamps: [], writing: false, unknown: false };
      list.push(u);
    }
    return u;
  }

  /** Once closed, and no directory write of theirs under way: each register write of this
   *  connection whose registration did not finish (UNFINISHED) has its device removed
   *  from the directory if it is listed exactly as one of those writes made it (the same
   *  keys and registration time, never authenticated since: no last_seen, prekey
   *  rotation or resume verifier of its own), and its mailbox erased
   *  (Privacy.eraseUnfinished: bounded in time, in the background: the close does not
   *  wait; the gateway's own close does, Relay.settleUnfinished). A write that never
   *  landed leaves nothing to remove. */
  #eraseUnfinished(): void {
    const list = UNFINISHED.get(this);
    if (list === undefined || this.#state !== 'closed' || list.some((w) => w.writing)) return;
    UNFINISHED.delete(this);
    const privacy = this.#relay.privacy;
    for (const w of list) {
      const wrote = (d: DirectoryDevice): boolean => registrationBinding(d) === w.binding
        && w.stamps.includes(Number(d.registeredAtMs)) && Number(d.lastSeenMs) === Number(d.registeredAtMs)
        && Number(d.prekeyRotatedAtMs) === 0 && (d.resumeVerifiers?.length ?? 0) === 0;
      this.#relay.trackUnfinishedRemoval(privacy.eraseUnfinished(w.tag, w.device, wrote, undefined, w.unknown));
    }
  }

  #armAuthTimer(ms: number, reason: string): void {
    if (this.#authTimer) clearTimeout(this.#authTimer);
    this.#authTimer = setTimeout(() => this.close(CloseCode.AUTH_TIMEOUT, reason), ms);
    this.#authTimer.unref?.();
  }

  #authFailed(req: number): void {
    this.#relay.metrics.authFailures.inc();
    this.#queue({ req, error: { code: ErrorCode.AUTH_FAILED, message: 'authentication failed' } });
    this.#relay.metrics.errors.inc({ code: ErrorCode.AUTH_FAILED });
    this.close(CloseCode.AUTH_FAILED, 'authentication failed');
  }

  /** Authenticates send-only (Auth.send_only): no kick, no subscription, so nothing of
   *  the device's other connections changes and nothing is received here. Takes one of
   *  the device's send-only slots on this gateway; with none left the auth is answered
   *  RATE_LIMITED and the socket closed 1013 (false). Synchronous: no bus call. */
  #becomeSendOnly(req: number, tag: string, device: Uint8Array): boolean {
    const relay = this.#relay;
    const devTok = deviceToken(device);
    const key = `${tag}.${devTok}`;
    if (!relay.takeSendOnlySlot(key, this)) {
      relay.metrics.errors.inc({ code: ErrorCode.RATE_LIMITED });
      relay.metrics.rateLimited.inc({ limit: LimitName.SEND_ONLY_CONNECTIONS });
      this.#queue({ req, error: { code: ErrorCode.RATE_LIMITED, message: `too many send-only connections of this device on this gateway (at most ${MAX_SEND_ONLY_PER_DEVICE}); try again when one has closed`, retryAfterMs: SEND_ONLY_RETRY_MS } });
      this.close(CloseCode.TRY_AGAIN_LATER, 'too many send-only connections');
      return false;
    }
    this.#sendOnlyKey = key;
    this.#sendOnly = true;
    this.#tag = tag;
    this.#devTok = devTok;
    this.#authenticated();
    return true;
  }

  /** The last step of either authentication: the state, the auth deadline and the
   *  pending-auth count let go, counted, and the relay told. */
  #authenticated(): void {
    this.#state = 'authenticated';
    this.#nonce = NO_NONCE;
    this.#tickets = 0;
    if (this.#authTimer) clearTimeout(this.#authTimer);
    this.#authTimer = null;
    this.#leavePending();
    // Its registration finished (or it signed in as that device): the write is its record.
    const unfinished = UNFINISHED.get(this);
    if (unfinished !== undefined) {
      const rest = unfinished.filter((w) => w.tag !== this.#tag || deviceToken(w.device) !== this.#devTok);
      if (rest.length === 0) UNFINISHED.delete(this);
      else UNFINISHED.set(this, rest);
    }
    this.#relay.metrics.authenticated.inc();
    this.#relay.onAuthenticated(this);
  }

  async #becomeAuthenticated(tag: string, device: Uint8Array): Promise<void> {
    const relay = this.#relay;
    this.#tag = tag;
    this.#devTok = deviceToken(device);
    // Take the live subscription, then, once nats-server has it (the bus's PONG), tell
    // every other connection of this device (on any gateway) to go away: one receiving
    // connection per device. The kick goes out after the SUB, not before it: two
    // connections authenticating at once on two gateways each published their kick
    // before the other had subscribed, missed each other's, and both stayed
    // (test/gateway/kick-race.test.ts). Now whichever kick nats-server takes second
    // reaches the other connection, subscribed before it; #onKick decides which one stays.
    this.#connectionId = newConnectionId();
    const sub = await relay.bus.subscribeDevice(
      this.#tag, this.#devTok,
      this,
      this, // its control(): no closure per device
    );
    try {
      // Without the kick an older connection would keep the device: no half-done auth.
      if (this.#state !== 'closed') await relay.bus.publishControl(this.#tag, this.#devTok, { kind: 'kick', connection: this.#connectionId });
    } catch (e) {
      await sub.close().catch(() => undefined);
      throw e;
    }
    if (this.#state === 'closed') {
      await sub.close();
      return;
    }
    this.#sub = sub;
    this.#authenticated();
  }

  /** ControlSink: the bus hands this device's control messages here (the session is
   *  its own sink, like offer() for envelopes). */
  control(msg: ControlMessage): void {
    this.#onControl(msg);
  }

  /** ControlSink: this connection's id while it holds its device's subscription, so a
   *  bus publishes its kick again after a reconnect only while it does. */
  currentConnection(): string {
    return this.#state === 'closed' ? '' : this.#connectionId;
  }

  #onControl(msg: ControlMessage): void {
    if (msg.kind === 'kick') {
      if (msg.connection !== this.#connectionId) this.#onKick(msg.connection, msg.again === true);
    } else if (msg.kind === 'unregistered') {
      // The device's send-only sessions here subscribe nothing: they learn it from this one.
      this.#relay.closeSendOnly(`${this.#tag}.${this.#devTok}`);
      this.close(CloseCode.UNREGISTERED, 'unregistered');
    } else if (msg.kind === 'mail') {
      this.#startMailboxDrain(); // new mail stored meanwhile (relay.ts acceptEnvelope)
    } else if (msg.kind === 'notice' && this.#devTok !== '') {
      if (!this.#isAuthenticated()) {
        // Subscribed, not yet authenticated: notify() would show nothing, and clearing the
        // flag now lost the notice (the auth's own record was read before it was set).
        // Held until the session is authenticated (test/privacy/notice-race.test.ts).
        if (this.#state === 'challenge') HELD_NOTICES.set(this, Math.max(HELD_NOTICES.get(this) ?? 0, msg.atMs));
        return;
      }
      this.notify(msg.notice, msg.atMs);
      void this.#relay.privacy.noticeShown(this.#tag, hexToBytes(this.#devTok), msg.atMs).catch(() => undefined);
    }
  }

  /** A kick from another connection of this device. An older connection yields to it
   *  (4003). Within KICK_TIE_MS of its own authentication a connection may instead meet
   *  a kick of a connection that authenticated at the same moment, elsewhere, whose SUB
   *  missed this one's kick: the later of the two (by the time in their connection ids,
   *  then the ids) stays, and answers an earlier one's kick with its own again, which
   *  reaches that one (subscribed before it sent its kick), so exactly one stays. Past
   *  KICK_TIE_MS any kick wins: a newer connection always takes over, whatever the
   *  gateways' clocks say. A kick without a time (an older gateway's, the bus's eviction)
   *  wins too. A kick published again after its gateway's NATS reconnect (`again`: the
   *  first may have been dropped, relay/bus/nats.ts #publishUnconfirmed) is decided by
   *  the times whatever this connection's age: it may come long after a newer connection
   *  here authenticated, whose own kick that gateway missed while disconnected; the newer
   *  one stays and kicks back. */
  #onKick(other: string, again = false): void {
    const mine = this.#connectionId;
    const at = connectionIdTime(mine);
    if (at >= 0 && connectionIdTime(other) >= 0 && other < mine && (again || Date.now() - at < KICK_TIE_MS)) {
      if (this.#state !== 'closed') void this.#relay.bus.publishControl(this.#tag, this.#devTok, { kind: 'kick', connection: mine }).catch(() => undefined);
      return;
    }
    this.close(CloseCode.CONNECTED_ELSEWHERE, 'connected elsewhere');
  }

  /** Shows a notice held while the session subscribed (#onControl), once its auth or
   *  registration is answered; a session closed meanwhile shows and clears nothing. */
  #showHeldNotice(): void {
    const atMs = HELD_NOTICES.get(this);
    if (atMs === undefined) return;
    HELD_NOTICES.delete(this);
    this.#onControl({ kind: 'notice', notice: 'new_device', atMs });
  }

  // ---- discovery

  async #onEvaluate(req: number, m: Evaluate): Promise<void> {
    const max = this.#relay.limits.maxEvaluateBatch;
    if (m.blinded.length === 0 || m.blinded.length > max) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, `evaluate takes 1 to ${max} elements`);
    }
    // An evaluator run with a smaller --max-batch would refuse the batch TOO_LARGE (a
    // batch proof covers one request: it cannot be split here): refused before anything
    // is charged, with the size that works (test/oprf/max-batch.test.ts).
    const evaluatorMax = this.#relay.evaluator.maxBatch;
    if (evaluatorMax > 0 && m.blinded.length > evaluatorMax) {
      throw new HushwireError(ErrorCode.TOO_LARGE, evaluatorBatchRefusal(evaluatorMax));
    }
    const release = this.#discovery(1);
    try {
      // Discovery budget per device and per route, shared by all gateways (docs/PRIVACY.md).
      const refund = await this.#relay.privacy.chargeDiscovery(this.#tag, this.#devTok, this.#registeredAtMs, m.blinded.length);
      let out: EvaluatorResult;
      try {
        out = await this.#relay.evaluator.evaluate(m.blinded);
      } catch (e) {
        // The evaluator down, busy or past its deadline: the handset gets no evaluation,
        // so it learned nothing, and it retries (a send to a new number does until its
        // deadline). Such a try gives its charge back, or an evaluator outage would spend
        // the device's budget for the day (test/oprf/discovery-charge.test.ts). A refused
        // element (BAD_REQUEST, not a group element) keeps it: the handset's fault. A
        // batch over the evaluator's --max-batch (TOO_LARGE, its size not known here
        // before) was not evaluated either.
        const code = toWireError(e).code;
        if (code === ErrorCode.UNAVAILABLE || code === ErrorCode.RATE_LIMITED || code === ErrorCode.TIMEOUT || code === ErrorCode.TOO_LARGE) await refund();
        throw e;
      }
      this.#queue({ req, evaluated: out });
    } finally {
      release();
    }
  }

  /** Answers are one fixed size whether the route has no device or the maximum, and an
   *  unknown route gets an empty list (not an error): relay/privacy/lookup.ts. */
  async #onLookup(req: number, m: Lookup): Promise<void> {
    const privacy = this.#relay.privacy;
    if (m.routes.length > 0) {
      const max = privacy.options.lookupBatchMax;
      if (m.routes.length > max || (m.route?.length ?? 0) > 0) throw new HushwireError(ErrorCode.BAD_REQUEST, `a batched lookup takes 1 to ${max} routes and no single route`);
      // A leader read per route of a contact sync would move every discovery to the
      // leader: fresh is a second look at one route.
      if (m.fresh === true) throw new HushwireError(ErrorCode.BAD_REQUEST, 'fresh takes a single route, not a batch');
      if (!m.routes.every((r) => isBytes(r, ROUTE_BYTES))) throw new HushwireError(ErrorCode.BAD_TOKEN, `routes must be ${ROUTE_BYTES} bytes`);
      const release = this.#discovery(m.routes.length);
      try {
        const results = await Promise.all(m.routes.map((r) => privacy.lookupOne(r)));
        this.#queue({ req, devicesBatch: { results } });
      } finally {
        release();
      }
      return;
    }
    if (!isBytes(m.route, ROUTE_BYTES)) throw new HushwireError(ErrorCode.BAD_TOKEN, `route must be ${ROUTE_BYTES} bytes`);
    const release = this.#discovery(1);
    try {
      this.#queue({ req, devices: await privacy.lookupOne(m.route, m.fresh === true) });
    } finally {
      release();
    }
  }

  /** Takes `n` units of discovery work (a lookup's routes, an evaluate op) for one op,
   *  or throws RATE_LIMITED when this connection or the gateway has too much in flight
   *  (relay/limits.ts maxDiscoveryPerConnection, maxDiscoveryInFlight). Taken before
   *  the op's first await, so the ops of one frame are counted in order. Returns the
   *  release, to call once when the op's bus work is over (answered or failed). */
  #discovery(n: number): () => void {
    const relay = this.#relay;
    const { maxDiscoveryPerConnection, maxDiscoveryInFlight } = relay.limits;
    const mine = this.#discoveryInFlight + n > maxDiscoveryPerConnection;
    if (mine || relay.discoveryInFlight + n > maxDiscoveryInFlight) {
      relay.metrics.rateLimited.inc({ limit: LimitName.DISCOVERY_IN_FLIGHT });
      throw new HushwireError(ErrorCode.RATE_LIMITED, mine
        ? 'too many lookups in flight on this connection; wait for their answers'
        : 'gateway busy with lookups', { retryAfterMs: DISCOVERY_RETRY_MS });
    }
    this.#discoveryInFlight += n;
    relay.discoveryInFlight += n;
    return () => {
      this.#discoveryInFlight -= n;
      relay.discoveryInFlight -= n;
    };
  }

  // ---- sending

  /** Answers with one receipt per envelope, in order, once all are settled. */
  #onSend(req: number, envs: InEnvelope[], mono: number, wall: number): void {
    const relay = this.#relay;
    const max = relay.limits.maxEnvelopesPerSend;
    if (envs.length === 0 || envs.length > max) {
      this.#fail(req, new HushwireError(ErrorCode.TOO_LARGE, `send takes 1 to ${max} envelopes`));
      return;
    }
    // All envelopes are offered at once, in order, so per-device order holds on the
    // live path. The sender's device keys its send-rate bucket (relay/limiter.ts).
    // Made at the first send, not at auth: an idle device keeps no key string for it.
    const sender = this.#senderKey === '' ? (this.#senderKey = `${this.#tag}.${this.#devTok}`) : this.#senderKey;
    if (envs.length === 1) {
      // the common case: one callback, no array of pending receipts
      relay.acceptInboundCb(envs[0] as InEnvelope, sender, (r) => {
        this.#queueReceipt(req, r);
        if (r.status === 'failed') this.#receiptFault(r.code);
      }, mono, wall);
      return;
    }
    const receipts = new Array<ReceiptProps>(envs.length);
    let left = envs.length;
    for (let i = 0; i < envs.length; i++) {
      // A socket closed by its malformed envelopes (4008) has the rest of them unread.
      if (this.#isClosed()) return;
      relay.acceptInboundCb(envs[i] as InEnvelope, sender, (r) => {
        receipts[i] = r;
        if (--left === 0) this.#queue(encodeSendResultOp(req, receipts));
        if (r.status === 'failed') this.#receiptFault(r.code);
      }, mono, wall);
    }
  }

  /** An envelope refused for its own form (BAD_REQUEST, BAD_TOKEN: a wrong version,
   *  suite or field size, which no SDK sends) counts as a bad op like a malformed op:
   *  its receipt is cheap for the client to ask for and ~12 us of the gateway's time to
   *  answer, and a frame holds 65,536 of them (256 sends of 256 two-byte envelopes), so
   *  uncounted they kept a gateway busy ~0.8 s per 133 kB frame on a socket that stayed
   *  open. Refusals that are not the envelope's fault (RATE_LIMITED, NOT_REGISTERED,
   *  MAILBOX_FULL, TOO_LARGE, UNAVAILABLE) do not count. */
  #receiptFault(code: string): void {
    if (this.#state !== 'closed' && isClientFault(code) && ++this.#badOps > this.#relay.limits.maxBadOps) {
      this.close(CloseCode.FLOOD, 'too many bad ops');
    }
  }

  // ---- receiving

  /** LiveSink: the bus hands this device's live envelopes here (a callback, not a
   *  promise per envelope); `done` runs when the device acked it, or with false. The
   *  session is its own sink, so an idle device keeps no extra object for it. */
  offer(envelope: Uint8Array, done: (acked: boolean) => void): void {
    if (this.#state !== 'authenticated' || this.socket.closed) done(false);
    else this.#handOver(envelope, 'live', this.#relay.limits.liveTimeoutMs, done);
  }

  /** Writes the envelope to the device in this turn's frame; `done` once with the
   *  outcome (acked, or false: refused here, or no ack before timeoutMs). */
  #handOver(envelope: Uint8Array, path: 'live' | 'mailbox', timeoutMs: number, done: (acked: boolean) => void): void {
    // Refused (here or by the timeout below) => the sender's gateway stores the envelope
    // and its 'mail' control message makes this session drain again (#onControl).
    if (this.#inflight.size >= this.#relay.limits.maxInflightDeliveries) return done(false);
    const idStart = envelopeIdStart(envelope);
    if (idStart < 0) return done(false);
    const id = idKey(envelope, idStart, envelopeIdEnd());
    if (this.#inflight.has(id)) {
      // The same envelope twice in flight (a live copy and a stored one): try the stored
      // copy again later; the handset drops whichever duplicate arrives second.
      this.#scheduleRedrain(REDRAIN_DELAY_MS);
      return done(false);
    }
    const size = envelope.length;
    this.#inflightBytes += size;
    // No timer per envelope: Relay sweeps the deadlines of all sessions' in-flight
    // envelopes (relay.ts watchInflight), a timer and a closure less per delivery.
    const wasEmpty = this.#inflight.size === 0;
    if (this.#inflight === NO_INFLIGHT) this.#inflight = new Map();
    // One clock read for both: the deadline is on the monotonic clock too (Relay's sweep).
    const now = performance.now();
    this.#inflight.set(id, { done, deadline: now + timeoutMs, size, written: now, path });
    if (wasEmpty) this.#relay.watchInflight(this);
    if (this.#outEnvelopes === NONE) this.#outEnvelopes = [envelope];
    else this.#outEnvelopes.push(envelope);
    this.#relay.metrics.envelopesOut.inc(PATH_LABELS[path]);
    this.#scheduleFlush();
  }

  #settle(id: string, f: InFlight, acked: boolean): void {
    this.#inflight.delete(id);
    this.#inflightBytes -= f.size;
    if (this.#windowWaiters.length > 0) {
      const waiters = this.#windowWaiters;
      this.#windowWaiters = NONE;
      for (const w of waiters) w();
    }
    f.done(acked);
  }

  /** Relay's sweep (`now` from performance.now(), the clock of the deadlines): envelopes
   *  past their deadline count as not acked. Returns whether
   *  any are still in flight (the sweep stops watching this session when none are). */
  expireInflight(now: number): boolean {
    for (const [id, f] of this.#inflight) {
      if (f.deadline <= now) this.#settle(id, f, false);
    }
    if (this.#inflight.size > 0) return true;
    this.#inflight = NO_INFLIGHT; // the sweep stops watching: drop the idle session's Map
    return false;
  }

  /** deliver_ack read by relay/frame-in.ts: [start, end) of each id in the frame. */
  #onDeliverAckIn(data: Uint8Array, ids: number[]): void {
    const now = performance.now(); // one clock read for the op's acks (their round-trip metric)
    for (let i = 0; i < ids.length; i += 2) this.#acked(idKey(data, ids[i] as number, ids[i + 1] as number), now);
  }

  /** deliver_ack decoded by the generated code (an op the fast decoder handed over). */
  #onDeliverAck(ids: Uint8Array[]): void {
    const now = performance.now();
    for (const id of ids) if (id instanceof Uint8Array) this.#acked(idKey(id, 0, id.length), now);
  }

  /** `now`: performance.now(), read once per ack op (the round-trip metric). */
  #acked(key: string, now: number): void {
    const f = this.#inflight.get(key);
    if (f === undefined) return;
    this.#relay.metrics.deliveryRoundTrip.observe(PATH_LABELS[f.path], (now - f.written) / 1000);
    this.#settle(key, f, true);
  }

  #windowHasRoom(bytes: number): boolean {
    return this.#inflight.size === 0 || this.#inflightBytes + bytes <= DELIVERY_WINDOW_BYTES;
  }

  #draining = false;
  #drainAgain = false;
  #drainFailures = 0;
  #redrainTimer: NodeJS.Timeout | null = null;

  #scheduleRedrain(delayMs: number): void {
    if (this.#redrainTimer || this.#state !== 'authenticated') return;
    this.#redrainTimer = setTimeout(() => {
      this.#redrainTimer = null;
      this.#startMailboxDrain();
    }, delayMs);
    this.#redrainTimer.unref?.();
  }

  /** Hands queued mail to the device batch by batch; each item is deleted from the
   *  mailbox only after the device acknowledged it. */
  #startMailboxDrain(): void {
    if (this.#state !== 'authenticated' || this.#sendOnly) return;
    if (this.#draining) {
      // A drain is running but may already be past its last read: run once more after it.
      this.#drainAgain = true;
      return;
    }
    this.#draining = true;
    this.#drainAgain = false;
    // Every authentication drains, and nearly every drain finds the mailbox empty: the
    // first read is made here, and only mail enters the page loop (its async frame,
    // promises and closures were a reconnect's largest garbage after nats.js's).
    this.#relay.bus.mailboxRead(this.#tag, this.#devTok, 0, this.#relay.limits.drainBatch)
      .then((first) => (first.length === 0 ? undefined : this.#drainMailbox(first)))
      .then(() => {
        this.#drainFailures = 0;
        this.#drainEnded();
      }, (e: unknown) => {
        // A bus error (NATS reconnecting, a stream leader election) must not leave the
        // mail waiting for the device's next connect: try again, backing off to 30 s.
        this.#relay.warnRepeated('mailbox drain stopped; will retry', { conn: this.conn, err: toWireError(e).code });
        const ceiling = Math.min(30_000, REDRAIN_DELAY_MS * 2 ** Math.min(this.#drainFailures++, 5));
        this.#scheduleRedrain(Math.floor(ceiling / 2 + Math.random() * (ceiling / 2)));
        this.#drainEnded();
      });
  }

  #drainEnded(): void {
    this.#draining = false;
    if (this.#drainAgain && this.#state === 'authenticated') this.#startMailboxDrain();
  }

  /** The page loop, from the first page (read by #startMailboxDrain) on. */
  async #drainMailbox(first: MailboxItem[]): Promise<void> {
    const relay = this.#relay;
    const { drainBatch, drainAckTimeoutMs } = relay.limits;
    const tag = this.#tag;
    const devTok = this.#devTok;
    let after = 0;
    // Earlier pages' acknowledged items, being deleted while this page is read and handed
    // over (oldest first, at most DRAIN_DELETE_PAGES). A failure is kept here (not left as
    // a rejected promise nobody awaits yet) and ends the drain.
    const deleting: Promise<void>[] = [];
    let deleteError: unknown = null;
    const deleted = (n: number) => () => { relay.metrics.deliveries.inc({ path: 'mailbox_drain' }, n); };
    const failed = (e: unknown): void => { deleteError ??= e; };
    try {
      let items = first;
      while (this.#state === 'authenticated' && items.length > 0) {
        after = items[items.length - 1]!.seq;
        const handed: Promise<boolean>[] = [];
        for (const it of items) {
          // At the pace the device acks (DELIVERY_WINDOW_BYTES); each wait ends with an ack
          // or an in-flight timeout (drainAckTimeoutMs at most).
          while (this.#state === 'authenticated' && !this.#windowHasRoom(it.data.length)) {
            await new Promise<void>((r) => {
              if (this.#windowWaiters === NONE) this.#windowWaiters = [r];
              else this.#windowWaiters.push(r);
            });
          }
          if (this.#state !== 'authenticated') break;
          handed.push(new Promise<boolean>((r) => this.#handOver(it.data, 'mailbox', drainAckTimeoutMs, r)));
        }
        const results = await Promise.all(handed);
        // An item is deleted only once the device acknowledged it.
        const acked: number[] = [];
        for (let i = 0; i < results.length; i++) if (results[i] === true) acked.push(items[i]!.seq);
        if (deleting.length >= DRAIN_DELETE_PAGES) await deleting.shift();
        if (deleteError !== null) throw deleteError;
        if (acked.length > 0) deleting.push(relay.bus.mailboxDeleteMany(tag, devTok, acked).then(deleted(acked.length), failed));
        if (acked.length < items.length) break; // device not keeping up: rest stays queued
        if (this.#state !== 'authenticated') break;
        items = await relay.bus.mailboxRead(tag, devTok, after, drainBatch);
      }
    } finally {
      await Promise.all(deleting);
    }
    if (deleteError !== null) throw deleteError;
  }

  // ---- opt-out

  async #onUnregister(req: number, m: Unregister | null | undefined): Promise<void> {
    // One opt-out at a time: a second one in the same frame erased, removed and counted
    // the device again, concurrently with the first, and was never answered.
    if (this.#unregistering) throw new HushwireError(ErrorCode.BAD_REQUEST, 'opt-out already in progress');
    this.#unregistering = true;
    try {
      // A resumed connection rests on the gateways' ticket keys, which could seal a ticket
      // for any device: its opt-out must also carry the identity key's signature
      // (docs/PROTOCOL.md, section 7). A signed connection proved the key already.
      if (this.#resumed !== null) await this.#checkUnregisterSignature(m);
      await this.#unregister(req);
    } finally {
      this.#unregistering = false;
    }
  }

  async #checkUnregisterSignature(m: Unregister | null | undefined): Promise<void> {
    const refused = (): HushwireError => new HushwireError(ErrorCode.AUTH_FAILED, 'an opt-out on a resumed connection needs the identity key\'s signature (unregister.route and unregister.signature)');
    if (!m || !isBytes(m.route, ROUTE_BYTES) || !isBytes(m.signature, 64) || routeTagUncached(m.route) !== this.#tag) throw refused();
    const device = this.#deviceBytes()!;
    const signed = (d: DirectoryDevice | null): boolean => d !== null && verify(d.identityKey, unregisterInput(m.route, device), m.signature);
    let dev = await this.#relay.directory.findDevice(this.#tag, device);
    // A refusal is checked again at the directory's leader, as an authentication is: a
    // replica that has not caught up may not have the device (registered a moment ago),
    // or have it with an older identity key.
    if (!signed(dev)) dev = await this.#relay.directory.findDevice(this.#tag, device, { fromLeader: true });
    if (dev === null) throw new HushwireError(ErrorCode.NOT_REGISTERED, 'device not registered');
    if (!signed(dev)) throw refused();
  }

  async #unregister(req: number): Promise<void> {
    const relay = this.#relay;
    const tag = this.#tag;
    const devTok = this.#devTok;
    const device = this.#deviceBytes()!;
    // Stop receiving first: what arrives meanwhile is stored, and erased below.
    await this.#sub?.close();
    this.#sub = null;
    // Erase, then remove the device, while it is still registered: should either fail
    // (NATS unavailable, a right the gateway's NATS user lacks), the handset still
    // authenticates and can opt out again. Removing it first (as before) left it unable
    // to retry (AUTH_FAILED) with its mail kept until the orphan sweep.
    try {
      await relay.bus.mailboxPurge(tag, devTok);
      // The removal is announced to every gateway as intended first (confirmed by
      // nats-server, repeated until the erase below is done): should this gateway die
      // before its `unregistered` goes out, the others read the record themselves
      // (relay/bus/unregistered.ts). Not announced (NATS lost), nothing is removed.
      await announcedRemoval(relay.bus, [{ tag, devTok }], async () => {
        await relay.directory.removeDevice(tag, device);
        // Mail stored between the erase and the removal (a sender that looked the device
        // up just before) goes too. The device is gone now, so a failure here is not the
        // handset's to retry: what is left is erased by the orphan sweep, and logged. Only
        // this device's mailbox, even when it was the route's last device: one registered
        // on the route right after may already have mail (other devices' leftovers are the
        // orphan sweep's).
        try {
          await relay.bus.mailboxPurge(tag, devTok);
        } catch (e) {
          relay.log.warn({ conn: this.conn, err: toWireError(e).code }, 'opt-out: device removed, but its mail erase failed; the orphan sweep erases what is left');
        }
      });
    } catch (e) {
      // No longer subscribed: answer, then close so that the handset reconnects (and
      // subscribes again) before it retries.
      this.#fail(req, e);
      this.close(CloseCode.TRY_AGAIN_LATER, 'opt-out failed; try again');
      return;
    }
    await relay.bus.publishControl(tag, devTok, { kind: 'unregistered' }).catch(() => undefined);
    relay.metrics.unregistrations.inc();
    // Send-only sessions subscribe nothing, so the control message above does not reach
    // them: those of this gateway are closed here (others: docs/PROTOCOL.md).
    relay.closeSendOnly(`${tag}.${devTok}`, this);
    this.#queue({ req, ok: {} });
    this.close(CloseCode.UNREGISTERED, 'unregistered');
  }

  // ---- prekey rotation (docs/PROTOCOL.md section 11)

  async #onSetPrekey(req: number, m: SetPrekey): Promise<void> {
    const relay = this.#relay;
    try {
      // One at a time per connection: each costs a directory read (and maybe a write).
      if (SETTING_PREKEY.has(this)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'prekey rotation already in progress');
      checkPrekeyFields(m.prekey, m.prekeySignature);
    } catch (e) {
      relay.metrics.prekeyRotations.inc(PREKEY_OUTCOME.bad_request);
      throw e;
    }
    // A budget per connection (relay/prekey.ts): the current prekey again is answered ok
    // without any interval, yet costs a directory read. Not a bad op; the socket stays.
    try {
      takeSetPrekeyOp(this, Date.now());
    } catch (e) {
      relay.metrics.prekeyRotations.inc(PREKEY_OUTCOME.rate_limited);
      throw e;
    }
    SETTING_PREKEY.add(this);
    try {
      // Checked against the identity key the directory holds for this device, never one
      // from the request; the interval between rotations is kept in the device's record.
      const change = await setPrekey(relay.bus, this.#tag, this.#deviceBytes()!, m.prekey, m.prekeySignature, Date.now(), relay.limits.prekeyRotationIntervalMs);
      relay.metrics.prekeyRotations.inc(PREKEY_OUTCOME[change]);
      this.#queue({ req, ok: OK_BODY });
    } catch (e) {
      const code = toWireError(e).code;
      relay.metrics.prekeyRotations.inc(code === ErrorCode.AUTH_FAILED ? PREKEY_OUTCOME.bad_signature
        : code === ErrorCode.RATE_LIMITED ? PREKEY_OUTCOME.rate_limited
          : code === ErrorCode.NOT_REGISTERED ? PREKEY_OUTCOME.not_registered : PREKEY_OUTCOME.unavailable);
      this.#fail(req, e);
      // A signature the device's own key does not verify is the client's fault: a bad
      // op (AUTH_FAILED is not one elsewhere, where it closes the socket 4002).
      if (code === ErrorCode.AUTH_FAILED) {
        giveBackSetPrekeyOp(this); // bounded as a bad op instead
        if (!this.#isClosed() && ++this.#badOps > relay.limits.maxBadOps) this.close(CloseCode.FLOOD, 'too many bad ops');
      }
    } finally {
      SETTING_PREKEY.delete(this);
    }
  }

  // ---------------------------------------------------------------- outbound

  /** Tells the device to move to another gateway, then closes (drain). */
  reconnectElsewhere(retryAfterMs: number, reason: string): void {
    this.#queue({ req: 0, reconnect: { retryAfterMs, reason } });
    this.close(CloseCode.DRAINING, reason);
  }

  #fail(req: number, e: unknown): void {
    if (this.#state === 'closed') return;
    const w = toWireError(e);
    this.#relay.metrics.errors.inc({ code: w.code });
    if (w.code === ErrorCode.INTERNAL) {
      // At most one line per 10 s with a count (`times`): a fault below the sessions
      // fails every connection's ops at once, one line each was a flood.
      this.#relay.errorRepeated('op failed', { conn: this.conn, err: errName(e) });
    }
    this.#queue({ req, error: { code: w.code, message: w.message, retryAfterMs: w.retryAfterMs } });
    if (isClientFault(w.code) && ++this.#badOps > this.#relay.limits.maxBadOps) {
      this.close(CloseCode.FLOOD, 'too many bad ops');
    }
  }

  /** Queues a reply for this turn's frame: an Op, or an Op already encoded (receipts). */
  /** A send's one receipt, written straight into the next frame. */
  #queueReceipt(req: number, r: ReceiptProps): void {
    if (this.#state === 'closed') return;
    if (this.#outOps === NONE) this.#outOps = [req, r];
    else this.#outOps.push(req, r);
    this.#scheduleFlush();
  }

  #queue(op: OpProps | Uint8Array): void {
    if (this.#state === 'closed') return;
    if (this.#outOps === NONE) this.#outOps = [op];
    else this.#outOps.push(op);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    this.#relay.flushThisTurn(this);
  }

  /** Writes everything queued as one frame (Relay calls it once per event-loop turn for
   *  every session that queued something). Deliveries are spliced in as raw envelope
   *  bytes (no decode/re-encode): concatenated Frame encodings are one valid Frame. */
  flush(): void {
    if (!this.#flushScheduled) return;
    this.#flush();
  }

  #flush(): void {
    this.#flushScheduled = false;
    const ops = this.#outOps;
    const envs = this.#outEnvelopes;
    this.#outOps = NONE;
    this.#outEnvelopes = NONE;
    if (this.socket.closed || (ops.length === 0 && envs.length === 0)) return;
    const frame = encodeFrameOut(ops, envs);
    const outcome = this.socket.send(frame);
    if (outcome === 'ok') this.#relay.metrics.framesOut.inc();
    else if (outcome === 'dropped') this.#relay.metrics.sendDrops.inc();
  }

  // ---------------------------------------------------------------- closing

  /** The one close path: idempotent; called by the gateway for any reason. */
  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    // Whatever is queued (an error reply, a reconnect op) goes out before the close frame.
    if (!this.socket.closed) this.#flush();
    const wasAuthed = this.#state === 'authenticated';
    this.#state = 'closed';
    if (this.#authTimer) clearTimeout(this.#authTimer);
    this.#authTimer = null;
    if (this.#redrainTimer) clearTimeout(this.#redrainTimer);
    this.#redrainTimer = null;
    this.#leavePending();
    if (wasAuthed) this.#relay.metrics.authenticated.dec();
    for (const [id, f] of [...this.#inflight]) this.#settle(id, f, false);
    const sub = this.#sub;
    this.#sub = null;
    sub?.close().catch(() => undefined);
    this.#eraseUnfinished();
    if (!this.socket.closed) {
      this.#relay.metrics.closes.inc({ code: closeCodeLabel(code) });
      this.socket.close(code, reason);
    }
    this.#relay.onSessionClosed(this);
  }
}

/** How long after its authentication a connection decides a kick from another connection
 *  of its device by the two connections' times (#onKick) rather than yielding to it: far
 *  longer than a racing connection's SUB, PONG and kick take to reach it, so that two
 *  racing connections cannot both yield; short, since within it a gateway whose clock is
 *  behind stamps a newer connection earlier than an older one elsewhere. */
export const KICK_TIE_MS = 2_000;
/** A connection id: its authentication's time (ms, base 36, fixed width, so ids order as
 *  their times), '_', then 12 random bytes in hex (docs/ARCHITECTURE.md, "The bus"). */
const CONNECTION_TIME_DIGITS = 9;
const CONNECTION_ID_LENGTH = CONNECTION_TIME_DIGITS + 1 + 24;

export function newConnectionId(now = Date.now()): string {
  return `${now.toString(36).padStart(CONNECTION_TIME_DIGITS, '0')}_${hex(pooledRandomBytes(12))}`;
}

/** The time in a connection id made by newConnectionId, -1 for any other (an older
 *  gateway's 32 hex digits, the bus's eviction ''). */
export function connectionIdTime(id: string): number {
  if (id.length !== CONNECTION_ID_LENGTH || id.charCodeAt(CONNECTION_TIME_DIGITS) !== 0x5f) return -1;
  const t = parseInt(id.slice(0, CONNECTION_TIME_DIGITS), 36);
  return Number.isSafeInteger(t) ? t : -1;
}

/** retry_after_ms of an auth refused for the device's send-only connections here. */
const SEND_ONLY_RETRY_MS = 1_000;

/** The one answer to every resume that does not authenticate (a ticket that does not
 *  open here for any reason, or a wrong proof): the device signs on the same connection. */
function resumeRefused(): HushwireError {
  return new HushwireError(ErrorCode.RESUME_REFUSED, 'resumption ticket not accepted here: authenticate with a signature');
}

function sendOnlyAck(): HushwireError {
  return new HushwireError(ErrorCode.BAD_REQUEST, 'this connection is send-only (Auth.send_only): it receives no deliveries to acknowledge');
}

function notAuthenticated(): HushwireError {
  return new HushwireError(ErrorCode.NOT_AUTHENTICATED, 'authenticate first');
}

function macNumber(number: string): string {
  return createHmac('sha256', PER_PROCESS_MAC_KEY).update(number).digest('hex');
}

function timingSafeStringEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  return ea.length === eb.length && bytesEqual(ea, eb);
}

const CLIENT_FAULTS = new Set<string>([
  ErrorCode.BAD_FRAME, ErrorCode.UNKNOWN_OP, ErrorCode.BAD_REQUEST, ErrorCode.BAD_TOKEN,
  ErrorCode.NOT_AUTHENTICATED, ErrorCode.ALREADY_AUTHENTICATED, ErrorCode.BAD_NUMBER, ErrorCode.VERIFY_FAILED,
]);

function isClientFault(code: string): boolean {
  return CLIENT_FAULTS.has(code);
}

function errName(e: unknown): string {
  return e instanceof Error ? e.name : typeof e;
}
