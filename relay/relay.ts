// The Relay is the gateway's core, independent of any socket library: it owns the
// sessions of one gateway and the delivery path of an envelope.
//
// Delivery of one envelope (the sender is acknowledged only after one of these):
//   1. offer it live on the bus to whichever gateway holds the recipient device; that
//      gateway writes it to the socket and answers once the device acked it;
//   2. if nobody holds the device, it refused, or the ack did not come in time, check the
//      device is registered and store the envelope durably in its mailbox.
import type { Bus, DirectoryReadOptions } from './bus/bus.ts';
import type { Evaluator } from './evaluator.ts';
import type { Verifier } from './verifier/verifier.ts';
import { VerifierWatch } from './verifier/watch.ts';
import { RepeatedLog, type Logger } from './log.ts';
import { PATH_LABELS, OUTCOME_LABELS, type RelayMetrics } from './metrics.ts';
import type { RelayLimits } from './limits.ts';
import type { Socket } from '../gateway/transport/transport.ts';
import { Session } from './session.ts';
import { Directory } from './directory.ts';
import { EnvelopeLimiter, LimitName } from './limiter.ts';
import { VerifyGate } from './verify-gate.ts';
import type { Clock } from './token-bucket.ts';
import { Privacy } from './privacy/privacy.ts';
import type { PrivacyOptions } from './privacy/options.ts';
import { encodeRelayedIn, relayedIdStart } from './relayed-envelope.ts';
import { inEnvelopeOf, type InEnvelope } from './frame-in.ts';
import { encodeChallengeTail, mailboxMaxAgeField } from './frame-out.ts';
import { type EnvelopeProps, PROTOCOL_VERSION, SUITE_HPKE_X25519_CHACHA, ROUTE_BYTES, DEVICE_BYTES, ENVELOPE_ID_BYTES } from './wire.ts';
import { HushwireError, ErrorCode, CloseCode, toWireError } from './errors.ts';
import { recipientAt, type Recipient } from './tokens.ts';
import { hex, isBytes } from './bytes.ts';
import { ResumeTickets } from './resume-tickets.ts';
import { x25519PublicKey } from './crypto/x25519.ts';
import { hkdfSync, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { UNREGISTERED_LOOKBACK_MS, UNREGISTERED_SECOND_PASS_MS } from './bus/unregistered.ts';

/** How long a resumption ticket is valid unless set (--resume-ticket-ttl-s): a day, so a
 *  handset signs about once a day and after each gateway restart at most. */
export const DEFAULT_RESUME_TICKET_TTL_S = 86_400;

/** Resumption tickets (docs/PROTOCOL.md, section 13). */
export interface ResumeOptions {
  /** The ticket keys (32 bytes each; the first seals, all open: --resume-key-file).
   *  Absent: one key drawn at start, so tickets resume only at this gateway, until it
   *  restarts. */
  keys?: readonly Uint8Array[];
  /** Ticket lifetime in seconds (default DEFAULT_RESUME_TICKET_TTL_S); 0: no tickets are
   *  issued or accepted (the challenge carries no resume_key, a resume is refused). */
  ttlS?: number;
}

/** The X25519 secret of Challenge.resume_key: derived from the sealing ticket key
 *  (HKDF-SHA256, info "hushwire resume x25519 v1"), so gateways sharing
 *  --resume-key-file show the same resume_key and a handset can tell which of its
 *  tickets a gateway will open (client/resume.ts keeps them by resume_key), and it stays
 *  the same across restarts; a per-process ticket key gives a per-process resume_key.
 *  Whoever holds the ticket key can open tickets anyway: deriving this from it gives
 *  away nothing more. */
export function resumeKeyFromTicketKey(ticketKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ticketKey, new Uint8Array(0), 'hushwire resume x25519 v1', 32));
}

/** What a relay resumes with: the ticket keys, and the X25519 key pair ticket requests
 *  derive their secret with (resumeKeyFromTicketKey). */
