// One load-generator thread: plays a slice of the handsets (whole chat pairs / fanout
// groups, so sender and recipients share one clock) and measures them.
//
// Accounting per message: sent → (system ack, where the system has one) → one delivery
// per recipient. Latency is taken at each delivery from the message's *intended* send
// time: in rate mode that is the schedule slot, so a stall delays every message that
// should have gone out meanwhile (no coordinated omission); in window mode it is the
// moment the window let it go.
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { noAuths, type MainToWorker, type RunParams, type RunStats, type TargetSpec, type WorkerInit, type WorkerToMain, type EndpointSpec } from './types.ts';
import type { Driver, DriverContext, Endpoint, Hooks } from './drivers/driver.ts';
import { hushwireDriver } from './drivers/hushwire.ts';
import { natsWsDriver, mqttDriver, socketIoDriver, uwsRelayDriver } from './drivers/peers.ts';
import { UpgradeRefused } from './drivers/client-socket.ts';
import { SliceRecorder, sliceCount } from './timeline.ts';
import { RateSchedule } from './rate-schedule.ts';
import { DEFAULT_BACKOFF, fullJitterDelay } from '../client/backoff.ts';

const CONNECT_TIMEOUT_MS = 20_000;
/** Rate mode: a sender with this many messages outstanding skips (and counts) new slots. */
const MAX_PENDING_PER_SENDER = 65_536;
const PROGRESS_MS = 500;
const TICK_MS = 1;
/** Window mode: how long a refused send keeps its slot before the sender tries again. */
const REFUSED_PAUSE_MS = 100;

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: WorkerToMain): void => port.postMessage(m);

const driver: Driver = ({ hushwire: hushwireDriver, 'nats-ws': natsWsDriver, mosquitto: mqttDriver, socketio: socketIoDriver, 'uws-relay': uwsRelayDriver })[init.system];

interface Pending {
  t: number;        // intended send time (performance.now)
  left: number;     // deliveries still expected
  got: number;      // bitmask of recipients (by position in the target) that got it
  acked: 0 | 1;     // the system accepted it (1 at once without acks)
  inWindow: boolean;
}

interface Sender {
  target: TargetSpec;
  pos: Map<number, number>; // recipient idx → bit position
  seq: number;
  outstanding: number;      // incomplete messages (window mode)
  unacked: number;          // not yet acknowledged (backlog mode)
  pending: Map<number, Pending>;
  limit: number;            // backlog: messages to send
}

const specs = new Map<number, EndpointSpec>(init.endpoints.map((e) => [e.idx, e]));
const senders = new Map<number, Sender>();
for (const t of init.targets) {
  if (t.recipients.length > 30) throw new Error('at most 30 recipients per target');
  senders.set(t.sender, {
    target: t, pos: new Map(t.recipients.map((r, i) => [r, i])), seq: 0, outstanding: 0, unacked: 0, pending: new Map(), limit: 0,
  });
}
const lastSeq = new Map<number, number>(); // flow (sender * 2^21 + recipient) → highest seq seen

let hist = newHist();
let lagHist = newHist();
/** The run's latency and (rate mode) send lag per slice of the measured window, by
 *  intended send time (bench/timeline.ts). */
