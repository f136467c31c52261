// The NATS permissions of docs/nats/, loaded as they are into a real nats-server (so the
// documented files cannot drift from what runs):
//
// - docs/nats/nats-server.conf is the config docs/OPERATIONS.md shows, character for
//   character; docs/nats/gateway.conf, oprf-main.conf and oprf-fetch.conf are what
//   `hushwire nats-permissions` prints for the defaults (and --no-setup is the gateway
//   file without its "set-up" lines); nats-server -t accepts the config as shipped;
// - on that config (only the placeholder password hashes replaced by hashes of test
//   passwords, the role files beside it) two gateways on the two gateway users,
//   `hushwire oprf` and `hushwire oprf-key fetch` run the whole flow: register, live
//   across gateways, a stored message and its drain, the sweeps, opt-out; nats-server
//   logs no violation and no "Plaintext passwords" warning; no process logs a refusal.
//   Then a password change of one gateway user (config reload) drops only that user's
//   gateway; the other stays connected (the rotation OPERATIONS.md describes);
// - without set-up rights a gateway runs on streams an admin made, and after a NATS
//   restart (the memory-storage counter bucket gone) makes the counter bucket again and
//   registers; a user that lost that right logs the refusal by flag, counts the failures
//   (hushwire_rate_limit_store_errors_total) and logs recovery once an admin made it;
// - a missing right stops the process at start with exit 1 and one line naming it
//   (device subscription, reply inbox, erasing deletes, the counter bucket's create);
// - the permissions printed for --nats-prefix acme --mailbox-shards 4 carry a gateway
//   through registration, a stored message, its drain and opt-out.
import t from 'tap';

type Teardown = { teardown(fn: () => unknown): void };
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { kill } from 'node:process';
import { bytesToHex } from '@noble/hashes/utils.js';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { haveNatsServer, natsServerBinary, startNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, ROOT, type TestGateway } from '../helpers/gateway.ts';
import { registerHandset, listen, sendText } from '../helpers/handsets.ts';
import { hushwire } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { deriveServerKey } from '../../relay/crypto/oprf.ts';
import { HushwireClient } from '../../client/index.ts';
import { spawn, spawnSync } from 'node:child_process';
import { BIN } from '../helpers/paths.ts';
import { randomBytes } from 'node:crypto';
import { httpStatus, httpBase, until } from '../helpers/poll.ts';
import { natsPermissions } from '../../relay/nats-permissions-config.ts';
import { openCounterBucket } from '../../relay/bus/nats-privacy.ts';
import { COUNTER_TTL_MS } from '../../relay/bus/counters.ts';

t.setTimeout(300_000);

const NATS_DIR = join(ROOT, 'docs', 'nats');
const EXAMPLE = readFileSync(join(NATS_DIR, 'nats-server.conf'), 'utf8');
const ROLE_FILES = ['gateway.conf', 'oprf-main.conf', 'oprf-fetch.conf'] as const;
const dir = tempDir('hw-natsperm-');

