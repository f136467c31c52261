// Prometheus metrics (prom-client), one Registry per gateway instance so several
// gateways can live in one test process. Labels carry only fixed vocabularies (codes,
// outcomes, transport names): never a route, device, number or address.
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import { VERIFY_REFUSAL_REASONS } from './verify-gate.ts';
import { REFUSALS } from './verifier/verifier.ts';
import { CloseCode } from './errors.ts';
import type { NatsAccess } from './nats-connect-options.ts';

export interface RelayMetrics {
  registry: Registry;
  connections: Gauge;
  connectionsLimit: Gauge;
  livePending: Gauge;
  connectionsTotal: Counter;
  authenticated: Gauge;
  framesIn: Counter;
  framesOut: Counter;
  envelopesIn: Counter;
  envelopesOut: Counter<'path'>;
  deliveries: Counter<'path'>;
  mailboxStores: Counter;
  errors: Counter<'code'>;
  closes: Counter<'code'>;
  sendDrops: Counter;
  sendBuffers: Gauge;
  sendBuffersLimit: Gauge;
  authFailures: Counter;
  authRechecks: Counter<'outcome'>;
  /** The opt-out race's check of receiving authentications (relay/bus/unregistered.ts). */
  authOptoutChecks: Counter<'outcome'>;
  /** Removals announced as intended whose announcement did not follow (relay/bus/unregistered.ts). */
  removalIntentsUnconfirmed: Counter;
  authResumes: Counter<'result'>;
  ticketsIssued: Counter;
  sendOnlyOptOutCloses: Counter;
  registrations: Counter;
  unregistrations: Counter;
  /** set_prekey ops by outcome (PREKEY_ROTATION_OUTCOMES). */
  prekeyRotations: Counter<'outcome'>;
  rateLimitStoreErrors: Counter;
  /** NATS: JetStream requests waiting for a reply, by pool class (relay/bus/nats-requests.ts). */
  busRequestsPending: Gauge<'class'>;
  /** NATS: JetStream requests refused UNAVAILABLE for lack of room in their class. */
  busRequestsRefused: Counter<'class'>;
  busRenewals: Counter<'reason'>;
  busUp: Gauge;
  draining: Gauge;
  transportInfo: Gauge<'transport' | 'reason'>;
  ed25519Info: Gauge<'engine' | 'reason'>;
  sendLatency: Histogram<'outcome'>;
  /** Refusals by limit name (relay/limiter.ts LimitName). */
  rateLimited: Counter<'limit'>;
  /** Rate-limit buckets dropped before they had refilled (state bound too small). */
  rateLimitEvictions: Counter<'limit'>;
  /** 1 for the bus's current state (connected | reconnecting | closed), 0 for the others. */
  busState: Gauge<'state'>;
  /** Recipient side: envelope written to the device's socket -> the device's ack. */
  deliveryRoundTrip: Histogram<'path'>;
  /** Verification codes handed to the verifier, by outcome (VERIFIER_OUTCOMES). */
  verifierDeliveries: Counter<'outcome'>;
  /** Deliveries the SMS bridge refused with an HTTP status, by class (REFUSALS:
   *  busy | misconfigured | number; relay/verifier/webhook.ts refusalOf). */
  verifierRefusals: Counter<'class'>;
  /** verify_start charges given back because the verifier did not send the code, by
   *  result (refunded | kept: the refund failed and the charge stays). */
  verifyStartRefunds: Counter<'result'>;
  /** verify_start refused by the gateway's own bounds, by reason (relay/verify-gate.ts). */
  verifyStartsRefused: Counter<'reason'>;
  /** Sockets waiting for a verification code, and their cap. */
  verifyPending: Gauge;
  verifyPendingLimit: Gauge;
}

