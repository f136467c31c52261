// JetStream API requests of the mailbox path (erasing deletes, consumer create/info),
// without nats.js request().
//
// nats.js builds a RequestError object, a timer and a mux entry per request(); a mailbox
// drain makes one erasing delete per delivered message, so that was a large share of the
// gateway's CPU per drained message (profiled with `hushwire bench --workload backlog
// --cpu-prof`). Here a reply settles an entry of one map on one wildcard inbox
// subscription, and one sweep timer (running only while requests are pending) expires
// them; requests are handed to the client once per event-loop turn (turn-batch.ts), so a
// page of deletes is one write to nats-server.
//
// Bound: at most MAX_PENDING requests wait for their reply, in two classes:
// - 'auth': the directory reads of authentications (Bus.directoryGet with
//   `authentication`), which may use the whole pool. Each connection has at most one in
//   flight (relay/session.ts #busy), so they are bounded by the connections the gateway
//   admits (--max-connections, --connect-rate).
// - 'other': everything else (empty-mailbox checks and reads, consumer calls, erasing
//   deletes, recipient lookups, the directory reads of stored sends and registrations),
//   at most MAX_PENDING - AUTH_RESERVE at once. Stored sends are bounded per device
//   only (--send-rate), so a hundred-odd devices sending to offline recipients while
//   nats-server stalls could otherwise fill the whole pool, and every authentication on
//   the gateway failed until their deadlines passed.
// Beyond its bound a request fails UNAVAILABLE at once; refusals are counted per class
// (hushwire_bus_requests_refused_total) and logged at most once per REFUSAL_LINE_EVERY_MS
// per class. Every request has a deadline.
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { busUnavailable, noopLog, type BusLogFn } from './common.ts';
import { publishThisTurn } from './turn-batch.ts';

/** Requests waiting for their reply, all classes together. */
export const MAX_PENDING = 65_536;
/** Room only authentications' directory reads may use. 16,384 covers the connections
 *  one gateway admits while a request waits out its deadline at the default settings
 *  (--connect-burst 2,000 + --connect-rate 1,000/s over --auth-timeout-ms 10 s and the
 *  5 s request timeout: ~17,000 connections, each with at most one authentication read
 *  in flight; most of them also find room in the shared part) and leaves 49,152 to the
 *  rest: lookups (at most 16,384 a gateway, relay/limits.ts), mailbox reads (4,096),
 *  erases (32) and the directory reads of stored sends. */
export const AUTH_RESERVE = 16_384;
const SWEEP_MS = 50;
/** The refusal warning of a class at most this often (with the count since the last). */
const REFUSAL_LINE_EVERY_MS = 10_000;

/** Which share of the pool a request may use (see the bound above). */
export type RequestClass = 'auth' | 'other';
export const REQUEST_CLASSES: readonly RequestClass[] = ['auth', 'other'];

export interface ApiRequestsOptions {
  /** Prefix of the reply inbox (--nats-inbox-prefix). */
  inboxPrefix?: string;
  /** The pool's size (default MAX_PENDING); tests make it small. */
  maxPending?: number;
  /** Room only 'auth' may use (default AUTH_RESERVE); must be below maxPending. */
  authReserve?: number;
  log?: BusLogFn;
  /** Told of each reply that came back (anything, "no responders" too) and of each
   *  request that timed out (relay/bus/nats-heal.ts). */
  watch?: { answered(): void; timedOut(): void };
}

/** The token of the bus's probe on this pool's inbox (relay/bus/nats-heal.ts): not a
 *  request token (those are base 36), so its message is no request's answer. */
export const PROBE_TOKEN = 'hw_probe';

/** Called once with the reply payload (and the reply, for its headers), or with an error
 *  (and an empty payload). */
export type ApiCallback = (err: Error | null, data: Uint8Array, reply?: Msg) => void;

/** The pool's bounds, defaults filled in; throws RangeError unless 1 <= authReserve < maxPending. */
export function checkRequestPool(opts: { maxPending?: number; authReserve?: number }): { maxPending: number; authReserve: number } {
  const maxPending = opts.maxPending ?? MAX_PENDING;
  const authReserve = opts.authReserve ?? AUTH_RESERVE;
  if (!Number.isSafeInteger(maxPending) || !Number.isSafeInteger(authReserve) || authReserve < 1 || authReserve >= maxPending) {
    throw new RangeError(`request pool: need integers 1 <= authReserve (${authReserve}) < maxPending (${maxPending})`);
  }
  return { maxPending, authReserve };
}

