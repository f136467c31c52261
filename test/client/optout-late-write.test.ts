// A profile's dedup state and route book (contacts' numbers) written by another user of
// the profile while an opt-out runs (a `listen` that receives while `unregister` runs in
// another terminal). The opt-out deletes them once more after the device record
// (removeDevice), and a client's save that lands after that second pass finds no device
// record and removes what it wrote (writeForDevice; docs/CLIENT.md, Profiles).
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HushwireClient, MemoryStore, type ProfileRecord } from '../../client/index.ts';
import { removeDevice, readState, SEEN_CAPACITY } from '../../client/profile-data.ts';
import { readRouteBook, ROUTES_CAPACITY } from '../../client/routes.ts';
import { forgetDevice } from '../../client/profile.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { until } from '../helpers/poll.ts';
import { tempDir } from '../helpers/temp.ts';

const KEY = new Uint8Array(32).fill(7);

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

// The rest: a client's dedup state and route book check, after each save, that the
// profile still holds a device record (writeForDevice), so a save landing after the
// second pass above removes itself.

t.test('a device-bound save after an opt-out removes what it wrote and fails NOT_REGISTERED', async (t) => {
  const store = new MemoryStore();
  await store.write('device.json', '{}\n');
  const state = await readState(store, SEEN_CAPACITY, { requireDevice: true });
  const book = await readRouteBook(store, KEY, ROUTES_CAPACITY, { requireDevice: true });
  state.seen.add('aa'.repeat(16));
  await state.save();
  await book.set('+15550100001', new Uint8Array(32).fill(1));
  t.ok(await store.read('state.json'), 'saved while registered');
  t.ok(await store.read('routes.json'));

  await removeDevice(store); // another process opts the profile out
  state.seen.add('bb'.repeat(16));
  await t.rejects(state.save(), { code: 'NOT_REGISTERED' });
  await t.rejects(book.set('+15550100002', new Uint8Array(32).fill(2)), { code: 'NOT_REGISTERED' });
  t.equal(await store.read('state.json'), undefined, 'state.json not left behind');
  t.equal(await store.read('routes.json'), undefined, 'routes.json (contacts) not left behind');
});

t.test('the check runs after the write: an opt-out that runs while the write is under way is caught', async (t) => {
  // The opt-out runs whole after the save started its write and before that write
  // lands (a slow disk): a check made before the write would have seen the device record
  // and left this one behind, after the opt-out's second pass.
  let optOutDuringSave = false;
  class Racing extends MemoryStore {
    override async write(record: ProfileRecord, text: string): Promise<void> {
      if (optOutDuringSave && record !== 'device.json') {
        optOutDuringSave = false;
        await removeDevice(this);
      }
      await super.write(record, text);
    }
  }
  for (const record of ['state.json', 'routes.json'] as const) {
    const store = new Racing();
    await store.write('device.json', '{}\n');
    const state = await readState(store, SEEN_CAPACITY, { requireDevice: true });
    const book = await readRouteBook(store, KEY, ROUTES_CAPACITY, { requireDevice: true });
    optOutDuringSave = true;
    if (record === 'state.json') await t.rejects(state.save(), { code: 'NOT_REGISTERED' }, record);
    else await t.rejects(book.set('+15550100001', new Uint8Array(32).fill(1)), { code: 'NOT_REGISTERED' }, record);
    t.equal(await store.read(record), undefined, `${record} gone`);
  }
});

t.test('a bare ProfileState or RouteBook (no requireDevice) writes without the check', async (t) => {
  const store = new MemoryStore();
  const state = await readState(store);
  await state.save();
  await (await readRouteBook(store, KEY)).set('+15550100001', new Uint8Array(32).fill(1));
  t.ok(await store.read('state.json'));
  t.ok(await store.read('routes.json'));
});

t.test('a listening client whose profile another process forgot: the next message ends its reader NOT_REGISTERED and leaves no record behind', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const [A, B] = ['+15550108851', '+15550108852'];
  const dir = join(tempDir('hw-late-'), 'a');
  const b = new MemoryStore();
  await HushwireClient.register({ profileDir: dir, gateways: [gw.url], number: A });
  await HushwireClient.register({ store: b, gateways: [gw.url], number: B });
  const reader = await HushwireClient.open(dir);
  t.teardown(() => reader.close());
  await reader.connect();
  const got: string[] = [];
  let ended: unknown = 'not ended';
  const pump = (async () => {
    try {
      for await (const m of reader.messages()) got.push(m.text);
      ended = undefined;
    } catch (e) { ended = e; }
  })();
  const sender = await HushwireClient.open(b, { receive: false });
  t.teardown(() => sender.close());
  await sender.connect();
  await sender.send(A, 'before');
  await until('the first message', () => got.length === 1, 10_000);
  t.ok(existsSync(join(dir, 'state.json')), 'the reader recorded it');

  // Another process forgets the profile (`hushwire unregister --forget-locally`); the
  // relay still has the device, so the reader stays connected and receives.
  await forgetDevice(dir);
  await sender.send(A, 'after');
  // Bounded: without the check the reader would go on (and write the records back).
  await until('the reader to end', () => ended !== 'not ended', 15_000).catch(() => {});
  t.match(ended, { code: 'NOT_REGISTERED' }, 'the reader ends saying why');
  t.same(got, ['before'], 'the message it could not record was not shown');
  t.notOk(existsSync(join(dir, 'state.json')), 'no dedup state came back');
  t.notOk(existsSync(join(dir, 'routes.json')), 'no route book (contacts) came back');
  t.notOk(existsSync(join(dir, 'device.json')));
});
