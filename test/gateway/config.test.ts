// Config: defaults, precedence, validation with one clear line (values, URLs, and the
// files and secrets read before the start), and the docs table.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { SETTINGS, resolveConfig, defaultConfig, ConfigError } from '../../gateway/config.ts';
import { readConfigFiles } from '../../gateway/config-files.ts';
import { deriveServerKey } from '../../relay/crypto/oprf.ts';
import { ROOT } from '../helpers/paths.ts';
import { tempDir, privateFileWriter } from '../helpers/temp.ts';

t.test('defaults', async (t) => {
  const c = defaultConfig();
  t.equal(c.port, 8480);
  t.equal(c.host, '127.0.0.1');
  t.same(c.nats, []);
  t.equal(c.transport, 'auto');
  t.equal(c.verifier, 'dev');
  t.equal(c.mailboxMaxAgeS, 30 * 86400);
  t.equal(c.verifierTimeoutMs, 5_000, 'the webhook deadline: half of the default auth deadline, so it can fire first');
});

t.test('flag beats environment beats default', async (t) => {
  t.equal(resolveConfig({}, { HUSHWIRE_PORT: '9000' }).port, 9000);
  t.equal(resolveConfig({ port: '9001' }, { HUSHWIRE_PORT: '9000' }).port, 9001);
  t.same(resolveConfig({}, { HUSHWIRE_NATS: 'nats://a:1, nats://b:2', HUSHWIRE_OPRF_KEY: 'x' }).nats, ['nats://a:1', 'nats://b:2']);
});

