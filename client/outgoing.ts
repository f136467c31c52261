// The send path: one sealed envelope per recipient device, sent in one `send` op, done
// only when every receipt says delivered or stored. Transient failures are retried
// with the SAME envelopes (same ids) until the send's deadline, so a retry can never
// show a message twice: the recipient's SDK drops a repeated id (the relay drops only
// some repeats: a mailbox put within its duplicate window, docs/CLIENT.md). A NOT_REGISTERED receipt means the device list
// went stale (a cached one, a replica behind an opt-out, an opt-out between the lookup and the send): look up afresh
// (at most MAX_RELOOKS times a send) and send to the devices of the current list that do not have the message yet.
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { sealEnvelope, CONTENT_TYPE_TEXT } from '../relay/crypto/seal.ts';
import { HushwireError, ErrorCode, wireErrorCode, type ErrorCode as ErrorCodeT } from '../relay/errors.ts';
import { ENVELOPE_ID_BYTES, type EnvelopeProps } from '../relay/wire.ts';
import { backoffCeiling, fullJitterDelay } from './backoff.ts';
import { notRegistered, type Discovery, type VerifiedDevice, type Requester } from './discovery.ts';
import { wasAnsweredByGateway, wasUnanswered } from './connection-core.ts';
import { timerDelay } from './timer-delay.ts';

export interface SenderKeys {
  route: Uint8Array;
  device: Uint8Array;
  identitySecret: Uint8Array;
  identityPublic: Uint8Array;
  number: string;
}

/**
 * The longest text send() takes, in bytes of UTF-8 (65,341 ASCII characters; a
 * character outside ASCII takes 2 to 4). The sealed plaintext holds at most 65,535
 * bytes (relay/crypto/pad.ts), and the sender fields around the text take at most 194
 * of them: route 34, device 18, identity key 34, number 18, signature 66, timestamp,
 * sequence, content type and the text's own length prefix 24.
 */
export const MAX_TEXT_BYTES = 65_341;

export type ReceiptStatus = 'delivered' | 'stored';

export interface SendReceipt {
  /** Envelope id (hex). */
  id: string;
  /** Recipient device id (hex). */
  device: string;
  status: ReceiptStatus;
}

export interface SendResult {
  /** The id of the first envelope; for a one-device recipient, the id the recipient sees. */
  id: string;
  /** 'delivered' when every device acknowledged it, else 'stored'. */
  status: ReceiptStatus;
  receipts: SendReceipt[];
}

export interface SealedForDevice {
  device: VerifiedDevice;
  envelope: EnvelopeProps;
}

/** Seals `body` for each device (the bench reuses this with pre-fetched devices). */
export function sealForDevices(
  me: SenderKeys,
  route: Uint8Array,
  devices: VerifiedDevice[],
  body: Uint8Array,
  nextSeq: (route: Uint8Array, device: Uint8Array) => number,
  clientTs: number = Date.now(),
): SealedForDevice[] {
  return devices.map((d) => ({
    device: d,
    envelope: sealEnvelope({
      recipient: { route, device: d.device, prekey: d.prekey },
      sender: me,
      body,
      contentType: CONTENT_TYPE_TEXT,
      seq: nextSeq(route, d.device),
      clientTs,
      id: randomBytes(ENVELOPE_ID_BYTES),
    }),
  }));
}

const RETRIABLE = new Set<string>([ErrorCode.UNAVAILABLE, ErrorCode.RATE_LIMITED, ErrorCode.TIMEOUT]);

/** How long after the last receipt that engaged it (pacesStream) the pacer keeps spacing sends. */
const PACE_HOLD_MS = 2_000;

