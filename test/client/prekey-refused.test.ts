// A pending prekey the gateway refused RATE_LIMITED (its rotation interval, 15 minutes by
// default, had not passed) is kept with when to send it again (device.json pendingPrekey
// refusedAt / retryAt), and no client of the profile sends it before then: not the next
// `hushwire send` or `listen` (each a new process, a new client), not a reconnect, not
// rotatePrekey() (answered RATE_LIMITED by the SDK itself, with what is left of the
// wait). Before, every connect sent it again, each one more RATE_LIMITED refusal counted
// at the gateway until the interval passed. Once the wait has run out (the client's
// clock), the automatic check sends it again; a refusal then is expected, not a failure.
//
// Against a real gateway (embedded bus); the refusals are counted by the gateway's own
// metrics (hushwire_prekey_rotations_total{outcome="rate_limited"}, hushwire_errors_total).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { HushwireClient, MemoryStore, HushwireError, ErrorCode } from '../../client/index.ts';
import { readDevice } from '../../client/profile-data.ts';
import { pendingHoldMs, pendingFromJson, pendingToJson, refusedPending, type PendingPrekey } from '../../client/prekeys.ts';
import { CloseCode } from '../../relay/errors.ts';
import { startTestGateway, warmEvaluator, type TestGateway } from '../helpers/gateway.ts';
import { freshNumber } from '../helpers/handsets.ts';
import { until } from '../helpers/poll.ts';
import { bytesToHex } from '@noble/hashes/utils.js';

const MIN = 60_000;

t.test('pendingHoldMs and the hold in device.json', async (t) => {
  const p: PendingPrekey = { secret: new Uint8Array(randomBytes(32)), public: new Uint8Array(randomBytes(32)), signature: new Uint8Array(randomBytes(64)), createdAt: 1_700_000_000_000 };
  t.equal(pendingHoldMs(undefined, 5), 0, 'no pending key');
  t.equal(pendingHoldMs(p, 1_700_000_000_000), 0, 'never refused: send when due');
  const held = refusedPending(p, 1_700_000_100_000, 600_000);
  t.same([held.refusedAt, held.retryAt], [1_700_000_100_000, 1_700_000_700_000]);
  t.equal(pendingHoldMs(held, 1_700_000_100_000), 600_000, 'the whole retry_after_ms at the refusal');
  t.equal(pendingHoldMs(held, 1_700_000_400_000), 300_000, 'what is left of it later');
  t.equal(pendingHoldMs(held, 1_700_000_700_000), 0, 'none once it has passed');
  t.equal(pendingHoldMs(held, 1_700_000_000_000), 0, 'a clock gone back past the refusal: no hold (unknowable)');
  t.same(pendingFromJson(JSON.parse(JSON.stringify(pendingToJson(held)))), held, 'round trip with the hold');
  t.same(pendingFromJson(JSON.parse(JSON.stringify(pendingToJson(p)))), p, 'and without: no hold fields written');
  const json = pendingToJson(held) as Record<string, unknown>;
  for (const bad of [{ retryAt: 'soon' }, { refusedAt: undefined }, { retryAt: 5 }]) {
    t.same(pendingFromJson({ ...json, ...bad }), p, `a malformed hold (${JSON.stringify(bad)}) reads as none, not as damage`);
  }
});

/** Waits for the rotation a connect began, if any (its set_prekey answered). */
async function rotationDone(c: HushwireClient): Promise<void> {
  await (c as unknown as { rotating: Promise<void> | null }).rotating?.catch(() => {});
}

async function refusals(gw: TestGateway): Promise<{ prekey: number; errors: number }> {
  const prekey = (await gw.metrics.prekeyRotations.get()).values.find((v) => v.labels.outcome === 'rate_limited')?.value ?? 0;
  const errors = (await gw.metrics.errors.get()).values.find((v) => v.labels.code === ErrorCode.RATE_LIMITED)?.value ?? 0;
  return { prekey, errors };
}

