// The receive path: open each delivered envelope, drop repeats by envelope id, check
// that the claimed sender really owns the claimed number, and hand messages to the
// application in per-sender sequence order.
//
// A message counts as received when the application asks the iterator for it, not
// when it arrives. Then, in this order: its id is recorded in state.json (the store's
// write resolved), it is handed to the application, and it is acknowledged to the
// gateway. A process killed at any point shows it at most once: before the write
// resolved it was neither shown nor acknowledged (the relay redelivers it), after it
// the id is on disk and a redelivery is dropped. A handset that stops reading (or a
// `listen --count 1` that exits after one message) leaves the rest unacknowledged, and
// the relay redelivers them later instead of losing them.
//
// A reader that shows a message somewhere that can fail after it was handed over (the
// CLI's stdout, a pipe whose reader may exit) asks for manual acks (reader({ manualAck:
// true })): the message is recorded and handed over but not acknowledged until ack(id);
// giveBack(id) instead forgets its id in state.json and leaves it unacknowledged, so
// the relay delivers it again.
import { bytesToHex } from '@noble/hashes/utils.js';
import { CONTENT_TYPE_TEXT, type Opened } from '../relay/crypto/seal.ts';
import { openWithAny } from './prekeys.ts';
import { HushwireError, ErrorCode } from '../relay/errors.ts';
import { ENVELOPE_ID_BYTES, type EnvelopeProps } from '../relay/wire.ts';
import type { ProfileState } from './profile.ts';
import { unrefTimer } from './socket.ts';
import type { KeyStatus } from './keybook.ts';

export interface ReceivedMessage {
  /** Envelope id, hex: the end-to-end dedup key. Each device of a number gets its own: it
   *  equals this device's receipt id in what `send` returned (its `id` only for a one-device number). */
  id: string;
  /** The sender's number, from inside the envelope, checked against the directory. */
  from: string;
  text: string;
  /** The sender's clock at sending, ISO 8601. */
  sentAt: string;
  /** false only when `acceptUnverified` let through a sender the directory could not vouch for. */
  verified: boolean;
  /** The sender device's key as this handset knows it (client/keybook.ts, docs/CLIENT.md
   *  "Contact keys and safety numbers"): `verified` (a key of a contact whose safety
   *  number the user compared), `unverified` (accepted on first use or after a change),
   *  or `changed` (a key the user has not accepted: sends to the contact are held). */
  senderKeys: KeyStatus;
}

/** ok: the number maps to the sender's route and the route lists the sender's key.
 *  spoofed: it does not. unknown: the directory cannot tell (sender gone). retry: a
 *  transient failure (timeout, gateway unavailable). */
export type SenderVerdict = 'ok' | 'spoofed' | 'unknown' | 'retry';

/** Why a message was dropped for good. unreadable: it could not be opened (not for this
 *  device's keys, damaged, or not text). spoofed: the sender number inside does not
 *  match the directory. unverified: the directory no longer knows the sender (opted out
 *  or expired since sending), and `acceptUnverified` is off. */
export type DropReason = 'unreadable' | 'spoofed' | 'unverified';

/** InboxOptions.prekeyReloadIntervalMs default: a flood of undecryptable envelopes
 *  costs at most one profile read a second, and delays the mail behind it by at most that. */
export const PREKEY_RELOAD_INTERVAL_MS = 1_000;

/** The profile's keys could not be read again: the envelope is left unacknowledged. */
class ReloadFailed extends Error {}