let slices = new SliceRecorder(0, 1, 1);
let lagSlices = new SliceRecorder(0, 1, 1);
function newHist(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

const stats = {
  sent: 0, deliveredInWindow: 0, deliveredTotal: 0, duplicated: 0, reordered: 0, failed: 0, overflow: 0,
  firstError: '',
  refused: {} as Record<string, number>,
  /** Connections closed while in use, by WebSocket close code (Hooks.closed). */
  closed: {} as Record<string, number>,
};
/** Distinct refusal codes kept per run; more are counted under "other" (a peer's error
 *  messages are free text). */
const MAX_REFUSAL_CODES = 8;

type Phase = 'idle' | 'window' | 'rate' | 'grace' | 'backlog' | 'drain';
let phase: Phase = 'idle';
let mFrom = Infinity;
let mUntil = -Infinity;
let sendUntil = -Infinity;
let onDrainDelivery: (() => void) | null = null;

const hooks: Hooks = {
  message(recipient, sender, seq) {
    const now = performance.now();
    stats.deliveredTotal++;
    if (now >= mFrom && now < mUntil) stats.deliveredInWindow++;
    const s = senders.get(sender);
    if (s === undefined) return;
    const bit = s.pos.get(recipient);
    const p = s.pending.get(seq);
    if (bit === undefined) return;
    const key = sender * 2_097_152 + recipient;
    if (p === undefined || (p.got & (1 << bit)) !== 0) {
      stats.duplicated++;
      return;
    }
    const last = lastSeq.get(key) ?? -1;
    if (seq < last) stats.reordered++;
    else lastSeq.set(key, seq);
    p.got |= 1 << bit;
    p.left--;
    // in the slice of its intended send time: a stall shows where it hit
    if (p.inWindow) hist.recordValue(slices.recordSince(p.t, now));
    if (p.left === 0 && p.acked === 1) complete(s, seq);
    onDrainDelivery?.();
  },
  ack(sender, seq, ok, code) {
    const s = senders.get(sender);
    const p = s?.pending.get(seq);
    if (s === undefined || p === undefined || p.acked === 1) return;
    s.unacked--;
    if (!ok) {
      stats.failed++;
      if (stats.firstError === '') stats.firstError = code;
      const key = code === '' ? 'unknown' : code in stats.refused || Object.keys(stats.refused).length < MAX_REFUSAL_CODES ? code : 'other';
      stats.refused[key] = (stats.refused[key] ?? 0) + 1;
      // A refused send (e.g. RATE_LIMITED by a real gateway's limits) frees its window
      // slot only after a pause, so a refusing system is not hammered in a tight loop.
      setTimeout(() => complete(s, seq), REFUSED_PAUSE_MS);
    } else {
      p.acked = 1;
      if (p.left === 0) complete(s, seq);
    }
    if (phase === 'backlog') pumpBacklog(s);
  },
  closed(_endpoint, code) {
    const key = String(code);
    if (key in stats.closed || Object.keys(stats.closed).length < MAX_REFUSAL_CODES) stats.closed[key] = (stats.closed[key] ?? 0) + 1;
    else stats.closed.other = (stats.closed.other ?? 0) + 1;
  },
};

const ctx: DriverContext = {
  hooks, runTag: init.runTag, specs, payloadBytes: 0, wsClient: init.wsClient,
  // resumption tickets (Hushwire storm, --storm-auth ticket): asked for at the first
  // connect, used in the storm
  tickets: init.resumeTickets === true ? 'request' : 'off', auth: noAuths(),
};
driver.prepare?.(ctx, init.targets);
const endpoints = new Map<number, Endpoint>(init.endpoints.map((e) => [e.idx, driver.endpoint(e, ctx)]));
const connected = new Set<number>();

function complete(s: Sender, seq: number): void {
  if (!s.pending.delete(seq)) return; // already settled (or cleared at the end of a run)
  s.outstanding--;
  if (phase === 'window' && performance.now() < sendUntil) {
    while (s.outstanding < windowSize) sendOne(s, performance.now());
  }
}

let windowSize = 1;

function sendOne(s: Sender, intended: number): void {
  const seq = s.seq++;
  const inWindow = intended >= mFrom && intended < mUntil;
  // Rate mode: how late this send is against its slot, the generator's own share of the
  // latency (a tick that fired late, a worker that waited for a CPU).
  if (phase === 'rate' && inWindow) lagHist.recordValue(lagSlices.recordSince(intended, performance.now()));
  s.pending.set(seq, { t: intended, left: s.target.recipients.length, got: 0, acked: driver.hasAcks ? 0 : 1, inWindow });
  s.outstanding++;
  if (driver.hasAcks) s.unacked++;
  stats.sent++;
  endpoints.get(s.target.sender)!.send(s.target, seq);
}

// ---- connecting ----

/** How long a handset keeps retrying a refused connect (see connectMany). */
const REFUSED_RETRY_MS = 60_000;

/** Connects the endpoints, `concurrency` at a time. A connect the server refuses at the
 *  upgrade with 429 (over its connection rate) or 503 (full, draining) is retried as
 *  the SDK's handsets retry, after a full-jitter backoff delay (client/backoff.ts), for
 *  up to REFUSED_RETRY_MS: against running gateways with their default limits a storm
 *  is then shaped by them instead of counted as failed. `retried` counts those
 *  refusals. `backAt`, when given, receives the Date.now() of each connect that
 *  succeeded. */
async function connectMany(idxs: number[], concurrency: number, backAt?: number[]): Promise<{ ok: number; failed: number; firstError: string; retried: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  let retried = 0;
  let firstError = '';
  const giveUpAt = Date.now() + REFUSED_RETRY_MS;
  const lane = async (): Promise<void> => {
    while (next < idxs.length) {
      const idx = idxs[next++]!;
      for (let attempt = 0; ; attempt++) {
        try {
          await endpoints.get(idx)!.connect(CONNECT_TIMEOUT_MS);
          connected.add(idx);
          ok++;
          backAt?.push(Date.now());
          break;
        } catch (e) {
          const delay = fullJitterDelay(attempt, DEFAULT_BACKOFF);
          if (e instanceof UpgradeRefused && (e.status === 429 || e.status === 503) && Date.now() + delay < giveUpAt) {
            retried++;
            await new Promise((r) => setTimeout(r, delay));
            continue;
          }
          failed++;
          if (firstError === '') firstError = e instanceof Error ? e.message : String(e);
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, idxs.length)) }, lane));
  return { ok, failed, firstError, retried };
}

