// gateway/transport/send-budget.ts: the sum of all sockets' buffered bytes, and which
// socket is shed when it is over the limit (transports run it in test/transport/contract.ts).
import t from 'tap';
import { SendBudget, SHED_FLOOR_BYTES } from '../../gateway/transport/send-budget.ts';

t.test('the total follows each socket\'s reports and releases', async (t) => {
  const b = new SendBudget(1_000_000);
  t.equal(b.total, 0);
  t.ok(b.account(0, 300_000));
  t.ok(b.account(0, 200_000));
  t.equal(b.total, 500_000);
  t.ok(b.account(300_000, 100_000), 'a buffer that shrank');
  t.equal(b.total, 300_000);
  b.release(100_000);
  t.equal(b.total, 200_000, 'a closed socket no longer counts');
  b.release(200_000);
  t.equal(b.total, 0);
});

t.test('over the limit: shed a socket above the floor, never one at or below it', async (t) => {
  const b = new SendBudget(1_000_000);
  t.ok(b.account(0, 990_000), 'under the limit: fine');
  t.equal(b.account(0, SHED_FLOOR_BYTES), true, 'over the limit, but this socket holds only the floor: kept');
  t.equal(b.total, 990_000 + SHED_FLOOR_BYTES, 'its bytes still count');
  t.equal(b.account(0, SHED_FLOOR_BYTES + 1), false, 'over the limit and over the floor: shed');
  t.equal(b.account(990_000, 990_001), false, 'the big one adding more: shed');
  t.equal(b.account(990_001, 0), true, 'a socket whose buffer emptied is never shed');
  t.ok(b.total <= 1_000_000, `back under (${b.total})`);
  t.equal(b.account(SHED_FLOOR_BYTES + 1, 500_000), true, 'under the limit again: a big buffer alone is its own bound\'s business');
});

t.test('property: any sequence of reports and releases keeps the total equal to the sum of live buffers', async (t) => {
  for (let k = 0; k < 100; k++) {
    const limit = 1 + Math.floor(Math.random() * 5_000_000);
    const b = new SendBudget(limit);
    const live = new Map<number, number>();
    for (let step = 0; step < 500; step++) {
      const id = Math.floor(Math.random() * 20);
      if (Math.random() < 0.1) {
        b.release(live.get(id) ?? 0);
        live.delete(id);
        continue;
      }
      const now = Math.floor(Math.random() * 1_000_000);
      const ok = b.account(live.get(id) ?? 0, now);
      live.set(id, now);
      const sum = [...live.values()].reduce((a, x) => a + x, 0);
      if (b.total !== sum) return t.fail(`total ${b.total}, live buffers ${sum}`);
      if (ok !== !(sum > limit && now > SHED_FLOOR_BYTES)) return t.fail(`verdict ${ok} at total ${sum}, own ${now}, limit ${limit}`);
    }
  }
  t.pass('100 random sequences of 500 steps');
});

t.test('report/drop: the same arithmetic, the socket keeping its last report', async (t) => {
  const b = new SendBudget(1_000_000);
  const a = { budgetBytes: 0 };
  const c = { budgetBytes: 0 };
  t.ok(b.report(a, 600_000));
  t.equal(a.budgetBytes, 600_000);
  t.equal(b.report(c, 500_000), false, 'over the limit and over the floor: shed');
  t.equal(b.total, 1_100_000);
  b.drop(c);
  b.drop(c);
  t.equal(c.budgetBytes, 0);
  t.equal(b.total, 600_000, 'dropped once, however often called');
  t.ok(b.report(a, 0));
  t.equal(b.total, 0);
});

t.test('a budget must be positive', async (t) => {
  for (const bad of [0, -1, Number.NaN]) t.throws(() => new SendBudget(bad), RangeError);
});
