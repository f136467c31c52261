// Live delivery over NATS core (NatsBus's deliverLive and the holder's side of it).
//
// Two paths, both ending with the holder's answer after the device acknowledged:
//
//   locate   request on the device subject  <prefix>.dev.<routeTag>.<deviceToken>
//            (every gateway holding the device subscribes it). The holder answers
//            [1, node id] once the device acked, [0] if it refused; no responders or the
//            deadline = not delivered. The node id it names is remembered for the device.
//   batch    once the holder is known, every envelope of one event-loop turn for devices
//            on the same node goes in ONE message to <prefix>.gw.<node id> (each gateway
//            subscribes its own), and the holder answers the whole batch in one message
//            per turn. A node that no longer holds a device answers "gone" for it; the
//            sender forgets the node and locates again (and then stores in the mailbox as
//            usual if nobody holds the device). A node that is gone altogether (no
//            responders) counts as "gone" for the whole batch.
//
// Why: with one request and one reply per envelope, nats-server routes two messages per
// delivery and each gateway parses one more; the batch path makes that two messages per
// turn per gateway pair (docs/BENCHMARKS.md). A device held by this same bus is served
// without NATS at all.
//
// Batch frames are hand-encoded (fixed-size fields, the envelope written once into the
// batch buffer and handed to the device as a view of it): protobuf would add a decode
// pass and a copy per envelope for no schema flexibility that this node-to-node format
// needs. Both ends are the same code; the version byte guards a mixed-version cluster.
//
//   batch    [version=1] then per item: [u32 token][65 ASCII: routeTag.deviceToken][u32 n][n bytes]
//   answer   [version=1] then per item: [u32 token][u8 code]      code: 0 refused, 1 delivered, 2 gone
//
// The node id is 16 random hex characters made at start: it names a process, not a
// person. Subjects and payloads carry route tags and device tokens only, as the device
// subjects already do.
import { randomBytes } from 'node:crypto';
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { runLiveHandler, type BusLogFn, type SubscriptionRegistry } from './common.ts';
import type { LiveHandler } from './bus.ts';
import { publishThisTurn } from './turn-batch.ts';
import { PROBE_TOKEN } from './nats-requests.ts';
import { drainSubscriptions } from './sub-drain.ts';
import { RepeatedLog } from '../log.ts';

/** Live deliveries in flight awaiting an answer, and LiveHandler calls not yet settled. */
export const MAX_PENDING_LIVE = 65_536;
/** Remembered device → node entries (oldest forgotten first). */
const WHERE_MAX = 65_536;
/** A batch message is sent early once it reaches this size (NATS max_payload is 1 MiB). */
const BATCH_MAX_BYTES = 256 * 1024;
const SWEEP_MS = 10;
const VERSION = 1;
const KEY_BYTES = 65; // 32 hex + '.' + 32 hex
const ITEM_HEAD = 4 + KEY_BYTES + 4;
const KEY_RE = /^[0-9a-f]{32}\.[0-9a-f]{32}$/;
const NODE_RE = /^[0-9a-f]{16}$/;

const REFUSED = 0;
const DELIVERED = 1;
const GONE = 2;
type Code = 0 | 1 | 2;

const ZERO = Uint8Array.of(REFUSED);

interface Entry {
  /** Called once with the outcome (and, for a located delivery, the holder's node id);
   *  null for an envelope batched to a known node, whose outcome #batchOutcome reads
   *  from the fields below (no closure per batched envelope). */
  done: ((code: Code, node: string, envelope: Uint8Array | null) => void) | null;
  /** Batched: the offer's callback, the device's key, the node it was sent to, and the
   *  timeout (to locate the device again after a "gone"). */
  delivered: ((delivered: boolean) => void) | null;
  key: string;
  node: string;
  /** Offered to a device this bus holds (no NATS involved: dropRemote keeps it). */
  local: boolean;
  timeoutMs: number;
  deadline: number;
  bucket: Map<number, Entry>;
}

