// Gateway configuration: one table of settings, each a CLI flag and a HUSHWIRE_*
// environment variable, with its unit and default. The table generates the commander
// options (`hushwire gateway --help`) and is checked against docs/OPERATIONS.md by a
// test, so the three never drift apart. Precedence: flag > environment > default.
// Invalid values fail at start with one clear line naming the flag.
import { checkEvaluatorSettings } from '../relay/evaluator-settings.ts';
import { natsUrlProblem } from '../relay/nats-endpoints.ts';
import { INBOX_PREFIX_PROBLEM, INBOX_PREFIX_RE } from '../relay/nats-permissions.ts';
import { NATS_ACCESS_SETTINGS, natsAccessProblem, type NatsAccessSettings } from '../relay/nats-connect-options.ts';
import { webhookUrlProblem } from '../relay/verifier/webhook.ts';
import { parseListen } from './admin-server.ts';

export type SettingType = 'string' | 'int' | 'enum' | 'list' | 'bool' | 'secret';

export interface Setting {
  key: keyof GatewayConfig;
  flag: string;           // without leading dashes
  env: string;            // HUSHWIRE_...
  type: SettingType;
  default: string | number | boolean | string[] | undefined;
  unit?: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
  help: string;
}

/** The NATS connection's TLS and credential settings come from NatsAccessSettings. */
export interface GatewayConfig extends Required<NatsAccessSettings> {
  host: string;
  port: number;
  path: string;
  adminListen: string | undefined;
  transport: 'auto' | 'uws' | 'ws';
  ed25519: 'auto' | 'libsodium' | 'openssl';
  verifier: 'dev' | 'webhook';
  verifierUrl: string | undefined;
  verifierTokenFile: string | undefined;
  verifierTimeoutMs: number;
  oprfKeyFile: string | undefined;
  oprfKey: string | undefined;
  oprfEvaluator: string[];
  oprfPublicKey: string[];
  oprfTimeoutMs: number;
  natsPrefix: string;
  natsInboxPrefix: string;
  natsReplicas: number;
  mailboxShards: number;
  name: string;
  logLevel: string;
  maxFrameBytes: number;
  maxEnvelopeBytes: number;
  authTimeoutMs: number;
  idleTimeoutS: number;
  maxBackpressureBytes: number;
  maxSendBuffersBytes: number;
  liveTimeoutMs: number;
  maxSendsInFlight: number;
  maxDevicesPerRoute: number;
  mailboxMaxMessages: number;
  mailboxMaxAgeS: number;
  mailboxLowerLimits: boolean;
  mailboxPage: number;
  mailboxAckTimeoutMs: number;
  allowedOrigins: string[];
  drainTimeoutMs: number;
  drainRate: number;
  drainJitterMs: number;
  maxConnections: number;
  connectRate: number;
  connectBurst: number;
  sendRate: number;
  sendBurst: number;
  recipientBudgetBytes: number;
  recipientWindowS: number;
  rateLimitKeys: number;
  verifyStartRate: number;
  verifyStartBurst: number;
  verifyStartScope: 'cluster' | 'gateway';
  maxPendingVerifications: number;
  discoveryFirstSync: number;
  discoveryDaily: number;
  discoveryRouteDaily: number;
  verifyStartsPerNumber: number;
  deviceIdleExpiryS: number;
  prekeyRotationIntervalS: number;
  dedupKeyFile: string | undefined;
  resumeKeyFile: string | undefined;
  resumeTicketTtlS: number;
}