/**
 * Whether a failed receipt slows the client's whole outgoing stream (SendPacer), and not
 * only the retry of the send it answered.
 *
 * - RATE_LIMITED: the sender's own send rate (its bucket at the gateway, or the
 *   recipient's): retry_after_ms is the time until a token, and every send of the
 *   client meets the same bucket.
 * - UNAVAILABLE with retry_after_ms: the gateway, or the bus behind it, has no room for
 *   more work now, and says for how long: over --max-sends-in-flight (500 ms), the
 *   mailbox store's request pool full or NATS lost (1000 ms). That is the gateway's
 *   capacity, not this sender's rate, but the remedy is the same: every queued send of
 *   the client would meet the same full gateway. Retried each on its own (after
 *   max(retry_after_ms, backoff), as before), the refused sends of a queue all came back
 *   in the same instant, from every handset the gateway had refused, and were refused
 *   again; spaced by retry_after_ms, a handset's sends reach it as a slow stream that
 *   stops being slow 2 s after the last refusal.
 * - UNAVAILABLE without retry_after_ms says nothing of the gateway's room (a refusal of
 *   that one envelope); a lost connection, the SDK's own UNAVAILABLE, is never a receipt
 *   (its resends wait for the reconnect and a random share of their backoff). Both are
 *   retried alone, after their backoff, as before.
 */
export function pacesStream(code: string, retryAfterMs: number): boolean {
  return code === ErrorCode.RATE_LIMITED || (code === ErrorCode.UNAVAILABLE && retryAfterMs > 0);
}

/**
 * Whether the error a `send` op itself failed with (not a receipt) slows the client's
 * whole outgoing stream: the gateway's own Error op (wasAnsweredByGateway) refusing the
 * whole op RATE_LIMITED or UNAVAILABLE, with or without retry_after_ms. Such an answer
 * refused every envelope of the op, for no envelope's fault: the gateway (or something
 * in front of it) takes no sends from this client now, and every queued send would meet
 * the same refusal. (The gateway of this repository refuses sends per envelope, in
 * receipts; a whole-op refusal comes from another implementation or version, or a proxy
 * in front of one.) The SDK's own errors never pace: a lost connection or a deadline
 * (UNAVAILABLE, TIMEOUT; resent after the reconnect and their backoff), 'too many
 * requests pending' (RATE_LIMITED, this client's own bound), a closed client.
 */
export function opPacesStream(e: unknown): e is HushwireError {
  return e instanceof HushwireError && wasAnsweredByGateway(e) && (e.code === ErrorCode.RATE_LIMITED || e.code === ErrorCode.UNAVAILABLE);
}

/** The full-jitter backoff the pacer spaces sends by after whole-op refusals that gave no
 *  retry_after_ms: the send retries' own (250 ms doubling to 5 s). */
const PACE_BACKOFF = { baseMs: 250, capMs: 5_000 };

/**
 * Spaces a client's sends while the gateway rate-limits them or is out of room, by what
 * the gateway says: the retry_after_ms of each receipt that paces the stream
 * (pacesStream: RATE_LIMITED, the time until its bucket has a token; UNAVAILABLE with
 * retry_after_ms, the gateway's capacity), or of a send op refused whole (opPacesStream;
 * one without retry_after_ms spaces by an equal-jitter backoff instead: refused), becomes
 * the gap between two send ops, for every send of the client, first attempts and retries
 * alike, until none came for a while. Only send ops take this pacer's slots:
 * registration, prekey rotation and ticket requests neither wait for it nor tell it.
 * Slots are taken in the order the sends ask for them, and a retry keeps its envelopes
 * (ids and sequence numbers), so pacing loses, repeats and reorders nothing. A send
 * waiting for its turn, or for its retry after a refusal that paced the stream, is
 * counted in the pacer's queue (join, leave; deliverToRoute), and while any is, the
 * pacing lasts past its quiet period, so a new send takes the turn after the last one
 * taken, behind those waiting, instead of going straight out ahead of them; it ends
 * once none waits and the quiet period and the turn after the last one have passed.
 * Nothing server-specific is built in: without such answers it does nothing.
 *
 * A client's lookups are paced by instances of their own (one for evaluate ops, one for
 * lookup ops), by the same rules and with the same queue, fed by their own whole-op
 * refusals (client/lookup-pacing.ts). A gateway's lookup limits are not its send
 * limits, so neither stream waits for the other.
 */
