// How a gateway and `hushwire oprf` reach NATS securely: TLS with the operator's own CA,
// a client certificate for mutual TLS, and one way to authenticate (user and password,
// token, NKey seed or .creds file), each secret read from a file. Both processes share
// the flags (one table, NATS_ACCESS_SETTINGS), the checks (natsAccessProblem) and the
// reading (readNatsAccess), which happens first before anything starts: a problem is one
// line naming the flag and the path, never the contents, and the command exits 2. After
// that every NATS (re)connect reads the files again (relay/nats-access-files.ts), so
// rotated certificates and credentials take no restart; a file that has gone bad by
// then keeps its last good contents in use, with a warning.
//
// Two things nats.js (@nats-io/transport-node 3.x) does not do by itself:
//
// - A `tls://` URL does not make TLS required: the client drops the scheme and uses TLS
//   only when the server's INFO offers it, so a server without TLS (or anyone on the
//   path who strips the offer from INFO) gets plain text. Here any tls:// URL or
//   --nats-tls-* file sets nats.js's `tls` option, and with it set nats.js refuses a
//   server that does not offer TLS.
// - It ignores a URL's user, password or token (and reads a password that starts with
//   digits as the port). Credentials given in --nats are taken out of the URLs here and
//   handed to nats.js as an authenticator, so they work; the --nats-*-file flags are
//   better (a URL shows in `ps` and shell history).
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import {
  jwtAuthenticator, nkeyAuthenticator, nkeys, tokenAuthenticator, usernamePasswordAuthenticator,
  type Authenticator, type TlsOptions,
} from '@nats-io/transport-node';
import { readSettingText, SettingError, SETTING_FILE_MAX_BYTES } from './setting-file.ts';
import { NatsAccessFiles, type ClientCertPair, type RereadFile, type UserCreds } from './nats-access-files.ts';

/** The settings this module reads; GatewayConfig and OprfConfig both have them. */
export interface NatsAccessSettings {
  nats: string[];
  natsTlsCaFile?: string | undefined;
  natsTlsCertFile?: string | undefined;
  natsTlsKeyFile?: string | undefined;
  natsUser?: string | undefined;
  natsPasswordFile?: string | undefined;
  natsTokenFile?: string | undefined;
  natsNkeySeedFile?: string | undefined;
  natsCredsFile?: string | undefined;
}

export type NatsAccessKey = Exclude<keyof NatsAccessSettings, 'nats'>;

export interface NatsAccessSetting {
  key: NatsAccessKey;
  flag: string;
  env: string;
  help: string;
}

/** The flags, the same for `hushwire gateway` and `hushwire oprf` (and their variables:
 *  they mean the same in both). Each is a string, absent by default. */
export const NATS_ACCESS_SETTINGS: readonly NatsAccessSetting[] = [
  { key: 'natsTlsCaFile', flag: 'nats-tls-ca-file', env: 'HUSHWIRE_NATS_TLS_CA_FILE', help: 'PEM file with the CA certificate(s) that verify the NATS servers (absent: the system\'s CAs); makes TLS required: a server without TLS is refused, never used in plain text' },
  { key: 'natsTlsCertFile', flag: 'nats-tls-cert-file', env: 'HUSHWIRE_NATS_TLS_CERT_FILE', help: 'PEM client certificate (chain) for mutual TLS with NATS, with --nats-tls-key-file; makes TLS required' },
  { key: 'natsTlsKeyFile', flag: 'nats-tls-key-file', env: 'HUSHWIRE_NATS_TLS_KEY_FILE', help: 'PEM private key (unencrypted) of --nats-tls-cert-file' },
  { key: 'natsUser', flag: 'nats-user', env: 'HUSHWIRE_NATS_USER', help: 'NATS user name; its password in --nats-password-file' },
  { key: 'natsPasswordFile', flag: 'nats-password-file', env: 'HUSHWIRE_NATS_PASSWORD_FILE', help: 'File with the password of --nats-user (one line; never logged)' },
  { key: 'natsTokenFile', flag: 'nats-token-file', env: 'HUSHWIRE_NATS_TOKEN_FILE', help: 'File with a NATS authentication token (one line; never logged)' },
  { key: 'natsNkeySeedFile', flag: 'nats-nkey-seed-file', env: 'HUSHWIRE_NATS_NKEY_SEED_FILE', help: 'File with a NATS NKey user seed (SU..., made by nk -gen user or nsc; never logged)' },
  { key: 'natsCredsFile', flag: 'nats-creds-file', env: 'HUSHWIRE_NATS_CREDS_FILE', help: 'NATS .creds file (user JWT and NKey seed, made by nsc; never logged)' },
];