/** Every value the `limit` label takes, pre-set to 0 so alerts see the series at once. */
export const RATE_LIMIT_NAMES = ['connections', 'connect_rate', 'device_send', 'recipient_bytes', 'discovery_in_flight', 'sends_in_flight', 'verify_code_budget', 'verify_pending', 'send_only_connections', 'ticket_requests'] as const;
/** The limits kept in bounded keyed buckets (--rate-limit-keys), which can evict. */
export const EVICTING_LIMIT_NAMES = ['device_send', 'recipient_bytes'] as const;
/** Every value of hushwire_verifier_deliveries_total's `outcome` (relay/verifier/verifier.ts). */
export const VERIFIER_OUTCOMES = ['ok', 'failed', 'timeout'] as const;
/** Outcomes of a set_prekey op (hushwire_prekey_rotations_total). */
export const PREKEY_ROTATION_OUTCOMES = ['rotated', 'unchanged', 'bad_request', 'bad_signature', 'rate_limited', 'not_registered', 'unavailable'] as const;
export type PrekeyRotationOutcome = typeof PREKEY_ROTATION_OUTCOMES[number];
export const BUS_STATES = ['starting', 'connected', 'reconnecting', 'misconfigured', 'closed'] as const;
/** Every value of the `class` label of the bus request pool's series (relay/bus/nats-requests.ts). */
export const BUS_REQUEST_CLASSES = ['auth', 'other'] as const;

const CLOSE_NAMES = new Map<number, string>(Object.entries(CloseCode).map(([name, code]) => [code, name]));
/** The `code` values of hushwire_closes_total whose series exist from the start at 0: every
 *  close code the gateway closes a socket with (all of CloseCode but NORMAL, which only a
 *  client closes with), so a dashboard or alert on, say, DRAINING reads 0 before the first. */
export const GATEWAY_CLOSE_NAMES = Object.keys(CloseCode).filter((name) => name !== 'NORMAL');

/** The `code` label of hushwire_closes_total: the close code's name (a fixed vocabulary,
 *  never a bare number that could be mistaken for, or become, an identifier). */
export function closeCodeLabel(code: number): string {
  return CLOSE_NAMES.get(code) ?? 'OTHER';
}

/** Sets the bus-state gauges (called when /metrics is scraped). */
export function setBusState(m: RelayMetrics, state: string, counterStoreErrors?: number): void {
  for (const s of BUS_STATES) m.busState.set({ state: s }, s === state ? 1 : 0);
  m.busUp.set(state === 'connected' ? 1 : 0);
  if (counterStoreErrors !== undefined) {
    const seen = counterErrorsSeen.get(m) ?? 0;
    if (counterStoreErrors > seen) m.rateLimitStoreErrors.inc(counterStoreErrors - seen);
    counterErrorsSeen.set(m, Math.max(seen, counterStoreErrors));
  }
}
/** The bus's counter-store error count at the last scrape, per metrics set. */
const counterErrorsSeen = new WeakMap<RelayMetrics, number>();

/** Sets the request-pool series from Bus.requestPool() (called when /metrics is scraped). */
export function setRequestPool(m: RelayMetrics, pool: Record<(typeof BUS_REQUEST_CLASSES)[number], { pending: number; refused: number }> | undefined): void {
  if (pool === undefined) return;
  let seen = refusalsSeen.get(m);
  if (seen === undefined) refusalsSeen.set(m, seen = { auth: 0, other: 0 });
  for (const c of BUS_REQUEST_CLASSES) {
    m.busRequestsPending.set({ class: c }, pool[c].pending);
    if (pool[c].refused > seen[c]) m.busRequestsRefused.inc({ class: c }, pool[c].refused - seen[c]);
    seen[c] = Math.max(seen[c], pool[c].refused);
  }
}
/** Every value of the `reason` label of hushwire_bus_renewals_total (relay/bus/nats-heal.ts). */
export const BUS_RENEWAL_REASONS = ['probe', 'timeouts'] as const;

