// One line when a kind of bus operation starts failing while NATS is connected, one when
// it works again: the handsets get UNAVAILABLE meanwhile, and the operator needs the
// gateway's log to say why (seen while a node of a 3-node cluster restarted: directory
// reads and mailbox stores failed with nothing in the log). A start is said at most once
// per `everyMs`, so a flapping stream leader does not fill the log; the line carries
// only the reason (timeout, no responders, a status, an error name), never an error's
// message, which can hold a subject and with it a route tag.
import type { BusLogFn } from './common.ts';

export class FailureEpisodes {
  readonly #log: BusLogFn;
  readonly #failingLine: (why: string) => string;
  readonly #worksLine: string;
  readonly #everyMs: number;
  #failing = false;
  #logged = false;
  #lineAt = -Infinity;

  constructor(log: BusLogFn, failingLine: (why: string) => string, worksLine: string, everyMs: number) {
    this.#log = log;
    this.#failingLine = failingLine;
    this.#worksLine = worksLine;
    this.#everyMs = everyMs;
  }

  get failing(): boolean {
    return this.#failing;
  }

  /** An operation failed (call only while connected: a NATS outage has its own lines). */
  failed(why: string, now = Date.now()): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#logged = now - this.#lineAt >= this.#everyMs;
    if (!this.#logged) return;
    this.#lineAt = now;
    this.#log('warn', this.#failingLine(why), { why });
  }

  /** An operation worked: ends an episode (with a line if its start had one). */
  works(): void {
    if (!this.#failing) return;
    this.#failing = false;
    if (this.#logged) this.#log('info', this.#worksLine);
    this.#logged = false;
  }
}