t.test('invalid values fail with one line naming the setting', async (t) => {
  const bad: [Record<string, unknown>, Record<string, string>, RegExp][] = [
    [{ port: 'abc' }, {}, /--port must be a whole number/],
    [{}, { HUSHWIRE_PORT: '70000' }, /HUSHWIRE_PORT must be at most 65535/],
    [{ maxDevicesPerRoute: '65' }, {}, /--max-devices-per-route must be at most 64/],
    [{ transport: 'quic' }, {}, /--transport must be one of auto, uws, ws/],
    [{ verifier: 'webhook' }, {}, /--verifier-url/],
    [{ idleTimeoutS: '10' }, {}, /multiple of 4/],
    [{ nats: 'nats://127.0.0.1:4222' }, {}, /--oprf-key-file/],
    [{ maxFrameBytes: '2000', maxEnvelopeBytes: '1500' }, {}, /--max-frame-bytes must exceed/],
    [{ natsPrefix: 'a.b' }, {}, /--nats-prefix/],
    [{ maxSendBuffersBytes: '1000' }, {}, /--max-send-buffers-bytes must be at least/],
    [{ verifierTimeoutMs: '100' }, {}, /--verifier-timeout-ms must be at least 500 ms/],
    [{ verifier: 'webhook', verifierUrl: 'https://sms.example/send', verifierTimeoutMs: '10000' }, {}, /--verifier-timeout-ms \(10000\) must be below --auth-timeout-ms \(10000\)/],
    [{}, { HUSHWIRE_VERIFIER_TIMEOUT_MS: '120000' }, /HUSHWIRE_VERIFIER_TIMEOUT_MS must be at most 60000 ms/],
    [{ verifier: 'webhook', verifierUrl: 'not a url' }, {}, /^--verifier-url: not a valid URL/],
    [{ verifier: 'webhook', verifierUrl: 'ftp://x/y' }, {}, /^--verifier-url: must be http:\/\/ or https:\/\/, not ftp:\/\//],
    [{ verifierUrl: 'https://user:pw@sms.example/send' }, {}, /^--verifier-url: must not carry a user or password/],
    [{ nats: 'foo://bar:1', oprfKey: 'x' }, {}, /^--nats: foo:\/\/ is not a NATS URL/],
    [{ nats: 'nats://a:4222,ws://b:8080', oprfKey: 'x' }, {}, /^--nats: ws:\/\/ is not supported/],
    [{}, { HUSHWIRE_NATS: 'wss://b:443', HUSHWIRE_OPRF_KEY: 'x' }, /^--nats: wss:\/\/ is not supported/],
    [{ nats: 'nats://not a host:1', oprfKey: 'x' }, {}, /^--nats: not a valid URL/],
    [{ nats: 'nats://h:99999', oprfKey: 'x' }, {}, /^--nats: not a valid URL/],
  ];
  for (const [flags, env, re] of bad) {
    let err: unknown;
    try {
      resolveConfig(flags as never, env);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ConfigError, `${re} is a ConfigError`);
    t.match((err as Error).message, re);
    t.notMatch((err as Error).message, /\n/, 'one line');
  }
});

t.test('URLs the NATS client and the webhook take', async (t) => {
  const nats = (u: string) => resolveConfig({ nats: u, oprfKey: 'x' }, {}).nats;
  t.same(nats('nats://127.0.0.1:4222, tls://n2.example:4222,n3:4222,[::1]:4222'), ['nats://127.0.0.1:4222', 'tls://n2.example:4222', 'n3:4222', '[::1]:4222'], 'nats://, tls:// and a bare host:port');
  t.same(nats('NATS://user:pw@n1:4222'), ['NATS://user:pw@n1:4222'], 'credentials in a NATS URL are the client\'s business');
  t.equal(resolveConfig({ verifier: 'webhook', verifierUrl: 'https://sms.example/send?x=1' }, {}).verifierUrl, 'https://sms.example/send?x=1');
  // A refused URL is never echoed (it may carry a password or token).
  for (const u of ['ws://user:s3cret@h:1', 'foo://user:s3cret@h:1']) {
    let err: unknown;
    try {
      resolveConfig({ nats: u, oprfKey: 'x' }, {});
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ConfigError && !err.message.includes('s3cret'), `${u.split(':')[0]}: refused without the password`);
  }
});

t.test('files and secrets: read before the start, errors name the flag, never the contents', async (t) => {
  const dir = tempDir('hw-cfgfiles-');
  const file = privateFileWriter(dir);
  const seed = 'ab'.repeat(32);
  const good = file('oprf.key', `${seed}\n`);
  const files = readConfigFiles(resolveConfig({ oprfKeyFile: good, dedupKeyFile: file('dedup.key', `${'cd'.repeat(32)}\n`), verifier: 'webhook', verifierUrl: 'http://127.0.0.1:9/x', verifierTokenFile: file('tok', ' tok-en_1.2/3=\n') }, {}));
  t.equal(bytesToHex(files.oprfKey!.publicKey), bytesToHex(deriveServerKey(hexToBytes(seed)).publicKey), 'the OPRF key');
  t.equal(Buffer.from(files.msgIdKey!).toString('hex'), 'cd'.repeat(32), 'the dedup key');
  t.equal(files.verifierToken, 'tok-en_1.2/3=', 'the token, trimmed');
  t.same(readConfigFiles(defaultConfig()), {}, 'nothing to read by default');
  const share = file('share.key', `oprf-scalar-v1:${'01'.padEnd(64, '0')}\n`);
  t.ok(readConfigFiles(resolveConfig({ oprfKeyFile: share }, {})).oprfKey, 'a share file (oprf-key split) is a key too');

  const secret = 'secret-looking-but-wrong';
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ oprfKeyFile: '/nonexistent/key' }, /^--oprf-key-file: cannot read \/nonexistent\/key: no such file$/],
    [{ oprfKeyFile: file('bad.key', secret) }, /^--oprf-key-file: \S+bad\.key: OPRF key must be 64 hex characters \(32 bytes\)$/],
    [{ oprfKeyFile: dir }, /^--oprf-key-file: cannot read \S+: is a directory$/],
    [{ oprfKeyFile: file('big.key', 'a'.repeat(70_000)) }, /^--oprf-key-file: \S+big\.key is larger than 65536 bytes/],
    [{ oprfKey: secret }, /^--oprf-key: OPRF key must be 64 hex characters/],
    [{ oprfKeyFile: good, oprfKey: secret }, /^--oprf-key: /],
    [{ oprfKeyFile: file('bad2.key', secret), oprfKey: seed }, /^--oprf-key-file: /],
    [{ verifierTokenFile: '/nonexistent/tok' }, /^--verifier-token-file: cannot read \/nonexistent\/tok: no such file$/],
    [{ verifierTokenFile: file('empty.tok', ' \n') }, /^--verifier-token-file: \S+ is empty$/],
    [{ verifierTokenFile: file('two.tok', `${secret}\nsecond line`) }, /^--verifier-token-file: \S+ must hold one line of printable ASCII/],
    [{ dedupKeyFile: '/nonexistent/dedup' }, /^--dedup-key-file: cannot read \/nonexistent\/dedup: no such file$/],
    [{ dedupKeyFile: file('bad.dedup', secret) }, /^--dedup-key-file: \S+ must hold 64 hex characters/],
  ];
  for (const [flags, re] of cases) {
    let err: unknown;
    try {
      readConfigFiles(resolveConfig(flags as never, {}));
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ConfigError, `${re} is a ConfigError`);
    t.match((err as Error)?.message, re);
    t.notMatch((err as Error)?.message, /\n/, 'one line');
    t.notOk((err as Error)?.message.includes(secret), 'the contents are not echoed');
  }
});

