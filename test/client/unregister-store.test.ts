// unregister() whose local delete fails after the relay erased the device, against a
// real (embedded) gateway: the call rejects with the store's error, the profile keeps
// its device record (so it is still taken for registered and can be finished), and a
// second unregister() deletes the records without asking the relay again. It used to
// fail with "connection is closed", and a delete of routes.json failing after
// device.json's left contacts' numbers in a profile no command would take any more.
import t, { type Test } from 'tap';
import { HushwireClient, MemoryStore, ErrorCode, type ProfileRecord } from '../../client/index.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerStores } from '../helpers/store-handsets.ts';

/** A store whose first delete of routes.json fails (after the relay erased the device). */
class FlakyDelete extends MemoryStore {
  failures = 1;
  override async delete(record: ProfileRecord): Promise<void> {
    if (record === 'routes.json' && this.failures > 0) {
      this.failures--;
      throw new Error('storage busy');
    }
    return super.delete(record);
  }
}

/** A gateway, a FlakyDelete profile registered under `number`, and an observer
 *  registered under `observerNumber` and opened send-only to ask the relay what it
 *  lists; closed at the test's end: both tests start there. */
async function flakyWithObserver(t: Test, number: string, observerNumber: string) {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const { a: store, b: observer } = await registerStores(gw.url, new FlakyDelete(), new MemoryStore(), [number, observerNumber]);
  const obs = await HushwireClient.open(observer, { receive: false });
  t.teardown(() => obs.close());
  return { gw, store, obs };
}

t.test('a failed local delete after the relay erased the device: the records stay whole, unregister() again finishes', async (t) => {
  const N = '+15550108871';
  const { store, obs } = await flakyWithObserver(t, N, '+15550108872');
  const c = await HushwireClient.open(store, { receive: false });
  await c.connect();
  await t.rejects(c.unregister(), { message: 'storage busy' });
  t.equal((await obs.discover([N])).get(N)!.registered, false, 'the relay erased the device');
  t.not(await store.read('device.json'), undefined, 'the device record is kept while another record failed to go');
  t.not(await store.read('routes.json'), undefined);
  await c.unregister();
  for (const r of ['device.json', 'state.json', 'routes.json', 'keys.json'] as const) t.equal(await store.read(r), undefined, `${r} deleted`);
  t.not(await store.read('gateways.json'), undefined, 'gateways kept');
  const again = await c.unregister().then(() => null, (e) => e);
  t.equal(again?.code, ErrorCode.NOT_REGISTERED, 'then, as after any opt-out, NOT_REGISTERED');
  await t.rejects(HushwireClient.open(store), { code: ErrorCode.NOT_REGISTERED });
});

t.test('unregister() again after a failed delete, when the profile holds another device by then: refused, the new device kept', async (t) => {
  // Between the two calls the profile was forgotten locally and registered anew (another
  // process, or here another handle): the retry must not delete the new device's records,
  // which would leave that device registered at the relay with keys nobody has.
  const N = '+15550108881';
  const { gw, store, obs } = await flakyWithObserver(t, N, '+15550108882');
  const c = await HushwireClient.open(store, { receive: false });
  await t.rejects(c.unregister(), { message: 'storage busy' });
  for (const r of ['device.json', 'state.json', 'routes.json'] as const) await store.delete(r);
  const { device } = await HushwireClient.register({ store, gateways: [gw.url], number: N });
  await t.rejects(c.unregister(), { code: ErrorCode.BAD_REQUEST, message: /holds another device now/ });
  const now = await HushwireClient.open(store, { receive: false });
  t.teardown(() => now.close());
  t.equal(now.deviceId, device, "the new device's records are kept");
  t.equal((await obs.discover([N])).get(N)!.devices, 1, 'and it is the one device the relay lists');
});
