// The deployment-wide verification code budget (SharedTokenBucket in the bus's shared
// counters, --verify-start-scope cluster) applies a take or a give-back once, also when
// its counter write landed but lost its answer: the NATS bus tries a write again after a
// fast failure, the second try meets the landed one as a conflict, and the compare-and-
// set loop read the record again and took (gave back) a second token. A take so lost
// cost the deployment a verification code it never sent; a give-back so lost minted one.
// Now each take and give-back writes its random id into the record, and a loop that
// finds its id there stops (as the discovery budgets do, 1bf4e47/828845c).
//
// Real nats-server, the NATS bus with its counter writes' answers lost on demand
// (helpers/bus-hooks.ts LostAnswers), an injected clock (nothing refills).
import t from 'tap';
import { SharedTokenBucket } from '../../relay/shared-token-bucket.ts';
import { CODE_BUDGET_KEY } from '../../relay/verify-gate.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { lostAnswersBus } from '../helpers/bus-hooks.ts';

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  t.test('takes and give-backs on the NATS counters, their answers lost', { timeout: 120_000 }, async (t) => {
    const bus = await lostAnswersBus(t, 'vla');
    const now = 1_000_000;
    // A burst of 3; at 1 a second nothing refills on the frozen clock.
    const tokens = async (): Promise<number> => {
      const rec = await bus.counterGet(CODE_BUDGET_KEY);
      return rec === null ? 3 : (JSON.parse(new TextDecoder().decode(rec.value)) as { t: number }).t;
    };
    const b = new SharedTokenBucket(bus, CODE_BUDGET_KEY, 3, 1, () => now);

    t.equal(await b.take(), 0, 'first take (creates the record)');
    t.equal(await tokens(), 2);
    bus.lose = 1;
    t.equal(await b.take(), 0, 'a take whose write is tried again after landing');
    t.equal(bus.lose, 0, 'the answer was lost');
    t.equal(await tokens(), 1, 'one token taken, not two');
    t.equal(await b.take(), 0, 'the third code of a burst of 3 is still there');
    t.equal(await tokens(), 0);

    bus.lose = 1;
    t.equal(await b.giveBack(), true, 'a give-back whose write is tried again after landing');
    t.equal(bus.lose, 0, 'the answer was lost');
    t.equal(await tokens(), 1, 'one token back, not two');
    t.equal(await b.take(), 0, 'the token given back is taken');
    t.not(await b.take(), 0, 'and no second one: the bucket is empty');

    const rec = await bus.counterGet(CODE_BUDGET_KEY);
    const stored = JSON.parse(new TextDecoder().decode(rec!.value)) as Record<string, unknown>;
    t.same(Object.keys(stored).sort(), ['a', 'c', 'r', 't'], 'the record: tokens, their time, take and give-back ids, nothing else');
    t.ok((stored['c'] as string[]).every((m) => /^[0-9a-f]{8}$/.test(m)) && (stored['c'] as string[]).length <= 4, 'at most 4 take ids, 8 hex each');
  });
}
