// Prekey rotation through the SDK (client.rotatePrekey(), the automatic one, retention)
// against a real gateway on a real nats-server: mail sealed to the old prekey before a
// rotation still opens while the retired secret is kept; mail sent after it is sealed to
// the new prekey; once the retention window has passed (the client's injected clock) the
// old secret is deleted from the profile and mail sealed to it no longer opens; a key
// left pending by a failed profile write opens mail meanwhile and is sent again on the
// next start (the gateway answers ok: it has it already); opt-out erases every secret.
import t from 'tap';
import { HushwireClient, MemoryStore } from '../../client/index.ts';
import { PROFILE_RECORDS, type ProfileRecord } from '../../client/store.ts';
import { readDevice } from '../../client/profile-data.ts';
import { DEFAULT_PREKEY_RETENTION_MS } from '../../client/prekeys.ts';
import { natsTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { freshNumber } from '../helpers/handsets.ts';
import { until, within } from '../helpers/poll.ts';
import { readAll, rotateBetweenStored, sendStored } from '../helpers/stored-mail.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Test } from 'tap';

const skip = !haveNatsServer() && 'nats-server not installed';
const DAY = 86_400_000;

const natsGateway = (t: Test) => natsTestGateway(t, 'pkc');

/** A MemoryStore whose device.json writes can be made to fail (the nth from now). */
class FlakyStore extends MemoryStore {
  failDeviceWriteAt = 0;
  override async write(record: ProfileRecord, text: string): Promise<void> {
    if (record === 'device.json' && this.failDeviceWriteAt > 0 && --this.failDeviceWriteAt === 0) {
      throw new Error('disk full (test)');
    }
    return super.write(record, text);
  }
}

/** Registers a fresh number A in `a` and another, B, in a MemoryStore of its own. */
async function registerPair<S extends MemoryStore>(gw: TestGateway, a: S = new MemoryStore() as S) {
  const [A, B] = [freshNumber(), freshNumber()];
  const b = new MemoryStore();
  await HushwireClient.register({ store: a, gateways: [gw.url], number: A });
  await HushwireClient.register({ store: b, gateways: [gw.url], number: B });
  return { A, B, a, b };
}

t.test('mail sealed to the old prekey still opens within retention; mail after the rotation opens with the new one', { skip }, async (t) => {
  const gw = await natsGateway(t);
  const { A, a, b } = await registerPair(gw);
  const k0 = await readDevice(a);

  const t0 = await rotateBetweenStored(gw, a, b, A);
  const k1 = await readDevice(a);
  t.not(bytesToHex(k1.prekeyPublic), bytesToHex(k0.prekeyPublic), 'a new current prekey');
  t.equal(k1.pendingPrekey, undefined, 'nothing pending after ok');
  t.same(k1.retiredPrekeys!.map((r) => bytesToHex(r.public)), [bytesToHex(k0.prekeyPublic)], 'the old one retired');
  t.equal(k1.retiredPrekeys![0]!.retiredAt, t0, 'retired at the client clock');
  t.equal(k1.prekeySince, t0);

  const { c, texts, dropped } = await readAll(a, gw, 2, { clock: () => t0 + DAY, prekeyRotationMs: 0 });
  t.teardown(() => c.close());
  t.same(texts, ['after', 'before'], 'both open: the old mail with the retired secret');
  t.same(dropped, []);
});

t.test('past the retention window the old secret is deleted and mail sealed to it no longer opens', { skip }, async (t) => {
  const gw = await natsGateway(t);
  const { A, a, b } = await registerPair(gw);
  const k0 = await readDevice(a);

  const t0 = await rotateBetweenStored(gw, a, b, A);
  t.ok((await a.read('device.json'))!.includes(bytesToHex(k0.prekeySecret)), 'the old secret is kept at first');

  const later = t0 + DEFAULT_PREKEY_RETENTION_MS + 1;
  const { c, texts, dropped } = await readAll(a, gw, 2, { clock: () => later, prekeyRotationMs: 0 });
  t.teardown(() => c.close());
  t.same(texts, ['after'], 'mail sealed to the new prekey opens (the sender looked the new one up)');
  t.same(dropped, ['unreadable'], 'mail sealed to the expired prekey no longer opens');
  await until('the expired secret deleted from the profile', async () => !(await a.read('device.json'))!.includes(bytesToHex(k0.prekeySecret)), 10_000);
  t.equal((await readDevice(a)).retiredPrekeys, undefined, 'no retired prekeys left');
});

t.test('a pending key (its profile write failed after ok) opens mail, and is sent again on the next start', { skip }, async (t) => {
  const gw = await natsGateway(t);
  const { A, a, b } = await registerPair(gw, new FlakyStore());
  const k0 = await readDevice(a);

  const c1 = await HushwireClient.open(a, { receive: false });
  a.failDeviceWriteAt = 2; // the first write saves the pending key; the second (after ok) fails
  await t.rejects(c1.rotatePrekey(), /disk full/, 'the rotation fails at its last write');
  await c1.close();
  const mid = await readDevice(a);
  t.equal(bytesToHex(mid.prekeyPublic), bytesToHex(k0.prekeyPublic), 'the old prekey is still current in the profile');
  t.ok(mid.pendingPrekey, 'the new one is saved as pending');
  const pendingPub = bytesToHex(mid.pendingPrekey!.public);

  // The gateway took it: B seals to it; A opens it with the pending secret. (The
  // automatic retry on this connect fails at the same write again, so the key stays
  // pending in this client all along.)
  await sendStored(b, gw, A, 'to the pending key');
  a.failDeviceWriteAt = 1;
  const { c: c2, texts } = await readAll(a, gw, 1);
  t.same(texts, ['to the pending key'], 'opened with the pending secret');
  await until('the retry on connect tried', () => a.failDeviceWriteAt === 0, 15_000);
  await c2.close();
  t.ok((await readDevice(a)).pendingPrekey, 'still pending');
  // The next start sends the pending key again: ok (the gateway has it: unchanged).
  const c3 = await HushwireClient.open(a, { gateways: [gw.url], receive: false });
  t.teardown(() => c3.close());
  await c3.connect();
  await until('the pending key made current', async () => (await readDevice(a)).pendingPrekey === undefined, 15_000);
  const done = await readDevice(a);
  t.equal(bytesToHex(done.prekeyPublic), pendingPub, 'the pending key is current now (the same key, sent again)');
  t.same(done.retiredPrekeys!.map((r) => bytesToHex(r.public)), [bytesToHex(k0.prekeyPublic)]);
  const m = await fetch(gw.url.replace(/^ws/, 'http').replace(/\/ws$/, '/metrics')).then((r) => r.text());
  t.match(m, /hushwire_prekey_rotations_total\{outcome="unchanged"\} [12]\n/, 'the gateway saw the retries as unchanged');
  t.match(m, /hushwire_prekey_rotations_total\{outcome="rotated"\} 1\n/, 'one rotation written');
});

t.test('opt-out erases the current, pending and retired secrets', { skip }, async (t) => {
  const gw = await natsGateway(t);
  const a = new MemoryStore();
  await HushwireClient.register({ store: a, gateways: [gw.url], number: freshNumber() });
  const k0 = await readDevice(a);
  const c = await HushwireClient.open(a, { receive: false });
  await c.rotatePrekey();
  const k1 = await readDevice(a);
  t.equal(k1.retiredPrekeys!.length, 1);
  await c.unregister();
  t.equal(await a.read('device.json'), undefined, 'no device record');
  for (const record of PROFILE_RECORDS) {
    const text = (await a.read(record)) ?? '';
    for (const secret of [k0.prekeySecret, k1.prekeySecret, k1.identitySecret]) t.notOk(text.includes(bytesToHex(secret)), `no secret in ${record}`);
  }
});

t.test('a rotation within the gateway interval: RATE_LIMITED, the pending key kept and sent again later', { skip }, async (t) => {
  const gw = await natsGateway(t);
  const a = new MemoryStore();
  await HushwireClient.register({ store: a, gateways: [gw.url], number: freshNumber() });
  const c = await HushwireClient.open(a, { receive: false });
  t.teardown(() => c.close());
  await c.rotatePrekey();
  const err = await c.rotatePrekey().then(() => null, (e: unknown) => e as { code?: string; retryAfterMs?: number });
  t.equal(err?.code, 'RATE_LIMITED', 'a second rotation within 15 minutes is refused');
  t.ok((err?.retryAfterMs ?? 0) > 0, 'with retryAfterMs');
  const p1 = (await readDevice(a)).pendingPrekey;
  t.ok(p1, 'the refused key is kept as pending');
  const err2 = await c.rotatePrekey().then(() => null, (e: unknown) => e as { code?: string });
  t.equal(err2?.code, 'RATE_LIMITED');
  t.equal(bytesToHex((await readDevice(a)).pendingPrekey!.public), bytesToHex(p1!.public), 'the same pending key kept (the SDK answers this one itself while the gateway\'s wait lasts: prekey-refused.test.ts), no new one made');
});

t.test('rotatePrekey() called while the automatic rotation sends a pending key joins it (no second key, no RATE_LIMITED)', { skip }, async (t) => {
  const gw = await natsGateway(t);
  const a = new FlakyStore();
  await HushwireClient.register({ store: a, gateways: [gw.url], number: freshNumber() });
  const c1 = await HushwireClient.open(a, { receive: false });
  a.failDeviceWriteAt = 2; // pending saved, the gateway takes it, the write after ok fails
  await t.rejects(c1.rotatePrekey(), /disk full/);
  await c1.close();
  const pending = (await readDevice(a)).pendingPrekey!;
  const c2 = await HushwireClient.open(a, { receive: false });
  t.teardown(() => c2.close());
  await c2.connect(); // the automatic rotation starts: it sends the pending key again
  await c2.rotatePrekey(); // within the gateway's 15 minutes: a new key would be refused
  const d = await readDevice(a);
  t.equal(d.pendingPrekey, undefined, 'nothing pending');
  t.equal(bytesToHex(d.prekeyPublic), bytesToHex(pending.public), 'the pending key became current; no other was made');
});

t.test('a reader that did not rotate (another client of the profile did) reads the new keys from the store when mail needs them', { skip }, async (t) => {
  const gw = await natsGateway(t);
  const { A, a, b } = await registerPair(gw);
  // The reader comes back after another connection of its device took over (as `listen` does).
  const reader = await HushwireClient.open(a, { gateways: [gw.url], reclaimAfterTakeover: true, prekeyRotationMs: 0 });
  t.teardown(() => reader.close());
  await reader.connect();
  const it = reader.messages()[Symbol.asyncIterator]();
  const rotator = await HushwireClient.open(a, { gateways: [gw.url], receive: false, prekeyRotationMs: 0 });
  await rotator.rotatePrekey();
  await rotator.close();
  const sender = await HushwireClient.open(b, { gateways: [gw.url], receive: false });
  t.teardown(() => sender.close());
  const sent = await sender.send(A, 'sealed to the new prekey');
  t.match(sent.status, /^(delivered|stored)$/);
  const m = await within(it.next(), 30_000, 'the message at the reader');
  t.equal(m.value?.text, 'sealed to the new prekey', 'opened with the key the other client made');
  t.equal(reader.stats.unreadable, 0);
});

t.test('no rotation begins once close() was called: a rotatePrekey() queued behind it makes no key and writes nothing', { skip }, async (t) => {
  const gw = await natsGateway(t);
  const a = new MemoryStore();
  await HushwireClient.register({ store: a, gateways: [gw.url], number: freshNumber() });
  const before = await a.read('device.json');
  const c = await HushwireClient.open(a, { receive: false, prekeyRotationMs: 0 });
  const rot = c.rotatePrekey().then(() => 'rotated', (e: { code?: string }) => e.code);
  await c.close();
  t.equal(await rot, 'UNAVAILABLE', 'refused: the client is closed');
  t.equal(await a.read('device.json'), before, 'device.json untouched (no pending key made after close)');
});
