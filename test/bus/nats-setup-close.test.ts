// NatsBus's start waits between its attempts at two set-up steps: a mailbox stream
// whose subjects another stream holds ("subjects overlap": another gateway making the
// same stream at this moment, or another layout's) is looked at again after a wait
// (#ensureStream), and so is a bucket whose create meets the same answer (createRacing).
// close() waits for a start under way; it now wakes those waits, as it does the restore
// pass's (test/bus/nats-restore-close.test.ts): the start fails 'bus closed' and close
// resolves. Before, both were plain timers close did not wake. The wait is hooked
// (node:timers/promises is replaced for the bus module) and never ends by itself, so the
// test sees the order of events, not timings.
import t from 'tap';
import type { Test } from 'tap';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsBus as NatsBusClass } from '../../relay/bus/nats.ts';
import { CONTRACT_LIMITS } from './contract.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { until } from '../helpers/poll.ts';
import { sleepUntilAborted } from '../helpers/sleep-hook.ts';

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  const setUp = async (t: Test) => {
    const events: string[] = [];
    const hooked = sleepUntilAborted(events, 'start waits');
    const { NatsBus } = await t.mockImport<typeof import('../../relay/bus/nats.ts')>('../../relay/bus/nats.ts', {
      'node:timers/promises': { setTimeout: hooked.setTimeout },
    });
    const server = await startNatsServer({ t });
    const nc = await connect({ servers: server.url });
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const makeBus = (): NatsBusClass => {
      const bus: NatsBusClass = new NatsBus({
        servers: server.url, limits: CONTRACT_LIMITS, prefix: 'ssc', mailboxShards: 1, name: 'hushwire-test', requestTimeoutMs: 2000,
      });
      t.teardown(() => bus.close());
      return bus;
    };
    return { events, jsm, makeBus };
  };

  const closeDuringWait = async (t: Test, events: string[], bus: NatsBusClass): Promise<void> => {
    const started = bus.start().then(() => 'started', (e: unknown) => (e as Error).message);
    await until('the start to wait before its next attempt', () => events.includes('start waits'), 20_000);
    const closed = bus.close().then(() => { events.push('close resolved'); });
    await Promise.race([closed, until('close to resolve', () => events.includes('close resolved'), 20_000)]);
    t.strictSame(events, ['start waits', 'its wait woken', 'close resolved'],
      'the wait was woken by close, once; close resolved after; no attempt after close');
    t.equal(await started, 'bus closed', 'the start failed: the bus closed');
    t.equal(bus.status().state, 'closed');
  };

  t.test('close wakes the wait of a mailbox stream whose subjects are taken', async (t) => {
    const { events, jsm, makeBus } = await setUp(t);
    // A stream under another name holding the mailbox subjects: the mailbox stream's
    // create meets "subjects overlap" (one shard: one wait at a time).
    const bus = makeBus();
    await jsm.streams.add({ name: 'OTHER_LAYOUT', subjects: ['ssc.mbox.>'] });
    await closeDuringWait(t, events, bus);
  });

  t.test('close wakes the wait of a bucket whose subjects are taken', async (t) => {
    const { events, jsm, makeBus } = await setUp(t);
    const bus = makeBus();
    // A stream under another name holding the directory bucket's subjects.
    await jsm.streams.add({ name: 'OTHER_KV', subjects: [`$KV.${bus.bucketName}.>`] });
    await closeDuringWait(t, events, bus);
  });
}
