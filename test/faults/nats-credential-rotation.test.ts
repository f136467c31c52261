// Rotating NATS credentials and certificates without restarting the processes
// (relay/nats-access-files.ts), against real nats-servers (Debian 2.9.x):
//
// - password: the operator writes the new password file, then changes the server's
//   password by a config reload (SIGHUP); nats-server drops the connection, and the
//   bus's reconnect logs in with the new file: no restart;
// - client certificate under mutual TLS: the server switches to a new CA (the old
//   certificate is refused from then on); once the new certificate and key are in the
//   files the gateway reconnects by itself and relays a message; the expiry warnings
//   and /metrics gauges of the client certificate and of the server's chain;
// - a credential file made invalid mid-run: reconnects keep using the last good token,
//   one warning naming the flag and path (not one per reconnect), and the file is used
//   again once it is valid;
// - `hushwire oprf` (a child process) whose token is rotated by file and reload keeps
//   serving a gateway without a restart.
// No secret in any log line.
import t from 'tap';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NatsBus } from '../../relay/bus/nats.ts';
import { readNatsAccess } from '../../relay/nats-connect-options.ts';
import { bytes, CONTRACT_LIMITS, tok } from '../bus/contract.ts';
import { haveNatsServer, startNatsServer, connz, type NatsServerHandle } from '../helpers/nats-server.ts';
import { makeClientCert, makeTlsFiles, natsServerTls } from '../helpers/tls-certs.ts';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { spawnOprfChild } from '../helpers/oprf.ts';
import { registerHandset, listen, sendText } from '../helpers/handsets.ts';
import { httpStatus, until } from '../helpers/poll.ts';
import { tempDir, privateFileWriter } from '../helpers/temp.ts';
import { deriveServerKey } from '../../relay/crypto/oprf.ts';
import { bytesToHex } from '@noble/hashes/utils.js';

t.setTimeout(240_000);

/** The gateway's JSON log lines whose msg matches `re`. */
function logLines(gw: TestGateway, re: RegExp): { level: number; msg: string }[] {
  return gw.logs().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => re.test(l.msg));
}

/** `fn` until it resolves, for at most 20 s: right after NATS comes back its JetStream
 *  API may answer a first request or two with an error (UNAVAILABLE, retry after 1 s). */
