// The `hushwire` CLI as a user runs it, over a profile's life: a dev gateway that
// restarted under a profile, listen waiting for a gateway that comes up later, one listen
// per profile (and a killed reader's lock), register reading the code from stdin. Child
// processes (`node bin/hushwire.js ...`) against real gateways started in-process on free
// ports. (Split from cli.test.ts: together they took 170-300 s on a loaded machine.)
import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startTestGateway, BIN, ROOT } from '../helpers/gateway.ts';
import { hushwire, errorLineProblems } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { until } from '../helpers/poll.ts';

// Child processes, each loading TypeScript through tsx: slow on a busy CI box.
t.setTimeout(300_000);

const A = '+15550100001';
const B = '+15550100002';

t.test('a profile whose dev gateway restarted: a clear refusal, and unregister --forget-locally', async (t) => {
  const first = await startTestGateway({ logLevel: 'warn' });
  const dir = tempDir('hw-cli-');
  const a = join(dir, 'a');
  t.equal((await hushwire(['register', '--gateway', first.url, '--number', A, '--profile', a])).code, 0);
  await first.close();
  // Another gateway on the profile's URL would be the restarted one; a fresh gateway
  // (new ephemeral OPRF key, empty embedded bus) given with --gateway is the same case.
  const second = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => second.close());
  const r = await hushwire(['unregister', '--profile', a]);
  t.equal(r.code, 5, "the profile's own (dead) gateway is unreachable: the relay path cannot work");
  const forgotten = await hushwire(['unregister', '--profile', a, '--forget-locally']);
  t.equal(forgotten.code, 0, forgotten.stderr);
  t.same(JSON.parse(forgotten.stdout), { status: 'forgotten locally' });
  t.notOk(existsSync(join(a, 'device.json')), 'keys gone');
  const again = await hushwire(['unregister', '--profile', a, '--forget-locally']);
  t.equal(again.code, 4, 'nothing to forget: NOT_REGISTERED');
  t.same(errorLineProblems(again, 'NOT_REGISTERED'), []);
  // The refusal a pinned-key mismatch gives says what to do.
  const b = join(dir, 'b');
  t.equal((await hushwire(['register', '--gateway', second.url, '--number', B, '--profile', b])).code, 0);
  const third = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => third.close());
  const { HushwireClient } = await import('../../client/index.ts');
  const c = await HushwireClient.open(b, { gateways: [third.url] });
  t.teardown(() => c.close());
  await t.rejects(c.connect(), { code: 'AUTH_FAILED', message: /dev gateway that restarted.*--forget-locally/ });
});

