// Self-healing of the bus's subscriptions on NATS (NatsBus, relay/bus/nats.ts).
//
// Everything the bus receives comes on subscriptions of its one NATS connection: the
// device subjects (live deliveries and control messages), the announcements, the
// JetStream request inboxes (its own, relay/bus/nats-requests.ts, the mailbox reads'
// and nats.js's request mux, `_INBOX.<random>.*`). A nats-server learns of each at the
// SUB, and its cluster peers from the route, once; nats.js sends them again only at a
// reconnect. A nats-server 2.9.10 cluster was seen to lose such an interest (password
// reloads, then a node killed: relay/evaluator-remote.ts ReplyPathHealer, df6ff90) while
// the connection stayed up: every request timed out, or nothing was delivered, until
// the gateway restarted.
//
// Two signs, one remedy (a forced reconnect: every SUB is sent again, and the bus's
// reconnect handling runs as after any reconnect):
// - 'probe': every probeEveryMs, while connected, the bus publishes an empty message to
//   subjects it subscribes itself (a device subject of its own, route tag all zeros and
//   a random per-process token; its node subject for live batches; its live answers'
//   inbox, its request inbox and, as a request through nats.js's mux, its mailbox-read
//   inbox, each under a token no request uses), then PINGs. The server answers a PING
//   only after it delivered what was published before it to this same connection: a
//   PONG without the probe is a server that no longer delivers that subscription here.
//   It proves those subscriptions at the server the gateway is connected to, no more:
//   not a route's interest on another node, not each device's own subscription, not the
//   announcements' (every gateway subscribes those: a probe there would go to all).
// - 'timeouts': `timeouts` requests in a row on one reply path ('api': the bus's own
//   request inbox; 'mux': nats.js requests: mailbox stores, directory and counter
//   writes, counter reads, erases) timed out over at least afterMs, with no answer
//   between, no loss of the connection among them, and connected. That is the sign of
//   an interest lost on another node (a JetStream leader's), which no probe sees; it is
//   also what a JetStream that is hung looks like, which the bounded rate keeps cheap.
// A forced reconnect happens only while connected and after the server answered a
// PING within the request deadline (a stalled or slow nats-server is no lost
// subscription: nothing is done), at most once per everyMs, the interval doubling at
// each one (up to everyMaxMs) while a sign that asked for one persists, and back to
// everyMs once each sign that asked passed again (a probe delivered, an answer on the
// path). A NATS outage never renews anything: the reconnect re-sends every SUB anyway.
// "No responders" is an answer, not a timeout.

export interface SelfHealPolicy {
  /** A probe round this often while connected; 0: no probes. */
  probeEveryMs: number;
  /** Requests on one reply path that timed out in a row, no answer between... */
  timeouts: number;
  /** ...over at least this long (first timeout to the last), no loss among them. */
  afterMs: number;
  /** At most one forced reconnect per this long, doubled at each while a sign that
   *  asked for one persists, up to everyMaxMs. */
  everyMs: number;
  everyMaxMs: number;
}

export const DEFAULT_SELF_HEAL: SelfHealPolicy = { probeEveryMs: 30_000, timeouts: 5, afterMs: 30_000, everyMs: 60_000, everyMaxMs: 15 * 60_000 };

/** Why the bus renewed its subscriptions (the `reason` label of hushwire_bus_renewals_total). */
export type RenewalReason = 'probe' | 'timeouts';
export const RENEWAL_REASONS: readonly RenewalReason[] = ['probe', 'timeouts'];

/** The reply paths whose request timeouts are counted. */
export type ReplyPath = 'api' | 'mux';

export function checkSelfHealPolicy(p: SelfHealPolicy): SelfHealPolicy {
  for (const [k, v] of Object.entries(p)) {
    if (!(Number.isSafeInteger(v) && v >= 0)) throw new RangeError(`selfHeal.${k} must be an integer >= 0`);
  }
  if (p.timeouts < 1) throw new RangeError('selfHeal.timeouts must be >= 1');
  return p;
}

