// The NATS TLS and credential files are read again at each connect
// (relay/nats-access-files.ts, relay/nats-connect-options.ts), without a server: what
// nats.js's authenticator and `tls` option return after a password, token, NKey seed,
// .creds file, CA bundle or client certificate is replaced; a file made unreadable,
// empty or invalid keeps the last good contents with one warning (naming the flag and
// path, never the contents) and is used again once valid; the expiry warnings and
// gauges of the client certificate, the user JWT of a .creds file (exp, nbf, none, claims
// that do not parse) and the chain a server presents at the TLS handshake (an in-process
// TLS server here). Against real servers: test/faults/nats-credential-rotation.test.ts,
// test/bus/nats-creds-login.test.ts.
import t from 'tap';
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { errors as natsErrors, nkeys, type Authenticator } from '@nats-io/transport-node';
import { readNatsAccess, type NatsAccess } from '../../relay/nats-connect-options.ts';
import { natsRefusal } from '../../relay/nats-connect.ts';
import { natsAccessExpiryGauges, natsClientCertExpiryGauge } from '../../relay/metrics.ts';
import { makeClientCert, makeServerCert, makeTlsFiles } from '../helpers/tls-certs.ts';
import { makeNatsOperator } from '../helpers/nats-jwt.ts';
import { tempDir } from '../helpers/temp.ts';

t.setTimeout(120_000);

const dir = tempDir('hw-natsfiles-');
const NATS = ['nats://127.0.0.1:4222'];
const write = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
};
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Line { level: string; msg: string; fields?: Record<string, unknown> }
/** The access's log lines from now on. */
function captured(access: NatsAccess): Line[] {
  const lines: Line[] = [];
  access.files.report((level, msg, fields) => { lines.push({ level, msg, ...(fields ? { fields } : {}) }); });
  return lines;
}
/** A later event-loop turn: get() reads a file at most once per turn. */
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
const auth = async (a: Authenticator, nonce = 'n0nce'): Promise<Record<string, unknown>> => {
  await nextTurn();
  return a(nonce) as unknown as Record<string, unknown>;
};

t.test('a rotated password, token, seed or .creds file is used at the next connect', async (t) => {
  const pw = write('pw', 'first-password\n');
  const a = readNatsAccess({ nats: NATS, natsUser: 'gw', natsPasswordFile: pw });
  const lines = captured(a);
  t.same(await auth(a.authenticator!), { user: 'gw', pass: 'first-password' });
  write('pw', 'second-password\n');
  t.same(await auth(a.authenticator!), { user: 'gw', pass: 'second-password' }, 'the new password');
  t.equal(lines.length, 1);
  t.match(lines[0], { level: 'info', msg: `--nats-password-file: ${pw} changed; NATS connects use its new contents` });

  const tok = write('tok', 'token-one');
  const b = readNatsAccess({ nats: NATS, natsTokenFile: tok });
  t.same(await auth(b.authenticator!), { auth_token: 'token-one' });
  write('tok', 'token-two\n');
  t.same(await auth(b.authenticator!), { auth_token: 'token-two' }, 'the new token');

  const [u1, u2] = [nkeys.createUser(), nkeys.createUser()];
  const seedFile = write('seed', `${dec(u1.getSeed())}\n`);
  const c = readNatsAccess({ nats: NATS, natsNkeySeedFile: seedFile });
  t.equal((await auth(c.authenticator!)).nkey, u1.getPublicKey());
  write('seed', `${dec(u2.getSeed())}\n`);
  const signed = await auth(c.authenticator!, 'the-nonce');
  t.equal(signed.nkey, u2.getPublicKey(), 'the new seed');
  t.ok(u2.verify(new TextEncoder().encode('the-nonce'), nkeys.decode(signed.sig as string)), 'signs the nonce with the new seed');

  const creds = (jwt: string, user: nkeys.KeyPair): string =>
    `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${dec(user.getSeed())}\n------END USER NKEY SEED------\n`;
  const credsFile = write('user.creds', creds('aaa.bbb.ccc', u1));
  const d = readNatsAccess({ nats: NATS, natsCredsFile: credsFile });
  t.match(await auth(d.authenticator!), { jwt: 'aaa.bbb.ccc', nkey: u1.getPublicKey() });
  write('user.creds', creds('ddd.eee.fff', u2));
  t.match(await auth(d.authenticator!), { jwt: 'ddd.eee.fff', nkey: u2.getPublicKey() }, 'JWT and seed of the new file, together');
});

