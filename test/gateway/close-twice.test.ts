// The gateway's one close path (gateway/server.ts close) called again while it runs, or a
// drain asked for while it runs: the call settles when the gateway is closed, not at once. Before, it returned at
// once (only a flag was checked), so a caller that closed the gateway while a drain or
// another close was closing it (a test's teardown, the bench's local gateways) went on
// while the bus, the verifier and the evaluator were still being closed.
import t from 'tap';
import { startTestGateway } from '../helpers/gateway.ts';

t.test('close() twice: both settle once the gateway is closed', async (t) => {
  const gw = await startTestGateway();
  const first = gw.close();
  await gw.close();
  t.match(gw.logs(), /gateway closed/, 'the second call settled after the close finished');
  t.equal(gw.bus.status().state, 'closed');
  await first;
  await gw.close();
  t.pass('a third call after the close settles too');
});


t.test('drain() while the gateway closes: settles once it is closed', async (t) => {
  const gw = await startTestGateway();
  const closing = gw.close();
  await gw.drain();
  t.match(gw.logs(), /gateway closed/, 'the drain settled after the close finished');
  await closing;
});
