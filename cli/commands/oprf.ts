// hushwire oprf: the OPRF evaluator process; hushwire oprf-key: its key tools (a
// separate command so that their --key-file/--nats never meet the evaluator's own).
//
//   hushwire oprf --nats URL --key-file FILE [--id ID]      serve evaluations over NATS
//   hushwire oprf-key generate --out FILE                     a new key (seed), prints its public key
//   hushwire oprf-key public --key-file FILE                  the public key to pin on gateways
//   hushwire oprf-key split --key-file FILE --out A --out B   an existing key as two shares
//   hushwire oprf-key combine --public-key P1 --public-key P2 the combined key handsets pin
//   hushwire oprf-key fetch --nats URL --id ID                ask a running evaluator, check its proof
//
// Keys are read from files (or HUSHWIRE_OPRF_KEY) and never printed; key files are
// written 0600 and never overwritten. Key files (and fetch's NATS credential files) are
// read as the gateway reads its setting files: at most 64 KiB, a problem is one line
// naming the option (exit 2), and one that group or others may read is warned about
// (the evaluator: a log line; the oprf-key tools: a `warning: ...` line on stderr).
import { closeSync, fsyncSync, linkSync, lstatSync, openSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Command, Option } from 'commander';
import { bytesToHex } from '@noble/hashes/utils.js';
import { deriveServerKey } from '../../relay/crypto/oprf.ts';
import { combinePublicKeys, combineSecretKeys, splitKey } from '../../relay/crypto/oprf-split.ts';
import { formatScalarKey, parseOprfKey, parsePublicKey, readOprfKeyFile } from '../../relay/evaluator.ts';
import type { OprfKeyPair } from '../../relay/crypto/oprf.ts';
import { fetchEvaluatorKey } from '../../relay/evaluator-remote.ts';
import { createLogger } from '../../relay/log.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { OPRF_SETTINGS, OprfConfigError, resolveOprfConfig, type OprfConfig } from '../../relay/oprf-config.ts';
import { OprfService, startOprfHttp } from '../../relay/oprf-service.ts';
import { INBOX_PREFIX_PROBLEM, INBOX_PREFIX_RE } from '../../relay/nats-permissions.ts';
import { NATS_ACCESS_SETTINGS, readNatsAccess, type NatsAccess, type NatsAccessSettings } from '../../relay/nats-connect-options.ts';
import { looseSecretMode, looseSecretModeMessage, looseSecretModeText, octalMode, SettingError } from '../../relay/setting-file.ts';
import { warnUnknownEnv } from '../../relay/env-names.ts';
import { keepRunningOnSighup } from '../../gateway/sighup.ts';

const collect = (v: string, prev: unknown): string[] => [...(Array.isArray(prev) ? prev as string[] : []), v];

export function oprfCommand(): Command {
  const cmd = new Command('oprf')
    .description('Run an OPRF evaluator: holds the key, or one share of a split key, and answers gateways over NATS (keys: hushwire oprf-key)')
    .addHelpText('after', '\nEvery flag can also be set with the HUSHWIRE_* variable shown; a flag wins over the variable.\nSIGTERM/SIGINT: stop taking requests, finish those in flight, exit 0. SIGHUP does not stop it\n(it reads the NATS TLS and credential files again). See docs/OPERATIONS.md.');
  for (const s of OPRF_SETTINGS) {
    const arg = ` <${s.unit ?? (s.type === 'list' ? 'list' : s.type === 'int' ? 'n' : 'value')}>`;
    const def = s.type === 'secret' || s.key === 'threads' || s.default === undefined || (Array.isArray(s.default) && s.default.length === 0)
      ? '' : ` (default: ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})`;
    const o = new Option(`--${s.flag}${arg}`, `${s.help}${def} [env ${s.env}]`);
    if (s.choices) o.choices(s.choices);
    if (s.type === 'list') o.argParser(collect);
    cmd.addOption(o);
  }
  cmd.action(async (opts: Record<string, unknown>) => {
    let config: OprfConfig;
    let access: NatsAccess;
    let key: OprfKeyPair;
    let keyMode: number | null = null;
    try {
      config = resolveOprfConfig(opts as Partial<Record<keyof OprfConfig, unknown>>);
      // The NATS TLS and credential files too, before anything starts (as the gateway).
      access = readNatsAccess(config);
      key = evaluatorKey(config, (mode) => { keyMode = mode; });
    } catch (e) {
      if (e instanceof OprfConfigError || e instanceof SettingError) {
        process.stderr.write(`hushwire oprf: ${e.message}\n`);
        process.exit(2);
      }
      throw e;
    }
    await runEvaluator(config, access, key, keyMode);
  });
  return cmd;
}

