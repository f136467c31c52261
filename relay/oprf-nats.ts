// The NATS connection of the OPRF evaluator and of the gateways' evaluator client.
//
// Neither process should need NATS to be up when it starts (pods start in any order):
// the first connect is retried in the background with full-jitter backoff, and once
// connected nats.js reconnects by itself. Until then callers see `connection === null`
// and answer UNAVAILABLE at once instead of waiting. One warn line when NATS is not
// reachable (host:port only: a URL may carry credentials), one info line when it is.
//
// What retrying cannot fix (NATS refuses the credentials or the TLS settings:
// relay/nats-connect.ts NatsRefused) is not retried: found at the first attempt, start()
// rejects with it (the process stops at start, naming the flag, like a gateway's bus);
// found later (NATS was down at start), it is logged once at error level and
// `whenFailed` resolves with it.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from './log.ts';
import { natsEndpoints } from './nats-endpoints.ts';
import { connectNats, natsRefusal, NatsRefused, statusServer } from './nats-connect.ts';
import { readNatsAccess, type NatsAccess } from './nats-connect-options.ts';
import type { RefusalLogFn } from './nats-refusals.ts';
import { withTimeout } from './bus/common.ts';

/** close(true): the longest the connection's drain may take (a PONG from the server)
 *  before it is closed anyway. A stalled server would otherwise hold it until the
 *  connection's ping-out (~30-45 s), and then the drain failed and left it open. */
export const CLOSE_DRAIN_MS = 5_000;

export interface NatsLinkOptions {
  servers: string[];
  /** Servers, TLS and credentials read from the settings (relay/nats-connect-options.ts);
   *  default: from `servers` alone. */
  access?: NatsAccess;
  /** Connection name shown by nats-server. */
  name: string;
  log: Logger;
  /** What this link is for, in log lines ("OPRF evaluator", ...). */
  what: string;
  /** Called once per (re)connection with the new connection. */
  onConnect?: (nc: NatsConnection) => void;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Prefix of this link's reply subjects (nats.js inboxPrefix; default _INBOX). */
  inboxPrefix?: string;
  /** Run on each new connection before it counts as up (e.g. a permission check): a
   *  refusal it returns is treated like NATS refusing the credentials (not retried). */
  check?: (nc: NatsConnection) => Promise<NatsRefused | null>;
}

export class NatsLink {
  #opts: NatsLinkOptions;
  #access: NatsAccess;
  #nc: NatsConnection | null = null;
  #up = false;
  /** Losses of the connection seen (disconnects while up), for requests in flight. */
  #losses = 0;
  /** Called at every change of `up` (a loss, a reconnect, the close). */
  readonly #onChange = new Set<() => void>();
  #closed = false;
  #timer: NodeJS.Timeout | null = null;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  /** The first attempt's refusal: start() rejects with it. */
  #refusedAtStart: NatsRefused | null = null;
  /** A renew() under way. */
  #renewing = false;
  /** Connections renew() replaced, open until their requests' deadlines passed. */
  readonly #retired = new Map<NatsConnection, NodeJS.Timeout>();
  #failed: (e: NatsRefused) => void = () => undefined;
  /** Resolves (never rejects) when a later attempt found that NATS refuses these
   *  settings; retries have stopped then. Pending otherwise. */
  readonly whenFailed: Promise<NatsRefused>;

  /** Lines about refusals, through the link's logger. */
  readonly #logFn: RefusalLogFn = (level, msg, fields) => this.#opts.log[level](fields ?? {}, msg);

