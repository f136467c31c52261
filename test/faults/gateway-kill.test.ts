// Fault: kill -9 of a gateway in the middle of sustained traffic.
//
// Two gateways (child processes, one per transport where uWS loads) on one nats-server
// with JetStream file storage. Recipient B is connected to gateway 2; sender A1 sends
// through gateway 1, sender A2 through gateway 2 (with gateway 1 as its fallback). After
// a third of the messages are acknowledged, gateway 2 is SIGKILLed: B's socket and A2's
// socket die with it, deliveries in flight on it get no answer. Both handsets move to
// gateway 1 by themselves (the SDK reconnects and retries sends with the same id).
// Every acknowledged message must reach B exactly once.
import t from 'tap';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { spawnGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { registerHandset } from '../helpers/handsets.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { sendMany, openReceiver, assertExactlyOnce } from './traffic.ts';

const PER_SENDER = 150;

// Whole-file deadline (default 120 s): a fault run under a loaded CI machine takes longer.
t.setTimeout(300_000);

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  t.test('SIGKILL of the recipient gateway mid-traffic loses nothing acknowledged', { timeout: 240_000 }, async (t) => {
    const server = await startNatsServer({ t });
    const key = oprfKeyFile();
    const args = ['--nats', server.url, '--oprf-key-file', key, '--live-timeout-ms', '1000', '--log-level', 'warn'];
    const second = (await uwsAvailable()) ? 'uws' : 'ws';
    const g1 = await spawnGateway([...args, '--transport', 'ws']);
    const g2 = await spawnGateway([...args, '--transport', second]);
    t.teardown(async () => { await g1.kill('SIGKILL'); await g2.kill('SIGKILL'); });

    const b = await registerHandset([g2.url], '+15552010001');
    const a1 = await registerHandset([g1.url], '+15552010002');
    const a2 = await registerHandset([g2.url], '+15552010003');
    const rb = await openReceiver(b, [g2.url, g1.url]);
    t.teardown(() => rb.close());

    let killed: Promise<number | null> | null = null;
    const killAt = Math.floor((2 * PER_SENDER) / 3);
    let total = 0;
    const onAck = () => {
      total++;
      if (total >= killAt && killed === null) killed = g2.kill('SIGKILL');
    };
    const [o1, o2] = await Promise.all([
      sendMany(a1, b.number, { gateways: [g1.url], count: PER_SENDER, label: 'a1', onAck }),
      sendMany(a2, b.number, { gateways: [g2.url, g1.url], count: PER_SENDER, label: 'a2', onAck }),
    ]);
    t.ok(killed !== null, 'gateway 2 was killed during the traffic');
    t.equal(await killed, null, 'gateway 2 died by signal');
    t.comment(`acknowledged ${o1.acked.size + o2.acked.size} of ${2 * PER_SENDER}; gave up: ${JSON.stringify([...o1.failed, ...o2.failed].slice(0, 5))}`);
    t.ok(o1.acked.size + o2.acked.size >= PER_SENDER, 'most sends were acknowledged');

    await rb.waitForIds([...o1.acked.keys(), ...o2.acked.keys()], 90_000);
    await new Promise((r) => setTimeout(r, 1500)); // anything late would show up as a duplicate
    assertExactlyOnce(t, rb, [o1, o2]);
    t.comment(`duplicates dropped by the SDK: ${rb.client.stats.duplicates}`);
  });
}