export class SendPacer {
  private gapMs = 0;
  private nextSlot = 0;
  private limitedUntil = 0;
  /** Ops waiting in the queue (join, leave), and those of them waiting for a turn taken. */
  private waiting = 0;
  private turns = 0;
  /** Backoff level of whole-op refusals without retry_after_ms in this spell of pacing
   *  (0: none), and when it last rose. */
  private level = 0;
  private raisedAt = 0;

  /** A receipt that paces the stream (pacesStream) with this retry_after_ms. */
  limited(retryAfterMs: number, now = Date.now()): void {
    this.lapse(now);
    this.engage(retryAfterMs, now);
  }

  /** Whether the pacing lasts: its hold has not passed, or an op waits in the queue. */
  private pacing(now: number): boolean {
    return now < this.limitedUntil || this.waiting > 0;
  }

  /** Ends a spell of pacing whose hold has passed, with no op waiting in the queue. */
  private lapse(now: number): void {
    if (this.pacing(now)) return;
    this.gapMs = 0;
    this.nextSlot = 0;
    this.level = 0;
  }

  /** Spaces send ops by `ms` (1 ms to 60 s; never less than the gap already set while the
   *  pacing lasts), from now until PACE_HOLD_MS (or the gap) after this. */
  private engage(ms: number, now: number): void {
    const gap = Math.max(1, Math.min(ms, 60_000));
    this.gapMs = this.pacing(now) ? Math.max(this.gapMs, gap) : gap;
    this.limitedUntil = now + Math.max(PACE_HOLD_MS, gap);
    this.nextSlot = Math.max(this.nextSlot, now + gap);
  }

  /**
   * A send op the gateway refused whole (opPacesStream), sent at `sentAt`. With a
   * retry_after_ms it paces as a receipt does (limited). Without one the gap is an
   * equal-jitter backoff in [w/2, w), w = min(5 s, 250 ms * 2^level): the level rises by one
   * for a refusal of an op sent since it last rose (an op that went out at the gap the
   * last rise set, and was refused all the same), so a burst of ops sent together and
   * refused together raises it once, not once each; the gap never shrinks while the
   * pacing lasts, and the pacing ends, level and all, 2 s (or the gap) after the last
   * refusal, as for receipts.
   */
  refused(retryAfterMs: number, sentAt: number, random: () => number = Math.random, now = Date.now()): void {
    this.lapse(now);
    if (retryAfterMs > 0) {
      this.engage(retryAfterMs, now);
      return;
    }
    let gap = this.gapMs;
    if (this.level === 0 || sentAt >= this.raisedAt) {
      this.level = Math.min(this.level + 1, 30);
      this.raisedAt = now;
      // Equal jitter (half the window plus a random share of the other half), not full:
      // a full-jitter draw near 0 let the next ops be refused again and raised the level
      // once more, and the gap, which never shrinks while the pacing lasts, ratcheted up
      // to the cap's largest draw: 16 queued sends spaced ~5 s apart outlived their 30 s
      // deadline (send-op-pacing.test, 1 run in 4 at a middlebox taking one op per 300 ms).
      const window = backoffCeiling(this.level, PACE_BACKOFF);
      gap = Math.max(gap, Math.floor(window / 2 + random() * (window / 2)));
    }
    this.engage(gap, now);
  }

  /** How long the next op would wait (delay()), without taking its slot. */
  peek(now = Date.now()): number {
    if (!this.pacing(now)) return 0;
    return Math.max(now, this.nextSlot) - now;
  }

  /** How long to wait before the next send op (0 when not rate limited); takes the slot. */
  delay(now = Date.now()): number {
    this.lapse(now);
    if (!this.pacing(now)) return 0;
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.gapMs;
    return slot - now;
  }

  /** An op starts waiting in the queue (for the turn it took, or for its retry): until it
   *  leaves, the pacing lasts, and the turns go on from the last one taken; and it lasts
   *  at least until the turn after the last one taken (the gap kept after the queue). */
  join(turn = false): void {
    this.waiting++;
    if (turn) this.turns++;
    this.limitedUntil = Math.max(this.limitedUntil, this.nextSlot);
  }

