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

t.test('mailbox stores failing and working again: one line each', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const lines: string[] = [];
  const opts = { servers: server.url, limits: CONTRACT_LIMITS, prefix: 'mfl', mailboxShards: 1, connectTimeoutMs: 2000, requestTimeoutMs: 1000 };
  const bus = new NatsBus({ ...opts, log: (level, msg) => { lines.push(`${level} ${msg}`); } });
  t.teardown(() => bus.close());
  await bus.start();
  const [tag, dev] = [tok(), tok()];
  const envelope = new Uint8Array(64).fill(1);
  let n = 0;
  const id = () => (++n).toString(16).padStart(32, '0');
  await bus.mailboxPut(tag, dev, id(), envelope);

  const nc = await connect({ servers: server.url });
  t.teardown(() => nc.close());
  // The mailbox stream deleted (by mistake, or lost with a node): every store fails.
  await (await jetstreamManager(nc)).streams.delete('MFL_MBOX');
  for (let i = 0; i < 4; i++) await t.rejects(bus.mailboxPut(tag, dev, id(), envelope), { code: 'UNAVAILABLE' });
  const failing = lines.filter((l) => /mailbox stores/.test(l));
  t.equal(failing.length, 1, `one line for four failed stores: ${JSON.stringify(failing)}`);
  t.match(failing[0], /^warn bus: mailbox stores failing \((no responders|timeout|[A-Za-z]+)\): messages to offline devices fail UNAVAILABLE until they work again$/);
  t.notOk(lines.join('\n').includes(tag) || lines.join('\n').includes(dev), 'no token in the lines');

  // Another gateway starting makes the stream again.
  const other = new NatsBus(opts);
  t.teardown(() => other.close());
  await other.start();
  await bus.mailboxPut(tag, dev, id(), envelope);
  await bus.mailboxPut(tag, dev, id(), envelope);
  t.same(lines.filter((l) => /mailbox stores/.test(l)).slice(1), ['info bus: mailbox stores work again'], 'one line when they work again');

  // A full mailbox is the message's answer, not the store failing: no line.
  const fullLines: string[] = [];
  const full = new NatsBus({ ...opts, prefix: 'mfx', limits: { ...CONTRACT_LIMITS, maxMessagesPerDevice: 1 }, log: (level, msg) => { fullLines.push(`${level} ${msg}`); } });
  t.teardown(() => full.close());
  await full.start();
  await full.mailboxPut(tag, dev, id(), envelope);
  await t.rejects(full.mailboxPut(tag, dev, id(), envelope), { code: 'MAILBOX_FULL' });
  await t.rejects(full.mailboxPut(tag, dev, id(), envelope), { code: 'MAILBOX_FULL' });
  t.same(fullLines.filter((l) => /mailbox stores/.test(l)), [], 'MAILBOX_FULL adds no line');
});