export interface ResumeState {
  readonly tickets: ResumeTickets;
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Send-only sessions (Auth.send_only) one device may hold on one gateway at a time: a
 *  few concurrent CLI sends beside its listen. Each holds no bus subscription, but every
 *  connection has its own in-flight discovery and set_prekey allowances, so the bound
 *  keeps a device from multiplying them. Beyond it the auth is answered RATE_LIMITED and
 *  the socket closed 1013 TRY_AGAIN_LATER (docs/PROTOCOL.md). */
export const MAX_SEND_ONLY_PER_DEVICE = 4;
/** Directory reads one round of the send-only re-check keeps in flight. */
const SEND_ONLY_RECHECK_BATCH = 32;
/** Directory reads at a time when sessions are re-checked after the bus lost announcements (#gap). */
const GAP_RECHECK_BATCH = 64;
const GAP_REREAD = Object.freeze({ outcome: 'reread' });
/** The directory read of a send before it stores (#store): Bus.directoryGet's
 *  leaderIfInDoubt. */
const STORE_READ: DirectoryReadOptions = Object.freeze({ leaderIfInDoubt: true });
/** Reads of one session's record before a failed re-read is given up: ~1 minute of
 *  retries (the waits below). Right after a NATS restart JetStream may not answer yet;
 *  after a route between NATS nodes comes back, every JetStream API request made at the
 *  node that was cut failed for 5 s here, for over 14 s on a loaded machine (the meta
 *  leadership moved meanwhile in some runs): the heal's re-reads, which close a device
 *  that opted out during the cut, gave up after 4 reads over ~7 s and left its
 *  connection open for good (test/privacy/optout-route-cut.test.ts, 1 run in 5 with
 *  another test beside it). An undecided session costs one failed read per 5 s until then. */
const GAP_RECHECK_ATTEMPTS = 15;
/** The wait before a failed re-read is tried again (times the attempt squared, at most
 *  RECHECK_RETRY_MAX_MS: 0.5, 2, 4.5, then 5 s). */
const RECHECK_RETRY_MS = 500;
const RECHECK_RETRY_MAX_MS = 5_000;

export interface RelayOptions {
  bus: Bus;
  evaluator: Evaluator;
  verifier: Verifier;
  log: Logger;
  metrics: RelayMetrics;
  limits: RelayLimits;
  /** Discovery/opt-in budgets, idle expiry (defaults: relay/privacy/options.ts). */
  privacy?: Partial<PrivacyOptions>;
  /** Tests only: the clock of the verification code budget (relay/verify-gate.ts). */
  verifyClock?: Clock;
  /** Resumption tickets (defaults: a key of this process's own, a day). */
  resume?: ResumeOptions;
}

export interface ReceiptProps {
  id: Uint8Array;
  status: 'delivered' | 'stored' | 'failed';
  code: string;
  retryAfterMs: number;
}

/** How often in-flight deliveries are checked against their deadline (their timeouts are
 *  seconds; this adds at most this much to one). */
const INFLIGHT_SWEEP_MS = 50;


export class Relay {
  readonly bus: Bus;
  readonly evaluator: Evaluator;
  readonly verifier: Verifier;
  /** Counts the verifier's deliveries by outcome and logs failures (relay/verifier/watch.ts). */
  readonly verifierWatch: VerifierWatch;
  readonly log: Logger;
  readonly metrics: RelayMetrics;
  readonly limits: RelayLimits;
  readonly directory: Directory;
  /** Per-sender send rate and per-recipient byte budget (relay/limiter.ts). */
  readonly limiter: EnvelopeLimiter;
  /** The verification code budget and the cap on sockets waiting for a code (relay/verify-gate.ts). */
  readonly verifyGate: VerifyGate;
  /** Shared discovery budgets, fixed-size lookups, notices, idle expiry (relay/privacy/). */
  readonly privacy: Privacy;
  /** Resumption tickets (docs/PROTOCOL.md, section 13); null: turned off (ttl 0). */
  readonly resume: ResumeState | null;
  #sessions = new Map<number, Session>();
  /** The send-only sessions of each device on this gateway (Auth.send_only), keyed by
   *  `<routeTag>.<deviceToken>`: at most MAX_SEND_ONLY_PER_DEVICE each (the bound of
   *  takeSendOnlySlot), and closed with 4006 when this gateway learns the device
   *  unregistered (closeSendOnly). A key is deleted with its last session. */
  #sendOnly = new Map<string, Set<Session>>();
  /** Checks every limits.sendOnlyRecheckMs that the devices of #sendOnly are still
   *  registered (#recheckSendOnly); runs only while #sendOnly has a device. */
  #sendOnlyTimer: NodeJS.Timeout | null = null;
  #sendOnlyChecking = false;
  /** Receiving sessions whose authentication was checked against the announcements of
   *  devices leaving the directory (Session.#checkUnregistered: cleared without a read,
   *  or read again), in the last UNREGISTERED_LOOKBACK_MS, oldest first, with when: an
   *  announcement for one of them may have gone into a connection to NATS that was dying,
   *  so they read the directory after the bus got its connection back (#gap), and once
   *  more a few seconds later (#secondPass). */
  #cleared = new Map<Session, number>();
  #clearedTimer: NodeJS.Timeout | null = null;
  /** The second pass after a reconnect (#secondPass): its timer, the earliest check it
   *  covers (Infinity: none pending), and when it is due (the reconnect's time plus
   *  UNREGISTERED_SECOND_PASS_MS; a later reconnect moves it). Clock: unregisteredMark. */
  #passTimer: NodeJS.Timeout | null = null;
  #passFrom = Number.POSITIVE_INFINITY;
  #passDue = 0;
  /** When the last second pass took its sessions: an authentication whose read began
   *  before that and that is checked after it was not among them (authChecked). */
  #passedAt = Number.NEGATIVE_INFINITY;
  #accepting = 0;
  /** Register directory writes under way (Session #onRegister): one whose connection
   *  closes first begins its device's removal once it settles (settleUnfinished). */
  #registerWrites = 0;
  /** Removals of unfinished registrations under way (Privacy.eraseUnfinished, begun by
   *  closing connections): the gateway's close waits for them before the bus closes. */
  readonly #unfinishedRemovals = new Set<Promise<unknown>>();
  /** Discovery work in flight over all sessions (limits.maxDiscoveryInFlight); kept by
   *  Session.#discovery. */
  discoveryInFlight = 0;
  /** Sessions with envelopes in flight to their device, and the one timer that expires them. */
  #inflightSessions = new Set<Session>();
  #inflightTimer: NodeJS.Timeout | null = null;
  #challengeTail: Uint8Array | null = null;
  /** warnRepeated's lines (a fixed set of call sites' constant messages). */
  readonly #repeated: RepeatedLog;
  /** errorRepeated's lines, likewise. */
  readonly #repeatedErrors: RepeatedLog;
  /** The mailbox retention (challenge field 8) #challengeTail was encoded with. */
  #challengeAgeS = 0;