/** The evaluator's key: --key (HUSHWIRE_OPRF_KEY) when given, else --key-file, read
 *  with the gateway's bounded reader. Throws SettingError naming the flag (never the
 *  key). `onMode`: the key file's permission bits as opened. */
function evaluatorKey(config: OprfConfig, onMode: (mode: number) => void): OprfKeyPair {
  if (config.key) {
    try {
      return parseOprfKey(config.key);
    } catch (e) {
      throw new SettingError(`--key: ${e instanceof HushwireError ? e.message : 'not an OPRF key'}`);
    }
  }
  // resolveOprfConfig refused a start with neither.
  return readOprfKeyFile('key-file', config.keyFile!, onMode);
}

/** An oprf-key tool's key file (--key-file: a seed or a share): read as the gateway
 *  reads its setting files (at most 64 KiB; a problem is BAD_REQUEST, one line naming
 *  --key-file, exit 2); once read, a file group or others may read gets one
 *  `warning: ...` line on stderr (used all the same). */
function toolKeyFile(path: string): OprfKeyPair {
  let mode: number | null = null;
  let key: OprfKeyPair;
  try {
    key = readOprfKeyFile('key-file', path, (m) => { mode = m; });
  } catch (e) {
    throw e instanceof SettingError ? new HushwireError(ErrorCode.BAD_REQUEST, e.message) : e;
  }
  warnLooseMode('--key-file', mode);
  return key;
}

/** The CLI's warning for a secret file that group or others may read. */
function warnLooseMode(flag: string, mode: number | null): void {
  const loose = mode === null ? null : looseSecretMode(mode);
  if (loose !== null) process.stderr.write(`warning: ${looseSecretModeText(flag, loose)}\n`);
}