export interface InboxOptions {
  me: { route: Uint8Array; device: Uint8Array; prekeySecret: Uint8Array };
  /** The prekey secrets to try, in order (current, pending, retired newest first:
   *  client/prekeys.ts); default: me.prekeySecret alone. */
  prekeySecrets?: () => readonly Uint8Array[];
  /** Called when none of them opens an envelope: reads the profile's keys again (another
   *  process may have rotated the prekey) and resolves whether they changed; the
   *  envelope is then tried once more. Bounded (garbage from a hostile sender must not
   *  cost a profile read each): not called for an envelope that arrived before the last
   *  call began (that read saw every key mail delivered by then can be sealed to: a
   *  rotating process saves its new key before the gateway lists it), and at most once
   *  per prekeyReloadIntervalMs (an envelope waits for the next call rather than being
   *  dropped). A rejection leaves the envelope unacknowledged (offered again later). */
  reloadPrekeys?: () => Promise<boolean>;
  /** Least time between two reloadPrekeys calls. Default PREKEY_RELOAD_INTERVAL_MS (1 s). */
  prekeyReloadIntervalMs?: number;
  state: ProfileState;
  ack: (ids: Uint8Array[]) => void;
  verifySender: (opened: Opened) => Promise<SenderVerdict>;
  /** The key status of a verified sender device (ReceivedMessage.senderKeys); default
   *  `unverified`. Asked after verifySender, which has looked the sender's devices up. */
  senderKeys?: (opened: Opened) => KeyStatus;
  /** Deliver messages whose sender the directory no longer knows (flagged verified: false). */
  acceptUnverified?: boolean;
  /** Told of each message dropped for good (acknowledged, never yielded), with why. */
  onDropped?: (reason: DropReason) => void;
  /** Messages held for the application; beyond this, deliveries are left unacknowledged. */
  maxQueued?: number;
  /** Told of each failed write of the dedup state (state.json) while recording a
   *  message: that message is neither yielded nor acknowledged, and is tried again.
   *  Once per write here (messages taken together share one); `write` is its promise,
   *  which other savers (a send's sequence number) may share too: the client tells the
   *  application of each write once (StoreErrorReporter). */
  onStoreError?: (err: unknown, write: Promise<void>) => void;
  /** Failed writes in a row after which the iteration ends with UNAVAILABLE. Default 3. */
  maxStoreFailures?: number;
  /** Wait before writing again after a failure, doubling each time. Default 500 ms. */
  storeRetryMs?: number;
}

export interface InboxStats {
  received: number;
  duplicates: number;
  unreadable: number;
  spoofed: number;
  unverified: number;
  deferred: number;
  overflow: number;
}

interface Item {
  message: ReceivedMessage;
  envelopeId: Uint8Array;
  senderKey: string;
  seq: number;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

export class Inbox implements AsyncIterable<ReceivedMessage> {
  readonly stats: InboxStats = { received: 0, duplicates: 0, unreadable: 0, spoofed: 0, unverified: 0, deferred: 0, overflow: 0 };
  private readonly opts: InboxOptions;
  private readonly maxQueued: number;
  /** Deliveries are processed strictly one batch after another, so order survives the awaits. */
  private chain: Promise<void> = Promise.resolve();
  private queue: Item[] = [];
  private readonly queuedIds = new Set<string>();
  private waiters: { resolve: (r: IteratorResult<ReceivedMessage>) => void; reject: (e: unknown) => void; manualAck: boolean }[] = [];
  /** Messages handed to a manual-ack reader and neither acknowledged nor given back yet,
   *  by id, oldest first: their envelope ids, and the ids their record pushed out of a
   *  full seen set (put back if they are given back). Bounded by maxQueued: beyond it the
   *  oldest is acknowledged (it is recorded as shown). */
  private readonly unacked = new Map<string, { envelopeId: Uint8Array; evicted: string[] }>();
  /** The iterator currently reading (see reader()), or null. */
  private activeReader: object | null = null;
  private ended = false;
  private endError: unknown = null;
  private ackTail: Promise<void> = Promise.resolve();
  /** Failed state writes in a row (one write shared by several messages counts once). */
  private storeFailures = 0;
  private lastFailedWrite: Promise<void> | null = null;
  /** Deliveries handed in so far (each deliver() call is one arrival). */
  private arrivals = 0;
  /** `arrivals` when the last reloadPrekeys call began, and when (Date.now()). */
  private reloadedThrough = 0;
  private lastReloadAt = -Infinity;
  /** Ends a wait for the next reload at end(). */
  private wakeReload: (() => void) | null = null;

  constructor(opts: InboxOptions) {
    this.opts = opts;
    this.maxQueued = opts.maxQueued ?? 10_000;
  }

