// Two safety nets of the configuration (docs/OPERATIONS.md, "Configuration"), as an
// operator meets them:
// - a HUSHWIRE_ variable nothing in the product reads (a typo) is named at start, with
//   the closest known name, and the process runs on; one that the other process (gateway
//   or `hushwire oprf`) or the CLI reads is not; the value is never printed;
// - a secret file (keys, tokens, NATS credentials) that group or others may read is
//   warned about once per flag and mode, naming the flag and mode (no path, no
//   contents); certificates are not secrets; the process runs on.
import t from 'tap';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { nkeys } from '@nats-io/transport-node';
import { KNOWN_ENV_NAMES, closestEnvName, editDistance } from '../../relay/env-names.ts';
import { readNatsAccess } from '../../relay/nats-connect-options.ts';
import { spawnGateway } from '../helpers/gateway.ts';
import { spawnOprfChild } from '../helpers/oprf.ts';
import { hushwire } from '../helpers/cli.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { makeTlsFiles } from '../helpers/tls-certs.ts';
import { ROOT } from '../helpers/paths.ts';
import { tempDir } from '../helpers/temp.ts';
import { until } from '../helpers/poll.ts';

t.setTimeout(180_000);
// The children get this process's environment: none of the runner's HUSHWIRE_ variables.
for (const k of Object.keys(process.env)) if (k.startsWith('HUSHWIRE_')) delete process.env[k];

const dir = tempDir('hw-cfgsafety-');
/** A file made with `mode` (chmod after writing: the umask does not narrow it). */
const file = (name: string, text: string, mode: number): string => {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  chmodSync(p, mode);
  return p;
};
const hexKey = (): string => `${randomBytes(32).toString('hex')}\n`;

interface LogLine { level: number; msg: string; [k: string]: unknown }
const jsonLines = (text: string): LogLine[] => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
const configLines = (text: string): LogLine[] => jsonLines(text).filter((l) => l.msg.startsWith('config: '));

t.test('every HUSHWIRE_ variable the source reads is a known name', async (t) => {
  // Were one missing, the gateway and the evaluator would call it unknown.
  const seen = new Set<string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|js|sh)$/.test(e.name)) for (const m of readFileSync(p, 'utf8').matchAll(/HUSHWIRE_[A-Z0-9_]*[A-Z0-9]/g)) seen.add(m[0]);
    }
  };
  for (const d of ['gateway', 'relay', 'cli', 'client', 'bench', 'bin', 'scripts']) walk(join(ROOT, d));
  t.ok(seen.size > 60, `found the names (${seen.size})`);
  for (const n of [...seen].sort()) t.ok(KNOWN_ENV_NAMES.has(n), `${n} is known`);
  for (const n of ['HUSHWIRE_OPRF_THREADS', 'HUSHWIRE_MAX_CONNECTIONS', 'HUSHWIRE_NATS_CREDS_FILE', 'HUSHWIRE_PROFILE', 'HUSHWIRE_DEBUG']) t.ok(KNOWN_ENV_NAMES.has(n), `${n} is known`);
});

t.test('the closest known name', async (t) => {
  t.equal(editDistance('CONECTIONS', 'CONNECTIONS', 2), 1);
  t.equal(editDistance('PROT', 'PORT', 2), 1, 'two neighbours swapped: one edit');
  t.equal(editDistance('ABCDEFGH', 'ZZZZZZZZ', 2), 3, 'past the bound: bound + 1');
  t.equal(closestEnvName('HUSHWIRE_MAX_CONECTIONS'), 'HUSHWIRE_MAX_CONNECTIONS');
  t.equal(closestEnvName('HUSHWIRE_PROT'), 'HUSHWIRE_PORT');
  t.equal(closestEnvName('HUSHWIRE_log_level'), 'HUSHWIRE_LOG_LEVEL', 'case aside');
  t.equal(closestEnvName('HUSHWIRE_OPRF_THREDS'), 'HUSHWIRE_OPRF_THREADS');
  t.equal(closestEnvName('HUSHWIRE_SOMETHING_ELSE_ENTIRELY'), null, 'nothing close: no guess');
  t.equal(closestEnvName('HUSHWIRE_AB'), null, 'a short name needs a close match (1 edit)');
});

