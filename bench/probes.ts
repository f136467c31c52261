// Where the bench reads the CPU time and resident memory of the servers it measures.
//
// Processes the bench started itself are read from /proc by pid (bench/procs.ts).
// Gateways that were already running (`--gateway URL`) are read through their own
// `GET /metrics`: prom-client's process metrics are the gateway process's own CPU time
// (process.cpuUsage(), microsecond resolution) and its VmRSS, which is what /proc gives
// for a local pid. A load tester against a real deployment gets the same columns as a
// local run, as long as the bench can reach the gateways' HTTP port.
//
// The exposition text is matched line by line for the four unlabelled samples needed
// here (a Prometheus text parser library would pull in a dependency for four regular
// expressions; the format of an unlabelled sample is `name value`).
import { cpuMicrosAll, rssBytesAll } from './procs.ts';

export interface ResourceProbe {
  /** How the figures are read ('/proc' or 'metrics'), for the notes. */
  readonly source: 'proc' | 'metrics';
  /** CPU time (user + system) of all the processes so far, in µs; null when it cannot
   *  be read (or, for metrics, a process was replaced since the first read). */
  cpuMicros(): Promise<number | null>;
  /** Resident memory of all the processes, in bytes; null when it cannot be read. */
  rssBytes(): Promise<number | null>;
  /** Why the last read gave null (for a warning), or null. */
  problem(): string | null;
  /** metrics: each URL's CPU time (µs) at the last cpuMicros() that read them all, in
   *  the order given (so a phase's rise can be checked per gateway: bench/metrics-check.ts);
   *  null before such a read. */
  cpuMicrosByUrl?(): ReadonlyMap<string, number> | null;
}

/** Processes on this machine, by pid. */
export function pidProbe(pids: readonly number[]): ResourceProbe {
  const list = [...pids];
  return {
    source: 'proc',
    cpuMicros: async () => cpuMicrosAll(list),
    rssBytes: async () => rssBytesAll(list),
    problem: () => (list.length === 0 ? 'no server process known' : null),
  };
}

/** The samples of one gateway's /metrics that the bench uses. */
export interface ProcessSamples {
  cpuSeconds: number;
  rssBytes: number | null;
  startTimeSeconds: number | null;
}

const PREFIX = 'hushwire_process_process_';

/** Reads the gateway's process samples out of Prometheus exposition text; null when
 *  its CPU counters are missing (not a Hushwire gateway, or its process metrics off). */
export function parseProcessSamples(text: string): ProcessSamples | null {
  const sample = (name: string): number | null => {
    // A sample line: the name, optional {labels}, a space, the value (optionally a timestamp).
    const m = new RegExp(`^${PREFIX}${name}(?:\\{\\})?[ \\t]+(\\S+)`, 'm').exec(text);
    if (m === null) return null;
    const v = Number(m[1]);
    return Number.isFinite(v) ? v : null;
  };
  const user = sample('cpu_user_seconds_total');
  const system = sample('cpu_system_seconds_total');
  const total = sample('cpu_seconds_total');
  const cpuSeconds = user !== null && system !== null ? user + system : total;
  if (cpuSeconds === null || cpuSeconds < 0) return null;
  return { cpuSeconds, rssBytes: sample('resident_memory_bytes'), startTimeSeconds: sample('start_time_seconds') };
}

/** `ws://host:port/ws` → `http://host:port/metrics` (wss → https); null for a URL
 *  that is not ws(s). */
export function metricsUrlOf(gatewayUrl: string): string | null {
  let u: URL;
  try {
    u = new URL(gatewayUrl);
  } catch {
    return null;
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return null;
  const scheme = u.protocol === 'wss:' ? 'https:' : 'http:';
  return `${scheme}//${u.host}/metrics`;
}

/** Why a fetch failed, as a load tester can act on it: fetch() rejects with a bare
 *  "TypeError: fetch failed" and puts the reason (ECONNREFUSED, ENOTFOUND, ...) in its
 *  cause; our deadline rejects with a TimeoutError. */
export function fetchFailure(e: unknown, timeoutMs: number): string {
  if (!(e instanceof Error)) return String(e);
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms, ${e.name}`;
  const codeOf = (x: unknown): string | null => {
    const c = (x as { code?: unknown } | null)?.code;
    return typeof c === 'string' && c !== '' ? c : null;
  };
  const cause = (e as { cause?: unknown }).cause;
  // Several addresses tried (localhost: ::1 and 127.0.0.1): an AggregateError of them.
  const inner = cause instanceof AggregateError ? cause.errors[0] : undefined;
  return codeOf(cause) ?? codeOf(inner) ?? (cause instanceof Error ? cause.message : null) ?? e.message;
}

export interface MetricsProbeOptions {
  /** Deadline of each scrape (default 3,000 ms). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Gateways read through their /metrics URLs (each URL scraped once per read, in
 *  parallel). A URL that answers for a different process than at the first read (its
 *  start time changed: restarted, or a load balancer picked another gateway) makes
 *  every CPU reading from then on null, since a difference across two processes means
 *  nothing. */
export function metricsProbe(urls: readonly string[], o: MetricsProbeOptions = {}): ResourceProbe {
  const list = [...new Set(urls)];
  const timeoutMs = o.timeoutMs ?? 3000;
  const doFetch = o.fetch ?? fetch;
  const starts = new Map<string, number | null>();
  let problem: string | null = null;
  let replaced = false;
  let byUrl: ReadonlyMap<string, number> | null = null;

  const scrape = async (url: string): Promise<ProcessSamples | null> => {
    try {
      const res = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'text/plain' } });
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        problem = `${url} answered HTTP ${res.status}`;
        return null;
      }
      const s = parseProcessSamples(await res.text());
      if (s === null) problem = `${url} has no hushwire_process_* CPU samples`;
      return s;
    } catch (e) {
      problem = `${url} unreachable (${fetchFailure(e, timeoutMs)})`;
      return null;
    }
  };

  const readAll = async (): Promise<(ProcessSamples | null)[]> => {
    const all = await Promise.all(list.map(scrape));
    all.forEach((s, i) => {
      if (s === null) return;
      const url = list[i]!;
      if (!starts.has(url)) starts.set(url, s.startTimeSeconds);
      else if (starts.get(url) !== s.startTimeSeconds) {
        replaced = true;
        problem = `${url} is another process than at the first read (restarted, or behind a load balancer)`;
      }
    });
    return all;
  };

  return {
    source: 'metrics',
    cpuMicros: async () => {
      if (list.length === 0) return null;
      const all = await readAll();
      if (replaced || all.some((s) => s === null)) return null;
      byUrl = new Map(list.map((url, i) => [url, Math.round(all[i]!.cpuSeconds * 1_000_000)]));
      // Whole microseconds, like /proc readings after scaling.
      return Math.round(all.reduce((n, s) => n + s!.cpuSeconds, 0) * 1_000_000);
    },
    rssBytes: async () => {
      if (list.length === 0) return null;
      const all = await readAll();
      if (replaced) return null;
      if (all.some((s) => s === null || s.rssBytes === null)) {
        problem ??= 'a gateway reports no resident memory';
        return null;
      }
      return all.reduce((n, s) => n + s!.rssBytes!, 0);
    },
    problem: () => problem,
    cpuMicrosByUrl: () => byUrl,
  };
}