function whichIdx(which: 'all' | 'senders' | 'receivers'): number[] {
  const send = new Set(init.senderIdx);
  const all = init.endpoints.map((e) => e.idx);
  if (which === 'all') return all;
  return which === 'senders' ? all.filter((i) => send.has(i)) : all.filter((i) => !send.has(i));
}

// ---- runs ----

function toLocal(wallMs: number): number {
  return performance.now() + (wallMs - Date.now());
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

function allPending(): number {
  let n = 0;
  for (const s of senders.values()) n += s.pending.size;
  return n;
}

async function run(params: RunParams): Promise<RunStats> {
  ctx.payloadBytes = params.payloadBytes;
  hist = newHist();
  lagHist = newHist();
  const start = toLocal(params.startAt);
  mFrom = toLocal(params.measureFrom);
  mUntil = toLocal(params.measureUntil);
  sendUntil = mUntil;
  const nSlices = sliceCount(params.measureUntil - params.measureFrom, params.sliceMs);
  slices = new SliceRecorder(mFrom, params.sliceMs, nSlices);
  lagSlices = new SliceRecorder(mFrom, params.sliceMs, nSlices);
  const progress = setInterval(() => post({ t: 'progress', p: { sent: stats.sent, delivered: stats.deliveredTotal } }), PROGRESS_MS);
  let eluStart: ReturnType<typeof performance.eventLoopUtilization> | null = null;
  let elu = 0;
  const eluTimers = [
    setTimeout(() => { eluStart = performance.eventLoopUtilization(); }, mFrom - performance.now()),
    setTimeout(() => { if (eluStart) elu = performance.eventLoopUtilization(eluStart).utilization; }, mUntil - performance.now()),
  ];
  await sleep(start - performance.now());
  const active = [...senders.values()].filter((s) => connected.has(s.target.sender));
  if (params.mode === 'window') {
    phase = 'window';
    windowSize = params.window;
    for (const s of active) while (s.outstanding < windowSize) sendOne(s, performance.now());
    await sleep(sendUntil - performance.now());
  } else {
    phase = 'rate';
    const perMs = params.ratePerSender / 1000;
    // Sequence numbers go on across runs (a late copy from an earlier run must not look
    // new), so the schedule counts slots, and a sender's slot k is its (first sequence of
    // this run + k)th message: every slot advances s.seq, sent or skipped.
    // Each sender's slots are shifted by its own fraction of a slot (golden-ratio spread
    // over the global sender index, so the threads' senders interleave too): with all
    // senders in phase, every slot would be one burst of (senders) messages at once, and
    // the queue inside that burst, not the system, would set the latency.
    // bench/rate-schedule.ts walks the slots in order of intended time, each tick taking
    // only those that came due since the last one.
    const schedule = new RateSchedule(start, perMs, active.map((s) => (s.target.sender * 0.6180339887498949) % 1));
    const emit = (i: number, _slot: number, intended: number): void => {
      const s = active[i]!;
      if (s.pending.size >= MAX_PENDING_PER_SENDER) {
        s.seq++;
        stats.overflow++;
        return;
      }
      sendOne(s, intended);
    };
    const ticker = setInterval(() => {
      const now = performance.now();
      if (now < sendUntil) schedule.upTo(now, emit);
      else schedule.before(sendUntil, emit);
    }, TICK_MS);
    // A timer can fire a little before its time by this clock: wait for the end itself.
    while (performance.now() < sendUntil) await sleep(sendUntil - performance.now());
    clearInterval(ticker);
    // The slots due since the last tick (up to a tick's worth, more on a busy thread) are
    // in the measured window: send them now, their lateness counted as send lag.
    schedule.before(sendUntil, emit);
  }
  phase = 'grace';
  const graceEnd = performance.now() + params.graceMs;
  while (allPending() > 0 && performance.now() < graceEnd) await sleep(20);
  for (const t of eluTimers) clearTimeout(t);
  clearInterval(progress);
  if (elu === 0 && eluStart) elu = performance.eventLoopUtilization(eluStart).utilization;
  let lost = 0;
  let unconfirmed = 0;
  for (const s of senders.values()) {
    for (const p of s.pending.values()) {
      if (p.acked === 1) lost += p.left;
      else unconfirmed++;
    }
    s.pending.clear();
    s.outstanding = 0;
    s.unacked = 0;
  }
  phase = 'idle';
  const out: RunStats = {
    sent: stats.sent, deliveredInWindow: stats.deliveredInWindow, deliveredTotal: stats.deliveredTotal,
    lost, duplicated: stats.duplicated, reordered: stats.reordered, failed: stats.failed, refused: stats.refused, unconfirmed,
    closed: stats.closed, overflow: stats.overflow, histogram: hdr.encodeIntoCompressedBase64(hist), sendLagHistogram: hdr.encodeIntoCompressedBase64(lagHist), elu,
    sliceHistograms: slices.encode(), sliceLagHistograms: params.mode === 'rate' ? lagSlices.encode() : null,
  };
  // the slices' memory goes with the run
  slices = new SliceRecorder(0, 1, 1);
  lagSlices = new SliceRecorder(0, 1, 1);
  resetStats();
  return out;
}

function resetStats(): void {
  stats.sent = 0; stats.deliveredInWindow = 0; stats.deliveredTotal = 0; stats.duplicated = 0;
  stats.reordered = 0; stats.failed = 0; stats.overflow = 0; stats.refused = {}; stats.closed = {};
  mFrom = Infinity;
  mUntil = -Infinity;
}

// ---- backlog: send while the recipients are offline, then let them drain ----

let backlogWindow = 1;
let backlogDone: (() => void) | null = null;

function pumpBacklog(s: Sender): void {
  while (s.unacked < backlogWindow && s.seq < s.limit) sendOne(s, performance.now());
  if (backlogDone !== null && [...senders.values()].every((x) => x.seq >= x.limit && x.unacked === 0)) backlogDone();
}

async function backlog(perSender: number, window: number, payloadBytes: number): Promise<void> {
  ctx.payloadBytes = payloadBytes;
  phase = 'backlog';
  backlogWindow = window;
  const done = new Promise<void>((r) => { backlogDone = r; });
  const active = [...senders.values()].filter((s) => connected.has(s.target.sender));
  for (const s of active) s.limit = s.seq + perSender; // seqs run on across rounds (warm-up, then measured)
  for (const s of active) pumpBacklog(s);
  if (active.length === 0) backlogDone?.();
  await withTimeout(done, 120_000);
  backlogDone = null;
  phase = 'idle';
  const sent = stats.sent;
  post({ t: 'backlogged', sent, stored: sent - stats.failed, failed: stats.failed, firstError: stats.firstError });
}

async function drain(timeoutMs: number): Promise<void> {
  const expected = (): number => {
    let n = 0;
    for (const s of senders.values()) for (const p of s.pending.values()) n += p.left;
    return n;
  };
  const want = expected();
  stats.deliveredTotal = 0;
  let lastAt = Date.now();
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => { resolveDone = r; });
  onDrainDelivery = () => {
    lastAt = Date.now();
    if (stats.deliveredTotal >= want) resolveDone();
  };
  const startedAt = Date.now();
  const progress = setInterval(() => post({ t: 'progress', p: { sent: stats.sent, delivered: stats.deliveredTotal } }), PROGRESS_MS);
  phase = 'drain';
  const conn = connectMany(whichIdx('receivers'), init.endpoints.length);
  if (want === 0) resolveDone();
  await withTimeout(done, timeoutMs);
  await conn;
  clearInterval(progress);
  onDrainDelivery = null;
  phase = 'idle';
  post({ t: 'drained', received: stats.deliveredTotal, expected: want, startedAt, lastAt, duplicated: stats.duplicated });
  for (const s of senders.values()) s.pending.clear();
  resetStats();
}