  /** Feeds one deliver op's envelopes (in arrival order). */
  deliver(envelopes: EnvelopeProps[]): void {
    if (this.ended) return;
    const arrival = ++this.arrivals;
    this.chain = this.chain.then(() => this.process(envelopes, arrival)).catch(() => { /* per-envelope errors are handled inside */ });
  }

  /** Resolves when every delivery handed in so far has been processed. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async process(envelopes: EnvelopeProps[], arrival: number): Promise<void> {
    const drop: Uint8Array[] = [];
    const items: Item[] = [];
    for (const env of envelopes) {
      if (this.ended) return;
      const id = env.id;
      if (!(id instanceof Uint8Array) || id.length !== ENVELOPE_ID_BYTES) continue;
      const idHex = bytesToHex(id);
      // A copy of a message that is queued, or being recorded right now: dropped, and not
      // acknowledged yet (an ack before the first copy is durable in state.json could
      // lose the message in a crash). No ack of its own is needed either: acks name the
      // envelope id, not a copy, and the relay has at most one copy of an id in flight to
      // a connection, so the first copy's ack, sent once it is recorded (take), settles
      // whichever copy is in flight then (this one, when the first one's wait ran out).
      // A copy whose wait ran out before that stays in the mailbox, and its redelivery
      // is acked as seen: only acking before recording could spare that, which is unsafe.
      // So is a copy of a message handed to a manual-ack reader that has not acknowledged
      // it yet (the reader may still give it back).
      if (this.queuedIds.has(idHex) || this.unacked.has(idHex) || items.some((i) => i.message.id === idHex)) {
        this.stats.duplicates++;
        continue;
      }
      if (this.opts.state.seen.has(idHex)) {
        // Seen and shown before: the earlier ack got lost. Ack again so it stops coming.
        this.stats.duplicates++;
        drop.push(id);
        continue;
      }
      let opened: Opened;
      try {
        // Gateways strip route and device before the bus (no stored record holds a full
        // route id); they are ours, and the AAD still binds the envelope to them.
        opened = await this.open({ ...env, route: this.opts.me.route, device: this.opts.me.device }, arrival);
      } catch (e) {
        // Ended while waiting for a re-read of the keys: not acknowledged (the rest of
        // the batch neither, as below).
        if (this.ended) return;
        if (e instanceof ReloadFailed) {
          // The keys could not be read again: maybe another process's new key opens it.
          this.stats.deferred++;
          continue;
        }
        // Undecryptable or badly signed: no retry will fix it; ack so it is not redelivered.
        this.stats.unreadable++;
        drop.push(id);
        this.dropped('unreadable');
        continue;
      }
      if (opened.contentType !== CONTENT_TYPE_TEXT) {
        this.stats.unreadable++;
        drop.push(id);
        this.dropped('unreadable');
        continue;
      }
      const verdict = await this.verify(opened);
      if (verdict === 'spoofed' || (verdict === 'unknown' && !this.opts.acceptUnverified)) {
        this.stats.spoofed += verdict === 'spoofed' ? 1 : 0;
        this.stats.unverified += verdict === 'unknown' ? 1 : 0;
        drop.push(id);
        this.dropped(verdict === 'spoofed' ? 'spoofed' : 'unverified');
        continue;
      }
      if (verdict === 'retry') {
        // Left unacknowledged: the relay offers it again later.
        this.stats.deferred++;
        continue;
      }
      items.push({
        message: {
          id: idHex,
          from: opened.senderNumber,
          text: decoder.decode(opened.body),
          sentAt: isoTime(opened.clientTs),
          verified: verdict === 'ok',
          senderKeys: verdict === 'ok' && this.opts.senderKeys ? this.opts.senderKeys(opened) : 'unverified',
        },
        envelopeId: id,
        senderKey: `${bytesToHex(opened.senderRoute)}:${bytesToHex(opened.senderDevice)}`,
        seq: opened.seq,
      });
    }
    if (drop.length > 0) this.opts.ack(drop);
    this.enqueue(orderBySenderSeq(items));
  }

  /** Opens with the first prekey secret that works; when none does, once more after the
   *  keys were read again from the profile (a rotation by another process). */
  private async open(env: EnvelopeProps, arrival: number): Promise<Opened> {
    const secrets = () => this.opts.prekeySecrets?.() ?? [this.opts.me.prekeySecret];
    try {
      return openWithAny(env, this.opts.me, secrets());
    } catch (e) {
      const reload = this.opts.reloadPrekeys;
      // A read that began after this envelope arrived found every key it can be sealed
      // to (and its keys are the ones just tried): another read would find no more.
      if (!reload || this.reloadedThrough >= arrival) throw e;
      const interval = this.opts.prekeyReloadIntervalMs ?? PREKEY_RELOAD_INTERVAL_MS;
      const wait = Math.min(this.lastReloadAt + interval - Date.now(), interval);
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.wakeReload = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeReload = null;
        if (this.ended) throw e;
      }
      const before = this.reloadedThrough;
      this.reloadedThrough = this.arrivals;
      this.lastReloadAt = Date.now();
      let changed: boolean;
      try {
        changed = await reload();
      } catch {
        // A read that failed saw nothing: it covers no envelope.
        this.reloadedThrough = before;
        throw new ReloadFailed('the profile could not be read again');
      }
      if (!changed) throw e;
      return openWithAny(env, this.opts.me, secrets());
    }
  }

