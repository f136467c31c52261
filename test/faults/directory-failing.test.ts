// Directory reads failing while the bus is connected (the directory bucket's JetStream
// leader lost with a NATS node, the stream deleted by mistake): every authentication,
// registration and discovery failed UNAVAILABLE ('directory unavailable') and the
// gateway's log said nothing. Now one warn line when it starts (why, never a subject or
// route tag), at most once a minute, and one info line when reads work again
// (relay/bus/nats.ts).
import t from 'tap';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsBus } from '../../relay/bus/nats.ts';
import { CONTRACT_LIMITS, tok } from '../bus/contract.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';

t.setTimeout(60_000);

t.test('directory reads failing and working again: one line each', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const lines: string[] = [];
  const opts = { servers: server.url, limits: CONTRACT_LIMITS, prefix: 'dfl', mailboxShards: 1, connectTimeoutMs: 2000, requestTimeoutMs: 1000 };
  const bus = new NatsBus({ ...opts, log: (level, msg) => { lines.push(`${level} ${msg}`); } });
  t.teardown(() => bus.close());
  await bus.start();
  const tag = tok();
  t.equal(await bus.directoryGet(tag), null, 'reads work');

  const nc = await connect({ servers: server.url });
  t.teardown(() => nc.close());
  // With the stream gone its direct gets go unanswered: each read times out (1 s).
  await (await jetstreamManager(nc)).streams.delete('KV_dfl_dir');
  for (let i = 0; i < 5; i++) await t.rejects(bus.directoryGet(tag), { code: 'UNAVAILABLE', message: 'directory unavailable' });
  const failing = lines.filter((l) => /directory reads/.test(l));
  t.same(failing, ['warn bus: directory reads failing (timeout): authentications, registrations and discoveries fail UNAVAILABLE until they work again'], 'one line for five failed reads');
  t.notOk(lines.join('\n').includes(tag), 'no route tag in the lines');

  // Another gateway starting makes the bucket again.
  const other = new NatsBus(opts);
  t.teardown(() => other.close());
  await other.start();
  t.equal(await bus.directoryGet(tag), null, 'reads work again');
  t.equal(await bus.directoryGet(tag), null);
  t.same(lines.filter((l) => /directory reads/.test(l)).slice(1), ['info bus: directory reads work again'], 'one line when they work again');

  // A second failure within the minute (a flapping leader) is not said again.
  await (await jetstreamManager(nc)).streams.delete('KV_dfl_dir');
  await t.rejects(bus.directoryGet(tag), { code: 'UNAVAILABLE' });
  const again = new NatsBus(opts);
  t.teardown(() => again.close());
  await again.start();
  t.equal(await bus.directoryGet(tag), null);
  t.equal(lines.filter((l) => /directory reads/.test(l)).length, 2, 'a flap within the minute adds no lines');
});
