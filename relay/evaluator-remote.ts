// The gateways' side of `hushwire oprf`: `RemoteEvaluator` asks one evaluator (the key
// lives in its own process) or two holding shares of a split key, over NATS
// request/reply (relay/oprf-wire.ts), and `createEvaluator` picks local or remote from
// the settings.
//
// The evaluators' public keys are pinned in the gateway's settings, never taken from
// NATS: whoever can publish on NATS could otherwise hand every gateway (and through the
// Challenge, every new handset) a key of its choosing. `hushwire oprf-key public` prints
// a key from its key file, `hushwire oprf-key fetch` asks a running evaluator and checks
// its proof. Once connected at start, the gateway probes every evaluator once and logs
// whether it answers with the pinned key.
//
// Every request has a deadline (--oprf-timeout-ms); "no responders" answers at once, so
// an evaluator that is down gives UNAVAILABLE right away, never a hang. Requests in
// flight per gateway are bounded: beyond MAX_IN_FLIGHT they are refused RATE_LIMITED.
// Requests to one evaluator that time out in a row while the link stays connected open a
// new connection for the replies, at a bounded rate (ReplyPathHealer: a NATS cluster
// that lost the interest in the link's reply subject).
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { Counter, Histogram, type Registry } from 'prom-client';
import { HushwireError, ErrorCode } from './errors.ts';
import type { Logger } from './log.ts';
import { LocalEvaluator, evaluatorBatchRefusal, loadOprfKey, parsePublicKey, type Evaluator } from './evaluator.ts';
import { KEY_MISMATCH_FIX, ShareEvaluator, type ShareAnswer, type ShareClient } from './evaluator-shares.ts';
import { finalizeNumberEvaluation } from './crypto/oprf-split.ts';
import { blindNumbers, MAX_EVALUATE_BATCH, type OprfKeyPair } from './crypto/oprf.ts';
import { NatsLink } from './oprf-nats.ts';
import type { NatsAccess } from './nats-connect-options.ts';
import type { NatsRefused } from './nats-connect.ts';
import { describeViolation, permissionRefusal, permissionViolation, probePermissions, subjectShape, type PermissionViolation } from './nats-permissions.ts';
import { checkEvaluatorId, decodeResponse, encodeRequest, evalSubject, EvaluatorRefusal } from './oprf-wire.ts';
import { checkEvaluatorSettings, type EvaluatorSettings } from './evaluator-settings.ts';

export { checkEvaluatorSettings, type EvaluatorSettings } from './evaluator-settings.ts';

/** Evaluation requests in flight from one gateway; more are refused at once. */
export const MAX_IN_FLIGHT = 256;
const BUSY_RETRY_AFTER_MS = 1000;
const DOWN_RETRY_AFTER_MS = 2000;

type Result = 'ok' | 'unavailable' | 'timeout' | 'busy' | 'refused' | 'malformed';
const RESULTS: readonly Result[] = ['ok', 'unavailable', 'timeout', 'busy', 'refused', 'malformed'];

export interface RemoteMetrics {
  requests: Counter<'evaluator' | 'result'>;
  seconds: Histogram<'evaluator'>;
  keyMismatch: Counter<'evaluator'>;
  renewals: Counter<'evaluator'>;
}

/** Gateway metrics for the evaluator client. The `evaluator` label is the operator's
 *  evaluator id from the settings (at most four values), never user data. */
