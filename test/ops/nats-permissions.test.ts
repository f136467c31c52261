// The NATS permissions of docs/nats/hushwire-permissions.conf, loaded as they are into a
// real nats-server (so the documented file cannot drift from what runs):
//
// - two gateways on the gateway user, `hushwire oprf` on the evaluator user and
//   `hushwire oprf-key fetch` on the fetch user run the whole flow: register two
//   handsets, a live message across gateways, a message to an offline device and its
//   drain on reconnect, the idle/orphan sweep, opt-out erasure; nats-server logs no
//   permissions violation and no process logs a refused permission;
// - without the file's "set-up" lines a gateway runs on streams and buckets an admin
//   made beforehand, and stops at start (exit 1, one line naming the refused subject)
//   when they are missing;
// - a gateway or an evaluator missing a right stops at start with exit 1 and one line
//   naming what NATS refused (a reply inbox outside its prefix, the device subjects, the
//   evaluator subject), never "unreachable" and never a hang.
import t from 'tap';

type Teardown = { teardown(fn: () => unknown): void };
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, ROOT, type TestGateway } from '../helpers/gateway.ts';
import { registerHandset, listen, sendText } from '../helpers/handsets.ts';
import { hushwire } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { deriveServerKey } from '../../relay/crypto/oprf.ts';
import { HushwireClient } from '../../client/index.ts';
import { spawn } from 'node:child_process';
import { BIN } from '../helpers/paths.ts';
import { randomBytes } from 'node:crypto';
import { httpStatus, httpBase, until } from '../helpers/poll.ts';

t.setTimeout(300_000);

const FILE = join(ROOT, 'docs', 'nats', 'hushwire-permissions.conf');
const conf = readFileSync(FILE, 'utf8');
const dir = tempDir('hw-natsperm-');
const secret = (name: string, value: string): string => {
  const p = join(dir, name);
  writeFileSync(p, `${value}\n`, { mode: 0o600 });
  return p;
};
// The file reads the passwords from nats-server's environment (inherited from here).
const passwords = { gw: `gw-${randomBytes(8).toString('hex')}`, oprf: `oprf-${randomBytes(8).toString('hex')}`, fetch: `fetch-${randomBytes(8).toString('hex')}`, admin: `admin-${randomBytes(8).toString('hex')}` };
process.env['HUSHWIRE_GW_NATS_PASSWORD'] = passwords.gw;
process.env['HUSHWIRE_OPRF_NATS_PASSWORD'] = passwords.oprf;
process.env['HUSHWIRE_FETCH_NATS_PASSWORD'] = passwords.fetch;
process.env['HUSHWIRE_ADMIN_NATS_PASSWORD'] = passwords.admin;
const gwPw = secret('gw.pw', passwords.gw);
const oprfPw = secret('oprf.pw', passwords.oprf);
const fetchPw = secret('fetch.pw', passwords.fetch);
const adminPw = secret('admin.pw', passwords.admin);

/** A nats-server with `text` (the file, or a variant of it) and a log file of its own. */
async function server(t: Teardown, text: string) {
  const log = join(tempDir('hw-natsperm-log-'), 'nats.log');
  const s = await startNatsServer({ t, extraConfig: `log_file: ${JSON.stringify(log)}\n${text}` });
  return { ...s, url: s.url, log: () => { try { return readFileSync(log, 'utf8'); } catch { return ''; } } };
}

/** The file with an admin user (all rights) added: what pre-creates streams. */
const withAdmin = (text: string): string => text.replace('users: [', 'users: [\n    { user: hushwire-admin, password: $HUSHWIRE_ADMIN_NATS_PASSWORD }');
/** The file without its set-up lines. */
const steadyOnly = (text: string): string => text.split('\n').filter((l) => !l.includes('# set-up')).join('\n');

const oprfKey = writeOprfSeed();
function writeOprfSeed(): { file: string; publicKey: string } {
  const seed = randomBytes(32);
  const kp = deriveServerKey(seed);
  return { file: secret('oprf.key', Buffer.from(seed).toString('hex')), publicKey: bytesToHex(kp.publicKey) };
}

const gwAccess = { natsUser: 'hushwire-gw', natsPasswordFile: gwPw, natsInboxPrefix: '_INBOX_hw_gw' };

