// The bench: for each system, set it up, run each workload with the same generator,
// measure, tear down. Returns one RunResult row per (system, workload[, variant]).
import * as hdr from 'hdr-histogram-js';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpuMicros, sleep } from './procs.ts';
import { installInterruptHandler, interrupted, onInterrupt, setActivity, type InterruptTask } from './interrupt.ts';
import { setUp, type SetupOptions, type SystemEnv } from './setup.ts';
import { awaitYoungGenerationsSettled, collectAndMeasureAll, writeHeapSnapshot, YOUNG_GEN_NODE_ARGS, type HeapFigures } from './inspect.ts';
import { makeDevices, makeDevicesYielding, seedDirectory, registerDevices, unregisterDevices, optOutUnanswered, type UnregisterResult, type UnansweredResult } from './devices.ts';
import { senderGroups, loneEndpoints, toWorkers, type Layout } from './layout.ts';
import { machineLimits, sourceAddresses } from './capacity.ts';
import { WorkerGroup, TERMINATE_MS } from './workers.ts';
import { envelopeBytes } from './drivers/hushwire.ts';
import { nearestRank } from './percentile.ts';
import { DEFAULT_SLICE_MS, effectiveSliceMs, mergeTimeline } from './timeline.ts';
import { ratePlan, resolveRates, sweepStop, type RateOption } from './rate-plan.ts';
import { cpuRise, idleMetricsNote } from './metrics-check.ts';
import { SAMPLING_INTERVAL_BYTES, summariseAllocations, allocationText, type HeapProfile } from './heap-sample.ts';
import { PhaseProfiler, CPU_INTERVAL_US, type PhaseProfiles } from './phase-profile.ts';
import { summarise as summariseCpu, categorise, profileText, type CpuProfile } from './profile-summary.ts';
import type { WsClientKind } from './drivers/client-socket.ts';
import { sumAuths, type AuthCounts, type HwDevice, type RunParams, type RunResult, type RunStats, type StormAuth, type SystemName, type WorkloadName } from './types.ts';
import { CloseCode } from '../relay/errors.ts';

export interface BenchOptions extends SetupOptions {
  /** Running gateways: leave the devices the bench registered (default: opt them out). */
  keepDevices?: boolean;
  systems: SystemName[];
  workloads: WorkloadName[];
  /** Interleaved rounds: every system and workload once per round (bench/summary.ts). */
  repeat?: number;
  durationS: number;
  warmupS: number;
  graceS: number;
  /** The latency timeline's slice (ms), as asked (--slice-ms; default 250): a window
   *  that would need more than MAX_SLICES takes a larger one (bench/timeline.ts). */
  sliceMs?: number;
  /** Messages/s offered in total (fixed-rate mode); 'half' = a window run, then a rate run
   *  at half its rate; a list of rates and percentages of the max rate, or 'sweep'
   *  (bench/rate-plan.ts). */
  rate: RateOption | null;
  window: number;
  pairs: number;
  devices: number;
  backlogDevices: number;
  backlogPerDevice: number;
  /** backlog: messages per device in an unmeasured round (fill, drain, erase) before the
   *  measured one, so the gateways' drain path runs warm as in a gateway that has been
   *  up for a while; 0 = none (a fresh gateway's first drain). */
  backlogWarmup: number;
  fanout: number[];
  workers: number;
  /** Client library of the raw-WebSocket handsets (Hushwire, uws-relay). */
  wsClient: WsClientKind;
  /** How a Hushwire storm's reconnects authenticate: 'ticket' (resumption tickets got at
   *  the first connect, as the SDK does; default) or 'signature' (Ed25519 every time). */
  stormAuth?: StormAuth;
  connectConcurrency: number;
  /** Local Hushwire gateways: sample their allocations over each measured phase
   *  (bench/heap-sample.ts) and write the profiles into this directory. */
  heapSample?: string;
  /** Local Hushwire gateways: CPU-profile them over each measured phase (through their
   *  inspector, like heapSample) and write the profiles into this directory. */
  cpuProf?: string;
  /** Progress and table lines (stderr). */
  log: (line: string) => void;
  /** Called with each finished row (for the live table). */
  onResult?: (r: RunResult) => void;
}

/** A generator thread whose event loop was busy this much of the window was the bottleneck. */
const GENERATOR_BOUND_ELU = 0.9;
/** Pause between connecting and the first message. */
const SETTLE_MS = 1500;
/** idle: wait after connecting before memory is read (late auth work, timers). */
const IDLE_SETTLE_MS = 2000;
/** The idle workload's wait for the gateways' young generations (bench/inspect.ts): at
 *  most this many rounds of a forced GC and a wait of this long. */
const SETTLE_ROUNDS = 2;
const SETTLE_ROUND_MS = 45_000;

export async function runBench(o: BenchOptions): Promise<RunResult[]> {
  // SIGINT/SIGTERM from here on stop the children, remove the temp dirs and say during
  // what the bench was interrupted (bench/interrupt.ts).
  installInterruptHandler();
  // Once interrupted, what the run's code still does until its next check (a workload
  // failing as its generator threads are stopped) is not news: the interrupt says it all.
  const { log, onResult } = o;
  o = {
    ...o,
    log: (line) => { if (interrupted() === null) log(line); },
    onResult: (r) => { if (interrupted() === null) onResult?.(r); },
  };
  const results: RunResult[] = [];
  const rounds = o.repeat ?? 1;
  const payloadBytes = measureEnvelopeBytes();
  // With --repeat, whole rounds are interleaved (A B A B, not A A B B), so a slow minute
  // on the shared machine falls on every system alike.
  for (let round = 1; round <= rounds; round++) {
    const add = (r: RunResult): void => {
      if (!r.skipped) r.loadavg_1m = Math.round(loadavg()[0]! * 100) / 100;
      if (rounds > 1) r.round = round;
      results.push(r);
      o.onResult?.(r);
    };
    for (const system of o.systems) {
      for (const w of o.workloads) {
        o.log(`== ${system} ${w}: setting up${rounds > 1 ? ` (round ${round} of ${rounds})` : ''}`);
        await runOne(system, w, o, payloadBytes, add);
        // The interrupt handler ends the process (after its clean-up): never return
        // results that would be printed as if the run had finished.
        if (interrupted() !== null) await new Promise<never>(() => undefined);
      }
    }
  }
  return results;
}

/** One system's workload on a fresh setup: no workload inherits another's heap,
 *  connections or JetStream state (the idle workload's RSS growth would otherwise reuse
 *  freed memory). */
async function runOne(system: SystemName, w: WorkloadName, o: BenchOptions, payloadBytes: number, add: (r: RunResult) => void): Promise<void> {
  // idle: local gateways open their inspector (loopback, random port) so the bench
  // can force a GC before it reads their memory (bench/inspect.ts), and preload
  // bench/young-gen-preload.mjs, so that the bench reads it only once V8 has given back
  // what start-up and the last connections made the young generations grow.
  // --heap-sample and --cpu-prof likewise, to profile their allocations and CPU over
  // each measured phase (bench/phase-profile.ts).
  const inspect = w === 'idle' || ((o.heapSample !== undefined || o.cpuProf !== undefined) && system === 'hushwire');
  doing(`${system} ${w}`, 'setting up');
  const env = await setUp(system, inspect ? { ...o, gatewayNodeArgs: [...o.gatewayNodeArgs, '--inspect=127.0.0.1:0', ...(w === 'idle' ? YOUNG_GEN_NODE_ARGS : [])] } : o);
  if ('skip' in env) {
    add(skipped(system, w, env.skip, env.failure === true));
    o.log(`== ${system}: skipped (${env.skip})`);
    return;
  }
  try {
    const nodes = o.natsCluster ?? 1;
    const cluster = system === 'hushwire' && env.local && nodes > 1 ? `NATS cluster of ${nodes} nodes, R${env.natsReplicas ?? 1}` : '';
    for (const r of await runWorkload(env, w, o, payloadBytes)) add(cluster === '' || r.skipped ? r : { ...r, note: r.note ? `${cluster}; ${r.note}` : cluster });
  } finally {
    doing(`${system} ${w}`, 'cleaning up');
    await unregisterBenchDevices(env, o).catch((e: unknown) => o.log(`   clean-up failed: ${e instanceof Error ? e.message : String(e)}`));
    await env.stop();
  }
}

