// The key book (client/keybook.ts) without a network: what a device list does to a
// contact's accepted keys under each policy, what is told and what is held, the bound
// and who is evicted first, and keys.json as written and read back (damaged, another
// OPRF key, malformed entries, a profile that no longer holds the device).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { KeyBook, readKeyBook, MAX_DEVICES_PER_CONTACT, KEYS_DEVICE_CAPACITY, type KeyChangePolicy } from '../../client/keybook.ts';
import { MemoryStore, KEYS_RECORD, DEVICE_RECORD } from '../../client/store.ts';
import { HushwireError } from '../../relay/errors.ts';
import { Discovery, type VerifiedDevice } from '../../client/discovery.ts';

const rand = (n: number) => new Uint8Array(randomBytes(n));
const OPRF = rand(32);
const dev = (): VerifiedDevice => ({ device: rand(16), identityKey: rand(32), prekey: rand(32) });
const hex = (d: VerifiedDevice) => bytesToHex(d.device);
const book = (policy: KeyChangePolicy = 'verified', capacity = 100, ownRoute?: Uint8Array, store = new MemoryStore()) =>
  new KeyBook(store, OPRF, capacity, undefined, { policy, ...(ownRoute ? { ownRoute } : {}) });

function code(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (e) {
    return e instanceof HushwireError ? e.code : String(e);
  }
}

t.test('first use accepts; an unverified contact\'s change is told and accepted; a verified one\'s is held', async (t) => {
  const b = book();
  const route = rand(32);
  const [d1, d2, d3] = [dev(), dev(), dev()];
  const first = b.observe(route, [d1], '+15550100001');
  t.equal(first.change, null, 'a first use is no change');
  await first.save;
  t.equal(b.status(route), 'unverified');
  t.equal(b.observe(route, [d1]).change, null, 'the same list again: nothing');

  const add = b.observe(route, [d1, d2], null, 1000).change;
  t.same(add, { number: '+15550100001', own: false, added: [hex(d2)], changed: [], removed: [], wasVerified: false, status: 'unverified' });
  t.equal(code(() => b.checkSend(route)), 'none', 'not held');

  await b.accept(route, [d1, d2], true);
  t.equal(b.status(route), 'verified');
  t.equal(b.senderStatus(route, d2.device, d2.identityKey), 'verified');
  const held = b.observe(route, [d1, d2, d3], null, 2000).change;
  t.same(held, { number: '+15550100001', own: false, added: [hex(d3)], changed: [], removed: [], wasVerified: true, status: 'changed' });
  t.equal(code(() => b.checkSend(route)), 'IDENTITY_CHANGED');
  t.equal(b.senderStatus(route, d3.device, d3.identityKey), 'changed', 'the unaccepted device');
  t.equal(b.senderStatus(route, d1.device, d1.identityKey), 'verified', 'an accepted device stays verified');
  t.equal(b.observe(route, [d1, d2, d3]).change, null, 'a hold already told is not told again');

  // Another key under an accepted device id: held too, told again (the held set moved).
  const d2b = { ...d2, identityKey: rand(32) };
  const again = b.observe(route, [d1, d2b, d3]).change;
  t.same([again?.added, again?.changed, again?.status], [[hex(d3)], [hex(d2)], 'changed']);
  t.equal(b.senderStatus(route, d2b.device, d2b.identityKey), 'changed');
  t.equal(b.senderStatus(route, d2.device, d2.identityKey), 'verified', 'the key accepted before');

  // The unaccepted ones leave the directory again: verified as before, told.
  const back = b.observe(route, [d1, d2]).change;
  t.same([back?.status, back?.added, back?.removed], ['verified', [], []]);
  t.equal(code(() => b.checkSend(route)), 'none');
});

