// Fixed-rate mode's send schedule (bench/rate-schedule.ts): every slot of every sender
// is emitted once, at or after its intended time, in slot order per sender and in
// intended-time order overall, with the intended time the worker always computed
// (start + (k + phase) / perMs); and the slots due between the last tick and the end of
// sending are emitted by before(end), not skipped. Pure: the ticks are simulated.
import t, { type Test } from 'tap';
import { RateSchedule } from '../../bench/rate-schedule.ts';

const GOLDEN = 0.6180339887498949;
const phasesOf = (senders: number[]): number[] => senders.map((s) => (s * GOLDEN) % 1);

interface Emitted { sender: number; slot: number; intended: number; at: number }

/** Every slot a sender would have with intended time before `end`, as the worker numbers them. */
function expectedSlots(start: number, perMs: number, phases: number[], end: number): Map<number, number[]> {
  const out = new Map<number, number[]>();
  phases.forEach((ph, i) => {
    const times: number[] = [];
    for (let k = 0; ; k++) {
      const intended = start + (k + ph) / perMs;
      if (intended >= end) break;
      times.push(intended);
    }
    out.set(i, times);
  });
  return out;
}

/** Runs the worker's loop: a tick at each of `ticks` (upTo, or before(end) once past
 *  the end), then before(end) once sending has ended. */
function simulate(start: number, perMs: number, phases: number[], ticks: number[], end: number, finish = true): Emitted[] {
  const s = new RateSchedule(start, perMs, phases);
  const out: Emitted[] = [];
  let at = 0;
  const emit = (sender: number, slot: number, intended: number): void => { out.push({ sender, slot, intended, at }); };
  for (const now of ticks) {
    at = now;
    if (now < end) s.upTo(now, emit);
    else s.before(end, emit);
  }
  if (finish) {
    at = Math.max(end, at);
    s.before(end, emit);
  }
  return out;
}

function check(t: Test, got: Emitted[], start: number, perMs: number, phases: number[], end: number): void {
  const want = expectedSlots(start, perMs, phases, end);
  let total = 0;
  for (const v of want.values()) total += v.length;
  t.equal(got.length, total, 'every slot before the end, once');
  const bySender = new Map<number, Emitted[]>();
  for (const e of got) {
    if (!bySender.has(e.sender)) bySender.set(e.sender, []);
    bySender.get(e.sender)!.push(e);
  }
  let bad = 0;
  for (const [sender, times] of want) {
    const mine = bySender.get(sender) ?? [];
    if (mine.length !== times.length) bad++;
    mine.forEach((e, k) => {
      // in slot order, with the worker's intended time, never before it, never at or after the end
      if (e.slot !== k || e.intended !== times[k] || e.at < e.intended || e.intended >= end) bad++;
    });
  }
  t.equal(bad, 0, 'per sender: slots 0, 1, 2 ... in order, each at its intended time or later');
  let unordered = 0;
  for (let i = 1; i < got.length; i++) if (got[i]!.intended < got[i - 1]!.intended) unordered++;
  t.equal(unordered, 0, 'overall in order of intended time');
}

t.test('1 ms ticks: every slot once, in order, at or after its time', async (t) => {
  const start = 1_000.25;
  const senders = Array.from({ length: 100 }, (_, i) => i * 2);
  const phases = phasesOf(senders);
  const perMs = 0.2; // 200 msg/s per sender: 40,000 msg/s over 200 senders
  const end = start + 2_000;
  const ticks: number[] = [];
  for (let now = start + 1.003; now < end; now += 1) ticks.push(now);
  check(t, simulate(start, perMs, phases, ticks, end), start, perMs, phases, end);
});

t.test('late, irregular ticks (a busy thread) and several slots per sender per tick', async (t) => {
  const start = 50;
  const phases = phasesOf([3, 7, 11, 1_000, 5]);
  const perMs = 3; // three slots per ms per sender
  const end = start + 300;
  const ticks: number[] = [];
  let now = start;
  let i = 0;
  while (now < end + 5) {
    now += i % 17 === 0 ? 9.7 : 1.01; // a stall now and then
    ticks.push(now);
    i++;
  }
  const got = simulate(start, perMs, phases, ticks, end);
  check(t, got, start, perMs, phases, end);
  t.ok(got.some((e) => e.at - e.intended > 5), 'a stall sends its slots late (their lag is the generator\'s)');
});

t.test('the slots between the last tick and the end of sending are sent, not skipped', async (t) => {
  const start = 0;
  const phases = phasesOf([0, 1, 2, 3, 4, 5, 6, 7]);
  const perMs = 2;
  const end = 100;
  // the last tick fires 0.9 ms before the end; the worker then stops its ticker
  const ticks = Array.from({ length: 99 }, (_, i) => i + 1.1).filter((x) => x < end - 0.8);
  const withoutFinish = simulate(start, perMs, phases, ticks, end, false);
  const missing = [...expectedSlots(start, perMs, phases, end).values()].reduce((n, v) => n + v.length, 0) - withoutFinish.length;
  t.ok(missing > 0, `ticks alone leave ${missing} slots of the window's last ms unsent`);
  const got = simulate(start, perMs, phases, ticks, end);
  check(t, got, start, perMs, phases, end);
  t.ok(got.slice(-missing).every((e) => e.intended > ticks.at(-1)! && e.intended < end), 'before(end) sends exactly those');
});

t.test('a tick past the end sends nothing intended at or after it', async (t) => {
  const phases = [0, 0.5];
  const s = new RateSchedule(0, 1, phases);
  const got: number[] = [];
  s.before(3, (_i, _k, intended) => got.push(intended));
  t.same(got, [0, 0.5, 1, 1.5, 2, 2.5], 'a slot at exactly the end is not sent');
  t.equal(s.next, 3);
  t.equal(s.upTo(2.9, () => t.fail('nothing due')), 0);
  t.equal(s.upTo(3, () => undefined), 1, 'a tick at its time sends it');
});

t.test('no senders, bad arguments', async (t) => {
  const s = new RateSchedule(0, 1, []);
  t.equal(s.next, Infinity);
  t.equal(s.upTo(1e9, () => t.fail('no slot')), 0);
  t.throws(() => new RateSchedule(0, 0, [0]), RangeError);
  t.throws(() => new RateSchedule(0, 1, [1]), RangeError);
});