/** Sets hushwire_bus_renewals_total from Bus.subscriptionRenewals() (called when /metrics is scraped). */
export function setBusRenewals(m: RelayMetrics, renewals: Record<(typeof BUS_RENEWAL_REASONS)[number], number> | undefined): void {
  if (renewals === undefined) return;
  let seen = renewalsSeen.get(m);
  if (seen === undefined) renewalsSeen.set(m, seen = { probe: 0, timeouts: 0 });
  for (const r of BUS_RENEWAL_REASONS) {
    if (renewals[r] > seen[r]) m.busRenewals.inc({ reason: r }, renewals[r] - seen[r]);
    seen[r] = Math.max(seen[r], renewals[r]);
  }
}
/** The bus's renewals at the last scrape, per metrics set. */
const renewalsSeen = new WeakMap<RelayMetrics, Record<(typeof BUS_RENEWAL_REASONS)[number], number>>();
/** The bus's request-pool refusals at the last scrape, per metrics set. */
const refusalsSeen = new WeakMap<RelayMetrics, Record<(typeof BUS_REQUEST_CLASSES)[number], number>>();

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): RelayMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'hushwire_process_' });
  const r = [registry];
  const m: RelayMetrics = {
    registry,
    connections: new Gauge({ name: 'hushwire_connections', help: 'Open WebSocket connections', registers: r }),
    connectionsLimit: new Gauge({ name: 'hushwire_connections_limit', help: 'Open WebSocket connections this gateway accepts (--max-connections, lowered to what its open-files limit holds); more are refused with HTTP 503', registers: r }),
    livePending: new Gauge({ name: 'hushwire_live_pending', help: 'Live deliveries offered by this gateway without an outcome yet (on NATS at most 65,536; beyond, new ones are stored in mailboxes)', registers: r }),
    connectionsTotal: new Counter({ name: 'hushwire_connections_total', help: 'WebSocket connections accepted', registers: r }),
    authenticated: new Gauge({ name: 'hushwire_authenticated_devices', help: 'Connections authenticated as a device', registers: r }),
    framesIn: new Counter({ name: 'hushwire_frames_in_total', help: 'Binary frames received', registers: r }),
    framesOut: new Counter({ name: 'hushwire_frames_out_total', help: 'Frames sent', registers: r }),
    envelopesIn: new Counter({ name: 'hushwire_envelopes_in_total', help: 'Envelopes accepted from senders', registers: r }),
    envelopesOut: new Counter({ name: 'hushwire_envelopes_out_total', help: 'Envelopes written to device sockets', labelNames: ['path'], registers: r }),
    deliveries: new Counter({ name: 'hushwire_deliveries_total', help: 'Envelopes acknowledged to senders, by path (live = device acked, mailbox = stored durably)', labelNames: ['path'], registers: r }),
    mailboxStores: new Counter({ name: 'hushwire_mailbox_stores_total', help: 'Envelopes stored in mailboxes', registers: r }),
    errors: new Counter({ name: 'hushwire_errors_total', help: 'Error replies and failed receipts by code', labelNames: ['code'], registers: r }),
    closes: new Counter({ name: 'hushwire_closes_total', help: 'Sockets closed by the gateway, by close code name (DRAINING, SLOW_CONSUMER, ...)', labelNames: ['code'], registers: r }),
    sendDrops: new Counter({ name: 'hushwire_send_buffer_drops_total', help: 'Sockets closed because their send buffer went over the bound (their own, or all buffers together over --max-send-buffers-bytes)', registers: r }),
    sendBuffers: new Gauge({ name: 'hushwire_send_buffers_bytes', help: 'Bytes waiting in all sockets\' send buffers (bounded by --max-send-buffers-bytes)', registers: r }),
    sendBuffersLimit: new Gauge({ name: 'hushwire_send_buffers_limit_bytes', help: 'The bound on all sockets\' send buffers together (--max-send-buffers-bytes)', registers: r }),
    authFailures: new Counter({ name: 'hushwire_auth_failures_total', help: 'Failed authentications', registers: r }),
    authResumes: new Counter({ name: 'hushwire_auth_resumes_total', help: 'Authentications with a resumption ticket (docs/PROTOCOL.md section 13), by result: resumed, refused (the ticket does not open here, or its verifier is not in the device\'s directory record: the device signs instead), failed (the ticket opened, its verifier in the record, but the proof was wrong: answered RESUME_REFUSED too)', labelNames: ['result'], registers: r }),
    sendOnlyOptOutCloses: new Counter({ name: 'hushwire_send_only_unregistered_total', help: 'Devices whose send-only connections this gateway closed (4006) because its periodic directory check found them gone (an opt-out or expiry made through another gateway, whose announcement this gateway missed)', registers: r }),
    ticketsIssued: new Counter({ name: 'hushwire_resume_tickets_issued_total', help: 'Resumption tickets issued (ticket_request answered)', registers: r }),
    authRechecks: new Counter({ name: 'hushwire_auth_directory_rechecks_total', help: 'Authentications the ordinary directory read would refuse, checked again at the directory leader, by outcome (accepted = a lagging replica would have refused a valid device)', labelNames: ['outcome'], registers: r }),
    removalIntentsUnconfirmed: new Counter({ name: 'hushwire_removal_intents_unconfirmed_total', help: 'Device removals (opt-out, idle expiry, unfinished registration) announced to every gateway as intended whose announcement as done did not follow within 10 s (relay/bus/unregistered.ts): the removal failed, or the gateway making it died or lost NATS between the removal and its announcement. This gateway then read the record of its sessions of each such device at the directory\'s leader (counted in hushwire_auth_optout_checks_total{outcome="reread"})', registers: r }),
    authOptoutChecks: new Counter({ name: 'hushwire_auth_optout_checks_total', help: 'Receiving authentications checked, once subscribed, against opt-outs and expiries announced since their directory read (relay/bus/unregistered.ts), by outcome: announced (the device left the directory meanwhile: closed 4006), clear (nothing announced, nothing missed: no read), reread (an announcement may have been missed: the bus lost NATS or reconnected since, within 1 s of that, the authentication took over 30 s, or over 16,384 were announced in 30 s: the record read again; also each read again, after a reconnect, of the sessions checked in the 45 s before the loss, and of those once more at the directory\'s leader 4 s later; the same after another gateway\'s beats were lost (its log line: bus: beats of another gateway lost); and the reads at the leader for a removal announced as intended but not as done within 10 s)', labelNames: ['outcome'], registers: r }),
    registrations: new Counter({ name: 'hushwire_registrations_total', help: 'Devices registered', registers: r }),
    unregistrations: new Counter({ name: 'hushwire_unregistrations_total', help: 'Devices unregistered', registers: r }),
    prekeyRotations: new Counter({ name: 'hushwire_prekey_rotations_total', help: 'Prekey rotations (set_prekey) by outcome: rotated, unchanged (the current prekey sent again), and refusals bad_request, bad_signature, rate_limited, not_registered, unavailable', labelNames: ['outcome'], registers: r }),
    rateLimitStoreErrors: new Counter({ name: 'hushwire_rate_limit_store_errors_total', help: 'Rate-limit counter calls that failed because the counter store (NATS bucket KV_<prefix>_rl) was unavailable: each fails a registration, discovery or verification step with UNAVAILABLE', registers: r }),
    busRequestsPending: new Gauge({ name: 'hushwire_bus_requests_pending', help: 'NATS JetStream requests of this gateway waiting for their reply, by class (auth = authentications\' directory reads, which may use the whole pool of 65,536; other = everything else, at most 49,152)', labelNames: ['class'], registers: r }),
    busRequestsRefused: new Counter({ name: 'hushwire_bus_requests_refused_total', help: 'NATS JetStream requests refused UNAVAILABLE at once because their class of the request pool was full (NATS slow or stalled), by class (auth, other)', labelNames: ['class'], registers: r }),
    busRenewals: new Counter({ name: 'hushwire_bus_renewals_total', help: 'Forced reconnects of the bus to NATS to renew its subscriptions, by reason (probe = the NATS server answered a PING but did not deliver the bus\'s own probe; timeouts = JetStream requests timed out in a row while connected): a NATS server may have lost the interest in one of them; at most one a minute, backing off to one per 15 minutes while it persists', labelNames: ['reason'], registers: r }),
    busUp: new Gauge({ name: 'hushwire_bus_up', help: '1 when the bus (NATS or embedded) is connected', registers: r }),
    draining: new Gauge({ name: 'hushwire_draining', help: '1 while the gateway is draining', registers: r }),
    transportInfo: new Gauge({ name: 'hushwire_transport_info', help: 'The WebSocket transport in use (value 1) and why it was chosen', labelNames: ['transport', 'reason'], registers: r }),
    ed25519Info: new Gauge({ name: 'hushwire_ed25519_info', help: 'The Ed25519 signature engine in use (value 1) and why it was chosen', labelNames: ['engine', 'reason'], registers: r }),
    sendLatency: new Histogram({
      name: 'hushwire_send_seconds', help: 'Time from an envelope arriving to its receipt', labelNames: ['outcome'], registers: r,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
    rateLimited: new Counter({ name: 'hushwire_rate_limited_total', help: 'Requests refused by a limit (connections: HTTP 503 gateway full; connect_rate: HTTP 429; device_send and recipient_bytes: RATE_LIMITED receipts)', labelNames: ['limit'], registers: r }),
    rateLimitEvictions: new Counter({ name: 'hushwire_rate_limit_evictions_total', help: 'Rate-limit buckets dropped before refilling because --rate-limit-keys was reached', labelNames: ['limit'], registers: r }),
    busState: new Gauge({ name: 'hushwire_bus_state', help: 'Bus (NATS) connection state: 1 for the current state', labelNames: ['state'], registers: r }),
    deliveryRoundTrip: new Histogram({
      name: 'hushwire_delivery_roundtrip_seconds', help: 'Envelope written to a device socket until the device acknowledged it, by path (live | mailbox)', labelNames: ['path'], registers: r,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    verifierDeliveries: new Counter({ name: 'hushwire_verifier_deliveries_total', help: 'Verification codes handed to the verifier, by outcome (ok = sent; failed = refused or unreachable; timeout = no answer within --verifier-timeout-ms)', labelNames: ['outcome'], registers: r }),
    verifierRefusals: new Counter({ name: 'hushwire_verifier_refusals_total', help: 'Verification codes the SMS bridge refused with an HTTP status (each also counted failed in hushwire_verifier_deliveries_total; no code sent, charge given back), by class: busy (408, 425, 429, 503: answered UNAVAILABLE with the bridge\'s Retry-After), misconfigured (401, 402, 403, 407, 405, 415: the token, the URL or the provider account is wrong, every number refused; UNAVAILABLE, retry in 60 s), number (any other 4xx: the bridge will not send to that number; BAD_NUMBER)', labelNames: ['class'], registers: r }),
    verifyStartRefunds: new Counter({ name: 'hushwire_verify_start_refunds_total', help: 'Per-number verify_start charges of failed verifier deliveries, by result (refunded: refused (4xx, 503) or never reached, no code sent, charge given back; kept: the refund failed; withheld: no answer in time, a 5xx other than 503, a dropped connection: the code may have been sent; or a register tried a code against it while it was delivered: charge stays)', labelNames: ['result'], registers: r }),
    verifyStartsRefused: new Counter({ name: 'hushwire_verify_starts_refused_total', help: 'verify_start refused RATE_LIMITED by this gateway\'s own bounds before any code was sent or charged, by reason (code_budget: --verify-start-rate/--verify-start-burst spent; pending_cap: --max-pending-verifications sockets already wait for a code)', labelNames: ['reason'], registers: r }),
    verifyPending: new Gauge({ name: 'hushwire_verify_pending', help: 'Sockets waiting for a verification code (open until the code expires instead of the auth deadline), at most --max-pending-verifications', registers: r }),
    verifyPendingLimit: new Gauge({ name: 'hushwire_verify_pending_limit', help: 'The cap on sockets waiting for a verification code (--max-pending-verifications)', registers: r }),
  };
  for (const c of [m.framesIn, m.framesOut, m.envelopesIn, m.envelopesOut, m.deliveries]) countAtScrape(c as Counter<string>);
  for (const h of [m.sendLatency, m.deliveryRoundTrip]) observeAtScrape(h as Histogram<string>);
  for (const limit of RATE_LIMIT_NAMES) m.rateLimited.inc({ limit }, 0);
  // Only the keyed buckets (relay/limiter.ts) can be evicted; a series that can never
  // move would suggest otherwise.
  for (const limit of EVICTING_LIMIT_NAMES) m.rateLimitEvictions.inc({ limit }, 0);
  for (const c of BUS_REQUEST_CLASSES) {
    m.busRequestsRefused.inc({ class: c }, 0);
    m.busRequestsPending.set({ class: c }, 0);
  }
  for (const reason of BUS_RENEWAL_REASONS) m.busRenewals.inc({ reason }, 0);
  for (const outcome of ['accepted', 'refused']) m.authRechecks.inc({ outcome }, 0);
  for (const outcome of ['announced', 'clear', 'reread']) m.authOptoutChecks.inc({ outcome }, 0);
  for (const result of ['resumed', 'refused', 'failed']) m.authResumes.inc({ result }, 0);
  for (const outcome of PREKEY_ROTATION_OUTCOMES) m.prekeyRotations.inc({ outcome }, 0);
  for (const outcome of VERIFIER_OUTCOMES) m.verifierDeliveries.inc({ outcome }, 0);
  for (const refusal of REFUSALS) m.verifierRefusals.inc({ class: refusal }, 0);
  for (const result of ['refunded', 'kept', 'withheld']) m.verifyStartRefunds.inc({ result }, 0);
  for (const reason of VERIFY_REFUSAL_REASONS) m.verifyStartsRefused.inc({ reason }, 0);
  for (const code of GATEWAY_CLOSE_NAMES) m.closes.inc({ code }, 0);
  return m;
}

/** hushwire_nats_client_cert_expiry_seconds: seconds until the client certificate NATS
 *  connects present (--nats-tls-cert-file as last read) expires, negative once it has.
 *  Registered only with a client certificate (a series without one would read 0). */
export function natsClientCertExpiryGauge(registry: Registry, notAfter: () => number | null): Gauge {
  const g: Gauge = new Gauge({
    name: 'hushwire_nats_client_cert_expiry_seconds',
    help: 'Seconds until the NATS client certificate (--nats-tls-cert-file, read again at each NATS connect) expires; negative once expired',
    registers: [registry],
    collect: () => {
      const t = notAfter();
      if (t !== null && Number.isFinite(t)) g.set(Math.round((t - Date.now()) / 1000));
    },
  });
  return g;
}

/** Seconds from now to `t` (ms since the epoch), as a gauge value: +Inf for never, NaN
 *  for unknown. */
const secondsUntil = (t: number): number => Number.isFinite(t) ? Math.round((t - Date.now()) / 1000) : t;

/** hushwire_nats_user_jwt_expiry_seconds: seconds until the user JWT of --nats-creds-file
 *  (as last read in good shape) expires, negative once it has; +Inf for a JWT without
 *  `exp` (it never expires), NaN when its claims could not be read (not watched).
 *  Registered only with --nats-creds-file. */
export function natsUserJwtExpiryGauge(registry: Registry, notAfter: () => number | null): Gauge {
  const g: Gauge = new Gauge({
    name: 'hushwire_nats_user_jwt_expiry_seconds',
    help: 'Seconds until the NATS user JWT (--nats-creds-file, read again at each NATS connect) expires; negative once expired, +Inf without exp, NaN if its claims could not be read',
    registers: [registry],
    collect: () => {
      const t = notAfter();
      if (t !== null) g.set(secondsUntil(t));
    },
  });
  return g;
}

/** hushwire_nats_server_cert_expiry_seconds: seconds until the earliest-expiring
 *  certificate of the chain the NATS server presented at the last TLS handshake (its
 *  own, intermediates, the CA it chains to) expires; NaN before the first handshake.
 *  Registered only when TLS to NATS is required (the chain is read through the `tls`
 *  option). */
export function natsServerCertExpiryGauge(registry: Registry, notAfter: () => number | null): Gauge {
  const g: Gauge = new Gauge({
    name: 'hushwire_nats_server_cert_expiry_seconds',
    help: 'Seconds until the first certificate to expire in the chain the NATS server presented at the last TLS handshake (server certificate, intermediates, the CA it chains to) expires; negative once expired, NaN before the first handshake',
    registers: [registry],
    collect: () => {
      const t = notAfter();
      if (t !== null) g.set(secondsUntil(t));
    },
  });
  return g;
}

/** The NATS expiry gauges that apply to `access` (gateways and `hushwire oprf`). */
export function natsAccessExpiryGauges(registry: Registry, access: NatsAccess): void {
  const files = access.files;
  if (access.clientCert) natsClientCertExpiryGauge(registry, () => files.clientCertNotAfter());
  if (access.authBy === '--nats-creds-file') natsUserJwtExpiryGauge(registry, () => files.userJwtNotAfter());
  if (access.tls !== undefined) natsServerCertExpiryGauge(registry, () => files.serverChainNotAfter());
}

/** hushwire_nats_refused_connects_total{link}: NATS connect attempts refused (credentials
 *  or TLS settings, relay/nats-connect.ts natsRefusal) after the process had connected,
 *  per link ("bus", "oprf_client", "oprf_evaluator"): every attempt, though the log says
 *  it once and then at most once a minute (relay/nats-refusals.ts). */
export function natsRefusedConnectsCounter(registry: Registry, access: NatsAccess): Counter {
  const refusals = access.files.refusals;
  const c: Counter = new Counter({
    name: 'hushwire_nats_refused_connects_total',
    help: 'NATS reconnect attempts refused by NATS (credentials or TLS settings: expired or revoked credentials, a rotation done on the server first), per NATS link of this process (bus, oprf_client, oprf_evaluator); the log says it once, then at most once a minute',
    labelNames: ['link'],
    registers: [registry],
    collect: () => {
      c.reset();
      for (const [link, n] of refusals.totals()) c.inc({ link }, n);
    },
  });
  return c;
}

/** The NATS metrics that apply to `access` (gateways and `hushwire oprf`): the expiry
 *  gauges and the refused-connects counter. */
export function natsAccessMetrics(registry: Registry, access: NatsAccess): void {
  natsAccessExpiryGauges(registry, access);
  natsRefusedConnectsCounter(registry, access);
}

/** Label sets of the per-message metrics, made once instead of an object per message,
 *  and frozen so that hasOneKey checks their shape once. */
export const PATH_LABELS = { live: Object.freeze({ path: 'live' }), mailbox: Object.freeze({ path: 'mailbox' }) } as const;
export const OUTCOME_LABELS = {
  delivered: Object.freeze({ outcome: 'delivered' }),
  stored: Object.freeze({ outcome: 'stored' }),
  failed: Object.freeze({ outcome: 'failed' }),
} as const;

/** Whether `labels` has exactly one own key. Remembered per labels object: the hot
 *  paths pass the same constant objects every time (PATH_LABELS, ...), and counting
 *  keys with Object.keys allocated an array on every call (~5% of a gateway's heap
 *  allocation in chat). Weakly held, so ad-hoc label objects are not kept. */
const singleKey = new WeakMap<object, boolean>();
function hasOneKey(labels: Record<string, string>): boolean {
  let one = singleKey.get(labels);
  if (one === undefined) {
    one = Object.keys(labels).length === 1;
    // Only frozen objects are remembered: one that can change could gain a key later.
    if (Object.isFrozen(labels)) singleKey.set(labels, one);
  }
  return one;
}

/**
 * For the counters bumped several times per delivered message: inc() only adds to a
 * plain number (per value of the counter's one label), and the sums go to prom-client in
 * the counter's collect hook, which runs whenever the counter is read (a /metrics
 * scrape, `registry.metrics()`, `counter.get()`). prom-client's own inc() validates and
 * hashes the labels and allocates on every call. Same output, same API; only counters
 * with at most one label and non-negative increments go through here.
 */
function countAtScrape(c: Counter<string>): void {
  const labelName = (c as unknown as { labelNames: string[] }).labelNames[0];
  const direct = c.inc.bind(c) as (labels?: Record<string, string> | number, value?: number) => void;
  const pending = new Map<string, number>();
  let unlabelled = 0;
  c.inc = ((labels?: Record<string, string> | number, value?: number): void => {
    if (labels === undefined || typeof labels === 'number') {
      const v = labels ?? 1;
      if (!(v >= 0)) return direct(v); // let prom-client throw its own error
      unlabelled += v;
      return;
    }
    const lv = labelName === undefined ? undefined : labels[labelName];
    const v = value ?? 1;
    if (lv === undefined || !hasOneKey(labels) || !(v >= 0)) return direct(labels, value);
    pending.set(lv, (pending.get(lv) ?? 0) + v);
  }) as Counter<string>['inc'];
  (c as unknown as { collect: () => void }).collect = () => {
    if (unlabelled > 0) direct(unlabelled);
    unlabelled = 0;
    for (const [lv, n] of pending) direct({ [labelName as string]: lv }, n);
    pending.clear();
  };
}

/** prom-client 15's per-label-set histogram state (pinned exactly in package.json;
 *  test/ops/metrics.test.ts compares the output with prom-client's own observe()). */
interface HistogramEntry { labels: Record<string, string>; bucketValues: Record<number, number>; sum: number; count: number }

/**
 * Like countAtScrape, for the two histograms observed once per delivered message (with
 * one label each): observe() adds to per-label bucket counts in plain arrays, and the
 * counts are added to prom-client's state in the collect hook. Anything else (no label,
 * other labels, a non-finite value) goes to prom-client's observe() directly.
 */
function observeAtScrape(h: Histogram<string>): void {
  const internals = h as unknown as { labelNames: string[]; upperBounds: number[]; hashMap: Record<string, HistogramEntry> };
  const labelName = internals.labelNames[0];
  const bounds = internals.upperBounds;
  const direct = h.observe.bind(h) as (labels: Record<string, string> | number, value?: number) => void;
  const pending = new Map<string, { counts: number[]; sum: number; n: number }>();
  h.observe = ((labels: Record<string, string> | number, value?: number): void => {
    if (typeof labels !== 'object' || labels === null || labelName === undefined || typeof value !== 'number' || !Number.isFinite(value)) {
      return direct(labels, value);
    }
    const lv = labels[labelName];
    if (lv === undefined || !hasOneKey(labels)) return direct(labels, value);
    let p = pending.get(lv);
    if (p === undefined) {
      p = { counts: new Array<number>(bounds.length).fill(0), sum: 0, n: 0 };
      pending.set(lv, p);
    }
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        (p.counts[i] as number)++;
        break;
      }
    }
    p.sum += value;
    p.n++;
  }) as Histogram<string>['observe'];
  (h as unknown as { collect: () => void }).collect = () => {
    for (const [lv, p] of pending) {
      if (p.n === 0) continue;
      const find = (): HistogramEntry | undefined => Object.values(internals.hashMap).find((e) => e.labels[labelName as string] === lv);
      let e = find();
      if (e === undefined) {
        h.zero({ [labelName as string]: lv });
        e = find();
      }
      if (e === undefined) continue;
      for (let i = 0; i < bounds.length; i++) {
        const b = bounds[i] as number;
        e.bucketValues[b] = (e.bucketValues[b] ?? 0) + (p.counts[i] as number);
        p.counts[i] = 0;
      }
      e.sum += p.sum;
      e.count += p.n;
      p.sum = 0;
      p.n = 0;
    }
  };
}
