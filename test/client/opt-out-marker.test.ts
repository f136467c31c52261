// The profile's memory of an opt-out whose answer never came (client/opt-out-marker.ts):
// the pure rules, device.json's round trip (a prekey rotation rewrites the record and
// keeps it), and, against a real in-process gateway, what a client does with it: a
// refusal of the device's key is told as after that opt-out, a successful authentication
// begun after the opt-out ended clears it, one begun before leaves it.
import t from 'tap';
import { HushwireClient, MemoryStore, ErrorCode, HushwireError } from '../../client/index.ts';
import { afterAuthenticated, mayChangeAfterAuthenticated, explainAuthFailed, markerFromJson, markerToJson, OPT_OUT_UNCONFIRMED_MESSAGE } from '../../client/opt-out-marker.ts';
import { readDevice, writeDevice } from '../../client/profile-data.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { formatError, exitCodeFor } from '../../cli/errors.ts';

t.test('rules', async (t) => {
  const ended = { sentAt: 1_000, endedAt: 2_000 };
  t.equal(afterAuthenticated(ended, 2_001, 5_000, false), undefined, 'an authentication begun after the opt-out ended clears it');
  t.equal(afterAuthenticated(ended, 2_000, 5_000, true), ended, 'one begun at or before its end keeps it (the removal may have landed after)');
  t.equal(afterAuthenticated(ended, 1_500, 5_000, true), ended);
  const sent = { sentAt: 1_000 };
  t.equal(afterAuthenticated(sent, 9_000, 5_000, false), sent, 'one still being sent is kept without the lock');
  t.same(afterAuthenticated(sent, 9_000, 5_000, true), { sentAt: 1_000, endedAt: 5_000 }, 'under the lock its opt-out is over: ended now, not cleared');
  t.ok(mayChangeAfterAuthenticated(sent, 0));
  t.ok(mayChangeAfterAuthenticated(ended, 2_001));
  t.notOk(mayChangeAfterAuthenticated(ended, 2_000));
  t.notOk(mayChangeAfterAuthenticated(undefined, 9_000));

  const bare = new HushwireError(ErrorCode.AUTH_FAILED, 'authentication failed');
  t.equal(explainAuthFailed(bare, undefined), bare, 'no marker: the refusal as it is');
  const told = explainAuthFailed(bare, ended) as HushwireError;
  t.equal(told.code, ErrorCode.AUTH_FAILED, 'the code stays AUTH_FAILED');
  t.equal(told.optOutUnconfirmed, true);
  t.equal(told.message, OPT_OUT_UNCONFIRMED_MESSAGE);
  t.equal(told.cause, bare);
  const pinned = new HushwireError(ErrorCode.AUTH_FAILED, 'OPRF share keys do not add up to the pinned key');
  t.equal(explainAuthFailed(pinned, ended), pinned, 'the SDK\'s own AUTH_FAILED (a pinned key) keeps its words');
  const other = new HushwireError(ErrorCode.UNAVAILABLE, 'no gateway reachable');
  t.equal(explainAuthFailed(other, ended), other);
  t.equal(bare.optOutUnconfirmed, false, 'false on every other error');

  t.same(markerFromJson(markerToJson(ended)), ended, 'JSON round trip');
  t.same(markerFromJson(markerToJson(sent)), sent);
  t.same(Object.keys(markerToJson(ended)).sort(), ['endedAt', 'sentAt'], 'times only');
  t.equal(markerFromJson(undefined), undefined);
  t.same(markerFromJson('garbage'), { sentAt: 0, endedAt: 0 }, 'an unreadable one: ended long ago (told, then cleared by the next authentication)');

  // The CLI's words: a user's, with the way out, and exit 6 as any AUTH_FAILED.
  const line = formatError(told);
  t.match(line, /no longer accepts this profile's device: the opt-out begun earlier from this profile got no answer/);
  t.match(line, /hushwire unregister --profile DIR --forget-locally/);
  t.notMatch(line, /unregister\(\)/, 'no SDK call named');
  t.equal(exitCodeFor(told), 6);
});

t.test('device.json keeps the marker, through a prekey rotation too', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const store = new MemoryStore();
  await HushwireClient.register({ store, gateways: [gw.url], number: '+15550107711' });
  const p = await readDevice(store);
  t.equal(p.optOut, undefined, 'none after a registration');
  await writeDevice(store, { ...p, optOut: { sentAt: Date.parse('2026-12-07T22:00:00Z'), endedAt: Date.parse('2026-12-07T22:00:06Z') } });
  const raw = JSON.parse((await store.read('device.json'))!) as Record<string, unknown>;
  t.same(raw.optOut, { sentAt: '2026-12-07T22:00:00.000Z', endedAt: '2026-12-07T22:00:06.000Z' });
  // A marker that ended in the future, as far as this connect is concerned: kept.
  const future = Date.now() + 3_600_000;
  await writeDevice(store, { ...p, optOut: { sentAt: future - 1, endedAt: future } });
  const c = await HushwireClient.open(store, { prekeyRotationMs: 0 });
  t.teardown(() => c.close());
  await c.connect();
  await c.rotatePrekey();
  const rotated = await readDevice(store);
  t.not(rotated.prekeyPublic, p.prekeyPublic, 'the prekey rotated');
  t.same(rotated.optOut, { sentAt: future - 1, endedAt: future }, 'the marker kept by the rotation\'s rewrite (an authentication begun before its end does not clear it)');
  await c.close();
});