  constructor(opts: RelayOptions) {
    this.bus = opts.bus;
    this.evaluator = opts.evaluator;
    this.verifier = opts.verifier;
    this.log = opts.log;
    this.#repeated = new RepeatedLog((msg, fields) => this.log.warn(fields, msg));
    this.#repeatedErrors = new RepeatedLog((msg, fields) => this.log.error(fields, msg));
    this.metrics = opts.metrics;
    this.verifierWatch = new VerifierWatch(opts.metrics, opts.log);
    this.limits = opts.limits;
    this.directory = new Directory(opts.bus, opts.limits.maxDevicesPerRoute);
    this.limiter = new EnvelopeLimiter(opts.limits, opts.metrics);
    // The cluster's code budget lives in the bus's shared counters, on the wall clock
    // every gateway shares (a test's clock drives both budgets alike).
    this.verifyGate = new VerifyGate(opts.limits, opts.metrics, opts.log, opts.verifyClock, { bus: opts.bus, wallClock: opts.verifyClock ?? Date.now });
    this.privacy = new Privacy(this, opts.privacy);
    // Devices that leave the directory through any gateway: their send-only sessions here
    // end too (the receiving ones hear it from their subscription: relay/bus/unregistered.ts).
    opts.bus.watchUnregistered({
      unregistered: (key) => this.closeSendOnly(key),
      gap: (lostAt) => void this.#gap(lostAt),
      unconfirmed: (keys) => this.#unconfirmed(keys),
    });
    const ttlS = opts.resume?.ttlS ?? DEFAULT_RESUME_TICKET_TTL_S;
    if (ttlS === 0) {
      this.resume = null;
    } else {
      const keys = opts.resume?.keys ?? [new Uint8Array(randomBytes(32))];
      const secretKey = resumeKeyFromTicketKey(keys[0]!);
      this.resume = {
        tickets: new ResumeTickets(keys, ttlS),
        secretKey,
        publicKey: x25519PublicKey(secretKey),
      };
    }
  }

