// A route's last device leaving (an opt-out, the idle-expiry sweep) deletes the route's
// directory entry. That delete is revision-checked like every other directory write: a
// device registered on the same number by another gateway between the read and the
// delete (a new phone while the old one opts out) must keep its registration, and its
// mail. Both gateways on a real nats-server; the second registration is made to land
// exactly in that gap by holding the first gateway's delete until it has.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { natsGatewayPair, type TestGateway } from '../helpers/gateway.ts';
import { registerRaw, stillServes, type RawDevice } from '../helpers/raw-device.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { CloseCode } from '../../relay/errors.ts';

let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(6400 + ++seq).padStart(4, '0')}`;

/** Before `gw`'s first directory delete of `tag` goes out, runs `meanwhile` (another
 *  gateway's write to the same entry). Returns how many deletes of the tag were asked. */
function interleaveBeforeDelete(t: Test, gw: TestGateway, tag: string, meanwhile: () => Promise<void>): { deletes: number } {
  const bus = gw.bus;
  const original = bus.directoryDelete.bind(bus);
  const seen = { deletes: 0 };
  bus.directoryDelete = async (routeTag: string, expectedRevision?: number) => {
    if (routeTag === tag && seen.deletes++ === 0) await meanwhile();
    return original(routeTag, expectedRevision);
  };
  t.teardown(() => { bus.directoryDelete = original; });
  return seen;
}

async function mailFor(gw: TestGateway, dev: RawDevice): Promise<string> {
  const id = randomBytes(16).toString('hex');
  await gw.bus.mailboxPut(routeTag(dev.route), deviceToken(dev.device), id, new Uint8Array(200));
  return id;
}

t.test('an opt-out of the last device keeps a device registered on the number meanwhile', async (t) => {
  const [a, b] = await natsGatewayPair(t, 'ddra');
  const number = freshNumber();
  const old = await registerRaw(a.url, number);
  const tag = routeTag(old.dev.route);
  let fresh: RawDevice | null = null;
  const hook = interleaveBeforeDelete(t, a, tag, async () => {
    const r = await registerRaw(b.url, number); // the new phone, through the other gateway
    r.c.close();
    fresh = r.dev;
    await mailFor(b, r.dev); // and mail for it already stored
  });

  old.c.send([{ req: 1001, unregister: {} }]);
  t.equal((await old.c.reply(1001)).body, 'ok', 'the opt-out succeeds');
  t.equal((await old.c.closed).code, CloseCode.UNREGISTERED);
  t.ok(hook.deletes >= 1, 'the opt-out reached the route\'s delete (with the other registration in between)');
  const kept = fresh as RawDevice | null;
  if (kept === null) throw new Error('the registration in between did not run');

  t.equal(await a.relay.directory.findDevice(tag, old.dev.device, { fromLeader: true }), null, 'the old device is gone');
  t.ok(await a.relay.directory.findDevice(tag, kept.device, { fromLeader: true }), 'the new device is still registered');
  t.equal((await a.bus.mailboxRead(tag, deviceToken(kept.device), 0, 10)).length, 1, 'and its mail is kept');
  await stillServes(t, b.url, kept);
});

t.test('the idle sweep keeps a device registered on the number while it erases the idle one', async (t) => {
  const [a, b] = await natsGatewayPair(t, 'ddrb', { deviceIdleExpiryS: 3600 });
  const number = freshNumber();
  const idle = await registerRaw(a.url, number);
  idle.c.close();
  const tag = routeTag(idle.dev.route);
  await mailFor(a, idle.dev);
  let fresh: RawDevice | null = null;
  const hook = interleaveBeforeDelete(t, a, tag, async () => {
    const r = await registerRaw(b.url, number);
    r.c.close();
    fresh = r.dev;
    await mailFor(b, r.dev);
  });

  // The sweep's cutoff (its clock minus the expiry) is set at a moment after the first
  // device's registration and before the second's (which happens inside the sweep), so
  // only the first is idle by it.
  const cutoff = Date.now() + 2;
  while (Date.now() <= cutoff) await new Promise((r) => setTimeout(r, 2));
  const erased = await a.relay.privacy.sweepIfLeader(cutoff + 3600 * 1000);
  t.ok(hook.deletes >= 1, 'the sweep reached the route\'s delete (with the other registration in between)');
  const newDev = fresh as RawDevice | null;
  if (newDev === null) throw new Error('the registration in between did not run');
  t.equal(erased, 1, 'one device expired');
  t.equal(await a.relay.directory.findDevice(tag, idle.dev.device, { fromLeader: true }), null, 'the idle device is gone');
  t.same(await a.bus.mailboxRead(tag, deviceToken(idle.dev.device), 0, 10), [], 'with its mail');
  t.ok(await a.relay.directory.findDevice(tag, newDev.device, { fromLeader: true }), 'the new device is still registered');
  t.equal((await a.bus.mailboxRead(tag, deviceToken(newDev.device), 0, 10)).length, 1, 'and its mail is kept');
  await stillServes(t, b.url, newDev);
});

t.test('a route whose every device is idle still goes whole', async (t) => {
  const [a] = await natsGatewayPair(t, 'ddrc', { deviceIdleExpiryS: 3600 });
  const number = freshNumber();
  const one = await registerRaw(a.url, number);
  one.c.close();
  const two = await registerRaw(a.url, number);
  two.c.close();
  const tag = routeTag(one.dev.route);
  t.equal(await a.relay.privacy.sweepIfLeader(Date.now() + 7200 * 1000), 2, 'both expired');
  t.equal(await a.bus.directoryGet(tag, { fromLeader: true }), null, 'the entry is gone');
  t.equal(await a.relay.directory.findDevice(tag, two.dev.device, { fromLeader: true }), null);
});
