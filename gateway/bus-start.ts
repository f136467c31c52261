// Starts the bus without making the gateway's own start depend on NATS being up.
//
// A gateway whose NATS is down at boot (a cluster restart, a network partition, the
// gateways' pods scheduled before NATS's) should still come up: it answers /healthz,
// says "not ready" on /readyz and refuses WebSocket upgrades with 503 (so a load
// balancer keeps traffic away), and becomes ready by itself once NATS is reachable and
// its stream and bucket exist. Crashing instead would only turn one outage into a
// restart loop with no health endpoint to look at.
//
// One clear warn line when the first attempt fails (naming host:port only: a NATS URL
// may carry credentials), then retries with full-jitter exponential backoff, one info
// line when the bus is up, and a reminder every REMIND_MS so a long outage stays visible
// without flooding the log. The line says what failed: "NATS unreachable" only when
// there is no connection; "JetStream not ready: <reason>" when NATS answered but the
// streams and buckets could not be set up (no leader yet, a timeout, no peers to place
// replicas on). A new line when it changes from one to the other.
//
// What retrying cannot fix (relay/bus/setup-errors.ts BusMisconfigured: a mailbox laid
// out for another --mailbox-shards, --nats-replicas above what NATS holds, credentials
// NATS refuses) is not retried: on the first attempt startBus rejects with it (the
// gateway exits at start, naming the flag); found on a later attempt (NATS was down at
// boot), it is logged and `whenFailed` resolves with it. No device is connected yet
// either way. Once the bus has started, such a finding is the bus's own business (it
// reports 'misconfigured' and stays unready: relay/bus/nats.ts #restoreStores).
import type { Bus } from '../relay/bus/bus.ts';
import type { Logger } from '../relay/log.ts';
import { toWireError } from '../relay/errors.ts';
import { BusMisconfigured, JetStreamNotReady, NatsUnreachable } from '../relay/bus/setup-errors.ts';
import { natsEndpoints } from '../relay/nats-endpoints.ts';
export { natsEndpoints };

export interface BusStarterOptions {
  log: Logger;
  /** The configured NATS URLs (only host:port of each is ever logged). Empty = embedded. */
  servers: string[];
  /** First retry waits up to this, ms (default 250). */
  baseDelayMs?: number;
  /** Retries wait at most this, ms (default 5000). */
  maxDelayMs?: number;
  random?: () => number;
}

export interface BusStarter {
  /** True once bus.start() resolved (connected, stream and bucket exist). */
  readonly started: boolean;
  /** Failed attempts so far. */
  readonly failures: number;
  /** Resolves when the bus started; never rejects (stop() leaves it pending). */
  readonly whenStarted: Promise<void>;
  /** Resolves (never rejects) when a retry found that the bus cannot start as configured;
   *  retries have stopped then. Pending otherwise. */
  readonly whenFailed: Promise<BusMisconfigured>;
  /** Stops retrying; idempotent. Does not close the bus. */
  stop(): void;
}

const REMIND_MS = 60_000;


/** The log line for a failed attempt, and its kind (a new kind gets a new line). */
function describe(bus: Bus, e: unknown, where: string, again: boolean): { kind: string; msg: string; error: string } {
  if (bus.kind !== 'nats') return { kind: 'bus', msg: `bus ${again ? 'still fails' : 'failed'} to start, retrying`, error: toWireError(e).message };
  if (e instanceof JetStreamNotReady) {
    return { kind: 'jetstream', msg: `JetStream ${again ? 'still ' : ''}not ready: ${e.reason} (NATS at ${where}); retrying`, error: e.reason };
  }
  const error = e instanceof NatsUnreachable ? e.reason : toWireError(e).message;
  return { kind: 'unreachable', msg: `NATS ${again ? 'still ' : ''}unreachable at ${where}, retrying`, error };
}

/**
 * Makes the first start attempt and resolves after it, started or not; on failure keeps
 * retrying in the background until the bus starts or stop() is called. Rejects with a
 * BusMisconfigured from the first attempt (nothing to retry).
 */
export async function startBus(bus: Bus, opts: BusStarterOptions): Promise<BusStarter> {
  const base = opts.baseDelayMs ?? 250;
  const cap = opts.maxDelayMs ?? 5000;
  const random = opts.random ?? Math.random;
  const where = opts.servers.length > 0 ? natsEndpoints(opts.servers) : 'embedded';
  let started = false;
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let lastRemind = 0;
  let lastKind = '';
  let resolveStarted!: () => void;
  const whenStarted = new Promise<void>((r) => { resolveStarted = r; });
  let resolveFailed!: (e: BusMisconfigured) => void;
  const whenFailed = new Promise<BusMisconfigured>((r) => { resolveFailed = r; });
  let firstError: BusMisconfigured | null = null;

  const attempt = async (): Promise<boolean> => {
    try {
      await bus.start();
    } catch (e) {
      if (stopped) return false;
      failures++;
      if (e instanceof BusMisconfigured) {
        stopped = true;
        if (failures === 1) {
          firstError = e; // startBus rejects with it: the caller reports it and exits
        } else {
          opts.log.error({ setting: e.setting, attempts: failures }, `NATS reachable at ${where}, but the bus cannot start as configured: ${e.message}`);
          resolveFailed(e);
        }
        return false;
      }
      const now = Date.now();
      const first = describe(bus, e, where, false);
      if (first.kind !== lastKind) {
        opts.log.warn(failures === 1 ? { error: first.error } : { error: first.error, attempts: failures }, first.msg);
        lastKind = first.kind;
        lastRemind = now;
      } else if (now - lastRemind >= REMIND_MS) {
        const again = describe(bus, e, where, true);
        opts.log.warn({ error: again.error, attempts: failures }, again.msg);
        lastRemind = now;
      }
      return false;
    }
    if (stopped) return false;
    started = true;
    opts.log.info({ bus: bus.kind, after: failures }, failures > 0 ? `NATS reachable at ${where}: bus ready` : 'bus ready');
    resolveStarted();
    return true;
  };

  const schedule = (): void => {
    if (stopped) return;
    // Full jitter: gateways that lost the same NATS do not retry in lockstep.
    const ceiling = Math.min(cap, base * 2 ** Math.min(failures, 20));
    timer = setTimeout(() => {
      timer = null;
      void attempt().then((ok) => { if (!ok) schedule(); });
    }, Math.max(50, Math.floor(random() * ceiling)));
  };

  if (!(await attempt())) {
    if (firstError !== null) throw firstError;
    schedule();
  }

  return {
    get started() { return started; },
    get failures() { return failures; },
    whenStarted,
    whenFailed,
    stop: () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
