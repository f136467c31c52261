// onStoreError hears of every failed profile write, not only the received messages'
// state.json writes (test/client/inbox.test.ts): the route book written after a
// route proven for a send and the send sequence numbers written after a send are best-effort, and
// their failures were swallowed without a word. Against a real (embedded) gateway.
import t from 'tap';
import { HushwireClient } from '../../client/index.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerStores } from '../helpers/store-handsets.ts';
import { until } from '../helpers/poll.ts';
import { FailingStore } from '../helpers/stores.ts';


t.test('route book and send sequence writes that fail reach onStoreError; sending still works', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const { B, a } = await registerStores(gw.url, new FailingStore(), new FailingStore(), ['+15550108801', '+15550108802']);

  const errors: string[] = [];
  const client = await HushwireClient.open(a, {
    onStoreError: (e) => {
      errors.push(e instanceof Error ? e.message : String(e));
      throw new Error('an app callback that throws changes nothing');
    },
  });
  t.teardown(() => client.close());
  await client.connect();
  a.failing.add('routes.json');
  a.failing.add('state.json');

  // The first send to B proves B's route (saved to the route book) and takes a sequence
  // number (saved to state.json): both writes fail.
  const r = await client.send(B, 'hello');
  t.equal(r.status, 'stored', 'sending works (the route is kept in memory)');
  await until('both failures to be told', () => errors.includes('disk full (routes.json)') && errors.includes('disk full (state.json)'), 10_000);
  t.equal((await client.send(B, 'again')).status, 'stored', 'and goes on working');
});
