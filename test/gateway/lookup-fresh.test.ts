// A lookup's `fresh` (docs/PROTOCOL.md, "lookup"): the gateway reads the route's entry at
// the directory's leader instead of at any replica, so a device registered a moment ago
// is listed even where a replica has not caught up (nats-server before 2.9.17 answers
// direct gets from any replica). The replica's lag is made here by a hook on the
// gateway's bus: ordinary reads of the route answer as a replica that has no entry yet.
import t from 'tap';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerRaw } from '../helpers/raw-device.ts';
import { routeTag } from '../../relay/tokens.ts';
import { ErrorCode } from '../../relay/errors.ts';
import type { DirectoryReadOptions } from '../../relay/bus/bus.ts';

t.test('fresh reads at the leader; an ordinary lookup reads wherever the bus reads', async (t) => {
  const gw = await startTestGateway();
  t.teardown(() => gw.close());
  const { c: asker } = await registerRaw(gw.url, '+15557790001');
  const { c: newcomer, dev } = await registerRaw(gw.url, '+15557790002');
  newcomer.close();
  const tag = routeTag(dev.route);
  const bus = gw.bus;
  const original = bus.directoryGet.bind(bus);
  const reads = { ordinary: 0, leader: 0 };
  bus.directoryGet = async (key: string, opts?: DirectoryReadOptions) => {
    if (key !== tag) return original(key, opts);
    if (opts?.fromLeader === true) { reads.leader++; return original(key, opts); }
    reads.ordinary++;
    return null; // a replica that has not caught up with the registration
  };
  t.teardown(() => { bus.directoryGet = original; });
  const listed = (d: { device?: Uint8Array | null }[] | undefined): boolean =>
    (d ?? []).some((x) => x.device !== undefined && x.device !== null && Buffer.from(x.device).equals(Buffer.from(dev.device)));

  asker.send([{ req: 501, lookup: { route: dev.route } }]);
  const plain = await asker.reply(501);
  t.notOk(listed(plain.devices?.devices), 'an ordinary lookup: the lagging replica\'s answer (not listed)');
  t.same(reads, { ordinary: 1, leader: 0 });

  asker.send([{ req: 502, lookup: { route: dev.route, fresh: true } }]);
  const fresh = await asker.reply(502);
  t.ok(listed(fresh.devices?.devices), 'fresh: read at the leader, the device is listed');
  t.same(reads, { ordinary: 1, leader: 1 });

  asker.send([{ req: 503, lookup: { routes: [dev.route], fresh: true } }]);
  t.equal((await asker.reply(503)).error?.code, ErrorCode.BAD_REQUEST, 'fresh on a batched lookup: BAD_REQUEST');
  t.same(reads, { ordinary: 1, leader: 1 }, 'and nothing read');
  asker.close();
});
