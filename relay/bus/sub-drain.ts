// Unsubscribing many device subscriptions at once without losing what is already on its
// way to them (NatsBus's end-of-turn batch, relay/bus/nats.ts).
//
// A plain `unsubscribe()` sends UNSUB and forgets the subscription in nats.js at once:
// a message nats-server routed to it before it read the UNSUB is then dropped silently.
// For a device subscription that message can be a live request, whose sender then waits
// its whole live timeout before storing the envelope. nats.js's `drain()` keeps the
// subscription's callback until the server has answered a PING sent after the UNSUB,
// which is right, but each call writes its own PING to the socket at once: a reconnect
// storm's thousands of releases cost thousands of writes and PONGs (storm bench: +10%
// server CPU per reconnect). This does the same for a whole batch with one PING: every
// UNSUB goes into nats.js's outbound buffer, one flush follows, and when it is answered
// (or the connection is lost, which rejects it) nats.js forgets them all. That wait has
// the connection's own deadline: NatsBus pings nats-server every 10 s and takes three
// missed PONGs as a lost connection, so a subscription lingers at most ~40 s.
//
// Written by hand because nats.js has no public "unsubscribe but keep delivering until
// the server confirms" for more than one subscription. It reaches two internals of the
// pinned @nats-io/nats-core 3.4 (`protocol.unsub`, `protocol.subscriptions.cancel`),
// checked at run time: without them each subscription is drained on its own, correct
// and only slower. test/bus/sub-drain.test.ts says which path is in use.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

interface ProtocolInternals {
  unsub(s: Subscription): void;
  subscriptions: { cancel(s: Subscription): void };
}

function internals(nc: NatsConnection): ProtocolInternals | null {
  const p = (nc as unknown as { protocol?: Partial<ProtocolInternals> }).protocol;
  if (p === undefined || p === null) return null;
  if (typeof p.unsub !== 'function' || typeof p.subscriptions?.cancel !== 'function') return null;
  return p as ProtocolInternals;
}

/** Whether drainSubscriptions can share one PING on this connection (for tests). */
export function sharesOnePing(nc: NatsConnection): boolean {
  return internals(nc) !== null;
}

/**
 * Sends UNSUB for each subscription now (with the caller's other commands of this turn)
 * and keeps their callbacks until nats-server has answered one PING that follows them.
 * Resolves when they are all forgotten; never rejects (a closed connection has nothing
 * left to deliver). Subscriptions already closed are skipped.
 */
export function drainSubscriptions(nc: NatsConnection, subs: readonly Subscription[]): Promise<void> {
  const open = subs.filter((s) => !s.isClosed() && !s.isDraining());
  if (open.length === 0) return Promise.resolve();
  const p = nc.isClosed() ? null : internals(nc);
  if (p === null) {
    return Promise.all(open.map((s) => {
      try {
        return s.drain().catch(() => undefined);
      } catch {
        return undefined; // closed meanwhile
      }
    })).then(() => undefined);
  }
  for (const s of open) p.unsub(s);
  const forget = (): void => {
    for (const s of open) p.subscriptions.cancel(s);
  };
  let flushed: Promise<void>;
  try {
    flushed = nc.flush();
  } catch {
    forget();
    return Promise.resolve();
  }
  return flushed.then(forget, forget);
}
