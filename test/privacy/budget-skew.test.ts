// Budget windows across gateways whose clocks differ a little. Every gateway reads the
// same counter record ({"s": window start, "n": used}) with its own wall clock; one
// whose clock is behind the gateway that opened the window saw that window as not begun
// yet and opened a fresh one over it (n = 0): a device, a route or a number got its
// budget again by being served by that gateway within the skew of the window opening.
// Now a window that starts at most CLOCK_SKEW_MS in a gateway's future is the window in
// force there too. Two SharedBudgets on one bus stand for two gateways (injected clocks).
import t from 'tap';
import { MemoryBus } from '../../relay/bus/memory.ts';
import { SharedBudgets, CLOCK_SKEW_MS, decodeWindow, windowAt, type WindowRecord } from '../../relay/privacy/budget.ts';
import { RATE_WINDOW_MS } from '../../relay/privacy/options.ts';
import { tok, verifyStart as vs, codeOf } from '../helpers/counters.ts';

const DAY = RATE_WINDOW_MS;

t.test('a gateway whose clock is behind charges the window in force', async (t) => {
  const bus = new MemoryBus({ limits: { maxMessagesPerDevice: 10, maxAgeMs: 60_000, maxMessageBytes: 1000 } });
  await bus.start();
  t.teardown(() => bus.close());
  const a = new SharedBudgets(bus, DAY);
  const b = new SharedBudgets(bus, DAY);
  const t0 = Date.now();
  const skew = 2_000; // gateway A's clock is 2 s ahead of gateway B's
  const k = `vs.${tok()}`;

  for (let i = 0; i < 5; i++) t.equal(await codeOf(a.charge(vs(k, 5), t0 + skew + i)), 'ok', `A: start ${i + 1} of 5`);
  t.equal(await codeOf(a.charge(vs(k, 5), t0 + skew + 10)), 'RATE_LIMITED', 'A: the budget is spent');
  t.equal(await codeOf(b.charge(vs(k, 5), t0 + 20)), 'RATE_LIMITED', 'B, its clock 2 s behind: the same window, spent');
  t.equal(decodeWindow((await bus.counterGet(k))!.value)!.n, 5, 'the record still counts 5');

  // A refund from B of a charge B took in that window gives it back there.
  const r = `vs.${tok()}`;
  await a.charge(vs(r, 5), t0 + skew);
  const fromB = await b.charge(vs(r, 5), t0 + 30);
  t.equal(decodeWindow((await bus.counterGet(r))!.value)!.n, 2, 'both charges in one window');
  t.equal(await b.refund(fromB), true);
  t.equal(decodeWindow((await bus.counterGet(r))!.value)!.n, 1, 'B\'s refund came off that window');

  // Windows still end: a record whose window is over, or one that starts further in the
  // future than any skew (not a window of now), gives way to a fresh one.
  const fresh = (now: number): WindowRecord => ({ s: now, n: 0 });
  t.same(windowAt({ s: 1_000_000, n: 4 }, 1_000_000 - CLOCK_SKEW_MS, DAY, fresh), { s: 1_000_000, n: 4 }, 'within the skew: in force');
  t.same(windowAt({ s: 1_000_000, n: 4 }, 1_000_000 - CLOCK_SKEW_MS - 1, DAY, fresh), { s: 1_000_000 - CLOCK_SKEW_MS - 1, n: 0 }, 'beyond it: fresh');
  t.same(windowAt({ s: 1_000_000, n: 4 }, 1_000_000 + DAY, DAY, fresh), { s: 1_000_000 + DAY, n: 0 }, 'over: fresh');
  t.ok(CLOCK_SKEW_MS > 0 && CLOCK_SKEW_MS < DAY, 'a tolerance far below the window');
});