export const SETTINGS: readonly Setting[] = [
  { key: 'host', flag: 'host', env: 'HUSHWIRE_HOST', type: 'string', default: '127.0.0.1', help: 'Address to listen on (0.0.0.0 for all interfaces)' },
  { key: 'port', flag: 'port', env: 'HUSHWIRE_PORT', type: 'int', default: 8480, min: 0, max: 65535, help: 'TCP port for WebSocket and HTTP (0 = any free port)' },
  { key: 'path', flag: 'path', env: 'HUSHWIRE_PATH', type: 'string', default: '/ws', help: 'WebSocket path' },
  { key: 'adminListen', flag: 'admin-listen', env: 'HUSHWIRE_ADMIN_LISTEN', type: 'string', default: undefined, help: 'HOST:PORT of a separate HTTP listener for /metrics, /healthz and /readyz (e.g. 127.0.0.1:9480); when set, the public port no longer serves /metrics' },
  { key: 'nats', flag: 'nats', env: 'HUSHWIRE_NATS', type: 'list', default: [], help: 'NATS server URL(s), comma-separated; absent = embedded single-node bus' },
  // TLS and credentials for NATS, the same flags as `hushwire oprf` (relay/nats-connect-options.ts).
  ...NATS_ACCESS_SETTINGS.map((n): Setting => ({ ...n, type: 'string', default: undefined })),
  { key: 'transport', flag: 'transport', env: 'HUSHWIRE_TRANSPORT', type: 'enum', choices: ['auto', 'uws', 'ws'], default: 'auto', help: 'WebSocket library: auto = uWebSockets.js if a build loads, else ws' },
  { key: 'ed25519', flag: 'ed25519', env: 'HUSHWIRE_ED25519', type: 'enum', choices: ['auto', 'libsodium', 'openssl'], default: 'auto', help: 'Ed25519 signature engine (process-wide): auto = libsodium (sodium-native) if its binary loads, else OpenSSL' },
  { key: 'verifier', flag: 'verifier', env: 'HUSHWIRE_VERIFIER', type: 'enum', choices: ['dev', 'webhook'], default: 'dev', help: 'Number verifier: dev (INSECURE, returns the code to the client) or webhook' },
  { key: 'verifierUrl', flag: 'verifier-url', env: 'HUSHWIRE_VERIFIER_URL', type: 'string', default: undefined, help: 'Webhook verifier: URL that receives POST {"number","code"}' },
  { key: 'verifierTokenFile', flag: 'verifier-token-file', env: 'HUSHWIRE_VERIFIER_TOKEN_FILE', type: 'string', default: undefined, help: 'Webhook verifier: file with a bearer token for the URL' },
  { key: 'verifierTimeoutMs', flag: 'verifier-timeout-ms', env: 'HUSHWIRE_VERIFIER_TIMEOUT_MS', type: 'int', default: 5_000, unit: 'ms', min: 500, max: 60_000, help: 'Webhook verifier: deadline of each POST, below --auth-timeout-ms; no answer by then fails the verify_start with UNAVAILABLE (the charge stays: the code may have been sent)' },
  { key: 'oprfKeyFile', flag: 'oprf-key-file', env: 'HUSHWIRE_OPRF_KEY_FILE', type: 'string', default: undefined, help: 'File with the OPRF key: a 32-byte seed as 64 hex chars (hushwire oprf-key generate) or a share (oprf-key split); with --nats, this or --oprf-evaluator is required' },
  { key: 'oprfKey', flag: 'oprf-key', env: 'HUSHWIRE_OPRF_KEY', type: 'secret', default: undefined, help: 'OPRF key seed as 64 hex chars (prefer the file; never logged)' },
  { key: 'oprfEvaluator', flag: 'oprf-evaluator', env: 'HUSHWIRE_OPRF_EVALUATOR', type: 'list', default: [], help: 'Id of a `hushwire oprf` evaluator reached over NATS instead of a local key; twice for a split key (repeatable or comma-separated)' },
  { key: 'oprfPublicKey', flag: 'oprf-public-key', env: 'HUSHWIRE_OPRF_PUBLIC_KEY', type: 'list', default: [], help: 'Pinned public key (64 hex chars) of each --oprf-evaluator, same order (repeatable or comma-separated)' },
  { key: 'oprfTimeoutMs', flag: 'oprf-timeout-ms', env: 'HUSHWIRE_OPRF_TIMEOUT_MS', type: 'int', default: 5_000, unit: 'ms', min: 100, max: 60_000, help: 'Deadline of each request to an OPRF evaluator; then UNAVAILABLE' },
  { key: 'natsPrefix', flag: 'nats-prefix', env: 'HUSHWIRE_NATS_PREFIX', type: 'string', default: 'hw', help: 'Subject prefix and stream/bucket name stem on NATS' },
  { key: 'natsInboxPrefix', flag: 'nats-inbox-prefix', env: 'HUSHWIRE_NATS_INBOX_PREFIX', type: 'string', default: '_INBOX', help: 'Prefix of this gateway\'s NATS reply subjects; one per role (e.g. _INBOX_hw_gw) lets NATS permissions keep other users from reading the replies (docs/OPERATIONS.md, "NATS permissions")' },
  { key: 'mailboxShards', flag: 'mailbox-shards', env: 'HUSHWIRE_MAILBOX_SHARDS', type: 'int', default: 16, min: 1, max: 64, help: 'JetStream streams the mailbox is spread over (HW_MBOX_0..N-1; 1 = the single stream HW_MBOX); every gateway of a deployment must use the same number' },
  { key: 'natsReplicas', flag: 'nats-replicas', env: 'HUSHWIRE_NATS_REPLICAS', type: 'int', default: 1, min: 1, max: 5, help: 'JetStream replicas of the mailbox stream and the directory and counter buckets (3 on a 3-node cluster); applied when they are created' },
  { key: 'name', flag: 'name', env: 'HUSHWIRE_NAME', type: 'string', default: 'hushwire-gateway', help: 'Gateway name (NATS connection name, logs)' },
  { key: 'logLevel', flag: 'log-level', env: 'HUSHWIRE_LOG_LEVEL', type: 'enum', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'], default: 'info', help: 'Log level' },
  { key: 'maxFrameBytes', flag: 'max-frame-bytes', env: 'HUSHWIRE_MAX_FRAME_BYTES', type: 'int', default: 262_144, unit: 'bytes', min: 1024, max: 16 * 1024 * 1024, help: 'Largest WebSocket frame accepted; larger closes with 1009' },
  { key: 'maxEnvelopeBytes', flag: 'max-envelope-bytes', env: 'HUSHWIRE_MAX_ENVELOPE_BYTES', type: 'int', default: 70_000, unit: 'bytes', min: 512, max: 1024 * 1024, help: 'Largest single envelope; larger gets TOO_LARGE' },
  { key: 'authTimeoutMs', flag: 'auth-timeout-ms', env: 'HUSHWIRE_AUTH_TIMEOUT_MS', type: 'int', default: 10_000, unit: 'ms', min: 100, max: 600_000, help: 'Time to authenticate after connect; then close 4001' },
  { key: 'idleTimeoutS', flag: 'idle-timeout-s', env: 'HUSHWIRE_IDLE_TIMEOUT_S', type: 'int', default: 60, unit: 's', min: 8, max: 960, help: 'Close sockets silent this long (pings are sent at half of it); a multiple of 4' },
  { key: 'maxBackpressureBytes', flag: 'max-backpressure-bytes', env: 'HUSHWIRE_MAX_BACKPRESSURE_BYTES', type: 'int', default: 1_048_576, unit: 'bytes', min: 16_384, max: 256 * 1024 * 1024, help: 'Per-socket send buffer bound; over it the socket closes with 4004' },
  { key: 'maxSendBuffersBytes', flag: 'max-send-buffers-bytes', env: 'HUSHWIRE_MAX_SEND_BUFFERS_BYTES', type: 'int', default: 512 * 1024 * 1024, unit: 'bytes', min: 1_048_576, max: 64 * 1024 * 1024 * 1024, help: 'All sockets\' send buffers together; over it a socket holding more than 64 KiB closes with 4004' },
  { key: 'liveTimeoutMs', flag: 'live-timeout-ms', env: 'HUSHWIRE_LIVE_TIMEOUT_MS', type: 'int', default: 5_000, unit: 'ms', min: 100, max: 120_000, help: 'Wait for a live device ack before storing in the mailbox instead' },
  { key: 'maxSendsInFlight', flag: 'max-sends-in-flight', env: 'HUSHWIRE_MAX_SENDS_IN_FLIGHT', type: 'int', default: 32_768, unit: 'envelopes', min: 64, max: 49_152, help: 'Envelopes accepted from senders and not yet answered (a live offer awaiting the recipient device\'s ack, a store awaiting JetStream); more get their receipt failed UNAVAILABLE at once, so an overloaded gateway keeps delivering what it took. Size it above the peak send rate times the recipients\' ack round trip; at most 49,152 (the bus\'s request room for stored sends)' },
  { key: 'maxDevicesPerRoute', flag: 'max-devices-per-route', env: 'HUSHWIRE_MAX_DEVICES_PER_ROUTE', type: 'int', default: 5, min: 1, max: 64, help: 'Devices one number may register (at most 64: the SDK refuses a lookup answer listing more, since neither its key book nor a safety number could cover them)' },
  { key: 'mailboxMaxMessages', flag: 'mailbox-max-messages', env: 'HUSHWIRE_MAILBOX_MAX_MESSAGES', type: 'int', default: 1000, min: 1, max: 1_000_000, help: 'Messages queued per offline device; more gets MAILBOX_FULL' },
  { key: 'mailboxMaxAgeS', flag: 'mailbox-max-age-s', env: 'HUSHWIRE_MAILBOX_MAX_AGE_S', type: 'int', default: 30 * 86_400, unit: 's', min: 60, max: 10 * 365 * 86_400, help: 'Retention of queued mail' },
  { key: 'mailboxLowerLimits', flag: 'mailbox-lower-limits', env: 'HUSHWIRE_MAILBOX_LOWER_LIMITS', type: 'bool', default: false, help: 'Apply --mailbox-max-age-s, --mailbox-max-messages and --max-envelope-bytes to the existing mailbox streams also where they are lower than the streams\' (expires or refuses other gateways\' mail); without it a gateway never lowers them' },
  { key: 'mailboxPage', flag: 'mailbox-page', env: 'HUSHWIRE_MAILBOX_PAGE', type: 'int', default: 256, unit: 'messages', min: 1, max: 1024, help: 'Queued messages read per page when a device connects and its mailbox is handed over (deleted page by page once acked)' },
  { key: 'mailboxAckTimeoutMs', flag: 'mailbox-ack-timeout-ms', env: 'HUSHWIRE_MAILBOX_ACK_TIMEOUT_MS', type: 'int', default: 30_000, unit: 'ms', min: 100, max: 600_000, help: 'Wait for the device to ack queued mail handed over on connect; unacked mail stays queued for its next connection' },
  { key: 'allowedOrigins', flag: 'allowed-origins', env: 'HUSHWIRE_ALLOWED_ORIGINS', type: 'list', default: [], help: 'Comma-separated Origin allow-list for browsers; empty = any (handsets send none)' },
  { key: 'drainTimeoutMs', flag: 'drain-timeout-ms', env: 'HUSHWIRE_DRAIN_TIMEOUT_MS', type: 'int', default: 30_000, unit: 'ms', min: 0, max: 3_600_000, help: 'On SIGTERM: time to move devices away before exiting' },
  // Operations limits (gateway/admission.ts, relay/limiter.ts, gateway/drain.ts).
  { key: 'drainRate', flag: 'drain-rate', env: 'HUSHWIRE_DRAIN_RATE', type: 'int', default: 1000, unit: 'devices/s', min: 1, max: 1_000_000, help: 'On SIGTERM: devices told to reconnect elsewhere (reconnect op, close 4005) per second' },
  { key: 'drainJitterMs', flag: 'drain-jitter-ms', env: 'HUSHWIRE_DRAIN_JITTER_MS', type: 'int', default: 1000, unit: 'ms', min: 0, max: 600_000, help: 'On SIGTERM: each device is told to wait a random 0..this before reconnecting' },
  { key: 'maxConnections', flag: 'max-connections', env: 'HUSHWIRE_MAX_CONNECTIONS', type: 'int', default: 50_000, min: 1, max: 10_000_000, help: 'Open WebSocket connections per gateway; more are refused at the upgrade with HTTP 503 (lowered at start to what the open-files limit holds)' },
  { key: 'connectRate', flag: 'connect-rate', env: 'HUSHWIRE_CONNECT_RATE', type: 'int', default: 1000, unit: 'connections/s', min: 1, max: 1_000_000, help: 'New connections per second per gateway (token bucket); more are refused at the upgrade with HTTP 429' },
  { key: 'connectBurst', flag: 'connect-burst', env: 'HUSHWIRE_CONNECT_BURST', type: 'int', default: 2000, unit: 'connections', min: 1, max: 10_000_000, help: 'New connections accepted at once above --connect-rate' },
  { key: 'sendRate', flag: 'send-rate', env: 'HUSHWIRE_SEND_RATE', type: 'int', default: 100, unit: 'envelopes/s', min: 1, max: 1_000_000, help: 'Envelopes per second one device may send (token bucket); more get RATE_LIMITED with retry_after_ms' },
  { key: 'sendBurst', flag: 'send-burst', env: 'HUSHWIRE_SEND_BURST', type: 'int', default: 500, unit: 'envelopes', min: 1, max: 10_000_000, help: 'Envelopes one device may send at once above --send-rate' },
  { key: 'recipientBudgetBytes', flag: 'recipient-budget-bytes', env: 'HUSHWIRE_RECIPIENT_BUDGET_BYTES', type: 'int', default: 16_777_216, unit: 'bytes', min: 1024, max: 1024 * 1024 * 1024, help: 'Bytes one recipient device may be sent through this gateway per --recipient-window-s; more get RATE_LIMITED' },
  { key: 'recipientWindowS', flag: 'recipient-window-s', env: 'HUSHWIRE_RECIPIENT_WINDOW_S', type: 'int', default: 60, unit: 's', min: 1, max: 86_400, help: 'Window of --recipient-budget-bytes (the budget refills evenly over it)' },
  { key: 'rateLimitKeys', flag: 'rate-limit-keys', env: 'HUSHWIRE_RATE_LIMIT_KEYS', type: 'int', default: 100_000, unit: 'entries', min: 16, max: 10_000_000, help: 'Bound on rate-limit state: sender and recipient buckets kept (each), least recently used dropped first' },
  // What verification codes may cost this gateway (relay/verify-gate.ts; docs/OPERATIONS.md
  // says why these defaults): 3 codes/s is what a new SMS account sustains on a US
  // toll-free sender at Twilio or AWS; the pending cap defaults to 10% of
  // --max-connections (resolveConfig), so codes never hold more than that share of slots.
  { key: 'verifyStartRate', flag: 'verify-start-rate', env: 'HUSHWIRE_VERIFY_START_RATE', type: 'int', default: 3, unit: 'codes/s', min: 1, max: 10_000, help: 'Verification codes (SMS) the verifier may be asked to send per second (token bucket): by all gateways together, or by each with --verify-start-scope gateway; more verify_starts get RATE_LIMITED with retry_after_ms, nothing sent or charged' },
  { key: 'verifyStartBurst', flag: 'verify-start-burst', env: 'HUSHWIRE_VERIFY_START_BURST', type: 'int', default: 30, unit: 'codes', min: 1, max: 1_000_000, help: 'Verification codes that may be sent at once above --verify-start-rate (by all gateways together, or by each with --verify-start-scope gateway)' },
  { key: 'verifyStartScope', flag: 'verify-start-scope', env: 'HUSHWIRE_VERIFY_START_SCOPE', type: 'enum', choices: ['cluster', 'gateway'], default: 'cluster', help: 'Whose verification code budget: cluster = one bucket every gateway takes from (kept in the NATS KV counters; a gateway that cannot reach it falls back to a bucket of its own), gateway = each gateway its own' },
  { key: 'maxPendingVerifications', flag: 'max-pending-verifications', env: 'HUSHWIRE_MAX_PENDING_VERIFICATIONS', type: 'int', default: undefined, unit: 'sockets', min: 1, max: 10_000_000, help: 'Sockets that may wait for a verification code at once (they stay open until the code expires, 5 min, instead of --auth-timeout-ms); below --max-connections; absent = 10% of --max-connections; more verify_starts get RATE_LIMITED' },
  // Privacy (docs/PRIVACY.md explains the numbers); shared by all gateways through the bus.
  { key: 'discoveryFirstSync', flag: 'discovery-first-sync', env: 'HUSHWIRE_DISCOVERY_FIRST_SYNC', type: 'int', default: 2000, unit: 'numbers', min: 1, max: 1_000_000, help: 'Numbers a device may look up (evaluate) in its first 24 h: a first full contact sync; more get RATE_LIMITED' },
  { key: 'discoveryDaily', flag: 'discovery-daily', env: 'HUSHWIRE_DISCOVERY_DAILY', type: 'int', default: 100, unit: 'numbers', min: 1, max: 1_000_000, help: 'Numbers a device may look up per 24 h after its first day (new contacts); more get RATE_LIMITED' },
  { key: 'discoveryRouteDaily', flag: 'discovery-route-daily', env: 'HUSHWIRE_DISCOVERY_ROUTE_DAILY', type: 'int', default: 4000, unit: 'numbers', min: 1, max: 10_000_000, help: 'Numbers all devices of one number together may look up per 24 h; more get RATE_LIMITED' },
  { key: 'verifyStartsPerNumber', flag: 'verify-starts-per-number', env: 'HUSHWIRE_VERIFY_STARTS_PER_NUMBER', type: 'int', default: 5, unit: 'codes', min: 1, max: 10_000, help: 'Verification codes one number may be sent per 24 h (all gateways); more get RATE_LIMITED' },
  { key: 'deviceIdleExpiryS', flag: 'device-idle-expiry-s', env: 'HUSHWIRE_DEVICE_IDLE_EXPIRY_S', type: 'int', default: 180 * 86_400, unit: 's', min: 1, max: 10 * 365 * 86_400, help: 'A device not connected for this long is erased like an opt-out (keys, directory entry, mailbox)' },
  { key: 'prekeyRotationIntervalS', flag: 'prekey-rotation-interval-s', env: 'HUSHWIRE_PREKEY_ROTATION_INTERVAL_S', type: 'int', default: 900, unit: 's', min: 1, max: 7 * 86_400, help: 'Least time between two prekey rotations (set_prekey) of one device, all gateways; a sooner one gets RATE_LIMITED with retry_after_ms' },
  { key: 'dedupKeyFile', flag: 'dedup-key-file', env: 'HUSHWIRE_DEDUP_KEY_FILE', type: 'string', default: undefined, help: 'File with a 32-byte key as 64 hex chars, the same on all gateways: keys the Nats-Msg-Id HMAC so a retry through another gateway is deduplicated too (absent: a per-process key)' },
  { key: 'resumeKeyFile', flag: 'resume-key-file', env: 'HUSHWIRE_RESUME_KEY_FILE', type: 'string', default: undefined, help: 'File with resumption ticket keys, 64 hex chars (32 bytes) per line, the same on all gateways: the first seals tickets, every one listed opens them (rotation); absent: a per-process key, tickets resume only at this gateway until it restarts' },
  { key: 'resumeTicketTtlS', flag: 'resume-ticket-ttl-s', env: 'HUSHWIRE_RESUME_TICKET_TTL_S', type: 'int', default: 86_400, unit: 's', min: 0, max: 7 * 86_400, help: 'How long a resumption ticket lets a device authenticate without signing (docs/PROTOCOL.md section 13); 0 = no tickets issued or accepted' },
];

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Builds the config from parsed flag values (keyed by setting key, strings or
 *  already-typed) and the environment. */
export function resolveConfig(flags: Partial<Record<keyof GatewayConfig, unknown>>, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const fromFlag = flags[s.key];
    const fromEnv = env[s.env];
    const raw = fromFlag !== undefined ? fromFlag : fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
    const where = fromFlag !== undefined ? `--${s.flag}` : s.env;
    out[s.key] = raw === undefined ? s.default : coerce(s, raw, where);
  }
  const c = out as unknown as GatewayConfig;
  if (c.verifier === 'webhook' && !c.verifierUrl) throw new ConfigError('--verifier webhook needs --verifier-url (HUSHWIRE_VERIFIER_URL)');
  // URLs are checked here, files (keys, token) in gateway/config-files.ts: both before
  // anything starts, so a typo is one line naming the flag and exit 2.
  const verifierUrlProblem = c.verifierUrl === undefined ? null : webhookUrlProblem(c.verifierUrl);
  if (verifierUrlProblem) throw new ConfigError(`--verifier-url: ${verifierUrlProblem}`);
  if (c.adminListen !== undefined) {
    const admin = parseListen(c.adminListen);
    if (!admin) throw new ConfigError('--admin-listen must be HOST:PORT (e.g. 127.0.0.1:9480, [::1]:9480)');
    if (admin.host === c.host && admin.port === c.port && c.port !== 0) throw new ConfigError('--admin-listen must differ from --host/--port');
  }
  for (const u of c.nats) {
    const problem = natsUrlProblem(u);
    if (problem) throw new ConfigError(`--nats: ${problem}`);
  }
  const accessProblem = natsAccessProblem(c); // the files themselves: gateway/config-files.ts
  if (accessProblem) throw new ConfigError(accessProblem);
  // The auth deadline runs from connect until verify_start is answered: a verifier
  // deadline at or past it would never fire (the socket closes 4001 first, and the
  // handset learns nothing about the verifier).
  if (c.verifier === 'webhook' && c.verifierTimeoutMs >= c.authTimeoutMs) {
    throw new ConfigError(`--verifier-timeout-ms (${c.verifierTimeoutMs}) must be below --auth-timeout-ms (${c.authTimeoutMs})`);
  }
  if (c.idleTimeoutS % 4 !== 0) throw new ConfigError(`--idle-timeout-s must be a multiple of 4 (got ${c.idleTimeoutS})`);
  if (c.maxEnvelopeBytes + 1024 > c.maxFrameBytes) throw new ConfigError('--max-frame-bytes must exceed --max-envelope-bytes by at least 1024');
  // Sockets waiting for a code must leave connection slots for logins: absent, a tenth
  // of them (at least 1); given, below --max-connections.
  if (c.maxPendingVerifications === undefined) {
    c.maxPendingVerifications = Math.max(1, Math.floor(c.maxConnections / 10));
  } else if (c.maxPendingVerifications >= c.maxConnections) {
    throw new ConfigError(`--max-pending-verifications (${c.maxPendingVerifications}) must be below --max-connections (${c.maxConnections}), or sockets waiting for codes could hold every connection slot`);
  }
  if (c.recipientBudgetBytes < c.maxEnvelopeBytes) throw new ConfigError('--recipient-budget-bytes must be at least --max-envelope-bytes (else a largest envelope could never pass)');
  const evaluatorProblem = checkEvaluatorSettings(c); // local key or remote evaluators
  if (evaluatorProblem) throw new ConfigError(evaluatorProblem);
  if (!/^[a-z][a-z0-9_]{0,15}$/.test(c.natsPrefix)) throw new ConfigError('--nats-prefix must be 1-16 lowercase letters, digits or _');
  if (!INBOX_PREFIX_RE.test(c.natsInboxPrefix)) throw new ConfigError(INBOX_PREFIX_PROBLEM.replace('FLAG', '--nats-inbox-prefix'));
  return c;
}

