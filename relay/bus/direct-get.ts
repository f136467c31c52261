// JetStream direct gets ("the last message on this subject") without nats.js's
// request(): used for the directory read that every authentication makes.
//
// nats.js builds an Error object for every request (its "cancelled" rejection, made even
// after a successful reply), a timer, a promise chain and a token per call; on a
// reconnect storm that was ~10% of a gateway's busy time for the two direct gets of each
// authentication (docs/BENCHMARKS.md). Here the requests share one inbox subscription,
// a reply resolves a map entry, one sweep timer (running only while gets are pending)
// expires them, and the requests leave with the turn's other publishes
// (relay/bus/turn-batch.ts): one write for the gets of a whole turn.
//
// Bound: at most MAX_PENDING gets in flight; beyond that a get fails UNAVAILABLE at once.
// Every get ends by its deadline (the bus's request timeout) at the latest.
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { publishThisTurn } from './turn-batch.ts';
import { busUnavailable } from './common.ts';

const MAX_PENDING = 65_536;
const SWEEP_MS = 50;
const EMPTY = new Uint8Array(0);

interface Pending {
  resolve: (m: Msg | null) => void;
  reject: (e: unknown) => void;
  deadline: number;
}

export class DirectGets {
  readonly #nc: NatsConnection;
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #timeoutMs: number;
  /** Insertion order is deadline order (one timeout for all): a sweep stops early. */
  readonly #pending = new Map<string, Pending>();
  #next = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    this.#inbox = `${createInbox()}.`;
    const n = this.#inbox.length;
    this.#sub = nc.subscribe(`${this.#inbox}*`, {
      callback: (err, m) => {
        if (err !== null) return;
        const token = m.subject.slice(n);
        const p = this.#pending.get(token);
        if (p === undefined) return; // answered after its deadline
        this.#pending.delete(token);
        // 404: no message on that subject; any other status is a failure.
        const code = m.headers?.code ?? 0;
        if (code === 0) p.resolve(m);
        else if (code === 404) p.resolve(null);
        else p.reject(busUnavailable('store unavailable', new Error(`direct get status ${code}`)));
      },
    });
  }

  /** The last message stored on `subject` in `stream` (allow_direct), null if none. */
  last(stream: string, subject: string): Promise<Msg | null> {
    if (this.#pending.size >= MAX_PENDING) return Promise.reject(busUnavailable('too many store reads in flight'));
    return new Promise<Msg | null>((resolve, reject) => {
      const token = (this.#next++).toString(36);
      this.#pending.set(token, { resolve, reject, deadline: Date.now() + this.#timeoutMs });
      this.#timer ??= setInterval(() => this.#sweep(), SWEEP_MS);
      publishThisTurn(this.#nc, `$JS.API.DIRECT.GET.${stream}.${subject}`, EMPTY, this.#inbox + token, () => {
        if (this.#pending.delete(token)) reject(busUnavailable('store unavailable'));
      });
    });
  }

  #sweep(): void {
    const now = Date.now();
    for (const [token, p] of this.#pending) {
      if (p.deadline > now) break;
      this.#pending.delete(token);
      p.reject(busUnavailable('store read timed out'));
    }
    if (this.#pending.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Fails every pending get and stops. */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const p of this.#pending.values()) p.reject(busUnavailable('bus closed'));
    this.#pending.clear();
    try {
      this.#sub.unsubscribe();
    } catch {
      // connection already closed
    }
  }
}