t.test('a refused pending prekey is not sent again before the retry_after_ms the gateway gave: not by later processes, reconnects or rotatePrekey()', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  const store = new MemoryStore();
  await HushwireClient.register({ store, gateways: [gw.url], number: freshNumber() });

  // `hushwire rotate-prekey` twice: the second is refused by the gateway's interval.
  const c1 = await HushwireClient.open(store, { receive: false, prekeyRotationMs: 0 });
  await c1.rotatePrekey();
  const refused = await c1.rotatePrekey().then(() => null, (e: unknown) => e as HushwireError);
  t.equal(refused?.code, ErrorCode.RATE_LIMITED, 'a second rotation within the interval: refused by the gateway');
  const first = await refusals(gw);
  t.equal(first.prekey, 1, 'one refusal at the gateway');
  const pending = (await readDevice(store)).pendingPrekey!;
  t.ok(pending, 'the new key kept pending');
  t.ok(pending.refusedAt !== undefined && pending.retryAt !== undefined, 'with when to send it again');
  t.equal(pending.retryAt! - pending.refusedAt!, refused!.retryAfterMs, 'the retry_after_ms the gateway gave');
  t.ok(refused!.retryAfterMs > 10 * MIN, 'most of the 15 minutes');

  // rotatePrekey() meanwhile: the SDK's own answer, nothing sent.
  const local = await c1.rotatePrekey().then(() => null, (e: unknown) => e as HushwireError);
  t.equal(local?.code, ErrorCode.RATE_LIMITED, 'rotatePrekey() during the wait: RATE_LIMITED');
  t.ok(local!.retryAfterMs > 0 && local!.retryAfterMs <= refused!.retryAfterMs, 'with what is left of the wait');
  t.same(await refusals(gw), first, 'not asked: the gateway refused nothing more');
  await c1.close();

  // Later processes of the profile (hushwire send, listen), each with the automatic
  // rotation on (a pending key is what it would send): each connects, lets a rotation
  // the connect began finish (its set_prekey answered), and closes.
  for (const receive of [false, false, true]) {
    const c = await HushwireClient.open(store, { receive });
    await c.connect();
    await rotationDone(c);
    await c.close();
  }
  t.same(await refusals(gw), first, 'three later processes: no set_prekey, no refusal');

  // One client through a reconnect (the gateway ends its socket; the client comes back).
  let connects = 0;
  const c2 = await HushwireClient.open(store, { onState: (s) => { if (s.to === 'connected') connects++; } });
  await c2.connect();
  await rotationDone(c2);
  gw.relay.closeAll(CloseCode.GOING_AWAY, 'test: going away');
  await until('the client reconnected', () => connects >= 2 && c2.connectionState === 'connected', 30_000);
  await rotationDone(c2);
  await c2.close();
  t.same(await refusals(gw), first, 'a reconnect: no set_prekey either');
  t.equal(bytesToHex((await readDevice(store)).pendingPrekey!.public), bytesToHex(pending.public), 'the same key still pending');

  // Past the wait by the client's clock (the gateway's 15 minutes have not passed by its
  // own): the automatic check sends the key again; the refusal is expected, the hold set
  // anew from it, nothing told to the app.
  const later = pending.retryAt! + MIN;
  const told: string[] = [];
  const c3 = await HushwireClient.open(store, {
    receive: false, clock: () => later, onStoreError: (e: unknown) => told.push(`store: ${String(e)}`), onCallbackError: (e: unknown) => told.push(`callback: ${String(e)}`),
  });
  await c3.connect();
  await rotationDone(c3);
  await c3.close();
  const after = await refusals(gw);
  t.equal(after.prekey, 2, 'sent once more once the wait had passed (refused again by the gateway\'s own clock)');
  t.same(told, [], 'nothing told to the app');
  const again = (await readDevice(store)).pendingPrekey!;
  t.equal(again.refusedAt, later, 'the new refusal kept, by the client\'s clock');
  t.ok(again.retryAt! > later, 'with its wait');
});
