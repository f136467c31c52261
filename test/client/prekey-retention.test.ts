// client/prekeys.ts's retention from what the gateways tell (challenge mailbox_max_age_s),
// pure: which told values are heeded, the retention they give (option, margin, cap),
// which value is remembered when gateways tell different ones, and device.json's
// mailboxMaxAge (round trip; absent in old profiles; malformed reads as absent).
import t from 'tap';
import { randomBytes, randomInt } from 'node:crypto';
import {
  toldMaxAgeS, prekeyRetentionMs, noteMailboxAge, mergeMailboxAge, mailboxAgeToSave, mailboxAgeFromJson, mailboxAgeToJson,
  DEFAULT_PREKEY_RETENTION_MS, MAX_TOLD_PREKEY_RETENTION_MS, PREKEY_RETENTION_MARGIN_MS, MAILBOX_AGE_REFRESH_MS, type ToldMailboxAge,
} from '../../client/prekeys.ts';
import { readDevice, writeDevice } from '../../client/profile-data.ts';
import { MemoryStore } from '../../client/store.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { generateIdentity } from '../../relay/crypto/sign.ts';
import { ErrorCode } from '../../relay/errors.ts';

const DAY = 86_400_000;
const DAY_S = 86_400;
const T0 = Date.parse('2026-03-01T00:00:00.000Z');

t.test('toldMaxAgeS: an integer of 1..4294967295 seconds; anything else is not told', async (t) => {
  for (const ok of [1, 60, 30 * DAY_S, 2 ** 32 - 1]) t.equal(toldMaxAgeS(ok), ok, String(ok));
  for (const bad of [0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 32, 2 ** 53, '60', null, undefined, {}, [], 60n, true]) {
    t.equal(toldMaxAgeS(bad), undefined, `${typeof bad} ${String(bad)}`);
  }
});

t.test('prekeyRetentionMs: the option, or the told max age plus margin when longer, capped at 400 days', async (t) => {
  t.equal(MAX_TOLD_PREKEY_RETENTION_MS, 400 * DAY);
  t.equal(PREKEY_RETENTION_MARGIN_MS, 3 * DAY);
  const told = (s: number): ToldMailboxAge => ({ maxAgeS: s, toldAt: T0 });
  t.equal(prekeyRetentionMs(DEFAULT_PREKEY_RETENTION_MS, undefined), DEFAULT_PREKEY_RETENTION_MS, 'nothing told (older gateway, old profile): the option, as before');
  t.equal(prekeyRetentionMs(DEFAULT_PREKEY_RETENTION_MS, told(60 * DAY_S)), 63 * DAY, '60 days told: 63 days');
  t.equal(prekeyRetentionMs(DEFAULT_PREKEY_RETENTION_MS, told(30 * DAY_S)), 33 * DAY, 'the default mailbox: the default');
  t.equal(prekeyRetentionMs(DEFAULT_PREKEY_RETENTION_MS, told(60)), DEFAULT_PREKEY_RETENTION_MS, 'a shorter mailbox never shortens the option');
  t.equal(prekeyRetentionMs(90 * DAY, told(60 * DAY_S)), 90 * DAY, 'an app\'s longer option stands');
  t.equal(prekeyRetentionMs(DEFAULT_PREKEY_RETENTION_MS, told(2 ** 32 - 1)), MAX_TOLD_PREKEY_RETENTION_MS, 'no limit told: the cap');
  t.equal(prekeyRetentionMs(DEFAULT_PREKEY_RETENTION_MS, told(10 * 365 * DAY_S)), MAX_TOLD_PREKEY_RETENTION_MS, '10 years told: the cap');
  t.equal(prekeyRetentionMs(DEFAULT_PREKEY_RETENTION_MS, told(397 * DAY_S)), MAX_TOLD_PREKEY_RETENTION_MS, 'at the cap with the margin');
  t.equal(prekeyRetentionMs(500 * DAY, told(2 ** 32 - 1)), 500 * DAY, 'the app\'s own option is not capped');
  for (const bad of [0, -5, 1.5, NaN, '60', null]) {
    t.equal(prekeyRetentionMs(DEFAULT_PREKEY_RETENTION_MS, { maxAgeS: bad as number, toldAt: T0 }), DEFAULT_PREKEY_RETENTION_MS, `a remembered ${String(bad)}: the option`);
  }
  t.throws(() => prekeyRetentionMs(NaN, undefined), { code: ErrorCode.BAD_REQUEST });
  t.throws(() => prekeyRetentionMs('1' as unknown as number, undefined), { code: ErrorCode.BAD_REQUEST });
  for (let i = 0; i < 1000; i++) {
    const option = randomInt(1, 1000) * DAY;
    const r = prekeyRetentionMs(option, told(randomInt(1, 2 ** 32)));
    if (r < option || r > Math.max(option, MAX_TOLD_PREKEY_RETENTION_MS)) {
      t.fail(`option ${option}: ${r}`);
      return;
    }
  }
  t.pass('1000 random: never below the option, never above max(option, cap)');
});