t.test('removals are told and forgotten; the verification stays on the keys left', async (t) => {
  const b = book();
  const route = rand(32);
  const [d1, d2] = [dev(), dev()];
  b.observe(route, [d1, d2]);
  await b.accept(route, [d1, d2], true);
  const gone = b.observe(route, [d1]).change;
  t.same([gone?.removed, gone?.status, gone?.wasVerified], [[hex(d2)], 'verified', true]);
  // d2 coming back is a new device to a verified contact: held.
  t.equal(b.observe(route, [d1, d2]).change?.status, 'changed');
});

t.test('policies: all holds every change after the first use, none never holds', async (t) => {
  const all = book('all');
  const r1 = rand(32);
  all.observe(r1, [dev()]);
  t.equal(all.observe(r1, [dev()]).change?.status, 'changed', 'all: an unverified contact is held');
  const none = book('none');
  const r2 = rand(32);
  const d = dev();
  none.observe(r2, [d]);
  await none.accept(r2, [d], true);
  const c = none.observe(r2, [d, dev()]).change;
  t.same([c?.status, c?.wasVerified], ['unverified', true], 'none: accepted, verification gone');
  t.equal(code(() => none.checkSend(r2)), 'none');
});

t.test('this user\'s own route is told as own and never held, whatever the policy', async (t) => {
  const own = rand(32);
  const b = book('all', 100, own);
  b.observe(own, [dev()], '+15550100009');
  const c = b.observe(own, [dev(), dev()]).change;
  t.same([c?.own, c?.status, c?.number], [true, 'unverified', '+15550100009']);
  t.equal(code(() => b.checkSend(own)), 'none');
});

t.test('noteNumber before the first lookup names the contact in later changes', async (t) => {
  const b = book();
  const route = rand(32);
  b.noteNumber(route, '+15550100002');
  b.noteNumber(route, 'not a number');
  b.observe(route, [dev()]);
  t.equal(b.observe(route, [dev()]).change?.number, '+15550100002');
});

t.test('bounded: past the capacity the least recently used unverified contact goes, never a verified or held one', async (t) => {
  const b = book('verified', 3);
  const [v, h, u1, u2] = [rand(32), rand(32), rand(32), rand(32)];
  const dv = dev();
  b.observe(v, [dv]);
  await b.accept(v, [dv], true);
  const dh = dev();
  b.observe(h, [dh]);
  await b.accept(h, [dh], true);
  b.observe(h, [dh, dev()]); // held
  b.observe(u1, [dev()]);
  b.observe(u2, [dev()]);
  t.equal(b.size, 3);
  t.same([b.status(v), b.status(h), b.status(u1), b.status(u2)], ['verified', 'changed', undefined, 'unverified']);
  const many = Array.from({ length: MAX_DEVICES_PER_CONTACT + 5 }, dev);
  const r = rand(32);
  const wide = book();
  wide.observe(r, many);
  t.equal(wide.observe(r, many.slice(0, MAX_DEVICES_PER_CONTACT)).change, null, `only ${MAX_DEVICES_PER_CONTACT} devices are kept per contact`);
});

