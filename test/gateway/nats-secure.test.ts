// Gateways and `hushwire oprf` on a secured NATS (TLS with the operator's CA, mutual
// TLS, credentials from files), against real nats-servers with throwaway certificates:
//
// - a gateway with --nats-tls-ca-file, a client certificate and a password file relays
//   a message between two handsets; nats-server sees its connection as TLS; no secret
//   in its log;
// - `hushwire oprf` with --nats-tls-ca-file and --nats-token-file serves a gateway that
//   reaches it with the same flags (its evaluator client is a second NATS connection);
// - what NATS refuses stops the process at start with exit 1 and one line naming the
//   flag, never a secret: a gateway (wrong CA, tls:// against a server without TLS, a
//   wrong password, a wrong token on its evaluator link) and an evaluator (wrong token,
//   tls:// against a server without TLS, no client certificate for mutual TLS, and a
//   refusal found only once NATS, down at its start, came up).
import t from 'tap';
import { spawn } from 'node:child_process';
import { bytesToHex } from '@noble/hashes/utils.js';
import { haveNatsServer, startNatsServer, connz, type NatsServerHandle } from '../helpers/nats-server.ts';
import { makeTlsFiles, natsServerTls } from '../helpers/tls-certs.ts';
import { startTestGateway, oprfKeyFile, BIN, ROOT } from '../helpers/gateway.ts';
import { registerHandset, listen, sendText } from '../helpers/handsets.ts';
import { hushwire } from '../helpers/cli.ts';
import { httpStatus } from '../helpers/poll.ts';
import { tempDir, privateFileWriter } from '../helpers/temp.ts';
import { deriveServerKey } from '../../relay/crypto/oprf.ts';

t.setTimeout(300_000);

interface Evaluator {
  port: number;
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  kill(): void;
}

/** `hushwire oprf` as a child process; resolves once it says it serves (or rejects with
 *  its output if it exits first). */
