// Retired prekeys kept as long as the gateways say their mailbox keeps mail (challenge
// mailbox_max_age_s, docs/CLIENT.md "Prekey rotation"):
// - a real gateway on a real nats-server with --mailbox-max-age-s 60 days: mail sealed to
//   a retired prekey still opens at day 50 (with the app's default 33 days it did not),
//   and at day 63 it no longer does, the secret deleted from the profile;
// - scripted gateways (test/client/fake-gateway.ts) for what a real one cannot be made
//   to say: none (an older gateway: today's 33 days), no limit (the 400-day cap), a lower
//   value while a larger is in force; and the remembered value surviving a reopened
//   directory profile, used by an older gateway's connection.
// The client's clock option stands for the days passing.
import t from 'tap';
import { HushwireClient, MemoryStore } from '../../client/index.ts';
import { readDevice, writeDevice } from '../../client/profile-data.ts';
import { DirectoryStore } from '../../client/profile.ts';
import { MAX_TOLD_PREKEY_RETENTION_MS, type RetiredPrekey } from '../../client/prekeys.ts';
import type { ProfileStore } from '../../client/store.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { oprfKeyFile, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { freshNumber } from '../helpers/handsets.ts';
import { tempDir } from '../helpers/temp.ts';
import { until } from '../helpers/poll.ts';
import { readAll, rotateBetweenStored } from '../helpers/stored-mail.ts';
import { startFakeGateway } from './fake-gateway.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Test } from 'tap';

const skip = !haveNatsServer() && 'nats-server not installed';
const DAY = 86_400_000;
const DAY_S = 86_400;

/** An in-process gateway on a nats-server of its own, keeping mail `maxAgeS`. */
async function gatewayKeeping(t: Test, maxAgeS: number): Promise<TestGateway> {
  const server = await startNatsServer({ t });
  const gw = await startTestGateway({ nats: [server.url], oprfKeyFile: oprfKeyFile(), natsPrefix: 'pma', mailboxShards: 1, logLevel: 'warn', mailboxMaxAgeS: maxAgeS });
  t.teardown(() => gw.close());
  return gw;
}

/** A gateway keeping mail 60 days; A's prekey rotated at t0 with 'before' queued for A,
 *  sealed to the prekey now retired, and 'after' sealed to the new one. */
async function rotatedWithMailQueued(t: Test) {
  const gw = await gatewayKeeping(t, 60 * DAY_S);
  const [A, B] = [freshNumber(), freshNumber()];
  const a = new MemoryStore();
  const b = new MemoryStore();
  await HushwireClient.register({ store: a, gateways: [gw.url], number: A });
  await HushwireClient.register({ store: b, gateways: [gw.url], number: B });
  const k0 = await readDevice(a);
  const t0 = await rotateBetweenStored(gw, a, b, A);
  return { gw, a, t0, k0 };
}

t.test('a gateway keeping mail 60 days: mail sealed to the retired prekey still opens at day 50', { skip }, async (t) => {
  const { gw, a, t0, k0 } = await rotatedWithMailQueued(t);
  const k1 = await readDevice(a);
  t.same(k1.retiredPrekeys!.map((r) => bytesToHex(r.public)), [bytesToHex(k0.prekeyPublic)], 'the old prekey retired');
  t.equal(k1.mailboxMaxAge?.maxAgeS, 60 * DAY_S, 'the told mailbox max age remembered in device.json (since the registration)');
  const { c, texts, dropped } = await readAll(a, gw, 2, { clock: () => t0 + 50 * DAY, prekeyRotationMs: 0 });
  t.teardown(() => c.close());
  t.same(texts, ['after', 'before'], 'both open at day 50: the old mail with the retired secret');
  t.same(dropped, []);
  t.ok((await a.read('device.json'))!.includes(bytesToHex(k0.prekeySecret)), 'the retired secret is still kept');
});

t.test('a gateway keeping mail 60 days: after 63 days the retired secret is gone and its mail no longer opens', { skip }, async (t) => {
  const { gw, a, t0, k0 } = await rotatedWithMailQueued(t);
  const { c, texts, dropped } = await readAll(a, gw, 2, { clock: () => t0 + 63 * DAY + 1, prekeyRotationMs: 0 });
  t.teardown(() => c.close());
  t.same(texts, ['after']);
  t.same(dropped, ['unreadable'], 'mail sealed to the expired prekey no longer opens');
  await until('the expired secret deleted from the profile', async () => !(await a.read('device.json'))!.includes(bytesToHex(k0.prekeySecret)), 10_000);
  t.equal((await readDevice(a)).retiredPrekeys, undefined, 'no retired prekeys left');
});

// ---- scripted gateways: what the gateway tells, and what the profile remembers

let realGw: TestGateway | null = null;
t.before(async () => {
  realGw = await startTestGateway({ logLevel: 'warn' });
});
t.teardown(() => realGw?.close());

function retiredAt(at: number): RetiredPrekey {
  const kp = generateKeyPair();
  return { secret: kp.secretKey, public: kp.publicKey, retiredAt: at };
}

/** A registered profile (on the embedded gateway, which only registers it) given these
 *  retired prekeys and no remembered mailbox max age, as a profile from before it. */
