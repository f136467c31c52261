// The sweep (idle expiry and orphaned mail) retries a failed mailbox erase after a wait
// (0.5 s, then 2 s); Privacy.stop(), which the gateway's close awaits together with the
// sweep under way, wakes that wait: the erase is given up at once (as after its third
// attempt; the next sweep finds the mail again) and stop resolves. Before, the wait was a
// plain timer stop did not wake, so a gateway closing during a NATS outage waited for
// it. The wait is hooked (node:timers/promises replaced for the privacy module) and never
// ends by itself: the test sees the order of events, not timings.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { MemoryBus } from '../../relay/bus/memory.ts';
import { busUnavailable } from '../../relay/bus/common.ts';
import { CONTRACT_LIMITS } from '../bus/contract.ts';
import { privacyRelay } from '../helpers/privacy-relay.ts';
import { sleepUntilAborted } from '../helpers/sleep-hook.ts';

const tok = (): string => randomBytes(16).toString('hex');

t.test('stop() wakes a sweep waiting to retry a failed erase', async (t) => {
  const events: string[] = [];
  const hooked = sleepUntilAborted(events, 'sweep waits to retry');
  const { Privacy } = await t.mockImport<typeof import('../../relay/privacy/privacy.ts')>('../../relay/privacy/privacy.ts', {
    'node:timers/promises': { setTimeout: hooked.setTimeout },
  });

  const bus = new MemoryBus({ limits: CONTRACT_LIMITS });
  await bus.start();
  t.teardown(() => bus.close());
  // Mail of a device the directory does not know: the sweep's orphan pass erases it.
  await bus.mailboxPut(tok(), tok(), tok(), new Uint8Array(10));
  bus.mailboxPurge = async () => {
    events.push('erase fails');
    throw busUnavailable('mailbox store unavailable');
  };
  const relay = privacyRelay(bus);
  const privacy = new Privacy(relay);

  const sweep = privacy.sweep();
  for (let i = 0; i < 100 && !events.includes('sweep waits to retry'); i++) await new Promise((r) => setImmediate(r));
  t.strictSame(events, ['erase fails', 'sweep waits to retry'], 'the sweep waits to try the erase again');
  await privacy.stop();
  events.push('stop resolved');
  t.strictSame(events, ['erase fails', 'sweep waits to retry', 'its wait woken', 'stop resolved'],
    'stop woke the wait and resolved after the sweep ended; no erase attempt after stop');
  t.equal(await sweep, 0, 'the sweep ended, nothing erased');
});