export function createRemoteMetrics(registry: Registry | undefined, ids: string[]): RemoteMetrics {
  const registers = registry ? [registry] : [];
  const m: RemoteMetrics = {
    requests: new Counter({ name: 'hushwire_oprf_client_requests_total', help: 'Requests to OPRF evaluators by outcome', labelNames: ['evaluator', 'result'], registers }),
    seconds: new Histogram({ name: 'hushwire_oprf_client_request_seconds', help: 'OPRF evaluator round trip, answered requests', labelNames: ['evaluator'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers }),
    keyMismatch: new Counter({ name: 'hushwire_oprf_key_mismatch_total', help: 'Answers from an evaluator that reported a key other than the pinned one', labelNames: ['evaluator'], registers }),
    renewals: new Counter({ name: 'hushwire_oprf_client_renewals_total', help: 'New NATS connections of the OPRF client after requests to an evaluator timed out in a row while connected', labelNames: ['evaluator'], registers }),
  };
  for (const id of ids) {
    for (const r of RESULTS) m.requests.inc({ evaluator: id, result: r }, 0);
    m.keyMismatch.inc({ evaluator: id }, 0);
    m.renewals.inc({ evaluator: id }, 0);
  }
  return m;
}

interface Shared {
  link: NatsLink;
  timeoutMs: number;
  /** How long a request waits for the link's reconnect. */
  graceMs: number;
  inFlight: number;
  metrics: RemoteMetrics;
  /** Logs a permission NATS refused (once per subject shape). */
  onDenied?: (v: PermissionViolation) => void;
  log?: Logger;
  /** Renews the link when an evaluator's requests time out in a row (absent: never). */
  healer?: ReplyPathHealer;
  /** The link's reply prefix (--nats-inbox-prefix; absent: _INBOX), for the log's hint. */
  inboxPrefix?: string;
}

/** When the OPRF client opens a new NATS connection for its replies (ReplyPathHealer). */
export interface RenewPolicy {
  /** Requests to one evaluator id that timed out in a row, no answer between... */
  timeouts: number;
  /** ...over at least this long (first timeout to the last), with the link connected
   *  throughout (no loss of the connection among them). */
  afterMs: number;
  /** Then at most one renewal per this long; doubled at each renewal while the evaluator
   *  that asked for it has not answered since, up to `everyMaxMs`. */
  everyMs: number;
  everyMaxMs: number;
}

export const DEFAULT_RENEW_POLICY: RenewPolicy = { timeouts: 5, afterMs: 30_000, everyMs: 60_000, everyMaxMs: 15 * 60_000 };

/**
 * Self-healing of the reply path. Replies reach the gateway on one subscription of its
 * OPRF link's connection (nats.js's request inbox, `_INBOX.<random>.*`); the nats-server
 * the evaluator is on delivers them only while it knows of that interest, which its
 * cluster route told it once, at the subscribe. A nats-server 2.9.10 cluster was seen to
 * lose it (password reloads and a node killed): the connection stayed up, the evaluator
 * answered, every answer was dropped in the cluster, and every registration through
 * that gateway failed UNAVAILABLE (timeout) until it was restarted.
 *
 * When the requests to one evaluator id time out `timeouts` times in a row over at least
 * `afterMs` while the link stays connected, one warn line, and the link opens a new
 * connection (NatsLink.renew: a new reply subject, whose interest every server learns
 * anew) and uses it from then on; the old one is closed once its requests' deadlines
 * passed (they are not made again: as before, they time out). At most one renewal per
 * `everyMs`, doubling while that evaluator still does not answer: an evaluator that is
 * hung (subscribed, not answering) costs a new connection now and then, never a storm.
 * One that is down is no timeout at all ("no responders" answers at once) and never
 * renews anything. `hushwire_oprf_client_renewals_total{evaluator}` counts renewals.
 */
export class ReplyPathHealer {
  readonly #link: NatsLink;
  readonly #policy: RenewPolicy;
  readonly #retireMs: number;
  readonly #log: Logger | undefined;
  readonly #renewals: Counter<'evaluator'> | undefined;
  readonly #now: () => number;
  /** Timeouts in a row per evaluator id, on one connection of the link without a loss. */
  readonly #streaks = new Map<string, { count: number; since: number; nc: NatsConnection; losses: number }>();
  /** Ids whose timeouts renewed the link and that have not answered since. */
  readonly #asked = new Set<string>();
  #next = -Infinity;
  #every: number;

  constructor(o: { link: NatsLink; policy: RenewPolicy; retireMs: number; log?: Logger; renewals?: Counter<'evaluator'>; now?: () => number }) {
    this.#link = o.link;
    this.#policy = o.policy;
    this.#retireMs = o.retireMs;
    this.#log = o.log;
    this.#renewals = o.renewals;
    this.#now = o.now ?? Date.now;
    this.#every = o.policy.everyMs;
  }

  /** A request to `id`, last sent on `nc`, timed out. */
  timedOut(id: string, nc: NatsConnection): void {
    const link = this.#link;
    // Sent on a connection already replaced: no news about the one in use.
    if (nc !== link.connection) return;
    const now = this.#now();
    let st = this.#streaks.get(id);
    if (st === undefined || st.nc !== nc || st.losses !== link.losses) {
      st = { count: 0, since: now, nc, losses: link.losses };
      this.#streaks.set(id, st);
    }
    st.count++;
    const p = this.#policy;
    if (st.count < p.timeouts || now - st.since < p.afterMs || !link.up || now < this.#next) return;
    const every = this.#every;
    this.#next = now + every;
    this.#every = Math.min(every * 2, p.everyMaxMs);
    this.#asked.add(id);
    this.#log?.warn({ evaluator: id, timeouts: st.count, nextInS: Math.round(every / 1000) },
      `OPRF evaluator ${id}: ${st.count} requests in a row timed out over ${Math.round((now - st.since) / 1000)} s while NATS is connected; opening a new NATS connection for the replies (a NATS server may have lost this gateway's reply subscription), at most once every ${Math.round(every / 1000)} s while it does not answer`);
    this.#streaks.clear();
    void link.renew(this.#retireMs).then((ok) => {
      if (ok) this.#renewals?.inc({ evaluator: id });
    });
  }

  /** `id` answered (anything: a reply came back): its streak ends. */
  answered(id: string): void {
    this.#streaks.delete(id);
    if (this.#asked.delete(id) && this.#asked.size === 0) this.#every = this.#policy.everyMs;
  }

  /** A failure that is no timeout (no responders, NATS lost): its streak ends. */
  other(id: string): void {
    this.#streaks.delete(id);
  }
}

/** A failing evaluator is said again at most this often while it stays down. */
export const DOWN_LINE_EVERY_MS = 60_000;

/**
 * The likely causes of an evaluator's requests timing out, for the gateway's log line
 * (EvaluatorHealth), as `hushwire oprf-key fetch` names them (fetchNoAnswerText): the
 * evaluator drops a request whose reply subject is outside its --reply-prefixes,
 * unanswered and unseen by the requester (relay/oprf-service.ts #handle), so a gateway
 * whose --nats-inbox-prefix it does not list meets only timeouts; NATS permissions may
 * keep the answer from being published or delivered; or it is overloaded or stalled.
 * The prefix is a setting, not a secret; nothing of a request is in it.
 */
export function timeoutCausesText(inboxPrefix: string): string {
  return `likely causes: the evaluator's --reply-prefixes do not cover this gateway's --nats-inbox-prefix ${inboxPrefix} `
    + `(it drops such requests unanswered; its log says "a request named a reply subject outside --reply-prefixes" and its hushwire_oprf_requests_total{result="bad_reply"} counts them: add ${inboxPrefix} to its --reply-prefixes); `
    + `NATS permissions (the evaluator's user must be allowed to answer, allow_responses, and this gateway's to subscribe to ${inboxPrefix}.>); `
    + `or the evaluator is overloaded or stalled (its /readyz and /metrics)`;
}

/**
 * Whether one evaluator id answers, for the log: its requests failing (no responders:
 * nobody serves the id; a timeout; NATS down) fail registrations and discoveries with
 * UNAVAILABLE, which the metrics counted while the log said nothing. One warn line when
 * it stops answering (then at most one a minute while it stays down, with the count),
 * one info line when it answers again. A line for a timeout names its likely causes
 * (timeoutCausesText, with `inboxPrefix`: the gateway's --nats-inbox-prefix, _INBOX by
 * default, also a field of the line). `now` for tests.
 */
export class EvaluatorHealth {
  readonly #id: string;
  readonly #log: () => Logger | undefined;
  readonly #now: () => number;
  readonly #inboxPrefix: string;
  #down: { since: number; failures: number; lastLine: number; sinceLine: number } | null = null;

  constructor(id: string, log: () => Logger | undefined, now: () => number = Date.now, inboxPrefix = '_INBOX') {
    this.#id = id;
    this.#log = log;
    this.#now = now;
    this.#inboxPrefix = inboxPrefix;
  }

  /** What a line about `why` adds: for a timeout, its likely causes (and the prefix they
   *  name, as a field of its own); else nothing. */
  #hint(why: string): { fields: { inboxPrefix?: string }; text: string } {
    if (why !== 'timeout') return { fields: {}, text: '' };
    return { fields: { inboxPrefix: this.#inboxPrefix }, text: `; ${timeoutCausesText(this.#inboxPrefix)}` };
  }

  get down(): boolean {
    return this.#down !== null;
  }

  failed(why: 'no responders' | 'timeout' | 'no NATS connection'): void {
    const now = this.#now();
    const d = this.#down;
    if (d === null) {
      this.#down = { since: now, failures: 1, lastLine: now, sinceLine: 0 };
      const h = this.#hint(why);
      this.#log()?.warn({ evaluator: this.#id, why, ...h.fields },
        `OPRF evaluator ${this.#id} not answering (${why}): registrations and discoveries fail UNAVAILABLE until it does${h.text}`);
      return;
    }
    d.failures++;
    d.sinceLine++;
    if (now - d.lastLine < DOWN_LINE_EVERY_MS) return;
    const h = this.#hint(why);
    this.#log()?.warn({ evaluator: this.#id, why, failed: d.sinceLine, ...h.fields },
      `OPRF evaluator ${this.#id} still not answering (${why}): ${d.sinceLine} more request(s) failed in the last ${Math.round((now - d.lastLine) / 1000)} s${h.text}`);
    d.lastLine = now;
    d.sinceLine = 0;
  }

  answered(): void {
    const d = this.#down;
    if (d === null) return;
    this.#down = null;
    this.#log()?.info({ evaluator: this.#id, failed: d.failures },
      `OPRF evaluator ${this.#id} answers again, after ${d.failures} failed request(s) over ${Math.round((this.#now() - d.since) / 1000)} s`);
  }
}