export interface HealLink {
  /** Connected now (not reconnecting, not closed). */
  up(): boolean;
  /** Losses of the connection so far (a streak does not span one). */
  losses(): number;
  /** Renews the subscriptions (a forced reconnect): resolves true if it did, false when
   *  it did not (the server did not answer a PING in time, lost meanwhile, closed).
   *  `nextInS`: the interval now in force, for its line. */
  renew(reason: RenewalReason, why: string, nextInS: number): Promise<boolean>;
}

/** The decisions, with a clock of their own (tests give one). */
export class InterestHealer {
  readonly #link: HealLink;
  readonly #policy: SelfHealPolicy;
  readonly #now: () => number;
  readonly #streaks = new Map<ReplyPath, { count: number; since: number; losses: number }>();
  /** The signs that asked for a renewal and have not passed since. */
  readonly #asked = new Set<ReplyPath | 'probe'>();
  #next = -Infinity;
  #every: number;
  #renewing = false;

  constructor(o: { link: HealLink; policy: SelfHealPolicy; now?: () => number }) {
    this.#link = o.link;
    this.#policy = checkSelfHealPolicy(o.policy);
    this.#now = o.now ?? Date.now;
    this.#every = o.policy.everyMs;
  }

  /** A request on `path` timed out. */
  timedOut(path: ReplyPath): void {
    const now = this.#now();
    const losses = this.#link.losses();
    let st = this.#streaks.get(path);
    if (st === undefined || st.losses !== losses) {
      st = { count: 0, since: now, losses };
      this.#streaks.set(path, st);
    }
    st.count++;
    const p = this.#policy;
    if (st.count < p.timeouts || now - st.since < p.afterMs) return;
    const what = path === 'api' ? 'JetStream requests (directory reads, mailbox checks)' : 'JetStream requests (mailbox stores, directory and counter writes)';
    this.#renew(path, 'timeouts', `${st.count} ${what} in a row timed out over ${Math.round((now - st.since) / 1000)} s while NATS is connected`);
  }

  /** A request on `path` was answered (anything came back): its streak ends. */
  answered(path: ReplyPath): void {
    if (this.#streaks.size > 0) this.#streaks.delete(path);
    this.#passed(path);
  }

  /** A request on `path` failed otherwise (no responders, the connection): its streak ends. */
  other(path: ReplyPath): void {
    this.#streaks.delete(path);
  }

  /** A probe round: the server answered the PING, and `missing` names the subscriptions
   *  whose probe did not come back (none: passed). */
  probed(missing: readonly string[]): void {
    if (missing.length === 0) {
      this.#passed('probe');
      return;
    }
    this.#renew('probe', 'probe', `the NATS server answered a PING but did not deliver this gateway's own probe on its ${missing.join(', ')} subscription(s)`);
  }

  #passed(sign: ReplyPath | 'probe'): void {
    if (this.#asked.size > 0 && this.#asked.delete(sign) && this.#asked.size === 0) this.#every = this.#policy.everyMs;
  }

  #renew(sign: ReplyPath | 'probe', reason: RenewalReason, why: string): void {
    const now = this.#now();
    if (this.#renewing || !this.#link.up() || now < this.#next) return;
    const every = this.#every;
    this.#next = now + every;
    this.#every = Math.min(every * 2, this.#policy.everyMaxMs);
    this.#asked.add(sign);
    this.#streaks.clear();
    this.#renewing = true;
    void this.#link.renew(reason, why, Math.round(every / 1000)).then((ok) => {
      // Not renewed (NATS slow, lost meanwhile): that was no sign of a lost interest;
      // the interval is not doubled for it.
      if (!ok) {
        this.#every = every;
        this.#asked.delete(sign);
      }
    }, () => undefined).finally(() => { this.#renewing = false; });
  }
}
