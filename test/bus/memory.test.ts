import t from 'tap';
import { MemoryBus } from '../../relay/bus/memory.ts';
import { createBus, DEFAULT_MAILBOX_LIMITS, NatsBus } from '../../relay/bus/index.ts';
import { busContract, CONTRACT_LIMITS, tok, bytes } from './contract.ts';
import { isHushwireError } from '../../relay/errors.ts';

busContract(t, async (limits = CONTRACT_LIMITS) => {
  const bus = new MemoryBus({ limits });
  await bus.start();
  return { bus, cleanup: () => bus.close() };
});

t.test('createBus picks the embedded bus without a NATS URL', async (t) => {
  t.ok(createBus({ limits: DEFAULT_MAILBOX_LIMITS }) instanceof MemoryBus);
  t.ok(createBus({ nats: '', limits: DEFAULT_MAILBOX_LIMITS }) instanceof MemoryBus);
  t.ok(createBus({ nats: [], limits: DEFAULT_MAILBOX_LIMITS }) instanceof MemoryBus);
  t.ok(createBus({ nats: 'nats://127.0.0.1:4222', limits: DEFAULT_MAILBOX_LIMITS }) instanceof NatsBus);
  t.same(DEFAULT_MAILBOX_LIMITS, { maxMessagesPerDevice: 1000, maxAgeMs: 30 * 24 * 3600 * 1000, maxMessageBytes: 70000 });
});

t.test('memory bus: calls before start are UNAVAILABLE; bad limits are refused', async (t) => {
  const bus = new MemoryBus({ limits: CONTRACT_LIMITS });
  t.same(bus.status(), { state: 'starting' });
  await t.rejects(bus.mailboxRead(tok(), tok(), 0, 1), { code: 'UNAVAILABLE' });
  t.throws(() => new MemoryBus({ limits: { ...CONTRACT_LIMITS, maxAgeMs: 0 } }), { code: 'BAD_REQUEST' });
  await bus.close();
  t.same(bus.status(), { state: 'closed' });
});

t.test('memory bus: total byte bound', async (t) => {
  const bus = new MemoryBus({ limits: CONTRACT_LIMITS, maxTotalBytes: 3000 });
  await bus.start();
  t.teardown(() => bus.close());
  const r = tok();
  await bus.mailboxPut(r, tok(), tok(), bytes(1000));
  await bus.mailboxPut(r, tok(), tok(), bytes(1000));
  await bus.mailboxPut(r, tok(), tok(), bytes(1000));
  try {
    await bus.mailboxPut(r, tok(), tok(), bytes(10));
    t.fail('should be full');
  } catch (e) {
    t.ok(isHushwireError(e) && e.code === 'UNAVAILABLE');
  }
  await bus.mailboxPurge(r);
  await bus.mailboxPut(r, tok(), tok(), bytes(1000));
});

t.test('memory bus: close clears the timers of offers still waiting for the device', async (t) => {
  const timers = (): number => process.getActiveResourcesInfo().filter((k) => k === 'Timeout').length;
  const bus = new MemoryBus({ limits: CONTRACT_LIMITS });
  await bus.start();
  const [r, d] = [tok(), tok()];
  await bus.subscribeDevice(r, d, () => new Promise<boolean>(() => {}), () => {}); // never answers
  const before = timers();
  const outcomes = [1, 2, 3].map(() => bus.deliverLive(r, d, bytes(10), 60_000));
  t.equal(timers(), before + 3, 'one timer per offer while it waits');
  await bus.close();
  t.equal(timers(), before, 'after close: none of the offers\' timers is left');
  t.strictSame(await Promise.all(outcomes), [false, false, false], 'each offer settled as not delivered');
});