function coerce(s: Setting, raw: unknown, where: string): unknown {
  switch (s.type) {
    case 'string':
    case 'secret':
      if (typeof raw !== 'string' || raw === '') throw new ConfigError(`${where} needs a value`);
      return raw;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(`${where} must be true or false`);
    case 'int': {
      const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw).trim()) ? Number(String(raw).trim()) : NaN;
      if (!Number.isSafeInteger(n)) throw new ConfigError(`${where} must be a whole number${s.unit ? ` (${s.unit})` : ''}`);
      if (s.min !== undefined && n < s.min) throw new ConfigError(`${where} must be at least ${s.min}${s.unit ? ` ${s.unit}` : ''}`);
      if (s.max !== undefined && n > s.max) throw new ConfigError(`${where} must be at most ${s.max}${s.unit ? ` ${s.unit}` : ''}`);
      return n;
    }
    case 'enum':
      if (typeof raw !== 'string' || !s.choices!.includes(raw)) {
        throw new ConfigError(`${where} must be one of ${s.choices!.join(', ')}`);
      }
      return raw;
    case 'list': {
      const items = (Array.isArray(raw) ? raw.map(String) : String(raw).split(','))
        .flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
      return items;
    }
  }
}

/** The defaults, for docs and tests. */
export function defaultConfig(): GatewayConfig {
  return resolveConfig({}, {});
}
