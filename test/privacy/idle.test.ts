// Idle-device expiry on the embedded bus: the periodic sweep erases a device idle beyond
// --device-idle-expiry-s (directory and mailbox), the sweep lease lets one run per
// period, and a device that keeps authenticating stays.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerRaw, authenticateRaw } from '../helpers/raw-device.ts';
import { until, within } from '../helpers/poll.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { CloseCode, ErrorCode, HushwireError } from '../../relay/errors.ts';

let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(5000 + ++seq).padStart(4, '0')}`;

t.test('embedded gateway: idle devices are erased, active ones stay', async (t) => {
  const gw = await startTestGateway({ deviceIdleExpiryS: 2 });
  t.teardown(() => gw.close());
  const idle = await registerRaw(gw.url, freshNumber());
  const other = await registerRaw(gw.url, idle.dev.number); // same number, will keep authenticating
  idle.c.close();
  other.c.close();
  const tag = routeTag(idle.dev.route);
  const tok = deviceToken(idle.dev.device);
  await gw.bus.mailboxPut(tag, tok, randomBytes(16).toString('hex'), new Uint8Array(300));
  // `other` re-authenticates now and then (as a phone that comes online does).
  let stop = false;
  const keepAlive = (async () => {
    while (!stop) {
      const c = await authenticateRaw(gw.url, other.dev);
      c.close();
      await c.closed;
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  await until('the idle device to be erased', async () => (await gw.relay.directory.findDevice(tag, idle.dev.device)) === null, 30_000);
  stop = true;
  await keepAlive;
  t.pass('the idle device left the directory');
  t.same(await gw.bus.mailboxRead(tag, tok, 0, 10), [], 'its mailbox is erased');
  t.ok(await gw.relay.directory.findDevice(tag, other.dev.device), 'the device that kept coming back stays');
});

t.test('the sweep lease: one sweep per period', async (t) => {
  const gw = await startTestGateway({ deviceIdleExpiryS: 3600 });
  t.teardown(() => gw.close());
  const idle = await registerRaw(gw.url, freshNumber());
  idle.c.close();
  const now = Date.now() + 7200 * 1000; // as if two hours had passed
  const first = await gw.relay.privacy.sweepIfLeader(now);
  t.equal(first, 1, 'the lease holder sweeps (and erases the idle device)');
  t.equal(await gw.relay.privacy.sweepIfLeader(now + 1000), 0, 'within the period another sweep does not run');
  t.equal(await gw.bus.directoryGet(routeTag(idle.dev.route)), null, 'the route entry is gone with its last device');
});

t.test('an expired device whose mail erase fails: its connections are told all the same', async (t) => {
  const gw = await startTestGateway({ deviceIdleExpiryS: 3600 });
  t.teardown(() => gw.close());
  const { c, dev } = await registerRaw(gw.url, freshNumber());
  t.teardown(() => c.close());
  const tag = routeTag(dev.route);
  // The erase keeps failing (the sweep tries it three times over ~3 s, then gives up).
  const bus = gw.bus;
  const purge = bus.mailboxPurge.bind(bus);
  bus.mailboxPurge = async (r: string, d?: string) => {
    if (r === tag) throw new HushwireError(ErrorCode.UNAVAILABLE, 'mailbox unavailable');
    return purge(r, d);
  };
  t.teardown(() => { bus.mailboxPurge = purge; });
  const rereads = async (): Promise<number> => Number(/outcome="reread"} (\d+)/.exec(await gw.metrics.registry.getSingleMetricAsString('hushwire_auth_optout_checks_total'))?.[1] ?? 0);
  const before = await rereads();
  await gw.relay.privacy.sweep(Date.now() + 7200 * 1000); // as if two hours had passed
  t.equal(await gw.bus.directoryGet(tag), null, 'the device left the directory');
  const closed = await within(c.closed, 20_000, 'its connection to close').catch((e: Error) => ({ code: -1, reason: e.message }));
  t.equal(closed.code, CloseCode.UNREGISTERED, 'its connection was told (4006), though its mail could not be erased');
  // Told by the device's `unregistered`, not found gone by the read every gateway makes
  // when a removal's intent is not followed by its announcement (relay/bus/unregistered.ts).
  t.equal(await rereads(), before, 'by its announcement: no read was needed');
});