t.test('keys.json round-trips; damaged, another key\'s or malformed contents are ignored', async (t) => {
  const store = new MemoryStore();
  const b = book('verified', 100, undefined, store);
  const [r1, r2] = [rand(32), rand(32)];
  const [d1, d2] = [dev(), dev()];
  b.observe(r1, [d1], '+15550100003');
  await b.accept(r1, [d1], true, null, 5);
  b.observe(r2, [d2]);
  await b.observe(r1, [d1, dev()], null, 7).save;
  const text = (await store.read(KEYS_RECORD))!;
  const back = await readKeyBook(store, OPRF);
  t.same([back.status(r1), back.status(r2), back.verifiedAt(r1)], ['changed', 'unverified', 5]);
  t.equal(code(() => back.checkSend(r1)), 'IDENTITY_CHANGED', 'the hold is kept');
  t.notOk(text.includes('prekey'), 'no prekeys stored (they rotate)');

  const told: string[] = [];
  const onDamaged = (p: string) => told.push(p);
  t.equal((await readKeyBook(store, OPRF, undefined, { onDamaged })).size, 2);
  t.equal((await readKeyBook(store, rand(32), undefined, { onDamaged })).size, 0, 'another OPRF key: ignored');
  t.same(told, [], 'neither a sound record nor another key\'s is damage');
  await store.write(KEYS_RECORD, '{not json');
  t.equal((await readKeyBook(store, OPRF, undefined, { onDamaged })).size, 0, 'damaged: empty');
  await store.write(KEYS_RECORD, JSON.stringify({ version: 2, contacts: {} }));
  await readKeyBook(store, OPRF, undefined, { onDamaged });
  t.equal(told.length, 2, 'told: not JSON, not a key book');
  t.match(told[0], /^keys\.json is damaged and was read as empty: .*verified contacts must be verified again$/);
  const raw = JSON.parse(text);
  raw.contacts['zz'] = { keys: {} };
  raw.contacts[bytesToHex(rand(32))] = { keys: { nothex: 'x' } };
  raw.contacts[bytesToHex(rand(32))] = { keys: {}, verifiedAt: -1 };
  raw.contacts[bytesToHex(rand(32))] = { keys: {}, number: '555' };
  await store.write(KEYS_RECORD, JSON.stringify(raw));
  t.equal((await readKeyBook(store, OPRF, undefined, { onDamaged })).size, 2, 'malformed contacts left out, the others kept');
  t.match(told[2], /^keys\.json had 4 damaged contact entries, left out/, 'told with the count');
  t.notMatch(told.join(' '), /[0-9a-f]{16}|\+1555/, 'nothing of the record in what is told');
});

t.test('a book bound to a device writes nothing into a profile that no longer holds it', async (t) => {
  const store = new MemoryStore();
  const device = rand(16);
  await store.write(DEVICE_RECORD, JSON.stringify({ device: bytesToHex(rand(16)) }));
  const b = new KeyBook(store, OPRF, 100, undefined, { device });
  const { save } = b.observe(rand(32), [dev()]);
  await t.rejects(save, { code: 'NOT_REGISTERED' });
  t.equal(await store.read(KEYS_RECORD), undefined);
});

// Review fixes (the per-device send check, 'none' over a loaded hold, senderKeys of a
// device the entry does not hold): each case fails without its change.

t.test('checkSend refuses a list holding a device or key the entry has not accepted, even with no hold recorded', async (t) => {
  const b = book();
  const route = rand(32);
  const [d1, evil] = [dev(), dev()];
  b.observe(route, [d1]);
  await b.accept(route, [d1], true);
  // A cached list looked up before the verification (or racing it) still names `evil`:
  // the book holds no pending change, yet a send must not seal to it.
  t.equal(code(() => b.checkSend(route, [d1])), 'none');
  t.notOk(b.covers(route, [d1, evil]));
  t.equal(code(() => b.checkSend(route, [d1, evil])), 'IDENTITY_CHANGED', 'a device not accepted');
  t.equal(code(() => b.checkSend(route, [{ ...d1, identityKey: rand(32) }])), 'IDENTITY_CHANGED', 'an accepted device id with another key');
  t.equal(code(() => b.checkSend(route, [{ ...d1, identityKey: rand(32) }, d1])), 'IDENTITY_CHANGED', 'a device listed twice, once with another key');
  t.ok(b.covers(route, [d1]));
  t.notOk(b.covers(rand(32), [d1]), 'a route not in the book is not covered (its list is observed first)');
  t.equal(code(() => b.checkSend(rand(32), [d1])), 'none', 'nor held');
});