const EMPTY = new Uint8Array(0);
const te = new TextEncoder();

interface Entry {
  cb: ApiCallback;
  deadline: number;
  auth: boolean;
}

interface Refusals {
  count: number;
  /** Refusals since the last line, and when that was. */
  unsaid: number;
  lineAt: number;
}

export class ApiRequests {
  readonly #nc: NatsConnection;
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #timeoutMs: number;
  /** Insertion order is deadline order (one timeout for all), so a sweep stops early. */
  readonly #pending = new Map<string, Entry>();
  #next = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #maxPending: number;
  readonly #maxOther: number;
  /** Pending entries of class 'other' (the rest of #pending is 'auth'). */
  #otherPending = 0;
  readonly #refused: Record<RequestClass, Refusals> = {
    auth: { count: 0, unsaid: 0, lineAt: -Infinity },
    other: { count: 0, unsaid: 0, lineAt: -Infinity },
  };
  readonly #log: BusLogFn;
  readonly #watch: ApiRequestsOptions['watch'];
  /** Probe messages received on the inbox (PROBE_TOKEN). */
  #probes = 0;

  constructor(nc: NatsConnection, timeoutMs: number, opts: ApiRequestsOptions = {}) {
    const { maxPending, authReserve: reserve } = checkRequestPool(opts);
    this.#maxPending = maxPending;
    this.#maxOther = maxPending - reserve;
    this.#log = opts.log ?? noopLog;
    this.#watch = opts.watch;
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    this.#inbox = `${createInbox(opts.inboxPrefix)}.`;
    const n = this.#inbox.length;
    this.#sub = nc.subscribe(`${this.#inbox}*`, {
      callback: (err, m) => {
        if (err !== null) return;
        const token = m.subject.slice(n);
        const e = this.#pending.get(token);
        if (e === undefined) {
          if (token === PROBE_TOKEN) this.#probes++;
          return; // late answer after a timeout
        }
        this.#watch?.answered();
        this.#pending.delete(token);
        if (!e.auth) this.#otherPending--;
        // 503 = no responders (JetStream not enabled / stream leader gone). A status
        // never has a body: only a bodyless reply has its headers parsed (see lastMessage).
        const data = m.data;
        if (data.length === 0 && (m.headers?.code ?? 0) === 503) e.cb(busUnavailable('mailbox store unavailable', new Error('no responders')), EMPTY);
        else e.cb(null, data, m);
      },
    });
  }

  /** The subject of the bus's probe of this inbox, and how many probes came back. */
  get probeSubject(): string {
    return this.#inbox + PROBE_TOKEN;
  }

  get probes(): number {
    return this.#probes;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Requests of a class waiting for their reply. */
  pendingOf(cls: RequestClass): number {
    return cls === 'auth' ? this.#pending.size - this.#otherPending : this.#otherPending;
  }

  /** Requests of a class refused for lack of room, since this pool was made. */
  refusedOf(cls: RequestClass): number {
    return this.#refused[cls].count;
  }

  /** The raw reply payload (JSON for the JetStream API); UNAVAILABLE on timeout. */
  request(subject: string, payload: Uint8Array, cls: RequestClass = 'other'): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      this.send(subject, payload, (err, data) => (err === null ? resolve(data) : reject(err)), cls);
    });
  }

  /**
   * A JetStream direct get of the last message on `subject` in `stream` (the stream must
   * allow direct gets): the message, or null when there is none (404). Used for the
   * directory read of every authentication and the empty-mailbox check of every read.
   * `bySubjectToken` puts the subject in the API subject (the KV client's form, for KV
   * buckets); otherwise it goes in a `last_by_subj` body.
   */
  lastMessage(stream: string, subject: string, bySubjectToken: boolean, cls: RequestClass = 'other'): Promise<Msg | null> {
    const api = bySubjectToken ? `$JS.API.DIRECT.GET.${stream}.${subject}` : `$JS.API.DIRECT.GET.${stream}`;
    const body = bySubjectToken ? EMPTY : te.encode(`{"last_by_subj":"${subject}"}`);
    return new Promise<Msg | null>((resolve, reject) => {
      this.send(api, body, (err, data, m) => {
        if (err !== null) return reject(err);
        // A status reply (404, or an error) never has a body, and what this reads never
        // stores an empty one (directory entries, relayed envelopes): a reply with a body
        // is the message, without parsing its headers (nats.js's header parser made the
        // largest share of an authentication's garbage). Only a bodyless reply is looked
        // at: a status, a KV delete marker, or an empty message.
        if (data.length > 0 && m !== undefined) return resolve(m);
        const code = m?.headers?.code ?? 0;
        if (code === 404) return resolve(null); // no message on the subject
        if (code !== 0 || m === undefined) return reject(busUnavailable('store unavailable', new Error(`direct get: status ${code}`)));
        resolve(m);
      }, cls);
    });
  }

  /** Like request(), with a callback instead of a promise (a page of deletes makes one
   *  per message). The callback may run synchronously when the request cannot be sent. */
  send(subject: string, payload: Uint8Array, cb: ApiCallback, cls: RequestClass = 'other'): void {
    if (this.#closed) return cb(busUnavailable('NATS connection lost'), EMPTY);
    const auth = cls === 'auth';
    if (this.#pending.size >= this.#maxPending || (!auth && this.#otherPending >= this.#maxOther)) {
      this.#refuse(cls);
      return cb(busUnavailable('too many store requests in flight'), EMPTY);
    }
    const token = (this.#next++).toString(36);
    const entry: Entry = { cb, deadline: Date.now() + this.#timeoutMs, auth };
    this.#pending.set(token, entry);
    if (!auth) this.#otherPending++;
    this.#timer ??= setInterval(() => this.#sweep(), SWEEP_MS);
    publishThisTurn(this.#nc, subject, payload, this.#inbox + token, () => {
      if (this.#pending.get(token) !== entry) return;
      this.#pending.delete(token);
      if (!auth) this.#otherPending--;
      cb(busUnavailable('mailbox store unavailable'), EMPTY);
    });
  }

  /** Counts a refusal, and says so (at most once per REFUSAL_LINE_EVERY_MS per class,
   *  with how many were refused since the last line). */
  #refuse(cls: RequestClass): void {
    const r = this.#refused[cls];
    r.count++;
    r.unsaid++;
    const now = Date.now();
    if (now - r.lineAt < REFUSAL_LINE_EVERY_MS) return;
    r.lineAt = now;
    const what = cls === 'auth'
      ? 'authentications fail UNAVAILABLE'
      : 'everything but authentications (mailbox reads and erases, lookups, stored sends, registrations) fails UNAVAILABLE; authentications keep their reserve';
    const limit = cls === 'auth' ? this.#maxPending : this.#maxOther;
    this.#log('warn', `bus: too many JetStream requests in flight (class ${cls}, at most ${limit}): ${what}; NATS is slow or stalled`,
      { class: cls, limit, refused: r.unsaid, pending: this.#pending.size });
    r.unsaid = 0;
  }

  // Requests past their deadline fail one step later, after the I/O of the loop's turn:
  // a sweep that comes due while the event loop is held up (a loaded machine) runs
  // before the answers that arrived meanwhile are read, and failing them at once said
  // 'timed out' for requests the store had answered in time. setImmediate runs after
  // the turn's poll phase; what is still pending then fails.
  #sweep(): void {
    const now = Date.now();
    const due: [string, Entry][] = [];
    for (const [token, e] of this.#pending) {
      if (e.deadline > now) break;
      due.push([token, e]);
    }
    if (due.length > 0) setImmediate(() => this.#expire(due));
    if (this.#pending.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  #expire(due: [string, Entry][]): void {
    for (const [token, e] of due) {
      if (this.#pending.get(token) !== e) continue; // answered, or failed, meanwhile
      this.#pending.delete(token);
      if (!e.auth) this.#otherPending--;
      this.#watch?.timedOut();
      // Says what it was without naming a store: the pool carries directory reads
      // (an authentication's, at the leader) as well as the mailbox's calls.
      e.cb(busUnavailable(`JetStream request timed out (no answer within ${this.#timeoutMs} ms)`), EMPTY);
    }
    if (this.#pending.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Fails every pending request (connection lost or closing). The subscription stays
   *  unless `final`: nats.js re-subscribes it after a reconnect. */
  failAll(final: boolean): void {
    if (final) {
      this.#closed = true;
      try {
        this.#sub.unsubscribe();
      } catch {
        // connection already closed
      }
    }
    const all = [...this.#pending.values()];
    this.#pending.clear();
    this.#otherPending = 0;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const e of all) e.cb(busUnavailable('NATS connection lost'), EMPTY);
  }
}
