// A profile's dedup state and route book (contacts' numbers) written by another user of
// the profile while an opt-out runs (a `listen` that receives while `unregister` runs in
// another terminal). The opt-out deletes them once more after the device record
// (removeDevice), and a client's save that lands after that second pass finds no device
// record and removes what it wrote (writeForDevice; docs/CLIENT.md, Profiles).
import t, { type Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HushwireClient, MemoryStore, type ProfileRecord } from '../../client/index.ts';
import { removeDevice, readState, SEEN_CAPACITY } from '../../client/profile-data.ts';
import { readRouteBook, ROUTES_CAPACITY } from '../../client/routes.ts';
import { readKeyBook, KEYS_CAPACITY } from '../../client/keybook.ts';
import { forgetDevice } from '../../client/profile.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { until } from '../helpers/poll.ts';
import { tempDir } from '../helpers/temp.ts';

const KEY = new Uint8Array(32).fill(7);
/** The device the records belong to, and a device record of it (only its id is read). */
const DEVICE = new Uint8Array(16).fill(9);
const DEVICE_RECORD = `${JSON.stringify({ version: 1, device: '09'.repeat(16) })}\n`;

t.test('removeDevice: records written back while it runs (another process) are gone at the end', async (t) => {
  // Between the route book's delete and the device record's, another user of the
  // profile writes both back: the pass after the device record removes them.
  class Busy extends MemoryStore {
    override async delete(record: ProfileRecord): Promise<void> {
      if (record === 'device.json') {
        await super.write('state.json', 'late state\n');
        await super.write('routes.json', 'late routes with a contact\n');
        await super.write('keys.json', 'late contact keys\n');
      }
      return super.delete(record);
    }
  }
  const store = new Busy();
  for (const r of ['device.json', 'gateways.json', 'state.json', 'routes.json', 'keys.json'] as const) await store.write(r, `${r}\n`);
  await removeDevice(store);
  for (const r of ['device.json', 'state.json', 'routes.json', 'keys.json'] as const) t.equal(await store.read(r), undefined, `${r} gone`);
  t.equal(await store.read('gateways.json'), 'gateways.json\n', 'gateways.json kept');
});

// The rest: a client's dedup state and route book check, before and after each save,
// that the profile still holds this device's record (writeForDevice), so a save landing
// after the second pass above removes itself, and a profile registered again by another
// device keeps that device's records.

t.test('a device-bound save after an opt-out removes what it wrote and fails NOT_REGISTERED', async (t) => {
  const store = new MemoryStore();
  await store.write('device.json', DEVICE_RECORD);
  const state = await readState(store, SEEN_CAPACITY, { device: DEVICE });
  const book = await readRouteBook(store, KEY, ROUTES_CAPACITY, { device: DEVICE });
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
  for (const record of ['state.json', 'routes.json', 'keys.json'] as const) {
    const store = new Racing();
    await store.write('device.json', DEVICE_RECORD);
    const state = await readState(store, SEEN_CAPACITY, { device: DEVICE });
    const book = await readRouteBook(store, KEY, ROUTES_CAPACITY, { device: DEVICE });
    const keys = await readKeyBook(store, KEY, KEYS_CAPACITY, { device: DEVICE });
    optOutDuringSave = true;
    if (record === 'state.json') await t.rejects(state.save(), { code: 'NOT_REGISTERED' }, record);
    else if (record === 'routes.json') await t.rejects(book.set('+15550100001', new Uint8Array(32).fill(1)), { code: 'NOT_REGISTERED' }, record);
    else await t.rejects(keys.observe(new Uint8Array(32).fill(1), [{ device: new Uint8Array(16).fill(2), identityKey: new Uint8Array(32).fill(3), prekey: new Uint8Array(32).fill(4) }]).save, { code: 'NOT_REGISTERED' }, record);
    t.equal(await store.read(record), undefined, `${record} gone`);
  }
});

t.test('a profile that holds another device: a device-bound save writes nothing over its records', async (t) => {
  // Another process forgot the profile and registered a new device in it.
  const store = new MemoryStore();
  await store.write('device.json', DEVICE_RECORD);
  const state = await readState(store, SEEN_CAPACITY, { device: DEVICE });
  const book = await readRouteBook(store, KEY, ROUTES_CAPACITY, { device: DEVICE });
  const other = `${JSON.stringify({ version: 1, device: '0a'.repeat(16) })}\n`;
  await store.write('device.json', other);
  await store.write('state.json', 'the new device\'s state\n');
  await store.write('routes.json', 'the new device\'s routes\n');
  state.seen.add('aa'.repeat(16));
  await t.rejects(state.save(), { code: 'NOT_REGISTERED' });
  await t.rejects(book.set('+15550100001', new Uint8Array(32).fill(1)), { code: 'NOT_REGISTERED' });
  t.equal(await store.read('state.json'), 'the new device\'s state\n', 'its state.json untouched');
  t.equal(await store.read('routes.json'), 'the new device\'s routes\n', 'its routes.json untouched');

  // Registered again while a save is being written: what the save wrote (this device's
  // contacts, over the other device's record) is removed.
  let reRegisterDuringSave = false;
  class Racing extends MemoryStore {
    override async write(record: ProfileRecord, text: string): Promise<void> {
      if (reRegisterDuringSave && record !== 'device.json') {
        reRegisterDuringSave = false;
        await super.write('device.json', other);
      }
      await super.write(record, text);
    }
  }
  const racing = new Racing();
  await racing.write('device.json', DEVICE_RECORD);
  const late = await readRouteBook(racing, KEY, ROUTES_CAPACITY, { device: DEVICE });
  reRegisterDuringSave = true;
  await t.rejects(late.set('+15550100001', new Uint8Array(32).fill(1)), { code: 'NOT_REGISTERED' });
  t.equal(await racing.read('routes.json'), undefined, 'no contact of this device left in the other device\'s profile');
});