/** What a process hands nats.js's connect(): read at start, and the files again at each
 *  connect. */
export interface NatsAccess {
  /** The --nats URLs without credentials. */
  readonly servers: string[];
  /** nats.js `tls`: present = TLS required. ca/cert/key are getters that return the
   *  files' current (good) contents: nats.js reads them at every TLS handshake; also a
   *  checkServerIdentity that watches the server chain's expiry (NatsAccessFiles). */
  readonly tls?: TlsOptions;
  /** Reads the credential file at every connect (nats.js calls it with the nonce). */
  readonly authenticator?: Authenticator;
  /** The files read again at each connect: give it the process's log (report()), stop()
   *  it when the process closes; the expiries of the client certificate, the user JWT
   *  and the server's chain. */
  readonly files: NatsAccessFiles;
  /** What made TLS required, for messages: "--nats-tls-ca-file", "tls:// in --nats", ... */
  readonly tlsBy?: string;
  /** --nats-tls-ca-file was given (else the system's CAs verify the servers). */
  readonly ownCa: boolean;
  /** --nats-tls-cert-file and --nats-tls-key-file were given. */
  readonly clientCert: boolean;
  /** Where the credentials come from, for messages: "--nats-password-file",
   *  "--nats-token-file", "--nats-nkey-seed-file", "--nats-creds-file", or "--nats" for
   *  credentials in a URL; absent: none given. */
  readonly authBy?: string;
}

/** PEM CA bundles can hold many certificates (a system bundle is ~200 KB). */
const CERT_FILE_MAX_BYTES = 1024 * 1024;
/** Passwords, tokens, seeds, keys and .creds files are small: the bound of every
 *  setting file that holds a secret. */
const SECRET_FILE_MAX_BYTES = SETTING_FILE_MAX_BYTES;

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
/** A .creds file: the JWT block, then the seed block (the parse nats.js itself uses). */
const CREDS_BLOCK_RE = /\s*(?:(?:[-]{3,}[^\n]*[-]{3,}\n)(.+)(?:\n\s*[-]{3,}[^\n]*[-]{3,}\n))/ig;
const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const given = (v: string | undefined): v is string => v !== undefined && v !== '';

interface ParsedUrl {
  /** The URL as nats.js gets it: scheme (if any), host and port. */
  bare: string;
  tls: boolean;
  /** user/password, or a token (a user without password, as in nats://TOKEN@host). */
  user: string | null;
  pass: string | null;
}

/** Splits one --nats URL (already checked by natsUrlProblem). Null if it does not parse. */
function parseUrl(url: string): ParsedUrl | null {
  const text = url.trim();
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  const scheme = m ? m[1]!.toLowerCase() : null;
  let u: URL;
  try {
    u = new URL(scheme === null ? `nats://${text}` : text);
  } catch {
    return null;
  }
  const dec = (s: string): string => {
    try { return decodeURIComponent(s); } catch { return s; }
  };
  const hasUser = u.username !== '' || u.password !== '';
  return {
    bare: scheme === null ? u.host : `${scheme}://${u.host}`,
    tls: scheme === 'tls',
    user: hasUser ? dec(u.username) : null,
    pass: hasUser && u.password !== '' ? dec(u.password) : null,
  };
}

function flagOf(key: NatsAccessKey): string {
  return `--${NATS_ACCESS_SETTINGS.find((s) => s.key === key)!.flag}`;
}

/** Why these settings cannot work together, or null. One line naming the flags; never a
 *  URL or credential. Commands turn it into their own exit 2. */