function spawnEvaluator(t: { teardown(fn: () => unknown): void }, args: string[]): { ready: Promise<Evaluator>; exited: Promise<number | null>; output(): string } {
  const p = spawn(process.execPath, [BIN, 'oprf', '--port', '0', '--threads', '1', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  p.stderr.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  t.teardown(() => { if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); });
  const ready = new Promise<Evaluator>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`evaluator did not start:\n${out}`)), 60_000);
    const check = (): void => {
      const m = /hushwire oprf serving \S+ .*http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), output: () => out, exited, kill: () => p.kill('SIGTERM') });
      }
    };
    p.stderr.on('data', check);
    void exited.then(() => { clearTimeout(timer); reject(new Error(`evaluator exited:\n${out}`)); });
  });
  ready.catch(() => undefined);
  return { ready, exited, output: () => out };
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  const f = makeTlsFiles();
  const dir = tempDir('hw-natssecure-');
  const file = privateFileWriter(dir);

  t.test('a gateway over mutual TLS with a password relays a message', async (t) => {
    const password = 'gw-Pa55word-secret';
    const server = await startNatsServer({ t, extraConfig: `${natsServerTls(f, { verify: true })}\nauthorization { user: hwgw, password: ${JSON.stringify(password)} }` });
    const gw = await startTestGateway({
      nats: server.url, oprfKeyFile: oprfKeyFile(), name: 'hw-secure-gw',
      natsTlsCaFile: f.ca, natsTlsCertFile: f.clientCert, natsTlsKeyFile: f.clientKey,
      natsUser: 'hwgw', natsPasswordFile: file('gw.pw', `${password}\n`),
    });
    t.teardown(() => gw.close());
    t.equal(gw.bus.status().state, 'connected', 'the bus is up');
    const mine = (await connz(server)).filter((c) => c.name === 'hw-secure-gw');
    t.ok(mine.length > 0 && mine.every((c) => (c.tls_version ?? '') !== ''), 'nats-server sees the gateway over TLS');

    const a = await registerHandset([gw.url], '+15554440001');
    const b = await registerHandset([gw.url], '+15554440002');
    const lb = await listen(b);
    t.teardown(() => lb.close());
    const r = await sendText(a, b.number, 'over TLS');
    t.equal(r.status, 'delivered', 'live delivery');
    const got = await lb.waitFor(1);
    t.equal(got[0]?.text, 'over TLS');
    t.notOk(gw.logs().includes(password), 'the password is not in the log');
  });

  t.test('hushwire oprf and a gateway reach each other over TLS with a token', async (t) => {
    const token = 'evaluator-T0ken-secret';
    const server = await startNatsServer({ t, extraConfig: `${natsServerTls(f)}\nauthorization { token: ${JSON.stringify(token)} }` });
    const seed = new Uint8Array(32).fill(7);
    const keyFile = file('eval.key', `${bytesToHex(seed)}\n`);
    const tokenFile = file('eval.tok', `${token}\n`);
    const access = ['--nats-tls-ca-file', f.ca, '--nats-token-file', tokenFile];
    const ev = await spawnEvaluator(t, ['--nats', server.url, '--key-file', keyFile, '--id', 'sec', '--name', 'hw-secure-oprf', ...access]).ready;
    for (let i = 0; i < 100 && await httpStatus(`http://127.0.0.1:${ev.port}/readyz`) !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    t.equal(await httpStatus(`http://127.0.0.1:${ev.port}/readyz`), 200, 'the evaluator is subscribed');

    const gw = await startTestGateway({
      nats: server.url, oprfEvaluator: 'sec', oprfPublicKey: bytesToHex(deriveServerKey(seed).publicKey),
      natsTlsCaFile: f.ca, natsTokenFile: tokenFile, name: 'hw-secure-gw2',
    });
    t.teardown(() => gw.close());
    const a = await registerHandset([gw.url], '+15554440011');
    t.ok(a.profileDir, 'registration evaluated the route through the evaluator');
    const conns = await connz(server);
    for (const name of ['hw-secure-oprf', 'hw-secure-gw2', 'hw-secure-gw2-oprf']) {
      const c = conns.filter((x) => x.name === name);
      t.ok(c.length > 0 && c.every((x) => (x.tls_version ?? '') !== ''), `${name} over TLS`);
    }
    t.notOk(gw.logs().includes(token), 'the token is not in the gateway log');
    ev.kill();
    t.equal(await ev.exited, 0, 'SIGTERM: exit 0');
    t.notOk(ev.output().includes(token), 'nor in the evaluator output');
  });

  t.test('a gateway NATS refuses stops at start: exit 1, one line naming the flag', async (t) => {
    const tlsServer = await startNatsServer({ t, extraConfig: natsServerTls(f) });
    const plain = await startNatsServer({ t });
    const password = 'right-Pa55-secret';
    const locked = await startNatsServer({ t, extraConfig: `authorization { user: hwgw, password: ${JSON.stringify(password)} }` });
    const key = oprfKeyFile();
    const run = (args: string[]) => hushwire(['gateway', '--host', '127.0.0.1', '--port', '0', ...args], { timeoutMs: 60_000 });

    const wrongCa = await run(['--nats', tlsServer.url, '--oprf-key-file', key, '--nats-tls-ca-file', f.otherCa]);
    t.equal(wrongCa.code, 1, 'wrong CA: exit 1');
    t.match(wrongCa.stderr, /^hushwire gateway: could not start: the NATS server's TLS certificate did not verify against --nats-tls-ca-file: /m);

    const noTls = await run(['--nats', `tls://127.0.0.1:${plain.port}`, '--oprf-key-file', key]);
    t.equal(noTls.code, 1, 'tls:// against a server without TLS: exit 1');
    t.match(noTls.stderr, /^hushwire gateway: could not start: the NATS server offers no TLS, which tls:\/\/ in --nats requires: refused rather than connect in plain text/m);

    const wrongPw = await run(['--nats', locked.url, '--oprf-key-file', key, '--nats-user', 'hwgw', '--nats-password-file', file('wrong.pw', 'wr0ng-secret\n')]);
    t.equal(wrongPw.code, 1, 'wrong password: exit 1');
    t.match(wrongPw.stderr, /^hushwire gateway: could not start: NATS refused the credentials in --nats-password-file \(authorization violation\)$/m);
    t.notOk((wrongPw.stdout + wrongPw.stderr).includes('wr0ng-secret'), 'the password is not printed');

    // With --oprf-evaluator the evaluator client connects first, with the same settings.
    const wrongTok = await run(['--nats', locked.url, '--oprf-evaluator', 'main', '--oprf-public-key', bytesToHex(deriveServerKey(new Uint8Array(32).fill(3)).publicKey), '--nats-token-file', file('wrong.tok', 'tok-secret\n')]);
    t.equal(wrongTok.code, 1, 'refused on the evaluator link: exit 1');
    t.match(wrongTok.stderr, /^hushwire gateway: could not start: NATS refused the credentials in --nats-token-file/m);
    t.notOk((wrongTok.stdout + wrongTok.stderr).includes('tok-secret'));
  });

  t.test('an evaluator NATS refuses stops: exit 1, one line naming the flag', async (t) => {
    const token = 'the-Right-token';
    const locked = await startNatsServer({ t, extraConfig: `authorization { token: ${JSON.stringify(token)} }` });
    const plain = await startNatsServer({ t });
    const mtls = await startNatsServer({ t, extraConfig: natsServerTls(f, { verify: true }) });
    const key = oprfKeyFile();
    const run = (args: string[]) => hushwire(['oprf', '--port', '0', '--threads', '1', '--key-file', key, ...args], { timeoutMs: 60_000 });

    const wrong = await run(['--nats', locked.url, '--nats-token-file', file('ev-wrong.tok', 'not-the-token\n')]);
    t.equal(wrong.code, 1, 'wrong token: exit 1');
    t.match(wrong.stderr, /^hushwire oprf: could not start: NATS refused the credentials in --nats-token-file \(authorization violation\)$/m);
    t.notOk((wrong.stdout + wrong.stderr).includes('not-the-token'));

    const noTls = await run(['--nats', `tls://127.0.0.1:${plain.port}`]);
    t.equal(noTls.code, 1, 'tls:// against a server without TLS: exit 1');
    t.match(noTls.stderr, /^hushwire oprf: could not start: the NATS server offers no TLS, which tls:\/\/ in --nats requires/m);

    const noCert = await run(['--nats', mtls.url, '--nats-tls-ca-file', f.ca]);
    t.equal(noCert.code, 1, 'mutual TLS without a client certificate: exit 1');
    t.match(noCert.stderr, /^hushwire oprf: could not start: NATS requires a client certificate \(TLS alert: [a-z ]+\): give --nats-tls-cert-file and --nats-tls-key-file$/m);

    // NATS down at its start: it waits; once NATS is up and refuses, it stops.
    await locked.stop();
    const late = spawnEvaluator(t, ['--nats', locked.url, '--key-file', key, '--nats-token-file', file('ev-late.tok', 'late-wrong-token\n')]);
    const deadline = Date.now() + 20_000;
    while (!/NATS unreachable, retrying/.test(late.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    t.match(late.output(), /NATS unreachable, retrying/, 'waits for NATS');
    await locked.restart();
    t.equal(await late.exited, 1, 'exit 1 once NATS answers and refuses');
    t.match(late.output(), /hushwire oprf: could not start: NATS refused the credentials in --nats-token-file/);
    t.match(late.output(), /"level":50.*but it refuses this process's settings/, 'an error log line first');
    t.notOk(late.output().includes('late-wrong-token'));
  });
}
