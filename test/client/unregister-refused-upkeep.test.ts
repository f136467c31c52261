// An unregister() that fails before the relay erased the device leaves the client
// registered and connected: its upkeep timers, which unregister() stops first, must run
// again. The prekey check was started again, the look at the own number
// (ownDevicesCheckMs) was not: until the next reconnect, a device added under the
// user's own number went untold. Against a real (embedded) gateway.
import t from 'tap';
import { HushwireClient, MemoryStore, HushwireError, ErrorCode, type KeyChange } from '../../client/index.ts';
import type { ProfileLock } from '../../client/store.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { until } from '../helpers/poll.ts';

/** A MemoryStore with an identity lock that can be made to refuse (as another process
 *  registering the profile would make DirectoryStore's refuse). */
class RefusingLockStore extends MemoryStore {
  refuse = false;
  async lockIdentity(): Promise<ProfileLock> {
    if (this.refuse) throw new HushwireError(ErrorCode.BAD_REQUEST, 'another process is registering or unregistering this profile');
    return { async check() {}, async release() {} };
  }
}

t.test('after a refused unregister() the own number is looked at again while connected', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const A = '+15550108890';
  const store = new RefusingLockStore();
  await HushwireClient.register({ store, gateways: [gw.url], number: A });
  const changes: KeyChange[] = [];
  const client = await HushwireClient.open(store, { receive: false, ownDevicesCheckMs: 200, onKeyChange: (c) => { changes.push(c); } });
  t.teardown(() => client.close());
  await client.connect();

  // The look made at connect is done (one still in flight when unregister() fails would
  // schedule the next itself, which would hide what is tested here).
  const inFlight = () => (client as unknown as { ownChecking: boolean }).ownChecking;
  await until('the look at the own number made at connect', () => !inFlight(), 10_000);
  store.refuse = true;
  await t.rejects(client.unregister(), { code: ErrorCode.BAD_REQUEST }, 'refused before anything reached the relay');
  t.equal(client.connectionState, 'connected', 'still registered and connected');

  // A second device under the user's number: only a look at the own number tells it.
  await HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number: A });
  await until('the own-number check telling the new device', () => changes.some((c) => c.own && c.added.length === 1), 10_000);
  t.pass('told');
});