export function natsAccessProblem(s: NatsAccessSettings): string | null {
  const set = NATS_ACCESS_SETTINGS.filter((x) => given(s[x.key]));
  if (s.nats.length === 0) return set.length > 0 ? `${flagOf(set[0]!.key)} needs --nats (it secures the NATS connection)` : null;
  if (given(s.natsTlsCertFile) !== given(s.natsTlsKeyFile)) {
    return '--nats-tls-cert-file and --nats-tls-key-file go together (the client certificate for mutual TLS and its private key)';
  }
  if (given(s.natsUser) && !given(s.natsPasswordFile)) return '--nats-user needs --nats-password-file (the password is read from a file, never given as a value)';
  if (given(s.natsPasswordFile) && !given(s.natsUser)) return '--nats-password-file needs --nats-user';
  const urls = s.nats.map(parseUrl);
  const inUrls = new Set(urls.filter((u) => u !== null && u.user !== null).map((u) => JSON.stringify([u!.user, u!.pass])));
  if (inUrls.size > 1) {
    return '--nats: the URLs carry different credentials, but the NATS client uses one set for every server (better: --nats-user with --nats-password-file, or another --nats-*-file)';
  }
  const methods: string[] = [];
  if (given(s.natsUser)) methods.push('--nats-user/--nats-password-file');
  if (given(s.natsTokenFile)) methods.push('--nats-token-file');
  if (given(s.natsNkeySeedFile)) methods.push('--nats-nkey-seed-file');
  if (given(s.natsCredsFile)) methods.push('--nats-creds-file');
  if (inUrls.size > 0) methods.push('credentials in a --nats URL');
  if (methods.length > 1) return `${methods.join(' and ')}: give one way to authenticate to NATS`;
  return null;
}

/** One line of text from a secret file: surrounding whitespace ignored, never echoed. */
function readSecretLine(key: NatsAccessKey, path: string, what: string, onMode: (mode: number) => void): string {
  const flag = flagOf(key).slice(2);
  const text = readSettingText(flag, path, SECRET_FILE_MAX_BYTES, `it should hold ${what}`, onMode).trim();
  if (text === '') throw new SettingError(`--${flag}: ${path} is empty`);
  if (/[\x00-\x1f\x7f]/.test(text)) throw new SettingError(`--${flag}: ${path} must hold one line (${what})`);
  return text;
}

