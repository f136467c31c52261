// Periodic work that waits for the bus to reconnect to NATS (the idle sweep due while the
// connection is lost; the last_seen pass) is woken by the reconnect itself
// (Bus.reconnected), not by looking at the bus's status every 250 ms, and stop() still
// ends the wait. Real nats-server; the bus's connection goes through a TCP proxy that is
// cut (reconnects refused) and opened again. node:timers/promises is replaced for the
// privacy module by a wait that never ends by itself (test/helpers/sleep-hook.ts): a
// sweep that polled the status would never run. No timing is asserted.
import t, { type Test } from 'tap';
import { NatsBus } from '../../relay/bus/nats.ts';
import { routeTag } from '../../relay/tokens.ts';
import { CONTRACT_LIMITS, tok } from '../bus/contract.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';
import { privacyRelay } from '../helpers/privacy-relay.ts';
import { sleepUntilAborted } from '../helpers/sleep-hook.ts';
import { until, within } from '../helpers/poll.ts';
import { seedDevice } from '../ops/fixtures.ts';

t.setTimeout(120_000);
const HOUR_MS = 3600_000;

async function setup(t: Test) {
  const events: string[] = [];
  const hooked = sleepUntilAborted(events, 'polls the status');
  const { Privacy } = await t.mockImport<typeof import('../../relay/privacy/privacy.ts')>('../../relay/privacy/privacy.ts', {
    'node:timers/promises': { setTimeout: hooked.setTimeout },
  });
  const server = await startNatsServer({ t });
  const proxy = await tcpProxy(server.port);
  const bus = new NatsBus({ servers: proxy.url, limits: CONTRACT_LIMITS, prefix: `rw${tok().slice(0, 6)}`, reconnectWaitMs: 100, requestTimeoutMs: 30_000, mailboxShards: 1 });
  t.teardown(async () => { await bus.close(); await proxy.cut(); });
  await bus.start();
  const relay = privacyRelay(bus);
  const privacy = new Privacy(relay, { deviceIdleExpiryMs: HOUR_MS });
  t.teardown(() => privacy.stop());
  const dev = await seedDevice(relay.directory);
  await proxy.cut();
  await until('the loss seen', () => bus.status().state === 'reconnecting', 20_000);
  return { bus, proxy, privacy, hooked, tag: routeTag(dev.route) };
}

t.test('the idle sweep due while NATS is lost runs at the reconnect, woken by the bus', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const { bus, proxy, privacy, hooked, tag } = await setup(t);
  const swept = privacy.sweepIfLeader(Date.now() + 2 * HOUR_MS);
  await new Promise((r) => setTimeout(r, 300));
  await proxy.open();
  // A hang bound, not a timing: a sweep waiting on a status poll never ends here.
  const got = await within(swept, 20_000, 'the sweep after the reconnect').catch((e: unknown) => String(e));
  t.equal(got, 1, 'the sweep ran once reconnected and expired the idle device (before: it waited for a status poll)');
  t.equal(hooked.calls.length, 0, 'the wait did not poll the status');
  t.equal(await bus.directoryGet(tag, { fromLeader: true }), null, 'the idle device\'s entry is gone');
});

t.test('stop() ends a sweep waiting for the reconnect', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const { bus, privacy } = await setup(t);
  const swept = privacy.sweepIfLeader(Date.now() + 2 * HOUR_MS);
  await new Promise((r) => setTimeout(r, 300));
  await within(privacy.stop(), 20_000, 'stop()');
  t.equal(await within(swept, 20_000, 'the sweep after stop()'), 0, 'the sweep ended without sweeping');
  t.equal(bus.status().state, 'reconnecting', 'while the bus was still reconnecting');
});
