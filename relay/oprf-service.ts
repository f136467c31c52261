// `hushwire oprf`: the OPRF evaluator as its own process. It holds the key (or one share
// of a split key) and answers evaluation requests over NATS request/reply
// (relay/oprf-wire.ts); gateways never see the key. Replicas holding the same key run
// with the same id and share the load through a queue group.
//
// Per request: size check before decoding (TOO_LARGE), decode and check
// (BAD_REQUEST: not an OPRF request, wrong version, empty, wrong element size),
// then the worker pool (relay/oprf-pool.ts) under the request's deadline: a full pool
// answers RATE_LIMITED at once, a request whose caller gave up before its turn is
// dropped without an answer (nobody waits for it). Nothing about a request is logged;
// metrics count outcomes only.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import { blindNumbers, finalizeNumbers, type OprfKeyPair } from './crypto/oprf.ts';
import { HushwireError, ErrorCode, toWireError } from './errors.ts';
import type { Logger } from './log.ts';
import { OprfPool } from './oprf-pool.ts';
import { natsAccessMetrics } from './metrics.ts';
import { CLOSE_DRAIN_MS, NatsLink } from './oprf-nats.ts';
import { withTimeout } from './bus/common.ts';
import type { NatsAccess } from './nats-connect-options.ts';
import type { NatsRefused } from './nats-connect.ts';
import { describeViolation, permissionRefusal, permissionViolation, subjectShape, type PermissionViolation } from './nats-permissions.ts';
import { checkEvaluatorId, decodeRequest, encodeErrorResponse, encodeResponse, evalSubject, queueGroup } from './oprf-wire.ts';
import { listenError } from './listen-error.ts';

/** How long the subscription's permission check waits for the server's PONG. */
const SUBSCRIBE_CHECK_MS = 5_000;

export interface OprfServiceOptions {
  servers: string[];
  /** Servers, TLS and credentials read from the settings (relay/nats-connect-options.ts);
   *  default: from `servers` alone. */
  access?: NatsAccess;
  /** Evaluator id: the subject <prefix>.oprf.<id>.eval. */
  id: string;
  prefix?: string;
  key: OprfKeyPair;
  /** Worker threads. */
  threads: number;
  /** Elements per request. */
  maxBatch: number;
  /** Elements waiting or in work at once (>= maxBatch). */
  maxQueuedElements: number;
  /** NATS connection name. */
  name?: string;
  /** Answers go only to reply subjects starting with one of these (default `_INBOX`):
   *  NATS lets a requester name any reply subject, and an evaluator allowed to answer
   *  (`allow_responses`) would publish there, e.g. into a directory key. */
  replyPrefixes?: readonly string[];
  log: Logger;
}

export interface OprfServiceStats {
  requests: number;
  ok: number;
  refused: number;
  busy: number;
  expired: number;
  queuedElements: number;
}

type Outcome = 'ok' | 'bad_request' | 'too_large' | 'busy' | 'expired' | 'error' | 'bad_reply';
const OUTCOMES: readonly Outcome[] = ['ok', 'bad_request', 'too_large', 'busy', 'expired', 'error', 'bad_reply'];
/** A dropped request's warning is repeated at most this often. */
const BAD_REPLY_WARN_EVERY_MS = 60_000;
/** On close, how long in-flight requests may take to finish before the pool is stopped. */
const CLOSE_GRACE_MS = 10_000;

export class OprfService {
  readonly id: string;
  readonly subject: string;
  readonly publicKey: Uint8Array;
  readonly registry: Registry;
  #opts: OprfServiceOptions;
  #pool: OprfPool;
  #link: NatsLink;
  #sub: Subscription | null = null;
  /** The server has the subscription (flushed): requests find a responder. */
  #subscribed = false;
  #inflight = new Set<Promise<void>>();
  #closing: Promise<void> | null = null;
  #stats = { requests: 0, ok: 0, refused: 0, busy: 0, expired: 0 };
  readonly #replyPrefixes: readonly string[];
  #badReplyWarnedAt = -Infinity;
  #m: { requests: Counter<'result'>; elements: Counter; queued: Gauge; seconds: Histogram; natsUp: Gauge };

