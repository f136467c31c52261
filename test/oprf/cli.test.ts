// `hushwire oprf` and `hushwire oprf-key` as an operator runs them: child processes
// (`node bin/hushwire.js ...`), the evaluator on a real nats-server, its settings table
// against docs/OPERATIONS.md.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { bytesToHex as hex, hexToBytes } from '@noble/hashes/utils.js';
import { deriveServerKey } from '../../relay/crypto/oprf.ts';
import { combinePublicKeys } from '../../relay/crypto/oprf-split.ts';
import { parseOprfKey } from '../../relay/evaluator.ts';
import { OPRF_SETTINGS, resolveOprfConfig, OprfConfigError } from '../../relay/oprf-config.ts';
import { BIN, ROOT } from '../helpers/paths.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { tempDir } from '../helpers/temp.ts';

interface Run { code: number | null; stdout: string; stderr: string }

function hushwire(args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('HUSHWIRE_')) delete env[k];
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    p.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`hushwire ${args.join(' ')} did not finish\n${stdout}\n${stderr}`)); }, timeoutMs);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const r = request({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    r.on('error', () => resolve(0));
    r.on('timeout', () => { r.destroy(); resolve(0); });
    r.end();
  });
}

/** `hushwire oprf --nats URL --key-file KEY --id ID --port 0 --threads 1 ARGS` as a child
 *  process (killed at `t`'s teardown), once its stderr's human line says it serves
 *  hw.oprf.ID.eval and on which port. `out()`: its stdout and stderr so far, interleaved;
 *  `stdout()`: its stdout alone (JSON log lines); `exited`: its exit code. */
async function startEvaluator(t: { teardown(fn: () => unknown): void }, natsUrl: string, keyFile: string, id: string, args: string[] = []) {
  const p = spawn(process.execPath, [BIN, 'oprf', '--nats', natsUrl, '--key-file', keyFile, '--id', id, '--port', '0', '--threads', '1', ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  p.stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); stdout += c.toString('utf8'); });
  p.stderr.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  t.teardown(() => { if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); });
  const serving = new RegExp(`hushwire oprf serving hw\\.oprf\\.${id}\\.eval .*http://127\\.0\\.0\\.1:(\\d+)`);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`evaluator did not start:\n${out}`)), 60_000);
    const check = () => {
      const m = serving.exec(out);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    };
    p.stderr.on('data', check); // the human line; stdout holds only JSON log lines
    p.once('exit', () => { clearTimeout(timer); reject(new Error(`evaluator exited:\n${out}`)); });
  });
  return { p, port, exited, out: () => out, stdout: () => stdout };
}

t.setTimeout(240_000);

t.test('every hushwire oprf setting is in docs/OPERATIONS.md', async (t) => {
  const doc = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Settings of `hushwire oprf`'));
  t.ok(section.length > 100, 'the section exists');
  for (const s of OPRF_SETTINGS) {
    t.ok(section.includes(`| \`--${s.flag}\` | \`${s.env}\` |`), `--${s.flag} / ${s.env} documented`);
    t.ok(s.env.startsWith('HUSHWIRE_'));
  }
});

t.test('the hushwire oprf table: each row\'s default is the setting\'s', async (t) => {
  // The check above pairs flag and variable; an operator also reads the default there.
  const doc = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Settings of `hushwire oprf`'), doc.indexOf('### How it behaves'));
  const rows = new Map(section.split('\n').filter((l) => l.startsWith('| `--'))
    .map((l) => l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim())).map((c) => [c[0]!, c]));
  const required = new Set(['nats', 'keyFile']); // no default: resolveOprfConfig refuses to start without them
  for (const s of OPRF_SETTINGS) {
    const def = rows.get(`\`--${s.flag}\``)?.[2];
    if (s.key === 'threads') t.equal(def, 'cores − 1, at least 1', '--threads: cores − 1, at least 1');
    else if (required.has(s.key)) t.equal(def, '(required)', `--${s.flag}: required`);
    else if (s.default === undefined) t.equal(def, '—', `--${s.flag}: no default`);
    else t.equal(def, `\`${Array.isArray(s.default) ? s.default.join(',') : String(s.default)}\``, `--${s.flag}: its default`);
  }
  t.equal(rows.size, OPRF_SETTINGS.length, 'no row for a setting that does not exist');
});