interface OutBatch {
  node: string;
  buf: Buffer;
  len: number;
  tokens: number[];
  /** Where each item's envelope sits in buf: [start, length] per token. */
  spans: number[];
}

/** A sent batch awaiting its answer; keeps the bytes for the devices that must be located again. */
interface SentBatch {
  tokens: number[];
  spans: number[];
  buf: Buffer;
  deadline: number;
  /** Items not answered yet (the holder answers per turn, so one batch may take several answers). */
  left: number;
}

export interface LiveRouterOptions {
  prefix: string;
  subs: SubscriptionRegistry;
  log: BusLogFn;
  /** Prefix of the reply subjects (nats.js inboxPrefix; default _INBOX). */
  inboxPrefix?: string;
}

/** An answer message: [version] then [u32 token][u8 code] per (token, code) pair of `a`. */
function encodeAnswer(a: readonly number[]): Buffer {
  const buf = Buffer.allocUnsafe(1 + (a.length / 2) * 5);
  buf[0] = VERSION;
  let o = 1;
  for (let i = 0; i < a.length; i += 2) {
    buf.writeUInt32BE(a[i] as number, o);
    buf[o + 4] = a[i + 1] as number;
    o += 5;
  }
  return buf;
}

/** The envelope of item i of a sent batch (a view of the batch's buffer). */
function spanOf(b: SentBatch, i: number): Uint8Array {
  const start = b.spans[2 * i] as number;
  return b.buf.subarray(start, start + (b.spans[2 * i + 1] as number));
}

export class LiveRouter {
  readonly nodeId: string;
  readonly #nc: NatsConnection;
  readonly #subs: SubscriptionRegistry;
  readonly #log: BusLogFn;
  readonly #gwPrefix: string;
  readonly #devPrefix: string;
  readonly #inbox: string;
  readonly #located: Uint8Array; // [1, node id] answer of a located delivery
  readonly #inboxSub: Subscription;
  readonly #gwSub: Subscription;
  /** The bus's probes (relay/bus/nats-heal.ts) received on the answers' inbox (under
   *  PROBE_TOKEN, no offer's token) and on this node's batch subject (an empty message,
   *  no batch's). */
  readonly probes = { inbox: 0, node: 0 };

  // requester side
  // timeout → entries in deadline order, and also where a token is looked up: each
  // entry sits in one map only, with no second index by token (two maps that large,
  // churned by every delivery, cost their rehashing too: docs/BENCHMARKS.md). A gateway
  // uses one timeout (--live-timeout-ms), so a lookup is one Map.get.
  readonly #buckets = new Map<number, Map<number, Entry>>();
  #pending = 0;
  readonly #batches = new Map<number, SentBatch>();
  readonly #where = new Map<string, string>();                // routeTag.deviceToken → node id
  #out = new Map<string, OutBatch>();
  #outScheduled = false;
  #next = 0;
  #nextBatch = 0;
  #timer: NodeJS.Timeout | null = null;

  // holder side
  #handling = 0;
  #answers = new Map<string, number[]>(); // reply subject → [token, code, token, code, ...]
  #answersScheduled = false;
  /** The overflow and bad-input lines: at most one per 10 s each, with a count. */
  readonly #repeated: RepeatedLog;
  #closed = false;
  /** Answers settled while the NATS connection is lost (holdAnswers .. releaseAnswers),
   *  as [reply subject, payload]; null while connected. */
  #held: [string, Uint8Array][] | null = null;

