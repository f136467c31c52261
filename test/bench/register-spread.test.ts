// Against several running gateways (one deployment: one NATS), the bench spreads its
// registrations and its opt-outs over all of them, not only the first (which set up a
// two-gateway run at one gateway's registration rate).
import t from 'tap';
import { spawnGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { runBench as bench } from '../helpers/bench-cli.ts';

t.setTimeout(180_000);

async function counters(wsUrl: string): Promise<{ reg: number; unreg: number }> {
  const text = await (await fetch(wsUrl.replace(/^ws:/, 'http:').replace(/\/ws$/, '/metrics'))).text();
  const v = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { reg: v('hushwire_registrations_total'), unreg: v('hushwire_unregistrations_total') };
}

t.test('two running gateways on one NATS: registrations and opt-outs through both', { skip: !haveNatsServer() && 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const key = oprfKeyFile();
  const args = ['--nats', nats.url, '--oprf-key-file', key];
  const a = await spawnGateway(args);
  t.teardown(() => a.kill());
  const b = await spawnGateway(args);
  t.teardown(() => b.kill());
  const r = await bench(['--gateway', a.url, '--gateway', b.url, '--peers', 'none', '--workload', 'idle', '--devices', '40', '--workers', '1'], 150_000);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.slice(-400)})`);
  const [ca, cb] = [await counters(a.url), await counters(b.url)];
  t.same([ca.reg, cb.reg], [20, 20], 'each gateway registered half of the 40 devices');
  t.same([ca.unreg, cb.unreg], [20, 20], 'and opted half of them out again');
  t.match(r.stderr, /^ {3}40 devices registered through 2 gateways \(ws:\/\/\S+, ws:\/\/\S+\) \([\d,]+ ms\)$/m, 'the log names both');
  t.match(r.stderr, /40 bench devices unregistered/);
});
