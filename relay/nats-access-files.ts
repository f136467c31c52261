// The NATS TLS and credential files, read again at each NATS (re)connect, so that a
// rotated client certificate, CA bundle, password, token, seed or .creds file is used
// without restarting the process (relay/nats-connect-options.ts builds them; nats.js
// calls the authenticator and reads the `tls` options on every connect).
//
// A file that cannot be used at that moment (unreadable, empty, half written, a key
// that is not the certificate's, an expired certificate) never takes the process down:
// the contents read last time that were good stay in use, one warning names the flag and
// the path (at most one per WARN_EVERY_MS while it stays bad; never the contents), and
// the file is used again once it is valid. A client certificate that expires within
// EXPIRY_WARN_MS is warned about once, ahead of time (checked at start, at each re-read
// and every CHECK_EVERY_MS).
import { SettingError } from './setting-file.ts';

/** Where the re-read files report; set once the process has a logger. */
export type AccessLogFn = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

/** A file that stays bad is warned about again after this long. */
export const WARN_EVERY_MS = 10 * 60_000;
/** A client certificate expiring within this is warned about. */
export const EXPIRY_WARN_MS = 7 * 24 * 3600_000;
/** How often a process looks at its client certificate's expiry without a reconnect. */
const CHECK_EVERY_MS = 3600_000;

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

/** A process's re-read NATS files: where they report, and the client certificate's
 *  expiry. One per readNatsAccess(). */
export class NatsAccessFiles {
  #log: AccessLogFn = () => {};
  #timer: NodeJS.Timeout | null = null;
  readonly #files: RereadFile<unknown>[] = [];
  #clientCert: RereadFile<ClientCertPair> | null = null;
  readonly #expiryWarned = new Set<string>();
  /** For tests: now, ms. */
  readonly #now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    this.#now = opts.now ?? Date.now;
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

  /** Sends warnings and notices to `log` from now on, checks the client certificate's
   *  expiry now and then every hour (an unref'd timer; stop() ends it). */
  report(log: AccessLogFn): void {
    this.#log = log;
    this.checkExpiry();
    if (this.#clientCert !== null && this.#timer === null) {
      this.#timer = setInterval(() => {
        // What the next connect would present: the file as it is now.
        this.#clientCert?.refresh();
        this.checkExpiry();
      }, CHECK_EVERY_MS);
      this.#timer.unref();
    }
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
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

  /** Reads every file now (tests; the periodic check reads only the certificate). */
  refreshAll(): void {
    for (const f of this.#files) f.refresh();
  }

  /** Warns once per certificate when the one in use expires within EXPIRY_WARN_MS. */
  checkExpiry(): void {
    const f = this.#clientCert;
    if (f === null) return;
    const { notAfter, fingerprint } = f.current;
    const left = notAfter - this.#now();
    if (left >= EXPIRY_WARN_MS || this.#expiryWarned.has(fingerprint)) return;
    this.#expiryWarned.add(fingerprint);
    const when = new Date(notAfter).toISOString();
    const msg = left <= 0
      ? `--nats-tls-cert-file: ${f.path}: the client certificate in use expired on ${when}; NATS will refuse new connections with it: put a new certificate and key in the files (read again at each NATS connect)`
      : `--nats-tls-cert-file: ${f.path}: the client certificate in use expires on ${when} (in ${Math.floor(left / 3600_000)} h); put a new certificate and key in the files before then (read again at each NATS connect, no restart needed)`;
    this.log('warn', msg, { setting: '--nats-tls-cert-file', path: f.path, notAfter: when });
  }
}
