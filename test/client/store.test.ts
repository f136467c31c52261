// The storage seam (client/store.ts): one contract for every ProfileStore, run on the
// in-memory store and on Node's directory store; and the profile's records (device,
// gateways, dedup state, route book) through a MemoryStore, as the portable SDK keeps
// them.
import t from 'tap';
import { join } from 'node:path';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { MemoryStore, PROFILE_RECORDS, SECRET_RECORDS, isProfileStore, type ProfileStore, type ProfileRecord } from '../../client/store.ts';
import { DirectoryStore } from '../../client/profile.ts';
import { writeDevice, readDevice, writeGateways, readGateways, readState, removeDevice, type DeviceProfile } from '../../client/profile-data.ts';
import { readRouteBook } from '../../client/routes.ts';
import { HushwireClient } from '../../client/portable.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { tempDir } from '../helpers/temp.ts';

function fakeDevice(): DeviceProfile {
  const b = (n: number, v: number) => new Uint8Array(n).fill(v);
  return {
    device: b(16, 1), identitySecret: b(32, 2), identityPublic: b(32, 3), prekeySecret: b(32, 4), prekeyPublic: b(32, 5),
    number: '+15550100001', route: b(32, 6), oprfPublicKey: b(32, 7), registeredAt: '2025-01-01T00:00:00.000Z',
  };
}

const stores: [string, () => ProfileStore][] = [
  ['MemoryStore', () => new MemoryStore()],
  ['DirectoryStore', () => {
    // a registered profile's directory (prepare() makes it; see the test below)
    const dir = join(tempDir('hw-store-'), 'p');
    mkdirSync(dir, { mode: 0o700 });
    return new DirectoryStore(dir);
  }],
];

for (const [name, make] of stores) {
  t.test(`${name}: the ProfileStore contract`, async (t) => {
    const s = make();
    t.ok(isProfileStore(s));
    for (const r of PROFILE_RECORDS) t.equal(await s.read(r), undefined, `${r}: none at first`);
    await s.write('state.json', 'one');
    t.equal(await s.read('state.json'), 'one');
    await s.write('state.json', 'two');
    t.equal(await s.read('state.json'), 'two', 'replaced whole');
    t.equal(await s.read('routes.json'), undefined, 'records are independent');
    await s.delete('state.json');
    t.equal(await s.read('state.json'), undefined);
    await s.delete('state.json');
    t.pass('delete of a missing record is no error');
    const big = 'x'.repeat(1 << 20);
    await s.write('routes.json', big);
    t.equal((await s.read('routes.json'))?.length, big.length, 'a megabyte record');
    for (const bad of ['../device.json', 'keys', '']) {
      await t.rejects(s.read(bad as ProfileRecord), { code: ErrorCode.BAD_REQUEST }, `unknown record ${JSON.stringify(bad)} refused`);
      await t.rejects(s.write(bad as ProfileRecord, 'x'), { code: ErrorCode.BAD_REQUEST });
    }
  });
}

t.test('MemoryStore: strings only, size counts records, instances are separate', async (t) => {
  const a = new MemoryStore();
  const b = new MemoryStore();
  await t.rejects(a.write('device.json', 42 as unknown as string), { code: ErrorCode.BAD_REQUEST });
  await a.write('device.json', '{}');
  t.equal(a.size, 1);
  t.equal(b.size, 0);
  t.equal(await b.read('device.json'), undefined);
  t.same(SECRET_RECORDS, ['device.json', 'pending-device.json'], 'the records with secret keys: the device, and a registration\'s unfinished one');
});

t.test('DirectoryStore: one 0600 file per record in a 0700 directory, nothing else', async (t) => {
  const dir = join(tempDir('hw-store-'), 'p');
  const s = new DirectoryStore(dir);
  await t.rejects(s.write('state.json', '{}'), { code: 'ENOENT' }, 'a write does not make the directory');
  t.notOk(existsSync(dir));
  await s.prepare(); // a registration does
  await s.write('gateways.json', '{}');
  await s.write('device.json', '{}');
  t.same(readdirSync(dir).sort(), ['device.json', 'gateways.json']);
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.throws(() => new DirectoryStore(''), { code: ErrorCode.BAD_REQUEST });
});