  /** The challenge fields every connection gets alike (relay/frame-out.ts), encoded on
   *  first use: the evaluator's keys and the limits are fixed for the relay's life. The
   *  mailbox retention is what the bus found the mailbox streams keep (it may grow at a
   *  reconnect's look at them: another gateway raised --mailbox-max-age-s), so the tail
   *  is encoded again when that changes. */
  challengeTail(): Uint8Array {
    const ageS = mailboxMaxAgeField(this.bus.mailboxMaxAgeMs());
    if (this.#challengeTail === null || ageS !== this.#challengeAgeS) {
      this.#challengeAgeS = ageS;
      this.#challengeTail = encodeChallengeTail({
        oprfPublicKey: this.evaluator.publicKey,
        oprfShareKeys: this.evaluator.shareKeys,
        maxFrameBytes: this.limits.maxFrameBytes,
        authDeadlineMs: this.limits.authTimeoutMs,
        protocol: PROTOCOL_VERSION,
        mailboxMaxAgeS: ageS,
        resumeKey: this.resume?.publicKey ?? null,
      });
    }
    return this.#challengeTail;
  }

  /** acceptEnvelope calls not finished yet (a drain waits for them before closing the bus). */
  get acceptsInFlight(): number {
    return this.#accepting;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Session #onRegister, around a register's directory write. */
  registerWriteStarted(): void {
    this.#registerWrites++;
  }

  registerWriteEnded(): void {
    this.#registerWrites--;
  }

  /** Session #eraseUnfinished: a removal begun (waited for by settleUnfinished). */
  trackUnfinishedRemoval(removal: Promise<unknown>): void {
    this.#unfinishedRemovals.add(removal);
    void removal.finally(() => this.#unfinishedRemovals.delete(removal)).catch(() => undefined);
  }

  /** Register writes and removals of unfinished registrations under way. */
  get unfinishedInFlight(): number {
    return this.#registerWrites + this.#unfinishedRemovals.size;
  }

  /**
   * For the gateway's close, once every connection is closed and before the bus closes:
   * waits for the register writes under way (a closed connection's removes its device
   * once it settles) and the removals of unfinished registrations that closing
   * connections began (Privacy.eraseUnfinished), at most `waitMs`. Before, the close
   * aborted them at privacy.stop() and closed NATS under them: each failed, its device
   * left listed (counting against the number's devices) until the idle expiry. Past
   * `waitMs` those still under way are given up (Privacy.abortUnfinished: counted
   * `failed`, left to the idle expiry). Resolves whether all had finished.
   */
  async settleUnfinished(waitMs: number): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    while (this.unfinishedInFlight > 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.privacy.abortUnfinished();
        return false;
      }
      await sleep(Math.min(20, left));
    }
    return true;
  }

  sessions(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  // ---- transport callbacks (wired by gateway/server.ts)

  open(socket: Socket): void {
    const s = new Session(this, socket);
    this.#sessions.set(socket.id, s);
    this.metrics.connections.inc();
    this.metrics.connectionsTotal.inc();
  }

  message(socket: Socket, data: Uint8Array): void {
    this.metrics.framesIn.inc();
    this.#sessions.get(socket.id)?.onFrame(data);
  }

  close(socket: Socket, code: number): void {
    const s = this.#sessions.get(socket.id);
    if (!s) return;
    s.close(code, 'socket closed');
  }

  // ---- session callbacks

  onAuthenticated(_s: Session): void {}

  /**
   * A failure that happens per connection (a mailbox drain, a post-auth directory
   * update) and so, while the bus fails, on every connection at once and again at each
   * retry: said through RepeatedLog (relay/log.ts): at most one warn line per 10 s per
   * message, with how many happened since the last line (`times`), the first at once.
   * `msg` must be a constant (it keys the count).
   */
  warnRepeated(msg: string, fields: Record<string, unknown>): void {
    this.#repeated.note(msg, fields);
  }

  /** warnRepeated at error level: an op failing INTERNAL ('op failed'), which a fault
   *  below the sessions (the bus, the evaluator) makes every connection's ops do at once. */
  errorRepeated(msg: string, fields: Record<string, unknown>): void {
    this.#repeatedErrors.note(msg, fields);
  }

  onSessionClosed(s: Session): void {
    if (this.#sessions.delete(s.conn)) this.metrics.connections.dec();
    // The last cleared session gone (a shutdown closes them all): no prune timer left.
    if (this.#cleared.delete(s) && this.#cleared.size === 0 && this.#clearedTimer !== null) {
      clearTimeout(this.#clearedTimer);
      this.#clearedTimer = null;
    }
    const key = s.sendOnlyKey;
    if (key !== '') {
      const set = this.#sendOnly.get(key);
      if (set !== undefined && set.delete(s) && set.size === 0) this.#sendOnly.delete(key);
      if (this.#sendOnly.size === 0 && this.#sendOnlyTimer !== null) {
        clearInterval(this.#sendOnlyTimer);
        this.#sendOnlyTimer = null;
      }
    }
  }

  /** A receiving session's authentication was checked against the bus's announcements
   *  (#cleared), its read having begun at `mark`. True when a second pass after a
   *  reconnect (#secondPass) took its sessions since then, without this one: it reads its
   *  record at the leader now. */
  authChecked(s: Session, mark: number): boolean {
    const now = this.bus.unregisteredMark();
    this.#pruneCleared(now);
    this.#cleared.set(s, now);
    this.#armClearedTimer();
    return mark < this.#passedAt;
  }

  /** Prunes #cleared when its oldest entry is due (at most once a second): after a storm
   *  its last entries would otherwise stay until the next authentication. */
  #armClearedTimer(): void {
    if (this.#clearedTimer !== null) return;
    let oldest: number | undefined;
    for (const at of this.#cleared.values()) {
      oldest = at;
      break;
    }
    if (oldest === undefined) return;
    const wait = Math.max(1_000, Math.ceil(oldest + UNREGISTERED_LOOKBACK_MS - this.bus.unregisteredMark()) + 1);
    this.#clearedTimer = setTimeout(() => {
      this.#clearedTimer = null;
      this.#pruneCleared(this.bus.unregisteredMark());
      this.#armClearedTimer();
    }, wait);
    this.#clearedTimer.unref?.();
  }

  #pruneCleared(now: number): void {
    const oldest = now - UNREGISTERED_LOOKBACK_MS;
    for (const [old, at] of this.#cleared) {
      if (at >= oldest) break;
      this.#cleared.delete(old);
    }
  }

  /** The bus lost its connection to NATS (found at `lostAt`) and has it back: sessions it
   *  cleared since UNREGISTERED_LOOKBACK_MS before that read the directory
   *  (Session.recheckRegistered), GAP_RECHECK_BATCH at a time (#recheck). Authentications
   *  under way read the record themselves (the bus answers them 'unknown'). */
  async #gap(lostAt: number): Promise<void> {
    const from = lostAt - UNREGISTERED_LOOKBACK_MS;
    this.#armSecondPass(from);
    await this.#recheck(this.#checkedSince(from), 1);
  }

  /** The sessions of #cleared checked at `from` or later (kept there: the second pass
   *  and a later loss read them again). */
  #checkedSince(from: number): Session[] {
    const due: Session[] = [];
    for (const [s, at] of this.#cleared) if (at >= from) due.push(s);
    return due;
  }

  /** The reads of #gap are made at the reconnect. A removal announced as intended while
   *  the bus was disconnected (the intent lost to it) may land after them, and its
   *  gateway die before it is renewed or announced: nothing would tell this one. So
   *  UNREGISTERED_SECOND_PASS_MS after the reconnect (past the next renewal it would
   *  hear), the sessions checked since `from` read their record again, at the leader
   *  (where a removal landed a moment ago is seen), GAP_RECHECK_BATCH at a time. One
   *  pass pending at a time: a reconnect while one is pending moves it, and it covers
   *  the earliest `from`. */
  #armSecondPass(from: number): void {
    if (from < this.#passFrom) this.#passFrom = from;
    this.#passDue = this.bus.unregisteredMark() + UNREGISTERED_SECOND_PASS_MS;
    if (this.#passTimer !== null) return;
    const wait = (): void => {
      const left = this.#passDue - this.bus.unregisteredMark();
      this.#passTimer = setTimeout(left > 0 ? wait : () => void this.#secondPass(), Math.max(1, Math.ceil(left)));
      this.#passTimer.unref?.();
    };
    wait();
  }

  async #secondPass(): Promise<void> {
    this.#passTimer = null;
    const from = this.#passFrom;
    this.#passFrom = Number.POSITIVE_INFINITY;
    this.#passedAt = this.bus.unregisteredMark();
    await this.#recheck(this.#checkedSince(from), 1, true);
  }

  /** Removals announced as intended whose announcement did not follow (the removing
   *  gateway may have died between its removal and its announcement:
   *  relay/bus/unregistered.ts): the receiving sessions here of those devices read the
   *  record at the directory's leader (#recheck: a read that fails is tried again). The
   *  send-only ones are #recheckSendOnly's, and closed with a receiving one found gone. */
  #unconfirmed(keys: string[]): void {
    this.metrics.removalIntentsUnconfirmed.inc(keys.length);
    const wanted = new Set(keys);
    const due: Session[] = [];
    for (const s of this.#sessions.values()) {
      const k = s.deviceKey;
      if (k !== null && s.authenticated && s.sendOnlyKey === '' && wanted.has(`${k.tag}.${k.devTok}`)) due.push(s);
    }
    if (due.length > 0) void this.#recheck(due, 1, true);
  }

  /** An authentication's fallback read of its record (Session.#checkUnregistered: an
   *  announcement may have been missed) failed: read again, as #gap's are. */
  recheckAfterFailedRead(s: Session, atLeader = false): void {
    void sleep(RECHECK_RETRY_MS, undefined, { ref: false }).then(() => (s.authenticated ? this.#recheck([s], 2, atLeader) : undefined));
  }

  /** Sessions read their device's record (Session.recheckRegistered), GAP_RECHECK_BATCH
   *  at a time; a read that fails (right after a NATS restart, or a route's return,
   *  JetStream may not answer yet) is tried again, until GAP_RECHECK_ATTEMPTS reads over
   *  ~1 minute. */
  async #recheck(due: Session[], attempt: number, atLeader = false): Promise<void> {
    for (; due.length > 0; attempt++) {
      const failed: Session[] = [];
      for (let i = 0; i < due.length; i += GAP_RECHECK_BATCH) {
        const batch = due.slice(i, i + GAP_RECHECK_BATCH);
        const decided = await Promise.all(batch.map((s) => {
          this.metrics.authOptoutChecks.inc(GAP_REREAD);
          return s.recheckRegistered(atLeader);
        }));
        decided.forEach((ok, j) => { if (!ok) failed.push(batch[j]!); });
      }
      if (failed.length === 0 || attempt >= GAP_RECHECK_ATTEMPTS) return;
      await sleep(Math.min(RECHECK_RETRY_MS * attempt * attempt, RECHECK_RETRY_MAX_MS), undefined, { ref: false });
      due = failed.filter((s) => s.authenticated);
    }
  }

  /** A slot for a send-only session of the device `key` (`<routeTag>.<deviceToken>`):
   *  false when the device already holds MAX_SEND_ONLY_PER_DEVICE of them on this
   *  gateway (the session then refuses the auth: RATE_LIMITED, close 1013). Given back
   *  by onSessionClosed (the session's sendOnlyKey). */
  takeSendOnlySlot(key: string, s: Session): boolean {
    let set = this.#sendOnly.get(key);
    if (set === undefined) {
      set = new Set();
      this.#sendOnly.set(key, set);
    }
    if (set.size >= MAX_SEND_ONLY_PER_DEVICE) return false;
    set.add(s);
    if (this.#sendOnlyTimer === null) {
      this.#sendOnlyTimer = setInterval(() => void this.#recheckSendOnly(), this.limits.sendOnlyRecheckMs);
      this.#sendOnlyTimer.unref?.();
    }
    return true;
  }

  /** Closes (4006) the send-only sessions of devices no longer in the directory: opted
   *  out, or expired, through another gateway, whose announcement this gateway missed
   *  (disconnected from NATS then; send-only sessions subscribe nothing of their own on
   *  the bus). One directory read per device, 32 at a
   *  time; a device that reads as gone is read again at the leader before its sessions
   *  are closed (a lagging replica must not end a registered device's send), and a read
   *  that fails decides nothing (the next round reads again). One round at a time. */
  async #recheckSendOnly(): Promise<void> {
    if (this.#sendOnlyChecking) return;
    this.#sendOnlyChecking = true;
    try {
      const keys = [...this.#sendOnly.keys()];
      for (let i = 0; i < keys.length; i += SEND_ONLY_RECHECK_BATCH) {
        await Promise.all(keys.slice(i, i + SEND_ONLY_RECHECK_BATCH).map(async (key) => {
          if (!(await this.#stillRegistered(key))) {
            this.metrics.sendOnlyOptOutCloses.inc();
            this.closeSendOnly(key);
          }
        }));
      }
    } finally {
      this.#sendOnlyChecking = false;
    }
  }

  async #stillRegistered(key: string): Promise<boolean> {
    const dot = key.indexOf('.');
    const tag = key.slice(0, dot);
    const device = new Uint8Array(Buffer.from(key.slice(dot + 1), 'hex'));
    try {
      if ((await this.directory.findDevice(tag, device)) !== null) return true;
      return (await this.directory.findDevice(tag, device, { fromLeader: true })) !== null;
    } catch {
      return true;
    }
  }

  /** Closes the device's send-only sessions on this gateway with 4006 UNREGISTERED (its
   *  opt-out made here, an `unregistered` control message that reached one of its
   *  receiving sessions here, or the announcement every gateway hears of it). Send-only
   *  sessions subscribe nothing of their own on the bus: should the announcement be lost
   *  here, #recheckSendOnly finds the device gone (docs/PROTOCOL.md section 12). */
  closeSendOnly(key: string, except: Session | null = null): void {
    const set = this.#sendOnly.get(key);
    if (set === undefined) return;
    for (const s of [...set]) if (s !== except) s.close(CloseCode.UNREGISTERED, 'unregistered');
  }

  // ---- per-turn output

  /** Sessions with ops queued this turn: one setImmediate writes all their frames. */
  #toFlush: Session[] = [];

  flushThisTurn(s: Session): void {
    if (this.#toFlush.push(s) === 1) setImmediate(() => this.#flushAll());
  }

  #flushAll(): void {
    const list = this.#toFlush;
    this.#toFlush = [];
    for (const s of list) {
      try {
        s.flush();
      } catch (e) {
        // one socket's failure must not keep the others' frames from going out
        this.log.error({ conn: s.conn, err: e instanceof Error ? e.name : 'error' }, 'frame write failed');
      }
    }
  }

  // ---- in-flight deadlines

  /** A session handed its device an envelope: sweep its deadlines until none is left. */
  watchInflight(s: Session): void {
    this.#inflightSessions.add(s);
    if (this.#inflightTimer === null) {
      this.#inflightTimer = setInterval(() => this.#sweepInflight(), INFLIGHT_SWEEP_MS);
      this.#inflightTimer.unref?.();
    }
  }

  #sweepInflight(): void {
    const now = performance.now(); // the in-flight deadlines' clock (Session #handOver)
    for (const s of this.#inflightSessions) {
      if (!s.expireInflight(now)) this.#inflightSessions.delete(s);
    }
    if (this.#inflightSessions.size === 0 && this.#inflightTimer !== null) {
      clearInterval(this.#inflightTimer);
      this.#inflightTimer = null;
    }
  }

  // ---- delivery

  /** Validates one envelope from a sender and delivers or stores it. Never throws:
   *  failures become a `failed` receipt with a code. `sender` keys the sender's send-rate
   *  bucket (the session passes its device). */
  acceptEnvelope(env: EnvelopeProps, sender?: string): Promise<ReceiptProps> {
    return new Promise<ReceiptProps>((resolve) => this.acceptEnvelopeCb(env, sender, resolve));
  }

  /** acceptEnvelope with a callback: `done` is called exactly once with the receipt.
   *  The envelope's fields are checked as given, then it takes the path of an envelope
   *  read from a frame (acceptInboundCb). */
  acceptEnvelopeCb(env: EnvelopeProps, sender: string | undefined, done: (receipt: ReceiptProps) => void): void {
    try {
      checkEnvelope(env);
    } catch (e) {
      done(this.#failed(e, isBytes(env.id) ? env.id : NO_ID, performance.now()));
      return;
    }
    this.acceptInboundCb(inEnvelopeOf(env), sender, done, performance.now(), Date.now());
  }

  /** The session's send path: one envelope as offsets into its frame (relay/frame-in.ts),
   *  no promise and no view per field. `done` is called exactly once with the receipt.
   *  The rate checks run synchronously, so the envelopes of one send are counted in
   *  order. Nothing of the frame is kept once this returns: the relayed encoding is a
   *  copy, the receipt's id a view of that copy. `started` (performance.now(): the
   *  latency metric's start and the rate limits' clock) and `serverTs` (Date.now(): the
   *  envelope's server_ts) are read once per inbound frame by the session, not per
   *  envelope: a frame of sixteen sends made ~64 clock reads (~55 ns each here). */
  acceptInboundCb(e: InEnvelope, sender: string | undefined, done: (receipt: ReceiptProps) => void, started: number, serverTs: number): void {
    this.#accepting++;
    // No named closure here: run from source (tsx), every `const f = () => ...` is
    // wrapped in a naming call each time it is created, and this runs per envelope.
    // The refusals that come in floods (over capacity, a sender or recipient over its
    // rate) are receipts made without an Error: its stack trace cost ~6 µs, more than
    // relaying an envelope, so an overloaded gateway spent most of its time refusing
    // (docs/BENCHMARKS.md, "Overload").
    if (this.#accepting > this.limits.maxSendsInFlight) {
      // Over capacity: refused before any work, so the work accepted keeps flowing.
      this.metrics.rateLimited.inc(SENDS_IN_FLIGHT_LABEL);
      this.#refuseIn(e, ErrorCode.UNAVAILABLE, SENDS_BUSY_RETRY_MS, done, started);
      return;
    }
    try {
      checkInEnvelope(e);
      if (sender !== undefined) {
        const wait = this.limiter.sendWait(sender, started);
        if (wait > 0) {
          this.#refuseIn(e, ErrorCode.RATE_LIMITED, wait, done, started);
          return;
        }
      }
      const to = recipientAt(e.data, e.routeStart, e.deviceStart);
      // What crosses the bus and is stored: no route and no device (the subject already
      // names the device by tokens, and the recipient knows its own ids, which the AAD
      // binds), so no NATS message or JetStream record holds a full route id.
      const encoded = encodeRelayedIn(e, serverTs);
      if (encoded.length > this.limits.maxEnvelopeBytes) {
        throw new HushwireError(ErrorCode.TOO_LARGE, `envelope over ${this.limits.maxEnvelopeBytes} bytes`);
      }
      const wait = this.limiter.recipientWait(to.key, encoded.length, started);
      if (wait > 0) {
        this.#refuseIn(e, ErrorCode.RATE_LIMITED, wait, done, started);
        return;
      }
      this.metrics.envelopesIn.inc();
      // The callback keeps nothing of the inbound frame alive while the delivery is in
      // flight (the receipt's id is a view into the relayed copy, the recipient is its
      // cached tokens): the frame and its envelope objects die young, instead of
      // surviving scavenges with every message in flight.
      const idAt = relayedIdStart(e.version, ENVELOPE_ID_BYTES);
      const sentId = encoded.subarray(idAt, idAt + ENVELOPE_ID_BYTES);
      this.bus.offerLive(to, encoded, this.limits.liveTimeoutMs, (delivered) => {
        if (delivered) {
          this.metrics.deliveries.inc(PATH_LABELS.live);
          this.metrics.sendLatency.observe(OUTCOME_LABELS.delivered, (performance.now() - started) / 1000);
          this.#accepted(done, { id: sentId, status: 'delivered', code: '', retryAfterMs: 0 });
          return;
        }
        this.#store(to, sentId, encoded, started)
          .then((r) => this.#accepted(done, r), (err: unknown) => this.#accepted(done, this.#failed(err, sentId, started)));
      });
    } catch (err) {
      this.#accepted(done, this.#failed(err, e.data.subarray(e.idStart, e.idEnd), started));
    }
  }

  /** acceptInboundCb's refusal of `e` with no Error made: its failed receipt, at once. */
  #refuseIn(e: InEnvelope, code: ErrorCode, retryAfterMs: number, done: (receipt: ReceiptProps) => void, started: number): void {
    this.#accepted(done, this.#refused(code, retryAfterMs, e.data.subarray(e.idStart, e.idEnd), started));
  }

  #accepted(done: (receipt: ReceiptProps) => void, r: ReceiptProps): void {
    this.#accepting--;
    done(r);
  }

  /** Offline (or slow) recipient: into its mailbox, if it is a registered device. */
  async #store(to: Recipient, id: Uint8Array, encoded: Uint8Array, started: number): Promise<ReceiptProps> {
    const { tag, device: devTok } = to;
    // At the leader while the bus doubts its copy (a route cut's far replica still lists
    // a device opted out meanwhile): UNAVAILABLE then, never `stored` for it.
    if (!(await this.directory.findDevice(tag, Buffer.from(devTok, 'hex'), STORE_READ))) {
      throw new HushwireError(ErrorCode.NOT_REGISTERED, 'recipient device is not registered');
    }
    await this.bus.mailboxPut(tag, devTok, hex(id), encoded);
    this.metrics.mailboxStores.inc();
    // The device may have connected (and found its mailbox empty) while this store was
    // on its way: tell whichever gateway holds it to look again. Fire and forget: with
    // nobody subscribed, NATS drops it at once.
    this.bus.publishControl(tag, devTok, { kind: 'mail' }).catch(() => undefined);
    this.metrics.deliveries.inc(PATH_LABELS.mailbox);
    this.metrics.sendLatency.observe(OUTCOME_LABELS.stored, (performance.now() - started) / 1000);
    return { id, status: 'stored', code: '', retryAfterMs: 0 };
  }

  #failed(e: unknown, id: Uint8Array, started: number): ReceiptProps {
    const w = toWireError(e);
    if (w.code === ErrorCode.INTERNAL) this.log.error({ err: e instanceof Error ? e.name : 'error' }, 'envelope delivery failed');
    return this.#refused(w.code, w.retryAfterMs, id, started);
  }

  /** A failed receipt, counted as every failure is. */
  #refused(code: ErrorCode, retryAfterMs: number, id: Uint8Array, started: number): ReceiptProps {
    this.metrics.errors.inc(errorLabel(code));
    this.metrics.sendLatency.observe(OUTCOME_LABELS.failed, (performance.now() - started) / 1000);
    return { id, status: 'failed', code, retryAfterMs };
  }

  /** Closes every session with the code (used at shutdown). */
  closeAll(code: number, reason: string): void {
    for (const s of [...this.#sessions.values()]) s.close(code, reason);
  }
}

const NO_ID = new Uint8Array(0);
/** retry_after_ms of a send refused over limits.maxSendsInFlight (the SDK waits at least
 *  this, plus its full-jitter backoff). */
export const SENDS_BUSY_RETRY_MS = 500;
const SENDS_IN_FLIGHT_LABEL = { limit: LimitName.SENDS_IN_FLIGHT };
/** One label object per error code (a fixed set), not one per refusal. */
const ERROR_LABELS = new Map<string, { code: string }>();
function errorLabel(code: string): { code: string } {
  let l = ERROR_LABELS.get(code);
  if (l === undefined) ERROR_LABELS.set(code, (l = { code }));
  return l;
}

/** checkEnvelope for an envelope read from a frame: the same checks in the same order,
 *  on the lengths of its fields (the decoder already made every field its type). */
function checkInEnvelope(e: InEnvelope): void {
  if (e.version !== PROTOCOL_VERSION) throw new HushwireError(ErrorCode.BAD_REQUEST, 'unsupported envelope version');
  if (e.suite !== SUITE_HPKE_X25519_CHACHA) throw new HushwireError(ErrorCode.BAD_REQUEST, 'unsupported envelope suite');
  if (e.routeEnd - e.routeStart !== ROUTE_BYTES) throw new HushwireError(ErrorCode.BAD_TOKEN, `route must be ${ROUTE_BYTES} bytes`);
  if (e.deviceEnd - e.deviceStart !== DEVICE_BYTES) throw new HushwireError(ErrorCode.BAD_TOKEN, `device must be ${DEVICE_BYTES} bytes`);
  if (e.idEnd - e.idStart !== ENVELOPE_ID_BYTES) throw new HushwireError(ErrorCode.BAD_REQUEST, `id must be ${ENVELOPE_ID_BYTES} bytes`);
  if (e.encEnd - e.encStart !== 32) throw new HushwireError(ErrorCode.BAD_REQUEST, 'enc must be 32 bytes');
  if (e.ctEnd - e.ctStart < 16) throw new HushwireError(ErrorCode.BAD_REQUEST, 'ciphertext missing');
}

function checkEnvelope(env: EnvelopeProps): asserts env is EnvelopeProps & { route: Uint8Array; device: Uint8Array; id: Uint8Array } {
  if (env.version !== PROTOCOL_VERSION) throw new HushwireError(ErrorCode.BAD_REQUEST, 'unsupported envelope version');
  if (env.suite !== SUITE_HPKE_X25519_CHACHA) throw new HushwireError(ErrorCode.BAD_REQUEST, 'unsupported envelope suite');
  if (!isBytes(env.route, ROUTE_BYTES)) throw new HushwireError(ErrorCode.BAD_TOKEN, `route must be ${ROUTE_BYTES} bytes`);
  if (!isBytes(env.device, DEVICE_BYTES)) throw new HushwireError(ErrorCode.BAD_TOKEN, `device must be ${DEVICE_BYTES} bytes`);
  if (!isBytes(env.id, ENVELOPE_ID_BYTES)) throw new HushwireError(ErrorCode.BAD_REQUEST, `id must be ${ENVELOPE_ID_BYTES} bytes`);
  if (!isBytes(env.enc, 32)) throw new HushwireError(ErrorCode.BAD_REQUEST, 'enc must be 32 bytes');
  if (!isBytes(env.ciphertext) || env.ciphertext.length < 16) throw new HushwireError(ErrorCode.BAD_REQUEST, 'ciphertext missing');
}