/** A check for NatsLink: may this user publish on the evaluator subjects and subscribe
 *  its reply inbox? (A bare publish without a reply subject: the evaluators ignore it.) */
function permissionCheck(subjects: string[], inboxPrefix: string | undefined, access: NatsAccess | undefined) {
  return async (nc: NatsConnection): Promise<NatsRefused | null> => {
    const v = await probePermissions(nc, { subscribe: [`${inboxPrefix ?? '_INBOX'}.hushwire_probe`], publish: subjects }, 5000);
    return v === null ? null : permissionRefusal(v, access?.authBy);
  };
}

/** One evaluator id over NATS. */
class NatsShareClient implements ShareClient {
  readonly id: string;
  #subject: string;
  #shared: Shared;
  readonly #health: EvaluatorHealth;
  /** The evaluator's --max-batch as its last answer said (0: not said yet). */
  #maxBatch = 0;
  /** When a size line was last logged (replicas of one id that disagree would flip it
   *  at every request: at most one line a minute). */
  #sizeLineAt = -Infinity;

  constructor(id: string, prefix: string, shared: Shared) {
    this.id = checkEvaluatorId(id);
    this.#subject = evalSubject(prefix, id);
    this.#shared = shared;
    this.#health = new EvaluatorHealth(this.id, () => shared.log, Date.now, shared.inboxPrefix ?? '_INBOX');
  }