function readCertificates(key: NatsAccessKey, path: string): { pem: string; first: X509Certificate } {
  const flag = flagOf(key).slice(2);
  const pem = readSettingText(flag, path, CERT_FILE_MAX_BYTES, 'it should hold PEM certificates');
  const blocks = pem.match(PEM_CERT_RE) ?? [];
  if (blocks.length === 0) throw new SettingError(`--${flag}: ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  const certs = blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch {
      throw new SettingError(`--${flag}: ${path}: a certificate in it does not parse`);
    }
  });
  return { pem, first: certs[0]! };
}

/** A client certificate valid from up to this far in the future is taken (clock skew). */
const NOT_YET_VALID_SLACK_MS = 5 * 60_000;

function readClientCert(certPath: string, keyPath: string, onKeyMode: (mode: number) => void): ClientCertPair {
  const { pem, first } = readCertificates('natsTlsCertFile', certPath);
  const validTo = Date.parse(first.validTo);
  if (Number.isFinite(validTo) && validTo < Date.now()) {
    throw new SettingError(`--nats-tls-cert-file: ${certPath}: the certificate expired on ${new Date(validTo).toISOString()}`);
  }
  // Not valid yet (a certificate put in place before its time, or a clock far behind):
  // NATS would refuse it, so a re-read keeps the pair in use until it is (a few minutes
  // of clock skew between the issuer and this host are let through).
  const validFrom = Date.parse(first.validFrom);
  if (Number.isFinite(validFrom) && validFrom > Date.now() + NOT_YET_VALID_SLACK_MS) {
    throw new SettingError(`--nats-tls-cert-file: ${certPath}: the certificate is not valid until ${new Date(validFrom).toISOString()}`);
  }
  const keyPem = readSettingText('nats-tls-key-file', keyPath, SECRET_FILE_MAX_BYTES, 'it should hold one PEM private key', onKeyMode);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new SettingError(`--nats-tls-key-file: ${keyPath} is not a PEM private key, or is encrypted (give it unencrypted, readable by this process only)`);
  }
  if (!first.checkPrivateKey(key)) {
    throw new SettingError(`--nats-tls-key-file: ${keyPath} is not the private key of the certificate in --nats-tls-cert-file`);
  }
  return { cert: pem, key: keyPem, notAfter: Number.isFinite(validTo) ? validTo : Infinity, fingerprint: first.fingerprint256 };
}

/** An NKey user seed (SU...) as bytes, or null. */
function userSeed(text: string): Uint8Array | null {
  const seed = new TextEncoder().encode(text);
  try {
    return nkeys.fromSeed(seed).getPublicKey().startsWith('U') ? seed : null;
  } catch {
    return null;
  }
}

function readNkeySeed(path: string, onMode: (mode: number) => void): Uint8Array {
  const seed = userSeed(readSecretLine('natsNkeySeedFile', path, 'an NKey user seed', onMode));
  if (seed === null) throw new SettingError(`--nats-nkey-seed-file: ${path} does not hold an NKey user seed (one line starting with SU, made by nk -gen user or nsc)`);
  return seed;
}

/** A JWT's `exp` and `nbf` claims in ms since the epoch (null: none; 0 means none, as
 *  NATS reads it), or null when its claims are not base64url JSON or those two are not
 *  numbers. Only what the expiry watch needs: no signature check (the file is ours; the
 *  server checks it). */
export function userJwtTimes(jwt: string): { notAfter: number | null; notBefore: number | null } | null {
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return null;
  const ms = (v: unknown): number | null | undefined =>
    v === undefined || v === null || v === 0 ? null : typeof v === 'number' && Number.isFinite(v) && v > 0 ? v * 1000 : undefined;
  const { exp, nbf } = claims as { exp?: unknown; nbf?: unknown };
  const [notAfter, notBefore] = [ms(exp), ms(nbf)];
  if (notAfter === undefined || notBefore === undefined) return null;
  return { notAfter, notBefore };
}

/** A short SHA-256 of a JWT (16 hex digits): names it in messages without showing it
 *  (`sed -n 2p user.creds | tr -d '\n' | sha256sum | cut -c1-16` gives the same). */
export function jwtFingerprint(jwt: string): string {
  return createHash('sha256').update(jwt).digest('hex').slice(0, 16);
}

function readCreds(path: string, onMode: (mode: number) => void): UserCreds {
  const text = readSettingText('nats-creds-file', path, SECRET_FILE_MAX_BYTES, 'it should hold one .creds file', onMode);
  const re = new RegExp(CREDS_BLOCK_RE.source, CREDS_BLOCK_RE.flags);
  const jwt = re.exec(text)?.[1]?.trim();
  const seedText = re.exec(text)?.[1]?.trim();
  const seed = seedText === undefined ? null : userSeed(seedText);
  if (jwt === undefined || seed === null || !JWT_RE.test(jwt)) {
    throw new SettingError(`--nats-creds-file: ${path} is not a NATS credentials file (a user JWT and an NKey user seed, as nsc writes them)`);
  }
  const fingerprint = jwtFingerprint(jwt);
  const times = userJwtTimes(jwt);
  // Claims that do not parse are NATS's to refuse; here they are only not watched
  // (NatsAccessFiles warns once).
  if (times === null) return { jwt, seed, notAfter: null, notBefore: null, fingerprint };
  // Expired or not valid yet, as with the client certificate: NATS would refuse it, so
  // refused at start, and a re-read keeps the file in use before (clock skew allowed
  // for nbf as for a certificate's start).
  if (times.notAfter !== null && times.notAfter < Date.now()) {
    throw new SettingError(`--nats-creds-file: ${path}: the user JWT (sha256 ${fingerprint}) expired on ${new Date(times.notAfter).toISOString()}`);
  }
  if (times.notBefore !== null && times.notBefore > Date.now() + NOT_YET_VALID_SLACK_MS) {
    throw new SettingError(`--nats-creds-file: ${path}: the user JWT (sha256 ${fingerprint}) is not valid until ${new Date(times.notBefore).toISOString()}`);
  }
  return { jwt, seed, notAfter: times.notAfter ?? Infinity, notBefore: times.notBefore, fingerprint };
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/** A `tls` option whose `key` reads `file` (via get()) whenever nats.js reads it: nats.js
 *  (transport-node 3.4, NodeTransport.startTLS) copies the option's enumerable
 *  properties into Node's tls.connect options at every handshake, so a getter is read
 *  per connection. test/faults/nats-credential-rotation.test.ts proves it (it fails if a
 *  nats.js upgrade starts copying the option once). */
function tlsGetter<T>(tls: TlsOptions, key: 'ca' | 'cert' | 'key', file: RereadFile<T>, pick: (v: T) => string): void {
  Object.defineProperty(tls, key, { enumerable: true, configurable: false, get: () => pick(file.get()) });
}

/**
 * Checks the settings, reads every file they name, and returns what nats.js's connect()
 * takes. Throws SettingError, one line naming the flag and path. The files are read
 * again at each connect (relay/nats-access-files.ts).
 */
export function readNatsAccess(s: NatsAccessSettings): NatsAccess {
  const problem = natsAccessProblem(s);
  if (problem) throw new SettingError(problem);
  const urls = s.nats.map((u) => {
    const p = parseUrl(u);
    // natsUrlProblem refuses these first; kept for callers that skip it (tests).
    if (p === null) throw new SettingError('--nats: not a valid URL (nats://host:port or tls://host:port)');
    return p;
  });

  const files = new NatsAccessFiles();
  // Secret files (not the certificates) that group or others may read are warned about,
  // once per flag and mode, at start and at the re-read that first sees a mode.
  const modeOf = (flag: string) => (mode: number): void => files.secretFileMode(flag, mode);
  let tls: TlsOptions | undefined;
  let tlsBy: string | undefined;
  const ownCa = given(s.natsTlsCaFile);
  const clientCert = given(s.natsTlsCertFile);
  if (ownCa || clientCert || urls.some((u) => u.tls)) {
    tls = {};
    if (ownCa) {
      const path = s.natsTlsCaFile!;
      const read = (): string => readCertificates('natsTlsCaFile', path).pem;
      tlsGetter(tls, 'ca', files.add('--nats-tls-ca-file', path, read(), read), (pem) => pem);
    }
    if (clientCert) {
      const [certPath, keyPath] = [s.natsTlsCertFile!, s.natsTlsKeyFile!];
      const read = (): ClientCertPair => readClientCert(certPath, keyPath, modeOf('--nats-tls-key-file'));
      const pair = files.addClientCert(certPath, read(), read);
      tlsGetter(tls, 'cert', pair, (p) => p.cert);
      tlsGetter(tls, 'key', pair, (p) => p.key);
    }
    tlsBy = ownCa ? '--nats-tls-ca-file' : clientCert ? '--nats-tls-cert-file' : 'tls:// in --nats';
    // Node's tls.connect calls it with the server's verified chain (nats.js copies it
    // over with the rest): the chain's expiry is watched.
    Object.defineProperty(tls, 'checkServerIdentity', {
      enumerable: true, configurable: false, value: files.serverIdentityCheck(ownCa ? '--nats-tls-ca-file' : 'the system\'s CAs'),
    });
  }

  let authenticator: Authenticator | undefined;
  let authBy: string | undefined;
  if (given(s.natsUser)) {
    const path = s.natsPasswordFile!;
    const read = (): string => readSecretLine('natsPasswordFile', path, 'a password', modeOf('--nats-password-file'));
    const password = files.add('--nats-password-file', path, read(), read);
    authenticator = usernamePasswordAuthenticator(s.natsUser, () => password.get());
    authBy = '--nats-password-file';
  } else if (given(s.natsTokenFile)) {
    const path = s.natsTokenFile;
    const read = (): string => readSecretLine('natsTokenFile', path, 'a token', modeOf('--nats-token-file'));
    const token = files.add('--nats-token-file', path, read(), read);
    authenticator = tokenAuthenticator(() => token.get());
    authBy = '--nats-token-file';
  } else if (given(s.natsNkeySeedFile)) {
    const path = s.natsNkeySeedFile;
    const read = (): Uint8Array => readNkeySeed(path, modeOf('--nats-nkey-seed-file'));
    const seed = files.add('--nats-nkey-seed-file', path, read(), read, sameBytes);
    authenticator = nkeyAuthenticator(() => seed.get());
    authBy = '--nats-nkey-seed-file';
  } else if (given(s.natsCredsFile)) {
    const path = s.natsCredsFile;
    const read = (): UserCreds => readCreds(path, modeOf('--nats-creds-file'));
    const creds = files.addCreds(path, read(), read);
    // JWT and seed from one read (get() reads once per turn).
    authenticator = jwtAuthenticator(() => creds.get().jwt, () => creds.get().seed);
    authBy = '--nats-creds-file';
  } else {
    const withCreds = urls.find((u) => u.user !== null);
    if (withCreds) {
      authenticator = withCreds.pass === null
        ? tokenAuthenticator(withCreds.user!)
        : usernamePasswordAuthenticator(withCreds.user!, withCreds.pass);
      authBy = '--nats';
    }
  }

  return {
    servers: urls.map((u) => u.bare),
    ...(tls ? { tls, tlsBy } : {}),
    ...(authenticator ? { authenticator, authBy } : {}),
    files,
    ownCa,
    clientCert,
  };
}
