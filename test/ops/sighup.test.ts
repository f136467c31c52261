// SIGHUP (a terminal hang-up, `kill -HUP` out of nats-server habit, a systemd
// ExecReload) must not end a gateway or an evaluator: Node's default for it is to
// terminate the process at once, without the drain, dropping every device. It keeps
// running, says so, and reads the NATS TLS and credential files again now (they are
// read at each NATS connect anyway), so an operator who just replaced one sees at once
// whether it is taken.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { spawnGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { spawnOprfChild } from '../helpers/oprf.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { httpBase, httpStatus, until } from '../helpers/poll.ts';
import { tempDir, privateFileWriter } from '../helpers/temp.ts';

t.setTimeout(120_000);

// Whole lines only: the text after the last newline may be a line still arriving.
const jsonLines = (text: string): { level: number; msg: string }[] =>
  text.split('\n').slice(0, -1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string });

// Deadlines that only guard against a hang (a loaded 2-core machine running several
// suites can leave a child process without CPU for seconds): a reply or a log line that
// never comes still fails the test, one that comes late does not.
const REPLY_DEADLINE_MS = 20_000;
const LINE_DEADLINE_MS = 20_000;

t.test('a gateway keeps running on SIGHUP, and re-reads its NATS files', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const token = 'sighup-T0ken-1';
  const server = await startNatsServer({ t, extraConfig: `authorization { token: "${token}" }` });
  const file = privateFileWriter(tempDir('hw-ops-sighup-'));
  const tokenFile = file('gw.tok', `${token}\n`);
  const g = await spawnGateway(['--nats', server.url, '--nats-token-file', tokenFile, '--oprf-key-file', oprfKeyFile(), '--log-level', 'info'], {}, 60_000); // a start deadline, not a measure
  t.teardown(() => g.kill('SIGKILL'));
  const base = httpBase(g.url);
  await until('the gateway to be ready', async () => await httpStatus(`${base}/readyz`) === 200, 30_000);

  // The operator writes the next token into the file, then sends SIGHUP.
  writeFileSync(tokenFile, 'sighup-T0ken-2\n');
  process.kill(g.pid, 'SIGHUP');
  await until('the SIGHUP line', () => jsonLines(g.stdout()).some((l) => /^SIGHUP: /.test(l.msg)) || g.proc.exitCode !== null || g.proc.signalCode !== null, LINE_DEADLINE_MS);
  t.equal(g.proc.signalCode, null, 'not ended by the signal');
  t.equal(g.proc.exitCode, null, 'still running');
  // The re-read's line is a second write of the gateway after the SIGHUP line: this
  // process may read the pipe between the two (it failed so once on a loaded machine), so
  // wait for it too; if it never comes, the assertion below fails.
  const reread = `--nats-token-file: ${tokenFile} changed; NATS connects use its new contents`;
  await until('the token file re-read line', () => jsonLines(g.stdout()).some((l) => l.msg === reread) || g.proc.exitCode !== null, LINE_DEADLINE_MS).catch(() => {});
  const lines = jsonLines(g.stdout());
  t.match(lines.find((l) => /^SIGHUP: /.test(l.msg))?.msg, /^SIGHUP: still running \(SIGTERM drains and stops it\)/);
  t.ok(lines.some((l) => l.msg === reread), 'the token file was read again');
  t.equal(await httpStatus(`${base}/readyz`, REPLY_DEADLINE_MS), 200, 'still ready');
  t.notOk(g.output().includes('sighup-T0ken'), 'no token in the output');
  t.equal(await g.kill('SIGTERM'), 0, 'SIGTERM still drains and exits 0');
});

t.test('hushwire oprf keeps running on SIGHUP', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const ev = await spawnOprfChild(t, server.url, ['--key-file', oprfKeyFile(),
    '--id', 'hup', '--name', 'hw-sighup-oprf']);
  const p = ev.proc;
  const port = ev.port;
  p.kill('SIGHUP');
  await until('the SIGHUP line', () => jsonLines(ev.output()).some((l) => /^SIGHUP: /.test(l.msg)) || p.exitCode !== null || p.signalCode !== null, LINE_DEADLINE_MS);
  t.equal(p.signalCode, null, 'not ended by the signal');
  t.equal(await httpStatus(`http://127.0.0.1:${port}/readyz`, REPLY_DEADLINE_MS), 200, 'still ready');
  const exited = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  p.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM still stops it, exit 0');
});