async function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => { timer = setTimeout(r, ms); })]);
  clearTimeout(timer);
}

// ---- storm: drop every connection at once, then all reconnect and authenticate ----

async function storm(timeoutMs: number): Promise<void> {
  const idxs = [...connected];
  // the storm resumes with the tickets its set-up got, and asks for none itself
  if (ctx.tickets !== 'off') ctx.tickets = 'use';
  ctx.auth = noAuths();
  for (const i of idxs) endpoints.get(i)!.terminate();
  connected.clear();
  const droppedAt = Date.now();
  const backAt: number[] = [];
  const r = await withTimeoutValue(connectMany(idxs, idxs.length, backAt), timeoutMs);
  post({ t: 'stormed', ok: r?.ok ?? connected.size, failed: r?.failed ?? idxs.length - connected.size, firstError: r?.firstError ?? 'timed out', droppedAt, lastAt: Date.now(), backAt, retried: r?.retried ?? 0, auth: ctx.auth });
}

async function withTimeoutValue<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p, new Promise<null>((res) => { timer = setTimeout(() => res(null), ms); })]);
  clearTimeout(timer);
  return r;
}

async function closeAll(): Promise<void> {
  await Promise.all([...endpoints.values()].map((e) => e.close().catch(() => undefined)));
  connected.clear();
}

