// A profile's dedup state and route book (contacts' numbers) written by another user of
// the profile while an opt-out runs (a `listen` that receives while `unregister` runs in
// another terminal): the opt-out deletes them once more after the device record
// (removeDevice). A write that lands after that second pass still survives (not closed
// yet: see docs/CLIENT.md, Profiles).
import t from 'tap';
import { MemoryStore, type ProfileRecord } from '../../client/index.ts';
import { removeDevice } from '../../client/profile-data.ts';

t.test('removeDevice: records written back while it runs (another process) are gone at the end', async (t) => {
  // Between the route book's delete and the device record's, another user of the
  // profile writes both back: the pass after the device record removes them.
  class Busy extends MemoryStore {
    override async delete(record: ProfileRecord): Promise<void> {
      if (record === 'device.json') {
        await super.write('state.json', 'late state\n');
        await super.write('routes.json', 'late routes with a contact\n');
      }
      return super.delete(record);
    }
  }
  const store = new Busy();
  for (const r of ['device.json', 'gateways.json', 'state.json', 'routes.json'] as const) await store.write(r, `${r}\n`);
  await removeDevice(store);
  for (const r of ['device.json', 'state.json', 'routes.json'] as const) t.equal(await store.read(r), undefined, `${r} gone`);
  t.equal(await store.read('gateways.json'), 'gateways.json\n', 'gateways.json kept');
});