  get maxBatch(): number {
    return this.#maxBatch;
  }

  /** Takes the size an answer said (OprfResponse.max_batch; 0: not said). The operator
   *  hears of a size below what a handset may send in one evaluate, which makes larger
   *  evaluates TOO_LARGE, once per change and at most once a minute (replicas of one id
   *  should agree). */
  #learn(max: number): void {
    if (max <= 0 || max === this.#maxBatch) return;
    const before = this.#maxBatch;
    this.#maxBatch = max;
    const log = this.#shared.log;
    const now = Date.now();
    if (now - this.#sizeLineAt < DOWN_LINE_EVERY_MS) return;
    if (max < MAX_EVALUATE_BATCH || before > 0) this.#sizeLineAt = now;
    if (max < MAX_EVALUATE_BATCH) {
      log?.warn({ evaluator: this.id, maxBatch: max },
        `OPRF evaluator ${this.id} takes at most ${max} elements per request, fewer than the ${MAX_EVALUATE_BATCH} a handset may send in one evaluate: larger evaluates are refused TOO_LARGE (raise its --max-batch to ${MAX_EVALUATE_BATCH})`);
    } else if (before > 0) {
      log?.info({ evaluator: this.id, maxBatch: max }, `OPRF evaluator ${this.id} takes ${max} elements per request again`);
    }
  }

  async evaluate(blinded: Uint8Array[]): Promise<ShareAnswer> {
    const s = this.#shared;
    const count = (result: Result) => s.metrics.requests.inc({ evaluator: this.id, result });
    const nc = s.link.connection;
    if (nc === null || nc.isClosed()) {
      count('unavailable');
      this.#health.failed('no NATS connection');
      throw unavailable();
    }
    if (s.inFlight >= MAX_IN_FLIGHT) {
      count('busy');
      throw new HushwireError(ErrorCode.RATE_LIMITED, 'OPRF evaluator busy', { retryAfterMs: BUSY_RETRY_AFTER_MS });
    }
    s.inFlight++;
    const started = process.hrtime.bigint();
    const used = { nc };
    try {
      let reply;
      try {
        reply = await this.#request(used, blinded);
      } catch (e) {
        const denied = permissionViolation(e);
        if (denied !== null) s.onDenied?.(denied);
        // No responders (nobody serves this id), timeout, or a closed connection.
        const timedOut = e instanceof Error && e.name === 'TimeoutError';
        count(timedOut ? 'timeout' : 'unavailable');
        if (timedOut) s.healer?.timedOut(this.id, used.nc);
        else s.healer?.other(this.id);
        if (denied === null) this.#health.failed(timedOut ? 'timeout' : used.nc.isClosed() || e instanceof NatsLost ? 'no NATS connection' : 'no responders');
        throw denied === null && isNoResponders(e) ? new NotServed()
          : denied === null && timedOut && !used.nc.isClosed() ? new NoAnswer() : unavailable();
      }
      s.healer?.answered(this.id);
      this.#health.answered();
      try {
        const a = decodeResponse(reply.data, blinded.length);
        this.#learn(a.maxBatch);
        count('ok');
        s.metrics.seconds.observe({ evaluator: this.id }, Number(process.hrtime.bigint() - started) / 1e9);
        return a;
      } catch (e) {
        if (e instanceof EvaluatorRefusal) {
          this.#learn(e.maxBatch);
          if (e.code === ErrorCode.TOO_LARGE) {
            // Its --max-batch is below this batch: a setting, not an outage, so not
            // UNAVAILABLE (which a handset retries in vain). A batch proof covers one
            // request, so the batch cannot be split here: the handset must send smaller
            // ones (relay/session.ts refuses them before they come here once the size is
            // known).
            count('refused');
            throw new HushwireError(ErrorCode.TOO_LARGE, evaluatorBatchRefusal(e.maxBatch));
          }
          if (e.code === ErrorCode.RATE_LIMITED) {
            count('busy');
            throw new HushwireError(ErrorCode.RATE_LIMITED, 'OPRF evaluator busy', { retryAfterMs: e.retryAfterMs || BUSY_RETRY_AFTER_MS });
          }
          if (e.code === ErrorCode.BAD_REQUEST) {
            // The gateway checked sizes; what is left is an element that is not a valid
            // group element: the handset's fault.
            count('refused');
            throw new HushwireError(ErrorCode.BAD_REQUEST, 'blinded element is not a valid group element');
          }
          count('refused');
          throw unavailable();
        }
        count('malformed');
        throw e instanceof HushwireError ? e : unavailable();
      }
    } finally {
      s.inFlight--;
    }
  }

  /** One evaluation request, through blips of the link's connection. nats.js 3.4 drops
   *  what is written while disconnected (each reconnect attempt empties its buffer) and
   *  never answers a request in flight at a loss (its reply's interest went with the
   *  connection): both waited out --oprf-timeout-ms. Now a request made while the link is
   *  down waits for the reconnect, at most OPRF_OUTAGE_GRACE_MS (then UNAVAILABLE at
   *  once), and one in flight at a loss is given up and made again once reconnected
   *  within the same grace: an evaluation changes nothing at the evaluator (the same
   *  blinded elements give the same evaluated elements; only the proof's nonce differs,
   *  and the answer checked is the last one), so sending it twice is safe. All of it
   *  within the one deadline, --oprf-timeout-ms. Each attempt goes on the link's
   *  connection of the moment (ReplyPathHealer may have replaced it); `used.nc` says
   *  which one the last went on. */
  async #request(used: { nc: NatsConnection }, blinded: Uint8Array[]): Promise<Msg> {
    const s = this.#shared;
    const link = s.link;
    const deadline = Date.now() + s.timeoutMs;
    let nc = used.nc;
    for (;;) {
      const current = link.connection;
      if (current !== null && current !== nc && !current.isClosed()) nc = used.nc = current;
      if (!link.up) {
        const left = deadline - Date.now();
        const back = await link.until(() => link.up || nc.isClosed(), Math.min(s.graceMs, left));
        if (!back || nc.isClosed()) throw new NatsLost();
      }
      const left = deadline - Date.now();
      if (left <= 0) throw timeoutError();
      const losses = link.losses;
      const req = nc.request(this.#subject, encodeRequest(blinded, left), { timeout: left });
      const stop = new AbortController();
      const lost = link.until(() => link.losses !== losses || nc.isClosed(), left, stop.signal).then((v: boolean) => (v ? LOST : null));
      let got: Msg | typeof LOST | null;
      try {
        got = await Promise.race([req, lost]);
      } finally {
        stop.abort();
      }
      if (got !== LOST && got !== null) return got;
      if (got === null) return req; // the deadline: the request's own timeout says so
      req.catch(() => undefined); // abandoned: its timeout later is no news
      if (nc.isClosed()) throw new NatsLost();
    }
  }

  async close(): Promise<void> {}
}

/** How long a request waits for the link's reconnect (relay/bus/nats.ts OUTAGE_GRACE_MS:
 *  nats.js's first attempts run within it). */
export const OPRF_OUTAGE_GRACE_MS = 2_000;
const LOST = Symbol('lost');
/** The link stayed down past the grace, or closed. */
class NatsLost extends Error {
  override name = 'NatsLost';
}
function timeoutError(): Error {
  const e = new Error('timeout');
  e.name = 'TimeoutError';
  return e;
}

function unavailable(): HushwireError {
  return new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator unavailable', { retryAfterMs: DOWN_RETRY_AFTER_MS });
}

/** nats.js's "no responders" (a RequestError whose cause is NoRespondersError): nothing
 *  on NATS subscribes to the subject, an answer at once, not a timeout. */
function isNoResponders(e: unknown): boolean {
  const r = e as { isNoResponders?: () => boolean } | null;
  return typeof r?.isNoResponders === 'function' && r.isNoResponders();
}

/** The UNAVAILABLE of an evaluation that NATS answered "no responders": the gateway's
 *  as any other (a handset asks again after retry_after_ms: an evaluator restarting
 *  comes back), which `hushwire oprf-key fetch` tells apart (fetchEvaluatorKey). */
class NotServed extends HushwireError {
  constructor() {
    super(ErrorCode.UNAVAILABLE, 'OPRF evaluator unavailable', { retryAfterMs: DOWN_RETRY_AFTER_MS });
  }
}

/** The UNAVAILABLE of an evaluation that something subscribed to the evaluator's
 *  subject took and never answered within the deadline (with the NATS connection up):
 *  the gateway's as any other, which `hushwire oprf-key fetch` tells apart too. */
class NoAnswer extends HushwireError {
  constructor() {
    super(ErrorCode.UNAVAILABLE, 'OPRF evaluator unavailable', { retryAfterMs: DOWN_RETRY_AFTER_MS });
  }
}

/** `hushwire oprf-key fetch`'s line for an evaluator that took its request and sent no
 *  answer in time. A one-shot fetch asked again in 2 s would most likely meet the same
 *  silence, so it names the likely causes instead of a retry time: the evaluator drops a
 *  request whose reply subject is outside its --reply-prefixes, unanswered (it cannot
 *  safely say so: relay/oprf-service.ts #handle), and NATS permissions may keep its
 *  answer from being published or delivered. The id, subject and prefixes are settings,
 *  not secrets. */
export function fetchNoAnswerText(id: string, subject: string, inboxPrefix: string, timeoutMs: number): string {
  return `OPRF evaluator ${id} (something subscribes to ${subject}) sent no answer within ${timeoutMs} ms: `
    + `most likely the evaluator's --reply-prefixes do not cover this fetch's --nats-inbox-prefix ${inboxPrefix} `
    + `(it drops such requests unanswered; its log says "a request named a reply subject outside --reply-prefixes" and hushwire_oprf_requests_total{result="bad_reply"} counts them): `
    + `add ${inboxPrefix} to its --reply-prefixes, or run fetch with a --nats-inbox-prefix it lists; `
    + `else NATS permissions: its user must be allowed to answer (allow_responses) and this one to subscribe to ${inboxPrefix}.>; `
    + `else it is overloaded or stalled (its /readyz and /metrics; a larger --timeout-ms)`;
}

export interface RemoteEvaluatorOptions {
  servers: string[];
  /** Servers, TLS and credentials read from the settings; default: from `servers`. */
  access?: NatsAccess;
  prefix?: string;
  /** Evaluator ids with their pinned public keys, in share order. */
  evaluators: { id: string; publicKey: Uint8Array }[];
  /** Deadline of each request, ms. */
  timeoutMs: number;
  /** Tests only: how long a request waits for the link's reconnect (OPRF_OUTAGE_GRACE_MS). */
  outageGraceMs?: number;
  /** Tests only: when the link is renewed after timeouts (DEFAULT_RENEW_POLICY). */
  renewPolicy?: Partial<RenewPolicy>;
  name?: string;
  log: Logger;
  registry?: Registry;
  /** Prefix of the link's reply subjects (--nats-inbox-prefix; default _INBOX). */
  inboxPrefix?: string;
}

/**
 * An Evaluator served by `hushwire oprf` processes. Construct, then `start()` (which
 * returns after the first NATS connect attempt: the gateway does not wait for NATS or
 * for the evaluators; until they answer, evaluate and register get UNAVAILABLE).
 */
export class RemoteEvaluator implements Evaluator {
  readonly publicKey: Uint8Array;
  readonly shareKeys: readonly Uint8Array[];
  #inner: ShareEvaluator;
  #link: NatsLink;
  #clients: NatsShareClient[];
  #pins: Uint8Array[];
  #log: Logger;