t.test('hushwire oprf settings', async (t) => {
  const ok = resolveOprfConfig({ nats: 'nats://127.0.0.1:4222', keyFile: '/k' }, {});
  t.equal(ok.id, 'main');
  t.equal(ok.maxBatch, 1000);
  t.equal(ok.maxQueued, 2000);
  t.ok(ok.threads >= 1);
  const env = resolveOprfConfig({ id: 'flag-wins' }, { HUSHWIRE_NATS: 'nats://a,nats://b', HUSHWIRE_OPRF_KEY_FILE: '/k', HUSHWIRE_OPRF_ID: 'env', HUSHWIRE_OPRF_THREADS: '3' });
  t.same(env.nats, ['nats://a', 'nats://b']);
  t.equal(env.id, 'flag-wins');
  t.equal(env.threads, 3);
  t.same(ok.replyPrefixes, ['_INBOX'], 'answers go to _INBOX... by default');
  t.same(resolveOprfConfig({}, { HUSHWIRE_NATS: 'n', HUSHWIRE_OPRF_KEY_FILE: '/k', HUSHWIRE_OPRF_REPLY_PREFIXES: '_INBOX_hw_gw,_INBOX_hw_fetch' }).replyPrefixes,
    ['_INBOX_hw_gw', '_INBOX_hw_fetch']);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ keyFile: '/k' }, /--nats is required/],
    [{ nats: 'n' }, /--key-file is required.*oprf-key generate/],
    [{ nats: 'n', keyFile: '/k', id: 'a.b' }, /--id/],
    [{ nats: 'n', keyFile: '/k', maxBatch: '100', maxQueued: '99' }, /--max-queued must be at least --max-batch/],
    [{ nats: 'n', keyFile: '/k', threads: '0' }, /--threads must be at least 1/],
    [{ nats: 'n', keyFile: '/k', maxBatch: '1001' }, /--max-batch must be at most 1000/],
    [{ nats: 'n', keyFile: '/k', natsPrefix: 'A.B' }, /--nats-prefix/],
    [{ nats: 'foo://bar:1', keyFile: '/k' }, /^--nats: foo:\/\/ is not a NATS URL/],
    [{ nats: 'nats://a:4222,wss://b:443', keyFile: '/k' }, /^--nats: wss:\/\/ is not supported/],
    [{ nats: 'n', keyFile: '/k', replyPrefixes: '$KV' }, /--reply-prefixes: \$KV would let requesters aim answers at JetStream/],
    [{ nats: 'n', keyFile: '/k', replyPrefixes: '_INBOX,hw' }, /--reply-prefixes: hw would let requesters aim answers at .*Hushwire \(hw\.\)/],
    [{ nats: 'n', keyFile: '/k', replyPrefixes: 'hw.dev' }, /--reply-prefixes: hw\.dev would/],
    [{ nats: 'n', keyFile: '/k', replyPrefixes: '_INBOX.>' }, /--reply-prefixes must be 1-64 characters of NATS subject tokens/],
  ];
  for (const [flags, re] of bad) t.throws(() => resolveOprfConfig(flags, {}), re, JSON.stringify(flags));
  t.throws(() => resolveOprfConfig({}, {}), OprfConfigError);
});

t.test('hushwire oprf-key: generate, public, split, combine', async (t) => {
  const dir = tempDir('hw-oprf-cli-');
  const keyFile = join(dir, 'oprf.key');
  const gen = await hushwire(['oprf-key', 'generate', '--out', keyFile]);
  t.equal(gen.code, 0, gen.stderr);
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'key file is 0600');
  const seedHex = readFileSync(keyFile, 'utf8').trim();
  t.match(seedHex, /^[0-9a-f]{64}$/);
  t.equal(gen.stdout.trim(), hex(deriveServerKey(hexToBytes(seedHex)).publicKey), 'prints the public key');
  t.notMatch(gen.stdout + gen.stderr, seedHex, 'never prints the key');

  const again = await hushwire(['oprf-key', 'generate', '--out', keyFile]);
  t.equal(again.code, 2, 'refuses to overwrite');
  t.match(again.stderr, /exists; key files are never overwritten \(BAD_REQUEST\)/);
  t.equal(readFileSync(keyFile, 'utf8').trim(), seedHex, 'file unchanged');

  const pub = await hushwire(['oprf-key', 'public', '--key-file', keyFile]);
  t.equal(pub.stdout.trim(), gen.stdout.trim());

  const a = join(dir, 'a.key');
  const b = join(dir, 'b.key');
  const split = await hushwire(['oprf-key', 'split', '--key-file', keyFile, '--out', a, '--out', b]);
  t.equal(split.code, 0, split.stderr);
  t.match(split.stderr, /destroy it/, 'tells the operator to destroy the original');
  const ka = parseOprfKey(readFileSync(a, 'utf8'));
  const kb = parseOprfKey(readFileSync(b, 'utf8'));
  t.equal(statSync(a).mode & 0o777, 0o600);
  t.equal(hex(combinePublicKeys([ka.publicKey, kb.publicKey])), gen.stdout.trim(), 'the shares add up to the key');
  t.match(split.stdout, new RegExp(`share 1 ${hex(ka.publicKey)} `));
  t.match(split.stdout, new RegExp(`combined ${gen.stdout.trim()}`));
  t.notMatch(split.stdout + split.stderr, hex(ka.secretKey), 'shares are not printed');

  const combine = await hushwire(['oprf-key', 'combine', '--public-key', hex(ka.publicKey), '--public-key', hex(kb.publicKey)]);
  t.equal(combine.stdout.trim(), gen.stdout.trim());
  const badSplit = await hushwire(['oprf-key', 'split', '--key-file', keyFile, '--out', join(dir, 'c.key')]);
  t.equal(badSplit.code, 2);
  t.match(badSplit.stderr, /give --out twice/);
});

