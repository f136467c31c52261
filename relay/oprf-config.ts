// Settings of `hushwire oprf` (the evaluator process): one table, each a flag and a
// HUSHWIRE_* variable (a flag wins), with unit and default. The table makes the
// commander options and is checked against docs/OPERATIONS.md by a test. Variables
// that mean the same as a gateway's (HUSHWIRE_NATS, HUSHWIRE_NATS_PREFIX,
// HUSHWIRE_OPRF_KEY_FILE, HUSHWIRE_LOG_LEVEL, and the NATS TLS and credential files,
// HUSHWIRE_NATS_TLS_CA_FILE etc.) have the same name.
import { availableParallelism } from 'node:os';
import { MAX_EVALUATE_BATCH } from './crypto/oprf.ts';
import { EVALUATOR_ID_RE } from './oprf-wire.ts';
import { natsUrlProblem } from './nats-endpoints.ts';
import { NATS_ACCESS_SETTINGS, natsAccessProblem, type NatsAccessSettings } from './nats-connect-options.ts';
import { INBOX_PREFIX_RE, INBOX_PREFIX_PROBLEM } from './nats-permissions.ts';

/** The NATS connection's TLS and credential settings come from NatsAccessSettings. */
export interface OprfConfig extends Required<NatsAccessSettings> {
  id: string;
  keyFile: string | undefined;
  key: string | undefined;
  natsPrefix: string;
  replyPrefixes: string[];
  threads: number;
  maxBatch: number;
  maxQueued: number;
  host: string;
  port: number;
  name: string;
  logLevel: string;
}

export interface OprfSetting {
  key: keyof OprfConfig;
  flag: string;
  env: string;
  type: 'string' | 'secret' | 'int' | 'list' | 'enum';
  default: string | number | string[] | undefined;
  unit?: string;
  min?: number;
  max?: number;
  choices?: readonly string[];
  help: string;
}

/** One thread per core but one, so NATS and the HTTP endpoints keep a core. */
export const DEFAULT_THREADS = Math.max(1, availableParallelism() - 1);

export const OPRF_SETTINGS: readonly OprfSetting[] = [
  { key: 'nats', flag: 'nats', env: 'HUSHWIRE_NATS', type: 'list', default: [], help: 'NATS server URL(s), comma-separated (required)' },
  // TLS and credentials for NATS, the same flags as the gateway's (relay/nats-connect-options.ts).
  ...NATS_ACCESS_SETTINGS.map((n): OprfSetting => ({ ...n, type: 'string', default: undefined })),
  { key: 'id', flag: 'id', env: 'HUSHWIRE_OPRF_ID', type: 'string', default: 'main', help: 'Evaluator id: serves <prefix>.oprf.<id>.eval; replicas holding the same key use the same id' },
  { key: 'keyFile', flag: 'key-file', env: 'HUSHWIRE_OPRF_KEY_FILE', type: 'string', default: undefined, help: 'File with the key: a 64-hex seed (hushwire oprf-key generate) or a share (hushwire oprf-key split)' },
  { key: 'key', flag: 'key', env: 'HUSHWIRE_OPRF_KEY', type: 'secret', default: undefined, help: 'The key itself, same forms (prefer the file; never logged)' },
  { key: 'natsPrefix', flag: 'nats-prefix', env: 'HUSHWIRE_NATS_PREFIX', type: 'string', default: 'hw', help: 'Subject prefix, as on the gateways' },
  { key: 'replyPrefixes', flag: 'reply-prefixes', env: 'HUSHWIRE_OPRF_REPLY_PREFIXES', type: 'list', default: ['_INBOX'], help: 'Answers go only to reply subjects that start with one of these (comma-separated: the requesters\' inbox prefixes, the gateways\' and oprf-key fetch\'s --nats-inbox-prefix); a request naming any other reply subject is dropped unanswered, so no requester can make the evaluator publish into mailboxes, the directory or anything else' },
  { key: 'threads', flag: 'threads', env: 'HUSHWIRE_OPRF_THREADS', type: 'int', default: DEFAULT_THREADS, min: 1, max: 64, help: 'Worker threads evaluating (default: cores - 1, at least 1)' },
  { key: 'maxBatch', flag: 'max-batch', env: 'HUSHWIRE_OPRF_MAX_BATCH', type: 'int', default: MAX_EVALUATE_BATCH, min: 1, max: MAX_EVALUATE_BATCH, help: 'Blinded elements per request; more gets TOO_LARGE' },
  { key: 'maxQueued', flag: 'max-queued', env: 'HUSHWIRE_OPRF_MAX_QUEUED', type: 'int', default: 2 * MAX_EVALUATE_BATCH, min: 1, max: 1_000_000, help: 'Elements waiting or in work; a request over it gets RATE_LIMITED at once (at least --max-batch)' },
  { key: 'host', flag: 'host', env: 'HUSHWIRE_OPRF_HOST', type: 'string', default: '127.0.0.1', help: 'Address of the HTTP endpoints /healthz, /readyz, /metrics' },
  { key: 'port', flag: 'port', env: 'HUSHWIRE_OPRF_PORT', type: 'int', default: 8490, min: 0, max: 65535, help: 'Port of the HTTP endpoints (0 = any free port; two evaluators on one host need one each)' },
  { key: 'name', flag: 'name', env: 'HUSHWIRE_OPRF_NAME', type: 'string', default: 'hushwire-oprf', help: 'Process name (NATS connection name, logs)' },
  { key: 'logLevel', flag: 'log-level', env: 'HUSHWIRE_LOG_LEVEL', type: 'enum', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'], default: 'info', help: 'Log level' },
];

export class OprfConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OprfConfigError';
  }
}