/** What the bench does now, e.g. "hushwire chat (measuring)", for an interrupt's line. */
function doing(what: string, phase: string): void {
  setActivity(`${what} (${phase})`);
}

/** "[hushwire chat]" → "hushwire chat". */
function bare(label: string): string {
  return label.replace(/^\[|\]$/g, '');
}

function measureEnvelopeBytes(): number {
  const [[a], [b]] = makeDevices([1, 1], true) as [[HwDevice], [HwDevice]];
  const spec = (idx: number, hw: HwDevice) => ({ idx, url: '', name: '', groups: [], hw });
  return envelopeBytes(spec(0, a), spec(1, b));
}

/** A row for a workload that did not run: for a documented reason (the peers store
 *  nothing for a backlog, a binary not installed), or, with `failure`, because
 *  something failed (a server that did not start, a refused registration, connects
 *  that failed): only those count against the run (runFailure). */
export function skipped(system: SystemName, workload: string, reason: string, failure = false): RunResult {
  return {
    system, workload, delivered_per_s: null, p50_ms: null, p99_ms: null, p999_ms: null,
    server_cpu_us_per_msg: null, nats_cpu_us_per_msg: null, lost: null, duplicated: null, skipped: reason,
    ...(failure ? { error: true as const } : {}),
  };
}

/** A row that ran and got nothing through counts as failed too: no delivery (chat,
 *  fanout, backlog) or no device back (storm). */
export function rowFailed(r: RunResult): boolean {
  if (r.skipped !== undefined) return r.error === true;
  return r.delivered === 0 || (r.workload === 'storm' && r.devices === 0);
}

/** Why the run as a whole failed, or null: every row failed or was skipped because of
 *  a failure. Rows skipped for documented reasons (backlog on the peers, a peer that
 *  is not installed) are left out of the count. */
export function runFailure(rows: readonly RunResult[]): string | null {
  const counted = rows.filter((r) => r.skipped === undefined || r.error === true);
  if (counted.length === 0 || !counted.every(rowFailed)) return null;
  const first = counted[0]!;
  const why = first.skipped ?? 'nothing delivered';
  return `every run failed (${counted.length} of ${counted.length}${rows.length > counted.length ? `; ${rows.length - counted.length} skipped as documented` : ''}); first: ${first.system} ${first.workload}: ${why}`;
}

/** The row (and the log line) for a variant that failed with `e`. */
function failedRow(env: SystemEnv, variant: string, e: unknown, o: BenchOptions): RunResult {
  const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  o.log(`   ${env.system} ${variant}: failed: ${msg}`);
  return skipped(env.system, variant, `failed: ${msg}`, true);
}

async function runWorkload(env: SystemEnv, w: WorkloadName, o: BenchOptions, payloadBytes: number): Promise<RunResult[]> {
  // Rows are kept as each finishes: a variant that fails (fanout-10 refused by the
  // gateway's device limit) must not take the finished ones (fanout-1, fanout-3) with
  // it, and the variants after it still run.
  const out: RunResult[] = [];
  const attempt = async (variant: string, run: () => Promise<void>): Promise<void> => {
    try {
      await run();
    } catch (e) {
      out.push(failedRow(env, variant, e, o));
    }
  };
  switch (w) {
    case 'chat':
      await attempt(w, () => messaging(env, 'chat', o.pairs, 1, true, o, payloadBytes, out));
      break;
    case 'fanout':
      for (const k of o.fanout) {
        if (interrupted() !== null) break;
        // About as many handsets as chat uses, whatever k is.
        const groups = Math.max(2, Math.floor((2 * o.pairs) / (k + 1)));
        await attempt(`fanout-${k}`, () => messaging(env, `fanout-${k}`, groups, k, false, o, payloadBytes, out));
      }
      break;
    case 'backlog':
      await attempt(w, async () => { out.push(await backlog(env, o, payloadBytes)); });
      break;
    case 'storm':
      await attempt(w, async () => { out.push(await storm(env, o)); });
      break;
    case 'idle':
      await attempt(w, async () => { out.push(await idle(env, o)); });
      break;
  }
  return out;
}

// ---- setup helpers ----

/** The devices the bench registered on running gateways during one workload: those the
 *  gateway answered `registered` for, and their clean-up (run once, by the end of the
 *  workload or by an interrupt, whichever comes first). */
interface BenchDevices {
  /** The gateways registrations and opt-outs are spread over. */
  urls: readonly string[];
  /** Them, for the log lines: the URL, or "N gateways (URL, URL)". */
  where: string;
  registered: HwDevice[];
  /** Registrations sent and not answered yet: the gateway may have made them. */
  pending: number;
  /** Registrations whose request reached the gateway and got no answer by their
   *  deadline: the gateway may have made them (optOutUnanswered cleans them up). */
  unanswered: HwDevice[];
  /** Registrations still running; aborted by the clean-up. */
  registering: Promise<void>;
  stopRegistering: AbortController;
  /** The clean-up's counts as they change, once it started (with those of the
   *  unanswered registrations once done). */
  result: (UnregisterResult & { unanswered?: UnansweredResult }) | null;
  cleanup: Promise<UnregisterResult | null> | null;
  stopCleanup: AbortController;
  /** Removes the interrupt task (bench/interrupt.ts). */
  untask: () => void;
}

const registeredOn = new WeakMap<SystemEnv, BenchDevices>();

/** Running gateways: the workload's devices, and an interrupt task that opts those
 *  registered so far out again when a signal ends the bench (process.exit would skip
 *  the workload's own clean-up). */