t.test('hushwire oprf serves over NATS; fetch checks the key; SIGTERM exits 0', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const dir = tempDir('hw-oprf-run-');
  const keyFile = join(dir, 'oprf.key');
  const pk = (await hushwire(['oprf-key', 'generate', '--out', keyFile])).stdout.trim();

  const bad = await hushwire(['oprf', '--key-file', keyFile]);
  t.equal(bad.code, 2, 'no --nats: exit 2');
  t.equal(bad.stderr.trim().split('\n').length, 1, 'one line');
  const missing = await hushwire(['oprf', '--nats', nats.url, '--key-file', join(dir, 'nope.key')]);
  t.equal(missing.code, 2, 'unreadable key: exit 2');
  t.match(missing.stderr, /^hushwire oprf: --key-file: cannot read \S+nope\.key: no such file\n$/, 'one line naming --key-file');

  const ev = await startEvaluator(t, nats.url, keyFile, 'cli');
  const { p, port, exited } = ev;
  t.equal(await httpStatus(port, '/healthz'), 200);
  for (let i = 0; i < 100 && await httpStatus(port, '/readyz') !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(await httpStatus(port, '/readyz'), 200, 'ready once subscribed');

  // A second evaluator on the same host and port (two operators' shares on one machine,
  // both on the default 8490): one line naming --port and what to do, exit 1.
  const clash = await hushwire(['oprf', '--nats', nats.url, '--key-file', keyFile, '--id', 'cli2', '--port', String(port), '--threads', '1']);
  t.equal(clash.code, 1, 'port in use: exit 1');
  t.match(clash.stderr, new RegExp(`^hushwire oprf: could not start: --port: could not listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE \\(another hushwire oprf on this host\\? give each its own --port, or port 0 for any free one\\)\n$`), 'one line naming --port');

  const fetched = await hushwire(['oprf-key', 'fetch', '--nats', nats.url, '--id', 'cli']);
  t.equal(fetched.code, 0, fetched.stderr);
  t.equal(fetched.stdout.trim(), pk, 'fetch returns the key the evaluator proves');
  // An id no evaluator serves (NATS answers "no responders" at once): said so, naming
  // the id and its subject, exit 4; not the gateway's "unavailable; try again in 2 s",
  // which a second fetch 2 s later would only repeat.
  const none = await hushwire(['oprf-key', 'fetch', '--nats', nats.url, '--id', 'nobody']);
  t.equal(none.code, 4, 'no such evaluator: exit 4 (NOT_REGISTERED)');
  t.equal(none.stderr, 'hushwire: no OPRF evaluator serves id nobody on this NATS (nothing subscribes to hw.oprf.nobody.eval): check --id and --nats-prefix against the evaluator\'s, and that it is running (NOT_REGISTERED)\n', 'one line saying no evaluator has that id');
  t.notMatch(none.stderr, /try again/, 'no retry hint');
  t.equal(none.stdout, '', 'nothing on stdout');
  const otherPrefix = await hushwire(['oprf-key', 'fetch', '--nats', nats.url, '--id', 'cli', '--nats-prefix', 'acme']);
  t.equal(otherPrefix.code, 4, 'the right id under another --nats-prefix: exit 4');
  t.match(otherPrefix.stderr, /^hushwire: no OPRF evaluator serves id cli on this NATS \(nothing subscribes to acme\.oprf\.cli\.eval\)/);

  p.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: exit 0');
  const stopped = await hushwire(['oprf-key', 'fetch', '--nats', nats.url, '--id', 'cli']);
  t.equal(stopped.code, 4, 'its evaluator stopped: exit 4');
  t.match(stopped.stderr, /^hushwire: no OPRF evaluator serves id cli on this NATS .*and that it is running \(NOT_REGISTERED\)\n$/);
  t.match(ev.out(), /OPRF evaluator closed/);
  t.notMatch(ev.out(), readFileSync(keyFile, 'utf8').trim(), 'the key is not in the output');
  // stdout is for log pipelines: JSON lines only, the start-up facts among them.
  const lines = ev.stdout().split('\n').filter((l) => l !== '');
  t.same(lines.filter((l) => { try { JSON.parse(l); return false; } catch { return true; } }), [], 'every stdout line is JSON');
  t.match(lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => o['msg'] === 'hushwire oprf serving'),
    { subject: 'hw.oprf.cli.eval', threads: 1, http: /^http:\/\/127\.0\.0\.1:\d+$/ }, 'the serving facts are a log line');
});

