// connect() to NATS with the access settings (relay/nats-connect-options.ts), for the
// gateway's bus (relay/bus/nats.ts) and the NATS links of `hushwire oprf` and the
// gateway's evaluator client (relay/oprf-nats.ts), so that both tell an outage from a
// configuration NATS refuses the same way.
//
// An outage (refused, timed out, host not found) is worth retrying. These are not, and
// reject with NatsRefused naming the flag to fix, so the process stops at start:
//
// - NATS refused the credentials (or needs some and none were given);
// - TLS is required (a tls:// URL or a --nats-tls-* file) and the server offers none:
//   refused rather than used in plain text;
// - the server's certificate does not verify (unknown CA, wrong host name, expired);
// - the server refused the client certificate (or requires one and none was given).
//
// The last one needs a second look: with TLS 1.3 the client finishes its half of the
// handshake before the server checks the client's certificate, and nats.js (3.4) then
// waits out its connect timeout instead of reporting the server's alert. So after a
// timeout with TLS in play, one short probe per server repeats the TLS handshake (with
// the same CA and certificate) and a CONNECT/PING, and looks for that alert.
//
// Messages name flags, TLS error codes and at most the certificate's host check (which
// names the server's host); never a URL (it may hold credentials) or a secret.
import { natsEndpoints } from './nats-endpoints.ts';
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, HushwireError } from './errors.ts';
import type { NatsAccess } from './nats-connect-options.ts';

/** NATS refused this process's settings; retrying with them cannot pass. */
export class NatsRefused extends HushwireError {
  /** The flag to look at, e.g. "--nats-tls-ca-file". */
  readonly setting: string;
  /** The whole explanation; names the setting. */
  readonly reason: string;
  constructor(setting: string, reason: string, cause?: unknown) {
    super(ErrorCode.UNAVAILABLE, reason, { cause });
    this.name = 'NatsRefused';
    this.setting = setting;
    this.reason = reason;
  }
}

/** Certificate checks of the server's certificate that failed (Node's codes). */
const SERVER_CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_UNTRUSTED', 'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'INVALID_CA', 'INVALID_PURPOSE', 'PATH_LENGTH_EXCEEDED', 'CERT_CHAIN_TOO_LONG',
]);
/** TLS alerts a server sends when it refuses the client's certificate. */
const CLIENT_CERT_ALERT_RE = /_ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_\w+|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)$/;
const ALERT_RE = /^ERR_SSL_\w*ALERT_/;
/** The alerts that say the settings are wrong (a certificate refused, a TLS version the
 *  server will not speak): final. Others (internal_error, handshake_failure from a
 *  server under load) are retried like an unreachable server. */
const PERMANENT_ALERT_RE = /_ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_\w+|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED|PROTOCOL_VERSION)$/;
/** How long a probe may take (it runs only after a timed-out connect with TLS). */
const PROBE_MS = 2000;

/**
 * nats.js connect() with the servers, TLS and credentials of `access` (`opts` carries the
 * rest: name, timeouts, reconnect policy). Rejects with NatsRefused for what retrying
 * cannot fix (above), else with nats.js's error.
 */
