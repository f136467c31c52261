// The NATS TLS and credential settings of `hushwire gateway` and `hushwire oprf`
// (relay/nats-connect-options.ts): checked and read before anything starts, one line
// naming the flag (and the path, never the contents), exit 2; what nats.js gets from
// them (servers without credentials, `tls` set whenever TLS is required, one
// authenticator). Against real servers: test/bus/nats-tls-auth.test.ts and
// test/gateway/nats-secure.test.ts.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { resolveConfig, ConfigError, SETTINGS } from '../../gateway/config.ts';
import { readConfigFiles } from '../../gateway/config-files.ts';
import { resolveOprfConfig, OprfConfigError, OPRF_SETTINGS } from '../../relay/oprf-config.ts';
import { NATS_ACCESS_SETTINGS, readNatsAccess } from '../../relay/nats-connect-options.ts';
import { SettingError } from '../../relay/setting-file.ts';
import { hushwire } from '../helpers/cli.ts';
import { oprfKeyFile } from '../helpers/gateway.ts';
import { makeTlsFiles } from '../helpers/tls-certs.ts';
import { tempDir, privateFileWriter } from '../helpers/temp.ts';

t.setTimeout(120_000);

const dir = tempDir('hw-natsaccess-');
const file = privateFileWriter(dir);
const NATS = 'nats://127.0.0.1:4222';
const base = { nats: NATS, oprfKey: 'ab'.repeat(32) };

/** The message resolveConfig + readConfigFiles stop with (ConfigError), or null. */
function gatewayProblem(flags: Record<string, unknown>): string | null {
  try {
    readConfigFiles(resolveConfig(flags as never, {}));
    return null;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.message;
  }
}

t.test('both commands have the same flags and variables', async (t) => {
  for (const s of NATS_ACCESS_SETTINGS) {
    const g = SETTINGS.find((x) => x.flag === s.flag);
    const o = OPRF_SETTINGS.find((x) => x.flag === s.flag);
    t.equal(g?.env, s.env, `gateway --${s.flag}`);
    t.equal(o?.env, s.env, `oprf --${s.flag}`);
    t.equal(g?.default, undefined, 'no default');
  }
});

t.test('combinations that make no sense: one line naming the flags', async (t) => {
  const seed = file('seed', `${new TextDecoder().decode(nkeys.createUser().getSeed())}\n`);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ natsTlsCaFile: '/ca.pem' }, /^--nats-tls-ca-file needs --nats/],
    [{ natsTokenFile: '/tok' }, /^--nats-token-file needs --nats/],
    [{ ...base, natsTlsCertFile: '/c.pem' }, /^--nats-tls-cert-file and --nats-tls-key-file go together/],
    [{ ...base, natsTlsKeyFile: '/c.key' }, /^--nats-tls-cert-file and --nats-tls-key-file go together/],
    [{ ...base, natsUser: 'gw' }, /^--nats-user needs --nats-password-file/],
    [{ ...base, natsPasswordFile: '/pw' }, /^--nats-password-file needs --nats-user$/],
    [{ ...base, natsTokenFile: '/tok', natsNkeySeedFile: seed }, /^--nats-token-file and --nats-nkey-seed-file: give one way to authenticate to NATS$/],
    [{ ...base, natsUser: 'gw', natsPasswordFile: '/pw', natsCredsFile: '/c' }, /^--nats-user\/--nats-password-file and --nats-creds-file: give one way/],
    [{ ...base, nats: 'nats://gw:s3cret-in-url@h:4222', natsTokenFile: '/tok' }, /^--nats-token-file and credentials in a --nats URL: give one way/],
    [{ ...base, nats: 'nats://gw:s3cret-in-url@h1:4222,nats://gw:other-s3cret@h2:4222' }, /^--nats: the URLs carry different credentials/],
  ];
  for (const [flags, re] of cases) {
    const msg = gatewayProblem(flags);
    t.match(msg, re, JSON.stringify(flags));
    t.notMatch(msg ?? '', /s3cret/, 'no credentials from the URL');
    // The evaluator says the same (it needs --nats and a key too).
    if (flags['nats'] !== undefined) {
      t.throws(() => resolveOprfConfig({ ...flags, keyFile: '/k' } as never, {}), re, `oprf: ${JSON.stringify(flags)}`);
    }
  }
  t.throws(() => resolveOprfConfig({ nats: NATS, keyFile: '/k', natsUser: 'gw' }, {}), OprfConfigError);
  t.equal(gatewayProblem({ ...base, nats: 'nats://gw:same@h1:4222,nats://h2:4222,nats://gw:same@h3:4222' }), null, 'the same credentials in several URLs');
});