port.on('message', (m: MainToWorker) => {
  const handle = async (): Promise<void> => {
    switch (m.t) {
      case 'connect': {
        const t0 = Date.now();
        const idxs = whichIdx(m.which);
        ctx.auth = noAuths();
        const r = await connectMany(idxs, init.connectConcurrency);
        post({ t: 'connected', ...r, wallMs: Date.now() - t0, auth: ctx.auth });
        break;
      }
      case 'run':
        post({ t: 'ran', stats: await run(m.params) });
        break;
      case 'backlog':
        await backlog(m.perSender, m.window, m.payloadBytes);
        break;
      case 'drain':
        await drain(m.timeoutMs);
        break;
      case 'storm':
        await storm(m.timeoutMs);
        break;
      case 'disconnect': {
        // backlog's warm-up round: its receivers go offline again before the measured fill
        const idxs = whichIdx(m.which).filter((i) => connected.has(i));
        await Promise.all(idxs.map((i) => endpoints.get(i)!.close().catch(() => undefined)));
        for (const i of idxs) connected.delete(i);
        post({ t: 'disconnected' });
        break;
      }
      case 'close':
        await closeAll();
        post({ t: 'closed' });
        break;
    }
  };
  handle().catch((e: unknown) => post({ t: 'error', message: e instanceof Error ? e.message : String(e) }));
});

post({ t: 'ready' });