export async function connectNats(opts: Omit<ConnectionOptions, 'servers' | 'tls' | 'authenticator'>, access: NatsAccess): Promise<NatsConnection> {
  try {
    const nc = await connect({
      ...opts,
      // Refused credentials end the first connect (the caller's ignoreAuthErrorAbort is for
      // the reconnects after it). nats.js removes a server that fails a first connect from
      // its pool, which empties it when the servers are only those given; but a cluster
      // member's INFO, read before its -ERR, lists the others again (cluster discovery),
      // so the pool never emptied and nats.js dialled the nodes in turn without a pause:
      // ~1,000 refused logins a second on a 3-node cluster, the process neither started
      // nor said why. With the abort on, two refusals in a row end it with the refusal.
      ignoreAuthErrorAbort: false,
      servers: access.servers,
      // With `tls` set nats.js refuses a server that offers no TLS, and waits
      // reconnectJitterTLS instead of reconnectJitter between attempts: the same here.
      ...(access.tls ? { tls: access.tls, ...(opts.reconnectJitter !== undefined ? { reconnectJitterTLS: opts.reconnectJitter } : {}) } : {}),
      ...(access.authenticator ? { authenticator: access.authenticator } : {}),
    });
    // From here on the caller's policy: nats.js reads this option of the connection's own
    // options object at each refusal (ProtocolHandler.handleAuthError).
    setIgnoreAuthErrorAbort(nc, opts.ignoreAuthErrorAbort ?? false);
    return nc;
  } catch (e) {
    const refused = natsRefusal(e, access)
      ?? (access.tls && errorName(e) === 'TimeoutError' ? await probeClientCertificate(access, e) : null);
    throw refused ?? e;
  }
}

/** Sets ignoreAuthErrorAbort on a connected nats.js connection: its `options` object is
 *  the one its protocol handler reads (nats.js 3.4 NatsConnectionImpl.connect). */
function setIgnoreAuthErrorAbort(nc: NatsConnection, value: boolean): void {
  const options = (nc as unknown as { options?: ConnectionOptions }).options;
  if (options === undefined) throw new Error('nats.js connection without options: ignoreAuthErrorAbort cannot be set (nats.js changed?)');
  options.ignoreAuthErrorAbort = value;
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : '';
}

/** `e`'s code, or that of the error it wraps. */
function errorCode(e: unknown): string {
  const own = (e as { code?: unknown } | null)?.code;
  if (typeof own === 'string') return own;
  const inner = (e as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof inner === 'string' ? inner : '';
}

/** The refusal a failed connect() stands for, or null (an outage, or unknown). */
export function natsRefusal(e: unknown, access: NatsAccess): NatsRefused | null {
  const name = errorName(e);
  if (name === 'AuthorizationError' || name === 'UserAuthenticationExpiredError') {
    const why = name === 'UserAuthenticationExpiredError' ? 'the user JWT has expired' : 'authorization violation';
    if (access.authBy === '--nats') return new NatsRefused('--nats', `NATS refused the credentials given with --nats (${why})`, e);
    if (access.authBy) {
      // An expired (or not yet valid) user JWT says so, naming it by a short hash.
      const hint = access.authBy === '--nats-creds-file' ? access.files.credsRefusalHint() : null;
      return new NatsRefused(access.authBy, `NATS refused the credentials in ${access.authBy} (${why})${hint === null ? '' : `: ${hint}`}`, e);
    }
    if (access.clientCert) {
      // A server that maps client certificates to users (verify_and_map) says the same.
      return new NatsRefused('--nats-tls-cert-file',
        `NATS refused this client (${why}): the certificate in --nats-tls-cert-file maps to no NATS user, or credentials are needed (--nats-user with --nats-password-file, --nats-token-file, --nats-nkey-seed-file or --nats-creds-file)`, e);
    }
    return new NatsRefused('--nats-user',
      `NATS requires credentials (${why}): give --nats-user with --nats-password-file, --nats-token-file, --nats-nkey-seed-file or --nats-creds-file`, e);
  }
  const message = e instanceof Error ? e.message : '';
  if (name === 'ConnectionError' && /does not support 'tls'/.test(message)) {
    const by = access.tlsBy ?? 'tls:// in --nats';
    return new NatsRefused(by.startsWith('--') ? by : '--nats',
      `the NATS server offers no TLS, which ${by} requires: refused rather than connect in plain text (give the server a tls block)`, e);
  }
  const code = errorCode(e);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new NatsRefused('--nats', `the NATS server's TLS certificate is not for the host in --nats (${message})`, e);
  }
  if (SERVER_CERT_CODES.has(code)) {
    const against = access.ownCa ? 'against --nats-tls-ca-file' : 'against the system\'s CAs (no --nats-tls-ca-file given)';
    return new NatsRefused('--nats-tls-ca-file', `the NATS server's TLS certificate did not verify ${against}: ${message} (${code})`, e);
  }
  if (ALERT_RE.test(code) && PERMANENT_ALERT_RE.test(code)) return alertRefusal(code, access, e);
  return null;
}