export function oprfKeyCommand(): Command {
  const cmd = new Command('oprf-key')
    .description('OPRF key tools: generate, public, split, combine, fetch (see docs/OPERATIONS.md)');

  cmd.addCommand(new Command('generate')
    .description('write a new random key (a 32-byte seed, 64 hex chars) to a new file (0600) and print its public key')
    .requiredOption('--out <file>', 'file to create (never overwritten)')
    .action((o: { out: string }) => {
      const seed = new Uint8Array(randomBytes(32));
      const { publicKey } = deriveServerKey(seed);
      writeKeyFiles([{ path: o.out, text: `${bytesToHex(seed)}\n` }]);
      process.stdout.write(`${bytesToHex(publicKey)}\n`);
    }));

  cmd.addCommand(new Command('public')
    .description('print the public key of a key file (seed or share): the value for a gateway\'s --oprf-public-key')
    .requiredOption('--key-file <file>', 'key file')
    .action((o: { keyFile: string }) => {
      process.stdout.write(`${bytesToHex(toolKeyFile(o.keyFile).publicKey)}\n`);
    }));

  cmd.addCommand(new Command('split')
    .description('split an existing key into shares that add up to it (routes stay the same); give each share to a different operator, then destroy the original')
    .requiredOption('--key-file <file>', 'the existing key (seed or share)')
    .requiredOption('--out <file>', 'file for a share (give it twice; new files, 0600)', collect)
    .action((o: { keyFile: string; out: string[] }) => {
      if (o.out.length !== 2) throw new HushwireError(ErrorCode.BAD_REQUEST, 'give --out twice: one file per share');
      if (o.out[0] === o.out[1]) throw new HushwireError(ErrorCode.BAD_REQUEST, 'the two --out files must differ');
      const key = toolKeyFile(o.keyFile);
      const shares = splitKey(key, 2);
      // Belt and braces: the shares must add up to the key before anything is written.
      if (bytesToHex(combineSecretKeys(shares.map((s) => s.secretKey)).publicKey) !== bytesToHex(key.publicKey)) {
        throw new HushwireError(ErrorCode.INTERNAL, 'shares do not add up to the key');
      }
      // Both shares or neither: a share left alone is half a split (and its file would
      // refuse the next run).
      writeKeyFiles(shares.map((s, i) => ({ path: o.out[i]!, text: formatScalarKey(s.secretKey) })));
      shares.forEach((s, i) => process.stdout.write(`share ${i + 1} ${bytesToHex(s.publicKey)} ${o.out[i]}\n`));
      process.stdout.write(`combined ${bytesToHex(key.publicKey)}\n`);
      process.stderr.write(`hushwire oprf split: ${o.keyFile} can still compute every route: destroy it once both shares are installed\n`);
    }));

  cmd.addCommand(new Command('combine')
    .description('print the combined public key of share keys (what handsets pin; gateways compute it themselves)')
    .requiredOption('--public-key <hex>', 'a share\'s public key (give each)', collect)
    .action((o: { publicKey: string[] }) => {
      process.stdout.write(`${bytesToHex(combinePublicKeys(o.publicKey.map(parsePublicKey)))}\n`);
    }));

  const fetchCmd = new Command('fetch')
    .description('ask a running evaluator for its public key and check it with a proof (compare with what its operator published before pinning it)')
    .requiredOption('--nats <url>', 'NATS server URL(s)', collect)
    .requiredOption('--id <id>', 'evaluator id')
    .option('--nats-prefix <prefix>', 'subject prefix', 'hw')
    .addOption(new Option('--nats-inbox-prefix <prefix>', 'prefix of the reply subject (e.g. _INBOX_hw_fetch; docs/OPERATIONS.md, "NATS permissions")').env('HUSHWIRE_NATS_INBOX_PREFIX').default('_INBOX'))
    .option('--timeout-ms <ms>', 'deadline', '5000');
  // The evaluator's NATS TLS and credential flags (and variables), for a secured NATS.
  for (const s of NATS_ACCESS_SETTINGS) fetchCmd.addOption(new Option(`--${s.flag} <value>`, s.help).env(s.env));
  cmd.addCommand(fetchCmd
    .action(async (o: Record<string, unknown> & { nats: string[]; id: string; natsPrefix: string; natsInboxPrefix: string; timeoutMs: string }) => {
      const timeoutMs = Number(o.timeoutMs);
      if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new HushwireError(ErrorCode.BAD_REQUEST, '--timeout-ms must be a positive whole number');
      if (!INBOX_PREFIX_RE.test(o.natsInboxPrefix)) throw new HushwireError(ErrorCode.BAD_REQUEST, INBOX_PREFIX_PROBLEM.replace('FLAG', '--nats-inbox-prefix'));
      const log = createLogger({ level: 'silent' });
      const servers = o.nats.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
      let access: NatsAccess;
      try {
        access = readNatsAccess({ ...(o as Partial<NatsAccessSettings>), nats: servers });
      } catch (e) {
        throw e instanceof SettingError ? new HushwireError(ErrorCode.BAD_REQUEST, e.message) : e;
      }
      // Its warnings (a secret file group or others may read: once per flag and mode,
      // also across the re-reads at each connect; a client certificate or user JWT
      // about to expire) as `warning: ...` lines on stderr; stdout keeps the key alone.
      access.files.report((level, msg) => {
        if (level === 'warn') process.stderr.write(`warning: ${msg.replace(/^config: /, '')}\n`);
      });
      try {
        const key = await fetchEvaluatorKey({ servers, access, prefix: o.natsPrefix, id: o.id, timeoutMs, log, inboxPrefix: o.natsInboxPrefix });
        process.stdout.write(`${bytesToHex(key)}\n`);
      } finally {
        access.files.stop();
      }
    }));
  return cmd;
}

/**
 * Writes new key files, all of them or none, never over an existing file. Every --out is
 * checked first (anything there, a file, a directory or a symlink, refuses the whole
 * run); each key goes to a private temp file (0600 from its creation, fsynced) beside
 * its target and is linked into place (link(2) never replaces a file, so one created
 * meanwhile is not overwritten either); a failure at any step removes what this run
 * linked and every temp file. A reader never sees a torn key file.
 */
