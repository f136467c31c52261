// client/prekeys.ts's pure parts, over random inputs and wrong types: which retired
// prekeys are kept (window, bound, oldest dropped first), when a rotation is due, opening
// with the first secret that works, and the device.json fields (round trip; a profile
// from before rotation reads as before; damaged fields refused).
import t from 'tap';
import { randomBytes, randomInt } from 'node:crypto';
import {
  keepRetired, rotationDue, openWithAny, pendingFromJson, pendingToJson, retiredFromJson, retiredToJson, sinceFromJson, prekeySinceOf,
  type RetiredPrekey,
} from '../../client/prekeys.ts';
import { readDevice, writeDevice } from '../../client/profile-data.ts';
import { MemoryStore } from '../../client/store.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { generateIdentity } from '../../relay/crypto/sign.ts';
import { sealEnvelope } from '../../relay/crypto/seal.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';

function retired(at: number): RetiredPrekey {
  return { secret: new Uint8Array(randomBytes(32)), public: new Uint8Array(randomBytes(32)), retiredAt: at };
}

t.test('keepRetired: within the window, newest first, at most max (oldest dropped), input untouched', async (t) => {
  for (let i = 0; i < 300; i++) {
    const now = randomInt(0, 2 ** 40);
    const retention = randomInt(1, 100 * 86_400_000);
    const max = randomInt(0, 20);
    const list = Array.from({ length: randomInt(0, 30) }, () => retired(now - randomInt(-1000, 2 * retention)));
    const copy = [...list];
    const kept = keepRetired(list, now, retention, max);
    t.same(list, copy, 'input unchanged');
    t.ok(kept.length <= max, 'bounded');
    t.ok(kept.every((r) => now - r.retiredAt < retention), 'all within the window');
    for (let k = 1; k < kept.length; k++) t.ok(kept[k - 1]!.retiredAt >= kept[k]!.retiredAt, 'newest first');
    const eligible = list.filter((r) => now - r.retiredAt < retention);
    t.equal(kept.length, Math.min(max, eligible.length), 'drops only the expired and the oldest beyond max');
    if (kept.length > 0 && eligible.length > kept.length) {
      const oldestKept = kept[kept.length - 1]!.retiredAt;
      t.ok(eligible.filter((r) => !kept.includes(r)).every((r) => r.retiredAt <= oldestKept), 'the dropped ones are the oldest');
    }
  }
});

t.test('keepRetired and rotationDue: wrong types', async (t) => {
  for (const bad of [null, undefined, 'x', 1, {}]) {
    t.throws(() => keepRetired(bad as unknown as RetiredPrekey[], 0, 1, 1), { code: ErrorCode.BAD_REQUEST });
  }
  t.throws(() => keepRetired([], Number.NaN, 1, 1), { code: ErrorCode.BAD_REQUEST });
  t.throws(() => keepRetired([], 0, '1' as unknown as number, 1), { code: ErrorCode.BAD_REQUEST });
  t.equal(rotationDue(0, 10, 0), false, 'rotationMs 0: never due');
  t.equal(rotationDue(0, 10, 10), true);
  t.equal(rotationDue(1, 10, 10), false);
  t.equal(rotationDue(100, 10, 10), false, 'a clock that went back: not due');
});

t.test('openWithAny: the first secret that opens; none opens: the error of the first', async (t) => {
  const route = new Uint8Array(randomBytes(32));
  const device = new Uint8Array(randomBytes(16));
  const id = generateIdentity();
  const keys = Array.from({ length: 4 }, () => generateKeyPair());
  const sender = { route: new Uint8Array(randomBytes(32)), device: new Uint8Array(randomBytes(16)), identitySecret: id.secretKey, identityPublic: id.publicKey, number: '+15550100123' };
  for (let i = 0; i < keys.length; i++) {
    const env = sealEnvelope({ recipient: { route, device, prekey: keys[i]!.publicKey }, sender, body: new TextEncoder().encode(`to key ${i}`), seq: i, clientTs: Date.now() });
    const secrets = keys.map((k) => k.secretKey);
    // every order of the list opens it
    for (let r = 0; r < 4; r++) {
      const shuffled = [...secrets].sort(() => Math.random() - 0.5);
      t.equal(new TextDecoder().decode(openWithAny(env, { route, device }, shuffled).body), `to key ${i}`);
    }
    const without = secrets.filter((_, k) => k !== i);
    t.throws(() => openWithAny(env, { route, device }, without), 'without its key it does not open');
    t.throws(() => openWithAny(env, { route, device }, []), { code: ErrorCode.BAD_REQUEST }, 'no keys: BAD_REQUEST');
  }
});