t.test('DirectoryStore: a profile deleted while a client runs stays deleted', async (t) => {
  // Before, the first write of each store made the directory again (mkdir -p): the next
  // state or route book save brought back a file with contacts' numbers in it.
  const dir = join(tempDir('hw-store-'), 'p');
  const reg = new DirectoryStore(dir);
  await reg.prepare();
  await reg.write('device.json', '{}');
  const running = new DirectoryStore(dir); // what open(dir) holds
  await running.write('state.json', '{}');
  rmSync(dir, { recursive: true });
  await t.rejects(running.write('routes.json', '{"+15550100002":"x"}'), { code: 'ENOENT' });
  await t.rejects(new DirectoryStore(dir).write('state.json', '{}'), { code: 'ENOENT' });
  t.notOk(existsSync(dir), 'not made again');
});

t.test('profile records round-trip through a MemoryStore', async (t) => {
  const s = new MemoryStore();
  await t.rejects(readDevice(s), { code: ErrorCode.NOT_REGISTERED });
  await writeDevice(s, fakeDevice());
  const d = await readDevice(s);
  t.same(d, fakeDevice());
  t.match(await s.read('device.json'), /"identitySecret": "0202/, 'hex in JSON, as on disk');
  await writeGateways(s, ['ws://127.0.0.1:1/ws', 'wss://gw.example/ws']);
  t.same(await readGateways(s), ['ws://127.0.0.1:1/ws', 'wss://gw.example/ws']);
  await t.rejects(writeGateways(s, ['http://gw.example/ws']), { code: ErrorCode.BAD_REQUEST });

  const state = await readState(s);
  state.seen.add('00'.repeat(16));
  state.recvSeq.set('peer', 3);
  await state.save();
  const again = await readState(s);
  t.ok(again.seen.has('00'.repeat(16)));
  t.equal(again.recvSeq.get('peer'), 3);

  const book = await readRouteBook(s, d.oprfPublicKey);
  await book.set('+15550100002', new Uint8Array(32).fill(9));
  t.same((await readRouteBook(s, d.oprfPublicKey)).get('+15550100002'), new Uint8Array(32).fill(9));
  t.equal((await readRouteBook(s, new Uint8Array(32).fill(8))).size, 0, 'another key: an empty book');

  await s.write('keys.json', '{}\n');
  await s.write('pending-device.json', '{}\n');
  await removeDevice(s);
  t.same(await Promise.all(PROFILE_RECORDS.map(async (r) => (await s.read(r)) !== undefined)), [false, true, false, false, false, false], 'opt-out keeps only gateways.json');
});

t.test('a damaged record is BAD_REQUEST naming the record, never its contents', async (t) => {
  const s = new MemoryStore();
  await writeDevice(s, fakeDevice());
  await writeGateways(s, ['ws://127.0.0.1:1/ws']);
  await s.write('state.json', '{"seen": not json');
  const e = await HushwireClient.open(s).then(() => null, (x: unknown) => x as Error & { code: string });
  t.match(e, { code: ErrorCode.BAD_REQUEST, message: /^profile file state\.json is damaged: delete it to start again/ });
  await s.write('state.json', '{}');
  await s.write('device.json', '{"version":1,"number":"+15550100001","identitySecret":"zz"}');
  const e2 = await HushwireClient.open(s).then(() => null, (x: unknown) => x as Error);
  t.match(e2, { code: ErrorCode.BAD_REQUEST, message: /^profile file device\.json is damaged: .*hushwire unregister --forget-locally/ });
  t.notMatch(e2!.message, /15550100001|zz/);
  await s.write('routes.json', 'garbage');
  await writeDevice(s, fakeDevice());
  await s.delete('state.json');
  t.ok(await readRouteBook(s, fakeDevice().oprfPublicKey), 'a damaged route book is only a cache: empty');
});

t.test("a store's own failure reaches the caller as it is", async (t) => {
  const failing: ProfileStore = {
    read: async () => { throw new Error('storage unavailable'); },
    write: async () => {},
    delete: async () => {},
  };
  await t.rejects(HushwireClient.open(failing), { message: 'storage unavailable' });
});