// Test passwords and their bcrypt hashes (cost 6; made once with Python's crypt and,
// for the admin, with `htpasswd -bnBC 6 "" PASSWORD | tr -d ':\n'` as OPERATIONS.md
// says: nats-server takes both $2b$ and $2y$). Loopback only.
const USERS = {
  'hushwire-admin': ['test-pw-admin-5f3a9c', '$2y$06$McPqrPROJIklsHGzS4pT1.Htx5/6MJZgzDXjhhBkMZYG66x55mENW'],
  'hushwire-gw-a': ['test-pw-gw-a-5f3a9c', '$2b$06$Zaxi1S.BJVI8F6BN.s.Kl.IMG.QfguhP7.P17wEgKtok.uXNkwvTe'],
  'hushwire-gw-b': ['test-pw-gw-b-5f3a9c', '$2b$06$XDNEk.YG0lt0Ow32Fll8L.4MEFWa8Y4bKWQCbrff1Tv1A1rz8iBHi'],
  'hushwire-oprf-main-a': ['test-pw-oprf-main-a-5f3a9c', '$2b$06$29UgCkCkzJklI0TESo.Y.O/4aO2C5PgJskA3tnYMhmf.6iPOWsX8e'],
  'hushwire-oprf-main-b': ['test-pw-oprf-main-b-5f3a9c', '$2b$06$qpAme6nzPKBcPRhWLggDWenPU3aiU14AvBZyBoijzRA.473JNvsai'],
  'hushwire-oprf-fetch': ['test-pw-oprf-fetch-5f3a9c', '$2b$06$oluq.krJxt5P8MGwzLVC4.FLIFjQRWC4XgOQhyXjQpr6EHTzA8OKa'],
} as const;
type User = keyof typeof USERS;
// A second password of hushwire-gw-b (the rotation): "test-pw-gw-b2-5f3a9c".
const GW_B_NEW = ['test-pw-gw-b2-5f3a9c', '$2b$06$UkcoyoGlOeCWhCFlbc8UNu/UII9lcE5ZaJXaG3Zp8f4alLggIp31G'] as const;

const pwFile = (user: string, pw: string): string => {
  const p = join(dir, `${user}.pw`);
  writeFileSync(p, `${pw}\n`, { mode: 0o600 });
  return p;
};
const PW = Object.fromEntries(Object.entries(USERS).map(([u, [pw]]) => [u, pwFile(u, pw)])) as Record<User, string>;

/** The role files as a directory beside the config: docs/nats/ or generated variants. */
function roleDir(files: Partial<Record<(typeof ROLE_FILES)[number], string>> = {}): string {
  const d = tempDir('hw-natsperm-roles-');
  mkdirSync(join(d, 'hushwire'));
  for (const f of ROLE_FILES) writeFileSync(join(d, 'hushwire', f), files[f] ?? readFileSync(join(NATS_DIR, f), 'utf8'));
  return d;
}

/** The example config as a test loads it: each placeholder hash replaced by the test
 *  hash of that user (all of them: a placeholder left would be a user nobody can use),
 *  and the role-file includes pointed at `roles` (nats-server resolves an include
 *  relative to the config including it, here the test helper's own directory). */
function loadable(text: string, roles: string, hashes: Partial<Record<User, string>> = {}): string {
  let out = text;
  for (const [user, [, hash]] of Object.entries(USERS) as [User, readonly [string, string]][]) {
    const re = new RegExp(`(\\{ user: ${user}, password: )"\\$2y\\$11\\$[./A-Za-z0-9]{53}"`);
    if (!re.test(out)) throw new Error(`docs/nats/nats-server.conf has no placeholder hash for ${user}`);
    out = out.replace(re, `$1"${hashes[user] ?? hash}"`);
  }
  return out.replaceAll('include "hushwire/', `include "../${basename(roles)}/hushwire/`);
}

/** A nats-server with `text` and a log file of its own. */
async function server(t: Teardown, text: string) {
  const log = join(tempDir('hw-natsperm-log-'), 'nats.log');
  const s = await startNatsServer({ t, extraConfig: `log_file: ${JSON.stringify(log)}\n${text}` });
  return { ...s, url: s.url, restart: () => s.restart(), pid: () => s.pid, configPath: s.configPath, log: () => { try { return readFileSync(log, 'utf8'); } catch { return ''; } } };
}

const oprfKey = writeOprfSeed();
function writeOprfSeed(): { file: string; publicKey: string } {
  const seed = randomBytes(32);
  const kp = deriveServerKey(seed);
  const file = join(dir, 'oprf.key');
  writeFileSync(file, Buffer.from(seed).toString('hex'), { mode: 0o600 });
  return { file, publicKey: bytesToHex(kp.publicKey) };
}

const gwAccess = (user: User, pw = PW[user]) => ({ natsUser: user, natsPasswordFile: pw, natsInboxPrefix: '_INBOX_hw_gw' });