export function resolveOprfConfig(flags: Partial<Record<keyof OprfConfig, unknown>>, env: NodeJS.ProcessEnv = process.env): OprfConfig {
  const out: Record<string, unknown> = {};
  for (const s of OPRF_SETTINGS) {
    const fromFlag = flags[s.key];
    const fromEnv = env[s.env];
    const raw = fromFlag !== undefined ? fromFlag : fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
    const where = fromFlag !== undefined ? `--${s.flag}` : s.env;
    out[s.key] = raw === undefined ? s.default : coerce(s, raw, where);
  }
  const c = out as unknown as OprfConfig;
  if (c.nats.length === 0) throw new OprfConfigError('--nats is required (HUSHWIRE_NATS): the evaluator answers over NATS');
  for (const u of c.nats) {
    const problem = natsUrlProblem(u);
    if (problem) throw new OprfConfigError(`--nats: ${problem}`);
  }
  const accessProblem = natsAccessProblem(c); // the files themselves: readNatsAccess, before the start
  if (accessProblem) throw new OprfConfigError(accessProblem);
  if (!c.keyFile && !c.key) throw new OprfConfigError('--key-file is required (HUSHWIRE_OPRF_KEY_FILE); make one with: hushwire oprf-key generate --out FILE');
  if (!EVALUATOR_ID_RE.test(c.id)) throw new OprfConfigError('--id must be 1-32 of a-z 0-9 _ - (starting with a letter or digit)');
  if (!/^[a-z][a-z0-9_]{0,15}$/.test(c.natsPrefix)) throw new OprfConfigError('--nats-prefix must be 1-16 lowercase letters, digits or _');
  if (c.replyPrefixes.length === 0) throw new OprfConfigError('--reply-prefixes needs at least one prefix (the requesters\' inbox prefix, _INBOX by default)');
  for (const p of c.replyPrefixes) {
    if (!INBOX_PREFIX_RE.test(p)) throw new OprfConfigError(INBOX_PREFIX_PROBLEM.replace('FLAG', '--reply-prefixes'));
    if (p.startsWith('$') || p === c.natsPrefix || p.startsWith(`${c.natsPrefix}.`)) {
      throw new OprfConfigError(`--reply-prefixes: ${p} would let requesters aim answers at JetStream (\$...) or Hushwire (${c.natsPrefix}.) subjects; use their inbox prefixes`);
    }
  }
  if (c.maxQueued < c.maxBatch) throw new OprfConfigError('--max-queued must be at least --max-batch (else a full batch could never run)');
  return c;
}

function coerce(s: OprfSetting, raw: unknown, where: string): unknown {
  switch (s.type) {
    case 'string':
    case 'secret':
      if (typeof raw !== 'string' || raw === '') throw new OprfConfigError(`${where} needs a value`);
      return raw;
    case 'int': {
      const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw).trim()) ? Number(String(raw).trim()) : NaN;
      if (!Number.isSafeInteger(n)) throw new OprfConfigError(`${where} must be a whole number${s.unit ? ` (${s.unit})` : ''}`);
      if (s.min !== undefined && n < s.min) throw new OprfConfigError(`${where} must be at least ${s.min}`);
      if (s.max !== undefined && n > s.max) throw new OprfConfigError(`${where} must be at most ${s.max}`);
      return n;
    }
    case 'enum':
      if (typeof raw !== 'string' || !s.choices!.includes(raw)) throw new OprfConfigError(`${where} must be one of ${s.choices!.join(', ')}`);
      return raw;
    case 'list':
      return (Array.isArray(raw) ? raw.map(String) : String(raw).split(','))
        .flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
  }
}