async function profileWith(store: ProfileStore, retired: RetiredPrekey[]): Promise<void> {
  await HushwireClient.register({ store, gateways: [realGw!.url], number: freshNumber() });
  const d = await readDevice(store);
  delete d.mailboxMaxAge;
  await writeDevice(store, { ...d, retiredPrekeys: retired });
}

const retiredHex = async (store: ProfileStore) => ((await readDevice(store)).retiredPrekeys ?? []).map((r) => bytesToHex(r.public));

/** Opens `store` against a scripted gateway telling `mailboxMaxAgeS` (undefined: the
 *  field absent), with the clock at `nowMs`, until `done` holds of the profile. */
async function connectUntil(t: Test, store: ProfileStore, mailboxMaxAgeS: number | undefined, nowMs: number, what: string, done: () => Promise<boolean>): Promise<void> {
  const oprfPublicKey = (await readDevice(store)).oprfPublicKey;
  const fake = await startFakeGateway({ oprfPublicKey, ...(mailboxMaxAgeS !== undefined ? { mailboxMaxAgeS } : {}) });
  const c = await HushwireClient.open(store, { gateways: [fake.url], receive: false, prekeyRotationMs: 0, clock: () => nowMs });
  try {
    await c.connect();
    await until(what, done, 10_000);
  } finally {
    await c.close();
    await fake.close();
  }
  t.pass(what);
}

t.test('an older gateway (no mailbox_max_age_s), a profile without a remembered one: 33 days, as before', async (t) => {
  const T = Date.now();
  const store = new MemoryStore();
  const [r34, r32] = [retiredAt(T - 34 * DAY), retiredAt(T - 32 * DAY)];
  await profileWith(store, [r32, r34]);
  await connectUntil(t, store, undefined, T, 'the prekey retired 34 days ago deleted', async () => (await retiredHex(store)).length === 1);
  t.same(await retiredHex(store), [bytesToHex(r32.public)], 'the one retired 32 days ago kept');
  t.equal((await readDevice(store)).mailboxMaxAge, undefined, 'nothing told, nothing remembered');
});

t.test('the remembered value survives reopening a directory profile: an older gateway\'s connection keeps 63 days', async (t) => {
  const T = Date.now();
  const dir = tempDir('hw-mbage-');
  const store = new DirectoryStore(dir);
  const [r64, r62, r34] = [retiredAt(T - 64 * DAY), retiredAt(T - 62 * DAY), retiredAt(T - 34 * DAY)];
  await profileWith(store, [r34, r62, r64]);
  // A gateway tells 60 days at T - 34 days; nothing is old enough to go then.
  await connectUntil(t, store, 60 * DAY_S, T - 34 * DAY, 'the told value saved', async () => (await readDevice(store)).mailboxMaxAge !== undefined);
  t.same((await readDevice(store)).mailboxMaxAge, { maxAgeS: 60 * DAY_S, toldAt: T - 34 * DAY });
  t.equal((await retiredHex(store)).length, 3, 'nothing deleted then');
  // Reopened (a new store object on the directory, a new client) at T, on an older gateway.
  const again = new DirectoryStore(dir);
  await connectUntil(t, again, undefined, T, 'the prekey retired 64 days ago deleted', async () => (await retiredHex(again)).length === 2);
  t.same(await retiredHex(again), [bytesToHex(r34.public), bytesToHex(r62.public)], 'those of 62 and 34 days kept (63 days, remembered)');
  t.same((await readDevice(again)).mailboxMaxAge, { maxAgeS: 60 * DAY_S, toldAt: T - 34 * DAY }, 'still remembered, unchanged');
});

t.test('a gateway telling no limit: the 400-day cap holds', async (t) => {
  const T = Date.now();
  const store = new MemoryStore();
  const cap = MAX_TOLD_PREKEY_RETENTION_MS / DAY;
  const [old, young] = [retiredAt(T - (cap + 1) * DAY), retiredAt(T - (cap - 1) * DAY)];
  await profileWith(store, [young, old]);
  await connectUntil(t, store, 2 ** 32 - 1, T, `the prekey retired ${cap + 1} days ago deleted`, async () => (await retiredHex(store)).length === 1);
  t.same(await retiredHex(store), [bytesToHex(young.public)], `the one of ${cap - 1} days kept`);
  t.same((await readDevice(store)).mailboxMaxAge, { maxAgeS: 2 ** 32 - 1, toldAt: T }, 'remembered as told');
});

t.test('a lower value told while a larger one is in force (another gateway not caught up): the larger stays', async (t) => {
  const T = Date.now();
  const store = new MemoryStore();
  const [r64, r40] = [retiredAt(T - 64 * DAY), retiredAt(T - 40 * DAY)];
  await profileWith(store, [r40, r64]);
  await connectUntil(t, store, 60 * DAY_S, T - 10 * DAY, 'the told value saved', async () => (await readDevice(store)).mailboxMaxAge !== undefined);
  await connectUntil(t, store, 30 * DAY_S, T, 'the prekey retired 64 days ago deleted', async () => (await retiredHex(store)).length === 1);
  t.same(await retiredHex(store), [bytesToHex(r40.public)], 'the one of 40 days kept (63 days, not 33)');
  t.same((await readDevice(store)).mailboxMaxAge, { maxAgeS: 60 * DAY_S, toldAt: T - 10 * DAY }, 'the larger still remembered');
});