  constructor(opts: OprfServiceOptions) {
    this.#opts = opts;
    this.#replyPrefixes = opts.replyPrefixes ?? ['_INBOX'];
    this.id = checkEvaluatorId(opts.id);
    this.subject = evalSubject(opts.prefix ?? 'hw', opts.id);
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new HushwireError(ErrorCode.BAD_REQUEST, 'max batch must be a positive integer');
    if (opts.maxQueuedElements < opts.maxBatch) throw new HushwireError(ErrorCode.BAD_REQUEST, 'the queue bound must hold at least one full batch');
    this.publicKey = opts.key.publicKey;
    this.#pool = new OprfPool({ key: opts.key, threads: opts.threads, maxQueuedElements: opts.maxQueuedElements });
    this.#link = new NatsLink({
      servers: opts.servers,
      ...(opts.access ? { access: opts.access } : {}),
      name: opts.name ?? `hushwire-oprf-${opts.id}`,
      log: opts.log,
      what: 'OPRF evaluator',
      // Subscribed before the link counts as up: a subscription NATS refuses (the user's
      // permissions) stops the evaluator at start, naming it, instead of leaving it
      // ready but deaf (relay/nats-permissions.ts).
      check: (nc) => this.#subscribeChecked(nc),
    });
    this.registry = new Registry();
    collectDefaultMetrics({ register: this.registry });
    const r = [this.registry];
    this.#m = {
      requests: new Counter({ name: 'hushwire_oprf_requests_total', help: 'Evaluation requests by outcome', labelNames: ['result'], registers: r }),
      elements: new Counter({ name: 'hushwire_oprf_elements_total', help: 'Blinded elements evaluated', registers: r }),
      queued: new Gauge({ name: 'hushwire_oprf_queued_elements', help: 'Elements waiting or in work', registers: r, collect: () => { this.#m.queued.set(this.#pool.stats.queuedElements); } }),
      seconds: new Histogram({ name: 'hushwire_oprf_request_seconds', help: 'Receipt to reply, answered requests', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: r }),
      natsUp: new Gauge({ name: 'hushwire_oprf_nats_up', help: '1 while connected to NATS', registers: r, collect: () => { this.#m.natsUp.set(this.#link.up ? 1 : 0); } }),
    };
    for (const o of OUTCOMES) this.#m.requests.inc({ result: o }, 0);
    const access = opts.access;
    if (access) natsAccessMetrics(this.registry, access);
  }

  /** Checks the pool with one evaluation (which also starts the threads), then starts
   *  connecting to NATS; resolves after the first connect attempt, connected or not.
   *  Rejects with NatsRefused when NATS refused the credentials or TLS settings. */
  async start(): Promise<void> {
    const numbers = ['+15550000000'];
    const { blinds, blinded } = blindNumbers(numbers);
    const ev = await this.#pool.evaluate(blinded, Date.now() + 60_000);
    // Throws if the workers evaluate with anything but this key.
    finalizeNumbers(numbers, blinds, blinded, ev.evaluated, ev.proof, this.publicKey);
    // The NATS files are read again at each connect; a bad one, or a client certificate,
    // user JWT or server certificate chain near its expiry, is logged
    // (relay/nats-access-files.ts).
    const log = this.#opts.log;
    this.#opts.access?.files.report((level, msg, fields) => log[level](fields ?? {}, msg));
    await this.#link.start();
    this.#opts.log.info({
      evaluator: this.id, subject: this.subject, threads: this.#pool.threads,
      maxBatch: this.#opts.maxBatch, maxQueuedElements: this.#pool.maxQueuedElements,
    }, 'OPRF evaluator started');
  }

  /** Resolves when NATS, down at start, turned out to refuse the credentials or TLS
   *  settings (relay/oprf-nats.ts): `hushwire oprf` exits then. */
  get natsFailed(): Promise<NatsRefused> {
    return this.#link.whenFailed;
  }

  /** Connected to NATS and subscribed, and not closing. */
  get ready(): boolean {
    return this.#closing === null && this.#link.up && this.#subscribed;
  }

  get stats(): OprfServiceStats {
    return { ...this.#stats, queuedElements: this.#pool.stats.queuedElements };
  }

  /** Test hook: see OprfPool.hold. */
  hold(): () => void {
    return this.#pool.hold();
  }

  async #subscribeChecked(nc: NatsConnection): Promise<NatsRefused | null> {
    if (this.#closing) return null;
    let denied: PermissionViolation | null = null;
    const sub = nc.subscribe(this.subject, {
      queue: queueGroup(this.#opts.prefix ?? 'hw', this.id),
      callback: (err, msg) => {
        if (err) {
          // nats.js closes a subscription NATS refused (also one re-made after a
          // reconnect, e.g. permissions changed by a config reload).
          const v = permissionViolation(err);
          if (v === null) return;
          denied ??= v;
          if (this.#sub === sub) {
            this.#subscribed = false;
            this.#opts.log.error({ subject: subjectShape(v.subject) }, `OPRF evaluator: ${describeViolation(v, this.#opts.access?.authBy)}; not serving`);
          }
          return;
        }
        const p = this.#handle(msg).catch(() => undefined).finally(() => this.#inflight.delete(p));
        this.#inflight.add(p);
      },
    });
    this.#sub = sub;
    // Bounded: close() waits for this check, and a stalled server must not hold a
    // shutdown until the connection's ping-out (a refusal comes before the PONG).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      nc.flush().catch(() => undefined),
      new Promise((r) => { timer = setTimeout(r, SUBSCRIBE_CHECK_MS); }),
    ]);
    clearTimeout(timer);
    await new Promise((r) => setImmediate(r));
    if (denied !== null) {
      this.#sub = null;
      return permissionRefusal(denied, this.#opts.access?.authBy);
    }
    this.#subscribed = this.#sub === sub;
    return null;
  }

  /** The reply subject starts with an allowed prefix, at a token boundary or within the
   *  prefix's last token (`_INBOX` takes `_INBOX.x` and `_INBOX_hw_gw.x`). */
  #replyAllowed(reply: string): boolean {
    for (const p of this.#replyPrefixes) if (reply.startsWith(p) && reply.length > p.length) return true;
    return false;
  }

  async #handle(msg: Msg): Promise<void> {
    const started = process.hrtime.bigint();
    this.#stats.requests++;
    if (!msg.reply) return; // a publish, not a request: nobody to answer
    if (!this.#replyAllowed(msg.reply)) {
      // Dropped unanswered, counted (outcome bad_reply) and said at most once a minute,
      // by the subject's shape (relay/nats-permissions.ts): never the subject itself;
      // with the prefixes allowed (settings, not secrets), so that an operator whose
      // own requester (a gateway, oprf-key fetch) uses another --nats-inbox-prefix sees
      // which to add. The requester itself is told nothing: it waits out its deadline
      // (oprf-key fetch then names this as the likely cause). Answering it with an
      // error instead would be unsafe: the only way back to it is a publish on the very
      // reply subject just refused, which the requester chose. A publish there, answer
      // or error, is what --reply-prefixes exists to prevent: the evaluator (whose
      // allow_responses lets it publish on any reply subject it is handed) would write
      // into a directory key, a mailbox, a device subject or a JetStream API subject on
      // behalf of a requester that may not publish there itself: a reflection path, one
      // message out per request in, from a user other operators' permissions trust. An
      // error elsewhere (a fixed subject) would reach nobody waiting. So: dropped.
      this.#stats.refused++;
      this.#m.requests.inc({ result: 'bad_reply' });
      const now = Date.now();
      if (now - this.#badReplyWarnedAt >= BAD_REPLY_WARN_EVERY_MS) {
        this.#badReplyWarnedAt = now;
        this.#opts.log.warn({ reply: subjectShape(msg.reply), replyPrefixes: this.#replyPrefixes },
          'OPRF evaluator: a request named a reply subject outside --reply-prefixes; dropped unanswered (a gateway or oprf-key fetch whose --nats-inbox-prefix is not among them gets no answer: add that prefix to --reply-prefixes)');
      }
      return;
    }
    let outcome: Outcome = 'error';
    let reply: Uint8Array | null;
    try {
      const req = decodeRequest(msg.data, this.#opts.maxBatch);
      const ev = await this.#pool.evaluate(req.blinded, Date.now() + req.timeoutMs);
      reply = encodeResponse(ev.evaluated, ev.proof, this.publicKey, this.#opts.maxBatch);
      outcome = 'ok';
      this.#stats.ok++;
      this.#m.elements.inc(req.blinded.length);
    } catch (e) {
      const w = toWireError(e);
      switch (w.code) {
        case ErrorCode.TIMEOUT: outcome = 'expired'; this.#stats.expired++; break;
        case ErrorCode.RATE_LIMITED: outcome = 'busy'; this.#stats.busy++; break;
        case ErrorCode.BAD_REQUEST: outcome = 'bad_request'; this.#stats.refused++; break;
        case ErrorCode.TOO_LARGE: outcome = 'too_large'; this.#stats.refused++; break;
        default: outcome = 'error';
      }
      // The caller stopped waiting: an answer would only cost a publish.
      reply = outcome === 'expired' ? null : encodeErrorResponse(w, this.#opts.maxBatch);
      if (outcome === 'error') this.#opts.log.error({ err: w.code }, 'OPRF evaluation failed');
    }
    this.#m.requests.inc({ result: outcome });
    if (reply === null) return;
    try {
      msg.respond(reply);
    } catch {
      return; // connection closing
    }
    this.#m.seconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** Stops taking requests, lets the ones in flight finish (bounded), stops the threads
   *  and closes NATS; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const sub = this.#sub;
      this.#sub = null;
      this.#subscribed = false;
      // Bounded: the drain ends with the server's PONG, which a stalled server never
      // sends (nats.js would wait for the connection's ping-out, ~30-45 s).
      if (sub) await withTimeout(sub.drain().catch(() => undefined), CLOSE_DRAIN_MS, undefined);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inflight]),
        new Promise<void>((r) => { timer = setTimeout(r, CLOSE_GRACE_MS); }),
      ]);
      clearTimeout(timer);
      await this.#pool.close();
      await this.#link.close(true);
      this.#opts.access?.files.stop();
      this.#opts.log.info({ evaluator: this.id }, 'OPRF evaluator closed');
    })();
    return this.#closing;
  }
}

export interface OprfHttp {
  readonly port: number;
  close(): Promise<void>;
}

/** GET /healthz (process up), /readyz (serving on NATS), /metrics (Prometheus). */
export async function startOprfHttp(service: OprfService, host: string, port: number): Promise<OprfHttp> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end('method not allowed\n');
    } else if (path === '/healthz') {
      res.writeHead(200).end('ok\n');
    } else if (path === '/readyz') {
      if (service.ready) res.writeHead(200).end('ready\n');
      else res.writeHead(503).end('not ready\n');
    } else if (path === '/metrics') {
      service.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': service.registry.contentType }).end(body),
        () => res.writeHead(500).end('metrics failed\n'),
      );
    } else {
      res.writeHead(404).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(listenError('--port', host, port, 'another hushwire oprf', e)));
    server.listen(port, host, () => resolve());
  });
  let closed: Promise<void> | null = null;
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      closed ??= new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