t.test('--mailbox-lower-limits: a switch, off by default, from the flag or the environment', async (t) => {
  t.equal(defaultConfig().mailboxLowerLimits, false, 'off: a gateway never lowers the streams\' limits by itself');
  t.equal(resolveConfig({ mailboxLowerLimits: true }, {}).mailboxLowerLimits, true, 'the flag (commander gives true)');
  t.equal(resolveConfig({}, { HUSHWIRE_MAILBOX_LOWER_LIMITS: 'true' }).mailboxLowerLimits, true);
  t.equal(resolveConfig({}, { HUSHWIRE_MAILBOX_LOWER_LIMITS: '1' }).mailboxLowerLimits, true);
  t.equal(resolveConfig({}, { HUSHWIRE_MAILBOX_LOWER_LIMITS: '0' }).mailboxLowerLimits, false);
  t.throws(() => resolveConfig({}, { HUSHWIRE_MAILBOX_LOWER_LIMITS: 'yes' }), /HUSHWIRE_MAILBOX_LOWER_LIMITS must be true or false/);
  const s = SETTINGS.find((x) => x.key === 'mailboxLowerLimits');
  t.equal(s?.flag, 'mailbox-lower-limits');
  t.equal(s?.type, 'bool');
});

t.test('every setting is documented in docs/OPERATIONS.md with its env variable', async (t) => {
  const doc = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
  for (const s of SETTINGS) {
    t.ok(doc.includes(`\`--${s.flag}\``), `--${s.flag} documented`);
    t.ok(doc.includes(`\`${s.env}\``), `${s.env} documented`);
    t.ok(s.env.startsWith('HUSHWIRE_'));
  }
});

t.test('the Configuration table: one row per setting, with its variable, unit and default', async (t) => {
  // The mentions above could be anywhere in the doc; an operator reads the row. Each
  // row must carry the setting's own variable, unit and default as config.ts has them
  // (the meaning column is prose, not checked here).
  const doc = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8').split('\n');
  const head = doc.indexOf('| flag | environment | unit | default | meaning |');
  t.ok(head >= 0, 'the table is there');
  const rows = new Map<string, string[]>();
  for (let i = head + 2; doc[i]?.startsWith('|'); i++) {
    const cells = doc[i]!.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
    t.notOk(rows.has(cells[0]!), `${cells[0]} has one row`);
    rows.set(cells[0]!, cells);
  }
  const d = defaultConfig();
  for (const s of SETTINGS) {
    const row = rows.get(`\`--${s.flag}\``);
    rows.delete(`\`--${s.flag}\``);
    if (!t.ok(row, `--${s.flag} has a row`)) continue;
    const [, env, unit, def] = row!;
    t.equal(env, `\`${s.env}\``, `--${s.flag}: its variable`);
    // An enum's unit cell may list its choices instead of being empty.
    const units = [s.unit ?? '', ...(s.choices ? [s.choices.map((c) => `\`${c}\``).join('\\|')] : [])];
    t.ok(units.includes(unit!), `--${s.flag}: unit ${JSON.stringify(unit)} is ${JSON.stringify(units[0])}`);
    if (s.default !== undefined) {
      const want = Array.isArray(s.default) ? (s.default.length === 0 ? '(empty)' : s.default.join(',')) : String(s.default);
      t.equal(def, `\`${want}\``, `--${s.flag}: its default`);
    } else if (s.key === 'maxPendingVerifications') {
      t.equal(def, `10% of \`--max-connections\` (\`${d.maxPendingVerifications}\`)`, '--max-pending-verifications: a share of --max-connections, and what that is by default');
    } else {
      t.equal(def, '`—`', `--${s.flag}: no default`);
    }
  }
  t.same([...rows.keys()], [], 'no row for a setting that does not exist');
});