t.test('a damaged device.json says what to do, and unregister --forget-locally forgets it', async (t) => {
  // Before, the refusal said only "is damaged", and --forget-locally refused the profile
  // the same way: the only way out was deleting the directory by hand.
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const a = join(tempDir('hw-cli-'), 'a');
  t.equal((await hushwire(['register', '--gateway', gw.url, '--number', A, '--profile', a])).code, 0);
  writeFileSync(join(a, 'device.json'), '{"version":1,"number":');
  const send = await hushwire(['send', '--profile', a, '--to', B, 'x']);
  t.equal(send.code, 2);
  t.same(errorLineProblems(send, 'BAD_REQUEST'), []);
  t.match(send.stderr, /device\.json is damaged: .*restore the file from a backup, or forget the profile \(hushwire unregister --forget-locally/);
  const forgotten = await hushwire(['unregister', '--profile', a, '--forget-locally']);
  t.equal(forgotten.code, 0, forgotten.stderr);
  t.notOk(existsSync(join(a, 'device.json')), 'the damaged record is gone');
  const again = await hushwire(['register', '--gateway', gw.url, '--number', A, '--profile', a]);
  t.equal(again.code, 0, `and the profile can be registered again (stderr: ${again.stderr})`);
});

t.test('listen waits for a gateway that comes up after it started', async (t) => {
  const { LISTEN_CONNECT_ATTEMPTS } = await import('../../cli/commands/listen.ts');
  t.ok(LISTEN_CONNECT_ATTEMPTS >= 10, 'about half a minute of attempts');
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  // The embedded bus forgets registrations when its gateway stops, so the profiles reach
  // it through a TCP forwarder that the test turns off and on instead. Off, it takes each
  // connection and drops it at once (nothing serves there), counting them: the test sees
  // listen's attempts rather than guessing how long they take.
  const target = Number(new URL(gw.url).port);
  const conns = new Set<Socket>();
  let serving = true;
  let dropped = 0;
  const forwarder = createServer((c) => {
    if (!serving) { dropped++; c.destroy(); return; }
    const up = connect(target, '127.0.0.1');
    conns.add(c).add(up);
    c.pipe(up).pipe(c);
    const end = () => { c.destroy(); up.destroy(); };
    c.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => forwarder.listen(0, '127.0.0.1', () => r()));
  const port = (forwarder.address() as AddressInfo).port;
  t.teardown(() => { for (const c of conns) c.destroy(); forwarder.close(); });
  const url = `ws://127.0.0.1:${port}/ws`;
  const dir = tempDir('hw-cli-');
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  t.equal((await hushwire(['register', '--gateway', url, '--number', A, '--profile', a])).code, 0);
  t.equal((await hushwire(['register', '--gateway', url, '--number', B, '--profile', b])).code, 0);
  serving = false;
  const listening = hushwire(['listen', '--profile', b, '--count', '1', '--timeout', '60'], { timeoutMs: 90_000 });
  // A send's first connect gives up after its 3 attempts (exit 5); listen keeps trying:
  // the gateway comes up only once listen has tried more often than that.
  await until('listen to try a fourth time', () => dropped >= 4, 60_000);
  serving = true;
  const s = await hushwire(['send', '--profile', a, '--to', B, 'late start']);
  t.equal(s.code, 0, s.stderr);
  const heard = await listening;
  t.equal(heard.code, 0, heard.stderr);
  t.equal(JSON.parse(heard.stdout.trim()).text, 'late start');
});

t.test('one listen per profile; a killed reader\'s lock is taken over', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const dir = tempDir('hw-cli-');
  const b = join(dir, 'b');
  t.equal((await hushwire(['register', '--gateway', gw.url, '--number', B, '--profile', b])).code, 0);
  const first = spawn(process.execPath, [BIN, 'listen', '--profile', b, '--timeout', '60'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (first.exitCode === null) first.kill('SIGKILL'); });
  const lock = join(b, 'listen.lock');
  const deadline = Date.now() + 20_000;
  while (!existsSync(lock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.ok(existsSync(lock), 'the first listen holds the lock');
  const second = await hushwire(['listen', '--profile', b, '--count', '1', '--timeout', '5']);
  t.equal(second.code, 2);
  t.same(errorLineProblems(second, 'BAD_REQUEST'), []);
  t.match(second.stderr, new RegExp(`another hushwire listen \\(pid ${first.pid}\\) is reading this profile`));
  // A reader killed without its cleanup: the next one finds the pid gone and goes on.
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  t.ok(existsSync(lock), 'the killed reader left its lock');
  // --timeout long enough to connect first (a timeout before any gateway answered is exit 5).
  const third = await hushwire(['listen', '--profile', b, '--timeout', '5']);
  t.equal(third.code, 3, 'ran (and timed out with no message), not refused');
  t.notOk(existsSync(lock), 'and released the lock on its way out');
});

t.test('register without a terminal reads the code from stdin once the verifier sent it; EOF fails clearly', async (t) => {
  // A webhook verifier on loopback that hands each code to whoever waits for it.
  let onCode: (code: string) => void = () => {};
  const bridge = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      res.writeHead(204).end();
      onCode((JSON.parse(body) as { code: string }).code);
    });
  });
  await new Promise<void>((r) => bridge.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => { bridge.closeAllConnections(); bridge.close(() => r()); }));
  const gw = await startTestGateway({ logLevel: 'warn', verifier: 'webhook', verifierUrl: `http://127.0.0.1:${(bridge.address() as AddressInfo).port}/sms` });
  t.teardown(() => gw.close());
  const dir = tempDir('hw-cli-');

  const run = (profile: string, feed: 'code' | 'eof'): Promise<{ code: number | null; stdout: string; stderr: string }> => new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, 'register', '--gateway', gw.url, '--number', A, '--profile', profile], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    p.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    if (feed === 'code') onCode = (code) => { p.stdin!.end(`${code}\n`); };
    else p.stdin!.end();
    const kill = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.once('exit', (code) => { clearTimeout(kill); resolve({ code, stdout, stderr }); });
  });

  const ok = await run(join(dir, 'a'), 'code');
  t.equal(ok.code, 0, ok.stderr);
  t.match(JSON.parse(ok.stdout), { status: 'registered' });

  const eof = await run(join(dir, 'b'), 'eof');
  t.equal(eof.code, 6);
  t.same(errorLineProblems(eof, 'VERIFY_FAILED'), []);
  t.match(eof.stderr, /the verification code was sent, but stdin ended before a code was given/);
});

t.test('register --code: used where the verifier sends codes; on a dev gateway, which hands the code back, said to be unused', async (t) => {
  const dev = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => dev.close());
  const dir = tempDir('hw-cli-code-');
  const unused = await hushwire(['register', '--gateway', dev.url, '--number', '+15550100391', '--profile', join(dir, 'dev'), '--code', '000000']);
  t.equal(unused.code, 0, unused.stderr);
  t.match(JSON.parse(unused.stdout), { status: 'registered' });
  t.equal(unused.stderr, 'hushwire: --code was not used: the gateway handed the verification code back itself (its insecure dev verifier)\n', 'one line says the --code given was not used');

  const sent: string[] = [];
  const bridge = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => { sent.push((JSON.parse(body) as { code: string }).code); res.writeHead(204).end(); });
  });
  await new Promise<void>((r) => bridge.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => { bridge.closeAllConnections(); bridge.close(() => r()); }));
  const gw = await startTestGateway({ logLevel: 'warn', verifier: 'webhook', verifierUrl: `http://127.0.0.1:${(bridge.address() as AddressInfo).port}/sms` });
  t.teardown(() => gw.close());
  const wrong = await hushwire(['register', '--gateway', gw.url, '--number', '+15550100392', '--profile', join(dir, 'hook'), '--code', '000000']);
  t.equal(sent.length, 1, 'the verifier sent one code');
  t.not(sent[0], '000000');
  t.equal(wrong.code, 6, 'the --code given was the one tried: refused');
  t.same(errorLineProblems(wrong, 'VERIFY_FAILED'), []);
  t.notMatch(wrong.stderr, /was not used/);
});
