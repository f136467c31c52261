// RecentUnregistrations (relay/bus/unregistered.ts): the devices announced as having
// left the directory, which an authentication checks once subscribed instead of reading
// the record again. Its answers must never be 'none' when an announcement since the mark
// may have been missed: past the bound, past the window, disconnected, or reconnected
// since the mark. A clock of the test's own.
import t from 'tap';
import { RecentUnregistrations } from '../../relay/bus/unregistered.ts';
import { MemoryBus } from '../../relay/bus/memory.ts';
import { CONTRACT_LIMITS, tok } from './contract.ts';

function clocked(opts: { windowMs?: number; max?: number } = {}): { set: RecentUnregistrations; tick: (ms: number) => void } {
  let now = 1_000;
  const set = new RecentUnregistrations({ ...opts, now: () => now, listening: true });
  return { set, tick: (ms) => { now += ms; } };
}

const key = (i: number): string => `${String(i).padStart(32, '0')}.${'f'.repeat(32)}`;

t.test('announced since the mark, not before it', async (t) => {
  const { set, tick } = clocked();
  set.note(key(1));
  tick(1);
  const mark = set.mark();
  t.equal(set.since(key(1), mark), 'none', 'an announcement before the read began does not count');
  tick(1);
  set.note(key(2));
  t.equal(set.since(key(2), mark), 'announced');
  t.equal(set.since(key(3), mark), 'none', 'another device');
  set.note(key(1));
  t.equal(set.since(key(1), mark), 'announced', 'announced again since the mark');
});

t.test('the window: a mark older than it is unknown, old entries go', async (t) => {
  const { set, tick } = clocked({ windowMs: 100 });
  const mark = set.mark();
  set.note(key(1));
  tick(100);
  t.equal(set.since(key(1), mark), 'announced', 'within the window');
  tick(1);
  t.equal(set.since(key(1), mark), 'unknown', 'the mark is older than the window: never none');
  t.equal(set.size, 0, 'the entry itself is gone');
  const later = set.mark();
  t.equal(set.since(key(1), later), 'none');
});

t.test('the bound: the oldest goes, and marks before it are unknown', async (t) => {
  const { set, tick } = clocked({ max: 3 });
  const early = set.mark();
  tick(1);
  for (let i = 1; i <= 3; i++) {
    set.note(key(i));
    tick(1);
  }
  const mid = set.mark(); // after key(1..3) arrived
  tick(1);
  t.equal(set.since(key(1), early), 'announced', 'at the bound, nothing lost yet');
  t.equal(set.since(key(9), early), 'none');
  set.note(key(4)); // key(1) goes
  tick(1);
  t.equal(set.size, 3, 'never more than the bound');
  t.equal(set.evicted, 1);
  t.equal(set.since(key(1), early), 'unknown', 'the evicted device: unknown, not none');
  t.equal(set.since(key(9), early), 'unknown', 'any device with a mark before the evicted entry arrived: unknown');
  t.equal(set.since(key(4), mid), 'announced');
  t.equal(set.since(key(9), mid), 'none', 'a mark after the evicted entry arrived loses nothing');
  const late = set.mark();
  tick(1);
  for (let i = 5; i <= 8; i++) set.note(key(i)); // key(5), after the mark, goes too
  t.equal(set.since(key(8), late), 'unknown', 'a burst past the bound since the mark: unknown, even for a device kept');
  t.equal(set.since(key(5), late), 'unknown', 'and for the one evicted');
  tick(1);
  const after = set.mark();
  t.equal(set.since(key(8), after), 'none', 'marks after the burst: trusted again');
});

t.test('lost, then listening again: unknown until the reconnect settled', async (t) => {
  const { set, tick } = clocked();
  const before = set.mark();
  set.lost();
  t.equal(set.since(key(1), before), 'unknown', 'while disconnected');
  tick(10);
  const during = set.mark();
  set.listening(50);
  t.equal(set.since(key(1), before), 'unknown', 'a mark from before the loss');
  t.equal(set.since(key(1), during), 'unknown', 'a mark from during it');
  tick(49);
  t.equal(set.since(key(1), set.mark()), 'unknown', 'a mark before the reconnect settled');
  tick(1);
  const after = set.mark();
  t.equal(set.since(key(1), after), 'none', 'after it settled');
  set.note(key(1));
  t.equal(set.since(key(1), after), 'announced');
});

t.test('not listening yet: unknown', async (t) => {
  const set = new RecentUnregistrations();
  t.equal(set.since(key(1), set.mark()), 'unknown');
  set.listening(0);
  t.equal(set.since(key(1), set.mark()), 'none');
});

