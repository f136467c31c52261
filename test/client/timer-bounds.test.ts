// Delays past what a timer keeps. setTimeout fires a delay over 2^31 − 1 ms (24.8 days)
// after 1 ms, with a TimeoutOverflowWarning: an app's requestTimeoutMs of 30 days made
// every request time out at once, and a gateway's uint32 retry_after_ms (up to 49.7
// days) in a send's retry wait made it retry at once. Options that a timer waits are
// refused past it (BAD_REQUEST naming the option); delays from the wire are clamped
// (client/timer-delay.ts). No I/O.
import t from 'tap';
import { checkClientOptions } from '../../client/client.ts';
import { SendStop } from '../../client/outgoing.ts';
import { MAX_TIMER_MS, timerDelay } from '../../client/timer-delay.ts';
import { ErrorCode, HushwireError } from '../../client/index.ts';

t.test('timerDelay: what a timer can wait', async (t) => {
  t.equal(MAX_TIMER_MS, 2_147_483_647);
  for (const [ms, want] of [[0, 0], [-5, 0], [1, 1], [2 ** 31 - 1, MAX_TIMER_MS], [2 ** 31, MAX_TIMER_MS], [4e9, MAX_TIMER_MS], [Infinity, MAX_TIMER_MS], [Number.NaN, MAX_TIMER_MS]] as const) {
    t.equal(timerDelay(ms), want, String(ms));
  }
});

t.test('options a timer waits: at most 2^31 − 1 ms; a retention period may be longer', async (t) => {
  for (const name of ['requestTimeoutMs', 'sendTimeoutMs', 'closeTimeoutMs', 'pingIntervalMs', 'idleTimeoutMs']) {
    t.doesNotThrow(() => checkClientOptions({ [name]: MAX_TIMER_MS, ...(name === 'pingIntervalMs' ? { idleTimeoutMs: MAX_TIMER_MS } : {}) }), `${name} ${MAX_TIMER_MS}: taken`);
    t.throws(() => checkClientOptions({ [name]: 30 * 86_400_000 }), { code: ErrorCode.BAD_REQUEST, message: `option ${name} must be at most 2147483647 ms (24.8 days, the longest a timer waits)` }, `${name} of 30 days: refused, named`);
  }
  t.doesNotThrow(() => checkClientOptions({ prekeyRetentionMs: 400 * 86_400_000 }), 'prekeyRetentionMs of 400 days (compared with dates, not waited by a timer): taken');
});

t.test('a send\'s retry wait of a huge retry_after_ms waits (until stopped), not 1 ms', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => { warnings.push(w.name); };
  process.on('warning', onWarning);
  t.teardown(() => { process.off('warning', onWarning); });
  const stop = new SendStop();
  let woke = false;
  const slept = stop.sleep(4_000_000_000).then(() => { woke = true; });
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(woke, 'still waiting after 100 ms');
  stop.stop(new HushwireError(ErrorCode.UNAVAILABLE, 'closed'));
  await slept;
  t.ok(woke, 'stop() ends it');
  await new Promise((r) => setImmediate(r));
  t.notOk(warnings.includes('TimeoutOverflowWarning'), 'no TimeoutOverflowWarning');
});
