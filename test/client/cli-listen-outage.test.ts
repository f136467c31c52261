// `hushwire listen` says on stderr when its gateway is lost and when it is back. While it
// reconnected in silence, a dead gateway looked the same as an empty mailbox. One "lost"
// line per outage (not one per reconnect attempt), one "reconnected" line at its end,
// nothing on a normal run (cli-listen-signal, cli-listen-pipe, cli-lifecycle check that).
import t from 'tap';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer, startNatsServer, freePorts } from '../helpers/nats-server.ts';
import { hushwire, startHushwire } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { until, within } from '../helpers/poll.ts';

t.setTimeout(180_000);

const A = '+15550100081';
const B = '+15550100082';
const LOST = 'hushwire: connection to the gateway lost; reconnecting (messages wait in your mailbox)';
const BACK = 'hushwire: reconnected';

const count = (text: string, line: string) => text.split('\n').filter((l) => l === line).length;

t.test('listen says once that the gateway is lost, then that it is back, and receives after it', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  // The relay's records live in the nats-server, so a gateway started again on the same
  // port knows the profiles and their mailboxes.
  const nats = await startNatsServer({ t });
  const key = oprfKeyFile();
  const [port] = await freePorts(1);
  const gatewayOn = async (): Promise<TestGateway> => {
    const gw = await startTestGateway({ nats: nats.url, oprfKeyFile: key, natsPrefix: 'hwout', mailboxShards: 1, logLevel: 'warn', port });
    t.teardown(() => gw.close());
    return gw;
  };
  let gw = await gatewayOn();
  const dir = tempDir('hw-cli-outage-');
  const [a, b] = [join(dir, 'a'), join(dir, 'b')];
  for (const [number, profile] of [[A, a], [B, b]] as const) {
    const r = await hushwire(['register', '--gateway', gw.url, '--number', number, '--profile', profile]);
    t.equal(r.code, 0, r.stderr);
  }
  const first = await hushwire(['send', '--profile', a, '--to', B, 'before the outage']);
  t.equal(first.code, 0, first.stderr);
  // Bounded by --timeout should anything hang.
  const listen = startHushwire(t, ['listen', '--profile', b, '--count', '2', '--timeout', '120']);
  await until('listen printing the first message', () => listen.stdout().includes('\n'), 30_000);
  t.equal(listen.stderr(), '', 'nothing on stderr while connected');

  await gw.close();
  await until('listen saying the connection is lost', () => listen.stderr().includes(LOST), 30_000);
  // Several reconnect attempts fail while the gateway is down: a bare TCP server on its
  // port counts them (each accepted and dropped at once) before the gateway comes back.
  let attempts = 0;
  const sink = createServer((s) => { attempts++; s.destroy(); });
  await new Promise<void>((resolve, reject) => { sink.once('error', reject); sink.listen(port, '127.0.0.1', resolve); });
  await until('three reconnect attempts during the outage', () => attempts >= 3, 60_000);
  await new Promise<void>((resolve) => sink.close(() => resolve()));
  t.equal(count(listen.stderr(), LOST), 1, `one "lost" line for the outage, not one per attempt: ${listen.stderr()}`);
  t.notOk(listen.stderr().includes(BACK), 'not reconnected while the gateway is down');

  gw = await gatewayOn();
  await until('listen saying it reconnected', () => listen.stderr().includes(BACK), 60_000);
  const second = await hushwire(['send', '--profile', a, '--to', B, 'after the outage']);
  t.equal(second.code, 0, second.stderr);
  const code = await within(listen.exited, 60_000, 'listen ending after its second message');
  t.equal(code, 0, listen.stderr());
  const got = listen.stdout().trim().split('\n').map((l) => JSON.parse(l) as { id: string; text: string });
  t.same(got.map((m) => m.text), ['before the outage', 'after the outage']);
  t.equal(got[1]!.id, JSON.parse(second.stdout).id);
  t.same(listen.stderr().split('\n').filter((l) => l !== ''), [LOST, BACK], 'exactly the two lines, in order');
});