  /** The application's callback must not break the inbox. */
  private dropped(reason: DropReason): void {
    try {
      this.opts.onDropped?.(reason);
    } catch {
      // ignored: a drop is final either way
    }
  }

  private async verify(opened: Opened): Promise<SenderVerdict> {
    // Transient failures get a few quick retries before the message is deferred.
    for (let i = 0; ; i++) {
      let v: SenderVerdict;
      try {
        v = await this.opts.verifySender(opened);
      } catch {
        v = 'retry';
      }
      if (v !== 'retry' || i >= 2 || this.ended) return v;
      await new Promise((r) => setTimeout(r, 200 * (i + 1)));
    }
  }

  private enqueue(items: Item[]): void {
    for (const item of items) {
      if (this.queue.length >= this.maxQueued) {
        this.stats.overflow++;
        continue;
      }
      this.queue.push(item);
      this.queuedIds.add(item.message.id);
    }
    while (this.waiters.length > 0 && this.queue.length > 0) {
      const w = this.waiters.shift()!;
      this.take(w.manualAck).then(w.resolve, w.reject);
    }
  }

  /**
   * Hands one message to the application: record its id (and the sender's sequence) in
   * state.json, and only once that write resolved yield it and acknowledge it. Writes
   * coalesce (ProfileState.save), so messages taken together share one write; a reader
   * that takes one at a time waits one store write per message.
   */
  private async take(manualAck = false): Promise<IteratorResult<ReceivedMessage>> {
    const item = this.queue.shift()!;
    const { state } = this.opts;
    for (;;) {
      const evicted: string[] = [];
      state.seen.add(item.message.id, evicted);
      const next = state.recvSeq.get(item.senderKey) ?? 0;
      if (item.seq + 1 > next) state.recvSeq.set(item.senderKey, item.seq + 1);
      const saved = state.save();
      const handedOver = saved.then(() => {}, () => {});
      this.ackTail = this.ackTail.then(() => handedOver);
      try {
        await saved;
      } catch (err) {
        // Not recorded: neither shown nor acknowledged. Forget the id (a redelivery is
        // then new, not a duplicate to ack) and write again after a pause; too many
        // failures in a row end the iteration, and the relay keeps the messages.
        // Forgotten first, before any await: a write queued behind the failed one (a
        // send's sequence numbers, another message taken meanwhile) takes its text in a
        // reaction that runs after this one, and must not carry this id while the
        // message waits for its retry (a crash would then drop its redelivery unshown).
        state.seen.delete(item.message.id);
        // ...and a full set gets back the oldest id this one pushed out.
        state.seen.restoreOldest(evicted);
        if (saved !== this.lastFailedWrite) {
          this.lastFailedWrite = saved;
          this.storeFailures++;
          try {
            this.opts.onStoreError?.(err, saved);
          } catch { /* the application's callback must not break the inbox */ }
        }
        const max = this.opts.maxStoreFailures ?? 3;
        if (err instanceof HushwireError && err.code === ErrorCode.NOT_REGISTERED && !this.ended) {
          // The profile was opted out meanwhile (another process): no write will work
          // again, and the device's mailbox is erased at the relay. Ended at once.
          this.end(err);
        } else if (this.storeFailures >= max && !this.ended) {
          this.end(new HushwireError(
            ErrorCode.UNAVAILABLE,
            `could not record received messages in the profile store (${max} writes of state.json failed in a row): ` +
              'they were not acknowledged and will be delivered again; open the client again once the storage works',
            { cause: err },
          ));
        }
        if (this.ended) {
          this.queuedIds.delete(item.message.id);
          if (this.endError) throw this.endError;
          return { value: undefined, done: true };
        }
        const retryMs = (this.opts.storeRetryMs ?? 500) * 2 ** Math.min(this.storeFailures - 1, 6);
        // Unref'd: a client closed meanwhile must not hold the process up to the pause
        // (an open client's socket keeps it alive anyway).
        await new Promise((r) => unrefTimer(setTimeout(r, retryMs)));
        if (this.ended) {
          this.queuedIds.delete(item.message.id);
          if (this.endError) throw this.endError;
          return { value: undefined, done: true };
        }
        continue;
      }
      this.storeFailures = 0;
      this.queuedIds.delete(item.message.id);
      this.stats.received++;
      if (manualAck) this.holdAck(item.message.id, item.envelopeId, evicted);
      else this.opts.ack([item.envelopeId]);
      return { value: item.message, done: false };
    }
  }

