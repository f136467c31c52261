// The NATS TLS and credential files, read again at each NATS (re)connect, so that a
// rotated client certificate, CA bundle, password, token, seed or .creds file is used
// without restarting the process (relay/nats-connect-options.ts builds them; nats.js
// calls the authenticator and reads the `tls` options on every connect).
//
// A file that cannot be used at that moment (unreadable, empty, half written, a key
// that is not the certificate's, an expired certificate) never takes the process down:
// the contents read last time that were good stay in use, one warning names the flag and
// the path (at most one per WARN_EVERY_MS while it stays bad; never the contents), and
// the file is used again once it is valid. What a NATS connect depends on and that
// expires is watched, and warned about once when it expires within EXPIRY_WARN_MS
// (checked at start, at each re-read and every CHECK_EVERY_MS):
//
// - the client certificate (--nats-tls-cert-file);
// - the user JWT of a .creds file (--nats-creds-file; its `exp` claim, none = never);
// - the certificate chain the NATS server presented at the last TLS handshake: its own
//   certificate, any intermediates and the CA certificate it chains to (from
//   --nats-tls-ca-file or the system's), read through Node's checkServerIdentity hook
//   (serverIdentityCheck()), so an expiring CA in the bundle that no server's chain
//   uses (an old one kept during a CA rotation) does not warn.
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { looseSecretMode, looseSecretModeMessage, octalMode, SettingError } from './setting-file.ts';
import { NatsRefusalLog } from './nats-refusals.ts';

/** Where the re-read files report; set once the process has a logger. */
export type AccessLogFn = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

/** A file that stays bad is warned about again after this long. */
export const WARN_EVERY_MS = 10 * 60_000;
/** A client certificate, user JWT or server chain expiring within this is warned about. */
export const EXPIRY_WARN_MS = 7 * 24 * 3600_000;
/** How often a process looks at the expiries without a reconnect. */
const CHECK_EVERY_MS = 3600_000;
/** Bound on the (flag, mode) pairs remembered as warned about; past it, no more. */
const MAX_MODE_WARNINGS = 64;

/** One setting's file (or the certificate and key pair), read again on demand. */
export class RereadFile<T> {
  /** The flag named in messages, "--nats-password-file". */
  readonly flag: string;
  readonly path: string;
  readonly #owner: NatsAccessFiles;
  readonly #read: () => T;
  readonly #same: (a: T, b: T) => boolean;
  #good: T;
  /** Why the last read failed, or null when it succeeded. */
  #bad: string | null = null;
  #warnedAt = -Infinity;
  #readThisTurn = false;

  constructor(owner: NatsAccessFiles, flag: string, path: string, initial: T, read: () => T, same: (a: T, b: T) => boolean) {
    this.#owner = owner;
    this.flag = flag;
    this.path = path;
    this.#good = initial;
    this.#read = read;
    this.#same = same;
  }

  /** The contents in use (last good read), without reading. */
  get current(): T {
    return this.#good;
  }

  /** True while the file cannot be used (the last read failed). */
  get failing(): boolean {
    return this.#bad !== null;
  }

