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
// Bound: at most MAX_PENDING requests wait for their reply; beyond that a request fails
// UNAVAILABLE at once (callers bound their own concurrency far below it, see
// MailboxEraser in nats.ts). Every request has a deadline.
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { busUnavailable } from './common.ts';
import { publishThisTurn } from './turn-batch.ts';

const MAX_PENDING = 65_536;
const SWEEP_MS = 50;

/** Called once with the reply payload (and the reply, for its headers), or with an error
 *  (and an empty payload). */
export type ApiCallback = (err: Error | null, data: Uint8Array, reply?: Msg) => void;

const EMPTY = new Uint8Array(0);
const te = new TextEncoder();

interface Entry {
  cb: ApiCallback;
  deadline: number;
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

  constructor(nc: NatsConnection, timeoutMs: number, inboxPrefix?: string) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    this.#inbox = `${createInbox(inboxPrefix)}.`;
    const n = this.#inbox.length;
    this.#sub = nc.subscribe(`${this.#inbox}*`, {
      callback: (err, m) => {
        if (err !== null) return;
        const token = m.subject.slice(n);
        const e = this.#pending.get(token);
        if (e === undefined) return; // late answer after a timeout
        this.#pending.delete(token);
        // 503 = no responders (JetStream not enabled / stream leader gone). A status
        // never has a body: only a bodyless reply has its headers parsed (see lastMessage).
        const data = m.data;
        if (data.length === 0 && (m.headers?.code ?? 0) === 503) e.cb(busUnavailable('mailbox store unavailable', new Error('no responders')), EMPTY);
        else e.cb(null, data, m);
      },
    });
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** The raw reply payload (JSON for the JetStream API); UNAVAILABLE on timeout. */
  request(subject: string, payload: Uint8Array): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      this.send(subject, payload, (err, data) => (err === null ? resolve(data) : reject(err)));
    });
  }

  /**
   * A JetStream direct get of the last message on `subject` in `stream` (the stream must
   * allow direct gets): the message, or null when there is none (404). Used for the
   * directory read of every authentication and the empty-mailbox check of every read.
   * `bySubjectToken` puts the subject in the API subject (the KV client's form, for KV
   * buckets); otherwise it goes in a `last_by_subj` body.
   */
  lastMessage(stream: string, subject: string, bySubjectToken: boolean): Promise<Msg | null> {
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
      });
    });
  }

  /** Like request(), with a callback instead of a promise (a page of deletes makes one
   *  per message). The callback may run synchronously when the request cannot be sent. */
  send(subject: string, payload: Uint8Array, cb: ApiCallback): void {
    if (this.#closed) return cb(busUnavailable('NATS connection lost'), EMPTY);
    if (this.#pending.size >= MAX_PENDING) return cb(busUnavailable('too many store requests in flight'), EMPTY);
    const token = (this.#next++).toString(36);
    this.#pending.set(token, { cb, deadline: Date.now() + this.#timeoutMs });
    this.#timer ??= setInterval(() => this.#sweep(), SWEEP_MS);
    publishThisTurn(this.#nc, subject, payload, this.#inbox + token, () => {
      if (this.#pending.delete(token)) cb(busUnavailable('mailbox store unavailable'), EMPTY);
    });
  }

  #sweep(): void {
    const now = Date.now();
    for (const [token, e] of this.#pending) {
      if (e.deadline > now) break;
      this.#pending.delete(token);
      e.cb(busUnavailable('mailbox store request timed out'), EMPTY);
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
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const e of all) e.cb(busUnavailable('NATS connection lost'), EMPTY);
  }
}
