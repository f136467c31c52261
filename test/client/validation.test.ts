// Arguments an application gets wrong fail with HushwireError BAD_REQUEST (or
// BAD_NUMBER) naming what is wrong, not a raw TypeError from deep inside the SDK.
import t from 'tap';
import { HushwireClient, HushwireError, ErrorCode, MemoryStore } from '../../client/index.ts';
import { writeDevice, writeGateways } from '../../client/profile-data.ts';
import { deadUrl } from './fake-gateway.ts';

async function registeredStore(url = 'ws://127.0.0.1:9/ws'): Promise<MemoryStore> {
  const store = new MemoryStore();
  const b = (n: number, v: number) => new Uint8Array(n).fill(v);
  await writeDevice(store, {
    device: b(16, 1), identitySecret: b(32, 2), identityPublic: b(32, 3), prekeySecret: b(32, 4), prekeyPublic: b(32, 5),
    number: '+15550100001', route: b(32, 6), oprfPublicKey: b(32, 7), registeredAt: '2025-01-01T00:00:00.000Z',
  });
  await writeGateways(store, [url]);
  return store;
}

async function failure(p: () => Promise<unknown>): Promise<{ name: string; code: string; message: string }> {
  try {
    await p();
  } catch (e) {
    return { name: (e as Error).name, code: (e as HushwireError).code, message: (e as Error).message };
  }
  return { name: 'RESOLVED', code: '', message: '' };
}

const any = (v: unknown) => v as never;

t.test('open: a bad options argument or option is BAD_REQUEST naming the option', async (t) => {
  const store = await registeredStore();
  const cases: [unknown, RegExp][] = [
    [null, /options must be an object/],
    [{ gateways: 'ws://127.0.0.1:1/ws' }, /gateways must be an array/],
    [{ gateways: [] }, /at least one/],
    [{ requestTimeoutMs: 'abc' }, /option requestTimeoutMs must be a positive number/],
    [{ sendTimeoutMs: Number.NaN }, /option sendTimeoutMs/],
    [{ pingIntervalMs: -5 }, /option pingIntervalMs must be a positive number/],
    [{ idleTimeoutMs: 0 }, /option idleTimeoutMs must be a positive number/],
    [{ pingIntervalMs: 20_000, idleTimeoutMs: 10_000 }, /option idleTimeoutMs must not be below pingIntervalMs/],
    [{ connectAttempts: 0 }, /option connectAttempts/],
    [{ maxWaitingLookups: '512' }, /option maxWaitingLookups must be an integer from 1 to 10000/],
    [{ maxWaitingLookups: 2.5 }, /option maxWaitingLookups must be an integer from 1 to 10000/],
    [{ maxWaitingLookups: Number.NaN }, /option maxWaitingLookups/],
    [{ maxWaitingLookups: Infinity }, /option maxWaitingLookups/],
    [{ maxWaitingLookups: 0 }, /option maxWaitingLookups/],
    [{ maxWaitingLookups: -1 }, /option maxWaitingLookups/],
    [{ maxWaitingLookups: 10_001 }, /option maxWaitingLookups/],
    [{ maxWaitingLookups: null }, /option maxWaitingLookups/],
    [{ onState: 'log' }, /option onState must be a function/],
    [{ WebSocket: () => ({}) }, /not an arrow function/],
  ];
  for (const [options, message] of cases) {
    const f = await failure(() => HushwireClient.open(store, any(options)));
    t.equal(f.code, ErrorCode.BAD_REQUEST, `${JSON.stringify(options)}: ${f.message}`);
    t.match(f.message, message);
  }
  const ok = await HushwireClient.open(store, { pingIntervalMs: 1_000, idleTimeoutMs: 2_500, receive: false });
  await ok.close();
  for (const maxWaitingLookups of [1, 10_000]) await (await HushwireClient.open(store, { maxWaitingLookups, receive: false })).close();
});

t.test('register: no options, or gateways that are not an array, is BAD_REQUEST', async (t) => {
  const none = await failure(() => HushwireClient.register(any(undefined)));
  t.equal(none.code, ErrorCode.BAD_REQUEST);
  t.match(none.message, /register takes an options object/);
  const str = await failure(() => HushwireClient.register(any({ store: new MemoryStore(), number: '+15550100001', gateways: 'ws://127.0.0.1:1/ws' })));
  t.equal(str.code, ErrorCode.BAD_REQUEST);
  t.match(str.message, /gateways must be an array/);
  const timeout = await failure(() => HushwireClient.register(any({ store: new MemoryStore(), number: '+15550100001', gateways: ['ws://127.0.0.1:1/ws'], requestTimeoutMs: 'abc' })));
  t.match(timeout, { code: ErrorCode.BAD_REQUEST, message: /option requestTimeoutMs/ });
});

