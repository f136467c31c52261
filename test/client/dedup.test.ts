import t from 'tap';
import { SeenSet, BoundedCounters } from '../../client/dedup.ts';
import { loadState, SEEN_CAPACITY } from '../../client/profile.ts';
import { tempDir } from '../helpers/temp.ts';

t.test('SeenSet remembers ids and reports repeats', async (t) => {
  const s = new SeenSet(10);
  t.equal(s.add('a'), true);
  t.equal(s.add('a'), false, 'a repeat');
  t.ok(s.has('a'));
  t.notOk(s.has('b'));
});

t.test('SeenSet is bounded and evicts the oldest first', async (t) => {
  const s = new SeenSet(3);
  for (const id of ['a', 'b', 'c', 'd', 'e']) s.add(id);
  t.equal(s.size, 3);
  t.same(s.toArray(), ['c', 'd', 'e']);
  t.notOk(s.has('a'));
  const reloaded = new SeenSet(3, s.toArray());
  reloaded.add('f');
  t.same(reloaded.toArray(), ['d', 'e', 'f'], 'reloading keeps the eviction order');
  t.throws(() => new SeenSet(0));
});

t.test('SeenSet: an add whose record failed gives back the ids it evicted, oldest end, in order, as room allows', async (t) => {
  const s = new SeenSet(3, ['a', 'b', 'c']);
  const evicted: string[] = [];
  t.equal(s.add('d', evicted), true);
  t.same(evicted, ['a'], 'the add says what it pushed out');
  s.delete('d');
  s.restoreOldest(evicted);
  t.same(s.toArray(), ['a', 'b', 'c'], 'as before the add');
  // Room for one of two: the younger one (pushed out last) comes back.
  const two: string[] = [];
  const s2 = new SeenSet(3, ['a', 'b', 'c']);
  s2.add('d', two);
  s2.add('e', two);
  t.same(two, ['a', 'b']);
  s2.delete('e');
  s2.restoreOldest(two);
  t.same(s2.toArray(), ['b', 'c', 'd'], 'only as many as fit');
  const full = new SeenSet(2, ['x', 'y']);
  full.restoreOldest(['w']);
  t.same(full.toArray(), ['x', 'y'], 'a full set takes none back');
  const has = new SeenSet(3, ['x']);
  has.restoreOldest(['x', 'w']);
  t.same(has.toArray(), ['w', 'x'], 'an id already there is not doubled');
});

t.test('BoundedCounters keeps active peers and drops idle ones', async (t) => {
  const c = new BoundedCounters(2);
  c.set('x', 1);
  c.set('y', 1);
  c.set('x', 2); // touch x
  c.set('z', 1);
  t.same(c.toObject(), { x: 2, z: 1 });
  t.same(new BoundedCounters(5, { a: 1, b: -1, c: 1.5 } as Record<string, number>).toObject(), { a: 1 }, 'garbage dropped on load');
});

t.test('dedup state stays bounded at 10,000 ids across save and reload', async (t) => {
  const dir = tempDir('hw-dedup-');
  const state = await loadState(dir);
  t.equal(state.seen.capacity, SEEN_CAPACITY);
  t.equal(SEEN_CAPACITY, 10_000);
  for (let i = 0; i < 12_345; i++) state.seen.add(i.toString(16).padStart(32, '0'));
  t.equal(state.seen.size, 10_000);
  await state.save();
  const again = await loadState(dir);
  t.equal(again.seen.size, 10_000);
  t.notOk(again.seen.has((0).toString(16).padStart(32, '0')), 'oldest evicted');
  t.ok(again.seen.has((12_344).toString(16).padStart(32, '0')), 'newest kept');
});