t.test("keyChangePolicy 'none' over a hold kept in keys.json: the next list is accepted, not held", async (t) => {
  const store = new MemoryStore();
  const strict = book('verified', 100, undefined, store);
  const route = rand(32);
  const [d1, d2, d3] = [dev(), dev(), dev()];
  strict.observe(route, [d1]);
  await strict.accept(route, [d1], true);
  await strict.observe(route, [d1, d2]).save;
  t.equal(strict.status(route), 'changed');
  const lax = await readKeyBook(store, OPRF, 100, { policy: 'none' });
  t.equal(lax.status(route), 'changed', 'the hold as loaded');
  const c = lax.observe(route, [d1, d2, d3]).change;
  t.same([c?.status, c?.wasVerified, c?.added], ['unverified', true, [hex(d2), hex(d3)]], 'none never holds: accepted, told');
  t.equal(code(() => lax.checkSend(route, [d1, d2, d3])), 'none');
});

t.test('senderStatus: a device a verified contact\'s entry no longer holds (neither accepted nor held) is changed, not unverified', async (t) => {
  const b = book();
  const route = rand(32);
  const [d1, d3] = [dev(), dev()];
  b.observe(route, [d1]);
  await b.accept(route, [d1], true);
  b.observe(route, [d1, d3]);
  t.equal(b.senderStatus(route, d3.device, d3.identityKey), 'changed');
  // d3 leaves the directory again: the hold ends, but a message from d3 whose sender check
  // was cached (10 min) is still from a key the user never accepted.
  b.observe(route, [d1]);
  t.equal(b.status(route), 'verified');
  t.equal(b.senderStatus(route, d3.device, d3.identityKey), 'changed');
  t.equal(b.senderStatus(route, d1.device, d1.identityKey), 'verified');
  t.equal(b.senderStatus(rand(32), d1.device, d1.identityKey), 'unverified', 'a route not in the book');
});

t.test('two processes on one profile: a save does not undo the other\'s verification or acceptance made since it read keys.json', async (t) => {
  // `listen` runs (book L) while `verify-contact` runs in another process (book V): L's
  // next save (a new sender's first use) used to write its own copy over V's, and the
  // verification was gone without a word, so a later change of the contact went unheld.
  const store = new MemoryStore();
  const L = book('verified', 100, undefined, store);
  const [r, other] = [rand(32), rand(32)];
  const [d1, d2, evil] = [dev(), dev(), dev()];
  await L.observe(r, [d1], '+15550100011').save;
  const V = await readKeyBook(store, OPRF, 100);
  await V.accept(r, [d1], true, null, 1000);
  await L.observe(other, [d2]).save;
  t.equal(L.status(r), 'verified', 'the listening book took the verification in at its save');
  const next = await readKeyBook(store, OPRF, 100);
  t.same([next.status(r), next.status(other)], ['verified', 'unverified'], 'both kept on disk');
  t.equal(next.observe(r, [d1, evil]).change?.status, 'changed', 'so a later change of the contact is held');

  // The other way: L saw a change and holds it; V accepts the keys; L's next save keeps
  // the acceptance (it does not write its hold back over it).
  await L.observe(r, [d1, evil]).save;
  t.equal(L.status(r), 'changed');
  const V2 = await readKeyBook(store, OPRF, 100);
  await V2.accept(r, [d1, evil], false, null, 2000);
  await L.observe(rand(32), [dev()]).save;
  t.equal((await readKeyBook(store, OPRF, 100)).status(r), 'unverified');
  t.equal(code(() => L.checkSend(r, [d1, evil])), 'none');
  // An older decision on disk (this book decided later) does not win.
  await V2.accept(r, [d1, evil], true, null, 2500);
  await L.accept(r, [d1, evil], false, null, 3000);
  t.equal((await readKeyBook(store, OPRF, 100)).status(r), 'unverified', 'the later decision (accepted unverified at 3000) stands');
  t.equal(L.status(r), 'unverified');
});