  /** An op that joined stops waiting (its turn came, or its wait ended: a close);
   *  `turn` as it joined. */
  leave(turn = false): void {
    if (this.waiting > 0) this.waiting--;
    if (turn && this.turns > 0) this.turns--;
  }

  /** Ops waiting for the turn they took (joined with `turn`): a send asked meanwhile goes
   *  after them even when their turn has come and their timers have not run yet. */
  get turnsWaiting(): number {
    return this.turns;
  }
}

export interface DeliverOptions {
  request: Requester;
  discovery: Discovery;
  seal: (devices: VerifiedDevice[]) => SealedForDevice[];
  /** Absolute deadline (ms since epoch) for the whole send, retries included. */
  deadline: number;
  /** Shared by a client's sends: spaces them while the gateway rate-limits them or is out of room (pacesStream,
   *  opPacesStream). */
  pacer?: SendPacer;
  /** Resolves once connected (rejects after timeoutMs): a resend after a lost connection
   *  waits for the reconnect first, then a random share of its backoff, so the sends of
   *  a whole client do not all go out again in the same instant. */
  connected?: (timeoutMs: number) => Promise<void>;
  random?: () => number;
  /** The client's stop: once stopped (close()), the send fails with its reason at the next wait. */
  stop?: SendStop;
  /** Called with each device list before anything is sealed to it; throws to stop the
   *  send (the key book's hold on a contact whose keys changed: IDENTITY_CHANGED). */
  admit?: (devices: VerifiedDevice[]) => void;
}

function knownCode(code: string | null | undefined): ErrorCodeT {
  return wireErrorCode(code);
}

function receiptError(code: ErrorCodeT, retryAfterMs: number): HushwireError {
  if (code === ErrorCode.NOT_REGISTERED) return notRegistered();
  const text: Partial<Record<ErrorCodeT, string>> = {
    MAILBOX_FULL: "recipient's mailbox is full",
    TOO_LARGE: 'message is too large',
    RATE_LIMITED: 'rate limited: try again later',
    UNAVAILABLE: 'relay unavailable: try again later',
  };
  return new HushwireError(code, text[code] ?? `send failed: ${code.toLowerCase().replace(/_/g, ' ')}`, { retryAfterMs });
}

/** The error a send ends with; when an attempt went out and was never answered, it says
 *  the message may have arrived (maybeDelivered), so the app does not resend it blindly. */
function finalError(e: HushwireError, maybeDelivered: boolean): HushwireError {
  if (!maybeDelivered) return e;
  return new HushwireError(
    e.code,
    `${e.message} (an earlier attempt was sent and never answered: the message may have been delivered; ` +
      'resending it as a new message may show it twice)',
    { retryAfterMs: e.retryAfterMs, cause: e, maybeDelivered: true },
  );
}

/** The error a send ends with when some of the contact's devices have the message: the
 *  message is shown there, so an app must not take the failure for "not sent". */
function reachedSome(e: HushwireError): HushwireError {
  return new HushwireError(e.code, `${e.message} (the message had already reached some of the contact's devices)`, {
    retryAfterMs: e.retryAfterMs, cause: e, maybeDelivered: true,
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, timerDelay(ms)));

/** Runs `wait` in the queue of `pacer` (SendPacer.join: the pacing lasts while it runs),
 *  for a turn taken (`turn`) or for a retry; it leaves the queue however the wait ends
 *  (its turn, its deadline, close()). */
async function queued<T>(pacer: SendPacer, turn: boolean, wait: () => Promise<T>): Promise<T> {
  pacer.join(turn);
  try {
    return await wait();
  } finally {
    pacer.leave(turn);
  }
}

/** Fresh lookups a send makes after NOT_REGISTERED receipts: one for a stale list (a
 *  cached one, a replica's), one more for an opt-out between that lookup and the send. */
export const MAX_RELOOKS = 2;

/**
 * Ends the waits of a client's sends (a backoff, a pause the gateway's rate limit
 * asked for) when the client closes: those sends then fail at once with the reason,
 * instead of sleeping on (up to a minute) and holding the process up after close().
 */
export class SendStop {
  private why: HushwireError | null = null;
  private readonly wakers = new Set<() => void>();

  /** The reason, once stopped. */
  get reason(): HushwireError | null {
    return this.why;
  }

  /** Idempotent: every current and later wait ends at once. */
  stop(reason: HushwireError): void {
    if (this.why) return;
    this.why = reason;
    for (const wake of [...this.wakers]) wake();
  }

  /** Waits ms, or less when stopped meanwhile (the set of waiters is bounded by the sends in progress). */
  sleep(ms: number): Promise<void> {
    if (this.why) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timerDelay(ms));
      this.wakers.add(wake);
    });
  }
}