t.test('device.json fields: round trip, old profiles, damage', async (t) => {
  const p = { secret: new Uint8Array(randomBytes(32)), public: new Uint8Array(randomBytes(32)), signature: new Uint8Array(randomBytes(64)), createdAt: 1_700_000_000_123 };
  t.same(pendingFromJson(JSON.parse(JSON.stringify(pendingToJson(p)))), p);
  const list = [retired(1_700_000_000_000), retired(1_690_000_000_000)];
  t.same(retiredFromJson(JSON.parse(JSON.stringify(retiredToJson(list)))), list);
  t.equal(pendingFromJson(undefined), undefined);
  t.same(retiredFromJson(undefined), []);
  t.equal(sinceFromJson(undefined), undefined);
  t.equal(sinceFromJson('2026-01-02T03:04:05.000Z'), Date.parse('2026-01-02T03:04:05.000Z'));
  t.equal(prekeySinceOf({ registeredAt: '2026-01-02T03:04:05.000Z' }), Date.parse('2026-01-02T03:04:05.000Z'), 'no prekeySince: the registration time');
  t.equal(prekeySinceOf({ registeredAt: '' }), 0);
  t.equal(prekeySinceOf({ prekeySince: 5, registeredAt: '2026-01-02T03:04:05.000Z' }), 5);
  const damaged = [null, 1, 'x', [], { secret: 'zz', public: 'aa', signature: 'aa', createdAt: '2026-01-01T00:00:00Z' }, { secret: 'aa', public: 'aa', signature: 'aa', createdAt: 'not a date' }, { secret: 'aaa', public: 'aa', signature: 'aa', createdAt: '2026-01-01T00:00:00Z' }];
  for (const d of damaged) t.throws(() => pendingFromJson(d), { code: ErrorCode.BAD_REQUEST }, `pending ${JSON.stringify(d)}`);
  for (const d of [null, 1, 'x', {}, [1], [{ secret: 'aa', public: 'aa' }], [{ secret: 'aa', public: 'aa', retiredAt: 5 }]]) {
    t.throws(() => retiredFromJson(d), { code: ErrorCode.BAD_REQUEST }, `retired ${JSON.stringify(d)}`);
  }
  t.throws(() => sinceFromJson('yesterday'), HushwireError);
});

t.test('a profile written before rotation (no pending, no retired, no prekeySince) reads and rewrites fine', async (t) => {
  const store = new MemoryStore();
  const id = generateIdentity();
  const kp = generateKeyPair();
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const old = {
    version: 1, device: hex(randomBytes(16)), identitySecret: hex(id.secretKey), identityPublic: hex(id.publicKey),
    prekeySecret: hex(kp.secretKey), prekeyPublic: hex(kp.publicKey), route: hex(randomBytes(32)), oprfPublicKey: hex(randomBytes(32)),
    number: '+15550100124', registeredAt: '2026-01-02T03:04:05.000Z',
  };
  await store.write('device.json', JSON.stringify(old));
  const d = await readDevice(store);
  t.same(Object.keys(d).sort(), ['device', 'identityPublic', 'identitySecret', 'number', 'oprfPublicKey', 'prekeyPublic', 'prekeySecret', 'registeredAt', 'route'], 'read as before: no rotation fields');
  t.equal(prekeySinceOf(d), Date.parse(old.registeredAt), 'its prekey counts as current since registration');
  await writeDevice(store, d);
  const again = JSON.parse((await store.read('device.json'))!) as Record<string, unknown>;
  t.equal(again.prekeySecret, old.prekeySecret);
  t.equal(again.retiredPrekeys, undefined, 'no empty list written');
  const withRetired = { ...d, retiredPrekeys: [retired(Date.parse('2026-01-01T00:00:00Z'))] };
  await writeDevice(store, withRetired);
  t.same((await readDevice(store)).retiredPrekeys, withRetired.retiredPrekeys);
});