/** `hushwire oprf` as a child process on the evaluator user; resolves once it serves. */
function startEvaluator(t: Teardown, url: string, user = 'hushwire-oprf-main', pw = oprfPw): Promise<{ output(): string; exited: Promise<number | null> }> {
  const p = spawn(process.execPath, [BIN, 'oprf', '--port', '0', '--threads', '1', '--nats', url, '--key-file', oprfKey.file, '--id', 'main',
    '--nats-user', user, '--nats-password-file', pw], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  p.stderr.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  t.teardown(() => { if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`evaluator did not start:\n${out}`)), 60_000);
    p.stderr.on('data', () => {
      if (/hushwire oprf serving/.test(out)) { clearTimeout(timer); resolve({ output: () => out, exited }); }
    });
    void exited.then(() => { clearTimeout(timer); resolve({ output: () => out, exited }); });
  });
}

const PERMISSION_TEXT = /permission|Violation|NATS refused/i;
/** How nats-server 2.9 logs a refused publish or subscription. */
const SERVER_VIOLATION = /(Publish|Subscription) Violation|Permissions Violation/;

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  t.test('the whole flow with the file\'s users: no permissions violation anywhere', async (t) => {
    const nats = await server(t, conf);
    const ev = await startEvaluator(t, nats.url);
    t.match(ev.output(), /hushwire oprf serving/, 'the evaluator serves on its user');
    const common = { nats: nats.url, ...gwAccess, oprfEvaluator: ['main'], oprfPublicKey: [oprfKey.publicKey] };
    const gws: TestGateway[] = [];
    t.teardown(async () => { for (const g of gws) await g.close(); });
    gws.push(await startTestGateway({ ...common, name: 'perm-gw1' }));
    gws.push(await startTestGateway({ ...common, name: 'perm-gw2' }));
    const [g1, g2] = gws as [TestGateway, TestGateway];
    for (const g of gws) await until('the gateway to be ready', async () => (await httpStatus(`${httpBase(g.url)}/readyz`)) === 200);

    const a = await registerHandset([g1.url], '+15550002001');
    const b = await registerHandset([g2.url], '+15550002002');
    const lb = await listen(b, [g2.url]);
    const live = await sendText(a, b.number, 'live across gateways', [g1.url]);
    t.equal(live.status, 'delivered', 'live delivery from one gateway to the other');
    t.equal((await lb.waitFor(1))[0]?.text, 'live across gateways');
    await lb.close();

    const stored = await sendText(a, b.number, 'while offline', [g1.url]);
    t.equal(stored.status, 'stored', 'a message to an offline device is stored');
    const lb2 = await listen(b, [g2.url]);
    t.equal((await lb2.waitFor(1))[0]?.text, 'while offline', 'and drained when it reconnects');
    await lb2.close();

    // The sweeps scan the directory (a KV key listing) and the mailbox streams.
    await g1.relay.privacy.sweep();

    const fetched = await hushwire(['oprf-key', 'fetch', '--nats', nats.url, '--id', 'main', '--nats-user', 'hushwire-oprf-fetch',
      '--nats-password-file', fetchPw, '--nats-inbox-prefix', '_INBOX_hw_fetch'], { timeoutMs: 30_000 });
    t.equal(fetched.code, 0, `oprf-key fetch on its user: ${fetched.stderr}`);
    t.equal(fetched.stdout.trim(), oprfKey.publicKey, 'it reads the evaluator\'s key');

    const cb = await HushwireClient.open(b.profileDir, { gateways: [g2.url] });
    await cb.connect();
    await cb.unregister();
    await cb.close().catch(() => undefined);
    await t.rejects(sendText(a, b.number, 'after opt-out', [g1.url]), { code: 'NOT_REGISTERED' }, 'erased on opt-out');

    t.notMatch(nats.log(), SERVER_VIOLATION, 'nats-server logged no permissions violation');
    for (const g of gws) t.notMatch(g.logs(), PERMISSION_TEXT, 'the gateway logged no refused permission');
    t.notMatch(ev.output(), PERMISSION_TEXT, 'the evaluator logged no refused permission');
    const outputs = [...gws.map((g) => g.logs()), ev.output(), fetched.stdout, fetched.stderr].join('\n');
    t.notOk(Object.values(passwords).some((p) => outputs.includes(p)), 'no password in any output');
  });

  t.test('without the set-up lines a gateway runs on streams made by an admin, and says what is missing otherwise', async (t) => {
    const nats = await server(t, withAdmin(steadyOnly(conf)));
    const base = ['--nats', nats.url, '--oprf-key-file', oprfKey.file];
    const refused = await hushwire(['gateway', '--host', '127.0.0.1', '--port', '0', ...base, '--nats-user', 'hushwire-gw',
      '--nats-password-file', gwPw, '--nats-inbox-prefix', '_INBOX_hw_gw'], { timeoutMs: 60_000 });
    t.equal(refused.code, 1, 'no streams yet, no right to create them: exit 1');
    t.match(refused.stderr, /could not start: NATS refused permission to publish to \$JS\.API\.STREAM\.CREATE\.HW_MBOX_0 \(permissions violation\): the NATS user of --nats-user needs it/);
    t.notMatch(refused.stderr, /unreachable/i);
    t.equal(refused.stderr.trim().split('\n').length, 1, 'one line');

    const admin = await startTestGateway({ nats: nats.url, oprfKeyFile: oprfKey.file, natsUser: 'hushwire-admin', natsPasswordFile: adminPw, name: 'perm-admin' });
    await until('the admin gateway to be ready', async () => (await httpStatus(`${httpBase(admin.url)}/readyz`)) === 200);
    await admin.close();

    const gw = await startTestGateway({ nats: nats.url, oprfKeyFile: oprfKey.file, ...gwAccess, name: 'perm-steady' });
    t.teardown(() => gw.close());
    await until('the steady-state gateway to be ready', async () => (await httpStatus(`${httpBase(gw.url)}/readyz`)) === 200);
    const a = await registerHandset([gw.url], '+15550002101');
    const b = await registerHandset([gw.url], '+15550002102');
    t.equal((await sendText(a, b.number, 'stored on pre-made streams', [gw.url])).status, 'stored');
    const lb = await listen(b, [gw.url]);
    t.equal((await lb.waitFor(1))[0]?.text, 'stored on pre-made streams');
    await lb.close();
    t.notMatch(gw.logs(), PERMISSION_TEXT, 'no refused permission once the streams exist');
  });

  t.test('a missing right stops the process at start with one line naming it', async (t) => {
    const noDeviceSub = conf.replace(/^\s*"hw\.dev\.\*\.\*"\s*# the devices this gateway holds\n/m, '');
    t.not(noDeviceSub, conf, 'the variant lacks the device subscription');
    const nats = await server(t, noDeviceSub);
    const base = ['gateway', '--host', '127.0.0.1', '--port', '0', '--nats', nats.url, '--oprf-key-file', oprfKey.file, '--nats-user', 'hushwire-gw', '--nats-password-file', gwPw];

    const noPrefix = await hushwire(base, { timeoutMs: 60_000 });
    t.equal(noPrefix.code, 1, 'replies on _INBOX, which the gateway user may not read: exit 1');
    t.match(noPrefix.stderr, /could not start: NATS refused permission to subscribe to _INBOX\.> \(permissions violation\)/);

    const noDevices = await hushwire([...base, '--nats-inbox-prefix', '_INBOX_hw_gw'], { timeoutMs: 60_000 });
    t.equal(noDevices.code, 1, 'no right to subscribe the device subjects: exit 1');
    t.match(noDevices.stderr, /could not start: NATS refused permission to subscribe to hw\.dev\.\*\.\* \(permissions violation\): the NATS user of --nats-user needs it/);
    t.notMatch(noDevices.stderr, /[0-9a-f]{32}/, 'no device subject in full');
    t.equal(noDevices.stderr.trim().split('\n').length, 1, 'one line');

    const ev = await startEvaluator(t, nats.url, 'hushwire-oprf-fetch', fetchPw);
    t.equal(await ev.exited, 1, 'an evaluator on a user that may not subscribe its subject: exit 1');
    t.match(ev.output(), /hushwire oprf: could not start: NATS refused permission to subscribe to hw\.oprf\.main\.eval \(permissions violation\)/);
    t.match(nats.log(), SERVER_VIOLATION, 'nats-server logged the refusals');
  });
}
