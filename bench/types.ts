// Shapes shared by the bench's main thread and its worker threads (structured-clone
// safe: plain objects, numbers, strings, Uint8Arrays).

import type { WsClientKind } from './drivers/client-socket.ts';
import type { Timeline } from './timeline.ts';

export const SYSTEMS = ['hushwire', 'nats-ws', 'mosquitto', 'socketio', 'uws-relay'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export const WORKLOADS = ['chat', 'fanout', 'backlog', 'storm', 'idle'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** Keys of a Hushwire device the generator plays (made by bench/devices.ts). */
export interface HwDevice {
  route: Uint8Array;       // 32
  device: Uint8Array;      // 16
  identitySecret: Uint8Array;
  identityPublic: Uint8Array;
  prekeyPublic: Uint8Array;
  number: string;
}

/** One simulated handset (a device on Hushwire, a client on the peers). */
export interface EndpointSpec {
  /** Global index; also the sender index written into every message id. */
  idx: number;
  url: string;
  /** Own inbox name on the peers (NATS subject, MQTT topic, Socket.IO room). */
  name: string;
  /** Group names it also listens on (fanout on the peers). */
  groups: string[];
  hw?: HwDevice;
  /** Source address of its connection. Local setups spread runs larger than one
   *  address's ephemeral ports over 127.0.0.x (bench/capacity.ts); unset = the default. */
  localAddress?: string;
}

/** Where one sender's messages go: every recipient gets every message. */
export interface TargetSpec {
  sender: number;
  recipients: number[];
  /** Peer address of the recipients: a client name (1 recipient) or a group name. */
  topic: string;
}

export interface RunParams {
  /** 'window': each sender keeps `window` messages outstanding (max throughput).
   *  'rate': each sender sends at a fixed rate (latency without coordinated omission). */
  mode: 'window' | 'rate';
  window: number;
  /** Messages per second per sender in rate mode. */
  ratePerSender: number;
  /** Wall-clock ms (Date.now()) when sending starts, measuring starts, sending stops. */
  startAt: number;
  measureFrom: number;
  measureUntil: number;
  /** After measureUntil: how long to wait for outstanding messages before counting them lost. */
  graceMs: number;
  /** The latency timeline's slice (ms; bench/timeline.ts): the measured window is cut
   *  into slices of this length. */
  sliceMs: number;
  /** Bytes of every peer message (the size of the Hushwire envelope as sent). */
  payloadBytes: number;
}

/** What a worker reports at the end of a run. */
export interface RunStats {
  sent: number;
  /** Deliveries (one per recipient device) received within the measuring window. */
  deliveredInWindow: number;
  deliveredTotal: number;
  /** Messages the system acknowledged (or, without acks, sent) whose delivery never came. */
  lost: number;
  /** Deliveries of a message the recipient already had. */
  duplicated: number;
  /** Deliveries with a lower sequence than one already seen on the same sender→recipient flow. */
  reordered: number;
  /** Sends the system refused (Hushwire receipt `failed`, MQTT publish error). */
  failed: number;
  /** The same by the system's reason (Hushwire's error code, e.g. RATE_LIMITED). */
  refused: Record<string, number>;
  /** Sends neither acknowledged nor refused by the end of the grace period. */
  unconfirmed: number;
  /** Connections the system (or the network) closed during the run, by WebSocket close
   *  code; Hushwire handsets only (the peers' client libraries reconnect by themselves). */
  closed: Record<string, number>;
  /** Rate mode: sends skipped because a sender already had too many outstanding. */
  overflow: number;
  /** hdr-histogram (µs) of end-to-end latency, compressed base64. */
  histogram: string;
  /** Rate mode: hdr-histogram (µs) of how late each measured send left the generator
   *  after its intended time (the generator's own share of the latency), compressed base64. */
  sendLagHistogram: string;
  /** Event-loop utilisation of the worker over the measuring window (0..1). */
  elu: number;
  /** The latency timeline: per slice of the measured window (RunParams.sliceMs), a
   *  log-bucketed histogram (µs) of the latency of the messages intended to be sent in
   *  it, SliceHist.encode()'s base64, null for a slice without any (bench/timeline.ts). */
  sliceHistograms: (string | null)[];
  /** Rate mode: the same of the send lag; null in window mode. */
  sliceLagHistograms: (string | null)[] | null;
}

/** How a storm's Hushwire handsets authenticate their reconnects (--storm-auth). */
export const STORM_AUTHS = ['ticket', 'signature'] as const;
export type StormAuth = (typeof STORM_AUTHS)[number];

/** Hushwire handsets' authentications in one phase (a worker's connects, or its storm). */
export interface AuthCounts {
  /** Auths answered ok that carried an Ed25519 signature (a fallback's included). */
  signed: number;
  /** Auths answered ok that carried a resumption ticket and its proof. */
  resumed: number;
  /** Resumes answered RESUME_REFUSED, each then signed on the same connection. */
  refused: number;
  /** Tickets got (ticket_request answered). */
  tickets: number;
  /** Ticket requests answered with an error, and the first one's code. */
  ticketErrors: number;
  ticketError: string;
  /** Challenges without a resume_key while the handsets wanted tickets (the gateway
   *  issues none). */
  noResumeKey: number;
}

export function noAuths(): AuthCounts {
  return { signed: 0, resumed: 0, refused: 0, tickets: 0, ticketErrors: 0, ticketError: '', noResumeKey: 0 };
}

/** The counts of several workers together. */
export function sumAuths(all: readonly AuthCounts[]): AuthCounts {
  const out = noAuths();
  for (const a of all) {
    out.signed += a.signed;
    out.resumed += a.resumed;
    out.refused += a.refused;
    out.tickets += a.tickets;
    out.ticketErrors += a.ticketErrors;
    out.noResumeKey += a.noResumeKey;
    if (out.ticketError === '') out.ticketError = a.ticketError;
  }
  return out;
}

export interface Progress {
  sent: number;
  delivered: number;
}

export type MainToWorker =
  | { t: 'connect'; which: 'all' | 'senders' | 'receivers' }
  | { t: 'run'; params: RunParams }
  | { t: 'backlog'; perSender: number; window: number; payloadBytes: number }
  | { t: 'drain'; timeoutMs: number }
  | { t: 'storm'; timeoutMs: number }
  | { t: 'disconnect'; which: 'receivers' }
  | { t: 'close' };

export type WorkerToMain =
  | { t: 'ready' }
  | { t: 'connected'; ok: number; failed: number; firstError: string; retried: number; wallMs: number; auth: AuthCounts }
  | { t: 'progress'; p: Progress }
  | { t: 'ran'; stats: RunStats }
  | { t: 'backlogged'; sent: number; stored: number; failed: number; firstError: string }
  | { t: 'drained'; received: number; expected: number; startedAt: number; lastAt: number; duplicated: number }
  | { t: 'disconnected' }
  | { t: 'stormed'; ok: number; failed: number; firstError: string; droppedAt: number; lastAt: number; backAt: number[]; retried: number; auth: AuthCounts }
  | { t: 'closed' }
  | { t: 'error'; message: string };

export interface WorkerInit {
  system: SystemName;
  endpoints: EndpointSpec[];
  targets: TargetSpec[];
  /** Run tag written into message ids (8 random bytes). */
  runTag: Uint8Array;
  /** Endpoints that send (connected by 'senders') vs only receive. */
  senderIdx: number[];
  connectConcurrency: number;
  wsClient: WsClientKind;
  /** Hushwire storm with --storm-auth ticket: the handsets ask for a resumption ticket
   *  after their first (signed) auth, and resume with it in the storm. */
  resumeTickets?: boolean;
}

/** One row of the results (the JSON `runs[]` entry). */
export interface RunResult {
  system: SystemName;
  workload: string;
  delivered_per_s: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  p999_ms: number | null;
  server_cpu_us_per_msg: number | null;
  nats_cpu_us_per_msg: number | null;
  lost: number | null;
  duplicated: number | null;
  reordered?: number | null;
  failed?: number | null;
  mode?: 'window' | 'rate';
  rate?: number | null;
  delivered?: number | null;
  generator_cpu_pct?: number | null;
  /** The generator's CPU per delivered message (µs): what the handsets' client code cost
   *  the machine the servers share, next to server_cpu_us_per_msg and nats_cpu_us_per_msg. */
  generator_cpu_us_per_msg?: number | null;
  generator_elu?: number | null;
  generator_bound?: boolean;
  /** Rate mode: p99 of how late the generator sent after the intended time (part of
   *  every latency above, which counts from the intended time). */
  send_lag_p99_ms?: number | null;
  /** chat, fanout and fixed-rate rows: latency over the measured window, per slice of
   *  `--slice-ms` by intended send time (bench/timeline.ts). */
  timeline?: Timeline;
  /** backlog */
  drain_s?: number | null;
  /** backlog: seconds from the last delivery until the mailboxes were empty (erased). */
  erase_tail_s?: number | null;
  /** backlog: CPU per message from the drain's start until the mailboxes were empty. */
  server_cpu_us_per_msg_incl_erase?: number | null;
  nats_cpu_us_per_msg_incl_erase?: number | null;
  drain_per_s?: number | null;
  /** backlog: messages per device of the unmeasured warm-up round before it (0: none). */
  warmup_per_device?: number;
  /** storm */
  devices?: number | null;
  reconnect_s?: number | null;
  /** storm: when each device was back (authenticated), from the drop: median, 99th and
   *  99.9th percentile (reconnect_s is the last one). */
  back_p50_s?: number | null;
  back_p99_s?: number | null;
  back_p999_s?: number | null;
  /** storm: connects the server refused at the upgrade (429/503) and the handsets retried. */
  refused_retried?: number;
  /** Hushwire storm: how the reconnects authenticated, "ticket" (resumption tickets got
   *  at the first connect) or "signature" (Ed25519: --storm-auth signature, or gateways
   *  that issue no tickets); how many resumed with their ticket, and how many had it
   *  refused (RESUME_REFUSED) and signed on the same connection instead. */
  storm_auth?: StormAuth;
  resumed?: number;
  resume_fallbacks?: number;
  /** idle */
  rss_bytes_per_conn?: number | null;
  /** idle, local gateways: slopes after a forced full GC (bench/inspect.ts): V8 heap
   *  in use, heap + external (buffers outside the heap), and RSS right after the GC. */
  heap_bytes_per_conn?: number | null;
  retained_bytes_per_conn?: number | null;
  rss_after_gc_bytes_per_conn?: number | null;
  /** --heap-sample: bytes the local gateways allocated (V8's sampling estimate, objects
   *  since collected included) per delivered or drained message, and per reconnect. */
  server_alloc_bytes_per_msg?: number | null;
  server_alloc_bytes_per_reconnect?: number | null;
  /** With --repeat: which interleaved round (1..N) the row is from. */
  round?: number;
  /** 1-minute load average when the row finished (taken as it is added, after its
   *  measuring and grace): other work on the machine skews results. */
  loadavg_1m?: number;
  skipped?: string;
  /** Skipped because something failed (a server that did not start, a refused
   *  registration, connects that failed), not for a documented reason. */
  error?: true;
  note?: string;
}