t.test('discover: a string, null or non-iterable is BAD_REQUEST; any iterable of strings is accepted', async (t) => {
  const client = await HushwireClient.open(await registeredStore(await deadUrl()), { receive: false, connectAttempts: 1, requestTimeoutMs: 200 });
  t.teardown(() => client.close());
  for (const arg of ['+15550100002', null, undefined, 42, { length: 1 }]) {
    const f = await failure(() => client.discover(any(arg)));
    t.equal(f.code, ErrorCode.BAD_REQUEST, `${String(arg)}: ${f.message}`);
    t.match(f.message, /discover takes an array \(or another iterable\)/);
  }
  const notStrings = await failure(() => client.discover(any([1, 2])));
  t.equal(notStrings.code, ErrorCode.BAD_NUMBER);
  // A Set gets past the argument check to the network (here: nothing listens).
  const set = await failure(() => client.discover(new Set(['+15550100002'])));
  t.equal(set.name, 'HushwireError');
  t.equal(set.code, ErrorCode.UNAVAILABLE, set.message);
});

t.test('a WebSocket constructor that throws is reported as such, not as a bad url', async (t) => {
  class Throws {
    constructor() {
      throw new TypeError('not today');
    }
  }
  const client = await HushwireClient.open(await registeredStore(), { receive: false, connectAttempts: 1, WebSocket: any(Throws) });
  t.teardown(() => client.close());
  const f = await failure(() => client.connect());
  t.equal(f.code, ErrorCode.UNAVAILABLE);
  t.match(f.message, /the WebSocket constructor threw \(TypeError\)/);
  t.notMatch(f.message, /bad url/);
});

t.test('connect(timeoutMs): a timeout that is not a positive number is BAD_REQUEST, before any network use', async (t) => {
  const store = await registeredStore(await deadUrl());
  const c = await HushwireClient.open(store, { connectAttempts: 1 });
  t.teardown(() => c.close());
  for (const bad of [-5, 0, Number.NaN, Infinity, 'x', null]) {
    const f = await failure(() => c.connect(any(bad)));
    t.equal(f.code, ErrorCode.BAD_REQUEST, `connect(${String(bad)})`);
    t.match(f.message, /timeoutMs must be a positive number/);
  }
  t.equal(c.connectionState, 'disconnected', 'no attempt was made');
});

t.test('calls after close() say the client is closed (UNAVAILABLE that no retry on this client fixes), not "connection is closed"', async (t) => {
  const store = await registeredStore(await deadUrl());
  const c = await HushwireClient.open(store, { connectAttempts: 1 });
  await c.close();
  const calls: [string, () => Promise<unknown>][] = [
    ['send', () => c.send('+15550100002', 'x')],
    ['discover', () => c.discover(['+15550100002'])],
    ['connect', () => c.connect()],
    ['unregister', () => c.unregister()],
  ];
  for (const [name, call] of calls) {
    const f = await failure(call);
    t.equal(f.code, ErrorCode.UNAVAILABLE, name);
    t.match(f.message, /the client is closed \(close\(\) was called\): open the profile again/, name);
  }
  t.equal((await failure(() => c.send('12', 'x'))).code, ErrorCode.BAD_NUMBER, 'arguments are still checked first');
});

t.test('send: a number that is not a string is BAD_NUMBER, a text that is not a string BAD_REQUEST, before any network use', async (t) => {
  const store = await registeredStore(await deadUrl());
  const c = await HushwireClient.open(store, { connectAttempts: 1 });
  t.teardown(() => c.close());
  for (const n of [15550100002, null, undefined, {}]) t.equal((await failure(() => c.send(any(n), 'x'))).code, ErrorCode.BAD_NUMBER, `number ${String(n)}`);
  for (const text of [42, null, undefined, ['x'], new Uint8Array(2)]) {
    const f = await failure(() => c.send('+15550100002', any(text)));
    t.equal(f.code, ErrorCode.BAD_REQUEST, `text ${String(text)}`);
    t.match(f.message, /text must be a string/);
  }
  t.equal(c.connectionState, 'disconnected', 'no attempt was made');
});

t.test('messages() on a client opened with receive: false is BAD_REQUEST (it waited forever)', async (t) => {
  const store = await registeredStore(await deadUrl());
  const c = await HushwireClient.open(store, { receive: false, connectAttempts: 1 });
  t.teardown(() => c.close());
  const f = await failure(async () => { for await (const _m of c.messages()) break; });
  t.equal(f.code, ErrorCode.BAD_REQUEST);
  t.match(f.message, /receive: false/);
});