t.test('bounded in device keys too: contacts neither verified nor held go first once their devices pass deviceCapacity', async (t) => {
  // A directory that lists 64 devices under every number the handset looks up (a forged
  // sender makes it look one up) grew keys.json to 10,000 x 64 keys (some 65 MB),
  // rewritten whole at each change; now the droppable contacts' keys are bounded.
  const store = new MemoryStore();
  const b = new KeyBook(store, OPRF, 100, undefined, { deviceCapacity: 10 });
  const v = rand(32);
  const many = Array.from({ length: 12 }, dev);
  b.observe(v, many);
  await b.accept(v, many, true);
  const routes = Array.from({ length: 5 }, () => rand(32));
  for (const r of routes) b.observe(r, [dev(), dev(), dev()]);
  t.same(routes.map((r) => b.status(r)), [undefined, undefined, 'unverified', 'unverified', 'unverified'], 'the least recently used unverified ones went (9 keys left of 15)');
  t.equal(b.status(v), 'verified', 'a verified contact\'s 12 keys neither count nor go');
  // One contact growing past the bound pushes the older ones out, not itself.
  b.observe(routes[4], Array.from({ length: 9 }, dev));
  t.same(routes.map((r) => b.status(r)), [undefined, undefined, undefined, undefined, 'unverified']);
  await b.settled();
  const back = await readKeyBook(store, OPRF, 100);
  t.same([back.size, back.status(v)], [2, 'verified']);
  t.ok(KEYS_DEVICE_CAPACITY * 110 < 5_000_000, 'the default keeps keys.json to a few MB');
});

t.test('a contact dropped from the book and met again through a cached route keeps its number in later changes', async (t) => {
  // Discovery told the book a number's route only when it asked for it (a route cache
  // miss, 10 minutes): a contact dropped from the book meanwhile (past its bounds) came
  // back with number null, and its changes were told as from "a contact".
  const b = new KeyBook(new MemoryStore(), OPRF, 1);
  const route = rand(32);
  const discovery = new Discovery(() => Promise.reject(new Error('no gateway here')), OPRF, {
    routeStore: { get: (n) => (n === '+15550100021' ? route : undefined), set: async () => {} },
    onRoute: (number, r) => b.noteNumber(r, number),
  });
  t.equal(await discovery.routeFor('+15550100021'), route);
  b.observe(route, [dev()]);
  b.observe(rand(32), [dev()]); // capacity 1: the contact is dropped
  t.equal(b.status(route), undefined);
  await discovery.routeFor('+15550100021'); // from the route cache this time
  b.observe(route, [dev()]);
  t.equal(b.observe(route, [dev()]).change?.number, '+15550100021');
});

t.test('this user\'s own number: the first look is the baseline (nothing told); a device after it is told; told at the first look only after a new_device notice or a damaged keys.json', async (t) => {
  const own = rand(32);
  const me = dev();
  const other = dev();
  const store = new MemoryStore();
  await store.write(DEVICE_RECORD, JSON.stringify({ device: bytesToHex(me.device) }));
  const b = new KeyBook(store, OPRF, 100, undefined, { ownRoute: own, device: me.device });
  const first = b.observe(own, [me, other], '+15550100010');
  t.equal(first.change, null, 'the devices listed at the first look (the first phone) are the baseline, not a take-over');
  await first.save;
  const third = dev();
  const later = b.observe(own, [me, other, third]);
  await later.save;
  t.same(later.change, { number: '+15550100010', own: true, added: [hex(third)], changed: [], removed: [], wasVerified: false, status: 'unverified' }, 'a device after the baseline is told');
  // The baseline is kept in keys.json: a restart does not tell the listed devices again.
  const again = await readKeyBook(store, OPRF, 100, { ownRoute: own, device: me.device });
  t.equal(again.observe(own, [me, other, third]).change, null, 'after a restart: nothing new');
  // The gateway said another device registered since this one, before the first look.
  const noticed = new KeyBook(new MemoryStore(), OPRF, 100, undefined, { ownRoute: own, device: me.device });
  noticed.noteOwnNewDevice();
  t.same(noticed.observe(own, [me, other], '+15550100010').change?.added, [hex(other)], 'after a new_device notice the first look tells');
  // keys.json damaged: the baseline may be lost, so the first look tells rather than re-baseline.
  const damaged = new MemoryStore();
  await damaged.write(KEYS_RECORD, '{not json');
  const lost = await readKeyBook(damaged, OPRF, 100, { ownRoute: own, device: me.device });
  t.same(lost.observe(own, [me, other]).change?.added, [hex(other)], 'after damage the first look tells');
  const alone = new KeyBook(new MemoryStore(), OPRF, 100, undefined, { ownRoute: rand(32), device: me.device, ownFirstLookTold: true });
  t.equal(alone.observe(rand(32), [dev(), dev()]).change, null, 'a contact\'s first look is still a first use');
});