  constructor(opts: RemoteEvaluatorOptions) {
    if (!Number.isInteger(opts.timeoutMs) || opts.timeoutMs < 1) throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF timeout must be a positive integer');
    const prefix = opts.prefix ?? 'hw';
    this.#log = opts.log;
    const ids = opts.evaluators.map((e) => checkEvaluatorId(e.id));
    const metrics = createRemoteMetrics(opts.registry, ids);
    this.#link = new NatsLink({
      servers: opts.servers,
      ...(opts.access ? { access: opts.access } : {}),
      name: `${opts.name ?? 'hushwire-gateway'}-oprf`,
      log: opts.log,
      what: 'OPRF client',
      onConnect: (nc) => { void this.#probeAll(nc); },
      ...(opts.inboxPrefix !== undefined ? { inboxPrefix: opts.inboxPrefix } : {}),
      // Permissions NATS refuses stop the gateway at start like refused credentials.
      check: permissionCheck(ids.map((id) => evalSubject(prefix, id)), opts.inboxPrefix, opts.access),
    });
    const denied = new Set<string>();
    const onDenied = (v: PermissionViolation): void => {
      const key = `${v.operation} ${subjectShape(v.subject)}`;
      if (denied.has(key)) return;
      denied.add(key);
      opts.log.error({ operation: v.operation, subject: subjectShape(v.subject) }, `OPRF client: ${describeViolation(v, opts.access?.authBy)}`);
    };
    // The replaced connection stays open as long as a request made on it may wait.
    const healer = new ReplyPathHealer({
      link: this.#link, policy: { ...DEFAULT_RENEW_POLICY, ...opts.renewPolicy }, retireMs: opts.timeoutMs + 1000, log: opts.log, renewals: metrics.renewals,
    });
    const shared: Shared = {
      link: this.#link, timeoutMs: opts.timeoutMs, graceMs: opts.outageGraceMs ?? OPRF_OUTAGE_GRACE_MS, inFlight: 0, metrics, onDenied, log: opts.log, healer,
      ...(opts.inboxPrefix !== undefined ? { inboxPrefix: opts.inboxPrefix } : {}),
    };
    this.#clients = opts.evaluators.map((e) => new NatsShareClient(e.id, prefix, shared));
    this.#pins = opts.evaluators.map((e) => e.publicKey);
    this.#inner = new ShareEvaluator({
      shares: this.#clients.map((client, i) => ({ client, publicKey: this.#pins[i]! })),
      log: opts.log,
      onKeyMismatch: (id) => metrics.keyMismatch.inc({ evaluator: id }),
      onClose: () => this.#link.close(),
      offThread: true,
    });
    this.publicKey = this.#inner.publicKey;
    this.shareKeys = this.#inner.shareKeys;
  }

  start(): Promise<void> {
    return this.#link.start();
  }

  /** Connected to NATS (the evaluators themselves may still be down). */
  get connected(): boolean {
    return this.#link.up;
  }

  get maxBatch(): number {
    return this.#inner.maxBatch;
  }

  evaluate(blinded: Uint8Array[]) {
    return this.#inner.evaluate(blinded);
  }

  routeForNumber(e164: string) {
    return this.#inner.routeForNumber(e164);
  }

  /** Starts the thread that blinds and finalizes routes (ShareEvaluator.ready). */
  ready(): Promise<void> {
    return this.#inner.ready();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** One evaluation of a throwaway input per evaluator, checked against its pinned key:
   *  tells the operator at once about a wrong pin or a replica with another key. */
  async #probeAll(_nc: NatsConnection): Promise<void> {
    await Promise.all(this.#clients.map(async (c, i) => {
      const r = await probeEvaluator(c, this.#pins[i]!);
      if (r === 'ok') this.#log.info({ evaluator: c.id }, 'OPRF evaluator answers with the pinned key');
      else if (r === 'mismatch') this.#log.error({ evaluator: c.id }, `OPRF evaluator answers with a key other than the pinned one; handsets will refuse its answers: ${KEY_MISMATCH_FIX(c.id)}`);
      // 'unavailable': its request said so already ('OPRF evaluator <id> not answering').
    }));
  }
}