t.test('a file gone bad keeps the last good contents, one warning, and is used again once valid', async (t) => {
  const secret = 'good-password-7q';
  const pw = write('pw-bad', `${secret}\n`);
  const a = readNatsAccess({ nats: NATS, natsUser: 'gw', natsPasswordFile: pw });
  const lines = captured(a);
  const bad: [string, () => void][] = [
    ['empty', () => write('pw-bad', '\n')],
    ['gone', () => rmSync(pw)],
    ['two lines', () => write('pw-bad', 'x\ny\n')],
  ];
  if (process.getuid?.() !== 0) bad.push(['unreadable', () => { write('pw-bad', 'zzz'); chmodSync(pw, 0o000); }]);
  for (const [what, breakIt] of bad) {
    breakIt();
    for (let i = 0; i < 5; i++) t.same(await auth(a.authenticator!), { user: 'gw', pass: secret }, `${what}: the last good password, attempt ${i + 1}`);
  }
  const warns = lines.filter((l) => l.level === 'warn');
  t.equal(warns.length, 1, 'one warning for the whole bad spell (throttled), not one per connect');
  t.match(warns[0]!.msg, new RegExp(`^--nats-password-file: ${pw} is empty; NATS connects keep using what it held before until it is valid again$`));
  t.same(warns[0]!.fields, { setting: '--nats-password-file', path: pw });

  rmSync(pw, { force: true });
  write('pw-bad', 'the-new-one\n');
  t.same(await auth(a.authenticator!), { user: 'gw', pass: 'the-new-one' }, 'valid again: used');
  t.match(lines.at(-1), { level: 'info', msg: `--nats-password-file: ${pw} is valid again; NATS connects use its new contents` });
  t.notOk(JSON.stringify(lines).includes(secret) || JSON.stringify(lines).includes('the-new-one'), 'no password in any line');
});