t.test('files: unreadable, missing or malformed stop the start naming the flag, never the contents', async (t) => {
  const f = makeTlsFiles();
  const secret = 'SECRET-looking-contents';
  const nonPem = file('not.pem', `${secret}\n`);
  const encrypted = join(dir, 'enc.key');
  execFileSync('/usr/bin/openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-aes256', '-pass', 'pass:x', '-out', encrypted], { stdio: 'ignore' });
  const accountSeed = new TextDecoder().decode(nkeys.createAccount().getSeed());
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ natsTlsCaFile: '/nonexistent/ca.pem' }, /^--nats-tls-ca-file: cannot read \/nonexistent\/ca\.pem: no such file$/],
    [{ natsTlsCaFile: dir }, /^--nats-tls-ca-file: cannot read \S+: is a directory$/],
    [{ natsTlsCaFile: nonPem }, /^--nats-tls-ca-file: \S+not\.pem holds no PEM certificate/],
    [{ natsTlsCaFile: file('broken.pem', `-----BEGIN CERTIFICATE-----\n${secret}\n-----END CERTIFICATE-----\n`) }, /^--nats-tls-ca-file: \S+broken\.pem: a certificate in it does not parse$/],
    [{ natsTlsCertFile: '/nonexistent/c.pem', natsTlsKeyFile: f.clientKey }, /^--nats-tls-cert-file: cannot read \/nonexistent\/c\.pem: no such file$/],
    [{ natsTlsCertFile: f.clientCert, natsTlsKeyFile: '/nonexistent/c.key' }, /^--nats-tls-key-file: cannot read \/nonexistent\/c\.key: no such file$/],
    [{ natsTlsCertFile: f.clientCert, natsTlsKeyFile: nonPem }, /^--nats-tls-key-file: \S+ is not a PEM private key, or is encrypted/],
    [{ natsTlsCertFile: f.clientCert, natsTlsKeyFile: encrypted }, /^--nats-tls-key-file: \S+enc\.key is not a PEM private key, or is encrypted/],
    [{ natsTlsCertFile: f.clientCert, natsTlsKeyFile: f.otherClientKey }, /^--nats-tls-key-file: \S+ is not the private key of the certificate in --nats-tls-cert-file$/],
    [{ natsUser: 'gw', natsPasswordFile: '/nonexistent/pw' }, /^--nats-password-file: cannot read \/nonexistent\/pw: no such file$/],
    [{ natsUser: 'gw', natsPasswordFile: file('empty', '\n') }, /^--nats-password-file: \S+ is empty$/],
    [{ natsUser: 'gw', natsPasswordFile: file('two-lines', `${secret}\nmore`) }, /^--nats-password-file: \S+ must hold one line \(a password\)$/],
    [{ natsTokenFile: file('big', 'a'.repeat(70_000)) }, /^--nats-token-file: \S+ is larger than 65536 bytes/],
    [{ natsNkeySeedFile: nonPem }, /^--nats-nkey-seed-file: \S+ does not hold an NKey user seed/],
    [{ natsNkeySeedFile: file('account.seed', accountSeed) }, /^--nats-nkey-seed-file: \S+ does not hold an NKey user seed/],
    [{ natsCredsFile: nonPem }, /^--nats-creds-file: \S+ is not a NATS credentials file/],
  ];
  for (const [flags, re] of cases) {
    const msg = gatewayProblem({ ...base, ...flags });
    t.match(msg, re, JSON.stringify(flags));
    t.notMatch(msg ?? '', /\n/, 'one line');
    t.notOk((msg ?? '').includes(secret) || (msg ?? '').includes(accountSeed), 'the contents are not echoed');
  }
});