t.test('noteMailboxAge: the largest told stays until it went untold as long as it lasts', async (t) => {
  t.same(noteMailboxAge(undefined, 60 * DAY_S, T0), { maxAgeS: 60 * DAY_S, toldAt: T0 }, 'first told');
  for (const bad of [0, -1, 1.5, NaN, 2 ** 32, '60', undefined]) {
    t.equal(noteMailboxAge(undefined, bad, T0), undefined, `nothing remembered from ${String(bad)}`);
  }
  const s = { maxAgeS: 60 * DAY_S, toldAt: T0 };
  t.equal(noteMailboxAge(s, 0, T0 + DAY), s, 'an older gateway (0) changes nothing');
  t.equal(noteMailboxAge(s, 'x', T0 + DAY), s, 'a wrong type changes nothing');
  t.equal(noteMailboxAge(s, 60, NaN), s, 'no clock, no change');
  t.same(noteMailboxAge(s, 90 * DAY_S, T0 + DAY), { maxAgeS: 90 * DAY_S, toldAt: T0 + DAY }, 'a larger one at once');
  t.same(noteMailboxAge(s, 60 * DAY_S, T0 + DAY), { maxAgeS: 60 * DAY_S, toldAt: T0 + DAY }, 'the same: toldAt refreshed');
  t.same(noteMailboxAge(s, 60 * DAY_S, T0 - DAY), s, 'the same by a clock gone back: toldAt not moved back');
  t.equal(noteMailboxAge(s, 30 * DAY_S, T0 + 59 * DAY), s, 'a lower one (a gateway that has not looked again) while the larger is in force: kept');
  t.same(noteMailboxAge(s, 30 * DAY_S, T0 + 60 * DAY), { maxAgeS: 30 * DAY_S, toldAt: T0 + 60 * DAY }, 'once the larger went untold for 60 days: the lower');
  const huge = { maxAgeS: 2 ** 32 - 1, toldAt: T0 };
  t.equal(noteMailboxAge(huge, 30 * DAY_S, T0 + 399 * DAY), huge, 'no limit: in force up to the cap');
  t.same(noteMailboxAge(huge, 30 * DAY_S, T0 + 400 * DAY), { maxAgeS: 30 * DAY_S, toldAt: T0 + 400 * DAY }, 'not longer than the cap');
});

