// A refund belongs to its charge: it gives back exactly that charge, once, in the window
// the charge went into.
//
// - Once: the NATS bus tries a counter write again when the first try failed fast (the
//   connection dropped, relay/bus/nats.ts #counterTry); when that first try had landed,
//   the second meets it as a conflict, and the refund's compare-and-set loop read the
//   record again and gave the charge back a second time: a unit never charged (the
//   budget above what was charged). A second call of the same refund did the same.
// - Its window: with the clock-skew tolerance (CLOCK_SKEW_MS, 7279127), a window that
//   starts up to 60 s after the charge counted as the charge's, so a charge made just
//   before its window ended was given back from the next window, opened meanwhile by a
//   gateway whose clock is ahead: a unit that window never charged.
//
// A charge whose write is tried again that way was taken twice (a unit the request did
// not use; the safe side, but a verification code of 5 a day lost to a NATS blip).
//
// Real nats-server, the NATS bus, SharedBudgets as the gateways use it (injected clocks).
import t from 'tap';
import { SharedBudgets, decodeWindow, RECORD_MAX_BYTES, type ChargeSpec } from '../../relay/privacy/budget.ts';
import { RATE_WINDOW_MS } from '../../relay/privacy/options.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { lostAnswersBus } from '../helpers/bus-hooks.ts';
import { tok, verifyStart as vs, codeOf } from '../helpers/counters.ts';

const DAY = RATE_WINDOW_MS;

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  t.test('refunds on the NATS counters', { timeout: 120_000 }, async (t) => {
    const bus = await lostAnswersBus(t, 'brf');
    const used = async (key: string): Promise<{ s: number; n: number } | null> => {
      const rec = await bus.counterGet(key);
      const w = rec === null ? null : decodeWindow(rec.value);
      return w === null ? null : { s: w.s, n: w.n };
    };

    t.test('a refund whose write is tried again after a lost answer gives the charge back once', async (t) => {
      const gw = new SharedBudgets(bus, DAY);
      const k = `vs.${tok()}`;
      const first = await gw.charge(vs(k, 3));
      await gw.charge(vs(k, 3));
      await gw.charge(vs(k, 3));
      t.equal((await used(k))!.n, 3, 'three charged');
      bus.lose = 1;
      t.equal(await gw.refund(first), true, 'given back');
      t.equal(bus.lose, 0, 'its write landed and was tried again');
      t.equal((await used(k))!.n, 2, 'one unit given back, not two');
      t.equal(await gw.refund(first), true, 'the same refund again');
      t.equal(await new SharedBudgets(bus, DAY).refund(first), true, 'and by another gateway');
      t.equal((await used(k))!.n, 2, 'still one unit');
      t.equal(await codeOf(gw.charge(vs(k, 3))), 'ok', 'the unit given back is charged again');
      t.equal(await codeOf(gw.charge(vs(k, 3))), 'RATE_LIMITED', 'and the budget holds: no unit that was never charged');
    });

    t.test('a charge whose write is tried again after a lost answer is taken once', async (t) => {
      const gw = new SharedBudgets(bus, DAY);
      const k = `vs.${tok()}`;
      bus.lose = 1;
      const charged = await gw.charge(vs(k, 3));
      t.equal(bus.lose, 0, 'its write landed and was tried again');
      t.equal((await used(k))!.n, 1, 'one unit charged, not two');
      await gw.charge(vs(k, 3));
      t.equal(await codeOf(gw.charge(vs(k, 3))), 'ok', 'the third of 3 still passes');
      t.equal(await gw.refund(charged), true);
      t.equal((await used(k))!.n, 2, 'its refund gives back its one unit');
    });

    t.test('a counter charged and refunded many times keeps being written', async (t) => {
      // Each record keeps the ids of its last charges and refunds; NATS counts the KV
      // update's header against the bucket's max value size, so a record that grew with
      // them (8 + 8 ids: 222 bytes) failed every write from then on, UNAVAILABLE.
      const gw = new SharedBudgets(bus, DAY);
      const k = `dev.${tok()}`;
      const fresh = (now: number) => ({ s: now, n: 0, f: 1 as const });
      const spec: ChargeSpec[] = [{ key: k, n: 1, label: 'discovery_device', fresh, limit: () => 2000 }];
      const t0 = Date.now();
      for (let i = 0; i < 20; i++) {
        const c = await gw.charge(spec, t0 + i);
        if (i % 2 === 0) t.equal(await gw.refund(c), true, `refund ${i / 2 + 1}`);
      }
      t.equal((await used(k))!.n, 10, 'every write went through: 20 charges, 10 given back');
      t.ok((await bus.counterGet(k))!.value.length <= RECORD_MAX_BYTES, 'the record within its bound');
    });

    t.test('a refund does not come off a window opened after its charge\'s', async (t) => {
      const behind = new SharedBudgets(bus, DAY); // this gateway's clock
      const ahead = new SharedBudgets(bus, DAY); // a gateway whose clock is 30 s ahead
      const skew = 30_000;
      const t0 = Date.now();
      const k = `vs.${tok()}`;
      await behind.charge(vs(k, 5), t0);
      const late = await behind.charge(vs(k, 5), t0 + DAY - 10_000); // 10 s before the window ends
      t.same(await used(k), { s: t0, n: 2 }, 'two in the window opened at t0');
      // 5 s later by this clock, the other gateway sees that window over and opens one.
      const s2 = t0 + DAY - 5_000 + skew;
      await ahead.charge(vs(k, 5), s2);
      t.same(await used(k), { s: s2, n: 1 }, 'the next window, opened by the gateway ahead');
      t.equal(await behind.refund(late), true, 'the refund: nothing left of its window');
      t.same(await used(k), { s: s2, n: 1 }, 'the next window keeps its own charge');
      for (let i = 0; i < 4; i++) t.equal(await codeOf(ahead.charge(vs(k, 5), s2 + 1 + i)), 'ok', `next window: ${i + 2} of 5`);
      t.equal(await codeOf(ahead.charge(vs(k, 5), s2 + 10)), 'RATE_LIMITED', 'no unit that window never charged');

      // The tolerance still serves its purpose: a charge the behind gateway made in a
      // window opened by the one ahead (starting in its future) is given back there.
      const k2 = `vs.${tok()}`;
      const u0 = Date.now();
      await ahead.charge(vs(k2, 5), u0 + skew);
      const inAhead = await behind.charge(vs(k2, 5), u0 + 1);
      t.same(await used(k2), { s: u0 + skew, n: 2 }, 'both in the window the gateway ahead opened');
      t.equal(await behind.refund(inAhead), true);
      t.same(await used(k2), { s: u0 + skew, n: 1 }, 'given back in that window');
    });
  });
}
