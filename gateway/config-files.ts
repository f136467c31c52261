// The gateway settings that name files or hold secrets, read and checked before
// anything starts (no log line, no listener, no NATS connection yet): an unreadable or
// malformed file stops `hushwire gateway` with one line naming the flag, exit 2, like
// every other setting (gateway/config.ts). The same reading serves startGateway when
// a test starts a gateway in-process without reading them first.
//
// Messages may name the path (the operator typed it) but never the contents: the
// files hold keys and tokens.
import { ConfigError, type GatewayConfig } from './config.ts';
import { parseOprfKey, readOprfKeyFile } from '../relay/evaluator.ts';
import type { OprfKeyPair } from '../relay/crypto/oprf.ts';
import { HushwireError } from '../relay/errors.ts';
import { looseSecretMode, readSettingText, SettingError, SETTING_FILE_MAX_BYTES } from '../relay/setting-file.ts';
import { readNatsAccess, type NatsAccess } from '../relay/nats-connect-options.ts';

/** What the file and secret settings hold, ready to use. */
export interface ConfigFiles {
  /** --oprf-key-file or --oprf-key; absent: remote evaluators, or an ephemeral key. */
  oprfKey?: OprfKeyPair;
  /** --verifier-token-file. */
  verifierToken?: string;
  /** --dedup-key-file. */
  msgIdKey?: Uint8Array;
  /** --resume-key-file: the resumption ticket keys, the sealing one first. */
  resumeKeys?: Uint8Array[];
  /** With --nats: the servers, TLS and credentials for the NATS client
   *  (--nats-tls-*-file, --nats-user and the --nats-*-file credentials); checked here,
   *  then read again at each NATS connect (relay/nats-access-files.ts). */
  nats?: NatsAccess;
  /** The secret files (--oprf-key-file, --verifier-token-file, --dedup-key-file, --resume-key-file) that
   *  group or others may read, with their mode: startGateway warns about each once it
   *  has a logger (the NATS files warn through `nats.files`). Absent: none. */
  looseModes?: { flag: string; mode: number }[];
}

/** Key and token files are a line long; a bound keeps a wrong path (/dev/zero, a log
 *  file) from being read into memory whole (relay/setting-file.ts). */
export { SETTING_FILE_MAX_BYTES };

/** The text of the file a setting names. Throws ConfigError
 *  "--flag: cannot read PATH: no such file" (or the reason), one line. `onMode`: see
 *  readSettingText (secret files). */
export function readSettingFile(flag: string, path: string, onMode?: (mode: number) => void): string {
  try {
    return readSettingText(flag, path, SETTING_FILE_MAX_BYTES, 'it should hold one line', onMode);
  } catch (e) {
    throw e instanceof SettingError ? new ConfigError(e.message) : e;
  }
}

/** The key of --oprf-key's value, or ConfigError naming the flag (never the value); the
 *  file's: readOprfKeyFile, the reader `hushwire oprf` and `oprf-key` use too. */
function oprfKeyFrom(flag: string, text: string): OprfKeyPair {
  try {
    return parseOprfKey(text);
  } catch (e) {
    const why = e instanceof HushwireError ? e.message : 'not an OPRF key';
    throw new ConfigError(`--${flag}: ${why}`);
  }
}

/** --dedup-key-file: 64 hex characters (32 bytes). */
export function readDedupKey(path: string, onMode?: (mode: number) => void): Uint8Array {
  const text = readSettingFile('dedup-key-file', path, onMode).trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new ConfigError(`--dedup-key-file: ${path} must hold 64 hex characters (32 bytes)`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** Resumption ticket keys a file may list (more is a wrong file, not a rotation). */
export const MAX_RESUME_KEYS = 16;

/** --resume-key-file: one key per line, 64 hex characters (32 bytes) each; blank lines
 *  and lines starting with # are skipped. The first key seals tickets, all of them open
 *  tickets (rotation in two rolling restarts: docs/OPERATIONS.md, "Rolling restarts",
 *  "Rotating the resumption ticket keys"). */
export function readResumeKeys(path: string, onMode?: (mode: number) => void): Uint8Array[] {
  const text = readSettingFile('resume-key-file', path, onMode);
  const keys: Uint8Array[] = [];
  const seen = new Set<string>();
  let n = 0;
  for (const raw of text.split(/\r?\n/)) {
    n++;
    const line = raw.trim().toLowerCase();
    if (line === '' || line.startsWith('#')) continue;
    if (!/^[0-9a-f]{64}$/.test(line)) throw new ConfigError(`--resume-key-file: line ${n} of ${path} must hold 64 hex characters (32 bytes)`);
    if (seen.has(line)) throw new ConfigError(`--resume-key-file: line ${n} of ${path} repeats a key listed above`);
    seen.add(line);
    keys.push(new Uint8Array(Buffer.from(line, 'hex')));
  }
  if (keys.length === 0) throw new ConfigError(`--resume-key-file: ${path} lists no key (64 hex characters per line)`);
  if (keys.length > MAX_RESUME_KEYS) throw new ConfigError(`--resume-key-file: ${path} lists ${keys.length} keys, at most ${MAX_RESUME_KEYS}`);
  return keys;
}

/** --verifier-token-file: one bearer token (surrounding whitespace ignored). It goes
 *  into an HTTP header, so a token that cannot is refused here rather than failing
 *  every verification later. */
export function readVerifierToken(path: string, onMode?: (mode: number) => void): string {
  const token = readSettingFile('verifier-token-file', path, onMode).trim();
  if (token === '') throw new ConfigError(`--verifier-token-file: ${path} is empty`);
  if (/[^\x20-\x7e]/.test(token)) {
    throw new ConfigError(`--verifier-token-file: ${path} must hold one line of printable ASCII (a bearer token)`);
  }
  return token;
}

/** Reads and checks every file and secret the settings name. Throws ConfigError. */
export function readConfigFiles(c: GatewayConfig): ConfigFiles {
  const out: ConfigFiles = {};
  const loose: { flag: string; mode: number }[] = [];
  // Each secret file's mode, as opened: group or others may read it = a warning later.
  const modeOf = (flag: string) => (mode: number): void => {
    const bits = looseSecretMode(mode);
    if (bits !== null) loose.push({ flag: `--${flag}`, mode: bits });
  };
  // resolveConfig already refused --oprf-key-file/--oprf-key with --oprf-evaluator.
  // Both given: the value wins (as it always has), but the file is checked too.
  if (c.oprfKeyFile) {
    try {
      out.oprfKey = readOprfKeyFile('oprf-key-file', c.oprfKeyFile, modeOf('oprf-key-file'));
    } catch (e) {
      throw e instanceof SettingError ? new ConfigError(e.message) : e;
    }
  }
  if (c.oprfKey) out.oprfKey = oprfKeyFrom('oprf-key', c.oprfKey);
  if (c.verifierTokenFile) out.verifierToken = readVerifierToken(c.verifierTokenFile, modeOf('verifier-token-file'));
  if (c.dedupKeyFile) out.msgIdKey = readDedupKey(c.dedupKeyFile, modeOf('dedup-key-file'));
  if (c.resumeKeyFile) out.resumeKeys = readResumeKeys(c.resumeKeyFile, modeOf('resume-key-file'));
  if (loose.length > 0) out.looseModes = loose;
  if (c.nats.length > 0) {
    try {
      out.nats = readNatsAccess(c);
    } catch (e) {
      throw e instanceof SettingError ? new ConfigError(e.message) : e;
    }
  }
  return out;
}
