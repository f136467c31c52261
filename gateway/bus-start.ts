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
// without flooding the log.
import type { Bus } from '../relay/bus/bus.ts';
import type { Logger } from '../relay/log.ts';
import { toWireError } from '../relay/errors.ts';
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
  /** Stops retrying; idempotent. Does not close the bus. */
  stop(): void;
}

const REMIND_MS = 60_000;


/**
 * Makes the first start attempt and resolves after it, started or not; on failure keeps
 * retrying in the background until the bus starts or stop() is called.
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
  let resolveStarted!: () => void;
  const whenStarted = new Promise<void>((r) => { resolveStarted = r; });

  const attempt = async (): Promise<boolean> => {
    try {
      await bus.start();
    } catch (e) {
      if (stopped) return false;
      failures++;
      const now = Date.now();
      const error = toWireError(e).message;
      if (failures === 1) {
        opts.log.warn({ error }, bus.kind === 'nats' ? `NATS unreachable at ${where}, retrying` : 'bus failed to start, retrying');
        lastRemind = now;
      } else if (now - lastRemind >= REMIND_MS) {
        opts.log.warn({ error, attempts: failures }, `NATS still unreachable at ${where}, retrying`);
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

  if (!(await attempt())) schedule();

  return {
    get started() { return started; },
    get failures() { return failures; },
    whenStarted,
    stop: () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