t.test('verification bounds: --verify-start-rate, --verify-start-burst, --max-pending-verifications', async (t) => {
  const d = defaultConfig();
  t.equal(d.verifyStartRate, 3, 'codes/s: a new SMS account\'s toll-free sender');
  t.equal(d.verifyStartBurst, 30, 'ten seconds of the rate');
  t.equal(d.maxPendingVerifications, 5_000, 'a tenth of the default --max-connections');
  // Absent, the cap follows --max-connections (at least 1).
  t.equal(resolveConfig({ maxConnections: 1_000 }, {}).maxPendingVerifications, 100);
  t.equal(resolveConfig({ maxConnections: 3 }, {}).maxPendingVerifications, 1);
  t.equal(resolveConfig({}, { HUSHWIRE_MAX_CONNECTIONS: '20000' }).maxPendingVerifications, 2_000);
  // From the flag or the environment, the flag first.
  const e = resolveConfig({ verifyStartRate: '7' }, { HUSHWIRE_VERIFY_START_RATE: '9', HUSHWIRE_VERIFY_START_BURST: '70', HUSHWIRE_MAX_PENDING_VERIFICATIONS: '250' });
  t.same([e.verifyStartRate, e.verifyStartBurst, e.maxPendingVerifications], [7, 70, 250]);
  // Wrong types and out of range: one line naming the flag or variable and the unit.
  t.throws(() => resolveConfig({ verifyStartRate: 'fast' }, {}), new ConfigError('--verify-start-rate must be a whole number (codes/s)'));
  t.throws(() => resolveConfig({}, { HUSHWIRE_VERIFY_START_RATE: '2.5' }), new ConfigError('HUSHWIRE_VERIFY_START_RATE must be a whole number (codes/s)'));
  t.throws(() => resolveConfig({ verifyStartRate: '0' }, {}), new ConfigError('--verify-start-rate must be at least 1 codes/s'));
  t.throws(() => resolveConfig({ verifyStartRate: '10001' }, {}), new ConfigError('--verify-start-rate must be at most 10000 codes/s'));
  t.throws(() => resolveConfig({ verifyStartBurst: '0' }, {}), new ConfigError('--verify-start-burst must be at least 1 codes'));
  t.throws(() => resolveConfig({}, { HUSHWIRE_VERIFY_START_BURST: 'lots' }), new ConfigError('HUSHWIRE_VERIFY_START_BURST must be a whole number (codes)'));
  t.throws(() => resolveConfig({ maxPendingVerifications: '-1' }, {}), new ConfigError('--max-pending-verifications must be at least 1 sockets'));
  t.throws(() => resolveConfig({}, { HUSHWIRE_MAX_PENDING_VERIFICATIONS: 'x' }), new ConfigError('HUSHWIRE_MAX_PENDING_VERIFICATIONS must be a whole number (sockets)'));
  // Cross-check: waiting sockets must leave connection slots for logins.
  t.throws(() => resolveConfig({ maxConnections: '100', maxPendingVerifications: '100' }, {}),
    new ConfigError('--max-pending-verifications (100) must be below --max-connections (100), or sockets waiting for codes could hold every connection slot'));
  t.throws(() => resolveConfig({}, { HUSHWIRE_MAX_PENDING_VERIFICATIONS: '60000' }), /must be below --max-connections \(50000\)/, 'against the default too');
  t.equal(resolveConfig({ maxConnections: '100', maxPendingVerifications: '99' }, {}).maxPendingVerifications, 99);
});
