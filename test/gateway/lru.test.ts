// relay/lru.ts: bounded, least recently used dropped first, a key in use kept.
import t from 'tap';
import { Lru } from '../../relay/lru.ts';

t.test('holds at most max keys, dropping the least recently used', async (t) => {
  const c = new Lru<number>(4);
  for (let i = 0; i < 4; i++) c.set(`k${i}`, i);
  t.equal(c.size, 4);
  c.set('k4', 4);
  t.equal(c.size, 4);
  t.equal(c.peek('k0'), undefined, 'the oldest went');
  t.same([1, 2, 3, 4].map((i) => c.peek(`k${i}`)), [1, 2, 3, 4]);
  c.set('k2', 22);
  t.equal(c.size, 4, 'replacing a key does not grow the map');
  t.equal(c.get('k2'), 22);
});

t.test('a key in use is never the one dropped, however many others come and go', async (t) => {
  const c = new Lru<string>(100);
  c.set('hot', 'h');
  let lost = 0;
  for (let i = 0; i < 100_000; i++) {
    c.set(`cold${i}`, 'c');
    if (c.get('hot') !== 'h') lost++;
  }
  t.equal(lost, 0);
  t.equal(c.size, 100);
});

t.test('peek does not count as a use; get does (once max/2 insertions have passed)', async (t) => {
  const c = new Lru<number>(10);
  c.set('a', 1);
  for (let i = 0; i < 6; i++) c.set(`x${i}`, i);
  t.equal(c.peek('a'), 1);
  for (let i = 6; i < 9; i++) c.set(`x${i}`, i);
  c.set('y', 0); // 11 keys: 'a', only peeked, is the oldest
  t.equal(c.peek('a'), undefined, 'peeked key dropped');
  const d = new Lru<number>(10);
  d.set('a', 1);
  for (let i = 0; i < 6; i++) d.set(`x${i}`, i);
  t.equal(d.get('a'), 1, 'used after 6 insertions (over max/2): moved to the end');
  for (let i = 6; i < 16; i++) d.set(`x${i}`, i);
  t.equal(d.peek('a'), undefined, 'and dropped once ten newer keys came');
  const e = new Lru<number>(10);
  e.set('a', 1);
  for (let i = 0; i < 6; i++) e.set(`x${i}`, i);
  e.get('a');
  for (let i = 6; i < 14; i++) e.set(`x${i}`, i);
  t.equal(e.peek('a'), 1, 'still there: its use put it behind six others');
});

t.test('bad bounds are refused; clear empties', async (t) => {
  for (const m of [0, -1, 1.5, Number.NaN]) t.throws(() => new Lru(m), RangeError);
  const c = new Lru<number>(2);
  c.set('a', 1);
  c.clear();
  t.equal(c.size, 0);
});