/** Evaluates a throwaway input and verifies the proof against `publicKey`. */
export async function probeEvaluator(c: ShareClient, publicKey: Uint8Array): Promise<'ok' | 'mismatch' | 'unavailable'> {
  const numbers = ['+15550000000'];
  const { blinds, blinded } = blindNumbers(numbers);
  let a: ShareAnswer;
  try {
    a = await c.evaluate(blinded);
  } catch {
    return 'unavailable';
  }
  try {
    finalizeNumberEvaluation(numbers, blinds, blinded, { evaluated: a.evaluated, proof: a.proof }, publicKey);
    return 'ok';
  } catch {
    return 'mismatch';
  }
}

/**
 * Asks a running evaluator for its public key and checks it (`hushwire oprf-key
 * fetch`): the key it reports must verify its own proof. This proves the evaluator
 * holds that key, not that it is the right evaluator: compare the result with what its
 * operator published before pinning it. No evaluator subscribed to the id's subject
 * (NATS's "no responders": a mistyped --id or --nats-prefix, or none running with that
 * id) is NOT_REGISTERED naming the id and the subject (neither secret), not the
 * gateway's "OPRF evaluator unavailable" with a retry_after_ms: a one-shot fetch asked
 * again in 2 s finds the same nothing.
 */
export async function fetchEvaluatorKey(opts: { servers: string[]; access?: NatsAccess; prefix?: string; id: string; timeoutMs: number; log: Logger; inboxPrefix?: string }): Promise<Uint8Array> {
  const link = new NatsLink({
    servers: opts.servers, ...(opts.access ? { access: opts.access } : {}), name: 'hushwire-oprf-key-fetch', log: opts.log, what: 'oprf-key fetch', maxDelayMs: 1000,
    ...(opts.inboxPrefix !== undefined ? { inboxPrefix: opts.inboxPrefix } : {}),
    check: permissionCheck([evalSubject(opts.prefix ?? 'hw', opts.id)], opts.inboxPrefix, opts.access),
  });
  try {
    await link.start();
    if (!link.connection) throw new HushwireError(ErrorCode.UNAVAILABLE, 'NATS unreachable');
    const shared: Shared = { link, timeoutMs: opts.timeoutMs, graceMs: OPRF_OUTAGE_GRACE_MS, inFlight: 0, metrics: createRemoteMetrics(undefined, []) };
    const c = new NatsShareClient(opts.id, opts.prefix ?? 'hw', shared);
    const numbers = ['+15550000000'];
    const { blinds, blinded } = blindNumbers(numbers);
    let a: ShareAnswer;
    try {
      a = await c.evaluate(blinded);
    } catch (e) {
      const subject = evalSubject(opts.prefix ?? 'hw', c.id);
      if (e instanceof NoAnswer) {
        // No retryAfterMs: the CLI's "try again in 2 s" would send the operator round again.
        throw new HushwireError(ErrorCode.UNAVAILABLE, fetchNoAnswerText(c.id, subject, opts.inboxPrefix ?? '_INBOX', opts.timeoutMs));
      }
      if (!(e instanceof NotServed)) throw e;
      throw new HushwireError(ErrorCode.NOT_REGISTERED, `no OPRF evaluator serves id ${c.id} on this NATS (nothing subscribes to ${subject}): check --id and --nats-prefix against the evaluator's, and that it is running`);
    }
    try {
      finalizeNumberEvaluation(numbers, blinds, blinded, { evaluated: a.evaluated, proof: a.proof }, a.publicKey);
    } catch {
      throw new HushwireError(ErrorCode.AUTH_FAILED, 'OPRF proof did not verify against the key the evaluator reported');
    }
    return a.publicKey;
  } finally {
    await link.close();
  }
}

