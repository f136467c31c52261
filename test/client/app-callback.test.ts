// The application's callbacks (ClientOptions.onState, onNotice, onDropped, onStoreError,
// onKeyChange) may throw or be async and reject: the client goes on, nothing becomes an
// unhandled rejection (which ends a Node process by default), and onCallbackError hears
// of each failure with the callback's name. Unit tests of client/app-callback.ts (no
// I/O), then the client against a real (embedded) gateway.
import t, { type Test } from 'tap';
import { callApp, guardCallback } from '../../client/app-callback.ts';
import { HushwireClient, MemoryStore, HushwireError, ErrorCode } from '../../client/index.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { until } from '../helpers/poll.ts';
import { FailingStore } from '../helpers/stores.ts';

/** Lets pending promise reactions (and the rejections they may raise) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Counts the process's unhandled rejections while `t` runs. */
function watchUnhandled(t: Test): () => number {
  let count = 0;
  const listener = (): void => {
    count++;
  };
  process.on('unhandledRejection', listener);
  t.teardown(() => {
    process.off('unhandledRejection', listener);
  });
  return () => count;
}

t.test('callApp: a return, a throw, a rejection, a thenable and a throwing then', async (t) => {
  const unhandled = watchUnhandled(t);
  const reported: unknown[] = [];
  const report = (e: unknown) => reported.push(e);
  const args: number[] = [];
  callApp((n: number) => args.push(n), 7, report);
  t.same(args, [7], 'the callback gets its argument');
  callApp(() => 'a value', 0, report);
  callApp(() => null, 0, report);
  callApp(async () => 'resolved', 0, report);
  await settle();
  t.same(reported, [], 'a callback that returns (a value, null, a resolved promise) reports nothing');

  const thrown = new Error('thrown');
  t.doesNotThrow(() => callApp(() => { throw thrown; }, 0, report), 'a throw does not escape');
  t.equal(reported[0], thrown, 'the thrown error is reported');

  const rejected = new Error('rejected');
  callApp(async () => { throw rejected; }, 0, report);
  await settle();
  t.equal(reported[1], rejected, "an async callback's rejection is reported");

  // Another library's thenable: its then(onFulfilled, onRejected) is used.
  const foreign = new Error('foreign');
  callApp(() => ({ then: (_ok: unknown, fail: (e: unknown) => void) => fail(foreign) }), 0, report);
  t.equal(reported[2], foreign, "a thenable's rejection is reported");

  const badThen = new Error('then getter');
  callApp(() => ({ get then(): never { throw badThen; } }), 0, report);
  t.equal(reported[3], badThen, 'a then getter that throws is reported, not thrown');

  callApp(() => ({ then: 'not a function' }), 0, report);
  await settle();
  t.equal(reported.length, 4, 'an object with a then that is no function is a plain value');
  t.equal(unhandled(), 0, 'no unhandled rejection');
});

t.test('guardCallback: the name, no handler, and a handler that fails itself', async (t) => {
  const unhandled = watchUnhandled(t);
  t.equal(guardCallback('onState', undefined, () => {}), undefined, 'no callback stays no callback');

  const seen: Array<[string, string]> = [];
  const onError = (e: unknown, name: string) => seen.push([name, (e as Error).message]);
  guardCallback('onNotice', () => { throw new Error('sync'); }, onError)!(1);
  guardCallback('onKeyChange', async () => { throw new Error('async'); }, onError)!(1);
  await settle();
  t.same(seen, [['onNotice', 'sync'], ['onKeyChange', 'async']], 'each failure with the name of its option');

  const quiet = guardCallback('onDropped', async () => { throw new Error('dropped'); }, undefined)!;
  t.doesNotThrow(() => quiet(1), 'without a handler, a failure is dropped');

  const throwing = guardCallback('onState', () => { throw new Error('a'); }, () => { throw new Error('the handler throws'); })!;
  t.doesNotThrow(() => throwing(1), 'a handler that throws is dropped');
  const rejecting = guardCallback('onState', async () => { throw new Error('b'); }, async () => { throw new Error('the handler rejects'); })!;
  rejecting(1);
  await settle();
  await settle();
  t.equal(unhandled(), 0, 'no unhandled rejection, whatever the callbacks and the handler do');
});


t.test('async callbacks that reject: the client goes on, onCallbackError hears each, nothing unhandled', async (t) => {
  const unhandled = watchUnhandled(t);
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const [A, B] = ['+15550109901', '+15550109902'];
  const a1 = new FailingStore();
  await HushwireClient.register({ store: a1, gateways: [gw.url], number: A });
  await HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number: B });

  const failures: Array<[string, string]> = [];
  const boom = (what: string) => async (): Promise<void> => {
    await Promise.resolve();
    throw new Error(`${what} failed`);
  };
  const client = await HushwireClient.open(a1, {
    onState: boom('onState'),
    onNotice: boom('onNotice'),
    onKeyChange: boom('onKeyChange'),
    onStoreError: boom('onStoreError'),
    ownDevicesCheckMs: 300,
    onCallbackError: (err, name) => {
      failures.push([name, err instanceof Error ? err.message : String(err)]);
    },
  });
  t.teardown(() => client.close());
  await client.connect();
  await until('onState failures told', () => failures.some(([n]) => n === 'onState'), 10_000);

  // A second device under A's number: the gateway sends new_device (onNotice), and the
  // next look at A's own number (every 300 ms here) lists a device A1 has not seen
  // (onKeyChange, own).
  await HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number: A });
  await until('the new_device notice', () => failures.some(([n]) => n === 'onNotice'), 10_000);
  await until('the key change', () => failures.some(([n]) => n === 'onKeyChange'), 10_000);

  // A failing write of the route book after a send (onStoreError).
  a1.failing.add('routes.json');
  const r = await client.send(B, 'hello');
  t.equal(r.status, 'stored', 'sending works');
  await until('the store error', () => failures.some(([n]) => n === 'onStoreError'), 10_000);

  t.same(
    new Set(failures.map(([n, m]) => `${n}: ${m}`)),
    new Set(['onState: onState failed', 'onNotice: onNotice failed', 'onKeyChange: onKeyChange failed', 'onStoreError: onStoreError failed']),
    'each failure told once per kind, with its callback and its own error',
  );
  t.equal(client.connectionState, 'connected', 'still connected');
  await settle();
  t.equal(unhandled(), 0, 'no unhandled rejection');
});

t.test('onCallbackError is checked like the other callbacks', async (t) => {
  const err = await HushwireClient.open(new MemoryStore(), { onCallbackError: 'log' as never }).catch((e: unknown) => e);
  t.ok(err instanceof HushwireError && err.code === ErrorCode.BAD_REQUEST, 'BAD_REQUEST');
  t.match((err as Error).message, /onCallbackError must be a function/);
});