  /** Keeps a handed-over message's ack for the reader's ack() or giveBack(). */
  private holdAck(id: string, envelopeId: Uint8Array, evicted: string[]): void {
    this.unacked.set(id, { envelopeId, evicted });
    while (this.unacked.size > this.maxQueued) {
      const [oldest, entry] = this.unacked.entries().next().value!;
      this.unacked.delete(oldest);
      this.opts.ack([entry.envelopeId]);
    }
  }

  /** Acknowledges a message handed to a manual-ack reader (its id, hex). false when no
   *  such message waits for its ack (already acknowledged or given back, or unknown). */
  ack(id: string): boolean {
    const entry = this.unacked.get(id);
    if (!entry) return false;
    this.unacked.delete(id);
    this.opts.ack([entry.envelopeId]);
    return true;
  }

  /**
   * Gives back a message handed to a manual-ack reader that could not show it: its id is
   * forgotten in state.json (written before this resolves) and it is not acknowledged,
   * so the relay delivers it again and it is shown then. Resolves false when no such
   * message waits for its ack. A failed write is told to onStoreError and tried again
   * after storeRetryMs, doubling, as a message's record is (until the id is off the disk
   * the message is lost to a later session, which drops its redelivery as seen); after
   * maxStoreFailures in a row (or NOT_REGISTERED: no write works again) it rejects with
   * the last error. Works after end() too (the CLI gives back a line whose write failed
   * after a signal closed the client): the caller awaits it, so its pauses are not
   * unref'd, and close() waits for it (ackTail).
   */
  async giveBack(id: string): Promise<boolean> {
    const entry = this.unacked.get(id);
    if (!entry) return false;
    this.unacked.delete(id);
    const { state } = this.opts;
    state.seen.delete(id);
    state.seen.restoreOldest(entry.evicted);
    let finished!: () => void;
    const written = new Promise<void>((resolve) => { finished = resolve; });
    this.ackTail = this.ackTail.then(() => written);
    const max = this.opts.maxStoreFailures ?? 3;
    try {
      for (let failures = 1; ; failures++) {
        // Each save writes the whole state again, without the forgotten id.
        const saved = state.save();
        try {
          await saved;
          return true;
        } catch (err) {
          try {
            this.opts.onStoreError?.(err, saved);
          } catch { /* the application's callback must not break the inbox */ }
          if (failures >= max || (err instanceof HushwireError && err.code === ErrorCode.NOT_REGISTERED)) throw err;
        }
        await new Promise((r) => setTimeout(r, (this.opts.storeRetryMs ?? 500) * 2 ** (failures - 1)));
      }
    } finally {
      finished();
    }
  }

