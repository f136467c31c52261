// A registration starts the profile's dedup state afresh (client/register.ts): ids seen
// and sequence numbers kept under an earlier registration of the profile are void, and
// the sequence counters' keys name contacts' routes. Since each state.json save merges
// in what the record holds (8447c78), the registration's fresh state was merged with a
// state.json left in the profile and kept all of it. Against a real (embedded) gateway.
import t from 'tap';
import { HushwireClient, MemoryStore } from '../../client/index.ts';
import { startTestGateway } from '../helpers/gateway.ts';

t.test('a registration replaces a state.json left in the profile, not merges with it', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const store = new MemoryStore();
  // Left by an earlier registration (device.json gone: forgotten by hand, or a partial
  // clean-up), with a contact's route in the counters.
  const route = 'ab'.repeat(32);
  await store.write('state.json', JSON.stringify({ version: 1, seen: ['old-id'], recvSeq: { [`${route}:cd`]: 9 }, sendSeq: { [`${route}:ef`]: 4 } }) + '\n');
  await HushwireClient.register({ store, gateways: [gw.url], number: '+15550108870' });
  const state = JSON.parse((await store.read('state.json'))!);
  t.same(state.seen, [], 'no id of the earlier registration');
  t.same(state.recvSeq, {}, 'no sequence number either');
  t.same(state.sendSeq, {});
});