t.test('TLS: the CA bundle and the client certificate are read at each handshake', async (t) => {
  const f = makeTlsFiles();
  const caFile = join(dir, 'ca.pem');
  const certFile = join(dir, 'client.pem');
  const keyFile = join(dir, 'client.key');
  copyFileSync(f.ca, caFile);
  copyFileSync(f.clientCert, certFile);
  copyFileSync(f.clientKey, keyFile);
  const a = readNatsAccess({ nats: NATS, natsTlsCaFile: caFile, natsTlsCertFile: certFile, natsTlsKeyFile: keyFile });
  const lines = captured(a);
  // What nats.js does at each handshake (NodeTransport.startTLS): copy the option's keys.
  const handshake = async (): Promise<Record<string, string>> => {
    await nextTurn();
    const o: Record<string, string> = {};
    for (const k of Object.keys(a.tls!)) {
      const v = (a.tls as Record<string, unknown>)[k];
      if (typeof v === 'string') o[k] = v;
    }
    return o;
  };
  t.same(Object.keys(a.tls!).sort(), ['ca', 'cert', 'checkServerIdentity', 'key'], 'enumerable, so nats.js copies them');
  t.same(await handshake(), { ca: readFileSync(f.ca, 'utf8'), cert: readFileSync(f.clientCert, 'utf8'), key: readFileSync(f.clientKey, 'utf8') });

  copyFileSync(f.otherCa, caFile);
  t.equal((await handshake()).ca, readFileSync(f.otherCa, 'utf8'), 'a new CA bundle');

  // Rotation in two steps: the certificate first, then its key. In between the pair does
  // not match: the old pair stays in use (never a certificate with another's key).
  const next = makeClientCert(f, 'next');
  copyFileSync(next.cert, certFile);
  const between = await handshake();
  t.same([between.cert, between.key], [readFileSync(f.clientCert, 'utf8'), readFileSync(f.clientKey, 'utf8')], 'half rotated: the old pair');
  t.match(lines.filter((l) => l.level === 'warn').at(-1)?.msg, /^--nats-tls-key-file: \S+ is not the private key of the certificate in --nats-tls-cert-file; NATS connects keep using/);
  copyFileSync(next.key, keyFile);
  const after = await handshake();
  t.same([after.cert, after.key], [readFileSync(next.cert, 'utf8'), readFileSync(next.key, 'utf8')], 'both rotated: the new pair');

  write('ca.pem', '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
  t.equal((await handshake()).ca, readFileSync(f.otherCa, 'utf8'), 'an invalid CA bundle: the last good one');
  t.ok(lines.some((l) => l.level === 'warn' && l.msg.startsWith(`--nats-tls-ca-file: ${caFile}: a certificate in it does not parse`)));
  t.notOk(lines.some((l) => /PRIVATE KEY|BEGIN CERT/.test(l.msg)), 'no PEM in any line');
});

t.test('a client certificate not valid yet: refused at start, and a re-read keeps the pair in use', async (t) => {
  const f = makeTlsFiles();
  const future = makeClientCert(f, 'future', { notBefore: new Date(Date.now() + 3 * 86_400_000) });
  t.throws(() => readNatsAccess({ nats: NATS, natsTlsCertFile: future.cert, natsTlsKeyFile: future.key }),
    { name: 'SettingError', message: new RegExp(`^--nats-tls-cert-file: ${future.cert}: the certificate is not valid until \\S+$`) });
  const certFile = join(dir, 'nb-client.pem');
  const keyFile = join(dir, 'nb-client.key');
  copyFileSync(f.clientCert, certFile);
  copyFileSync(f.clientKey, keyFile);
  const a = readNatsAccess({ nats: NATS, natsTlsCertFile: certFile, natsTlsKeyFile: keyFile });
  t.teardown(() => a.files.stop());
  const lines = captured(a);
  copyFileSync(future.cert, certFile);
  copyFileSync(future.key, keyFile);
  await nextTurn();
  t.same([(a.tls as Record<string, string>)['cert'], (a.tls as Record<string, string>)['key']], [readFileSync(f.clientCert, 'utf8'), readFileSync(f.clientKey, 'utf8')],
    'NATS would refuse it: the pair in use stays');
  t.match(lines.filter((l) => l.level === 'warn').at(-1)?.msg, /the certificate is not valid until \S+; NATS connects keep using what it held before/);
  // a few minutes ahead (clock skew between the issuer and this host) is taken
  const skewed = makeClientCert(f, 'skewed', { notBefore: new Date(Date.now() + 60_000) });
  t.doesNotThrow(() => readNatsAccess({ nats: NATS, natsTlsCertFile: skewed.cert, natsTlsKeyFile: skewed.key }).files.stop());
});

t.test('expiry: one warning ahead of time, and the gauge', async (t) => {
  const f = makeTlsFiles();
  const soon = readNatsAccess({ nats: NATS, natsTlsCertFile: f.clientCert, natsTlsKeyFile: f.clientKey });
  const lines = captured(soon); // 2-day certificates: within the 7 days
  t.teardown(() => soon.files.stop());
  const warns = (): Line[] => lines.filter((l) => l.level === 'warn');
  t.equal(warns().length, 1);
  t.match(warns()[0]!.msg, new RegExp(`^--nats-tls-cert-file: ${f.clientCert}: the client certificate in use expires on \\S+ \\(in 4[78] h\\); put a new certificate and key in the files before then`));
  soon.files.checkExpiry();
  soon.files.refreshAll();
  soon.files.report(() => undefined);
  t.equal(warns().length, 1, 'once per certificate');

  const registry = new Registry();
  natsClientCertExpiryGauge(registry, () => soon.files.clientCertNotAfter());
  const value = (await registry.getSingleMetricAsString('hushwire_nats_client_cert_expiry_seconds')).split('\n').find((l) => !l.startsWith('#'));
  const seconds = Number(value?.split(' ')[1]);
  t.ok(seconds > 40 * 3600 && seconds <= 48 * 3600, `seconds until expiry (${seconds})`);

  const later = makeClientCert(f, 'later', { days: 30 });
  const fine = readNatsAccess({ nats: NATS, natsTlsCertFile: later.cert, natsTlsKeyFile: later.key });
  const quiet = captured(fine);
  t.teardown(() => fine.files.stop());
  t.equal(quiet.length, 0, 'a certificate with 30 days left: no warning');
});

/** One gauge's value from a registry ('+Inf' and 'NaN' as numbers). */
async function gauge(registry: Registry, name: string): Promise<number> {
  const line = (await registry.getSingleMetricAsString(name)).split('\n').find((l) => !l.startsWith('#'));
  const v = line?.split(' ')[1];
  return v === '+Inf' ? Infinity : Number(v);
}

const nowS = (): number => Math.floor(Date.now() / 1000);
const sha16 = (jwt: string): string => createHash('sha256').update(jwt).digest('hex').slice(0, 16);

t.test('user JWT (--nats-creds-file): its exp warned about ahead of time, once, and the gauge', async (t) => {
  const op = makeNatsOperator();
  const exp = nowS() + 3 * 86_400;
  const user = op.user('soon', { expiresS: exp });
  const credsFile = write('soon.creds', user.creds);
  const a = readNatsAccess({ nats: NATS, natsCredsFile: credsFile });
  t.teardown(() => a.files.stop());
  const lines = captured(a);
  const warns = (): Line[] => lines.filter((l) => l.level === 'warn');
  t.equal(warns().length, 1, 'a JWT expiring in 3 days: one warning at start');
  t.match(warns()[0]!.msg, new RegExp(`^--nats-creds-file: ${credsFile}: the user JWT in use \\(sha256 ${sha16(user.jwt)}\\) expires on \\S+ \\(in 7[12] h\\); put a new \\.creds file in place before then \\(read again at each NATS connect, no restart needed\\)$`));
  t.same(warns()[0]!.fields, { setting: '--nats-creds-file', path: credsFile, jwt: sha16(user.jwt), notAfter: new Date(exp * 1000).toISOString() }, 'fields: the flag, the path, a short hash, when');
  a.files.checkExpiry();
  a.files.refreshAll();
  t.equal(warns().length, 1, 'once per JWT');
  const text = JSON.stringify(lines);
  for (const [what, secret] of [['the JWT', user.jwt], ['its claims', user.jwt.split('.')[1]!], ['the seed', user.seed.slice(2)], ['the user public key', user.publicKey]] as const) {
    t.notOk(text.includes(secret), `${what} is not in the lines`);
  }
  t.match(await auth(a.authenticator!), { jwt: user.jwt, nkey: user.publicKey }, 'still used to log in');

  const registry = new Registry();
  natsAccessExpiryGauges(registry, a);
  const seconds = await gauge(registry, 'hushwire_nats_user_jwt_expiry_seconds');
  t.ok(seconds > 3 * 86_400 - 120 && seconds <= 3 * 86_400, `seconds until the JWT expires (${seconds})`);
  t.notOk((await registry.metrics()).includes('hushwire_nats_client_cert_expiry_seconds'), 'no client certificate: no certificate gauge');
  t.notOk((await registry.metrics()).includes('hushwire_nats_server_cert_expiry_seconds'), 'no TLS: no server chain gauge');

  // A new JWT (the rotation): the gauge follows it; 30 days left: no warning.
  const next = op.user('next', { expiresS: nowS() + 30 * 86_400 });
  write('soon.creds', next.creds);
  await auth(a.authenticator!);
  t.ok(await gauge(registry, 'hushwire_nats_user_jwt_expiry_seconds') > 29 * 86_400, 'the gauge follows the new JWT');
  t.equal(warns().length, 1, '30 days left: no warning');
  t.match(lines.at(-1), { level: 'info', msg: `--nats-creds-file: ${credsFile} changed; NATS connects use its new contents` });

  // No exp: never expires, +Inf; no warning.
  const forever = op.user('forever');
  const b = readNatsAccess({ nats: NATS, natsCredsFile: write('forever.creds', forever.creds) });
  t.teardown(() => b.files.stop());
  t.same(captured(b), [], 'a JWT without exp: no warning');
  const r2 = new Registry();
  natsAccessExpiryGauges(r2, b);
  t.equal(await gauge(r2, 'hushwire_nats_user_jwt_expiry_seconds'), Infinity, 'a JWT without exp reads +Inf');
  t.match(await r2.metrics(), /^hushwire_nats_user_jwt_expiry_seconds \+Inf$/m);
});

t.test('user JWT whose claims do not parse: used, not watched, one warning, NaN', async (t) => {
  const u = nkeys.createUser();
  const creds = (jwt: string): string =>
    `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${dec(u.getSeed())}\n------END USER NKEY SEED------\n`;
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const cases: [string, string][] = [
    ['not base64url JSON', 'aaa.bbb.ccc'],
    ['a JSON array', `${b64({})}.${b64([1])}.sig`],
    ['exp a string', `${b64({})}.${b64({ exp: 'tomorrow' })}.sig`],
    ['nbf not finite', `${b64({})}.${Buffer.from('{"nbf":1e999}').toString('base64url')}.sig`],
  ];
  for (const [what, jwt] of cases) {
    const path = write(`bad-claims-${cases.findIndex((c) => c[1] === jwt)}.creds`, creds(jwt));
    const a = readNatsAccess({ nats: NATS, natsCredsFile: path });
    t.teardown(() => a.files.stop());
    const lines = captured(a);
    t.match(await auth(a.authenticator!), { jwt }, `${what}: the file is still used (NATS decides)`);
    a.files.checkExpiry();
    a.files.refreshAll();
    t.equal(lines.length, 1, `${what}: one warning`);
    t.equal(lines[0]?.msg, `--nats-creds-file: ${path}: the claims of the user JWT in use (sha256 ${sha16(jwt)}) could not be read (not base64url JSON, or a non-numeric exp or nbf); its expiry is not watched (hushwire_nats_user_jwt_expiry_seconds shows NaN)`);
    const registry = new Registry();
    natsAccessExpiryGauges(registry, a);
    t.ok(Number.isNaN(await gauge(registry, 'hushwire_nats_user_jwt_expiry_seconds')), `${what}: the gauge reads NaN (no alert fires on it)`);
  }
});

t.test('user JWT expired or not valid yet: refused at start, a re-read keeps the JWT in use, refusals say why', async (t) => {
  const op = makeNatsOperator();
  const expiredAt = nowS() - 3600;
  const expired = op.user('expired', { expiresS: expiredAt });
  const expiredFile = write('expired.creds', expired.creds);
  t.throws(() => readNatsAccess({ nats: NATS, natsCredsFile: expiredFile }), {
    name: 'SettingError',
    message: `--nats-creds-file: ${expiredFile}: the user JWT (sha256 ${sha16(expired.jwt)}) expired on ${new Date(expiredAt * 1000).toISOString()}`,
  });
  const early = op.user('early', { notBeforeS: nowS() + 86_400 });
  const earlyFile = write('early.creds', early.creds);
  t.throws(() => readNatsAccess({ nats: NATS, natsCredsFile: earlyFile }),
    { name: 'SettingError', message: new RegExp(`^--nats-creds-file: ${earlyFile}: the user JWT \\(sha256 ${sha16(early.jwt)}\\) is not valid until \\S+$`) });
  // a few minutes ahead (clock skew) is taken, as for a client certificate
  t.doesNotThrow(() => readNatsAccess({ nats: NATS, natsCredsFile: write('skew.creds', op.user('skew', { notBeforeS: nowS() + 60 }).creds) }).files.stop());

  const good = op.user('good', { expiresS: nowS() + 30 * 86_400 });
  const path = write('rotating.creds', good.creds);
  const a = readNatsAccess({ nats: NATS, natsCredsFile: path });
  t.teardown(() => a.files.stop());
  const lines = captured(a);
  for (const [what, bad] of [['an expired JWT', expired], ['a JWT not valid yet', early]] as const) {
    write('rotating.creds', bad.creds);
    t.match(await auth(a.authenticator!), { jwt: good.jwt, nkey: good.publicKey }, `${what} put in place: NATS would refuse it, the JWT in use stays`);
  }
  t.match(lines.filter((l) => l.level === 'warn')[0]?.msg, new RegExp(`^--nats-creds-file: ${path}: the user JWT \\(sha256 ${sha16(expired.jwt)}\\) expired on \\S+; NATS connects keep using what it held before until it is valid again$`));

  // A JWT that expires while in use: NATS refuses it at the next login, and the refusal
  // says so (the bus and the evaluator log it; at start it is the exit line).
  const briefExp = nowS() + 2;
  const brief = op.user('brief', { expiresS: briefExp });
  const b = readNatsAccess({ nats: NATS, natsCredsFile: write('brief.creds', brief.creds) });
  t.teardown(() => b.files.stop());
  const refused = (): string => natsRefusal(new natsErrors.AuthorizationError('Authorization Violation'), b)!.reason;
  t.equal(refused(), 'NATS refused the credentials in --nats-creds-file (authorization violation)', 'valid: no hint');
  await new Promise((r) => setTimeout(r, (briefExp + 1) * 1000 - Date.now()));
  t.equal(refused(), `NATS refused the credentials in --nats-creds-file (authorization violation): the user JWT in it (sha256 ${sha16(brief.jwt)}) expired on ${new Date(briefExp * 1000).toISOString()}: put a new .creds file in place (read again at each NATS connect, no restart needed)`, 'expired: the refusal names the credential and when');
  t.notOk(refused().includes(brief.publicKey) || refused().includes(brief.jwt.split('.')[1]!), 'neither the user public key nor the JWT in it');
});

t.test('the server chain presented at the TLS handshake: its earliest expiry watched, the host still checked', async (t) => {
  const f = makeTlsFiles();
  /** A TLS server with `cert` (from the test CA) on loopback; each connection is closed. */
  const serve = async (cert: { cert: string; key: string }): Promise<number> => {
    const srv = createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (s) => s.end());
    srv.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
    return (srv.address() as AddressInfo).port;
  };
  /** A TLS handshake the way nats.js makes it: the `tls` option's keys over its own. */
  const handshake = (a: NatsAccess, port: number, host = '127.0.0.1'): Promise<string | null> => new Promise((resolve) => {
    const o: ConnectionOptions = { host, port, rejectUnauthorized: true, ...(host === '127.0.0.1' ? {} : { servername: host }) };
    for (const k of Object.keys(a.tls!)) (o as Record<string, unknown>)[k] = (a.tls as Record<string, unknown>)[k];
    const s = tlsConnect(o, () => { s.destroy(); resolve(null); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });

  const caFirst = await serve(makeServerCert(f, 'server-30d', 30)); // outlives its 2-day CA
  const a = readNatsAccess({ nats: ['tls://127.0.0.1:4222'], natsTlsCaFile: f.ca });
  t.teardown(() => a.files.stop());
  const lines = captured(a);
  const registry = new Registry();
  natsAccessExpiryGauges(registry, a);
  t.ok(Number.isNaN(await gauge(registry, 'hushwire_nats_server_cert_expiry_seconds')), 'before any handshake: NaN');
  t.equal(lines.length, 0);

  t.equal(await handshake(a, caFirst, 'localhost'), 'ERR_TLS_CERT_ALTNAME_INVALID', 'a certificate for another host is still refused (Node\'s own check runs)');
  t.ok(Number.isNaN(await gauge(registry, 'hushwire_nats_server_cert_expiry_seconds')), 'a refused handshake is not recorded');

  t.equal(await handshake(a, caFirst), null, 'handshake');
  const caLeft = await gauge(registry, 'hushwire_nats_server_cert_expiry_seconds');
  t.ok(caLeft > 40 * 3600 && caLeft <= 48 * 3600, `the CA (2 days) expires first: ${caLeft} s`);
  const caFp = new (await import('node:crypto')).X509Certificate(readFileSync(f.ca)).fingerprint256.slice(0, 23);
  t.equal(lines.length, 1);
  t.match(lines[0]!.msg, new RegExp(`^NATS server TLS: the CA certificate it chains to \\(from --nats-tls-ca-file\\) \\(sha256 ${caFp}\\) expires on \\S+ \\(in 4[78] h\\); connects to NATS will fail TLS verification after that: have the NATS servers present certificates from a new CA and add that CA to the --nats-tls-ca-file bundle \\(read again at each NATS connect\\) before then$`));
  t.same(lines[0]!.fields, { setting: '--nats-tls-ca-file', certificate: 'ca', notAfter: lines[0]!.fields?.['notAfter'] });
  await handshake(a, caFirst);
  a.files.checkExpiry();
  t.equal(lines.length, 1, 'once per certificate');

  // A server whose own certificate expires first (1 day).
  const leafFirst = await serve(makeServerCert(f, 'server-1d', 1));
  t.equal(await handshake(a, leafFirst), null);
  const leafLeft = await gauge(registry, 'hushwire_nats_server_cert_expiry_seconds');
  t.ok(leafLeft > 20 * 3600 && leafLeft <= 24 * 3600, `the server's certificate (1 day) expires first: ${leafLeft} s`);
  t.equal(lines.length, 2);
  t.match(lines[1]!.msg, /^NATS server TLS: the NATS server's own certificate \(sha256 [0-9A-F:]{23}\) expires on \S+ \(in 2[34] h\); connects to NATS will fail TLS verification after that: renew the NATS servers' certificates before then$/);
  t.equal(lines[1]!.fields?.['certificate'], 'server');

  // Long-lived certificates: no warning. The system's CAs named when no bundle is given.
  const quiet = readNatsAccess({ nats: ['tls://127.0.0.1:4222'] });
  t.teardown(() => quiet.files.stop());
  t.same(captured(quiet), []);
  const r2 = new Registry();
  natsAccessExpiryGauges(r2, quiet);
  t.ok((await r2.metrics()).includes('hushwire_nats_server_cert_expiry_seconds Nan'), 'TLS without a CA file: the gauge is there too (system CAs)');
  t.notOk(JSON.stringify(lines).includes('127.0.0.1'), 'no address in the lines');
});
