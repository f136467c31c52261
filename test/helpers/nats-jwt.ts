// NATS decentralized auth (operator mode) for tests, without nsc: an operator, a system
// account, an application account with JetStream, and its users, each an NKey, and the
// JWT chain binding them (operator signs accounts, an account signs its users). Plus
// the nats-server config that trusts the operator with every account preloaded in a
// memory resolver, and `.creds` files in the layout nsc writes.
//
// A NATS JWT (v2, as nats-io/jwt writes it): base64url(header) "." base64url(claims) "."
// base64url(Ed25519 signature of the first two parts by the issuer's NKey), header
// {"typ":"JWT","alg":"ed25519-nkey"}. Claims: `jti` (an id), `iat` (seconds), `iss`
// (the issuer's public key), `sub` (the subject's public key), `name`, and `nats` with
// `type` (operator | account | user), `version: 2` and the type's own fields. Account
// `limits` are flat (NATS, account and JetStream limits side by side; -1 = unlimited):
// `mem_storage`/`disk_storage` other than 0 turn JetStream on for the account.
import { randomBytes } from 'node:crypto';
import { nkeys } from '@nats-io/transport-node';

type KeyPair = ReturnType<typeof nkeys.createUser>;

const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A JWT's validity claims, seconds since the epoch: `exp` (expires) and `nbf` (not
 *  valid before). Absent: none (never expires, valid at once). */
export interface JwtTimes {
  expiresS?: number;
  notBeforeS?: number;
}

/** A signed NATS JWT of `nats` claims about `subject`, issued by `issuer`. */
export function encodeNatsJwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>, opts: JwtTimes = {}): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const claims = {
    jti: randomBytes(20).toString('hex').toUpperCase(),
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    ...(opts.expiresS !== undefined ? { exp: opts.expiresS } : {}),
    ...(opts.notBeforeS !== undefined ? { nbf: opts.notBeforeS } : {}),
    nats: { ...nats, version: 2 },
  };
  const body = b64url(JSON.stringify(claims));
  const sig = issuer.sign(new TextEncoder().encode(`${header}.${body}`));
  return `${header}.${body}.${b64url(sig)}`;
}

/** Everything unlimited; with `jetstream`, JetStream on without limits. */
function accountLimits(jetstream: boolean): Record<string, unknown> {
  return {
    subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1,
    ...(jetstream ? { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 } : {}),
  };
}

export interface NatsUser {
  readonly publicKey: string;
  readonly jwt: string;
  /** The user's seed (SU...). */
  readonly seed: string;
  /** A .creds file's text, as nsc writes it. */
  readonly creds: string;
}

export interface NatsOperator {
  readonly operatorJwt: string;
  readonly systemAccount: string;
  /** The application account (JetStream on). */
  readonly account: string;
  /** Lines for a nats-server config: operator, system account, memory resolver with
   *  both accounts preloaded. */
  readonly serverConfig: string;
  /** A new user of the application account. */
  user(name: string, opts?: JwtTimes): NatsUser;
  /** A user signed by an account this operator never issued (NATS refuses it). */
  stranger(name: string): NatsUser;
}

/** The standard .creds layout: the JWT block, a notice, the seed block. */
export function credsFile(jwt: string, seed: string): string {
  return [
    '-----BEGIN NATS USER JWT-----', jwt, '------END NATS USER JWT------', '',
    '************************* IMPORTANT *************************',
    'NKEY Seed printed below can be used to sign and prove identity.',
    'NKEYs are sensitive and should be treated as secrets.', '',
    '-----BEGIN USER NKEY SEED-----', seed, '------END USER NKEY SEED------', '',
    '*************************************************************', '',
  ].join('\n');
}

function userOf(account: KeyPair, name: string, opts: JwtTimes = {}): NatsUser {
  const kp = nkeys.createUser();
  const jwt = encodeNatsJwt(account, kp.getPublicKey(), name, {
    pub: {}, sub: {}, subs: -1, data: -1, payload: -1, type: 'user',
  }, opts);
  const seed = text(kp.getSeed());
  return { publicKey: kp.getPublicKey(), jwt, seed, creds: credsFile(jwt, seed) };
}

/** A new operator with a system account and one application account. */
export function makeNatsOperator(): NatsOperator {
  const op = nkeys.createOperator();
  const sys = nkeys.createAccount();
  const app = nkeys.createAccount();
  const operatorJwt = encodeNatsJwt(op, op.getPublicKey(), 'hushwire-test-operator', { type: 'operator', system_account: sys.getPublicKey() });
  const sysJwt = encodeNatsJwt(op, sys.getPublicKey(), 'SYS', { type: 'account', limits: accountLimits(false), default_permissions: { pub: {}, sub: {} } });
  const appJwt = encodeNatsJwt(op, app.getPublicKey(), 'HUSHWIRE', { type: 'account', limits: accountLimits(true), default_permissions: { pub: {}, sub: {} } });
  const serverConfig = [
    `operator: ${JSON.stringify(operatorJwt)}`,
    `system_account: ${sys.getPublicKey()}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${sys.getPublicKey()}: ${JSON.stringify(sysJwt)}`,
    `  ${app.getPublicKey()}: ${JSON.stringify(appJwt)}`,
    '}',
  ].join('\n');
  return {
    operatorJwt, systemAccount: sys.getPublicKey(), account: app.getPublicKey(), serverConfig,
    user: (name, opts) => userOf(app, name, opts),
    stranger: (name) => userOf(nkeys.createAccount(), name),
  };
}