t.test('a send-only client (ownBaselineDeferred) takes no baseline of its own number: its first look tells nothing, a later one what changed since; a receiving client then takes the baseline, or tells after a notice', async (t) => {
  const own = rand(32);
  const me = dev();
  const other = dev();
  const store = new MemoryStore();
  await store.write(DEVICE_RECORD, JSON.stringify({ device: bytesToHex(me.device) }));
  const sendOnly = new KeyBook(store, OPRF, 100, undefined, { ownRoute: own, device: me.device, ownBaselineDeferred: true });
  sendOnly.noteNumber(own, '+15550100011');
  const looked = sendOnly.observe(own, [me, other]);
  await looked.save;
  t.equal(looked.change, null, 'nothing told');
  t.equal(sendOnly.size, 0, 'no own entry: no baseline');
  const since = dev();
  t.same(sendOnly.observe(own, [me, other, since]).change, { number: '+15550100011', own: true, added: [hex(since)], changed: [], removed: [], wasVerified: false, status: 'unverified' }, 'a later look of the same client tells a device listed since its first look');
  t.equal(sendOnly.observe(own, [me, other, since]).change, null, 'once');
  t.equal(sendOnly.size, 0, 'still no own entry (memory only)');
  const contact = rand(32);
  await sendOnly.observe(contact, [dev()]).save;
  t.equal(sendOnly.status(contact), 'unverified', 'a contact\'s first look is taken as ever');
  // The first receiving client: the own entry is not in keys.json, so it takes the baseline
  // at its first look (or tells, the gateway's notice having come first).
  const receiving = await readKeyBook(store, OPRF, 100, { ownRoute: own, device: me.device });
  const noticed = await readKeyBook(store, OPRF, 100, { ownRoute: own, device: me.device });
  noticed.noteOwnNewDevice();
  t.same(noticed.observe(own, [me, other], '+15550100011').change?.added, [hex(other)], 'or tells every other device after a new_device notice');
  const taken = receiving.observe(own, [me, other, since], '+15550100011');
  t.equal(taken.change, null, 'the receiving client takes the baseline');
  await taken.save;
  // Once a receiving client took the baseline, a send-only client compares with it.
  const later = await readKeyBook(store, OPRF, 100, { ownRoute: own, device: me.device, ownBaselineDeferred: true });
  const third = dev();
  t.same(later.observe(own, [me, other, since, third]).change?.added, [hex(third)], 'a device after the baseline is told by a send-only client too');
});