t.test('what nats.js gets', async (t) => {
  const f = makeTlsFiles();
  const plain = readNatsAccess({ nats: ['nats://a:4222', 'b:4223'] });
  t.same(plain.servers, ['nats://a:4222', 'b:4223']);
  t.equal(plain.tls, undefined, 'no TLS asked for: nats.js decides (TLS if the server offers it)');
  t.equal(plain.authenticator, undefined);

  const tlsUrl = readNatsAccess({ nats: ['nats://a:4222', 'tls://b:4222'] });
  t.same(Object.keys(tlsUrl.tls!), ['checkServerIdentity'], 'a tls:// URL sets `tls`: required for every server, the system\'s CAs (and the server chain\'s expiry watched)');
  t.type((tlsUrl.tls as Record<string, unknown>)['checkServerIdentity'], 'function');
  t.equal(tlsUrl.tlsBy, 'tls:// in --nats');

  const full = readNatsAccess({ nats: [NATS], natsTlsCaFile: f.ca, natsTlsCertFile: f.clientCert, natsTlsKeyFile: f.clientKey, natsUser: 'gw', natsPasswordFile: file('pw-ok', ' pass word \n') });
  t.match(full.tls, { ca: /BEGIN CERTIFICATE/, cert: /BEGIN CERTIFICATE/, key: /PRIVATE KEY/ }, 'the files\' contents (read again at each connect: test/bus/nats-access-files.test.ts)');
  t.equal(full.tlsBy, '--nats-tls-ca-file');
  t.ok(full.ownCa && full.clientCert);
  t.equal(full.authBy, '--nats-password-file');
  t.same(full.authenticator!(''), { user: 'gw', pass: 'pass word' }, 'password trimmed of surrounding whitespace');

  const url = readNatsAccess({ nats: ['nats://gw:p%40ss@h1:4222', 'tls://gw:p%40ss@[::1]:4222', 'h3:4222'] });
  t.same(url.servers, ['nats://h1:4222', 'tls://[::1]:4222', 'h3:4222'], 'credentials taken out of the URLs');
  t.same(url.authenticator!(''), { user: 'gw', pass: 'p@ss' }, 'and handed over decoded');
  t.equal(url.authBy, '--nats');
  t.same(readNatsAccess({ nats: ['nats://tok3n@h:4222'] }).authenticator!(''), { auth_token: 'tok3n' }, 'a user without password is a token');

  const user = nkeys.createUser();
  const seed = readNatsAccess({ nats: [NATS], natsNkeySeedFile: file('ok.seed', `${new TextDecoder().decode(user.getSeed())}\n`) });
  t.equal((seed.authenticator!('nonce') as { nkey: string }).nkey, user.getPublicKey(), 'the seed signs as its user');
  t.same(readNatsAccess({ nats: [NATS], natsTokenFile: file('ok.tok', 'tok\n') }).authenticator!(''), { auth_token: 'tok' });

  // A .creds file as nsc writes it (the JWT is not checked here; NATS does that).
  const creds = file('ok.creds', [
    '-----BEGIN NATS USER JWT-----', 'eyJhbGciOiJlZDI1NTE5In0.eyJzdWIiOiJVQUJDIn0.c2ln', '------END NATS USER JWT------', '',
    '************************* IMPORTANT *************************', 'NKEY Seed printed below can be used to sign and prove identity.', '',
    '-----BEGIN USER NKEY SEED-----', new TextDecoder().decode(user.getSeed()), '------END USER NKEY SEED------', '',
  ].join('\n'));
  const c = readNatsAccess({ nats: [NATS], natsCredsFile: creds });
  t.match(c.authenticator!('nonce'), { jwt: 'eyJhbGciOiJlZDI1NTE5In0.eyJzdWIiOiJVQUJDIn0.c2ln', nkey: user.getPublicKey() });
  t.equal(c.authBy, '--nats-creds-file');
  t.throws(() => readNatsAccess({ nats: [NATS], natsUser: 'gw' }), SettingError, 'checks the combination itself too');
});

t.test('the commands: exit 2 with one line before anything starts', async (t) => {
  const key = oprfKeyFile();
  const gw = await hushwire(['gateway', '--port', '0', '--nats', 'nats://127.0.0.1:1', '--oprf-key-file', key, '--nats-token-file', '/nonexistent/tok']);
  t.equal(gw.code, 2, 'gateway: exit 2');
  t.equal(gw.stderr, 'hushwire gateway: --nats-token-file: cannot read /nonexistent/tok: no such file\n');
  t.equal(gw.stdout, '', 'no log line');
  const seedFile = file('bad.seed', 'SUNOTAREALSEEDATALL\n');
  const env = await hushwire(['gateway', '--port', '0', '--nats', 'nats://127.0.0.1:1', '--oprf-key-file', key], { env: { HUSHWIRE_NATS_NKEY_SEED_FILE: seedFile } });
  t.equal(env.code, 2, 'from the variable too');
  t.match(env.stderr, /^hushwire gateway: --nats-nkey-seed-file: \S+bad\.seed does not hold an NKey user seed/);
  t.notMatch(env.stderr, /SUNOTAREAL/, 'never the contents');

  const oprfKey = oprfKeyFile();
  const ev = await hushwire(['oprf', '--nats', 'nats://127.0.0.1:1', '--key-file', oprfKey, '--nats-tls-ca-file', '/nonexistent/ca.pem']);
  t.equal(ev.code, 2, 'oprf: exit 2');
  t.equal(ev.stderr, 'hushwire oprf: --nats-tls-ca-file: cannot read /nonexistent/ca.pem: no such file\n');
  t.equal(ev.stdout, '');
  const ev2 = await hushwire(['oprf', '--nats', 'nats://127.0.0.1:1', '--key-file', oprfKey, '--nats-password-file', '/x']);
  t.equal(ev2.code, 2);
  t.equal(ev2.stderr, 'hushwire oprf: --nats-password-file needs --nats-user\n');
  const fetch = await hushwire(['oprf-key', 'fetch', '--nats', 'nats://127.0.0.1:1', '--id', 'main', '--nats-token-file', '/nonexistent/tok']);
  t.equal(fetch.code, 2, 'oprf-key fetch: exit 2');
  t.match(fetch.stderr, /--nats-token-file: cannot read \/nonexistent\/tok: no such file/);
});

t.test('natsRefusal: TLS alerts about the settings are final, others are retried', async (t) => {
  const { natsRefusal } = await import('../../relay/nats-connect.ts');
  const access = readNatsAccess({ nats: ['tls://127.0.0.1:4222'] });
  const alert = (code: string) => Object.assign(new Error(code.toLowerCase()), { code });
  for (const code of ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION']) {
    t.ok(natsRefusal(alert(code), access), `${code}: refused (exit at start)`);
  }
  for (const code of ['ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ECONNREFUSED']) {
    t.equal(natsRefusal(alert(code), access), null, `${code}: not final (retried)`);
  }
});