  constructor(opts: NatsLinkOptions) {
    this.#opts = opts;
    this.#access = opts.access ?? readNatsAccess({ nats: opts.servers });
    this.#access.files.refusals.declare(opts.what);
    this.whenFailed = new Promise<NatsRefused>((r) => { this.#failed = r; });
  }

  /** The connection once established (even while nats.js is reconnecting it). */
  get connection(): NatsConnection | null {
    return this.#nc;
  }

  /** True while connected to a server. */
  get up(): boolean {
    return this.#up;
  }

  /** Losses of the connection seen so far. */
  get losses(): number {
    return this.#losses;
  }

  /** Resolves true once `pred` holds, checked now and at every loss, reconnect and close;
   *  false after `ms`. nats.js drops what is written while disconnected and never answers
   *  a request in flight at a loss: its callers wait for the reconnect instead
   *  (relay/evaluator-remote.ts). `signal` ends the wait (false). */
  until(pred: () => boolean, ms: number, signal?: AbortSignal): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (!pred() && !this.#closed) return;
        done(pred());
      };
      const timer = setTimeout(() => done(false), Math.max(0, ms));
      const done = (v: boolean): void => {
        clearTimeout(timer);
        this.#onChange.delete(check);
        signal?.removeEventListener('abort', stop);
        resolve(v);
      };
      const stop = (): void => done(false);
      this.#onChange.add(check);
      signal?.addEventListener('abort', stop);
    });
  }

  #changed(): void {
    for (const f of [...this.#onChange]) f();
  }

  /** Starts connecting in the background; resolves after the first attempt, or rejects
   *  with NatsRefused when NATS refused the settings (nothing is retried then). */
  async start(): Promise<void> {
    if (this.#loop || this.#closed) return;
    let first!: () => void;
    const firstDone = new Promise<void>((r) => { first = r; });
    this.#loop = this.#run(first);
    await firstDone;
    if (this.#refusedAtStart) throw this.#refusedAtStart;
  }

  /** nats.js options of this link's connections (the first and any renew()). */
  #connectOptions(): Parameters<typeof connectNats>[0] {
    const o = this.#opts;
    return {
      name: o.name,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      reconnectJitter: 1000,
      timeout: 5000,
      pingInterval: 10_000,
      maxPingOut: 3,
      // nats.js would close the connection for good after two authorization errors in a
      // row while reconnecting (credentials changed on the server a moment early): keep
      // trying with backoff instead, so the process recovers when they match again
      // (test/faults/nats-auth-rotation.test.ts). Refusals at start are still final
      // (relay/nats-connect.ts).
      ignoreAuthErrorAbort: true,
      waitOnFirstConnect: false,
      noAsyncTraces: true,
      ...(o.inboxPrefix !== undefined ? { inboxPrefix: o.inboxPrefix } : {}),
    };
  }

  async #run(firstDone: () => void): Promise<void> {
    const o = this.#opts;
    const base = o.baseDelayMs ?? 250;
    const max = o.maxDelayMs ?? 5000;
    let failures = 0;
    while (!this.#closed) {
      try {
        const nc = await connectNats(this.#connectOptions(), this.#access);
        if (this.#closed) {
          await nc.close().catch(() => undefined);
          break;
        }
        const refused = o.check ? await o.check(nc).catch(() => null) : null;
        if (refused !== null) {
          await nc.close().catch(() => undefined);
          throw refused;
        }
        this.#nc = nc;
        this.#up = true;
        o.log.info(`${o.what}: NATS connected`);
        this.#watch(nc);
        o.onConnect?.(nc);
        firstDone();
        return;
      } catch (e) {
        failures++;
        if (e instanceof NatsRefused) {
          if (failures === 1) {
            this.#refusedAtStart = e;
          } else {
            o.log.error({ setting: e.setting, attempts: failures }, `${o.what}: NATS reachable at ${natsEndpoints(o.servers)}, but it refuses this process's settings: ${e.reason}`);
            this.#failed(e);
          }
          break;
        }
        if (failures === 1) o.log.warn({ nats: natsEndpoints(o.servers) }, `${o.what}: NATS unreachable, retrying`);
        firstDone();
        const cap = Math.min(max, base * 2 ** Math.min(failures, 16));
        await new Promise<void>((r) => {
          this.#wake = r;
          this.#timer = setTimeout(r, Math.random() * cap);
        });
        this.#timer = null;
        this.#wake = null;
      }
    }
    firstDone();
  }

  /**
   * Replaces the connection with a new one (renew() in relay/evaluator-remote.ts: a NATS
   * server that lost the interest in this link's reply subject, so that no reply reaches
   * it while the connection itself looks fine). The new connection has its own reply
   * subject (nats.js makes one per connection), which every server learns anew. Only
   * while up; one at a time. The old connection is kept, not written to any more, for
   * `retireMs` (the longest a request made on it may still wait for its answer), then
   * closed. Resolves true once the new connection is this link's; false when it did not
   * open (NATS unreachable, refused, the link closed): the old one stays, nothing else
   * changes.
   */
  async renew(retireMs: number): Promise<boolean> {
    const old = this.#nc;
    if (this.#closed || this.#renewing || old === null || !this.#up) return false;
    const o = this.#opts;
    this.#renewing = true;
    try {
      const nc = await connectNats(this.#connectOptions(), this.#access);
      const refused = o.check ? await o.check(nc).catch(() => null) : null;
      if (refused !== null || this.#closed || this.#nc !== old) {
        await nc.close().catch(() => undefined);
        if (refused !== null) o.log.warn({ setting: refused.setting }, `${o.what}: a new NATS connection was refused (${refused.reason}); keeping the one open`);
        return false;
      }
      this.#nc = nc;
      this.#up = true;
      this.#watch(nc);
      const timer = setTimeout(() => {
        this.#retired.delete(old);
        void old.close().catch(() => undefined);
      }, Math.max(0, retireMs));
      timer.unref();
      this.#retired.set(old, timer);
      this.#changed();
      o.onConnect?.(nc);
      return true;
    } catch (e) {
      const why = e instanceof NatsRefused ? `refused: ${e.reason}` : 'unreachable';
      o.log.warn({ nats: natsEndpoints(o.servers) }, `${o.what}: a new NATS connection did not open (${why}); keeping the one open`);
      return false;
    } finally {
      this.#renewing = false;
    }
  }

  #watch(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        // A connection renew() replaced: its events are no news about the link.
        if (this.#nc !== nc) continue;
        if (s.type === 'disconnect') {
          const at = statusServer(s);
          if (this.#up) {
            this.#opts.log.warn(at === null ? {} : { nats: at }, `${this.#opts.what}: NATS connection lost${at === null ? '' : ` (${at})`}; reconnecting`);
            this.#losses++;
          }
          this.#up = false;
          this.#changed();
        } else if (s.type === 'reconnect') {
          // One per failed attempt of the outage, all at once when one succeeds
          // (relay/bus/nats.ts says why): only the first is news.
          if (this.#up) continue;
          this.#up = true;
          const at = statusServer(s);
          this.#opts.log.info(at === null ? {} : { nats: at }, `${this.#opts.what}: NATS reconnected${at === null ? '' : ` (${at})`}`);
          this.#access.files.refusals.accepted(this.#opts.what, this.#logFn);
          this.#changed();
        } else if (s.type === 'error') {
          // Credentials refused at a reconnect (changed on the server first, or an
          // expired user JWT): say which flag, and why where known; once, then at most
          // once a minute while it lasts, shared with the bus (relay/nats-refusals.ts).
          const refused = natsRefusal(s.error, this.#access);
          if (refused !== null) this.#access.files.refusals.refused(this.#opts.what, { setting: refused.setting, reason: refused.reason, error: s.error.name }, this.#logFn);
        }
      }
    })().catch(() => undefined);
    void nc.closed().then(() => {
      if (this.#nc !== nc) return;
      this.#up = false;
      this.#changed();
    });
  }

  /** Stops retrying and closes the connection (draining it first when `drain`, for at
   *  most CLOSE_DRAIN_MS); idempotent. The connection is closed in every case: a drain
   *  that fails (its flush is refused while nats.js is reconnecting) or that a stalled
   *  server never finishes would otherwise leave it open, and nats.js reconnecting it. */
  async close(drain = false): Promise<void> {
    this.#closed = true;
    this.#changed();
    this.#access.files.refusals.forget(this.#opts.what, this.#logFn);
    if (this.#timer) clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop?.catch(() => undefined);
    const nc = this.#nc;
    this.#nc = null;
    this.#up = false;
    for (const [old, timer] of this.#retired) {
      clearTimeout(timer);
      await old.close().catch(() => undefined);
    }
    this.#retired.clear();
    if (nc && !nc.isClosed()) {
      if (drain) await withTimeout(nc.drain().catch(() => undefined), CLOSE_DRAIN_MS, undefined);
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    }
  }
}

