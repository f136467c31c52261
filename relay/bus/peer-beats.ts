// Announcements lost between NATS nodes (docs/ARCHITECTURE.md "Opt-out and erasure",
// step 5). A gateway hears every other gateway's announcements and intents
// (`<prefix>.unreg`, `<prefix>.unreg.intent`) over the cluster's routes, by core NATS: a
// route that breaks while both gateways stay connected to their own nodes drops what is
// published meanwhile, and nobody is told (nats-server reconnects the route and sends
// the interest again, nothing more). A device that opted out through one gateway would
// keep a connection that authenticated on the other around that moment.
//
// So every gateway beats: every BEAT_INTERVAL_MS it publishes `<node>.<seq>` on
// `<prefix>.unreg.beat` (node: 16 random hex chars of the process, seq counting from 1;
// `<node>.0` when it closes), over the same routes as its announcements. A gateway that
// hears a peer's seq jump (beats lost: the route broke, and anything that peer
// published after the last beat heard may be lost too) or hears nothing from it for
// BEAT_SILENCE_MS (a route down, or the peer died) reports a gap, as the bus does after
// its own loss of NATS: the relay re-reads the sessions it checked since
// UNREGISTERED_LOOKBACK_MS before the last beat heard (Relay.#gap, then its second
// pass). A route takes at least nats-server's route reconnect delay (1 s) to come back,
// so a break loses several beats. No phone number, route or device: only the random
// node name and a counter.

import { randomBytes } from 'node:crypto';
import type { Clock } from './unregistered.ts';

/** How often a gateway beats (~4 small messages a second per gateway, to each other). */
export const BEAT_INTERVAL_MS = 250;
/** A peer not heard for this long: reported once (a route down, or the peer died
 *  without its last beat). Past event-loop stalls of a busy gateway. */
export const BEAT_SILENCE_MS = 3_000;
/** Gaps reported at most this often: a route flap shows as a jump from every gateway on
 *  the far node, one after the other; one report covers the earliest. */
export const BEAT_REPORT_EVERY_MS = 5_000;
/** Peers remembered at most; a silent one forgotten after this long (a gateway gone). */
const MAX_PEERS = 1_024;
const FORGET_SILENT_MS = 3_600_000;

const BEAT_RE = /^([0-9a-f]{16})\.(0|[1-9][0-9]{0,15})$/;
const te = new TextEncoder();
const td = new TextDecoder();

interface Peer {
  seq: number;
  /** When its last beat was heard. */
  at: number;
  /** Reported silent, not heard since. */
  silent: boolean;
}

export class PeerBeats {
  /** This process's name in its beats. */
  readonly node = randomBytes(8).toString('hex');
  #seq = 0;
  readonly #peers = new Map<string, Peer>();
  readonly #now: Clock;
  readonly #onGap: (lostAt: number) => void;
  /** The earliest loss found and not reported yet (Infinity: none). */
  #pending = Number.POSITIVE_INFINITY;
  #reportedAt = Number.NEGATIVE_INFINITY;
  /** When check() last ran: a check long after the one before is this gateway's own
   *  event loop stalled, with the peers' beats still unread in its socket. */
  #checkedAt = Number.NEGATIVE_INFINITY;
  /** Gaps found since start (beats lost or a peer silent). */
  gaps = 0;
  /** When the last gap was found (the clock given), reported yet or not; -Infinity: none.
   *  NatsBus reads its directory at the leader for authentications from then on, until
   *  a read there answers (its #directoryInDoubt). */
  foundAt = Number.NEGATIVE_INFINITY;

  constructor(now: Clock, onGap: (lostAt: number) => void) {
    this.#now = now;
    this.#onGap = onGap;
  }

  #timer: ReturnType<typeof setInterval> | null = null;

  /** Beats every BEAT_INTERVAL_MS through `publish` while `connected()` (checking the
   *  peers each time). A publish that throws (closed, draining) is skipped. */
  start(publish: (data: Uint8Array) => void, connected: () => boolean): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => {
      if (!connected()) return;
      try {
        publish(this.next());
      } catch {
        return;
      }
      this.check();
    }, BEAT_INTERVAL_MS);
    this.#timer.unref?.();
  }

  /** No more beats; `publish` (if given) sends the closing one. */
  stop(publish?: (data: Uint8Array) => void): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    try {
      publish?.(this.bye());
    } catch {
      // closed already
    }
  }

  /** The next beat to publish. */
  next(): Uint8Array {
    return te.encode(`${this.node}.${++this.#seq}`);
  }

  /** The beat that says this gateway is closing: its peers forget it, with no report. */
  bye(): Uint8Array {
    return te.encode(`${this.node}.0`);
  }

  /** A beat heard (this gateway's own included, ignored). Malformed ones are dropped. */
  heard(data: Uint8Array): void {
    if (data.length > 40) return;
    const m = BEAT_RE.exec(td.decode(data));
    if (m === null || m[1] === this.node) return;
    const node = m[1]!;
    const seq = Number(m[2]);
    const now = this.#now();
    const p = this.#peers.get(node);
    if (seq === 0) {
      this.#peers.delete(node);
      return;
    }
    if (p === undefined) {
      if (this.#peers.size >= MAX_PEERS) this.#forget(now, true);
      this.#peers.set(node, { seq, at: now, silent: false });
      return;
    }
    if (seq <= p.seq) return;
    const lost = seq > p.seq + 1;
    const lostAt = p.at;
    p.seq = seq;
    p.at = now;
    p.silent = false;
    if (lost) this.#found(lostAt, now);
  }

  /** Called every beat: peers silent past BEAT_SILENCE_MS are reported, once each; a
   *  report held back by BEAT_REPORT_EVERY_MS goes out when due. Not judged right after
   *  a stall of this gateway's own (its timers run before it reads what came meanwhile):
   *  at the next check. */
  check(): void {
    const now = this.#now();
    const stalled = now - this.#checkedAt > BEAT_SILENCE_MS / 2;
    this.#checkedAt = now;
    for (const p of this.#peers.values()) {
      if (stalled || p.silent || now - p.at <= BEAT_SILENCE_MS) continue;
      p.silent = true;
      this.#found(p.at, now);
    }
    this.#forget(now, false);
    this.#report(now);
  }

  /** This gateway's own connection was lost or is back: what it missed meanwhile is the
   *  bus's own gap; peers are learnt again from their next beats. */
  reset(): void {
    this.#peers.clear();
    this.#pending = Number.POSITIVE_INFINITY;
  }

  #found(lostAt: number, now: number): void {
    this.gaps++;
    this.foundAt = now;
    if (lostAt < this.#pending) this.#pending = lostAt;
    this.#report(now);
  }

  #report(now: number): void {
    if (this.#pending === Number.POSITIVE_INFINITY || now - this.#reportedAt < BEAT_REPORT_EVERY_MS) return;
    const lostAt = this.#pending;
    this.#pending = Number.POSITIVE_INFINITY;
    this.#reportedAt = now;
    this.#onGap(lostAt);
  }

  /** Silent peers past FORGET_SILENT_MS go; `one`: the oldest-heard peer goes (the bound). */
  #forget(now: number, one: boolean): void {
    let oldest: string | null = null;
    let oldestAt = Number.POSITIVE_INFINITY;
    for (const [node, p] of this.#peers) {
      if (p.silent && now - p.at > FORGET_SILENT_MS) this.#peers.delete(node);
      else if (p.at < oldestAt) {
        oldest = node;
        oldestAt = p.at;
      }
    }
    if (one && oldest !== null && this.#peers.size >= MAX_PEERS) this.#peers.delete(oldest);
  }
}