t.test('the own number\'s baseline taken at registration (takeOwnBaseline): kept in keys.json, replacing an entry left there; alone after a notice; nothing without this device listed', async (t) => {
  const own = rand(32);
  const me = dev();
  const other = dev();
  const store = new MemoryStore();
  await store.write(DEVICE_RECORD, JSON.stringify({ device: bytesToHex(me.device) }));
  // An own entry an earlier registration of the profile left (its device, gone since).
  const earlier = new KeyBook(store, OPRF, 100, undefined, { ownRoute: own });
  await earlier.observe(own, [dev()], '+15550100012').save;
  const b = await readKeyBook(store, OPRF, 100, { ownRoute: own, device: me.device });
  await b.takeOwnBaseline([me, other], '+15550100012', false);
  // The first look of any client after it, receiving or send-only, compares with it.
  const listen = await readKeyBook(store, OPRF, 100, { ownRoute: own, device: me.device });
  t.equal(listen.observe(own, [me, other]).change, null, 'the devices listed at registration are the baseline (the stale entry replaced)');
  const evil = dev();
  const sendOnly = await readKeyBook(store, OPRF, 100, { ownRoute: own, device: me.device, ownBaselineDeferred: true });
  t.same(sendOnly.observe(own, [me, other, evil]).change, { number: '+15550100012', own: true, added: [hex(evil)], changed: [], removed: [], wasVerified: false, status: 'unverified' }, 'a device listed after registration is told, with no notice needed');
  // A new_device notice on the registering connection: the list may hold the newcomer.
  const noticed = new MemoryStore();
  await noticed.write(DEVICE_RECORD, JSON.stringify({ device: bytesToHex(me.device) }));
  await (await readKeyBook(noticed, OPRF, 100, { ownRoute: own, device: me.device })).takeOwnBaseline([me, other], '+15550100012', true);
  const after = await readKeyBook(noticed, OPRF, 100, { ownRoute: own, device: me.device });
  t.same(after.observe(own, [me, other]).change?.added, [hex(other)], 'alone: every other device is told at the first look');
  // A list that does not hold this device is no baseline of its registration.
  const missing = new MemoryStore();
  const m = new KeyBook(missing, OPRF, 100, undefined, { ownRoute: own, device: me.device });
  await m.takeOwnBaseline([other], '+15550100012', false);
  t.equal(await missing.read(KEYS_RECORD), undefined, 'nothing kept');
});

t.test('the count of droppable device keys the bounds go by stays exact through any sequence of changes', async (t) => {
  // KeyBook keeps the count at each change instead of summing every contact at every
  // lookup; a count that drifted would drop too much or too little. Checked against a
  // sum over what the book would write, after each of many random changes, with bounds
  // small enough that trimming and eviction happen all along.
  const own = rand(32);
  const b = new KeyBook(new MemoryStore(), OPRF, 12, undefined, { policy: 'verified', deviceCapacity: 20, ownRoute: own });
  const routes = [own, ...Array.from({ length: 20 }, () => rand(32))];
  const lists = new Map<string, VerifiedDevice[]>();
  const internals = b as unknown as { droppableKeys: number; serialize(): string };
  const recount = () => {
    const rec = JSON.parse(internals.serialize()) as { contacts: Record<string, { keys: Record<string, string>; pending?: unknown; verifiedAt?: number }> };
    let n = 0;
    for (const [route, e] of Object.entries(rec.contacts)) {
      if (e.verifiedAt === undefined && e.pending === undefined && route !== bytesToHex(own)) n += Object.keys(e.keys).length;
    }
    return n;
  };
  let drift = 0;
  let over = 0;
  for (let i = 0; i < 600; i++) {
    const r = routes[Math.floor(Math.random() * routes.length)]!;
    const key = bytesToHex(r);
    const prev = lists.get(key) ?? [dev()];
    const op = Math.random();
    if (op < 0.5) {
      // The same list, one more device, one fewer, or a key replaced.
      const next = [...prev];
      const k = Math.random();
      if (k < 0.3) next.push(dev());
      else if (k < 0.5 && next.length > 1) next.pop();
      else if (k < 0.6) next[0] = { ...next[0]!, identityKey: rand(32) };
      lists.set(key, next);
      b.observe(r, next).save.catch(() => {});
    } else if (op < 0.75) {
      b.accept(r, prev, Math.random() < 0.5).catch(() => {});
    } else {
      b.unverify(r).catch(() => {});
    }
    if (internals.droppableKeys !== recount()) drift++;
    if (internals.droppableKeys > 20) over++;
    t.ok(b.size <= 12, 'never past the contact capacity');
  }
  t.equal(drift, 0, 'the kept count matched a recount after every change');
  t.equal(over, 0, 'never past the device bound after a change');
  await b.settled();
});