t.test('MemoryBus: an unregistered control message is announced', async (t) => {
  let now = 0;
  const bus = new MemoryBus({ limits: CONTRACT_LIMITS, unregistered: new RecentUnregistrations({ now: () => now }) });
  t.teardown(() => bus.close());
  const heard: string[] = [];
  const gaps: number[] = [];
  bus.watchUnregistered({ unregistered: (k) => heard.push(k), gap: (at) => gaps.push(at) });
  const [r, d] = [tok(), tok()];
  t.equal(bus.unregisteredSince(r, d, bus.unregisteredMark()), 'unknown', 'before start');
  await bus.start();
  const mark = bus.unregisteredMark();
  now++;
  await bus.publishControl(r, d, { kind: 'mail' });
  await bus.publishControl(r, d, { kind: 'kick', connection: 'x' });
  await new Promise((res) => setImmediate(res));
  t.equal(bus.unregisteredSince(r, d, mark), 'none', 'other control messages are not announced');
  await bus.publishControl(r, d, { kind: 'unregistered' });
  t.equal(bus.unregisteredSince(r, d, mark), 'none', 'asynchronous, as NATS');
  await new Promise((res) => setImmediate(res));
  t.equal(bus.unregisteredSince(r, d, mark), 'announced');
  t.same(heard, [`${r}.${d}`], 'the listener hears the device key');
  t.same(gaps, [], 'nothing is ever lost in one process');
});

// A removal announced as intended (relay/bus/unregistered.ts announcedRemoval) whose
// announcement does not follow: the removing gateway may have died between the two.
t.test('an intent: nothing by itself; unannounced past its timeout, due and unconfirmed', async (t) => {
  let now = 1_000;
  const set = new RecentUnregistrations({ now: () => now, listening: true, intentTimeoutMs: 100 });
  t.teardown(() => set.close());
  const due: string[][] = [];
  set.onDue((keys) => due.push(keys));
  const early = set.mark();
  now += 1;
  set.intent(key(1));
  set.intent(key(2));
  t.equal(set.since(key(1), early), 'none', 'an intent is not an announcement: no one is closed for it');
  now += 50;
  set.note(key(2)); // key(2)'s announcement followed
  set.intent(key(1)); // repeated while its removal lasts: the wait starts again
  now += 99;
  set.checkIntents();
  t.same(due, [], 'not due before its (renewed) timeout');
  now += 1;
  set.checkIntents();
  t.same(due, [[key(1)]], 'due: only the one whose announcement never came');
  t.equal(set.pending, 0);
  t.equal(set.unconfirmedCount, 1);
  t.equal(set.since(key(1), early), 'unconfirmed', 'an authentication that read before it came due: read again at the leader');
  t.equal(set.since(key(2), early), 'announced', 'the announced one as before');
  now += 1;
  t.equal(set.since(key(1), set.mark()), 'none', 'one that began after it came due read the record after the removal');
  set.note(key(1));
  t.equal(set.since(key(1), early), 'announced', 'a late announcement settles it');
  now += 1;
  set.checkIntents();
  t.same(due, [[key(1)]], 'nothing more comes due');
});

t.test('an intent: the bound makes the oldest due at once, and the window forgets it', async (t) => {
  let now = 1_000;
  const set = new RecentUnregistrations({ now: () => now, listening: true, intentTimeoutMs: 100, max: 2, windowMs: 500 });
  t.teardown(() => set.close());
  const due: string[][] = [];
  set.onDue((keys) => due.push(keys));
  const mark = set.mark();
  for (let i = 1; i <= 3; i++) set.intent(key(i));
  t.same(due, [[key(1)]], 'past the bound the oldest is read for at once, not forgotten');
  t.equal(set.pending, 2, 'never more than the bound waiting');
  t.equal(set.since(key(1), mark), 'unconfirmed');
  now += 501;
  t.equal(set.since(key(1), set.mark()), 'none', 'past the window it is forgotten');
});

t.test('MemoryBus: an intent unannounced past its timeout reaches the listener', async (t) => {
  let now = 0;
  const set = new RecentUnregistrations({ now: () => now, intentTimeoutMs: 100 });
  const bus = new MemoryBus({ limits: CONTRACT_LIMITS, unregistered: set });
  t.teardown(() => bus.close());
  const unconfirmed: string[][] = [];
  bus.watchUnregistered({ unregistered: () => undefined, gap: () => undefined, unconfirmed: (keys) => unconfirmed.push(keys) });
  await bus.start();
  const [r, d] = [tok(), tok()];
  await bus.announceUnregistering(r, d);
  now += 100;
  set.checkIntents();
  t.same(unconfirmed, [[`${r}.${d}`]], 'told with the device key');
});