  /** The file's current contents if they are good, else the last good ones. Reads at
   *  most once per event-loop turn: nats.js asks for the certificate and the key (or a
   *  .creds file's JWT and seed) one after the other, and both must come from one read. */
  get(): T {
    if (!this.#readThisTurn) {
      this.#readThisTurn = true;
      queueMicrotask(() => { this.#readThisTurn = false; });
      this.refresh();
    }
    return this.#good;
  }

  /** Reads the file now; keeps the last good contents if it cannot be used. */
  refresh(): void {
    let next: T;
    try {
      next = this.#read();
    } catch (e) {
      // SettingError messages name the flag and path and never the contents; anything
      // else is reported without its message (it could quote what it parsed).
      const why = e instanceof SettingError ? e.message : `${this.flag}: ${this.path} could not be used`;
      const now = Date.now();
      if (this.#bad === null || now - this.#warnedAt >= WARN_EVERY_MS) {
        this.#warnedAt = now;
        this.#owner.log('warn', `${why}; NATS connects keep using what it held before until it is valid again`, { setting: this.flag, path: this.path });
      }
      this.#bad = why;
      return;
    }
    const changed = !this.#same(next, this.#good);
    if (this.#bad !== null) {
      this.#bad = null;
      this.#owner.log('info', `${this.flag}: ${this.path} is valid again${changed ? '; NATS connects use its new contents' : ''}`, { setting: this.flag, path: this.path });
    } else if (changed) {
      this.#owner.log('info', `${this.flag}: ${this.path} changed; NATS connects use its new contents`, { setting: this.flag, path: this.path });
    }
    this.#good = next;
    if (changed) this.#owner.checkExpiry();
  }
}

/** A client certificate and key as read: PEM texts and what the expiry check needs. */
export interface ClientCertPair {
  cert: string;
  key: string;
  /** Expiry of the (first) certificate, ms since the epoch. */
  notAfter: number;
  /** SHA-256 fingerprint, to warn once per certificate. */
  fingerprint: string;
}

/** A .creds file as read: the user JWT, the seed, and what the expiry check needs. */
export interface UserCreds {
  jwt: string;
  seed: Uint8Array;
  /** The JWT's `exp` in ms since the epoch; Infinity without one (it never expires);
   *  null when its claims could not be read (then not watched). */
  notAfter: number | null;
  /** Its `nbf` in ms since the epoch, or null without one (or unreadable claims). */
  notBefore: number | null;
  /** Short SHA-256 of the JWT (16 hex digits), to warn once per JWT and to name it in
   *  messages without showing it. */
  fingerprint: string;
}

/** The chain the NATS server presented at a TLS handshake: its earliest expiry. */
export interface ServerChain {
  /** Expiry of the chain's earliest-expiring certificate, ms since the epoch. */
  notAfter: number;
  /** That certificate: the server's own, an intermediate, or the CA it chains to. */
  which: 'server' | 'intermediate' | 'ca';
  /** Its SHA-256 fingerprint, first 8 bytes (AB:CD:...). */
  fingerprint: string;
  /** When the handshake was, ms. */
  at: number;
}

/** The first 8 bytes of a colon-separated SHA-256 fingerprint. */
export const shortFingerprint = (fp: string): string => fp.slice(0, 23);

/** The earliest expiry in a verified peer chain (Node's detailed peer certificate:
 *  issuerCertificate links up to the CA that verified it, which is its own issuer). */
export function serverChainOf(cert: PeerCertificate, at: number): ServerChain | null {
  let best: ServerChain | null = null;
  const seen = new Set<unknown>();
  let c: PeerCertificate | undefined = cert;
  for (let depth = 0; c !== undefined && !seen.has(c) && depth < 16; depth++) {
    seen.add(c);
    const next: PeerCertificate | undefined = (c as { issuerCertificate?: PeerCertificate }).issuerCertificate;
    const notAfter = Date.parse(c.valid_to);
    if (Number.isFinite(notAfter) && (best === null || notAfter < best.notAfter)) {
      const top = next === undefined || next === c;
      best = { notAfter, which: depth === 0 ? 'server' : top ? 'ca' : 'intermediate', fingerprint: shortFingerprint(c.fingerprint256 ?? ''), at };
    }
    c = next;
  }
  return best;
}

/** A process's re-read NATS files: where they report, and the expiries of the client
 *  certificate, the user JWT and the server's chain. One per readNatsAccess(). */
export class NatsAccessFiles {
  #log: AccessLogFn = () => {};
  #timer: NodeJS.Timeout | null = null;
  readonly #files: RereadFile<unknown>[] = [];
  #clientCert: RereadFile<ClientCertPair> | null = null;
  #creds: RereadFile<UserCreds> | null = null;
  /** Where the server chain's CAs come from, for messages; null: not watched (no TLS). */
  #caFrom: string | null = null;
  #serverChain: ServerChain | null = null;
  readonly #expiryWarned = new Set<string>();
  /** The secret files' (flag, mode) pairs warned about (secretFileMode). */
  readonly #modeWarned = new Set<string>();
  /** Their warnings until report() gives a log (the first read is before it). */
  #modePending: { msg: string; fields: Record<string, unknown> }[] | null = [];
  /** For tests: now, ms. */
  readonly #now: () => number;
  /** NATS refusing these settings at reconnects, shared by every link that uses them
   *  (relay/nats-refusals.ts). */
  readonly refusals: NatsRefusalLog;

  constructor(opts: { now?: () => number } = {}) {
    this.#now = opts.now ?? Date.now;
    this.refusals = new NatsRefusalLog({ now: this.#now });
  }

  /** A file re-read at each connect. */
  add<T>(flag: string, path: string, initial: T, read: () => T, same: (a: T, b: T) => boolean = (a, b) => a === b): RereadFile<T> {
    const f = new RereadFile(this, flag, path, initial, read, same);
    this.#files.push(f as RereadFile<unknown>);
    return f;
  }

  /** The client certificate pair (its expiry is watched). */
  addClientCert(certPath: string, initial: ClientCertPair, read: () => ClientCertPair): RereadFile<ClientCertPair> {
    const f = this.add('--nats-tls-cert-file', certPath, initial, read, (a, b) => a.cert === b.cert && a.key === b.key);
    this.#clientCert = f;
    return f;
  }

  /** The .creds file (its user JWT's expiry is watched). */
  addCreds(path: string, initial: UserCreds, read: () => UserCreds): RereadFile<UserCreds> {
    const f = this.add('--nats-creds-file', path, initial, read, (a, b) => a.jwt === b.jwt && Buffer.from(a.seed).equals(Buffer.from(b.seed)));
    this.#creds = f;
    return f;
  }

  /** A checkServerIdentity for nats.js's `tls` option (Node's tls.connect calls it once
   *  the server's chain has verified, with that chain): Node's own host check, and on
   *  success the chain's earliest expiry is kept and checked. `caFrom` names where the
   *  CAs come from in messages ("--nats-tls-ca-file" or "the system's CAs"). */
  serverIdentityCheck(caFrom: string): (host: string, cert: PeerCertificate) => Error | undefined {
    this.#caFrom = caFrom;
    return (host, cert) => {
      const err = checkServerIdentity(host, cert);
      if (err === undefined) {
        try {
          const chain = serverChainOf(cert, this.#now());
          if (chain !== null) {
            this.#serverChain = chain;
            this.checkExpiry();
          }
        } catch {
          // watching must never fail a handshake
        }
      }
      return err;
    };
  }

  /** Sends warnings and notices to `log` from now on, checks the expiries now and then
   *  every hour (an unref'd timer; stop() ends it). */
  report(log: AccessLogFn): void {
    this.#log = log;
    const pending = this.#modePending ?? [];
    this.#modePending = null;
    for (const p of pending) this.log('warn', p.msg, p.fields);
    this.checkExpiry();
    if ((this.#clientCert !== null || this.#creds !== null || this.#caFrom !== null) && this.#timer === null) {
      this.#timer = setInterval(() => {
        // What the next connect would present: the files as they are now.
        this.#clientCert?.refresh();
        this.#creds?.refresh();
        this.checkExpiry();
      }, CHECK_EVERY_MS);
      this.#timer.unref();
    }
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** A secret file (`flag`: "--nats-password-file") was opened with these permission
   *  bits: when group or others may read it, one warning per flag and mode, at start
   *  (once report() gives a log) or at the re-read that first sees that mode; the file
   *  is used all the same. The flag, never the path or contents. */
  secretFileMode(flag: string, mode: number): void {
    const bits = looseSecretMode(mode);
    if (bits === null) return;
    const key = `${flag} ${bits}`;
    if (this.#modeWarned.has(key) || this.#modeWarned.size >= MAX_MODE_WARNINGS) return;
    this.#modeWarned.add(key);
    const line = { msg: looseSecretModeMessage(flag, bits), fields: { setting: flag, mode: octalMode(bits) } };
    if (this.#modePending !== null) this.#modePending.push(line);
    else this.log('warn', line.msg, line.fields);
  }

  log(level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void {
    try {
      this.#log(level, msg, fields);
    } catch {
      // a logger that throws must not break a NATS connect
    }
  }

  /** Expiry (ms since the epoch) of the client certificate NATS connects present, or
   *  null without --nats-tls-cert-file. */
  clientCertNotAfter(): number | null {
    return this.#clientCert?.current.notAfter ?? null;
  }

  /** Expiry (ms since the epoch) of the user JWT NATS connects present: Infinity when
   *  it has no `exp`, NaN when its claims could not be read; null without
   *  --nats-creds-file. */
  userJwtNotAfter(): number | null {
    const f = this.#creds;
    if (f === null) return null;
    return f.current.notAfter ?? NaN;
  }

  /** Expiry (ms since the epoch) of the earliest-expiring certificate of the chain the
   *  NATS server presented at the last TLS handshake; NaN before the first; null
   *  without TLS. */
  serverChainNotAfter(): number | null {
    if (this.#caFrom === null) return null;
    return this.#serverChain?.notAfter ?? NaN;
  }

  /** Why NATS may have refused the credentials in --nats-creds-file, from the JWT in use:
   *  expired or not valid yet (a clause for a refusal message), or null. */
  credsRefusalHint(): string | null {
    const f = this.#creds;
    if (f === null) return null;
    const { notAfter, notBefore, fingerprint } = f.current;
    const now = this.#now();
    if (notAfter !== null && notAfter <= now) {
      return `the user JWT in it (sha256 ${fingerprint}) expired on ${new Date(notAfter).toISOString()}: put a new .creds file in place (read again at each NATS connect, no restart needed)`;
    }
    if (notBefore !== null && notBefore > now) {
      return `the user JWT in it (sha256 ${fingerprint}) is not valid until ${new Date(notBefore).toISOString()}`;
    }
    return null;
  }

  /** Reads every file now (tests; the periodic check reads only the certificate and the
   *  .creds file). */
  refreshAll(): void {
    for (const f of this.#files) f.refresh();
  }

  /** Warns once per certificate or JWT when one in use expires within EXPIRY_WARN_MS
   *  (and once per JWT whose claims could not be read). */
  checkExpiry(): void {
    this.#checkClientCert();
    this.#checkUserJwt();
    this.#checkServerChain();
  }

  /** True the first time `key` is seen. */
  #firstTime(key: string): boolean {
    if (this.#expiryWarned.has(key)) return false;
    this.#expiryWarned.add(key);
    return true;
  }

  #checkClientCert(): void {
    const f = this.#clientCert;
    if (f === null) return;
    const { notAfter, fingerprint } = f.current;
    const left = notAfter - this.#now();
    if (left >= EXPIRY_WARN_MS || !this.#firstTime(`cert ${fingerprint}`)) return;
    const when = new Date(notAfter).toISOString();
    const msg = left <= 0
      ? `--nats-tls-cert-file: ${f.path}: the client certificate in use expired on ${when}; NATS will refuse new connections with it: put a new certificate and key in the files (read again at each NATS connect)`
      : `--nats-tls-cert-file: ${f.path}: the client certificate in use expires on ${when} (in ${Math.floor(left / 3600_000)} h); put a new certificate and key in the files before then (read again at each NATS connect, no restart needed)`;
    this.log('warn', msg, { setting: '--nats-tls-cert-file', path: f.path, notAfter: when });
  }

  #checkUserJwt(): void {
    const f = this.#creds;
    if (f === null) return;
    const { notAfter, fingerprint } = f.current;
    const fields = { setting: '--nats-creds-file', path: f.path, jwt: fingerprint };
    if (notAfter === null) {
      if (this.#firstTime(`jwt ${fingerprint}`)) {
        this.log('warn', `--nats-creds-file: ${f.path}: the claims of the user JWT in use (sha256 ${fingerprint}) could not be read (not base64url JSON, or a non-numeric exp or nbf); its expiry is not watched (hushwire_nats_user_jwt_expiry_seconds shows NaN)`, fields);
      }
      return;
    }
    const left = notAfter - this.#now();
    if (left >= EXPIRY_WARN_MS || !this.#firstTime(`jwt ${fingerprint}`)) return;
    const when = new Date(notAfter).toISOString();
    const msg = left <= 0
      ? `--nats-creds-file: ${f.path}: the user JWT in use (sha256 ${fingerprint}) expired on ${when}; NATS refuses it from then on: put a new .creds file in place (read again at each NATS connect)`
      : `--nats-creds-file: ${f.path}: the user JWT in use (sha256 ${fingerprint}) expires on ${when} (in ${Math.floor(left / 3600_000)} h); put a new .creds file in place before then (read again at each NATS connect, no restart needed)`;
    this.log('warn', msg, { ...fields, notAfter: when });
  }

  #checkServerChain(): void {
    const c = this.#serverChain;
    if (c === null) return;
    const left = c.notAfter - this.#now();
    if (left >= EXPIRY_WARN_MS || !this.#firstTime(`chain ${c.fingerprint}`)) return;
    const when = new Date(c.notAfter).toISOString();
    const what = c.which === 'server' ? 'the NATS server\'s own certificate'
      : c.which === 'ca' ? `the CA certificate it chains to (from ${this.#caFrom})` : 'an intermediate CA certificate of its chain';
    const fix = c.which === 'ca'
      ? `have the NATS servers present certificates from a new CA and add that CA to ${this.#caFrom === '--nats-tls-ca-file' ? 'the --nats-tls-ca-file bundle (read again at each NATS connect)' : 'the system\'s CAs'}`
      : 'renew the NATS servers\' certificates';
    const msg = left <= 0
      ? `NATS server TLS: ${what} (sha256 ${c.fingerprint}) expired on ${when}; connects to NATS fail TLS verification: ${fix}`
      : `NATS server TLS: ${what} (sha256 ${c.fingerprint}) expires on ${when} (in ${Math.floor(left / 3600_000)} h); connects to NATS will fail TLS verification after that: ${fix} before then`;
    this.log('warn', msg, { setting: this.#caFrom === '--nats-tls-ca-file' ? '--nats-tls-ca-file' : 'tls', certificate: c.which, notAfter: when });
  }
}
