// NATS refusing a process's reconnects (credentials changed on the server first, an
// expired user JWT, a revoked user, a client certificate from a CA the server no longer
// trusts). nats.js retries every reconnect wait (~1-2 s) for as long as it lasts, and
// each attempt reports the refusal: one line per attempt filled the log, and a gateway
// with remote OPRF evaluators wrote each twice (its bus and its evaluator client share
// the credentials, relay/oprf-nats.ts).
//
// One NatsRefusalLog per process's NATS settings (NatsAccessFiles.refusals), shared by
// every NATS link that uses them. Its lines:
//
// - the first refusal, at once, at warn (and a refusal for another reason, e.g. the user
//   JWT expired, then "authorization violation" for the same JWT, at once too: once per
//   reason until NATS accepts again);
// - while it lasts, at most one summary line per SUMMARY_EVERY_MS, at warn, with the
//   number of refused attempts since the last line, per link; written at a refusal, so
//   no timer runs (nothing to stop);
// - once every link that was refused is connected again (or closed), one info line
//   with the total and how long it lasted.
//
// hushwire_nats_refused_connects_total{link} counts every attempt (relay/metrics.ts).

/** At most one summary line per this while NATS keeps refusing. */
export const SUMMARY_EVERY_MS = 60_000;

export type RefusalLogFn = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

/** What a refusal says: which setting, why (no secret in either). */
export interface Refusal {
  setting: string;
  reason: string;
  /** nats.js's error name. */
  error: string;
}

/** A link's metric label: "OPRF client" -> "oprf_client". */
export const linkLabel = (what: string): string => what.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');

export class NatsRefusalLog {
  /** Refused attempts per link (its `what`), ever: the counter. */
  readonly #total = new Map<string, number>();
  /** Links refused since they last connected. */
  readonly #refusing = new Set<string>();
  /** Reasons logged in this episode. */
  readonly #reasons = new Set<string>();
  /** Attempts per link since the last line. */
  readonly #sinceLine = new Map<string, number>();
  #episodeStart = 0;
  #episodeCount = 0;
  #lastLine = 0;
  #lastReason = '';
  readonly #now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    this.#now = opts.now ?? Date.now;
  }

  /** Refused attempts per link label, ever (hushwire_nats_refused_connects_total). */
  totals(): ReadonlyMap<string, number> {
    return this.#total;
  }

  /** True while some link is being refused. */
  get refusing(): boolean {
    return this.#refusing.size > 0;
  }

  /** A link that uses these settings: its counter series starts at 0. */
  declare(what: string): void {
    const label = linkLabel(what);
    if (!this.#total.has(label)) this.#total.set(label, 0);
  }

  /** `what` ("bus", "OPRF client") had a connect refused; logs through `log` as above. */
  refused(what: string, r: Refusal, log: RefusalLogFn): void {
    const label = linkLabel(what);
    this.#total.set(label, (this.#total.get(label) ?? 0) + 1);
    const now = this.#now();
    if (this.#refusing.size === 0) {
      this.#episodeStart = now;
      this.#episodeCount = 0;
      this.#reasons.clear();
      this.#sinceLine.clear();
      this.#lastLine = now;
    }
    this.#refusing.add(what);
    this.#episodeCount++;
    this.#lastReason = r.reason;
    const fields = { setting: r.setting, error: r.error, link: label };
    if (!this.#reasons.has(r.reason)) {
      this.#reasons.add(r.reason);
      this.#sinceLine.clear();
      this.#lastLine = now;
      safe(log, 'warn', `${what}: ${r.reason}; retrying (while NATS refuses: one line a minute at most, and one when it accepts again)`, fields);
      return;
    }
    this.#sinceLine.set(what, (this.#sinceLine.get(what) ?? 0) + 1);
    if (now - this.#lastLine < SUMMARY_EVERY_MS) return;
    const n = [...this.#sinceLine.values()].reduce((a, b) => a + b, 0);
    const per = [...this.#sinceLine].map(([w, c]) => `${w} ${c}`).join(', ');
    const secs = Math.round((now - this.#lastLine) / 1000);
    this.#sinceLine.clear();
    this.#lastLine = now;
    safe(log, 'warn', `NATS still refuses this process: ${n} refused connect attempt(s) in the last ${secs} s (${per}); ${this.#lastReason}; retrying`,
      { ...fields, attempts: n, seconds: secs, refusingFor: Math.round((now - this.#episodeStart) / 1000) });
  }

  /** `what` is connected: when no link is refused any more, one info line. */
  accepted(what: string, log: RefusalLogFn): void {
    if (!this.#refusing.delete(what)) return;
    if (this.#refusing.size > 0) return;
    this.#endEpisode(log);
  }

  /** `what` was closed (no more attempts): it no longer keeps the episode open. */
  forget(what: string, log: RefusalLogFn): void {
    if (!this.#refusing.delete(what)) return;
    if (this.#refusing.size > 0) return;
    this.#endEpisode(log, true);
  }

  #endEpisode(log: RefusalLogFn, closed = false): void {
    const secs = Math.round((this.#now() - this.#episodeStart) / 1000);
    const n = this.#episodeCount;
    this.#reasons.clear();
    this.#sinceLine.clear();
    if (closed) return; // the process is closing its links: nothing to report
    safe(log, 'info', `NATS accepts this process's connects again, after ${n} refused attempt(s) over ${secs} s`, { attempts: n, seconds: secs });
  }
}

function safe(log: RefusalLogFn, level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void {
  try {
    log(level, msg, fields);
  } catch {
    // a logger that throws must not break a NATS status loop
  }
}
