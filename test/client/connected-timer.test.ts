// ConnectedTimer (client/connected-timer.ts): the client's upkeep timer (prekey check,
// own-number check). No I/O: the task runs only while connected, one run pending at a
// time, nothing scheduled while not allowed, and a delay beyond setTimeout's range (a
// gateway's retry_after_ms of weeks) waits instead of firing at once.
import t from 'tap';
import { ConnectedTimer } from '../../client/connected-timer.ts';

const tick = (ms = 5) => new Promise<void>((r) => setTimeout(r, ms));

t.test('runs once after the delay, only while connected; a new schedule replaces the pending one', async (t) => {
  let runs = 0;
  let connected = true;
  const timer = new ConnectedTimer(() => { runs++; }, () => connected, () => true);
  timer.schedule(0);
  timer.schedule(0);
  t.ok(timer.pending);
  await tick();
  t.equal(runs, 1, 'one run for two schedules');
  t.notOk(timer.pending, 'nothing pending after the run');

  connected = false;
  timer.schedule(0);
  await tick();
  t.equal(runs, 1, 'not connected when it fires: the task waits for the next connect');
});

t.test('cancel drops the pending run and is idempotent; nothing is scheduled while not allowed', async (t) => {
  let runs = 0;
  let allowed = true;
  const timer = new ConnectedTimer(() => { runs++; }, () => true, () => allowed);
  timer.schedule(0);
  timer.cancel();
  timer.cancel();
  await tick();
  t.equal(runs, 0, 'cancelled');
  allowed = false;
  timer.schedule(0);
  t.notOk(timer.pending, 'closing or opting out: nothing scheduled');
  allowed = true;
  timer.schedule(0);
  await tick();
  t.equal(runs, 1, 'allowed again: scheduled again');
});

t.test('a delay past setTimeout\'s range, or not finite, waits (clamped), not fires at once', async (t) => {
  let runs = 0;
  const timer = new ConnectedTimer(() => { runs++; }, () => true, () => true);
  t.teardown(() => timer.cancel());
  for (const ms of [2 ** 40, Number.POSITIVE_INFINITY, Number.NaN]) {
    timer.schedule(ms);
    await tick(20);
    t.equal(runs, 0, `${ms}: not run`);
    t.ok(timer.pending, `${ms}: still pending`);
  }
  timer.schedule(-5);
  await tick();
  t.equal(runs, 1, 'a negative delay runs at once');
});
