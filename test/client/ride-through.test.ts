// `hushwire listen` rides through gateway loss: two gateways share one NATS (and one
// OPRF key); each is SIGKILLed in turn while a listener runs, so whichever one the
// listener sits on dies at some point and it must reconnect to the other.
import t from 'tap';
import { join } from 'node:path';
import { spawnGateway, oprfKeyFile, type ChildGateway } from '../helpers/gateway.ts';
import { haveNatsServer, startNatsServer, freePorts } from '../helpers/nats-server.ts';

import { hushwire } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { gatewayMetric, until } from '../helpers/poll.ts';

// Dozens of child processes (each loads TypeScript through tsx): slow on a busy CI box.
t.setTimeout(300_000);

const A = '+15550100001';
const B = '+15550100002';

t.test('listen reconnects through the loss of each gateway in turn', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const key = oprfKeyFile();
  const [p1, p2] = await freePorts(2);
  const gatewayOn = async (port: number): Promise<ChildGateway> => {
    const g = await spawnGateway(['--nats', nats.url, '--oprf-key-file', key, '--port', String(port), '--log-level', 'warn']);
    t.teardown(() => g.kill('SIGKILL'));
    return g;
  };
  let g1 = await gatewayOn(p1);
  const g2 = await gatewayOn(p2);
  const dir = tempDir('hw-ride-');
  const gw = ['--gateway', g1.url, '--gateway', g2.url];
  const ra = await hushwire(['register', ...gw, '--number', A, '--profile', join(dir, 'a')]);
  const rb = await hushwire(['register', ...gw, '--number', B, '--profile', join(dir, 'b')]);
  t.equal(ra.code, 0, ra.stderr);
  t.equal(rb.code, 0, rb.stderr);

  // The listener is on one of the gateways before either dies: the gateways' count of
  // authenticated devices goes from none (the registrations' sockets gone) to one.
  const authenticated = async () => await gatewayMetric(g1.url, 'hushwire_authenticated_devices') + await gatewayMetric(g2.url, 'hushwire_authenticated_devices');
  await until('the registrations\' sockets to close', async () => await authenticated() === 0, 30_000);
  const listening = hushwire(['listen', '--profile', join(dir, 'b'), '--count', '2', '--timeout', '90'], { timeoutMs: 120_000 });
  await until('listen to authenticate at a gateway', async () => await authenticated() === 1, 60_000);

  await g1.kill('SIGKILL');
  const s1 = await hushwire(['send', '--profile', join(dir, 'a'), '--to', B, 'after g1 died']);
  t.equal(s1.code, 0, s1.stderr);

  g1 = await gatewayOn(p1);
  await g2.kill('SIGKILL');
  const s2 = await hushwire(['send', '--profile', join(dir, 'a'), '--to', B, 'after g2 died']);
  t.equal(s2.code, 0, s2.stderr);

  const heard = await listening;
  t.equal(heard.code, 0, heard.stderr);
  const got = heard.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; text: string; from: string });
  t.same(got.map((m) => m.text), ['after g1 died', 'after g2 died']);
  t.same(got.map((m) => m.id), [JSON.parse(s1.stdout).id, JSON.parse(s2.stdout).id]);
  t.ok(got.every((m) => m.from === A));
});
