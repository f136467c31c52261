// Fault: nats-server restarted (SIGTERM, then SIGKILL as a crash) in the middle of
// traffic (JetStream on file storage).
//
// Two gateways on one nats-server. Recipient B listens on gateway 2; senders A (to B)
// and A2 (to C) send through gateway 1; recipient C is offline throughout, so its mail can only
// live in the JetStream mailbox and must survive the restart on disk. After a third of
// the messages are acknowledged the server is stopped (SIGTERM) and started again on
// the same port and store. Gateways ride through on the NATS client's reconnects, the
// handsets keep their sockets, sends that fail meanwhile are retried by the SDK with the
// same id. Every acknowledged message must reach B (and C, when it connects) exactly once.
import t from 'tap';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { registerHandset } from '../helpers/handsets.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { until, httpStatus, httpBase } from '../helpers/poll.ts';
import { sendMany, openReceiver, assertExactlyOnce } from './traffic.ts';

const COUNT = 240;

// Whole-file deadline (default 120 s): a fault run under a loaded CI machine takes longer.
t.setTimeout(300_000);

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  // SIGTERM: a clean restart. SIGKILL: a crash of the server process; what JetStream
  // acknowledged was written to the file store (the OS holds it until its sync
  // interval), so it must survive too.
  for (const [k, signal] of (['SIGTERM', 'SIGKILL'] as const).entries()) t.test(`nats-server ${signal} and restart mid-traffic loses nothing acknowledged`, async (t) => {
    const server = await startNatsServer({ t });
    const key = oprfKeyFile();
    const second = (await uwsAvailable()) ? 'uws' : 'ws';
    const g1 = await startTestGateway({ transport: 'ws', nats: server.url, oprfKeyFile: key, liveTimeoutMs: 1000, logLevel: 'warn', name: 'g1' });
    const g2 = await startTestGateway({ transport: second, nats: server.url, oprfKeyFile: key, liveTimeoutMs: 1000, logLevel: 'warn', name: 'g2' });
    t.teardown(async () => { await g1.close(); await g2.close(); });

    const b = await registerHandset([g2.url], `+155520${k}0001`);
    const c = await registerHandset([g2.url], `+155520${k}0002`);
    const a = await registerHandset([g1.url], `+155520${k}0003`);
    const a2 = await registerHandset([g1.url], `+155520${k}0004`); // one live connection per device: a second sender
    const rb = await openReceiver(b, [g2.url, g1.url]);
    t.teardown(() => rb.close());

    let restarted: Promise<void> | null = null;
    let ackedWhenBack = -1;
    let ackedNow = 0;
    const onAck = (n: number) => {
      ackedNow = n;
      if (n >= COUNT / 3 && restarted === null) {
        const down = signal === 'SIGKILL' ? server.kill() : Promise.resolve();
        restarted = down.then(() => server.restart()).then(() => { ackedWhenBack = ackedNow; });
      }
    };
    const [toB, toC] = await Promise.all([
      sendMany(a, b.number, { gateways: [g1.url, g2.url], count: COUNT, label: 'to-b', onAck, gapMs: 5 }),
      sendMany(a2, c.number, { gateways: [g1.url, g2.url], count: COUNT / 4, label: 'to-c', gapMs: 20, concurrency: 2 }),
    ]);
    t.ok(restarted !== null, 'nats-server was restarted during the traffic');
    await restarted;
    t.ok(ackedWhenBack >= 0 && ackedWhenBack < toB.acked.size, `traffic went on after the restart (${ackedWhenBack} acknowledged when NATS was back)`);
    t.match(g1.logs() + g2.logs(), /NATS connection lost/, 'the gateways saw NATS go away');
    t.comment(`to B: acknowledged ${toB.acked.size} of ${COUNT}; to C: ${toC.acked.size} of ${COUNT / 4}; gave up: ${JSON.stringify([...toB.failed, ...toC.failed].slice(0, 5))}`);
    t.ok(toB.acked.size >= COUNT / 2, 'most sends to B were acknowledged');
    t.ok(toC.acked.size >= COUNT / 8, 'most sends to C were acknowledged');

    for (const g of [g1, g2]) {
      await until('gateway ready again', async () => (await httpStatus(`${httpBase(g.url)}/readyz`)) === 200, 30_000, 100);
    }
    await rb.waitForIds(toB.acked.keys(), 90_000);
    await new Promise((r) => setTimeout(r, 1500));
    assertExactlyOnce(t, rb, [toB]);
    t.comment(`B: duplicates dropped by the SDK: ${rb.client.stats.duplicates}`);

    // C was offline the whole time: its mail was only ever in the JetStream file store.
    const rc = await openReceiver(c, [g1.url, g2.url]);
    t.teardown(() => rc.close());
    await rc.waitForIds(toC.acked.keys(), 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    assertExactlyOnce(t, rc, [toC]);
  });
}