t.test('mergeMailboxAge: this client\'s and the store\'s, in either order', async (t) => {
  const a = { maxAgeS: 60 * DAY_S, toldAt: T0 };
  t.equal(mergeMailboxAge(undefined, undefined), undefined);
  t.equal(mergeMailboxAge(a, undefined), a);
  t.equal(mergeMailboxAge(undefined, a), a);
  for (let i = 0; i < 500; i++) {
    const x = { maxAgeS: randomInt(1, 120) * DAY_S, toldAt: T0 + randomInt(0, 200) * DAY };
    const y = { maxAgeS: randomInt(1, 120) * DAY_S, toldAt: T0 + randomInt(0, 200) * DAY };
    const m = mergeMailboxAge(x, y);
    if (JSON.stringify(m) !== JSON.stringify(mergeMailboxAge(y, x)) || (m !== x && m!.maxAgeS !== y.maxAgeS && m!.maxAgeS !== x.maxAgeS)) {
      t.fail(`${JSON.stringify(x)} ${JSON.stringify(y)}: ${JSON.stringify(m)}`);
      return;
    }
  }
  t.pass('500 random pairs: the same either way');
  t.same(mergeMailboxAge({ maxAgeS: 30 * DAY_S, toldAt: T0 + DAY }, a), { maxAgeS: 60 * DAY_S, toldAt: T0 }, 'a lower one told later while the larger is in force: the larger');
});

t.test('mailboxAgeToSave: a new value at once, the same one after a day', async (t) => {
  const a = { maxAgeS: 60 * DAY_S, toldAt: T0 };
  t.equal(mailboxAgeToSave(undefined, undefined), false);
  t.equal(mailboxAgeToSave(a, undefined), false);
  t.equal(mailboxAgeToSave(undefined, a), true);
  t.equal(mailboxAgeToSave(a, { ...a, maxAgeS: 61 * DAY_S }), true);
  t.equal(mailboxAgeToSave(a, { ...a, toldAt: T0 + MAILBOX_AGE_REFRESH_MS - 1 }), false, 'not at every connect');
  t.equal(mailboxAgeToSave(a, { ...a, toldAt: T0 + MAILBOX_AGE_REFRESH_MS }), true);
});

t.test('device.json mailboxMaxAge: round trip, absent in old profiles, malformed reads as absent', async (t) => {
  const a = { maxAgeS: 60 * DAY_S, toldAt: T0 + 123 };
  t.same(mailboxAgeFromJson(JSON.parse(JSON.stringify(mailboxAgeToJson(a)))), a);
  for (const bad of [undefined, null, 5, 'x', [], {}, { maxAgeS: 0, toldAt: '2026-01-01T00:00:00Z' }, { maxAgeS: -1, toldAt: '2026-01-01T00:00:00Z' },
    { maxAgeS: 2 ** 32, toldAt: '2026-01-01T00:00:00Z' }, { maxAgeS: '60', toldAt: '2026-01-01T00:00:00Z' }, { maxAgeS: 60, toldAt: 'soon' }, { maxAgeS: 60, toldAt: 5 }]) {
    t.equal(mailboxAgeFromJson(bad), undefined, JSON.stringify(bad) ?? 'undefined');
  }

  const store = new MemoryStore();
  const id = generateIdentity();
  const kp = generateKeyPair();
  const p = {
    device: new Uint8Array(randomBytes(16)), identitySecret: id.secretKey, identityPublic: id.publicKey, prekeySecret: kp.secretKey, prekeyPublic: kp.publicKey,
    number: '+15550100125', route: new Uint8Array(randomBytes(32)), oprfPublicKey: new Uint8Array(randomBytes(32)), registeredAt: '2026-01-02T03:04:05.000Z',
  };
  await writeDevice(store, p);
  t.notOk((await store.read('device.json'))!.includes('mailboxMaxAge'), 'none told: not written');
  t.equal((await readDevice(store)).mailboxMaxAge, undefined, 'an old profile has none');
  await writeDevice(store, { ...p, mailboxMaxAge: a });
  t.same((await readDevice(store)).mailboxMaxAge, a, 'written and read back');
  const raw = JSON.parse((await store.read('device.json'))!) as Record<string, unknown>;
  await store.write('device.json', JSON.stringify({ ...raw, mailboxMaxAge: { maxAgeS: 'lots', toldAt: 'then' } }));
  const d = await readDevice(store);
  t.equal(d.mailboxMaxAge, undefined, 'a malformed one reads as absent; the profile still opens');
  t.equal(Buffer.from(d.prekeySecret).toString('hex'), Buffer.from(kp.secretKey).toString('hex'));
});