t.test('a client: a successful authentication begun after the opt-out ended clears the marker; a refusal of the key is told as after that opt-out', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const store = new MemoryStore();
  await HushwireClient.register({ store, gateways: [gw.url], number: '+15550107721' });
  const p = await readDevice(store);

  // An opt-out that ended before this connect (the relay kept the device): cleared.
  await writeDevice(store, { ...p, optOut: { sentAt: Date.now() - 60_000, endedAt: Date.now() - 50_000 } });
  const c = await HushwireClient.open(store, { receive: false, prekeyRotationMs: 0 });
  await c.connect();
  await c.close(); // waits for the look at the marker
  t.equal((await readDevice(store)).optOut, undefined, 'cleared: the device was still registered after that opt-out');

  // One left by a process that ended mid-opt-out (no end): ended by the next connect,
  // cleared by the one after.
  await writeDevice(store, { ...p, optOut: { sentAt: Date.now() - 60_000 } });
  const d = await HushwireClient.open(store, { receive: false, prekeyRotationMs: 0 });
  await d.connect();
  await d.close();
  const left = (await readDevice(store)).optOut;
  t.ok(left?.endedAt !== undefined, 'given an end under the lock, not cleared (its authentication may have begun before that opt-out ended)');
  await new Promise((r) => setTimeout(r, 5));
  const e = await HushwireClient.open(store, { receive: false, prekeyRotationMs: 0 });
  await e.connect();
  await e.close();
  t.equal((await readDevice(store)).optOut, undefined, 'the next authentication clears it');

  // The relay erases the device (an opt-out through a copy of the profile), while this
  // profile holds a marker: its connect is refused AUTH_FAILED, told as after the opt-out.
  const copy = new MemoryStore();
  for (const r of ['device.json', 'gateways.json'] as const) await copy.write(r, (await store.read(r))!);
  const other = await HushwireClient.open(copy, { receive: false });
  await other.unregister();
  await writeDevice(store, { ...p, optOut: { sentAt: Date.now() - 10_000, endedAt: Date.now() - 9_000 } });
  const f = await HushwireClient.open(store, { receive: false, prekeyRotationMs: 0 });
  t.teardown(() => f.close());
  const refused = await f.connect().then(() => null, (err: unknown) => err as HushwireError);
  t.equal(refused?.code, ErrorCode.AUTH_FAILED, 'AUTH_FAILED');
  t.equal(refused?.optOutUnconfirmed, true, 'with optOutUnconfirmed');
  t.equal(refused?.message, OPT_OUT_UNCONFIRMED_MESSAGE);
  const again = await f.unregister().then(() => null, (err: unknown) => err as HushwireError);
  t.equal(again?.optOutUnconfirmed, true, 'unregister() again: the same');
  t.not(await store.read('device.json'), undefined, 'nothing deleted: forgetting the profile is the app\'s (the user\'s) decision');

  // Without a marker the refusal is the bare one, as before.
  await writeDevice(store, p);
  const g = await HushwireClient.open(store, { receive: false, prekeyRotationMs: 0 });
  t.teardown(() => g.close());
  const bare = await g.connect().then(() => null, (err: unknown) => err as HushwireError);
  t.equal(bare?.message, 'authentication failed');
  t.equal(bare?.optOutUnconfirmed, false);
});