t.test('gateway: a misspelt variable is named with a hint, the process runs, the value is not printed', async (t) => {
  const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;
  const otherSecret = `0th3r-${randomBytes(8).toString('hex')}`;
  const env = {
    HUSHWIRE_MAX_CONECTIONS: secret,
    HUSHWIRE_ZZ_NOTHING_LIKE_IT: otherSecret,
    // Read by `hushwire oprf` only, or by the CLI: not unknown.
    HUSHWIRE_OPRF_THREADS: otherSecret,
    HUSHWIRE_OPRF_REPLY_PREFIXES: otherSecret,
    HUSHWIRE_PROFILE: otherSecret,
  };
  const gw = await spawnGateway(['--transport', 'ws'], env);
  t.teardown(() => gw.kill('SIGKILL'));
  t.equal(await gw.kill('SIGTERM'), 0, 'it ran (listening, then drained, exit 0)');
  const lines = configLines(gw.stdout());
  t.same(lines.map((l) => [l.level, l.msg]), [
    [40, 'config: unknown environment variable HUSHWIRE_MAX_CONECTIONS (did you mean HUSHWIRE_MAX_CONNECTIONS?): ignored'],
    [40, 'config: unknown environment variable HUSHWIRE_ZZ_NOTHING_LIKE_IT: ignored'],
  ], 'one warn line per unknown name, and none for the evaluator\'s or the CLI\'s');
  t.match(lines[0], { variable: 'HUSHWIRE_MAX_CONECTIONS', suggestion: 'HUSHWIRE_MAX_CONNECTIONS' });
  t.notOk(gw.output().includes(secret) || gw.output().includes(otherSecret), 'no value in any output');
});

t.test('gateway: secret files group or others may read: one warning each, flag and mode', async (t) => {
  const key = hexKey();
  const token = `tok-${randomBytes(6).toString('hex')}`;
  const keyFile = file('oprf.key', key, 0o644);
  const tokenFile = file('token', `${token}\n`, 0o640);
  const dedup = file('dedup.key', hexKey(), 0o600);
  const resumeKey = hexKey();
  const resume = file('resume.key', resumeKey, 0o604);
  const gw = await spawnGateway(['--transport', 'ws', '--oprf-key-file', keyFile, '--dedup-key-file', dedup,
    '--resume-key-file', resume,
    '--verifier', 'webhook', '--verifier-url', 'http://127.0.0.1:9/send', '--verifier-token-file', tokenFile]);
  t.teardown(() => gw.kill('SIGKILL'));
  t.equal(await gw.kill('SIGTERM'), 0, 'it ran (listening, then drained, exit 0)');
  const lines = configLines(gw.stdout());
  t.same(lines.map((l) => l.msg).sort(), [
    'config: --oprf-key-file is readable by group or others (mode 0644): chmod 600 it',
    'config: --resume-key-file is readable by group or others (mode 0604): chmod 600 it',
    'config: --verifier-token-file is readable by group or others (mode 0640): chmod 600 it',
  ], 'the 0644, 0604 and 0640 files, once each; not the 0600 --dedup-key-file');
  t.match(lines.find((l) => l.setting === '--oprf-key-file'), { level: 40, setting: '--oprf-key-file', mode: '0644' });
  t.notOk(gw.output().includes(dir), 'no path');
  t.notOk(gw.output().includes(key.trim()) || gw.output().includes(token) || gw.output().includes(resumeKey.trim()), 'no contents');
  t.equal(statSync(keyFile).mode & 0o777, 0o644, 'the file is left as it is');
  // OPERATIONS.md ("Checked at start") lists the gateway's secret files this checks: every
  // one of them, so an operator reading the list does not take a file for unchecked.
  const ops = readFileSync(join(ROOT, 'docs/OPERATIONS.md'), 'utf8');
  const bullet = /\*\*A secret file that group or others may read\*\*[\s\S]*?chmod 600 it`/.exec(ops)?.[0] ?? '';
  t.ok(bullet.length > 0, 'OPERATIONS.md has the bullet');
  for (const flag of ['--oprf-key-file', '--verifier-token-file', '--dedup-key-file', '--resume-key-file']) {
    t.ok(bullet.includes(`\`${flag}\``), `OPERATIONS.md's list of checked secret files names ${flag}`);
  }

  chmodSync(keyFile, 0o600);
  chmodSync(tokenFile, 0o400);
  chmodSync(resume, 0o600);
  const ok = await spawnGateway(['--transport', 'ws', '--oprf-key-file', keyFile, '--dedup-key-file', dedup,
    '--resume-key-file', resume,
    '--verifier', 'webhook', '--verifier-url', 'http://127.0.0.1:9/send', '--verifier-token-file', tokenFile]);
  t.teardown(() => ok.kill('SIGKILL'));
  t.equal(await ok.kill('SIGTERM'), 0);
  t.same(configLines(ok.stdout()), [], '0600 and 0400: no warning');
});

