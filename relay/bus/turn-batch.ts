// Hands NATS publishes to the client once per event-loop turn instead of once per
// socket callback.
//
// nats.js queues a publish and flushes its outbound buffer in a microtask, so every
// publish made from a separate I/O callback (each WebSocket frame, each NATS message)
// becomes its own write to nats-server: one syscall on the gateway and one read on the
// server per message. Deferring the publishes of a whole turn to one setImmediate puts
// them into a single microtask flush, so one write carries all of them (measured in
// docs/BENCHMARKS.md). The cost is at most one event-loop turn of added latency.
//
// Bound: at most MAX_QUEUED publishes wait per connection; the one that reaches the
// bound flushes the queue at once (never dropped). A publish that fails (connection
// closed or draining) reports through its onError, as a direct publish would throw.
import type { NatsConnection } from '@nats-io/transport-node';

const MAX_QUEUED = 8192;

interface Queued {
  subject: string;
  payload: Uint8Array;
  reply: string | undefined;
  onError: (() => void) | undefined;
}

class Batch {
  readonly #nc: NatsConnection;
  #queue: Queued[] = [];
  #scheduled = false;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  add(q: Queued): void {
    this.#queue.push(q);
    if (this.#queue.length >= MAX_QUEUED) {
      this.flush();
      return;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    const q = this.#queue;
    if (q.length === 0) return;
    this.#queue = [];
    const nc = this.#nc;
    for (const m of q) {
      try {
        if (m.reply === undefined) nc.publish(m.subject, m.payload);
        else nc.publish(m.subject, m.payload, { reply: m.reply });
      } catch {
        m.onError?.();
      }
    }
  }
}

const batches = new WeakMap<NatsConnection, Batch>();

/** nc.publish, deferred to the end of this event-loop turn together with the turn's other publishes. */
export function publishThisTurn(nc: NatsConnection, subject: string, payload: Uint8Array, reply?: string, onError?: () => void): void {
  let b = batches.get(nc);
  if (b === undefined) {
    b = new Batch(nc);
    batches.set(nc, b);
  }
  b.add({ subject, payload, reply, onError });
}