export interface LookupRetryOptions {
  /** Absolute deadline (ms since epoch). */
  deadline: number;
  connected?: (timeoutMs: number) => Promise<void>;
  random?: () => number;
  stop?: SendStop;
}

/**
 * The wait before a send tries again after a transient failure: first, when the
 * connection was lost, the reconnect (so the resends of every send that was in flight
 * spread out after it instead of leaving together), then max(retry_after_ms, full-jitter
 * backoff for this attempt). 'deadline' when the reconnect or the delay would end past
 * the send's deadline; 'stopped' when the client closed meanwhile (opts.stop.reason).
 */
async function waitToRetry(attempt: number, retryAfterMs: number, lost: boolean, opts: LookupRetryOptions): Promise<'retry' | 'deadline' | 'stopped'> {
  if (lost && opts.connected) {
    const left = opts.deadline - Date.now();
    if (left <= 0) return 'deadline';
    try {
      await opts.connected(left);
    } catch {
      return 'deadline';
    }
  }
  const delay = Math.max(retryAfterMs, fullJitterDelay(attempt, { baseMs: 250, capMs: 5_000 }, opts.random ?? Math.random));
  if (Date.now() + delay >= opts.deadline) return 'deadline';
  await (opts.stop ? opts.stop.sleep(delay) : sleep(delay));
  return opts.stop?.reason ? 'stopped' : 'retry';
}

/**
 * A lookup step of a send (the recipient's route, its devices): a transient failure
 * (UNAVAILABLE, e.g. "directory unavailable" while a NATS node restarts; TIMEOUT;
 * RATE_LIMITED; a lost connection) is tried again after max(retry_after_ms, full-jitter
 * backoff), after the reconnect when the connection was lost, until the send's
 * deadline, as the send op itself is. Anything else, or the deadline, ends it with that
 * error (the last transient one at the deadline; the gateway's last refusal rather than
 * a TIMEOUT of a last try that had only a moment left).
 */
export async function retryLookup<T>(step: () => Promise<T>, opts: LookupRetryOptions): Promise<T> {
  // The last refusal the gateway answered (not a timeout): at the deadline it says why
  // the lookup failed better than a last try that, given the few ms left, timed out.
  let refused: HushwireError | null = null;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (e) {
      if (!(e instanceof HushwireError) || !RETRIABLE.has(e.code)) throw e;
      if (wasAnsweredByGateway(e)) refused = e;
      const next = await waitToRetry(attempt, e.retryAfterMs, wasUnanswered(e), opts);
      if (next === 'stopped') throw opts.stop!.reason!;
      if (next === 'deadline') throw e.code === ErrorCode.TIMEOUT && refused !== null ? refused : e;
    }
  }
}

/**
 * Sends to every device of `route` and resolves when all are delivered or stored.
 * Transient failures (UNAVAILABLE, TIMEOUT, RATE_LIMITED, a lost connection) are retried
 * with the same envelopes until the deadline, each retry after max(retry_after_ms,
 * full-jitter backoff); there is no fixed number of rounds.
 */
