// Assembles one gateway: bus + evaluator + verifier + relay + transport + HTTP.
// `startGateway` is what `hushwire gateway` runs and what tests start in-process.
import { createBus, DEFAULT_MAILBOX_LIMITS } from '../relay/bus/index.ts';
import type { Bus } from '../relay/bus/bus.ts';
import { createEvaluator } from '../relay/evaluator-remote.ts';
import { createDevVerifier } from '../relay/verifier/dev.ts';
import { createWebhookVerifier } from '../relay/verifier/webhook.ts';
import type { Verifier } from '../relay/verifier/verifier.ts';
import { createLogger, type Logger } from '../relay/log.ts';
import { warnUnknownEnv } from '../relay/env-names.ts';
import { looseSecretModeMessage, octalMode } from '../relay/setting-file.ts';
import { createMetrics, natsAccessMetrics, setBusState, setBusRenewals, setRequestPool, type RelayMetrics } from '../relay/metrics.ts';
import { startAdminServer, parseListen, type AdminServer } from './admin-server.ts';
import { listenError } from '../relay/listen-error.ts';
import { useEd25519, type Ed25519EngineKind } from '../relay/crypto/ed25519-engine.ts';
import { DEFAULT_LIMITS, type RelayLimits } from '../relay/limits.ts';
import { Relay } from '../relay/relay.ts';
import { CloseCode } from '../relay/errors.ts';
import { loadTransport } from './transport/select.ts';
import { startBus } from './bus-start.ts';
import { privacyOptions } from './privacy-config.ts';
import { readConfigFiles, type ConfigFiles } from './config-files.ts';
import { createAdmission } from './admission.ts';
import { readOpenFilesLimit, descriptorsFor, connectionsWithin } from './fd-limit.ts';
import { SendBudget } from './transport/send-budget.ts';
import { moveSessionsAway, waitForZero } from './drain.ts';
import { monotonicMs, type Clock } from '../relay/token-bucket.ts';
import type { Transport, TransportKind, HttpResponse } from './transport/transport.ts';
import type { GatewayConfig } from './config.ts';

export interface GatewayHandle {
  readonly port: number;
  /** ws://host:port/path */
  readonly url: string;
  /** The admin listener's port (`--admin-listen`), or null when there is none. */
  readonly adminPort: number | null;
  readonly transport: TransportKind;
  /** The Ed25519 engine verifying devices' signatures (`--ed25519`). */
  readonly ed25519: Ed25519EngineKind;
  /** Resumption tickets (docs/PROTOCOL.md, section 13): 'off' (--resume-ticket-ttl-s 0),
   *  'own key' (a key drawn at start) or 'shared keys (N)' (--resume-key-file). */
  readonly resume: string;
  readonly relay: Relay;
  readonly metrics: RelayMetrics;
  readonly bus: Bus;
  readonly log: Logger;
  /** Resolves (never rejects) if the bus, not up at start (NATS down), then turned out
   *  unable to start as configured (gateway/bus-start.ts): `hushwire gateway` exits. */
  readonly busFailed: Promise<Error>;
  /** Lame-duck drain: not ready, refuse new sockets, move devices away, then close. */
  drain(opts?: { timeoutMs?: number; ratePerSecond?: number }): Promise<void>;
  /** Immediate close of everything; idempotent: every call (also one while a close or a
   *  drain's close runs) settles once everything is closed. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Log destination (tests capture logs); default stdout. */
  logDestination?: NodeJS.WritableStream;
  /** The settings' files and secrets, already read (`hushwire gateway` reads them before
   *  it starts anything); read here when absent. */
  files?: ConfigFiles;
  /** The environment the settings were read from (`hushwire gateway`: process.env): the
   *  HUSHWIRE_ variables in it that nothing reads are warned about at start
   *  (relay/env-names.ts). Absent: not looked at (tests starting gateways in-process). */
  env?: NodeJS.ProcessEnv;
  /** Tests only (no setting): the NATS bus's JetStream request pool and request deadline
   *  (relay/bus/nats-requests.ts), small so that a test can fill it, and its outage grace
   *  (relay/bus/nats.ts OUTAGE_GRACE_MS), long so that a test's NATS restart is within it. */
  busRequests?: { requestPool?: { maxPending: number; authReserve: number }; requestTimeoutMs?: number; outageGraceMs?: number };
  /** Tests only (no setting): the verification code's lifetime (5 minutes), short so that
   *  a test sees codes expire, and the clock of the verification code budget
   *  (relay/verify-gate.ts), so that a test refills it without waiting. */
  verification?: { codeTtlMs?: number; clock?: Clock };
  /** Tests only (no setting): how often the send-only connections' devices are checked
   *  in the directory (relay/limits.ts sendOnlyRecheckMs, 30 s). */
  sendOnlyRecheckMs?: number;
  /** Tests only (no setting): how long the close waits for the removals of unfinished
   *  registrations (UNFINISHED_CLOSE_WAIT_MS). */
  unfinishedCloseWaitMs?: number;
}