/** `hushwire oprf` as a child process; resolves once it serves (or exits). */
function startEvaluator(t: Teardown, url: string, user: User = 'hushwire-oprf-main-a'): Promise<{ output(): string; exited: Promise<number | null> }> {
  // with the documented --reply-prefixes (docs/OPERATIONS.md, docs/nats/oprf-main.conf)
  const p = spawn(process.execPath, [BIN, 'oprf', '--port', '0', '--threads', '1', '--nats', url, '--key-file', oprfKey.file, '--id', 'main',
    '--reply-prefixes', '_INBOX_hw_gw,_INBOX_hw_fetch', '--nats-user', user, '--nats-password-file', PW[user]], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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
const reloadCount = (log: string): number => log.match(/Reloaded server configuration/g)?.length ?? 0;
const ready = (g: TestGateway) => until('the gateway to be ready', async () => (await httpStatus(`${httpBase(g.url)}/readyz`)) === 200, 30_000);
const gatewayArgs = (url: string, user: User) => ['gateway', '--host', '127.0.0.1', '--port', '0', '--nats', url, '--oprf-key-file', oprfKey.file,
  '--nats-user', user, '--nats-password-file', PW[user], '--nats-inbox-prefix', '_INBOX_hw_gw'];

t.test('the docs show the shipped config, and the role files are what the command prints', async (t) => {
  const ops = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
  const shown = /<!-- docs\/nats\/nats-server\.conf -->\n```\n([\s\S]*?)```\n/.exec(ops);
  t.ok(shown, 'OPERATIONS.md shows docs/nats/nats-server.conf');
  t.equal(shown?.[1], EXAMPLE, 'character for character');
  t.equal(readFileSync(join(NATS_DIR, 'gateway.conf'), 'utf8'), natsPermissions('gateway'), 'gateway.conf = hushwire nats-permissions --role gateway');
  t.equal(readFileSync(join(NATS_DIR, 'oprf-main.conf'), 'utf8'), natsPermissions('oprf'), 'oprf-main.conf = --role oprf');
  t.equal(readFileSync(join(NATS_DIR, 'oprf-fetch.conf'), 'utf8'), natsPermissions('oprf-fetch'), 'oprf-fetch.conf = --role oprf-fetch');
  const printed = await hushwire(['nats-permissions', '--role', 'gateway'], { timeoutMs: 30_000 });
  t.equal(printed.stdout, natsPermissions('gateway'), 'the command prints it');
  const noSetup = natsPermissions('gateway', { setup: false }).split('\n').filter((l) => l.startsWith('  ') || l === '' || /^(publish|subscribe)/.test(l) || l === '}');
  const stripped = natsPermissions('gateway').split('\n').filter((l) => !l.includes('# set-up')).filter((l) => l.startsWith('  ') || l === '' || /^(publish|subscribe)/.test(l) || l === '}');
  t.same(noSetup, stripped, '--no-setup = the file without its set-up lines');
  t.notMatch(natsPermissions('gateway'), /PURGE/, 'no purge right');
  t.match(natsPermissions('gateway', { setup: false }), /"\$JS\.API\.STREAM\.CREATE\.KV_hw_rl"/, 'the counter bucket\'s create stays without set-up');
  t.notMatch(natsPermissions('gateway', { setup: false }), /STREAM\.(CREATE\.(HW_MBOX|KV_hw_dir)|UPDATE)/, 'and nothing else of set-up');
  if (haveNatsServer()) {
    const d = roleDir();
    writeFileSync(join(d, 'nats-server.conf'), EXAMPLE);
    const r = spawnSync(natsServerBinary(), ['-c', join(d, 'nats-server.conf'), '-t'], { encoding: 'utf8' });
    t.equal(r.status, 0, `nats-server -t accepts the config as shipped: ${r.stderr}`);
    // The trap the layout avoids: a second authorization block replaces the first.
    t.equal((EXAMPLE.match(/^authorization\b/gm) ?? []).length, 1, 'one authorization block');
    for (const f of ROLE_FILES) {
      const keys = readFileSync(join(NATS_DIR, f), 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => /^[a-z_]+\s*:/.test(l)).map((l) => l.split(/\s*:/)[0]);
      t.same([...new Set(keys)].filter((k) => !['publish', 'subscribe', 'allow', 'allow_responses'].includes(k as string)), [], `${f} holds permissions only`);
    }
  }
});

if (!haveNatsServer()) {
  t.test('the NATS flows', { skip: 'nats-server not installed' }, async () => {});
} else {
  t.test('the whole flow on the shipped config; a password change drops only that user\'s gateway', async (t) => {
    const roles = roleDir();
    const text = loadable(EXAMPLE, roles);
    const nats = await server(t, text);
    const ev = await startEvaluator(t, nats.url);
    t.match(ev.output(), /hushwire oprf serving/, 'the evaluator serves on its user');
    const common = { nats: nats.url, oprfEvaluator: ['main'], oprfPublicKey: [oprfKey.publicKey] };
    const gws: TestGateway[] = [];
    t.teardown(async () => { for (const g of gws) await g.close(); });
    gws.push(await startTestGateway({ ...common, ...gwAccess('hushwire-gw-a'), name: 'perm-gw1' }));
    gws.push(await startTestGateway({ ...common, ...gwAccess('hushwire-gw-b'), name: 'perm-gw2' }));
    const [g1, g2] = gws as [TestGateway, TestGateway];
    for (const g of gws) await ready(g);

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

    await g1.relay.privacy.sweep();

    const fetched = await hushwire(['oprf-key', 'fetch', '--nats', nats.url, '--id', 'main', '--nats-user', 'hushwire-oprf-fetch',
      '--nats-password-file', PW['hushwire-oprf-fetch'], '--nats-inbox-prefix', '_INBOX_hw_fetch'], { timeoutMs: 30_000 });
    t.equal(fetched.code, 0, `oprf-key fetch on its user: ${fetched.stderr}`);
    t.equal(fetched.stdout.trim(), oprfKey.publicKey, 'it reads the evaluator\'s key');

    // Mail waiting for b, then b opts out: erased message by message (no purge right).
    t.equal((await sendText(a, b.number, 'waiting at opt-out', [g1.url])).status, 'stored');
    const cb = await HushwireClient.open(b.profileDir, { gateways: [g2.url] });
    await cb.connect();
    await cb.unregister();
    await cb.close().catch(() => undefined);
    await t.rejects(sendText(a, b.number, 'after opt-out', [g1.url]), { code: 'NOT_REGISTERED' }, 'erased on opt-out');
    let left = 0;
    for await (const owner of g1.relay.bus.mailboxOwners()) if (owner.routeTag !== '') left++;
    t.equal(left, 0, 'no mailbox left after the opt-out');

    t.notMatch(nats.log(), SERVER_VIOLATION, 'nats-server logged no permissions violation');
    t.notMatch(nats.log(), /Plaintext passwords detected/, 'nor a plaintext-password warning');
    for (const g of gws) t.notMatch(g.logs(), PERMISSION_TEXT, 'the gateway logged no refused permission');
    t.notMatch(ev.output(), PERMISSION_TEXT, 'the evaluator logged no refused permission');
    const outputs = [...gws.map((g) => g.logs()), ev.output(), fetched.stdout, fetched.stderr].join('\n');
    t.notOk(Object.values(USERS).some(([p]) => outputs.includes(p)), 'no password in any output');

    // Rotation, step one: hushwire-gw-b gets a new password (config reload). Only the
    // gateway on that user is dropped; the one on hushwire-gw-a stays connected.
    const lost = /bus: NATS connection lost/;
    const before = [g1.logs().match(new RegExp(lost, 'g'))?.length ?? 0, g2.logs().match(new RegExp(lost, 'g'))?.length ?? 0];
    writeFileSync(nats.configPath, readFileSync(nats.configPath, 'utf8').replace(USERS['hushwire-gw-b'][1], GW_B_NEW[1]));
    const reloads = reloadCount(nats.log());
    kill(nats.pid(), 'SIGHUP');
    await until('nats-server to reload', () => reloadCount(nats.log()) > reloads, 20_000);
    await until('the gateway on the changed user to be dropped', () => (g2.logs().match(new RegExp(lost, 'g'))?.length ?? 0) > (before[1] as number), 20_000);
    t.equal(g1.logs().match(new RegExp(lost, 'g'))?.length ?? 0, before[0], 'the gateway on the other user stayed connected');
    t.equal(await httpStatus(`${httpBase(g1.url)}/readyz`), 200, 'and ready');
    // Step two: a gateway given the new password on that user (the rolling restart).
    const g3 = await startTestGateway({ ...common, ...gwAccess('hushwire-gw-b', pwFile('gw-b-new', GW_B_NEW[0])), name: 'perm-gw3' });
    gws.push(g3);
    await ready(g3);
    const c = await registerHandset([g3.url], '+15550002003');
    t.equal((await sendText(c, a.number, 'after the rotation', [g3.url])).status, 'stored', 'it works with the new password');
  });

  t.test('without set-up rights: streams made by an admin; a NATS restart; the counter bucket made again', async (t) => {
    const roles = roleDir({ 'gateway.conf': natsPermissions('gateway', { setup: false }) });
    const nats = await server(t, loadable(EXAMPLE, roles));
    const refused = await hushwire(gatewayArgs(nats.url, 'hushwire-gw-a'), { timeoutMs: 60_000 });
    t.equal(refused.code, 1, 'no streams yet, no right to create them: exit 1');
    t.match(refused.stderr, /could not start: NATS refused permission to publish to \$JS\.API\.STREAM\.CREATE\.HW_MBOX_0 \(permissions violation\): the NATS user of --nats-user needs it/);
    t.notMatch(refused.stderr, /unreachable/i);
    t.equal(refused.stderr.trim().split('\n').length, 1, 'one line');

    const admin = await startTestGateway({ nats: nats.url, oprfKeyFile: oprfKey.file, natsUser: 'hushwire-admin', natsPasswordFile: PW['hushwire-admin'], name: 'perm-admin' });
    await ready(admin);
    await admin.close();

    const gw = await startTestGateway({ nats: nats.url, oprfKeyFile: oprfKey.file, ...gwAccess('hushwire-gw-a'), name: 'perm-steady' });
    t.teardown(() => gw.close());
    await ready(gw);
    const a = await registerHandset([gw.url], '+15550002101');
    const b = await registerHandset([gw.url], '+15550002102');
    t.equal((await sendText(a, b.number, 'stored on pre-made streams', [gw.url])).status, 'stored');

    // NATS restarts: the counter bucket (memory storage) is gone; the gateway makes it
    // again with the one create right it keeps, and registration works.
    await nats.restart();
    await until('the gateway to be ready again', async () => (await httpStatus(`${httpBase(gw.url)}/readyz`)) === 200, 30_000);
    await until('registration to work after the restart', async () => {
      try { await registerHandset([gw.url], '+15550002103'); return true; } catch { return false; }
    }, 30_000, 500);
    const lb = await listen(b, [gw.url]);
    t.equal((await lb.waitFor(1))[0]?.text, 'stored on pre-made streams', 'file-storage mail survived the restart');
    await lb.close();
    t.notMatch(gw.logs(), PERMISSION_TEXT, 'no refused permission');

    // The same user without that right (an older file): the refusal is logged by flag,
    // counted, and the recovery logged once an admin makes the bucket.
    const noCounterCreate = natsPermissions('gateway', { setup: false }).replace(/^.*"\$JS\.API\.STREAM\.CREATE\.KV_hw_rl".*\n/m, '');
    writeFileSync(join(roles, 'hushwire', 'gateway.conf'), noCounterCreate);
    await nats.restart();
    await until('the gateway to be ready again', async () => (await httpStatus(`${httpBase(gw.url)}/readyz`)) === 200, 30_000);
    await until('the refusal to be logged', () => /bus: cannot re-create stream or buckets: NATS refused permission to publish to \$JS\.API\.STREAM\.CREATE\.KV_hw_rl \(permissions violation\): the NATS user of --nats-user needs it/.test(gw.logs()), 30_000);
    await t.rejects(registerHandset([gw.url], '+15550002104'), { code: 'UNAVAILABLE' }, 'registration fails meanwhile');
    t.match(gw.logs(), /bus: rate-limit counter store KV_hw_rl unavailable/, 'the counter store failure is logged');
    t.notMatch(gw.logs(), /the user given with --nats\b/, 'never the wrong flag');
    const metrics = await (await fetch(`${httpBase(gw.url)}/metrics`)).text();
    t.match(metrics, /^hushwire_rate_limit_store_errors_total [1-9]\d*$/m, 'counted in hushwire_rate_limit_store_errors_total');
    // The admin makes the bucket.
    const nc = await connect({ servers: nats.url, user: 'hushwire-admin', pass: USERS['hushwire-admin'][0] });
    t.teardown(() => nc.close());
    await openCounterBucket(jetstream(nc), 'hw_rl', COUNTER_TTL_MS, 1);
    await until('registration to work once the admin made the bucket', async () => {
      try { await registerHandset([gw.url], '+15550002105'); return true; } catch { return false; }
    }, 30_000, 500);
    t.match(gw.logs(), /bus: rate-limit counter store KV_hw_rl works again/, 'the recovery is logged');
  });

  t.test('a missing right stops the process at start with one line naming it', async (t) => {
    const full = natsPermissions('gateway');
    const variants: [string, string, RegExp][] = [
      ['the device subscription', full.replace(/^\s*"hw\.dev\.\*\.\*"\s*# the devices this gateway holds\n/m, ''), /subscribe to hw\.dev\.\*\.\* \(permissions violation\)/],
      ['an erasing delete of a shard', full.replace(', "$JS.API.STREAM.MSG.DELETE.HW_MBOX_3"', ''), /publish to \$JS\.API\.STREAM\.MSG\.DELETE\.HW_MBOX_3 \(permissions violation\)/],
      ['an erasing delete of the directory', full.replace('"$JS.API.STREAM.MSG.DELETE.KV_hw_dir"', '"$JS.API.STREAM.INFO.KV_hw_dir"'), /publish to \$JS\.API\.STREAM\.MSG\.DELETE\.KV_hw_dir \(permissions violation\)/],
      ['the counter bucket\'s create', full.replace(/^.*"\$JS\.API\.STREAM\.CREATE\.KV_hw_rl".*\n/m, ''), /publish to \$JS\.API\.STREAM\.CREATE\.KV_hw_rl \(permissions violation\)/],
      ['the opt-out announcements\' subscription', full.replace(/^\s*"hw\.unreg"\s*# devices that left the directory \(every gateway's announcements\)\n/m, ''), /subscribe to hw\.unreg \(permissions violation\)/],
      ['publishing opt-out announcements', full.replace(/^\s*"hw\.unreg"\s*# devices that left the directory, announced to every gateway\n/m, ''), /publish to hw\.unreg \(permissions violation\)/],
    ];
    for (const [what, text] of variants) t.not(text, full, `the variant lacks ${what}`);
    // One server, one gateway user per variant (hushwire-gw-a carries the variant; the
    // streams and buckets exist, made by the admin first).
    const roles = roleDir();
    const nats = await server(t, loadable(EXAMPLE, roles));
    const admin = await startTestGateway({ nats: nats.url, oprfKeyFile: oprfKey.file, natsUser: 'hushwire-admin', natsPasswordFile: PW['hushwire-admin'], name: 'perm-admin2' });
    await ready(admin);
    await admin.close();

    const noPrefix = await hushwire(gatewayArgs(nats.url, 'hushwire-gw-a').slice(0, -2), { timeoutMs: 60_000 });
    t.equal(noPrefix.code, 1, 'replies on _INBOX, which the gateway user may not read: exit 1');
    t.match(noPrefix.stderr, /could not start: NATS refused permission to subscribe to _INBOX\.> \(permissions violation\)/);

    for (const [what, text, line] of variants) {
      writeFileSync(join(roles, 'hushwire', 'gateway.conf'), text);
      const reloads = reloadCount(nats.log());
      kill(nats.pid(), 'SIGHUP');
      await until('nats-server to reload', () => reloadCount(nats.log()) > reloads, 20_000);
      const r = await hushwire(gatewayArgs(nats.url, 'hushwire-gw-a'), { timeoutMs: 60_000 });
      t.equal(r.code, 1, `without ${what}: exit 1`);
      t.match(r.stderr, new RegExp(`could not start: NATS refused permission to ${line.source}: the NATS user of --nats-user needs it`), `one line naming it: ${r.stderr.trim()}`);
      t.notMatch(r.stderr, /[0-9a-f]{32}/, 'no device subject in full');
      t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    }

    const ev = await startEvaluator(t, nats.url, 'hushwire-oprf-fetch');
    t.equal(await ev.exited, 1, 'an evaluator on a user that may not subscribe its subject: exit 1');
    t.match(ev.output(), /hushwire oprf: could not start: NATS refused permission to subscribe to hw\.oprf\.main\.eval \(permissions violation\)/);
    t.match(nats.log(), SERVER_VIOLATION, 'nats-server logged the refusals');
  });

  t.test('the permissions printed for --nats-prefix acme --mailbox-shards 4 carry a gateway through', async (t) => {
    const printed = await hushwire(['nats-permissions', '--role', 'gateway', '--nats-prefix', 'acme', '--mailbox-shards', '4'], { timeoutMs: 30_000 });
    t.equal(printed.code, 0);
    t.match(printed.stdout, /"\$JS\.API\.STREAM\.MSG\.DELETE\.ACME_MBOX_3"/);
    t.notMatch(printed.stdout, /ACME_MBOX_4|hw\./);
    const roles = roleDir({ 'gateway.conf': printed.stdout });
    const nats = await server(t, loadable(EXAMPLE, roles));
    const gw = await startTestGateway({ nats: nats.url, oprfKeyFile: oprfKey.file, natsPrefix: 'acme', mailboxShards: 4, natsUser: 'hushwire-gw-a', natsPasswordFile: PW['hushwire-gw-a'], natsInboxPrefix: '_INBOX_acme_gw', name: 'perm-acme' });
    t.teardown(() => gw.close());
    await ready(gw);
    t.same(gw.relay.bus.kind, 'nats');
    const a = await registerHandset([gw.url], '+15550002201');
    const b = await registerHandset([gw.url], '+15550002202');
    t.equal((await sendText(a, b.number, 'acme stored', [gw.url])).status, 'stored');
    const lb = await listen(b, [gw.url]);
    t.equal((await lb.waitFor(1))[0]?.text, 'acme stored');
    await lb.close();
    t.equal((await sendText(a, b.number, 'acme waiting', [gw.url])).status, 'stored');
    const cb = await HushwireClient.open(b.profileDir, { gateways: [gw.url] });
    await cb.connect();
    await cb.unregister();
    await cb.close().catch(() => undefined);
    await gw.relay.privacy.sweep();
    t.notMatch(nats.log(), SERVER_VIOLATION, 'nats-server logged no permissions violation');
    t.notMatch(gw.logs(), PERMISSION_TEXT, 'the gateway logged no refused permission');
  });
}