export async function deliverToRoute(route: Uint8Array, opts: DeliverOptions): Promise<SendResult> {
  const sealed = new Map<string, SealedForDevice>();   // device hex -> its one envelope
  const done = new Map<string, SendReceipt>();        // device hex -> receipt
  const order: string[] = [];                          // device hexes in first-seen order
  const unanswered = new Set<string>();                // devices with an attempt written, never answered
  let fresh = false;
  let relooks = 0;                                     // fresh lookups made after NOT_REGISTERED
  let lastError: HushwireError | null = null;
  let listed: VerifiedDevice[] = [];
  const timedOut = () => new HushwireError(ErrorCode.TIMEOUT, 'send timed out');
  const fail = (): never => {
    const maybe = listed.some((d) => { const h = bytesToHex(d.device); return !done.has(h) && unanswered.has(h); });
    const err = finalError(lastError ?? timedOut(), maybe);
    // Another device of the contact has the message (stored or delivered): the send
    // fails, but the message is shown there, and sending the text again would show it
    // twice.
    if (done.size > 0 && !err.maybeDelivered) throw reachedSome(err);
    throw err;
  };

  const pause = async (ms: number): Promise<void> => {
    await (opts.stop ? opts.stop.sleep(ms) : sleep(ms));
    if (opts.stop?.reason) {
      lastError = opts.stop.reason;
      fail();
    }
  };

  for (let round = 0; ; round++) {
    let looked: { devices: VerifiedDevice[]; cached: boolean };
    try {
      looked = await retryLookup(() => opts.discovery.devicesFor(route, fresh, Math.max(1, opts.deadline - Date.now())), opts);
    } catch (e) {
      if (!(e instanceof HushwireError)) throw e;
      lastError = e;
      return fail();
    }
    const { devices } = looked;
    try {
      opts.admit?.(devices);
    } catch (e) {
      // A later round (a fresh list after NOT_REGISTERED) may meet the hold after some
      // devices have the message: the application must know it went out in part.
      if (e instanceof HushwireError && done.size > 0) {
        throw new HushwireError(e.code, `${e.message} (the message had already reached some of the contact's devices)`, { cause: e, maybeDelivered: true });
      }
      throw e;
    }
    listed = devices;
    const current = new Set(devices.map((d) => bytesToHex(d.device)));
    const todo = devices.filter((d) => !done.has(bytesToHex(d.device)));
    const unsealed = todo.filter((d) => !sealed.has(bytesToHex(d.device)));
    for (const s of opts.seal(unsealed)) {
      const h = bytesToHex(s.device.device);
      sealed.set(h, s);
      order.push(h);
    }
    // A device that left the directory no longer counts.
    for (const h of [...done.keys()]) if (!current.has(h)) done.delete(h);
    const batch = todo.map((d) => sealed.get(bytesToHex(d.device))!);
    if (batch.length === 0) break;

    // While the gateway rate-limits this client, or is out of room (pacesStream), its
    // sends go out spaced by its retry_after_ms (first attempts too): no burst of
    // retries that all fail again. First in, first out: while sends wait in the pacer's
    // queue (for their turn or their retry), the pacing lasts past its quiet period
    // (SendPacer.join) and this one takes the turn after theirs. One whose turn has come
    // but whose timer has not run yet (the event loop held up past the next turn too)
    // still goes first: this one then waits for a timer of its own (1 ms), which runs
    // after theirs. A send whose turn would come at or after its deadline fails at once,
    // without taking it.
    if (opts.pacer) {
      const pacer = opts.pacer;
      const behind = pacer.turnsWaiting > 0 ? 1 : 0;
      const now = Date.now();
      const wait = Math.max(pacer.peek(now), behind);
      if (wait > 0 && now + wait >= opts.deadline) fail();
      const slot = Math.max(pacer.delay(now), behind);
      if (slot > 0) await queued(pacer, true, () => pause(slot));
    }
    let retryAfterMs = 0;
    let stale = false;
    let lost = false;
    // Whether the gateway's answer to this attempt paced the stream.
    let pacedRefusal = false;
    const sentAt = Date.now();
    const remaining = opts.deadline - sentAt;
    if (remaining <= 0) fail();
    try {
      const op = await opts.request({ send: { envelopes: batch.map((s) => s.envelope) } }, remaining);
      const receipts = op.sendResult?.receipts ?? [];
      if (receipts.length !== batch.length) throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateway sent a malformed send result');
      for (let i = 0; i < batch.length; i++) {
        const r = receipts[i];
        const s = batch[i];
        const idHex = bytesToHex(s.envelope.id!);
        if (!(r.id instanceof Uint8Array) || bytesToHex(r.id) !== idHex) {
          throw new HushwireError(ErrorCode.BAD_REQUEST, 'gateway sent a malformed send result');
        }
        const deviceHex = bytesToHex(s.device.device);
        if (r.status === 'delivered' || r.status === 'stored') {
          done.set(deviceHex, { id: idHex, device: deviceHex, status: r.status });
          continue;
        }
        const code = knownCode(r.code);
        const err = receiptError(code, r.retryAfterMs ?? 0);
        if (code === ErrorCode.NOT_REGISTERED && relooks < MAX_RELOOKS) {
          // The list went stale: the next round looks up afresh and sends to the devices
          // listed then that do not have the message yet (each keeps its one envelope,
          // so a device listed again is never sent a second copy under a new id).
          stale = true;
          lastError = err;
        } else if (RETRIABLE.has(code)) {
          const after = r.retryAfterMs ?? 0;
          retryAfterMs = Math.max(retryAfterMs, after);
          if (pacesStream(code, after)) {
            opts.pacer?.limited(after);
            pacedRefusal = true;
          }
          lastError = err;
        } else {
          // Another device of the contact may have it already (an earlier round, or this
          // batch's other receipts): the send fails, but the message is shown there, and
          // an app that sent the text again would have it shown twice.
          const reached = done.size > 0 || receipts.some((x) => x.status === 'delivered' || x.status === 'stored');
          if (reached) throw reachedSome(err);
          throw finalError(err, unanswered.has(deviceHex));
        }
      }
    } catch (e) {
      if (!(e instanceof HushwireError) || !RETRIABLE.has(e.code)) {
        if (e instanceof HushwireError && !e.maybeDelivered && batch.some((s) => unanswered.has(bytesToHex(s.device.device)))) {
          throw finalError(e, true);
        }
        if (e instanceof HushwireError && !e.maybeDelivered && done.size > 0) throw reachedSome(e);
        throw e;
      }
      // Lost connection or timeout: we cannot know whether it arrived, so resend the
      // same envelopes; their ids make the resend harmless.
      if (wasUnanswered(e)) {
        lost = true;
        for (const s of batch) unanswered.add(bytesToHex(s.device.device));
      } else if (opPacesStream(e)) {
        // The gateway refused the whole op (none of its envelopes taken): every send of
        // the client would meet the same refusal, so all of them slow down, as for a
        // receipt that paces the stream; this one retries below as any refused send.
        opts.pacer?.refused(e.retryAfterMs, sentAt, opts.random);
        pacedRefusal = true;
      }
      lastError = e;
      retryAfterMs = Math.max(retryAfterMs, e.retryAfterMs);
    }
    if (todo.every((d) => done.has(bytesToHex(d.device)))) break;
    if (stale) {
      fresh = true;
      relooks++;
      continue;
    }
    // A send the gateway's refusal paced (pacesStream, opPacesStream) waits for its retry
    // in the pacer's queue, as a refused lookup does: the pacing lasts while it waits,
    // and it asks again for the next free turn when its backoff ends.
    const next = opts.pacer && pacedRefusal
      ? await queued(opts.pacer, false, () => waitToRetry(round + 1, retryAfterMs, lost, opts))
      : await waitToRetry(round + 1, retryAfterMs, lost, opts);
    if (next === 'stopped') lastError = opts.stop!.reason;
    if (next !== 'retry') fail();
  }

  const receipts = order.filter((h) => done.has(h)).map((h) => done.get(h)!);
  const missing = listed.some((d) => !done.has(bytesToHex(d.device)));
  if (receipts.length === 0 || missing) fail();
  return {
    id: receipts[0].id,
    status: receipts.every((r) => r.status === 'delivered') ? 'delivered' : 'stored',
    receipts,
  };
}
