// The NATS TLS and credential files are read again at each connect
// (relay/nats-access-files.ts, relay/nats-connect-options.ts), without a server: what
// nats.js's authenticator and `tls` option return after a password, token, NKey seed,
// .creds file, CA bundle or client certificate is replaced; a file made unreadable,
// empty or invalid keeps the last good contents with one warning (naming the flag and
// path, never the contents) and is used again once valid; the expiry warning and gauge.
// Against real servers: test/faults/nats-credential-rotation.test.ts.
import t from 'tap';
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { nkeys, type Authenticator } from '@nats-io/transport-node';
import { readNatsAccess, type NatsAccess } from '../../relay/nats-connect-options.ts';
import { natsClientCertExpiryGauge } from '../../relay/metrics.ts';
import { makeClientCert, makeTlsFiles } from '../helpers/tls-certs.ts';
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
    for (const k of Object.keys(a.tls!)) o[k] = (a.tls as Record<string, string>)[k]!;
    return o;
  };
  t.same(Object.keys(a.tls!).sort(), ['ca', 'cert', 'key'], 'enumerable, so nats.js copies them');
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