  next(manualAck = false): Promise<IteratorResult<ReceivedMessage>> {
    // Ended first: a message still queued when the client closed is not handed out (its
    // ack could no longer leave, so its redelivery would be dropped as seen: shown to a
    // closed client, then never again). Left unrecorded, it comes again next session.
    if (this.ended) {
      return this.endError ? Promise.reject(this.endError) : Promise.resolve({ value: undefined, done: true });
    }
    if (this.queue.length > 0) return this.take(manualAck);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject, manualAck }));
  }

  /**
   * The one reader's iterator. A second one while the first is active (made, and neither
   * finished nor given back by return(), which `for await` calls on break and throw) is
   * refused with BAD_REQUEST: two loops would each get some of the messages. Once the
   * iteration has ended (the client closed) any number may be made; each is done at once.
   * `manualAck`: its messages wait for ack() or giveBack() (see the top of this file).
   */
  reader(opts: { manualAck?: boolean } = {}): AsyncIterator<ReceivedMessage> & AsyncIterable<ReceivedMessage> {
    const manualAck = opts.manualAck === true;
    if (this.activeReader !== null && !this.ended) {
      throw new HushwireError(
        ErrorCode.BAD_REQUEST,
        'messages() already has an active reader: each message goes to one reader, so a second loop would get only some of them ' +
          '(end the first loop, or call return() on its iterator, before starting another)',
      );
    }
    const token = {};
    if (!this.ended) this.activeReader = token;
    let finished = false;
    const release = (): void => {
      if (finished) return;
      finished = true;
      if (this.activeReader === token) this.activeReader = null;
    };
    const done: IteratorResult<ReceivedMessage> = { value: undefined, done: true };
    const it: AsyncIterator<ReceivedMessage> & AsyncIterable<ReceivedMessage> = {
      next: async () => {
        if (finished) return done;
        try {
          const r = await this.next(manualAck);
          if (r.done) release();
          return r;
        } catch (e) {
          release();
          throw e;
        }
      },
      return: async () => {
        if (!finished && this.activeReader === token) {
          // Its calls still waiting for a message get done; nothing queued is taken.
          const waiters = this.waiters;
          this.waiters = [];
          for (const w of waiters) w.resolve(done);
        }
        release();
        return done;
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  [Symbol.asyncIterator](): AsyncIterator<ReceivedMessage> {
    return this.reader();
  }

  /** Ends iteration: waiting readers get done (or the error). Queued messages stay unacknowledged. */
  end(error: unknown = null): void {
    if (this.ended) return;
    this.ended = true;
    this.endError = error;
    this.wakeReload?.();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (error) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  /** Waits until every taken message's state write and ack hand-off happened. */
  async settled(): Promise<void> {
    await this.ackTail;
  }

  get queued(): number {
    return this.queue.length;
  }
}

/**
 * Within one batch, each sender's messages take that sender's slots in seq order;
 * other senders' messages keep their places. The relay keeps order where it can, this
 * repairs what a redelivery or a mailbox/live race shuffled within a batch.
 */
export function orderBySenderSeq<T extends { senderKey: string; seq: number }>(items: T[]): T[] {
  const bySender = new Map<string, number[]>();
  items.forEach((it, i) => {
    const slots = bySender.get(it.senderKey);
    if (slots) slots.push(i);
    else bySender.set(it.senderKey, [i]);
  });
  const out = items.slice();
  for (const slots of bySender.values()) {
    if (slots.length < 2) continue;
    const sorted = slots.map((i) => items[i]).sort((a, b) => a.seq - b.seq);
    slots.forEach((slot, k) => { out[slot] = sorted[k]; });
  }
  return out;
}

export function isTransient(e: unknown): boolean {
  return e instanceof HushwireError && (e.code === ErrorCode.TIMEOUT || e.code === ErrorCode.UNAVAILABLE || e.code === ErrorCode.RATE_LIMITED);
}
