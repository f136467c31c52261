// bench/devices.ts seedDirectory: the bench writes its devices into the directory through
// the gateways' own bus, and that bus's start is retried (bounded) while NATS or
// JetStream is not there yet, as the gateways' is: a JetStream cluster just formed on a
// busy CI machine once timed a set-up request out and failed the whole workload.
import t from 'tap';
import { seedDirectory, makeDevices } from '../../bench/devices.ts';
import { createBus, DEFAULT_MAILBOX_LIMITS } from '../../relay/bus/index.ts';
import { routeTag } from '../../relay/tokens.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';

t.test('seedDirectory waits for a NATS that comes up after it started, then writes every device', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  await server.stop();
  const groups = makeDevices([1, 2], false);
  const seeding = seedDirectory(server.url, groups);
  // NATS appears a moment later, on the same port and store.
  await new Promise((r) => setTimeout(r, 800));
  await server.restart();
  await seeding;
  const bus = createBus({ nats: server.url, limits: DEFAULT_MAILBOX_LIMITS, name: 'seed-check' });
  t.teardown(() => bus.close());
  await bus.start();
  for (const d of groups.flat()) t.not(await bus.directoryGet(routeTag(d.route)), null, 'in the directory');
});