function alertRefusal(code: string, access: NatsAccess, cause: unknown): NatsRefused {
  const alert = code.replace(ALERT_RE, '').toLowerCase().replace(/_/g, ' ');
  if (CLIENT_CERT_ALERT_RE.test(code)) {
    return access.clientCert
      ? new NatsRefused('--nats-tls-cert-file', `NATS refused the client certificate in --nats-tls-cert-file (TLS alert: ${alert}); is it signed by a CA in the server's tls ca_file?`, cause)
      : new NatsRefused('--nats-tls-cert-file', `NATS requires a client certificate (TLS alert: ${alert}): give --nats-tls-cert-file and --nats-tls-key-file`, cause);
  }
  const by = access.tlsBy ?? '--nats-tls-ca-file';
  return new NatsRefused(by.startsWith('--') ? by : '--nats', `the TLS handshake with NATS failed (TLS alert: ${alert})`, cause);
}

/** After a timed-out connect with TLS: did a server refuse the client certificate? */
async function probeClientCertificate(access: NatsAccess, cause: unknown): Promise<NatsRefused | null> {
  const codes = await Promise.all(access.servers.map((s) => probeServer(s, access)));
  const code = codes.find((c) => c !== null && PERMANENT_ALERT_RE.test(c));
  return code ? alertRefusal(code, access, cause) : null;
}

/** The TLS alert one server answers a handshake and CONNECT/PING with, or null (it
 *  answered, or did not in time, or something else failed). */
function probeServer(server: string, access: NatsAccess): Promise<string | null> {
  let host: string;
  let port: number;
  try {
    const u = new URL(server.includes('://') ? server : `nats://${server}`);
    host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    port = u.port === '' ? 4222 : Number(u.port);
  } catch {
    return Promise.resolve(null);
  }
  const o = access.tls ?? {};
  return new Promise((resolve) => {
    let done = false;
    let secure: TLSSocket | null = null;
    const sock = netConnect({ host, port });
    const finish = (r: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      secure?.destroy();
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish(null), PROBE_MS);
    sock.on('error', () => finish(null));
    let info = '';
    const onInfo = (b: Buffer): void => {
      info += b.toString('latin1');
      if (info.length > 64 * 1024) return finish(null);
      if (!info.includes('\r\n')) return;
      sock.off('data', onInfo);
      if (!info.startsWith('INFO ')) return finish(null);
      secure = tlsConnect({
        socket: sock,
        host,
        ...(isIP(host) === 0 ? { servername: host } : {}),
        rejectUnauthorized: true,
        ...(o.ca !== undefined ? { ca: o.ca } : {}),
        ...(o.cert !== undefined && o.key !== undefined ? { cert: o.cert, key: o.key } : {}),
      });
      secure.on('secureConnect', () => secure?.write('CONNECT {"verbose":false,"pedantic":false,"tls_required":true}\r\nPING\r\n'));
      secure.on('data', () => finish(null));
      secure.on('error', (err) => {
        const code = errorCode(err);
        finish(ALERT_RE.test(code) ? code : null);
      });
      secure.on('close', () => finish(null));
    };
    sock.on('data', onInfo);
  });
}

/** host:port of the server a nats.js status event names ('disconnect', 'reconnect'),
 *  for log lines (never a URL's user or password), or null when it names none. */
export function statusServer(s: unknown): string | null {
  const server = (s as { server?: unknown } | null)?.server;
  return typeof server === 'string' && server !== '' ? natsEndpoints([server]) : null;
}
