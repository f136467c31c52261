// `hushwire gateway` as an operator runs it (child processes): stdout carries only
// JSON log lines, whatever the log level, and the human start-up line goes to stderr;
// a bad file or URL setting stops it before anything starts, with one line naming the
// flag and exit 2.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnGateway } from '../helpers/gateway.ts';
import { hushwire } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

t.setTimeout(120_000);

/** The lines of `text` that are not JSON objects. */
function notJson(text: string): string[] {
  return text.split('\n').filter((l) => l !== '').filter((l) => {
    try {
      const o = JSON.parse(l) as unknown;
      return typeof o !== 'object' || o === null;
    } catch {
      return true;
    }
  });
}

t.test('stdout is JSON lines only; the human start-up line is on stderr', async (t) => {
  for (const level of ['info', 'warn']) {
    await t.test(`--log-level ${level}`, async (t) => {
      const gw = await spawnGateway(['--transport', 'ws', '--log-level', level]);
      t.teardown(() => gw.kill('SIGKILL'));
      t.equal(await gw.kill('SIGTERM'), 0, 'drains and exits 0');
      t.same(notJson(gw.stdout()), [], 'every stdout line is a JSON object');
      t.notMatch(gw.stdout(), /hushwire gateway listening on/, 'no plain-text line on stdout');
      t.match(gw.output(), new RegExp(`hushwire gateway listening on ${gw.url.replace(/[.]/g, '\\.')} \\(transport ws, bus embedded, ed25519 \\w+, resume own key\\)`), 'the human line (stderr)');
      const lines = gw.stdout().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      const listening = lines.find((o) => o['msg'] === 'gateway listening');
      if (level === 'info') {
        t.match(listening, { level: 30, url: gw.url, transport: 'ws', bus: 'embedded', ed25519: /^(libsodium|openssl)$/, resume: 'own key', port: Number }, 'the same facts as a log line');
      } else {
        t.equal(listening, undefined, 'an info line, not shown at warn');
      }
    });
  }
});

t.test('file and URL settings: one line naming the flag, exit 2, before anything starts', async (t) => {
  const dir = tempDir('hw-gwcli-');
  const secret = 'not-a-key-but-secret-looking';
  const badKey = join(dir, 'bad.key');
  writeFileSync(badKey, `${secret}\n`, { mode: 0o600 });
  const goodKey = join(dir, 'good.key');
  writeFileSync(goodKey, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
  const keyDir = join(dir, 'keydir');
  mkdirSync(keyDir);
  const webhook = ['--verifier', 'webhook', '--verifier-url', 'http://127.0.0.1:9/send'];
  const cases: [string, string[], RegExp][] = [
    ['missing OPRF key file', ['--oprf-key-file', '/nonexistent/key'], /^hushwire gateway: --oprf-key-file: cannot read \/nonexistent\/key: no such file$/],
    ['OPRF key file with bad contents', ['--oprf-key-file', badKey], /^hushwire gateway: --oprf-key-file: \S+bad\.key: OPRF key must be 64 hex characters \(32 bytes\)$/],
    ['OPRF key file is a directory', ['--oprf-key-file', keyDir], /^hushwire gateway: --oprf-key-file: cannot read \S+keydir: is a directory$/],
    ['verifier URL not a URL', ['--verifier', 'webhook', '--verifier-url', 'not a url'], /^hushwire gateway: --verifier-url: not a valid URL/],
    ['verifier URL not http(s)', ['--verifier', 'webhook', '--verifier-url', 'ftp://x/y'], /^hushwire gateway: --verifier-url: must be http:\/\/ or https:\/\/, not ftp:\/\/$/],
    ['missing verifier token file', [...webhook, '--verifier-token-file', '/nonexistent/tok'], /^hushwire gateway: --verifier-token-file: cannot read \/nonexistent\/tok: no such file$/],
    ['missing dedup key file', ['--dedup-key-file', '/nonexistent/dedup'], /^hushwire gateway: --dedup-key-file: cannot read \/nonexistent\/dedup: no such file$/],
    ['NATS URL of another scheme', ['--nats', 'foo://bar:1', '--oprf-key-file', goodKey], /^hushwire gateway: --nats: foo:\/\/ is not a NATS URL/],
    ['NATS over WebSocket', ['--nats', 'ws://127.0.0.1:8080', '--oprf-key-file', goodKey], /^hushwire gateway: --nats: ws:\/\/ is not supported/],
  ];
  // In parallel: each is a short-lived child process.
  await Promise.all(cases.map(async ([name, args, re]) => {
    // --port 1: were it to get as far as listening, it would fail (exit 1), not pass.
    const r = await hushwire(['gateway', '--host', '127.0.0.1', '--port', '1', ...args], { timeoutMs: 60_000 });
    t.equal(r.code, 2, `${name}: exit 2`);
    t.match(r.stderr.trimEnd(), re, `${name}: names the flag and the problem`);
    t.equal(r.stderr.split('\n').filter((l) => l !== '').length, 1, `${name}: one line (no start-up warning before it)`);
    t.equal(r.stdout, '', `${name}: nothing logged: nothing started`);
    t.notOk(r.stderr.includes(secret), `${name}: the file's contents are not echoed`);
  }));
  // The same through the environment.
  const env = await hushwire(['gateway', '--host', '127.0.0.1', '--port', '1'], { env: { HUSHWIRE_OPRF_KEY_FILE: '/nonexistent/key' }, timeoutMs: 60_000 });
  t.equal(env.code, 2, 'HUSHWIRE_OPRF_KEY_FILE: exit 2');
  t.match(env.stderr, /^hushwire gateway: --oprf-key-file: cannot read \/nonexistent\/key: no such file\n$/);
});

t.test('--help gives each number\'s accepted range, with its unit, default and variable', async (t) => {
  // An operator sizing a limit reads the help (OPERATIONS.md's table has no range column):
  // before, a value out of range was found only when the gateway refused to start.
  const { SETTINGS } = await import('../../gateway/config.ts');
  const r = await hushwire(['gateway', '--help']);
  t.equal(r.code, 0);
  // One block per option: its line, and the lines commander wraps its description onto.
  const blocks = new Map<string, string>();
  let flag = '';
  for (const line of r.stdout.split('\n')) {
    const m = /^ {2}--([a-z0-9-]+)/.exec(line);
    if (m) flag = m[1]!;
    else if (!/^ {3,}\S/.test(line)) flag = '';
    if (flag !== '') blocks.set(flag, `${blocks.get(flag) ?? ''} ${line.trim()}`);
  }
  for (const s of SETTINGS) {
    const opt = blocks.get(s.flag) ?? '';
    t.ok(opt.includes(`[env ${s.env}]`), `--${s.flag}: its variable`);
    if (s.type === 'int') {
      t.ok(opt.includes(`[${s.min}..${s.max}${s.unit ? ` ${s.unit}` : ''}]`), `--${s.flag}: range ${s.min}..${s.max}${s.unit ? ` ${s.unit}` : ''}`);
    }
  }
});