async function soon<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() >= deadline) throw new Error(`${what}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The config file rewritten with `from` replaced by `to`, then reloaded (SIGHUP). */
function reload(server: NatsServerHandle, from: string, to: string): void {
  const text = readFileSync(server.configPath, 'utf8');
  if (!text.includes(from)) throw new Error(`${from} not in the server config`);
  writeFileSync(server.configPath, text.split(from).join(to));
  process.kill(server.pid, 'SIGHUP');
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  const f = makeTlsFiles();
  const dir = tempDir('hw-credrot-');
  const file = privateFileWriter(dir);

  t.test('password rotated: the bus logs in again with the new file, no restart', async (t) => {
    const [oldPw, newPw] = ['rotate-Old-pa55', 'rotate-New-pa55'];
    const server = await startNatsServer({ t, extraConfig: `authorization { user: hwgw, password: "${oldPw}" }` });
    const pwFile = file('bus.pw', `${oldPw}\n`);
    const access = readNatsAccess({ nats: [server.url], natsUser: 'hwgw', natsPasswordFile: pwFile });
    const lines: string[] = [];
    access.files.report((level, msg) => lines.push(`${level} ${msg}`));
    const bus = new NatsBus({
      servers: server.url, access, limits: CONTRACT_LIMITS, prefix: 'rotpw', mailboxShards: 1,
      connectTimeoutMs: 2000, reconnectWaitMs: 200, name: 'hw-rot-pw',
    });
    t.teardown(() => bus.close());
    await bus.start();
    const [r, d] = [tok(), tok()];
    await bus.mailboxPut(r, d, tok(), bytes(32, 1));

    // The rotation: the new password in the file first, then on the server.
    writeFileSync(pwFile, `${newPw}\n`);
    reload(server, oldPw, newPw);
    await until('the bus to log in with the new password', () => lines.some((l) => l === `info --nats-password-file: ${pwFile} changed; NATS connects use its new contents`), 20_000);
    await until('the bus to be connected again', () => bus.status().state === 'connected', 20_000);
    await until('nats-server to list the bus', async () => (await connz(server)).some((c) => c.name === 'hw-rot-pw'), 10_000);
    await bus.mailboxPut(r, d, tok(), bytes(32, 2));
    t.equal((await bus.mailboxRead(r, d, 0, 10)).length, 2, 'mail stored before and after the rotation');
    t.notOk(lines.some((l) => l.startsWith('warn')), 'no warning');
    t.notOk(lines.join('\n').includes(oldPw) || lines.join('\n').includes(newPw), 'no password in the lines');
  });

  t.test('client certificate rotated under mutual TLS: a new CA on the server, new files, the gateway reconnects', async (t) => {
    // The server verifies client certificates against serverCa, a file the test swaps.
    const serverCa = join(dir, 'server-trusts.pem');
    copyFileSync(f.ca, serverCa);
    const server = await startNatsServer({ t, extraConfig: natsServerTls({ ...f, ca: serverCa }, { verify: true }) });
    const certFile = join(dir, 'gw.pem');
    const keyFile = join(dir, 'gw.key');
    copyFileSync(f.clientCert, certFile);
    copyFileSync(f.clientKey, keyFile);
    const gw = await startTestGateway({
      nats: server.url, oprfKeyFile: oprfKeyFile(), name: 'hw-rot-tls',
      natsTlsCaFile: f.ca, natsTlsCertFile: certFile, natsTlsKeyFile: keyFile,
    });
    t.teardown(() => gw.close());
    t.equal(gw.bus.status().state, 'connected');
    const expiring = logLines(gw, /the client certificate in use expires on/);
    t.equal(expiring.length, 1, 'the 2-day test certificate is warned about, once');
    t.equal(expiring[0]?.level, 40, 'at warn level');
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${gw.port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const expiry = (text: string): number => Number(/^hushwire_nats_client_cert_expiry_seconds (\S+)$/m.exec(text)?.[1]);
    const before = expiry(await metrics());
    t.ok(before > 0 && before <= 2 * 86400, `the gauge: ${before} s left`);
    // The server's chain (its 2-day certificate from the 2-day test CA), read at the
    // TLS handshake: warned about and exported the same way.
    const serverChain = Number(/^hushwire_nats_server_cert_expiry_seconds (\S+)$/m.exec(await metrics())?.[1]);
    t.ok(serverChain > 0 && serverChain <= 2 * 86400, `the server chain's gauge: ${serverChain} s left`);
    const chainWarns = logLines(gw, /^NATS server TLS: /);
    t.equal(chainWarns.length, 1, 'the server chain is warned about, once');
    t.match(chainWarns[0]?.msg, /^NATS server TLS: (the NATS server's own certificate|the CA certificate it chains to \(from --nats-tls-ca-file\)) \(sha256 [0-9A-F:]{23}\) expires on \S+ \(in 4[78] h\)/);

    // The server now trusts only the new CA (its config reloaded, then restarted so that
    // every client reconnects): the old certificate is refused.
    copyFileSync(f.otherCa, serverCa);
    process.kill(server.pid, 'SIGHUP');
    await server.restart();
    await until('the gateway to lose NATS', () => gw.bus.status().state !== 'connected', 30_000);
    await new Promise((r) => setTimeout(r, 3000)); // refused reconnects with the old certificate
    t.not(gw.bus.status().state, 'connected', 'the old certificate is refused');
    t.not(gw.bus.status().state, 'closed', 'still trying');

    // The new certificate and key (from the new CA, valid longer) go into the files.
    const next = makeClientCert(f, 'gw-next', { by: 'other-ca', days: 3 });
    writeFileSync(certFile, readFileSync(next.cert));
    writeFileSync(keyFile, readFileSync(next.key));
    await until('the gateway to reconnect with the new certificate', () => gw.bus.status().state === 'connected', 60_000);
    const mine = (await connz(server)).filter((c) => c.name === 'hw-rot-tls');
    t.ok(mine.length > 0 && mine.every((c) => (c.tls_version ?? '') !== ''), 'over TLS');

    const a = await soon('register a', () => registerHandset([gw.url], '+15554450001'));
    const b = await soon('register b', () => registerHandset([gw.url], '+15554450002'));
    const lb = await listen(b);
    t.teardown(() => lb.close());
    t.equal((await sendText(a, b.number, 'after rotation')).status, 'delivered');
    t.equal((await lb.waitFor(1))[0]?.text, 'after rotation');

    t.ok(logLines(gw, /^--nats-tls-cert-file: \S+ changed; NATS connects use its new contents$/).length >= 1, 'the new certificate was picked up');
    t.equal(logLines(gw, /the client certificate in use expires on/).length, 2, 'the new (3-day) certificate is warned about too, once');
    t.ok(expiry(await metrics()) > before + 12 * 3600, 'the gauge follows the new certificate');
    t.notMatch(gw.logs(), /PRIVATE KEY|BEGIN CERTIFICATE/, 'no PEM in the log');
  });

  t.test('a token file made invalid mid-run: the last good token, one warning, used again once valid', async (t) => {
    const token = 'rotation-T0ken-kept';
    const server = await startNatsServer({ t, extraConfig: `authorization { token: "${token}" }` });
    const tokenFile = file('gw.tok', `${token}\n`);
    const gw = await startTestGateway({ nats: server.url, oprfKeyFile: oprfKeyFile(), name: 'hw-rot-bad', natsTokenFile: tokenFile });
    t.teardown(() => gw.close());
    t.equal(gw.bus.status().state, 'connected');

    writeFileSync(tokenFile, '');
    for (let i = 1; i <= 3; i++) {
      await server.restart(); // every client reconnects
      await until(`the gateway to reconnect (${i})`, async () => gw.bus.status().state === 'connected' && (await connz(server)).some((c) => c.name === 'hw-rot-bad'), 30_000);
    }
    const warns = logLines(gw, /^--nats-token-file: /);
    t.equal(warns.length, 1, 'one warning for three reconnects');
    t.equal(warns[0]?.level, 40);
    t.equal(warns[0]?.msg, `--nats-token-file: ${tokenFile} is empty; NATS connects keep using what it held before until it is valid again`);

    writeFileSync(tokenFile, `${token}\n`);
    await server.restart();
    await until('the gateway to reconnect with the file valid again', async () => gw.bus.status().state === 'connected' && (await connz(server)).some((c) => c.name === 'hw-rot-bad'), 30_000);
    await until('the valid-again notice', () => logLines(gw, /^--nats-token-file: \S+ is valid again$/).length === 1, 10_000);
    t.notOk(gw.logs().includes(token), 'the token is not in the log');
  });

  t.test('hushwire oprf: a token rotated by file and reload, no restart', async (t) => {
    const [oldTok, newTok] = ['oprf-Old-t0ken', 'oprf-New-t0ken'];
    const server = await startNatsServer({ t, extraConfig: `authorization { token: "${oldTok}" }` });
    const seed = new Uint8Array(32).fill(9);
    const keyFile = file('rot-eval.key', `${bytesToHex(seed)}\n`);
    const evalTok = file('rot-eval.tok', `${oldTok}\n`);
    const ev = await spawnOprfChild(t, server.url, ['--key-file', keyFile,
      '--id', 'rot', '--name', 'hw-rot-oprf', '--nats-token-file', evalTok]);
    const p = ev.proc;
    const port = ev.port;

    writeFileSync(evalTok, `${newTok}\n`);
    reload(server, oldTok, newTok);
    await until('the evaluator to log in with the new token', () => ev.output().includes(`--nats-token-file: ${evalTok} changed; NATS connects use its new contents`), 30_000);
    await until('the evaluator to be ready again', async () => await httpStatus(`http://127.0.0.1:${port}/readyz`) === 200, 30_000);

    const gw = await startTestGateway({
      nats: server.url, oprfEvaluator: 'rot', oprfPublicKey: bytesToHex(deriveServerKey(seed).publicKey),
      natsTokenFile: file('rot-gw.tok', `${newTok}\n`), name: 'hw-rot-gw-oprf',
    });
    t.teardown(() => gw.close());
    t.ok((await soon('register', () => registerHandset([gw.url], '+15554450021'))).profileDir, 'registration evaluated through the evaluator');
    t.equal(p.exitCode, null, 'the evaluator was never restarted');
    t.notOk(ev.output().includes(oldTok) || ev.output().includes(newTok), 'no token in its output');
  });
}