  constructor(nc: NatsConnection, opts: LiveRouterOptions) {
    this.#nc = nc;
    this.#subs = opts.subs;
    this.#log = opts.log;
    this.#repeated = new RepeatedLog((msg, fields) => opts.log('warn', msg, fields));
    this.nodeId = randomBytes(8).toString('hex');
    this.#gwPrefix = `${opts.prefix}.gw.`;
    this.#devPrefix = `${opts.prefix}.dev.`;
    this.#located = Buffer.concat([Buffer.of(DELIVERED), Buffer.from(this.nodeId, 'latin1')]);
    this.#inbox = `${createInbox(opts.inboxPrefix)}.`;
    const n = this.#inbox.length;
    this.#inboxSub = nc.subscribe(`${this.#inbox}*`, {
      callback: (err, m) => {
        if (err !== null) return;
        const token = m.subject.slice(n);
        if (token === PROBE_TOKEN) this.probes.inbox++;
        else this.#onAnswer(token, m);
      },
    });
    this.#gwSub = nc.subscribe(this.#gwPrefix + this.nodeId, {
      callback: (err, m) => {
        if (err !== null) return;
        if (m.data.length === 0 && (m.reply ?? '') === '') this.probes.node++;
        else this.#onBatch(m);
      },
    });
  }

  /** Where the bus's probes go: the answers' inbox, this node's batch subject. */
  get probeSubjects(): { inbox: string; node: string } {
    return { inbox: this.#inbox + PROBE_TOKEN, node: this.#gwPrefix + this.nodeId };
  }

  /** Devices whose holder is remembered (for tests and metrics). */
  get rememberedDevices(): number {
    return this.#where.size;
  }

  /** Offers that have no outcome yet (at MAX_PENDING_LIVE new ones count as not delivered). */
  get pending(): number {
    return this.#pending;
  }

  // ---------------------------------------------------------------- requester

  /** Offers the envelope to whoever holds the device; true once the device acked it. */
  deliver(key: string, envelope: Uint8Array, timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => this.offer(key, envelope, timeoutMs, resolve));
  }

  /** deliver with a callback: `done` is called once, never synchronously. */
  offer(key: string, envelope: Uint8Array, timeoutMs: number, done: (delivered: boolean) => void): void {
    if (this.#closed) {
      queueMicrotask(() => done(false));
      return;
    }
    if (this.#pending >= MAX_PENDING_LIVE) {
      this.#overflow();
      queueMicrotask(() => done(false));
      return;
    }
    if (this.#subs.live(key) !== undefined) {
      this.#deliverLocal(key, envelope.slice(), timeoutMs, done);
      return;
    }
    const node = this.#where.get(key);
    if (node === undefined) {
      this.#locate(key, envelope, timeoutMs, done);
      return;
    }
    this.#enqueue(node, key, envelope, timeoutMs, done);
  }

  /** The outcome of a batched envelope: a "gone" means the device left that node, so it
   *  is forgotten there and located again (then stored as usual if nobody holds it). */
  #batchOutcome(e: Entry, code: Code, bytes: Uint8Array | null): void {
    const done = e.delivered as (delivered: boolean) => void;
    if (code !== GONE || bytes === null) {
      done(code === DELIVERED);
      return;
    }
    if (this.#where.get(e.key) === e.node) this.#where.delete(e.key);
    if (this.#closed || this.#pending >= MAX_PENDING_LIVE) done(false);
    else this.#locate(e.key, bytes, e.timeoutMs, done);
  }

  /** Runs an entry's outcome (once: the caller has just taken it out of its bucket). */
  #complete(e: Entry, code: Code, node: string, envelope: Uint8Array | null): void {
    if (e.done !== null) e.done(code, node, envelope);
    else this.#batchOutcome(e, code, envelope);
  }

  #overflow(): void {
    this.#repeated.note('bus: too many live deliveries in flight; treating new ones as not delivered', { limit: MAX_PENDING_LIVE });
  }

  /** The device is held by this bus: no NATS, same deadline. */
  #deliverLocal(key: string, envelope: Uint8Array, timeoutMs: number, done: (delivered: boolean) => void): void {
    const token = this.#register(timeoutMs, (code) => done(code === DELIVERED), null, '', '', true);
    // The handler may answer at once (a closing socket): settle after this call
    // returns, so `done` is never called synchronously.
    this.#handle(this.#subs.live(key), envelope, (code) => queueMicrotask(() => this.#settle(token, code === DELIVERED ? DELIVERED : REFUSED)));
  }

  #register(timeoutMs: number, done: Entry['done'], delivered: Entry['delivered'] = null, key = '', node = '', local = false): number {
    const token = this.#next;
    this.#next = (this.#next + 1) >>> 0;
    let bucket = this.#buckets.get(timeoutMs);
    if (bucket === undefined) {
      bucket = new Map();
      this.#buckets.set(timeoutMs, bucket);
    }
    const e: Entry = { done, delivered, key, node, local, timeoutMs, deadline: Date.now() + timeoutMs, bucket };
    bucket.set(token, e);
    this.#pending++;
    this.#timer ??= setInterval(() => this.#sweep(), SWEEP_MS);
    return token;
  }

  /** Settles one entry (first outcome wins). */
  #settle(token: number, code: Code, node = '', envelope: Uint8Array | null = null): void {
    const e = this.#entry(token);
    if (e === undefined) return; // late answer after its deadline
    e.bucket.delete(token);
    this.#pending--;
    this.#complete(e, code, node, envelope);
  }

  #entry(token: number): Entry | undefined {
    for (const bucket of this.#buckets.values()) {
      const e = bucket.get(token);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  #remember(key: string, node: string): void {
    if (node === this.nodeId || !NODE_RE.test(node)) return;
    if (this.#where.size >= WHERE_MAX && !this.#where.has(key)) {
      const oldest = this.#where.keys().next();
      if (oldest.done !== true) this.#where.delete(oldest.value);
    }
    this.#where.set(key, node);
  }

  /** Request on the device subject; the answer names the holder's node. */
  #locate(key: string, envelope: Uint8Array, timeoutMs: number, resolve: (ok: boolean) => void): void {
    const token = this.#register(timeoutMs, (code, node) => {
      if (code === DELIVERED && node !== '') this.#remember(key, node);
      resolve(code === DELIVERED);
    });
    publishThisTurn(this.#nc, this.#devPrefix + key, envelope, this.#inbox + token, () => this.#settle(token, REFUSED));
  }

  /** Adds the envelope to this turn's batch for `node` (copied now: the caller may reuse its buffer). */
  #enqueue(node: string, key: string, envelope: Uint8Array, timeoutMs: number, done: (delivered: boolean) => void): void {
    const token = this.#register(timeoutMs, null, done, key, node);
    const need = ITEM_HEAD + envelope.length;
    let b = this.#out.get(node);
    if (b !== undefined && b.len + need > BATCH_MAX_BYTES && b.tokens.length > 0) {
      this.#out.delete(node);
      this.#sendBatch(b);
      b = undefined;
    }
    if (b === undefined) {
      b = { node, buf: Buffer.allocUnsafe(Math.max(16 * 1024, 1 + need)), len: 1, tokens: [], spans: [] };
      b.buf[0] = VERSION;
      this.#out.set(node, b);
    }
    if (b.len + need > b.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(b.buf.length * 2, b.len + need));
      b.buf.copy(bigger, 0, 0, b.len);
      b.buf = bigger;
    }
    const buf = b.buf;
    let o = b.len;
    buf.writeUInt32BE(token, o);
    buf.write(key, o + 4, KEY_BYTES, 'latin1');
    buf.writeUInt32BE(envelope.length, o + 4 + KEY_BYTES);
    o += ITEM_HEAD;
    buf.set(envelope, o);
    b.len = o + envelope.length;
    b.tokens.push(token);
    b.spans.push(o, envelope.length);
    if (!this.#outScheduled) {
      this.#outScheduled = true;
      setImmediate(() => this.#flushBatches());
    }
  }

  #flushBatches(): void {
    this.#outScheduled = false;
    const out = this.#out;
    if (out.size === 0) return;
    this.#out = new Map();
    for (const b of out.values()) this.#sendBatch(b);
  }

  #sendBatch(b: OutBatch): void {
    const no = this.#nextBatch;
    this.#nextBatch = (this.#nextBatch + 1) >>> 0;
    // Kept until answered or expired (the deadline of its last item): a "gone" answer
    // needs the envelope again to locate the device.
    const last = this.#entry(b.tokens[b.tokens.length - 1] as number);
    this.#batches.set(no, { tokens: b.tokens, spans: b.spans, buf: b.buf, deadline: last?.deadline ?? Date.now(), left: b.tokens.length });
    try {
      this.#nc.publish(this.#gwPrefix + b.node, b.buf.subarray(0, b.len), { reply: `${this.#inbox}b${no}` });
    } catch {
      // connection closed or draining: nobody will answer
      this.#batches.delete(no);
      for (const t of b.tokens) this.#settle(t, REFUSED);
    }
  }

  #onAnswer(token: string, m: Msg): void {
    const d = m.data;
    const noResponders = m.headers !== undefined && m.headers.code === 503;
    if (token.charCodeAt(0) === 98 /* b */) {
      const no = Number(token.slice(1));
      const batch = this.#batches.get(no);
      if (batch === undefined) return;
      if (noResponders) {
        this.#batches.delete(no);
        // The node is gone: every device of the batch must be located again.
        for (let i = 0; i < batch.tokens.length; i++) this.#settle(batch.tokens[i] as number, GONE, '', spanOf(batch, i));
        return;
      }
      if (d.length < 1 || d[0] !== VERSION || (d.length - 1) % 5 !== 0) {
        this.#badInput('bus: malformed live batch answer dropped');
        this.#batches.delete(no);
        for (const t of batch.tokens) this.#settle(t, REFUSED);
        return;
      }
      const view = Buffer.from(d.buffer, d.byteOffset, d.length);
      let index: Map<number, number> | null = null;
      for (let o = 1; o < d.length; o += 5) {
        const t = view.readUInt32BE(o);
        const code = d[o + 4] as number;
        if (code === GONE) {
          index ??= new Map(batch.tokens.map((tok, i) => [tok, i]));
          const i = index.get(t);
          this.#settle(t, i === undefined ? REFUSED : GONE, '', i === undefined ? null : spanOf(batch, i));
        } else {
          this.#settle(t, code === DELIVERED ? DELIVERED : REFUSED);
        }
      }
      batch.left -= (d.length - 1) / 5;
      if (batch.left <= 0) this.#batches.delete(no);
      return;
    }
    const t = Number(token);
    if (!Number.isInteger(t)) return;
    // 503 = no responders: nobody holds the device.
    const ok = !noResponders && d.length >= 1 && d[0] === DELIVERED;
    const node = ok && d.length === 1 + 16 ? Buffer.from(d.buffer, d.byteOffset, d.length).toString('latin1', 1, 17) : '';
    this.#settle(t, ok ? DELIVERED : REFUSED, node);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [ms, bucket] of this.#buckets) {
      for (const [token, e] of bucket) {
        if (e.deadline > now) break;
        bucket.delete(token);
        this.#pending--;
        this.#complete(e, REFUSED, '', null);
      }
      if (bucket.size === 0) this.#buckets.delete(ms);
    }
    for (const [no, b] of this.#batches) {
      if (b.deadline > now) break;
      this.#batches.delete(no);
    }
    if (this.#pending === 0 && this.#batches.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /**
   * The NATS connection dropped (NatsBus #onDrop): no answer to an offer made to another
   * gateway before now can come (the reply subject's interest went with the connection,
   * and what nats.js had not written yet it drops at its reconnect), so each is not
   * delivered now rather than at its deadline (--live-timeout-ms): the relay stores it
   * in the mailbox instead. The holder may have handed it to its device all the same;
   * the device drops the second copy by its id, as after a timeout. Offers to devices
   * this bus holds wait for their acks as before.
   */
  dropRemote(): void {
    if (this.#closed || this.#pending === 0) return;
    const lost: Entry[] = [];
    for (const [ms, bucket] of this.#buckets) {
      for (const [token, e] of bucket) {
        if (e.local) continue;
        bucket.delete(token);
        lost.push(e);
      }
      if (bucket.size === 0) this.#buckets.delete(ms);
    }
    this.#pending -= lost.length;
    this.#batches.clear();
    this.#out.clear();
    for (const e of lost) this.#complete(e, REFUSED, '', null);
  }

  /**
   * The NATS connection dropped (NatsBus #onDrop): the answers this node settles from now
   * on (its devices acking what was in flight to them) are held, not written into nats.js,
   * which drops what it is given while disconnected; the senders, whose own connection
   * may be fine, would wait for their deadline (--live-timeout-ms) and store what the
   * device already has. releaseAnswers sends them once reconnected (a sender that gave
   * up meanwhile ignores a late one). At most MAX_PENDING_LIVE are held.
   */
  holdAnswers(): void {
    if (!this.#closed) this.#held ??= [];
  }

  /** Reconnected (or closing): the held answers go out. */
  releaseAnswers(): void {
    const held = this.#held;
    if (held === null) return;
    this.#held = null;
    for (const [subject, data] of held) this.#publishNow(subject, data);
  }

  // ---------------------------------------------------------------- holder

  /** A locate request on a device subject this bus subscribes (NatsBus #attach). */
  onDeviceRequest(key: string, m: Msg): void {
    const reply = m.reply ?? '';
    if (this.#closed) {
      // Closing: nobody is held here any more. Answered at once, not with the turn: the
      // connection's drain stops publishing soon after its subscriptions are drained.
      if (reply !== '') this.#publishNow(reply, ZERO);
      return;
    }
    this.#handle(this.#subs.live(key), m.data, (code) => {
      if (reply === '') return;
      const answer = code === DELIVERED ? this.#located : ZERO;
      if (this.#closed || this.#held !== null) this.#publishNow(reply, answer); // settled while closing: at once
      else publishThisTurn(this.#nc, reply, answer);
    });
  }

  #publishNow(subject: string, data: Uint8Array): void {
    if (this.#held !== null && !this.#closed) {
      if (this.#held.length < MAX_PENDING_LIVE) this.#held.push([subject, data]);
      else this.#repeated.note('bus: too many live answers held while NATS is lost; the senders of the rest store at their deadline', { limit: MAX_PENDING_LIVE });
      return;
    }
    try {
      this.#nc.publish(subject, data);
    } catch {
      // closed or done draining: the requester's deadline turns these into mailbox stores
    }
  }

  /** Runs the device's live handler; `answer` is called once with the outcome. */
  #handle(handler: LiveHandler | undefined, envelope: Uint8Array, answer: (code: Code) => void): void {
    if (handler === undefined) {
      answer(GONE);
      return;
    }
    if (this.#handling >= MAX_PENDING_LIVE) {
      answer(REFUSED); // the gateway is not answering its devices' acks: refuse
      return;
    }
    this.#handling++;
    runLiveHandler(handler, envelope, (ok) => {
      this.#handling--;
      answer(ok ? DELIVERED : REFUSED);
    });
  }

  /** #handle for a batch item, with one closure per item (the handler's callback
   *  answers the item itself) instead of an answer callback and the handler's. */
  #handleItem(handler: LiveHandler, envelope: Uint8Array, reply: string, token: number): void {
    if (this.#handling >= MAX_PENDING_LIVE) {
      this.#answer(reply, token, REFUSED); // the gateway is not answering its devices' acks: refuse
      return;
    }
    this.#handling++;
    runLiveHandler(handler, envelope, (ok) => {
      this.#handling--;
      this.#answer(reply, token, ok ? DELIVERED : REFUSED);
    });
  }

  #onBatch(m: Msg): void {
    const reply = m.reply ?? '';
    const d = m.data;
    if (d.length < 1 || d[0] !== VERSION) {
      this.#badInput('bus: live batch of an unknown version dropped');
      return;
    }
    const view = Buffer.from(d.buffer, d.byteOffset, d.length);
    if (this.#closed) {
      this.#answerAllGone(reply, view);
      return;
    }
    let o = 1;
    while (o < d.length) {
      if (o + ITEM_HEAD > d.length) break;
      const token = view.readUInt32BE(o);
      const key = view.toString('latin1', o + 4, o + 4 + KEY_BYTES);
      const n = view.readUInt32BE(o + 4 + KEY_BYTES);
      const start = o + ITEM_HEAD;
      if (start + n > d.length) break;
      o = start + n;
      // Only a subscribed key finds a handler, and keys are checked when subscribed: the
      // shape check is needed only for a key nobody holds (malformed: refused; else gone).
      const handler = this.#subs.live(key);
      if (handler === undefined) {
        this.#answer(reply, token, KEY_RE.test(key) ? GONE : REFUSED);
        continue;
      }
      this.#handleItem(handler, d.subarray(start, start + n), reply, token);
    }
    if (o !== d.length) this.#badInput('bus: truncated live batch');
  }

  /** A batch that reached this node while it closes (nats-server routed it before it
   *  read the UNSUB; close() drains the subscription so it still arrives): every item is
   *  "gone", answered in one message at once, so the sender locates the devices again
   *  instead of waiting for its deadline. */
  #answerAllGone(reply: string, view: Buffer): void {
    if (reply === '') return;
    const answer: number[] = [];
    let o = 1;
    while (o + ITEM_HEAD <= view.length) {
      const token = view.readUInt32BE(o);
      const n = view.readUInt32BE(o + 4 + KEY_BYTES);
      if (o + ITEM_HEAD + n > view.length) break;
      answer.push(token, GONE);
      o += ITEM_HEAD + n;
    }
    this.#publishNow(reply, encodeAnswer(answer));
  }

  #answer(reply: string, token: number, code: Code): void {
    if (reply === '') return;
    if (this.#closed) {
      // A delivery that settled while this node closes: answered at once, alone (the
      // connection may stop publishing before a turn's batch would go out).
      this.#publishNow(reply, encodeAnswer([token, code]));
      return;
    }
    let a = this.#answers.get(reply);
    if (a === undefined) {
      a = [];
      this.#answers.set(reply, a);
    }
    a.push(token, code);
    if (!this.#answersScheduled) {
      this.#answersScheduled = true;
      setImmediate(() => this.#flushAnswers());
    }
  }

  #flushAnswers(): void {
    this.#answersScheduled = false;
    const all = this.#answers;
    if (all.size === 0) return;
    this.#answers = new Map();
    for (const [reply, a] of all) this.#publishNow(reply, encodeAnswer(a));
  }

  #badInput(msg: string): void {
    this.#repeated.note(msg);
  }

  /** Answers every pending request with "not delivered" and stops; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    const pending: Entry[] = [];
    for (const bucket of this.#buckets.values()) for (const e of bucket.values()) pending.push(e);
    this.#pending = 0;
    this.#buckets.clear();
    this.#batches.clear();
    this.#out.clear();
    for (const e of pending) this.#complete(e, REFUSED, '', null);
    try {
      this.#inboxSub.unsubscribe(); // every offer of ours is settled: no answer is awaited
    } catch {
      // connection already closed
    }
    // Drained, not dropped: batches nats-server routed here before it read the UNSUB
    // still arrive and are answered "gone" (#answerAllGone). A plain unsubscribe dropped
    // them in nats.js, and their senders waited the whole live timeout before storing
    // (test/bus/nats.test.ts "as it closes").
    void drainSubscriptions(this.#nc, [this.#gwSub]);
  }
}
