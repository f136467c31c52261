import t from 'tap';
import { statSync, readdirSync, readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ensureProfileDir, saveDevice, loadDevice, hasDevice, deleteDevice, saveGateways, loadGateways, loadState,
  type DeviceProfile,
} from '../../client/profile.ts';
import { writeFileAtomic } from '../../client/atomic.ts';
import { loadRouteBook } from '../../client/routebook.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { tempDir } from '../helpers/temp.ts';

function tmp(): string {
  return tempDir('hw-profile-');
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

function fakeDevice(): DeviceProfile {
  const b = (n: number, v: number) => new Uint8Array(n).fill(v);
  return {
    device: b(16, 1), identitySecret: b(32, 2), identityPublic: b(32, 3), prekeySecret: b(32, 4), prekeyPublic: b(32, 5),
    number: '+15550100001', route: b(32, 6), oprfPublicKey: b(32, 7), registeredAt: '2025-01-01T00:00:00.000Z',
  };
}

t.test('the profile directory is 0700 and device.json 0600, whatever the umask', async (t) => {
  const old = process.umask(0o000);
  t.teardown(() => { process.umask(old); });
  const dir = join(tmp(), 'nested', 'profile');
  await saveDevice(dir, fakeDevice());
  t.equal(mode(dir), 0o700);
  t.equal(mode(join(dir, 'device.json')), 0o600);
  await saveGateways(dir, ['ws://127.0.0.1:1/ws']);
  t.equal(mode(join(dir, 'gateways.json')), 0o600);
  const state = await loadState(dir);
  await state.save();
  t.equal(mode(join(dir, 'state.json')), 0o600);
});

t.test('an existing loose directory is tightened to 0700', async (t) => {
  const dir = join(tmp(), 'p');
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  await ensureProfileDir(dir);
  t.equal(mode(dir), 0o700);
});

t.test('device.json round-trips as hex and holds no raw bytes', async (t) => {
  const dir = tmp();
  const dev = fakeDevice();
  await saveDevice(dir, dev);
  const json = JSON.parse(readFileSync(join(dir, 'device.json'), 'utf8'));
  t.equal(json.identitySecret, '02'.repeat(32));
  t.equal(json.route, '06'.repeat(32));
  const back = await loadDevice(dir);
  t.same(back, dev);
  t.ok(await hasDevice(dir));
});

t.test('no device.json: HushwireError NOT_REGISTERED saying "not registered"', async (t) => {
  const dir = tmp();
  const e = await loadDevice(dir).catch((err: unknown) => err);
  t.ok(e instanceof HushwireError && e.code === ErrorCode.NOT_REGISTERED && /not registered/.test(e.message), 'NOT_REGISTERED');
  t.notOk(await hasDevice(dir));
});

t.test('a damaged device.json is refused with a clear error that leaks nothing', async (t) => {
  const dir = tmp();
  writeFileSync(join(dir, 'device.json'), '{"version":1,"number":"+15550100001","device":"zz"}', { mode: 0o600 });
  const e = await loadDevice(dir).catch((err: unknown) => err);
  t.ok(e instanceof HushwireError && e.code === ErrorCode.BAD_REQUEST && /damaged/.test(e.message) && !e.message.includes('+1555'), 'damaged');
  writeFileSync(join(dir, 'device.json'), 'not json', { mode: 0o600 });
  await t.rejects(loadDevice(dir), { code: ErrorCode.BAD_REQUEST });
});

t.test('deleteDevice removes keys and dedup state, keeps gateways, and is idempotent', async (t) => {
  const dir = tmp();
  await saveDevice(dir, fakeDevice());
  await saveGateways(dir, ['ws://a.example/ws', 'wss://b.example/ws']);
  await (await loadState(dir)).save();
  await deleteDevice(dir);
  await deleteDevice(dir);
  t.same(readdirSync(dir).sort(), ['gateways.json']);
  t.same(await loadGateways(dir), ['ws://a.example/ws', 'wss://b.example/ws']);
});

t.test('gateway URLs must be ws:// or wss://', async (t) => {
  const dir = tmp();
  await t.rejects(saveGateways(dir, ['http://x/ws']), { code: ErrorCode.BAD_REQUEST });
  await t.rejects(saveGateways(dir, ['not a url']), { code: ErrorCode.BAD_REQUEST });
  await t.rejects(saveGateways(dir, []), { code: ErrorCode.BAD_REQUEST });
  await t.rejects(loadGateways(dir), { code: ErrorCode.BAD_REQUEST });
});

t.test('state writes are atomic: a reader never sees a torn file, no temp files remain', async (t) => {
  const dir = tmp();
  const state = await loadState(dir);
  state.seen.add('00'.repeat(16));
  await state.save();
  const path = join(dir, 'state.json');
  // The new content goes to a new file while the old one is still linked, so its inode
  // must differ right after one save (after many saves an inode number can be reused).
  const inoBefore = statSync(path).ino;
  state.seen.add('01'.repeat(16));
  await state.save();
  t.not(statSync(path).ino, inoBefore, 'replaced by rename, not rewritten in place');
  let reads = 0;
  let torn = 0;
  let writing = true;
  const reader = (async () => {
    while (writing) {
      const text = readFileSync(path, 'utf8');
      try {
        JSON.parse(text);
      } catch {
        torn++;
      }
      reads++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 200; i++) state.seen.add(`${round}`.padStart(4, '0') + i.toString(16).padStart(28, '0'));
    await state.save();
  }
  writing = false;
  await reader;
  t.equal(torn, 0, `no torn reads in ${reads}`);
  t.same(readdirSync(dir), ['state.json'], 'no temp files left');
  t.equal(mode(path), 0o600);
});

t.test('saves coalesce: a burst costs few writes and the last one has every change', async (t) => {
  const dir = tmp();
  const state = await loadState(dir);
  const saves: Promise<void>[] = [];
  for (let i = 0; i < 1000; i++) {
    state.seen.add(i.toString(16).padStart(32, '0'));
    saves.push(state.save());
  }
  t.ok(new Set(saves).size <= 3, `${new Set(saves).size} distinct writes for 1000 saves`);
  await Promise.all(saves);
  await state.settled();
  const again = await loadState(dir);
  t.equal(again.seen.size, 1000);
});

t.test('a failed atomic write leaves the old file intact and no temp file', async (t) => {
  const dir = tmp();
  const path = join(dir, 'f.json');
  await writeFileAtomic(path, '{"v":1}');
  // Data the write rejects: the failure happens after the temp file exists.
  await t.rejects(writeFileAtomic(path, 42 as unknown as string), { code: 'ERR_INVALID_ARG_TYPE' });
  t.equal(readFileSync(path, 'utf8'), '{"v":1}');
  t.same(readdirSync(dir), ['f.json']);
});

t.test('a profile file open to other users is refused, not read (as ssh refuses a loose key file)', { skip: process.platform === 'win32' ? 'no POSIX modes' : false }, async (t) => {
  const dir = tmp();
  await saveDevice(dir, fakeDevice());
  await saveGateways(dir, ['ws://127.0.0.1:1/ws']);
  t.ok(await loadDevice(dir), '0600 is read');
  const loaders: [string, () => Promise<unknown>][] = [
    ['device.json', () => loadDevice(dir)],
    ['gateways.json', () => loadGateways(dir)],
  ];
  for (const [file, load] of loaders) {
    for (const loose of [0o644, 0o640, 0o604, 0o660, 0o666]) {
      chmodSync(join(dir, file), loose);
      await t.rejects(load(), { code: 'BAD_REQUEST', message: new RegExp(`${file.replace('.', '\\.')} is open to other users \\(mode 0${loose.toString(8)}\\)`) }, `${file} ${loose.toString(8)}`);
    }
    chmodSync(join(dir, file), 0o600);
    t.ok(await load(), `${file} back at 0600 is read`);
  }
  const state = await loadState(dir);
  await state.save();
  chmodSync(join(dir, 'state.json'), 0o644);
  await t.rejects(loadState(dir), { code: 'BAD_REQUEST' }, 'state.json');
  writeFileSync(join(dir, 'routes.json'), '{}', { mode: 0o644 });
  chmodSync(join(dir, 'routes.json'), 0o644);
  await t.rejects(loadRouteBook(dir, new Uint8Array(32)), { code: 'BAD_REQUEST' }, 'routes.json: contacts');
  chmodSync(join(dir, 'routes.json'), 0o600);
  t.ok(await loadRouteBook(dir, new Uint8Array(32)), 'routes.json at 0600');
  // The message names the file and the mode, never the directory (it may carry a name).
  chmodSync(join(dir, 'device.json'), 0o644);
  const e = await loadDevice(dir).then(() => null, (x: unknown) => x);
  t.ok(e instanceof HushwireError);
  t.notMatch((e as Error).message, dir);
});

t.test('open() on a path that is a file, lies under one, or whose device.json is a directory: BAD_REQUEST without the path', async (t) => {
  const { HushwireClient } = await import('../../client/index.ts');
  const dir = tmp();
  const file = join(dir, 'not-a-dir');
  writeFileSync(file, 'x');
  for (const p of [file, join(file, 'sub')]) {
    const e = await HushwireClient.open(p).catch((err: unknown) => err);
    t.ok(e instanceof HushwireError, 'a HushwireError, not a raw ENOTDIR');
    t.equal((e as HushwireError).code, ErrorCode.BAD_REQUEST);
    t.match((e as Error).message, /^the profile directory \(profileDir; the CLI's --profile\) is a file, or lies under one, not a directory: give the directory that a registration made \(HushwireClient\.register, hushwire register\)$/, 'what, where, what to do');
    t.notMatch((e as Error).message, dir, 'the message does not quote the path');
  }
  const odd = tmp();
  mkdirSync(join(odd, 'device.json'));
  const e = await HushwireClient.open(odd).catch((err: unknown) => err);
  t.equal((e as HushwireError).code, ErrorCode.BAD_REQUEST);
  t.match((e as Error).message, /device\.json is not a regular file/);
});

t.test('open() on a profile with no device, or no gateway list: says what is wrong, where and what to do, without the path', async (t) => {
  const { HushwireClient, MemoryStore } = await import('../../client/index.ts');
  const dir = tmp(); // an empty directory: never registered
  for (const p of [dir, new MemoryStore()]) {
    const e = await HushwireClient.open(p).catch((err: unknown) => err);
    t.equal((e as HushwireError).code, ErrorCode.NOT_REGISTERED);
    t.equal((e as Error).message,
      "not registered: the profile given (profileDir or store; the CLI's --profile) holds no device (it was never registered, " +
        'or it opted out): register one with HushwireClient.register (the CLI: hushwire register), or give the profile a registration made');
    t.notMatch((e as Error).message, dir);
  }
  // A device but no gateways.json (a store an app filled itself).
  const store = new MemoryStore();
  await saveDevice(dir, fakeDevice());
  await store.write('device.json', readFileSync(join(dir, 'device.json'), 'utf8'));
  const e = await HushwireClient.open(store).catch((err: unknown) => err);
  t.equal((e as HushwireError).code, ErrorCode.BAD_REQUEST);
  t.equal((e as Error).message,
    'the profile (profileDir or store) has no gateway list (gateways.json, which a registration writes): ' +
      'pass the gateways to open (ClientOptions.gateways), or register the profile (HushwireClient.register, hushwire register)');
  const opened = await HushwireClient.open(store, { gateways: ['ws://127.0.0.1:9/ws'], receive: false });
  await opened.close();
});