t.test('NATS secret files: once per flag and mode, at start and at re-reads; certificates are not secrets', async (t) => {
  const tls = makeTlsFiles();
  chmodSync(tls.ca, 0o644);
  chmodSync(tls.clientCert, 0o644);
  chmodSync(tls.clientKey, 0o644);
  const pw = file('nats-pw', 'a-password\n', 0o644);
  const a = readNatsAccess({ nats: ['nats://127.0.0.1:4222'], natsUser: 'gw', natsPasswordFile: pw, natsTlsCaFile: tls.ca, natsTlsCertFile: tls.clientCert, natsTlsKeyFile: tls.clientKey });
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  a.files.report((level, msg, fields) => { lines.push({ level, msg, ...(fields ? { fields } : {}) }); });
  const modeLines = () => lines.filter((l) => l.msg.startsWith('config: ')).map((l) => l.msg);
  t.same(modeLines(), [
    'config: --nats-tls-key-file is readable by group or others (mode 0644): chmod 600 it',
    'config: --nats-password-file is readable by group or others (mode 0644): chmod 600 it',
  ], 'at start (told once the process has its log): the key and the password, not the CA or the certificate');
  t.match(lines.find((l) => l.msg.includes('--nats-password-file')), { level: 'warn', fields: { setting: '--nats-password-file', mode: '0644' } });
  for (let i = 0; i < 3; i++) a.files.refreshAll();
  t.equal(modeLines().length, 2, 're-read at reconnects, same mode: no more lines');
  chmodSync(pw, 0o604);
  a.files.refreshAll();
  a.files.refreshAll();
  t.same(modeLines().slice(2), ['config: --nats-password-file is readable by group or others (mode 0604): chmod 600 it'], 'a new mode: once more');
  chmodSync(pw, 0o600);
  chmodSync(tls.clientKey, 0o600);
  a.files.refreshAll();
  chmodSync(pw, 0o644);
  a.files.refreshAll();
  t.equal(modeLines().length, 3, '0600, and a mode already told: nothing');
  t.notOk(JSON.stringify(lines).includes(dir) || JSON.stringify(lines).includes('a-password'), 'no path, no contents');

  // Each other secret file: the token, the NKey seed, the .creds file.
  const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
  const user = nkeys.createUser();
  const creds = `-----BEGIN NATS USER JWT-----\naaa.bbb.ccc\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(user.getSeed())}\n------END USER NKEY SEED------\n`;
  for (const [flag, settings] of [
    ['--nats-token-file', { natsTokenFile: file('tok', 'a-token\n', 0o644) }],
    ['--nats-nkey-seed-file', { natsNkeySeedFile: file('seed', `${seed}\n`, 0o644) }],
    ['--nats-creds-file', { natsCredsFile: file('user.creds', creds, 0o644) }],
  ] as const) {
    const b = readNatsAccess({ nats: ['nats://127.0.0.1:4222'], ...settings });
    const got: string[] = [];
    b.files.report((_level, msg) => { got.push(msg); });
    t.same(got.filter((m) => m.startsWith('config: ')), [`config: ${flag} is readable by group or others (mode 0644): chmod 600 it`], flag);
  }
});