function writeKeyFiles(outs: { path: string; text: string }[]): void {
  for (const { path } of outs) {
    let there = true;
    try {
      lstatSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw cannotWrite(path, e);
      there = false;
    }
    if (there) throw exists(path);
  }
  const temps: string[] = [];
  const linked: string[] = [];
  try {
    for (const { path, text } of outs) {
      const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
      let fd: number;
      try {
        fd = openSync(tmp, 'wx', 0o600);
      } catch (e) {
        throw cannotWrite(path, e);
      }
      temps.push(tmp);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } catch (e) {
        throw cannotWrite(path, e);
      } finally {
        closeSync(fd);
      }
    }
    outs.forEach(({ path, text }, i) => {
      try {
        linkSync(temps[i]!, path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw exists(path);
        // A file system without hard links: an exclusive create of the target instead.
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw cannotWrite(path, e);
        try {
          writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
        } catch (e2) {
          throw (e2 as NodeJS.ErrnoException).code === 'EEXIST' ? exists(path) : cannotWrite(path, e2);
        }
      }
      linked.push(path);
    });
  } catch (e) {
    for (const path of linked) {
      try { unlinkSync(path); } catch { /* already gone */ }
    }
    throw e;
  } finally {
    for (const tmp of temps) {
      try { unlinkSync(tmp); } catch { /* already gone */ }
    }
  }
  // Persist the new names; best effort (not every file system can sync a directory).
  for (const dir of new Set(outs.map((o) => dirname(o.path)))) {
    try {
      const fd = openSync(dir, 'r');
      try { fsyncSync(fd); } finally { closeSync(fd); }
    } catch { /* unsupported */ }
  }
}

function exists(path: string): HushwireError {
  return new HushwireError(ErrorCode.BAD_REQUEST, `${path} exists; key files are never overwritten`);
}

function cannotWrite(path: string, e: unknown): HushwireError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such directory' : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'ENOTDIR' ? 'a part of the path is not a directory' : code === 'ENOSPC' ? 'no space left' : (code ?? 'failed');
  return new HushwireError(ErrorCode.BAD_REQUEST, `cannot write ${path}: ${why}`);
}

/** `keyMode`: the permission bits of the key file as it was read (null: --key given). */
async function runEvaluator(config: OprfConfig, access: NatsAccess, key: OprfKeyPair, keyMode: number | null): Promise<void> {
  const log = createLogger({ level: config.logLevel, name: config.name });
  // Once the settings are all good (a bad key stops it before, one stderr line and
  // nothing logged), as the gateway: HUSHWIRE_ variables nothing reads (a typo would run
  // with the default), and the key file (read when --key is not given) if group or
  // others may read it: a warning, not a refusal (a Kubernetes secret volume is 0644
  // unless defaultMode says).
  warnUnknownEnv(log, process.env);
  const loose = keyMode === null ? null : looseSecretMode(keyMode);
  if (loose !== null) log.warn({ setting: '--key-file', mode: octalMode(loose) }, looseSecretModeMessage('--key-file', loose));
  const service = new OprfService({
    servers: config.nats, access, id: config.id, prefix: config.natsPrefix, key, replyPrefixes: config.replyPrefixes,
    threads: config.threads, maxBatch: config.maxBatch, maxQueuedElements: config.maxQueued,
    name: config.name, log,
  });
  let http;
  try {
    await service.start();
    http = await startOprfHttp(service, config.host, config.port);
  } catch (e) {
    await service.close();
    process.stderr.write(`hushwire oprf: could not start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
  // The facts as a log line, the human line on stderr: stdout carries only JSON log lines.
  log.info({ subject: service.subject, threads: config.threads, http: `http://${config.host}:${http.port}` }, 'hushwire oprf serving');
  process.stderr.write(`hushwire oprf serving ${service.subject} (threads ${config.threads}, http http://${config.host}:${http.port})\n`);
  let stopping = false;
  // NATS was down at start, and once up it refuses the credentials or TLS settings:
  // the same as failing at start.
  void service.natsFailed.then((e) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`hushwire oprf: could not start: ${e.message}\n`);
    service.close().then(() => http.close()).finally(() => process.exit(1));
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    service.close().then(() => http.close()).then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Not Node's default (the process ends at once): gateway/sighup.ts.
  keepRunningOnSighup(log, 'SIGTERM stops it', access);
}