function benchDevices(env: SystemEnv, o: BenchOptions): BenchDevices {
  const had = registeredOn.get(env);
  if (had !== undefined) return had;
  const bd: BenchDevices = {
    urls: env.urls, where: env.urls.length === 1 ? env.urls[0]! : `${env.urls.length} gateways (${env.urls.join(', ')})`, registered: [], pending: 0, unanswered: [], registering: Promise.resolve(), stopRegistering: new AbortController(),
    result: null, cleanup: null, stopCleanup: new AbortController(), untask: () => undefined,
  };
  const task: InterruptTask = {
    run: async (deadline, log) => {
      bd.stopRegistering.abort();
      // Registrations in flight finish (each has its own 20 s deadline), but the opt-out
      // must keep most of the task's time: wait for them a quarter of it at most. One
      // that completes later is still recorded and opted out if the clean-up has not
      // passed it; one whose answer never came is registered again to learn its route
      // and opted out (cleanUpDevices); with a second signal, counted as possibly left.
      const wait = Math.max(0, Math.min(5_000, (deadline - Date.now()) / 4));
      let waited: NodeJS.Timeout | undefined;
      await Promise.race([bd.registering, new Promise<void>((r) => { waited = setTimeout(r, wait); })]);
      clearTimeout(waited);
      if (o.keepDevices) return keptText(bd);
      if (bd.registered.length === 0 && bd.unanswered.length === 0) return '';
      log(`   opting out the ${fmtInt(bd.registered.length)} bench devices registered on ${bd.where} so far`);
      const t0 = Date.now();
      const ticker = setInterval(() => {
        const r = bd.result;
        if (r !== null) log(`   unregistering: ${fmtInt(r.unregistered + r.gone + r.failed)} of ${fmtInt(bd.registered.length)} done (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      }, 1000);
      try {
        const r = await cleanUpDevices(bd);
        return r === null ? '' : unregisteredText(r);
      } finally {
        clearInterval(ticker);
      }
    },
    abandon: () => {
      bd.stopCleanup.abort();
      if (o.keepDevices) return keptText(bd);
      const left = bd.registered.length - (bd.result?.unregistered ?? 0) - (bd.result?.gone ?? 0);
      // Exiting now, registrations in flight are not waited for: the gateway may have
      // made them (it did: 495 counted, 505 left on the gateway); nor are those that
      // went unanswered cleaned up.
      const unanswered = bd.result?.unanswered === undefined ? bd.unanswered.length : bd.result.unanswered.failed;
      const why = [bd.pending > 0 ? 'was under way' : '', unanswered > 0 ? 'went unanswered' : ''].filter(Boolean).join(' or ');
      const maybe = why !== '' ? ` (and up to ${fmtInt(bd.pending + unanswered)} more whose registration ${why})` : '';
      return left > 0 || maybe !== '' ? `${fmtInt(left)} bench devices left registered on ${bd.where}${maybe}` : '';
    },
  };
  bd.untask = onInterrupt(task);
  registeredOn.set(env, bd);
  return bd;
}

/** Stops further registrations, waits for those in flight, then opts out every device
 *  registered, and those whose registration went unanswered (the gateway may have made
 *  them after the bench's deadline: they were left in its directory); once per
 *  workload (the end of the workload and an interrupt share it). */
function cleanUpDevices(bd: BenchDevices): Promise<(UnregisterResult & { unanswered?: UnansweredResult }) | null> {
  bd.cleanup ??= (async () => {
    bd.stopRegistering.abort();
    await bd.registering;
    if (bd.registered.length === 0 && bd.unanswered.length === 0) return null;
    const r: UnregisterResult & { unanswered?: UnansweredResult } = { unregistered: 0, gone: 0, failed: 0, left: 0 };
    bd.result = r;
    if (bd.registered.length > 0) await unregisterDevices(bd.urls, bd.registered, { signal: bd.stopCleanup.signal, into: r });
    if (bd.unanswered.length > 0) r.unanswered = await optOutUnanswered(bd.urls, bd.unanswered, { signal: bd.stopCleanup.signal });
    return r;
  })();
  return bd.cleanup;
}

function unregisteredText(r: UnregisterResult & { unanswered?: UnansweredResult }): string {
  const u = r.unanswered;
  return `${fmtInt(r.unregistered)} bench devices unregistered${r.gone ? `, ${fmtInt(r.gone)} already gone` : ''}${r.failed ? `, ${fmtInt(r.failed)} failed (${r.firstError})` : ''}${r.left ? `, ${fmtInt(r.left)} not tried (deadline)` : ''}`
    + (u === undefined ? '' : `; ${fmtInt(u.optedOut + u.failed)} whose registration went unanswered (the gateway may have made them): ${fmtInt(u.optedOut)} registered again and opted out${u.failed ? `, ${fmtInt(u.failed)} could not be and may be left registered (${u.firstError})` : ''}`);
}

/** --keep-devices: what is left on the gateways (`where` them: for the interrupt's line). */
function keptText(bd: BenchDevices, where = true): string {
  if (bd.registered.length === 0 && bd.unanswered.length === 0) return '';
  return `${fmtInt(bd.registered.length)} bench devices left registered${where ? ` on ${bd.where}` : ''} (--keep-devices)${bd.unanswered.length > 0 ? `, and up to ${fmtInt(bd.unanswered.length)} more whose registration went unanswered` : ''}`;
}

async function prepareDevices(env: SystemEnv, layout: Layout, o: BenchOptions, label: string): Promise<void> {
  if (env.system !== 'hushwire') return;
  const t0 = Date.now();
  doing(bare(label), env.natsUrl !== null ? 'writing the directory' : 'registering devices');
  if (env.natsUrl !== null) {
    await seedDirectory(env.natsUrl, layout.hwRoutes, env.mailboxShards, env.natsReplicas);
  } else {
    // Each device is recorded once the gateway registered it: a run that fails (or is
    // interrupted) half-way cleans up exactly what it made.
    const bd = benchDevices(env, o);
    const p = registerDevices(bd.urls, layout.hwRoutes, {
      signal: bd.stopRegistering.signal, onRegistered: (d) => { bd.registered.push(d); }, onUnanswered: (d) => { bd.unanswered.push(d); },
      onStart: () => { bd.pending++; }, onSettled: () => { bd.pending--; },
    });
    bd.registering = p.then(() => undefined, () => undefined);
    // Registration runs at ~100 devices a second per gateway (number verification and
    // a VOPRF evaluation each): 10,000 storm devices take minutes, which without a word
    // read as a hung bench. A line per second, as the measured phases have.
    const total = layout.hwRoutes.reduce((n, g) => n + g.length, 0);
    const ticker = setInterval(() => {
      o.log(`   ${label} registering: ${fmtInt(bd.registered.length)} of ${fmtInt(total)} devices (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }, PROGRESS_MS);
    try {
      await p;
    } finally {
      clearInterval(ticker);
    }
    o.log(`   ${fmtInt(total)} devices registered through ${bd.where} (${fmtInt(Date.now() - t0)} ms)`);
    return;
  }
  o.log(`   ${fmtInt(layout.hwRoutes.reduce((n, g) => n + g.length, 0))} devices in the directory (${fmtInt(Date.now() - t0)} ms)`);
}

/** Running gateways: opts out every device this workload registered (unless
 *  --keep-devices), so a load test leaves no directory entries, keys or mail behind. */
async function unregisterBenchDevices(env: SystemEnv, o: BenchOptions): Promise<void> {
  const bd = registeredOn.get(env);
  // Interrupted: the interrupt task does it (and says so), bounded by its deadline.
  if (bd === undefined || interrupted() !== null) return;
  registeredOn.delete(env);
  bd.untask();
  if (o.keepDevices) {
    bd.stopRegistering.abort();
    await bd.registering;
    const kept = keptText(bd, false);
    if (kept !== '') o.log(`   ${kept}`);
    return;
  }
  const t0 = Date.now();
  const r = await cleanUpDevices(bd);
  if (r !== null) o.log(`   ${unregisteredText(r)} (${fmtInt(Date.now() - t0)} ms)`);
}

async function hwFor(env: SystemEnv, sizes: number[], realKeys: boolean): Promise<HwDevice[][] | null> {
  return env.system === 'hushwire' ? makeDevicesYielding(sizes, realKeys) : null;
}

async function startGroup(env: SystemEnv, layout: Layout, o: BenchOptions, label: string, resumeTickets = false): Promise<WorkerGroup> {
  await prepareDevices(env, layout, o, label);
  if (env.local) {
    // More handsets than one source address has ports for: spread over 127.0.0.x.
    const endpoints = layout.groups.flatMap((g) => g.endpoints);
    const sources = sourceAddresses(endpoints.length, machineLimits().ephemeralPorts);
    if (sources.length > 0) {
      endpoints.forEach((e, i) => { e.localAddress = sources[i % sources.length]; });
      o.log(`   ${endpoints.length.toLocaleString('en-US')} connections from ${sources.length} loopback source addresses (${sources[0]}-${sources[sources.length - 1]})`);
    }
  }
  doing(bare(label), 'starting the generator');
  return WorkerGroup.start(toWorkers(env.system, layout, o.workers, o.connectConcurrency, o.wsClient, resumeTickets && env.system === 'hushwire'));
}

async function connectAll(g: WorkerGroup, which: 'all' | 'senders' | 'receivers', label: string, o: BenchOptions): Promise<{ ok: number; ms: number; auth: AuthCounts }> {
  doing(bare(label), 'connecting');
  const r = await g.send({ t: 'connect', which }, 'connected', 120_000);
  const ok = r.reduce((n, x) => n + x.ok, 0);
  const failed = r.reduce((n, x) => n + x.failed, 0);
  const ms = Math.max(...r.map((x) => x.wallMs));
  if (failed > 0) {
    const first = r.find((x) => x.firstError)?.firstError ?? '';
    throw new Error(`${failed} of ${ok + failed} connections failed (${first})`);
  }
  const retried = r.reduce((n, x) => n + x.retried, 0);
  const auth = sumAuths(r.map((x) => x.auth));
  const tickets = auth.tickets > 0 || auth.ticketErrors > 0 ? `, ${fmtInt(auth.tickets)} resumption tickets got${auth.ticketErrors > 0 ? ` (${fmtInt(auth.ticketErrors)} requests refused: ${auth.ticketError})` : ''}` : '';
  o.log(`   ${label} ${fmtInt(ok)} connected in ${fmtInt(ms)} ms${tickets}${retried > 0 ? ` (${retried} refused by the server at the upgrade and retried after a backoff)` : ''}`);
  return { ok, ms, auth };
}

/** Progress lines while something runs: one a second. */
const PROGRESS_MS = 1000;

/** A progress line a second. With `window` (a measured run), lines outside the
 *  measured window say which phase they are in ("warm-up", "grace"): the seconds count
 *  from the start of the warm-up, and the rates of those lines are not the result's. */
function progressTicker(g: WorkerGroup, label: string, o: BenchOptions, t0: number, window?: { from: number; until: number }): () => void {
  let last = { sent: 0, delivered: 0 };
  let lastT = Date.now();
  const timer = setInterval(() => {
    const p = g.progress();
    const now = Date.now();
    const rate = ((p.delivered - last.delivered) * 1000) / Math.max(1, now - lastT);
    const phase = window === undefined ? '' : now < window.from ? ' warm-up' : now >= window.until ? ' grace' : '';
    o.log(`   ${label} ${((now - t0) / 1000).toFixed(1)}s${phase}  sent ${fmtInt(p.sent)}  delivered ${fmtInt(p.delivered)}  ${fmtInt(rate)}/s`);
    last = p;
    lastT = now;
  }, PROGRESS_MS);
  return () => clearInterval(timer);
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function at(wallMs: number, fn: () => void): NodeJS.Timeout {
  return setTimeout(fn, Math.max(0, wallMs - Date.now()));
}

interface CpuWindow {
  server: number | null;
  nats: number | null;
  self: number | null;
  /** Running gateways: the rise of each /metrics URL's CPU (bench/metrics-check.ts). */
  byUrl: Map<string, number> | null;
}

interface CpuReading {
  server: number | null;
  nats: number | null;
  /** Running gateways: each /metrics URL's CPU µs at this reading. */
  byUrl: ReadonlyMap<string, number> | null;
}

/** CPU µs of the system's servers and of nats-server so far (null: not readable). */
async function serverCpu(env: SystemEnv): Promise<CpuReading> {
  const [server, nats] = await Promise.all([env.server?.cpuMicros() ?? null, env.nats?.cpuMicros() ?? null]);
  return { server, nats, byUrl: server === null ? null : env.server?.cpuMicrosByUrl?.() ?? null };
}

/** Says once per run why a server's CPU or memory could not be read, when a probe
 *  that was meant to read it (a running gateway's /metrics) failed. */
function reportProbeProblem(env: SystemEnv, o: BenchOptions, label: string, value: number | null): void {
  if (value !== null || env.server === null) return;
  const why = env.server.problem();
  if (why !== null) o.log(`   ${label} server CPU/memory not measured: ${why}`);
}

/** CPU µs of the server, nats and generator processes between two wall-clock times. */
function cpuBetween(env: SystemEnv, from: number, until: number): Promise<CpuWindow> {
  const read = async (): Promise<CpuReading & { self: number | null }> => ({ ...(await serverCpu(env)), self: cpuMicros(process.pid) });
  return new Promise((resolve) => {
    let a: Promise<CpuReading & { self: number | null }> | null = null;
    at(from, () => { a = read(); });
    at(until, () => {
      void (async () => {
        const b = await read();
        const first = a === null ? null : await a;
        const d = (x: number | null, y: number | null): number | null => (x === null || y === null ? null : y - x);
        resolve(first === null ? { server: null, nats: null, self: null, byUrl: null }
          : { server: d(first.server, b.server), nats: d(first.nats, b.nats), self: d(first.self, b.self), byUrl: cpuRise(first.byUrl, b.byUrl) });
      })();
    });
  });
}

function round(n: number | null, digits = 2): number | null {
  if (n === null || !Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

// ---- chat and fanout ----

/** Runs chat or one fanout variant; pushes each row into `out` as it finishes (with
 *  --rate half, a list or a sweep, the max-rate row survives a failure of a fixed-rate
 *  one, and each fixed-rate row a failure of the next). */
async function messaging(
  env: SystemEnv, workload: string, groups: number, k: number, mutual: boolean, o: BenchOptions, payloadBytes: number, out: RunResult[],
): Promise<void> {
  const label = `[${env.system} ${workload}]`;
  const sizes: number[] = [];
  for (let g = 0; g < groups; g++) sizes.push(1, k);
  const layout = senderGroups(env.urls, groups, k, mutual, await hwFor(env, sizes, true));
  const senders = layout.groups.reduce((n, g) => n + g.senders.length, 0);
  const g = await startGroup(env, layout, o, label);
  try {
    await connectAll(g, 'all', label, o);
    // Just-authenticated devices still have set-up in flight (mailbox reads, consumer
    // creation on JetStream): let it finish before anything is sent.
    await sleep(SETTLE_MS);
    const plan = ratePlan(o.rate);
    // The lists and the sweep say each rate as it starts; `half` and a lone rate keep
    // their output as it was.
    const announce = o.rate !== 'half' && !plan.plainName;
    let maxMsgs: number | null = null;
    if (plan.maxRun) {
      const r = await measureRun(env, g, workload, { mode: 'window', window: o.window, ratePerSender: 0 }, o, payloadBytes, label, senders);
      out.push(r);
      // The max-rate run's messages/s (a fanout message is k deliveries).
      if (r.delivered_per_s) maxMsgs = r.delivered_per_s / k;
      else if (announce && plan.fixed.some((e) => 'pct' in e)) o.log(`   ${label} no rate relative to the max: the max-rate run delivered nothing`);
    }
    const rates = resolveRates(plan, maxMsgs);
    for (const [i, rate] of rates.entries()) {
      if (interrupted() !== null) break;
      const name = plan.plainName ? workload : `${workload}@${rate.label}`;
      if (announce) o.log(`   ${label} fixed rate ${rate.label}${'pct' in rate.entry ? ` of the max (${fmtInt(rate.msgs)} msg/s)` : ''}: ${i + 1} of ${rates.length}${plan.sweep ? ' at most' : ''}`);
      let row: RunResult;
      try {
        row = await measureRun(env, g, name, { mode: 'rate', window: 0, ratePerSender: rate.msgs / senders }, o, payloadBytes, label, senders);
      } catch (e) {
        // A lone --rate N: its failure is the variant's, as before.
        if (plan.plainName) throw e;
        // Its own failed row: under the variant's name it would read as the max-rate
        // run (which finished, and whose row stays).
        row = failedRow(env, name, e, o);
      }
      // A sweep is bounded: the rates above a saturated one would only measure the queue.
      const stop = sweepStop(plan, row, rates.length - i - 1);
      if (stop !== null) {
        if (row.skipped === undefined) {
          // The timeline stays last (its arrays are long).
          const { timeline, ...rest } = row;
          row = { ...rest, note: row.note ? `${row.note}; ${stop}` : stop, ...(timeline !== undefined ? { timeline } : {}) };
        }
        o.log(`   ${label} ${stop}`);
        out.push(row);
        break;
      }
      out.push(row);
    }
  } finally {
    await closeGenerator(g, o);
  }
}

/** Ends a workload's generator threads; one that will not end is said, not waited for. */
async function closeGenerator(g: WorkerGroup, o: BenchOptions): Promise<void> {
  if (!(await g.close())) o.log(`   generator threads did not end within ${TERMINATE_MS / 1000} s of terminate(); left to the process exit`);
}

async function measureRun(
  env: SystemEnv, g: WorkerGroup, workload: string, m: Pick<RunParams, 'mode' | 'window' | 'ratePerSender'>,
  o: BenchOptions, payloadBytes: number, label: string, senders: number,
): Promise<RunResult> {
  const startAt = Date.now() + 300;
  const measureFrom = startAt + o.warmupS * 1000;
  const measureUntil = measureFrom + o.durationS * 1000;
  const sliceMs = effectiveSliceMs(measureUntil - measureFrom, o.sliceMs ?? DEFAULT_SLICE_MS);
  const params: RunParams = { ...m, startAt, measureFrom, measureUntil, graceMs: o.graceS * 1000, payloadBytes, sliceMs };
  g.resetProgress();
  doing(`${env.system} ${workload}`, 'measuring');
  const stopTicker = progressTicker(g, `${label}${m.mode === 'rate' ? ' (rate)' : ''}`, o, startAt, { from: measureFrom, until: measureUntil });
  const cpu = cpuBetween(env, measureFrom, measureUntil);
  const profiled = profileBetween(env, o, label, measureFrom, measureUntil);
  let all: RunStats[];
  try {
    all = (await g.send({ t: 'run', params }, 'ran', measureUntil - Date.now() + params.graceMs + 60_000)).map((x) => x.stats);
  } finally {
    stopTicker();
  }
  const c = await cpu;
  reportProbeProblem(env, o, label, c.server);
  const sum = (f: (s: RunStats) => number): number => all.reduce((n, s) => n + f(s), 0);
  const delivered = sum((s) => s.deliveredInWindow);
  const phaseName = `${workload}${m.mode === 'rate' ? '-rate' : ''}`;
  const profiles = await profiled;
  const allocPerMsg = recordHeapSample(env, o, label, phaseName, profiles?.heap ?? null, delivered, 'delivered message');
  recordCpuProfile(env, o, label, phaseName, profiles?.cpu ?? null);
  const merged = (pick: (s: RunStats) => string): hdr.Histogram => {
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
    for (const s of all) h.add(hdr.decodeFromCompressedBase64(pick(s), 32, false));
    return h;
  };
  const hist = merged((s) => s.histogram);
  const q = (p: number): number | null => (hist.totalCount === 0 ? null : round(hist.getValueAtPercentile(p) / 1000, 3));
  const lag = m.mode === 'rate' ? merged((s) => s.sendLagHistogram) : null;
  const lagP99 = lag === null || lag.totalCount === 0 ? null : round(lag.getValueAtPercentile(99) / 1000, 3);
  const timeline = mergeTimeline(sliceMs, all.map((s) => s.sliceHistograms), m.mode === 'rate' ? all.map((s) => s.sliceLagHistograms ?? []) : null);
  const seconds = o.durationS;
  const perMsg = (us: number | null): number | null => (us === null || delivered === 0 ? null : round(us / delivered, 1));
  const maxElu = Math.max(...all.map((s) => s.elu));
  const genPct = c.self === null ? null : round((c.self / (seconds * 1_000_000)) * 100, 0);
  const notes: string[] = [];
  const failed = sum((s) => s.failed);
  const unconfirmed = sum((s) => s.unconfirmed);
  const overflow = sum((s) => s.overflow);
  if (failed > 0) {
    const by: Record<string, number> = {};
    for (const s of all) for (const [code, n] of Object.entries(s.refused)) by[code] = (by[code] ?? 0) + n;
    notes.push(refusedNote(failed, by));
  }
  if (unconfirmed > 0) notes.push(`${fmtInt(unconfirmed)} unconfirmed`);
  const closedBy: Record<string, number> = {};
  for (const s of all) for (const [code, n] of Object.entries(s.closed ?? {})) closedBy[code] = (closedBy[code] ?? 0) + n;
  const closedNote = connectionsClosedNote(closedBy);
  if (closedNote !== null) notes.push(closedNote);
  if (overflow > 0) notes.push(`${fmtInt(overflow)} rate slots skipped (sender backlog full)`);
  const source = metricsNote(env, c.server);
  if (source !== null) notes.push(source);
  const idleUrl = idleMetricsNote(c.byUrl, delivered, 'delivery');
  if (idleUrl !== null) notes.push(idleUrl);
  const r: RunResult = {
    system: env.system,
    workload,
    delivered_per_s: round(delivered / seconds, 0),
    p50_ms: q(50),
    p99_ms: q(99),
    p999_ms: q(99.9),
    server_cpu_us_per_msg: perMsg(c.server),
    nats_cpu_us_per_msg: perMsg(c.nats),
    lost: sum((s) => s.lost),
    duplicated: sum((s) => s.duplicated),
    reordered: sum((s) => s.reordered),
    failed,
    mode: m.mode,
    rate: m.mode === 'rate' ? round(m.ratePerSender * senders, 0) : null,
    delivered,
    generator_cpu_pct: genPct,
    generator_cpu_us_per_msg: perMsg(c.self),
    generator_elu: round(maxElu, 2),
    generator_bound: maxElu > GENERATOR_BOUND_ELU,
    ...(m.mode === 'rate' ? { send_lag_p99_ms: lagP99 } : {}),
    ...(allocPerMsg !== null ? { server_alloc_bytes_per_msg: allocPerMsg } : {}),
    ...(notes.filter(Boolean).length > 0 ? { note: notes.filter(Boolean).join('; ') } : {}),
    // last: its arrays are long
    timeline,
  };
  return r;
}

/** Against running gateways (CPU from their /metrics): the row says where its gateway
 *  CPU came from, or why it is empty. Why goes with the row too: the progress line on
 *  stderr is gone from the table on stdout, the JSON and a --report page. null for
 *  servers read from /proc. */
function metricsNote(env: SystemEnv, server: number | null): string | null {
  if (env.server?.source !== 'metrics') return null;
  if (server !== null) return 'gateway CPU from their /metrics';
  const why = env.server.problem();
  return why === null ? null : `gateway CPU not measured: ${why}`;
}

/** "1,234 sends refused (RATE_LIMITED: ...)": the count, the reasons (with their counts
 *  when more than one), and for RATE_LIMITED the gateway limits a load tester raises
 *  (the local gateways run with them lifted; running ones keep theirs). */
export function refusedNote(failed: number, by: Readonly<Record<string, number>>): string {
  const codes = Object.entries(by).sort((a, b) => b[1] - a[1]);
  const reasons = codes.map(([code, n]) => `${codes.length > 1 ? `${code} ${fmtInt(n)}` : code}${code === 'RATE_LIMITED'
    ? ': raise the gateways\' send rate limit, --send-rate and --send-burst (or --recipient-budget-bytes, per recipient)'
    : code === 'UNAVAILABLE'
      ? ': the gateways were over capacity (more sends in flight than they take: docs/OPERATIONS.md, Limits) or their NATS was unavailable'
      : ''}`);
  return `${fmtInt(failed)} sends refused${reasons.length > 0 ? ` (${reasons.join('; ')})` : ''}`;
}

/** "3 connections closed by the gateways during the run (4008 FLOOD 2, 1009 1)": their
 *  handsets sent nothing more, so a run with any is not a measure of the system's
 *  capacity. null when none. */
export function connectionsClosedNote(by: Readonly<Record<string, number>>): string | null {
  const codes = Object.entries(by).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  if (codes.length === 0) return null;
  const total = codes.reduce((n, [, k]) => n + k, 0);
  const parts = codes.map(([code, n]) => {
    const name = CLOSE_NAMES.get(Number(code));
    return `${code}${name !== undefined ? ` ${name}` : ''} ${fmtInt(n)}`;
  });
  return `${fmtInt(total)} connection${total === 1 ? '' : 's'} closed by the server during the run (${parts.join(', ')})`;
}

/** The gateway's close codes by number (relay/errors.ts, docs/PROTOCOL.md), and 1006:
 *  gone without a close frame (a peer's crash, a reset). */
const CLOSE_NAMES = new Map<number, string>([[1006, 'ABNORMAL'], ...Object.entries(CloseCode).map(([name, code]) => [code, name] as [number, string])]);

// ---- backlog ----

async function backlog(env: SystemEnv, o: BenchOptions, payloadBytes: number): Promise<RunResult> {
  if (env.system === 'nats-ws') return skipped(env.system, 'backlog', 'core NATS pub/sub stores nothing for offline subscribers');
  if (env.system === 'socketio') return skipped(env.system, 'backlog', 'the Socket.IO relay stores nothing for offline clients');
  if (env.system === 'uws-relay') return skipped(env.system, 'backlog', 'the bare uWS relay stores nothing for offline clients');
  if (env.system === 'mosquitto') return skipped(env.system, 'backlog', 'not implemented for Mosquitto (needs persistent sessions)');
  const label = `[${env.system} backlog]`;
  const n = o.backlogDevices;
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) sizes.push(1, 1);
  const layout = senderGroups(env.urls, n, 1, false, await hwFor(env, sizes, true));
  const g = await startGroup(env, layout, o, label);
  try {
    await connectAll(g, 'senders', label, o);
    if (o.backlogWarmup > 0) {
      // Unmeasured: the same shape with fewer messages, drained and erased, then the
      // receivers go offline again. Without it the measured drain is the gateways' first,
      // whose one-off cost (~230 ms of gateway CPU here: V8 compiling the drain path on
      // first use) dominates a drain of ~0.3 s (docs/BENCHMARKS.md).
      const w0 = Date.now();
      doing(bare(label), 'warm-up round');
      await g.send({ t: 'backlog', perSender: o.backlogWarmup, window: o.window, payloadBytes }, 'backlogged', 180_000);
      await g.send({ t: 'drain', timeoutMs: 60_000 }, 'drained', 90_000);
      await waitForEmptyMailboxes(env, 60_000);
      await g.send({ t: 'disconnect', which: 'receivers' }, 'disconnected', 30_000);
      g.resetProgress();
      o.log(`   ${label} warm-up round (${o.backlogWarmup} per device) done in ${((Date.now() - w0) / 1000).toFixed(1)} s`);
    }
    const t0 = Date.now();
    doing(bare(label), 'filling the mailboxes');
    const stopTicker = progressTicker(g, `${label} filling`, o, t0);
    let b;
    try {
      b = await g.send({ t: 'backlog', perSender: o.backlogPerDevice, window: o.window, payloadBytes }, 'backlogged', 180_000);
    } finally {
      stopTicker();
    }
    const stored = b.reduce((x, y) => x + y.stored, 0);
    const failed = b.reduce((x, y) => x + y.failed, 0);
    o.log(`   ${label} ${fmtInt(stored)} messages stored in ${((Date.now() - t0) / 1000).toFixed(1)} s (${fmtInt(failed)} refused${failed ? `: ${b.find((x) => x.firstError)?.firstError}` : ''})`);
    const before = await serverCpu(env);
    g.resetProgress();
    doing(bare(label), 'draining');
    const stop2 = progressTicker(g, `${label} draining`, o, Date.now());
    let d;
    let heap: HeapProfile[] | null = null;
    try {
      const sampled = await profileDuring(env, o, label, () => g.send({ t: 'drain', timeoutMs: 60_000 }, 'drained', 90_000));
      d = sampled.value;
      heap = sampled.profiles?.heap ?? null;
      recordCpuProfile(env, o, label, 'backlog-drain', sampled.profiles?.cpu ?? null);
    } finally {
      stop2();
    }
    const after = await serverCpu(env);
    reportProbeProblem(env, o, label, after.server);
    // Delivered mail is erased behind the drain (relay/session.ts): the run is not over
    // for the servers until the mailboxes are empty. Wait for that (bounded) and report
    // the CPU including that tail too, so the drain rate does not hide the erase cost.
    const tail = await waitForEmptyMailboxes(env, 60_000);
    const settled = await serverCpu(env);
    const received = d.reduce((x, y) => x + y.received, 0);
    const expected = d.reduce((x, y) => x + y.expected, 0);
    const allocPerMsg = recordHeapSample(env, o, label, 'backlog-drain', heap, received, 'drained message');
    const secs = (Math.max(...d.map((x) => x.lastAt)) - Math.min(...d.map((x) => x.startedAt))) / 1000;
    const perMsg = (a: number | null, b2: number | null): number | null => (a === null || b2 === null || received === 0 ? null : round((b2 - a) / received, 1));
    const cpuSource = [metricsNote(env, before.server === null ? null : after.server), idleMetricsNote(cpuRise(before.byUrl, after.byUrl), received, 'delivery')]
      .filter((x) => x !== null).join('; ') || null;
    if (tail !== null) {
      o.log(`   ${label} mailboxes empty ${tail.seconds.toFixed(2)} s after the last delivery${tail.left > 0 ? ` (${tail.left} still stored)` : ''}; CPU including that: gateways ${perMsg(before.server, settled.server) ?? '-'} µs, nats-server ${perMsg(before.nats, settled.nats) ?? '-'} µs per message`);
    }
    return {
      system: env.system, workload: 'backlog',
      delivered_per_s: round(received / Math.max(secs, 0.001), 0),
      p50_ms: null, p99_ms: null, p999_ms: null,
      server_cpu_us_per_msg: perMsg(before.server, after.server),
      nats_cpu_us_per_msg: perMsg(before.nats, after.nats),
      lost: expected - received, duplicated: d.reduce((x, y) => x + y.duplicated, 0),
      failed, delivered: received,
      drain_s: round(secs, 3), drain_per_s: round(received / Math.max(secs, 0.001), 0),
      erase_tail_s: tail === null ? null : round(tail.seconds, 3),
      server_cpu_us_per_msg_incl_erase: tail === null ? null : perMsg(before.server, settled.server),
      nats_cpu_us_per_msg_incl_erase: tail === null ? null : perMsg(before.nats, settled.nats),
      warmup_per_device: o.backlogWarmup,
      ...(allocPerMsg !== null ? { server_alloc_bytes_per_msg: allocPerMsg } : {}),
      note: `${fmtInt(expected)} queued for ${n} offline devices, drained after all reconnected at once; ${o.backlogWarmup > 0 ? `after an unmeasured round of ${o.backlogWarmup} per device` : 'the gateways\' first drain (no warm-up round)'}${cpuSource === null ? '' : `; ${cpuSource}`}`,
    };
  } finally {
    await closeGenerator(g, o);
  }
}

/** Local setup only: polls the mailbox stream until it holds no message (the erases
 *  behind the drain are done) or `ms` passed. null when the bench cannot see the stream. */
async function waitForEmptyMailboxes(env: SystemEnv, ms: number): Promise<{ seconds: number; left: number } | null> {
  if (!env.local || env.natsUrl === null) return null;
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const t0 = Date.now();
  const nc = await connect({ servers: env.natsUrl, timeout: 5000 }).catch(() => null);
  if (nc === null) return null;
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    let left = -1;
    // Every mailbox stream: HW_MBOX, or its shards HW_MBOX_<n> (relay/bus/nats.ts). Each
    // is looked up by name: a clustered stream list leaves out a stream whose leader did
    // not answer in time, which would count its mail as erased.
    const names: string[] = [];
    for await (const name of jsm.streams.names()) if (/^HW_MBOX(_\d+)?$/.test(name)) names.push(name);
    while (Date.now() - t0 < ms) {
      left = 0;
      for (const name of names) left += (await jsm.streams.info(name)).state.messages;
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return { seconds: (Date.now() - t0) / 1000, left: Math.max(left, 0) };
  } catch {
    return null;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

// ---- storm ----

async function storm(env: SystemEnv, o: BenchOptions): Promise<RunResult> {
  const label = `[${env.system} storm]`;
  const n = o.devices;
  const layout = loneEndpoints(env.urls, n, await hwFor(env, Array.from({ length: n }, () => 1), false));
  const asked: StormAuth = o.stormAuth ?? 'ticket';
  const g = await startGroup(env, layout, o, label, asked === 'ticket');
  try {
    const first = await connectAll(g, 'all', label, o);
    await sleep(500);
    const { server: cpu0, nats: nats0, byUrl: byUrl0 } = await serverCpu(env);
    // The generator's own CPU (all its threads: dialling, TLS-free WebSocket handshakes,
    // auth signatures) competes for the same cores: reported so the storm's time can be
    // read against the CPU every party spent.
    const gen0 = process.cpuUsage();
    doing(bare(label), 'reconnect storm');
    const sampled = await profileDuring(env, o, label, () => g.send({ t: 'storm', timeoutMs: 60_000 }, 'stormed', 90_000));
    const r = sampled.value;
    recordCpuProfile(env, o, label, 'storm', sampled.profiles?.cpu ?? null);
    const gen = process.cpuUsage(gen0);
    const { server: cpu1, nats: nats1, byUrl: byUrl1 } = await serverCpu(env);
    reportProbeProblem(env, o, label, cpu1);
    const ok = r.reduce((x, y) => x + y.ok, 0);
    const cpuSource = [metricsNote(env, cpu0 === null ? null : cpu1), idleMetricsNote(cpuRise(byUrl0, byUrl1), ok, 'reconnect')]
      .filter((x) => x !== null).join('; ') || null;
    const failed = r.reduce((x, y) => x + y.failed, 0);
    const droppedAt = Math.min(...r.map((x) => x.droppedAt));
    const secs = (Math.max(...r.map((x) => x.lastAt)) - droppedAt) / 1000;
    // When each device was back, from the drop (all workers on one clock): the spread
    // says whether most were back early and a tail waited, or all came late together.
    const back = r.flatMap((x) => x.backAt.map((at) => (at - droppedAt) / 1000)).sort((a, b) => a - b);
    const backBy = (p: number): number | null => round(nearestRank(back, p), 3);
    const retried = r.reduce((x, y) => x + y.retried, 0);
    const allocPerReconnect = recordHeapSample(env, o, label, 'storm', sampled.profiles?.heap ?? null, ok, 'reconnect');
    const auth = env.system === 'hushwire' ? stormAuthReport(asked, first.auth, sumAuths(r.map((x) => x.auth))) : null;
    o.log(`   ${label} ${fmtInt(ok)} reconnected in ${secs.toFixed(2)} s${failed ? ` (${failed} failed: ${r.find((x) => x.firstError)?.firstError})` : ''}${auth === null ? '' : `; ${auth.note}`}`);
    return {
      system: env.system, workload: 'storm',
      delivered_per_s: null, p50_ms: null, p99_ms: null, p999_ms: null,
      server_cpu_us_per_msg: null, nats_cpu_us_per_msg: null, lost: null, duplicated: null,
      devices: ok, reconnect_s: round(secs, 3), back_p50_s: backBy(50), back_p99_s: backBy(99), back_p999_s: backBy(99.9), failed,
      refused_retried: retried,
      ...(auth !== null ? { storm_auth: auth.used, resumed: auth.resumed, resume_fallbacks: auth.fallbacks } : {}),
      ...(allocPerReconnect !== null ? { server_alloc_bytes_per_reconnect: allocPerReconnect } : {}),
      note: `${fmtInt(n)} devices dropped at once${auth === null ? '' : `; ${auth.note}`}${retried > 0 ? ` (${fmtInt(retried)} reconnects refused at the upgrade, 429/503, and retried with the SDK's backoff)` : ''}; first connect took ${(first.ms / 1000).toFixed(2)} s${cpu0 !== null && cpu1 !== null ? `; server CPU ${fmtInt((cpu1 - cpu0) / Math.max(ok, 1))} µs per reconnect` : ''}${nats0 !== null && nats1 !== null ? `, nats-server ${fmtInt((nats1 - nats0) / Math.max(ok, 1))} µs` : ''}, generator ${fmtInt((gen.user + gen.system) / Math.max(ok, 1))} µs${cpuSource === null ? '' : `; ${cpuSource}`}`,
    };
  } finally {
    await closeGenerator(g, o);
  }
}

/** How a Hushwire storm's reconnects authenticated, from what the handsets counted at
 *  the first connect (`setup`: tickets got) and in the storm: the auth used, the
 *  reconnects that resumed and those whose ticket was refused (then signed), and the
 *  row's words for it. */
export function stormAuthReport(asked: StormAuth, setup: AuthCounts, storm: AuthCounts): { used: StormAuth; resumed: number; fallbacks: number; note: string } {
  if (asked === 'signature') return { used: 'signature', resumed: 0, fallbacks: 0, note: 'auth: signature (--storm-auth signature)' };
  if (setup.tickets === 0) {
    const why = setup.noResumeKey > 0
      ? 'the gateways\' challenge carries no resume_key: they issue no resumption tickets'
      : setup.ticketErrors > 0 ? `every ticket request was refused: ${setup.ticketError}` : 'no handset got a resumption ticket';
    return { used: 'signature', resumed: storm.resumed, fallbacks: storm.refused, note: `auth: signature (${why})` };
  }
  const without = Math.max(0, storm.signed - storm.refused);
  const parts = [`${fmtInt(storm.resumed)} resumed`, `${fmtInt(storm.refused)} fell back to signing`];
  if (without > 0) {
    const whys = [
      setup.ticketErrors > 0 ? `${fmtInt(setup.ticketErrors)} ticket requests refused at set-up: ${setup.ticketError}` : '',
      setup.noResumeKey > 0 || storm.noResumeKey > 0 ? 'a challenge without resume_key' : '',
    ].filter(Boolean);
    parts.push(`${fmtInt(without)} signed with no ticket to use${whys.length > 0 ? ` (${whys.join('; ')})` : ''}`);
  }
  return { used: 'ticket', resumed: storm.resumed, fallbacks: storm.refused, note: `auth: ticket (${parts.join(', ')})` };
}

// ---- --heap-sample and --cpu-prof: profiles of each measured phase ----

/** What the local gateways are profiled for over each measured phase, or null. */
function profiling(env: SystemEnv, o: BenchOptions): { heapIntervalBytes?: number; cpuIntervalUs?: number } | null {
  if (env.system !== 'hushwire' || env.inspectorUrls.length === 0 || (o.heapSample === undefined && o.cpuProf === undefined)) return null;
  return {
    ...(o.heapSample !== undefined ? { heapIntervalBytes: SAMPLING_INTERVAL_BYTES } : {}),
    ...(o.cpuProf !== undefined ? { cpuIntervalUs: CPU_INTERVAL_US } : {}),
  };
}

function startProfiler(env: SystemEnv, o: BenchOptions, label: string): Promise<PhaseProfiler | null> {
  const what = profiling(env, o);
  if (what === null) return Promise.resolve(null);
  return PhaseProfiler.start(env.inspectorUrls, what).catch((e: unknown) => {
    o.log(`   ${label} profiling not started: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  });
}

function stopProfiler(p: PhaseProfiler | null, o: BenchOptions, label: string): Promise<PhaseProfiles | null> {
  if (p === null) return Promise.resolve(null);
  return p.stop().catch((e: unknown) => {
    o.log(`   ${label} profiling failed: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  });
}

/** The local gateways profiled from `from` to `until` (wall ms: a measured window); null
 *  without --heap-sample and --cpu-prof or when the inspectors could not be used (said
 *  on stderr). */
function profileBetween(env: SystemEnv, o: BenchOptions, label: string, from: number, until: number): Promise<PhaseProfiles | null> {
  if (profiling(env, o) === null) return Promise.resolve(null);
  return new Promise((resolve) => {
    let profiler: Promise<PhaseProfiler | null> = Promise.resolve(null);
    at(from, () => { profiler = startProfiler(env, o, label); });
    at(until, () => { void profiler.then((p) => stopProfiler(p, o, label)).then(resolve); });
  });
}

/** The local gateways profiled while `phase` runs (a drain, a storm). */
async function profileDuring<T>(env: SystemEnv, o: BenchOptions, label: string, phase: () => Promise<T>): Promise<{ value: T; profiles: PhaseProfiles | null }> {
  if (profiling(env, o) === null) return { value: await phase(), profiles: null };
  const profiler = await startProfiler(env, o, label);
  let value: T;
  try {
    value = await phase();
  } catch (e) {
    await profiler?.stop().catch(() => null);
    throw e;
  }
  return { value, profiles: await stopProfiler(profiler, o, label) };
}

/** Writes the CPU profiles (one .cpuprofile per gateway, positions at their .ts lines)
 *  and their summary into the --cpu-prof directory, and logs the largest categories. */
function recordCpuProfile(env: SystemEnv, o: BenchOptions, label: string, name: string, profiles: CpuProfile[] | null): void {
  if (profiles === null || o.cpuProf === undefined) return;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const base = join(o.cpuProf, `${env.system}-${name}-${stamp}`);
  mkdirSync(o.cpuProf, { recursive: true });
  profiles.forEach((p, i) => writeFileSync(`${base}-gw${i + 1}.cpuprofile`, JSON.stringify(p)));
  const root = join(new URL('..', import.meta.url).pathname);
  writeFileSync(`${base}-cpu-summary.txt`, profileText(profiles, root, 40) + '\n');
  const cats = categorise(summariseCpu(profiles, root)).filter(([c]) => c !== 'idle' && !c.startsWith('start-up'));
  const busy = cats.reduce((n, [, v]) => n + v, 0);
  o.log(`   ${label} CPU profile: ${fmtInt(busy)} ms busy over ${profiles.length} gateway${profiles.length === 1 ? '' : 's'}; ${cats.slice(0, 4).map(([c, v]) => `${c} ${((100 * v) / Math.max(busy, 1e-9)).toFixed(0)}%`).join(', ')}`);
  o.log(`   ${label} CPU profiles and summary: ${base}-*`);
}

/** Writes the profiles (one .heapprofile per gateway) and their summary into the
 *  --heap-sample directory, logs the largest allocation sites, and returns the bytes
 *  allocated per `unit` (all gateways together), or null. */
function recordHeapSample(env: SystemEnv, o: BenchOptions, label: string, name: string, profiles: HeapProfile[] | null, count: number, unit: string): number | null {
  if (profiles === null || o.heapSample === undefined) return null;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const base = join(o.heapSample, `${env.system}-${name}-${stamp}`);
  mkdirSync(o.heapSample, { recursive: true });
  profiles.forEach((p, i) => writeFileSync(`${base}-gw${i + 1}.heapprofile`, JSON.stringify(p)));
  const summary = summariseAllocations(profiles, join(new URL('..', import.meta.url).pathname));
  const per = { count, unit };
  writeFileSync(`${base}-summary.txt`, allocationText(summary, 60, per) + '\n');
  o.log(`   ${label} heap sampling: ${allocationText(summary, 6, per).split('\n\nby function:')[0]!.split('\n').join('\n   ')}`);
  o.log(`   ${label} profiles and summary: ${base}-*`);
  return count > 0 ? Math.round(summary.totalBytes / count) : null;
}

// ---- idle ----

async function idle(env: SystemEnv, o: BenchOptions): Promise<RunResult> {
  const label = `[${env.system} idle]`;
  const probe = env.server;
  if (probe === null) return skipped(env.system, 'idle', 'the server processes cannot be read (a running system without a metrics endpoint the bench knows): RSS unknown');
  const n = o.devices;
  const layout = loneEndpoints(env.urls, n, await hwFor(env, Array.from({ length: n }, () => 1), false));
  // Memory is read after a first fifth of the devices and again after the rest: the
  // slope between the two is the cost per device, without the one-off growth (heap
  // spaces, buffers, JIT) that the first connections cause.
  const first = Math.max(1, Math.floor(n / 5));
  layout.groups.forEach((g, i) => { if (i < first) g.senders = g.endpoints.map((e) => e.idx); });
  const g = await startGroup(env, layout, o, label);
  try {
    const rss = (): Promise<number | null> => probe.rssBytes();
    // Local gateways: the figures after a GC wait until V8's memory reducer has shrunk the
    // young generations of both of a gateway's heaps back to their smallest. It does so
    // 8-30 s after a full GC, at a time of its choosing, and the RSS falls by 15-35 MB
    // then: read before, a figure held memory that the next one no longer did (RSS
    // before any connection came out above RSS with 1,000; the RSS-after-GC slope
    // swung from -40 to +4 kB per device). bench/young-gen-preload.mjs says more.
    const unsettled: string[] = [];
    // A forced full GC first (it starts V8's memory reducer in the main thread), then the
    // wait; a second round when the first runs out (on a loaded machine, CI at load 10,
    // the first wait after start-up ran past 60 s and the next one took 22 s).
    const settle = async (at: string): Promise<void> => {
      if (env.inspectorUrls.length === 0) return;
      doing(bare(label), `${at}: waiting for V8 to shrink the gateways' young generations`);
      let y: Awaited<ReturnType<typeof awaitYoungGenerationsSettled>> = { settled: false, waitedMs: 0 };
      let waited = 0;
      for (let round = 0; round < SETTLE_ROUNDS && !y.settled && y.problem === undefined; round++) {
        await collectAndMeasureAll(env.inspectorUrls);
        y = await awaitYoungGenerationsSettled(env.inspectorUrls, SETTLE_ROUND_MS);
        waited += y.waitedMs;
      }
      doing(bare(label), `${at}: reading memory`);
      if (y.settled) {
        if (waited >= 1000) o.log(`   ${label} ${at}: young generations back at their smallest after ${(waited / 1000).toFixed(1)} s`);
        return;
      }
      unsettled.push(at);
      o.log(`   ${label} warning: ${at}, the young generations ${y.problem !== undefined ? `could not be read (${y.problem})` : `were not back at their smallest within ${(waited / 1000).toFixed(0)} s`}: the figures may hold memory V8 gives back later`);
    };
    // RSS as the process shows it, then (local gateways) the same after a forced full
    // GC and the young generations' shrinking: garbage and an unfilled young generation
    // no longer count. The baseline's RSS is read after the shrinking too (below).
    const measure = async (at: string, baseline = false): Promise<{ rss: number | null; gc: HeapFigures | null }> => {
      // The baseline: the wait first, then the settle time, in which V8 also unmaps the
      // pages the young generations gave back (read at once, RSS still held them).
      if (baseline) await settle(at);
      await sleep(IDLE_SETTLE_MS);
      const r = await rss();
      if (!baseline) await settle(at);
      return { rss: r, gc: await collectAndMeasureAll(env.inspectorUrls) };
    };
    // Debugging aid: heap snapshots of the first local gateway with a fifth and with all
    // of the devices, for bench/heap-diff.ts (what an idle device retains, by constructor).
    const snapshotDir = process.env.HW_BENCH_HEAP_SNAPSHOT_DIR;
    const snapshot = async (name: string): Promise<void> => {
      const url = env.inspectorUrls[0];
      if (snapshotDir === undefined || snapshotDir === '' || url === undefined) return;
      await writeHeapSnapshot(url, join(snapshotDir, `${name}.heapsnapshot`));
      o.log(`   ${label} heap snapshot ${name} written to ${snapshotDir}`);
    };
    // The figure before any connection is a baseline, not a slope end: read after a full
    // GC and the young generations' shrinking where the bench can see them (local
    // gateways), or it holds the gateways' start-up garbage (stream set-up, the
    // directory, JIT: ~20 MB each here) and start-up young generations (15-35 MB), which
    // later readings no longer do, and the per-connection figure counting the first ones
    // came out negative (-145,818 B per connection with 300 devices; -5,448 with 1,000).
    const m0 = await measure('before any connection', true);
    await connectAll(g, 'senders', label, o);
    const m1 = await measure(`with ${fmtInt(first)}`);
    await snapshot('first');
    await connectAll(g, 'receivers', label, o);
    const m2 = await measure(`with ${fmtInt(n)}`);
    await snapshot('all');
    const rest = n - first;
    const slope = (a: number | null | undefined, b: number | null | undefined): number | null =>
      (a == null || b == null || rest === 0 ? null : Math.round((b - a) / rest));
    const per = slope(m1.rss, m2.rss);
    const kb = (v: number | null | undefined): string => (v == null ? '?' : fmtInt(v / 1024));
    o.log(`   ${label} RSS ${kb(m0.rss)} kB idle, ${kb(m1.rss)} kB with ${fmtInt(first)}, ${kb(m2.rss)} kB with ${fmtInt(n)} connections`);
    const gc = m1.gc !== null && m2.gc !== null ? {
      heap: slope(m1.gc.heapUsed, m2.gc.heapUsed),
      retained: slope(m1.gc.heapUsed + m1.gc.external, m2.gc.heapUsed + m2.gc.external),
      rss: slope(m1.gc.rss, m2.gc.rss),
    } : null;
    if (gc !== null) {
      o.log(`   ${label} after a full GC, per device: ${fmtInt(gc.heap ?? 0)} B heap, ${fmtInt(gc.retained ?? 0)} B heap + external, ${fmtInt(gc.rss ?? 0)} B RSS`
        + ` (heap ${kb(m1.gc?.heapUsed)} → ${kb(m2.gc?.heapUsed)} kB, RSS ${kb(m1.gc?.rss)} → ${kb(m2.gc?.rss)} kB)`);
    }
    return {
      system: env.system, workload: 'idle',
      delivered_per_s: null, p50_ms: null, p99_ms: null, p999_ms: null,
      server_cpu_us_per_msg: null, nats_cpu_us_per_msg: null, lost: null, duplicated: null,
      devices: n, rss_bytes_per_conn: per,
      ...(gc !== null ? { heap_bytes_per_conn: gc.heap, retained_bytes_per_conn: gc.retained, rss_after_gc_bytes_per_conn: gc.rss } : {}),
      note: `RSS growth of the server process${env.urls.length > 1 ? 'es' : ''}${probe.source === 'metrics' ? ' (from their /metrics)' : ''} from ${fmtInt(first)} to ${fmtInt(n)} idle ${env.system === 'hushwire' ? 'authenticated devices' : 'subscribed clients'} (${kb(m0.rss)} kB before any; ${m0.rss === null || m2.rss === null ? '?' : fmtInt((m2.rss - m0.rss) / n)} B per connection counting the first ones)${unsettled.length > 0 ? `; young generations not settled ${unsettled.join(', ')}` : ''}`,
    };
  } finally {
    await closeGenerator(g, o);
  }
}