/** How long a gateway's close (and a drain's, at its end) waits, once its connections are
 *  closed and before it closes NATS, for the register writes under way and the removals
 *  of unfinished registrations that closing connections began (Relay.settleUnfinished):
 *  with NATS answering they take milliseconds; past this they are given up to the idle
 *  expiry, and a warn line says how many. */
export const UNFINISHED_CLOSE_WAIT_MS = 5_000;

/** --max-connections as this process's open-files limit allows (gateway/fd-limit.ts):
 *  lowered, with a warning, when the limit holds fewer, so the rest get a clean 503. */
function fitConnections(configured: number, log: Logger): number {
  const limit = readOpenFilesLimit();
  if (limit === null) return configured; // not Linux: unknown, not checked
  const fits = Math.min(configured, connectionsWithin(limit.soft));
  if (fits < configured) {
    log.warn({ openFilesLimit: limit.soft, hardLimit: limit.hard, maxConnections: fits, configured },
      `open-files limit too low for --max-connections ${configured}: at most ${fits} connections (more get HTTP 503); raise the hard limit (LimitNOFILE= in systemd, ulimit -Hn) to ${descriptorsFor(configured)}`);
  }
  return fits;
}

export async function startGateway(config: GatewayConfig, opts: StartOptions = {}): Promise<GatewayHandle> {
  // First: a bad file stops the start before any log line, listener or connection.
  const files = opts.files ?? readConfigFiles(config);
  const log = createLogger({ level: config.logLevel, destination: opts.logDestination, name: config.name });
  // The configuration's warnings first: variables nothing reads (a typo runs with the
  // default otherwise), secret files group or others may read.
  if (opts.env) warnUnknownEnv(log, opts.env);
  for (const { flag, mode } of files.looseModes ?? []) log.warn({ setting: flag, mode: octalMode(mode) }, looseSecretModeMessage(flag, mode));
  // The NATS files are read again at each connect; a bad one, or a client certificate,
  // user JWT or server certificate chain near its expiry, is logged
  // (relay/nats-access-files.ts).
  files.nats?.files.report((level, msg, fields) => log[level](fields ?? {}, msg));
  const ed = useEd25519(config.ed25519); // throws for `libsodium` where it cannot load: before anything starts
  const limits: RelayLimits = {
    ...DEFAULT_LIMITS,
    authTimeoutMs: config.authTimeoutMs,
    liveTimeoutMs: config.liveTimeoutMs,
    maxSendsInFlight: config.maxSendsInFlight,
    drainBatch: config.mailboxPage,
    drainAckTimeoutMs: config.mailboxAckTimeoutMs,
    maxFrameBytes: config.maxFrameBytes,
    maxEnvelopeBytes: config.maxEnvelopeBytes,
    maxDevicesPerRoute: config.maxDevicesPerRoute,
    sendRatePerS: config.sendRate,
    sendBurst: config.sendBurst,
    recipientBudgetBytes: config.recipientBudgetBytes,
    recipientWindowS: config.recipientWindowS,
    rateLimitKeys: config.rateLimitKeys,
    prekeyRotationIntervalMs: config.prekeyRotationIntervalS * 1000,
  };
  const metrics = createMetrics();
  if (files.nats) natsAccessMetrics(metrics.registry, files.nats);
  const maxConnections = fitConnections(config.maxConnections, log);
  // The verification bounds (relay/verify-gate.ts). Sockets waiting for a code keep the
  // share of the connection slots they were given when the open-files limit lowers
  // --max-connections.
  limits.verifyStartRatePerS = config.verifyStartRate;
  limits.verifyStartBurst = config.verifyStartBurst;
  limits.verifyStartScope = config.verifyStartScope;
  limits.maxPendingVerifications = maxConnections >= config.maxConnections ? config.maxPendingVerifications
    : Math.max(1, Math.floor((config.maxPendingVerifications * maxConnections) / config.maxConnections));
  if (opts.verification?.codeTtlMs !== undefined) limits.verifyCodeTtlMs = opts.verification.codeTtlMs;
  if (opts.sendOnlyRecheckMs !== undefined) limits.sendOnlyRecheckMs = opts.sendOnlyRecheckMs;

  // A local key, or `hushwire oprf` evaluators over NATS (relay/evaluator-remote.ts).
  const evaluator = await createEvaluator(config, {
    log, registry: metrics.registry,
    ...(files.oprfKey ? { key: files.oprfKey } : {}),
    ...(files.nats ? { access: files.nats } : {}),
  });

  let verifier: Verifier;
  if (config.verifier === 'webhook') {
    verifier = createWebhookVerifier({ url: config.verifierUrl!, timeoutMs: config.verifierTimeoutMs, token: files.verifierToken });
  } else {
    verifier = createDevVerifier();
    log.warn('INSECURE dev verifier: verification codes are returned to the client; anyone can register any number. Use --verifier webhook in production.');
  }

  const bus = createBus({
    nats: config.nats.length > 0 ? config.nats : undefined,
    limits: {
      ...DEFAULT_MAILBOX_LIMITS,
      maxMessagesPerDevice: config.mailboxMaxMessages,
      maxAgeMs: config.mailboxMaxAgeS * 1000,
      maxMessageBytes: config.maxEnvelopeBytes,
    },
    prefix: config.natsPrefix,
    inboxPrefix: config.natsInboxPrefix,
    replicas: config.natsReplicas,
    mailboxShards: config.mailboxShards,
    lowerLimits: config.mailboxLowerLimits,
    name: config.name,
    log: (level, msg, fields) => log[level](fields ?? {}, msg),
    ...(files.msgIdKey ? { msgIdKey: files.msgIdKey } : {}),
    ...(files.nats ? { access: files.nats } : {}),
    ...opts.busRequests,
  });
  // NATS down at boot does not stop the gateway: it serves /healthz, is not ready and
  // refuses upgrades until the bus is up (gateway/bus-start.ts).
  let busStarter: Awaited<ReturnType<typeof startBus>>;
  try {
    busStarter = await startBus(bus, { log, servers: config.nats });
  } catch (e) {
    // A setting that contradicts the deployment's NATS (relay/bus/setup-errors.ts): the
    // caller reports it and the gateway does not start.
    await bus.close();
    await verifier.close();
    await evaluator.close();
    files.nats?.files.stop();
    throw e;
  }

  const relay = new Relay({
    bus, evaluator, verifier, log, metrics, limits, privacy: privacyOptions(config),
    resume: { ttlS: config.resumeTicketTtlS, ...(files.resumeKeys ? { keys: files.resumeKeys } : {}) },
    ...(opts.verification?.clock ? { verifyClock: opts.verification.clock } : {}),
  });
  // Idle-device expiry and last_seen refresh run once the bus is up (gateway/privacy-config.ts).
  void busStarter.whenStarted.then(() => relay.privacy.start());
  // Several gateways on one NATS, each with a key of its own (and a resume_key of its
  // own): a device whose reconnect lands on another gateway holds no ticket for it and
  // signs, then asks it for a ticket as well; every restart starts over. Said once at
  // start, not a warning: one gateway on NATS is a valid deployment too.
  if (config.nats.length > 0 && relay.resume !== null && !files.resumeKeys) {
    log.info('resumption tickets: no --resume-key-file, so a device\'s ticket resumes only at this gateway until it restarts; give every gateway the same --resume-key-file (docs/OPERATIONS.md, "Deploying at scale")');
  }
  // The same for the mailbox's deduplication key: without a shared one each gateway keys
  // the Nats-Msg-Id HMAC by a key of its own, and a retry through another gateway is a new id.
  if (config.nats.length > 0 && !files.msgIdKey) {
    log.info('mailbox deduplication: no --dedup-key-file, so a send retried through another gateway may be stored twice (the recipient\'s SDK drops the copy); give every gateway the same --dedup-key-file (docs/OPERATIONS.md, "Deploying at scale")');
  }
  let draining = false;
  let closed = false;

  // --admin-listen: /metrics moves there (the public port keeps /healthz and /readyz).
  let admin: AdminServer | null = null;
  const serveHttp = async (method: string, path: string, publicPort: boolean): Promise<HttpResponse> => {
    const p = path.split('?')[0];
    if (method !== 'GET' && method !== 'HEAD') return { status: 405, body: 'method not allowed\n' };
    if (p === '/healthz') return { status: 200, body: 'ok\n' };
    if (p === '/readyz') {
      const busOk = busStarter.started && bus.status().state === 'connected';
      if (draining) return { status: 503, body: 'draining\n' };
      return busOk ? { status: 200, body: 'ready\n' } : { status: 503, body: 'bus unavailable\n' };
    }
    if (p === '/metrics' && (config.adminListen === undefined || !publicPort)) {
      setBusState(metrics, bus.status().state, bus.counterStoreErrors?.());
      metrics.draining.set(draining ? 1 : 0);
      metrics.livePending.set(bus.livePending());
      setRequestPool(metrics, bus.requestPool?.());
      setBusRenewals(metrics, bus.subscriptionRenewals?.());
      metrics.sendBuffers.set(sendBudget.total);
      return { status: 200, headers: { 'content-type': metrics.registry.contentType }, body: await metrics.registry.metrics() };
    }
    return { status: 404, body: 'not found\n' };
  };
  const http = (method: string, path: string): Promise<HttpResponse> => serveHttp(method, path, true);

  const allowed = new Set(config.allowedOrigins);
  // Max connections (HTTP 503) and new-connection rate (HTTP 429): gateway/admission.ts.
  const admit = createAdmission({
    maxConnections,
    connectRatePerS: config.connectRate,
    connectBurst: config.connectBurst,
    openConnections: () => relay.sessionCount,
    rateLimited: metrics.rateLimited,
  });
  const sendBudget = new SendBudget(config.maxSendBuffersBytes);
  const loaded = await loadTransport(config.transport, {
    host: config.host,
    port: config.port,
    path: config.path,
    maxPayloadBytes: config.maxFrameBytes,
    idleTimeoutSeconds: config.idleTimeoutS,
    maxBackpressureBytes: config.maxBackpressureBytes,
    sendBudget,
    http,
    gate: ({ origin }) => {
      if (draining) return { ok: false, status: 503, reason: 'draining' };
      if (!busStarter.started) return { ok: false, status: 503, reason: 'not ready' };
      if (allowed.size > 0 && origin !== undefined && !allowed.has(origin)) {
        return { ok: false, status: 403, reason: 'origin not allowed' };
      }
      return admit();
    },
    handlers: {
      open: (s) => relay.open(s),
      message: (s, d) => relay.message(s, d),
      close: (s, code) => relay.close(s, code),
    },
  });
  const transport: Transport = loaded.transport;
  metrics.connectionsLimit.set(maxConnections);
  metrics.sendBuffersLimit.set(config.maxSendBuffersBytes);
  metrics.transportInfo.set({ transport: loaded.kind, reason: loaded.why }, 1);
  metrics.ed25519Info.set({ engine: ed.kind, reason: ed.why }, 1);
  // The one close path: a failed start below ends through it too, so nothing it began
  // (the bus, the privacy timers, the verifier, a listener) outlives the failure. A call
  // while it runs (a drain ending in it, a second caller) gets the same promise: it
  // settles once everything is closed, not at once.
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= closeOnce();
    return closing;
  };
  const closeOnce = async (): Promise<void> => {
    closed = true;
    draining = true;
    busStarter.stop();
    await relay.privacy.stop();
    relay.closeAll(CloseCode.GOING_AWAY, 'gateway closing');
    await transport.close(CloseCode.GOING_AWAY, 'gateway closing');
    // Closed connections whose registration had not finished remove the device a write of
    // theirs may have left listed (relay/session.ts #eraseUnfinished): over the bus, so
    // before it closes (before, they failed under the close and the devices stayed
    // listed, counted against their numbers' devices, until the idle expiry). Bounded.
    const left = relay.unfinishedInFlight;
    if (!(await relay.settleUnfinished(opts.unfinishedCloseWaitMs ?? UNFINISHED_CLOSE_WAIT_MS))) {
      log.warn({ left: relay.unfinishedInFlight, waitedFor: left }, 'closing: removals of unfinished registrations not done in time; the idle expiry removes what is left');
    }
    await bus.close();
    await verifier.close();
    await evaluator.close();
    files.nats?.files.stop();
    // Last: a scrape during the drain still sees it (draining, sessions moving).
    await admin?.close();
    log.info('gateway closed');
  };

  let port: number;
  try {
    port = await transport.listen();
  } catch (e) {
    await close();
    throw listenError('--port', config.host, config.port, 'another gateway', e);
  }
  // The OPRF worker thread is not started here but at the first evaluation (which waits
  // for it: ~0.2 s, seconds on a loaded machine). Started at listen (af39257), its heap,
  // and the module loading it adds to the loader thread, settled only tens of seconds
  // after start, at V8's choosing, and the idle benchmark's baseline then held memory
  // its later readings did not (CI 2026-12-07: -475 and -5,677 B per connection);
  // evaluator.ready() starts it ahead when a caller wants that (test/helpers' warmEvaluator).
  if (config.adminListen !== undefined) {
    const where = parseListen(config.adminListen)!; // checked by resolveConfig
    try {
      admin = await startAdminServer(where.host, where.port, (m, p) => serveHttp(m, p, false), (e) => log.warn({ err: e instanceof Error ? e.message : String(e) }, 'admin listener error'));
    } catch (e) {
      await close();
      throw listenError('--admin-listen', where.host, where.port, 'another gateway\'s admin listener', e);
    }
    log.info({ host: admin.host, port: admin.port }, 'admin listener (/metrics, /healthz, /readyz)');
  }
  const url = `ws://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}${config.path}`;
  // The start-up facts as a log line (stdout stays JSON only); gateway/cli.ts prints the
  // human line to stderr.
  // How devices may resume (docs/PROTOCOL.md, section 13): never the keys, only where they come from.
  const resume = relay.resume === null ? 'off' : files.resumeKeys ? `shared keys (${relay.resume.tickets.keyCount})` : 'own key';
  log.info({ url, port, transport: loaded.kind, why: loaded.why, bus: bus.kind, ed25519: ed.kind, ed25519Why: ed.why, resume }, 'gateway listening');


  // Lame-duck drain (SIGTERM). The listener stays open so /readyz keeps answering 503
  // (load balancers take the gateway out) and upgrades are refused with 503 by the gate.
  let draining$: Promise<void> | null = null;
  const drain = (o: { timeoutMs?: number; ratePerSecond?: number } = {}): Promise<void> => {
    draining$ ??= (async () => {
      if (closed) return close(); // nothing left to move: settles with the close under way
      draining = true;
      metrics.draining.set(1);
      const timeoutMs = o.timeoutMs ?? config.drainTimeoutMs;
      const rate = Math.max(1, o.ratePerSecond ?? config.drainRate);
      const deadline = monotonicMs() + timeoutMs;
      log.info({ sessions: relay.sessionCount, timeoutMs, rate }, 'draining');
      // reconnect op + close 4005, at a bounded rate. A closing session settles its live
      // deliveries as not acked, so the senders' gateways store them in the mailbox.
      const moved = await moveSessionsAway({
        sessions: () => relay.sessions(),
        count: () => relay.sessionCount,
        ratePerSecond: rate,
        deadline,
        jitterMs: config.drainJitterMs,
      });
      // Sends this gateway accepted are finished (delivered or stored) before the bus
      // closes: a live offer's deadline plus a mailbox store at most.
      const settled = await waitForZero(() => relay.acceptsInFlight, monotonicMs() + config.liveTimeoutMs + 5_000);
      log.info({ moved: moved.moved, left: moved.left, sendsSettled: settled }, 'drained');
      await close();
    })();
    return draining$;
  };

  return {
    port, url, adminPort: admin?.port ?? null, transport: loaded.kind, ed25519: ed.kind, resume, relay, metrics, bus, log, drain, close,
    busFailed: busStarter.whenFailed,
  };
}
