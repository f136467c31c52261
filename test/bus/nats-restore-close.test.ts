// NatsBus's restore pass (after a reconnect, it makes the streams and buckets again,
// retrying while JetStream is not there yet) waits between its attempts; close() wakes
// it and waits for the pass to end, so close resolves at once and nothing of the bus
// stays scheduled after it. Before, the wait was a plain 1 s timer close did not wake.
// The wait is hooked (node:timers/promises is replaced for the bus module): the hooked
// sleep never ends by itself, so the test sees the order of events, not timings.
import t from 'tap';
import { writeFile, readFile } from 'node:fs/promises';
import type { NatsBus as NatsBusClass } from '../../relay/bus/nats.ts';
import { CONTRACT_LIMITS } from './contract.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { until } from '../helpers/poll.ts';
import { sleepUntilAborted } from '../helpers/sleep-hook.ts';

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  t.test('close wakes the restore pass from its wait between attempts', async (t) => {
    const events: string[] = [];
    const hooked = sleepUntilAborted(events, 'restore pass waits');
    const sleeps = hooked.calls;
    const { NatsBus } = await t.mockImport<typeof import('../../relay/bus/nats.ts')>('../../relay/bus/nats.ts', {
      'node:timers/promises': { setTimeout: hooked.setTimeout },
    });
    const server = await startNatsServer({ t });
    const lines: string[] = [];
    const bus: NatsBusClass = new NatsBus({
      servers: server.url, limits: CONTRACT_LIMITS, prefix: 'rsc', mailboxShards: 1, name: 'hushwire-test',
      requestTimeoutMs: 1000, reconnectWaitMs: 100, log: (_level, msg) => { lines.push(msg); },
    });
    t.teardown(() => bus.close());
    await bus.start();

    // The server comes back without JetStream: the restore pass after the reconnect
    // cannot make the streams and waits before its next attempt.
    const conf = await readFile(server.configPath, 'utf8');
    await writeFile(server.configPath, conf.replace(/jetstream \{[^}]*\}/, ''));
    await server.restart();
    await until('the bus to reconnect', () => lines.some((l) => l.startsWith('bus: NATS reconnected')), 20_000);
    await until('the restore pass to wait after a failed attempt', () => sleeps.length > 0, 20_000);
    t.ok(sleeps[0]?.signal !== undefined, 'its wait can be woken');

    const closed = bus.close().then(() => { events.push('close resolved'); });
    // close needs nothing from the hooked wait but its waking: it resolves on its own.
    await Promise.race([closed, until('close to resolve', () => events.includes('close resolved'), 20_000)]);
    t.strictSame(events, ['restore pass waits', 'its wait woken', 'close resolved'],
      'the wait was woken by close, once; close resolved after; no attempt after close');
    t.equal(bus.status().state, 'closed');
  });
}
