// The options object open() is given, as the application wrote it: since 206e76f open()
// wraps each callback (client/app-callback.ts) in a copy of the options. That copy was a
// spread, which kept only the object's own properties, and the wrapped callbacks were
// called as plain functions: an options object with inherited settings (Object.create
// of a defaults object) lost them (gateways read from the profile instead), and a
// handler object whose callbacks are methods using `this` failed in each (before, onNotice
// and open()'s report of a damaged keys.json were called as its methods). No I/O: a
// profile in a MemoryStore, open() only.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { HushwireClient, MemoryStore } from '../../client/index.ts';
import { writeDevice } from '../../client/profile-data.ts';

const rand = (n: number) => new Uint8Array(randomBytes(n));

async function profile(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await writeDevice(store, {
    device: rand(16), identitySecret: rand(32), identityPublic: rand(32), prekeySecret: rand(32), prekeyPublic: rand(32),
    route: rand(32), oprfPublicKey: rand(32), number: '+15550108880', registeredAt: new Date(0).toISOString(),
  });
  return store;
}

t.test('settings inherited by the options object are used (no gateways.json: the inherited gateways)', async (t) => {
  const store = await profile(); // no gateways.json
  const defaults = { gateways: ['ws://127.0.0.1:9'], receive: false };
  const options = Object.create(defaults) as { onStoreError: (e: unknown) => void };
  options.onStoreError = () => {};
  const client = await HushwireClient.open(store, options);
  t.teardown(() => client.close());
  t.equal(client.connectionState, 'disconnected', 'opened with the inherited gateways');
});

t.test('a callback that is a method of the options object is called as one (this is that object)', async (t) => {
  const store = await profile();
  await store.write('gateways.json', JSON.stringify({ version: 1, gateways: ['ws://127.0.0.1:9'] }));
  await store.write('keys.json', '{ not json');
  class Handlers {
    readonly storeErrors: unknown[] = [];
    readonly failures: unknown[] = [];
    onStoreError(e: unknown): void {
      this.storeErrors.push(e);
    }
    onCallbackError(e: unknown): void {
      this.failures.push(e);
    }
  }
  const h = new Handlers();
  const client = await HushwireClient.open(store, h);
  t.teardown(() => client.close());
  t.equal(h.storeErrors.length, 1, 'the damaged keys.json told to the method, with its object');
  t.same(h.failures, [], 'and nothing failed');
});