// ---- selection from settings ----

/** The gateway's evaluator: local key (file, value or an ephemeral one) or remote.
 *  `deps.key`: the local key already read (gateway/config-files.ts reads it before
 *  anything starts); without it, it is read from the settings here. */
export async function createEvaluator(s: EvaluatorSettings, deps: { log: Logger; registry?: Registry; key?: OprfKeyPair; access?: NatsAccess }): Promise<Evaluator> {
  const problem = checkEvaluatorSettings(s);
  if (problem) throw new HushwireError(ErrorCode.BAD_REQUEST, problem);
  if (s.oprfEvaluator.length === 0) {
    const { key, ephemeral } = deps.key ? { key: deps.key, ephemeral: false } : loadOprfKey({ file: s.oprfKeyFile, hex: s.oprfKey });
    if (ephemeral) deps.log.warn('no OPRF key configured: using an ephemeral one (routes change on restart; embedded mode only)');
    return new LocalEvaluator(key);
  }
  const remote = new RemoteEvaluator({
    servers: s.nats,
    prefix: s.natsPrefix,
    evaluators: s.oprfEvaluator.map((id, i) => ({ id, publicKey: parsePublicKey(s.oprfPublicKey[i]!) })),
    timeoutMs: s.oprfTimeoutMs,
    name: s.name,
    ...(s.natsInboxPrefix !== undefined ? { inboxPrefix: s.natsInboxPrefix } : {}),
    log: deps.log,
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(deps.access ? { access: deps.access } : {}),
  });
  try {
    await remote.start();
  } catch (e) {
    // NATS refused the settings (relay/nats-connect.ts): the gateway does not start.
    await remote.close().catch(() => undefined);
    throw e;
  }
  deps.log.info({ evaluators: s.oprfEvaluator, split: s.oprfEvaluator.length > 1 }, 'OPRF key held by remote evaluators');
  return remote;
}