t.test('a bare ProfileState or RouteBook (no device) writes without the check', async (t) => {
  const store = new MemoryStore();
  const state = await readState(store);
  await state.save();
  await (await readRouteBook(store, KEY)).set('+15550100001', new Uint8Array(32).fill(1));
  t.ok(await store.read('state.json'));
  t.ok(await store.read('routes.json'));
});

/** A profile directory registered as A with a client reading it (its messages() pumped
 *  into `got`; `run.ended` is what ended it), and B's client sending to A, which has sent
 *  'before', read by A. */
async function listeningProfile(t: Test, A: string, B: string) {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const dir = join(tempDir('hw-late-'), 'a');
  const b = new MemoryStore();
  await HushwireClient.register({ profileDir: dir, gateways: [gw.url], number: A });
  await HushwireClient.register({ store: b, gateways: [gw.url], number: B });
  const reader = await HushwireClient.open(dir);
  t.teardown(() => reader.close());
  await reader.connect();
  const got: string[] = [];
  const run = { ended: 'not ended' as unknown };
  const pump = (async () => {
    try {
      for await (const m of reader.messages()) got.push(m.text);
      run.ended = undefined;
    } catch (e) { run.ended = e; }
  })();
  const sender = await HushwireClient.open(b, { receive: false });
  t.teardown(() => sender.close());
  await sender.connect();
  await sender.send(A, 'before');
  await until('the first message', () => got.length === 1, 10_000);
  return { gw, dir, reader, sender, got, run, pump };
}

t.test('a listening client whose profile another process forgot: the next message ends its reader NOT_REGISTERED and leaves no record behind', async (t) => {
  const A = '+15550108851';
  const { dir, sender, got, run } = await listeningProfile(t, A, '+15550108852');
  t.ok(existsSync(join(dir, 'state.json')), 'the reader recorded it');

  // Another process forgets the profile (`hushwire unregister --forget-locally`); the
  // relay still has the device, so the reader stays connected and receives.
  await forgetDevice(dir);
  await sender.send(A, 'after');
  // Bounded: without the check the reader would go on (and write the records back).
  await until('the reader to end', () => run.ended !== 'not ended', 15_000).catch(() => {});
  t.match(run.ended, { code: 'NOT_REGISTERED' }, 'the reader ends saying why');
  t.same(got, ['before'], 'the message it could not record was not shown');
  t.notOk(existsSync(join(dir, 'state.json')), 'no dedup state came back');
  t.notOk(existsSync(join(dir, 'routes.json')), 'no route book (contacts) came back');
  t.notOk(existsSync(join(dir, 'device.json')));
});

t.test('a listening client whose profile another process forgot and registered again: it writes nothing over the new device\'s records', async (t) => {
  const A = '+15550108853';
  const { gw, dir, reader, sender, got, run, pump } = await listeningProfile(t, A, '+15550108854');

  // Another process forgets the profile and registers a new device in it (the reader's
  // device stays at the relay, connected: it receives the next message too).
  await forgetDevice(dir);
  await HushwireClient.register({ profileDir: dir, gateways: [gw.url], number: A });
  const state = readFileSync(join(dir, 'state.json'), 'utf8');
  const routes = readFileSync(join(dir, 'routes.json'), 'utf8');
  await sender.send(A, 'after');
  await until('the reader to end', () => run.ended !== 'not ended', 15_000).catch(() => {});
  t.match(run.ended, { code: 'NOT_REGISTERED' }, 'the reader ends: its device is not the profile\'s any more');
  t.same(got, ['before'], 'the message it could not record was not shown');
  t.equal(readFileSync(join(dir, 'state.json'), 'utf8'), state, 'the new device\'s dedup state is untouched');
  t.equal(readFileSync(join(dir, 'routes.json'), 'utf8'), routes, 'and its route book');
  // The new device's client works on its own records.
  const again = await HushwireClient.open(dir);
  t.teardown(() => again.close());
  await again.connect();
  await reader.close();
  await pump;
});