t.test('hushwire oprf: its own warnings, and none for the gateway\'s variables', { skip: haveNatsServer() ? false : 'no nats-server' }, async (t) => {
  const server = await startNatsServer({ t });
  const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;
  const key = hexKey();
  const keyFile = file('eval.key', key, 0o644);
  const saved = { ...process.env };
  t.teardown(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  });
  // spawnOprfChild hands the child this process's environment.
  Object.assign(process.env, {
    HUSHWIRE_OPRF_THREDS: secret,
    // Read by the gateway only: not unknown to the evaluator.
    HUSHWIRE_MAX_CONNECTIONS: secret,
    HUSHWIRE_DEDUP_KEY_FILE: secret,
  });
  const child = await spawnOprfChild(t, server.url, ['--key-file', keyFile, '--id', 'cfgsafety']);
  for (const k of ['HUSHWIRE_OPRF_THREDS', 'HUSHWIRE_MAX_CONNECTIONS', 'HUSHWIRE_DEDUP_KEY_FILE']) delete process.env[k];
  child.proc.kill('SIGTERM');
  await until('the evaluator to exit', () => child.proc.exitCode !== null, 30_000);
  t.equal(child.proc.exitCode, 0, 'it ran, and stopped on SIGTERM');
  t.same(configLines(child.output()).map((l) => l.msg), [
    'config: unknown environment variable HUSHWIRE_OPRF_THREDS (did you mean HUSHWIRE_OPRF_THREADS?): ignored',
    'config: --key-file is readable by group or others (mode 0644): chmod 600 it',
  ], 'the typo and the 0644 key file; nothing about the gateway\'s variables');
  t.notOk(child.output().includes(secret) || child.output().includes(key.trim()) || child.output().includes(dir), 'no value, key or path');

  chmodSync(keyFile, 0o600);
  const ok = await spawnOprfChild(t, server.url, ['--key-file', keyFile, '--id', 'cfgsafety2']);
  ok.proc.kill('SIGTERM');
  await until('the evaluator to exit', () => ok.proc.exitCode !== null, 30_000);
  t.same(configLines(ok.output()), [], '0600 and no unknown variable: no warning');
});

t.test('a setting that stops the start still stops it with nothing logged before', async (t) => {
  // The warnings come once the settings are good: a bad key is one stderr line, exit 2.
  const bad = file('bad.key', 'not a key\n', 0o644);
  const env = { HUSHWIRE_OPRF_THREDS: '2', HUSHWIRE_MAX_CONECTIONS: '5' };
  const oprf = await hushwire(['oprf', '--nats', 'nats://127.0.0.1:1', '--key-file', bad], { env, timeoutMs: 60_000 });
  t.equal(oprf.code, 2, 'hushwire oprf: exit 2');
  t.equal(oprf.stdout, '', 'hushwire oprf: nothing logged');
  t.match(oprf.stderr, /^hushwire oprf: --key-file: [^\n]+\n$/, 'hushwire oprf: one line');
  const gw = await hushwire(['gateway', '--host', '127.0.0.1', '--port', '1', '--oprf-key-file', bad], { env, timeoutMs: 60_000 });
  t.equal(gw.code, 2, 'hushwire gateway: exit 2');
  t.equal(gw.stdout, '', 'hushwire gateway: nothing logged');
  t.match(gw.stderr, /^hushwire gateway: --oprf-key-file: [^\n]+\n$/, 'hushwire gateway: one line');
});