t.test('oprf-key fetch to an evaluator whose --reply-prefixes leave out its inbox: no "try again", the likely causes', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  // The evaluator answers only _INBOX_hw_gw (the gateways'); a fetch with the default
  // --nats-inbox-prefix _INBOX is dropped unanswered there (relay/oprf-service.ts: it
  // cannot safely tell the requester) and waits out --timeout-ms. Before, the fetch said
  // "OPRF evaluator unavailable; try again in 2 s", which a second run only repeats.
  const nats = await startNatsServer({ t });
  const dir = tempDir('hw-oprf-reply-');
  const keyFile = join(dir, 'oprf.key');
  const pk = (await hushwire(['oprf-key', 'generate', '--out', keyFile])).stdout.trim();
  const ev = await startEvaluator(t, nats.url, keyFile, 'narrow', ['--reply-prefixes', '_INBOX_hw_gw']);
  const { p, port, exited } = ev;
  for (let i = 0; i < 100 && await httpStatus(port, '/readyz') !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(await httpStatus(port, '/readyz'), 200, 'ready');

  const dropped = await hushwire(['oprf-key', 'fetch', '--nats', nats.url, '--id', 'narrow', '--timeout-ms', '1500']);
  t.equal(dropped.code, 5, 'no answer in time: exit 5 (UNAVAILABLE)');
  t.equal(dropped.stdout, '', 'nothing on stdout');
  t.equal(dropped.stderr.split('\n').length, 2, 'one line');
  t.notMatch(dropped.stderr, /try again/, 'no "try again in 2 s": running it again meets the same silence');
  t.match(dropped.stderr, /^hushwire: OPRF evaluator narrow \(something subscribes to hw\.oprf\.narrow\.eval\) sent no answer within 1500 ms: most likely the evaluator's --reply-prefixes do not cover this fetch's --nats-inbox-prefix _INBOX /, 'names the evaluator and the likely cause');
  t.match(dropped.stderr, /add _INBOX to its --reply-prefixes, or run fetch with a --nats-inbox-prefix it lists/, 'what to do');
  t.match(dropped.stderr, /NATS permissions: its user must be allowed to answer \(allow_responses\) and this one to subscribe to _INBOX\.>/, 'the other cause');
  t.match(dropped.stderr, /\(UNAVAILABLE\)\n$/);

  // The evaluator's side: counted, and one warning naming the prefixes it takes.
  const metrics = await new Promise<string>((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path: '/metrics', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      res.on('end', () => resolve(body));
    });
    r.on('error', reject);
    r.end();
  });
  t.match(metrics, /^hushwire_oprf_requests_total\{result="bad_reply"\} 1$/m, 'counted bad_reply');
  const warn = ev.stdout().split('\n').filter((l) => l.includes('outside --reply-prefixes')).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(warn.length, 1, 'one warning');
  t.match(warn[0], { reply: '_INBOX.>', replyPrefixes: ['_INBOX_hw_gw'], msg: /add that prefix to --reply-prefixes/ }, 'the requester\'s prefix (by shape) and the ones allowed');

  const fitting = await hushwire(['oprf-key', 'fetch', '--nats', nats.url, '--id', 'narrow', '--nats-inbox-prefix', '_INBOX_hw_gw']);
  t.equal(fitting.code, 0, fitting.stderr);
  t.equal(fitting.stdout.trim(), pk, 'a fetch with an inbox prefix it takes gets the key');

  p.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: exit 0');
});
