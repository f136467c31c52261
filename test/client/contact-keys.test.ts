// Contact keys through the SDK against a real gateway on a real nats-server: the first
// device list of a contact is accepted (trust on first use); both users compute the same
// safety number; once verified, a device the directory lists under the contact's number
// without the contact (written straight into the directory, as a malicious NATS or
// gateway operator could) holds every send to that contact (IDENTITY_CHANGED, nothing
// sealed to it) across restarts, until the user accepts the keys or verifies again; a
// contact's new device on an unverified contact is only told; devices that leave are
// told and forgotten; a received message says whether its sender's key is verified; and
// opt-out erases keys.json.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { HushwireClient, MemoryStore, HushwireError, type KeyChange, type ClientOptions } from '../../client/index.ts';
import { readDevice } from '../../client/profile-data.ts';
import { KEYS_RECORD, type ProfileRecord } from '../../client/store.ts';
import { generateIdentity, sign, prekeyInput } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { routeTag } from '../../relay/tokens.ts';
import { WebSocket as WsWebSocket } from 'ws';
import { wire, decodeFrame, type DecodedOp, type DirectoryDevice, type DirectoryDeviceProps } from '../../relay/wire.ts';
import { devicesOf } from '../../relay/directory.ts';
import { MAX_LISTED_DEVICES } from '../../client/discovery.ts';
import { natsTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { freshNumber } from '../helpers/handsets.ts';
import { within, until } from '../helpers/poll.ts';
import type { Test } from 'tap';

const skip = !haveNatsServer() && 'nats-server not installed';
// ~90 s alone on a 2-core machine (a dozen gateways, CLI runs): over tap's default 120 s
// per file when the machine is busy.
t.setTimeout(300_000);

async function registerPair(gw: TestGateway) {
  const [A, B] = [freshNumber(), freshNumber()];
  const [a, b] = [new MemoryStore(), new MemoryStore()];
  await HushwireClient.register({ store: a, gateways: [gw.url], number: A });
  await HushwireClient.register({ store: b, gateways: [gw.url], number: B });
  return { A, B, a, b };
}

/** A client that records its key changes; closed at the end of the test. */
async function open(t: Test, store: MemoryStore, gw: TestGateway, opts: ClientOptions = {}) {
  const changes: KeyChange[] = [];
  const c = await HushwireClient.open(store, { gateways: [gw.url], receive: false, onKeyChange: (ch) => changes.push(ch), ...opts });
  t.teardown(() => c.close());
  return { c, changes };
}

/** A gateway on a nats-server of its own (`natsPrefix`), a pair registered, and A's
 *  client having sent to B and verified B's safety number, then closed: the verified
 *  contact the held-device tests start from. */
async function verifiedContact(t: Test, natsPrefix: string) {
  const gw = await natsTestGateway(t, natsPrefix);
  const pair = await registerPair(gw);
  const { c } = await open(t, pair.a, gw);
  await c.send(pair.B, 'first');
  await c.verifyContact(pair.B, (await c.safetyNumber(pair.B)).digits);
  await c.close();
  return { gw, ...pair };
}

/** What a malicious directory operator does: lists a device of its own (valid keys,
 *  its own identity) under the victim's route. */
async function injectDevice(gw: TestGateway, victim: MemoryStore): Promise<string> {
  const { route } = await readDevice(victim);
  const id = generateIdentity();
  const device = new Uint8Array(randomBytes(16));
  const prekey = generateKeyPair().publicKey;
  await gw.relay.directory.upsertDevice(routeTag(route), {
    device, identityKey: id.publicKey, prekey, prekeySignature: sign(id.secretKey, prekeyInput(prekey)), registeredAtMs: Date.now(), lastSeenMs: Date.now(),
  });
  return bytesToHex(device);
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof HushwireError ? e.code : String(e);
  }
}

t.test('both users compute the same safety number; a verified contact with a device it did not register holds sends until accepted', { skip }, async (t) => {
  const gw = await natsTestGateway(t, 'ck1');
  const { A, B, a, b } = await registerPair(gw);
  const { c: ca, changes } = await open(t, a, gw);
  const { c: cb } = await open(t, b, gw);

  t.equal(ca.contactKeyStatus(B), undefined, 'unknown before the first lookup');
  t.equal((await ca.send(B, 'hello')).status, 'stored');
  t.equal(ca.contactKeyStatus(B), 'unverified', 'the first list is accepted (trust on first use)');
  t.same(changes, [], 'a first use is no change');

  const sa = await ca.safetyNumber(B);
  const sb = await cb.safetyNumber(A);
  t.match(sa.digits, /^[0-9]{60}$/);
  t.equal(sa.digits, sb.digits, 'the same number on both handsets');
  t.equal(sa.groups.join(''), sa.digits);
  t.same([sa.devices, sa.ownDevices, sa.status], [1, 1, 'unverified']);

  t.equal(await code(ca.verifyContact(B, '1'.repeat(60))), 'IDENTITY_CHANGED', 'a number that does not match verifies nothing');
  t.equal(await code(ca.verifyContact(B, 'not a number')), 'BAD_REQUEST');
  t.equal(await code(ca.safetyNumber(A)), 'BAD_REQUEST', 'no safety number with oneself');
  t.equal(ca.contactKeyStatus(B), 'unverified');
  await ca.verifyContact(B, sb.groups.join(' '));
  t.equal(ca.contactKeyStatus(B), 'verified');
  t.equal((await ca.safetyNumber(B)).status, 'verified');

  const evil = await injectDevice(gw, b);
  // A fresh client (no cached device list) meets the injected device at its lookup.
  const { c: ca2, changes: changes2 } = await open(t, a, gw);
  const err = await ca2.send(B, 'secret').then(() => null, (e: unknown) => e);
  t.ok(err instanceof HushwireError && err.code === 'IDENTITY_CHANGED', 'the send is held');
  t.equal((err as HushwireError).maybeDelivered, false, 'nothing went out');
  t.equal(changes2.length, 1, 'told once');
  t.same(changes2[0], { number: B, own: false, added: [evil], changed: [], removed: [], wasVerified: true, status: 'changed' });
  t.equal(ca2.contactKeyStatus(B), 'changed');
  t.equal(await code(ca2.send(B, 'again')), 'IDENTITY_CHANGED', 'still held');
  t.equal(changes2.length, 1, 'a hold already told is not told again');
  await ca2.close();

  // Kept in keys.json: a restarted client still holds.
  const { c: ca3 } = await open(t, a, gw);
  t.equal(ca3.contactKeyStatus(B), 'changed', 'the hold survives a restart');
  t.equal(await code(ca3.send(B, 'after restart')), 'IDENTITY_CHANGED');
  const now = await ca3.safetyNumber(B);
  t.not(now.digits, sa.digits, 'the safety number changed');
  t.same([now.devices, now.status], [2, 'changed']);

  await ca3.acceptContactKeys(B);
  t.equal(ca3.contactKeyStatus(B), 'unverified', 'accepted keys are not verified ones');
  const r = await ca3.send(B, 'accepted');
  t.same(r.receipts.map((x) => x.device).sort(), [bytesToHex((await readDevice(b)).device), evil].sort(), 'sealed to both listed devices once accepted');
  void ca;
});

t.test('an unverified contact\'s new device is told, not held; devices that leave are told; a received message carries its sender key status', { skip }, async (t) => {
  const gw = await natsTestGateway(t, 'ck2');
  const { A, B, a, b } = await registerPair(gw);
  const { c: ca } = await open(t, a, gw);
  await ca.send(B, 'first');
  await ca.close();

  const b2 = new MemoryStore();
  await HushwireClient.register({ store: b2, gateways: [gw.url], number: B });
  const d2 = bytesToHex((await readDevice(b2)).device);
  const { c: ca2, changes: changes2 } = await open(t, a, gw);
  const r = await ca2.send(B, 'to both');
  t.equal(r.receipts.length, 2, 'sent to the new device too');
  t.same(changes2, [{ number: B, own: false, added: [d2], changed: [], removed: [], wasVerified: false, status: 'unverified' }]);
  await ca2.close();

  // A verifies B (as both devices list now), then hears from B's first device.
  const { c: cb, changes: bChanges } = await open(t, b, gw);
  const { c: ca3, changes: changes3 } = await open(t, a, gw, { receive: true });
  await ca3.verifyContact(B, (await cb.safetyNumber(A)).digits);
  // B's client is send-only (receive: false): the gateway's new_device notice about b2
  // stays queued for B's next receiving connect. B's own-number baseline was taken at
  // b1's registration (b1 alone), so this look tells b2, registered after it, without
  // the notice (docs/CLIENT.md; test/client/cli-own-devices-register-baseline.test.ts).
  t.same(bChanges, [{ number: B, own: true, added: [d2], changed: [], removed: [], wasVerified: false, status: 'unverified' }], 'B\'s send-only look at its own number tells b2, registered after b1\'s baseline');
  await cb.send(A, 'from b1');
  const it = ca3.messages()[Symbol.asyncIterator]();
  const m1 = await within(it.next(), 15_000, 'a message from b1');
  t.same([m1.value.text, m1.value.senderKeys], ['from b1', 'verified']);

  // B's second device opts out: told as removed; B stays verified (the keys left were verified).
  const cb2 = await HushwireClient.open(b2, { gateways: [gw.url], receive: false });
  await cb2.unregister();
  t.equal((await ca3.safetyNumber(B)).status, 'verified');
  t.same(changes3, [{ number: B, own: false, added: [], changed: [], removed: [d2], wasVerified: true, status: 'verified' }]);

  // A third device of B writes to A: delivered, flagged changed; sends to B are held.
  const b3 = new MemoryStore();
  await HushwireClient.register({ store: b3, gateways: [gw.url], number: B });
  const d3 = bytesToHex((await readDevice(b3)).device);
  const cb3 = await HushwireClient.open(b3, { gateways: [gw.url], receive: false });
  t.teardown(() => cb3.close());
  await cb3.send(A, 'from b3');
  const m3 = await within(it.next(), 15_000, 'a message from b3');
  t.same([m3.value.text, m3.value.senderKeys, m3.value.verified], ['from b3', 'changed', true], 'shown, flagged as a key not accepted');
  t.same(changes3[1], { number: B, own: false, added: [d3], changed: [], removed: [], wasVerified: true, status: 'changed' });
  t.equal(await code(ca3.send(B, 'held')), 'IDENTITY_CHANGED');
  await cb.send(A, 'from b1 again');
  const m4 = await within(it.next(), 15_000, 'b1 again');
  t.same([m4.value.text, m4.value.senderKeys], ['from b1 again', 'verified'], 'the verified device stays verified while held');
});

t.test('keyChangePolicy all holds an unverified contact\'s change; none never holds a verified one', { skip }, async (t) => {
  const gw = await natsTestGateway(t, 'ck3');
  const { B, a, b } = await registerPair(gw);
  const { c: first } = await open(t, a, gw);
  await first.send(B, 'first');
  await first.close();
  await injectDevice(gw, b);
  const { c: strict, changes } = await open(t, a, gw, { keyChangePolicy: 'all' });
  t.equal(await code(strict.send(B, 'held')), 'IDENTITY_CHANGED');
  t.equal(changes[0]?.status, 'changed');
  await strict.acceptContactKeys(B);
  await strict.verifyContact(B, (await strict.safetyNumber(B)).digits);
  await strict.close();

  await injectDevice(gw, b);
  const { c: lax, changes: laxChanges } = await open(t, a, gw, { keyChangePolicy: 'none' });
  t.equal((await lax.send(B, 'not held')).receipts.length, 3);
  t.same([laxChanges[0]?.wasVerified, laxChanges[0]?.status], [true, 'unverified'], 'told; the verification is gone');
});

t.test('a held device that leaves the directory again gives back the verified contact', { skip }, async (t) => {
  const { gw, B, a, b } = await verifiedContact(t, 'ck4');
  const evil = await injectDevice(gw, b);
  const { c: c2, changes } = await open(t, a, gw);
  t.equal(await code(c2.send(B, 'held')), 'IDENTITY_CHANGED');
  await c2.close();
  await gw.relay.directory.removeDevice(routeTag((await readDevice(b)).route), Buffer.from(evil, 'hex'));
  const { c: c3, changes: changes3 } = await open(t, a, gw);
  t.equal((await c3.send(B, 'back')).receipts.length, 1);
  t.same(changes3.map((x) => [x.status, x.added.length, x.removed.length]), [['verified', 0, 0]], 'told: verified again');
  void changes;
});

t.test('opt-out erases keys.json; this user\'s own new device is told as own', { skip }, async (t) => {
  const gw = await natsTestGateway(t, 'ck5');
  const { A, B, a } = await registerPair(gw);
  const { c, changes } = await open(t, a, gw);
  await c.safetyNumber(B);
  const a2 = new MemoryStore();
  await HushwireClient.register({ store: a2, gateways: [gw.url], number: A });
  const own2 = bytesToHex((await readDevice(a2)).device);
  const s = await c.safetyNumber(B);
  t.equal(s.ownDevices, 2);
  t.same(changes, [{ number: A, own: true, added: [own2], changed: [], removed: [], wasVerified: false, status: 'unverified' }]);
  t.ok(await a.read(KEYS_RECORD), 'keys.json written');
  await c.unregister();
  t.equal(await a.read(KEYS_RECORD), undefined, 'keys.json erased with the device');
});

// ---- a directory that answers with lists no honest one gives (review fixes)

/** A device of the operator's own: valid keys, its own identity; `device` reuses an id. */
function forgedDevice(device: Uint8Array = new Uint8Array(randomBytes(16))) {
  const id = generateIdentity();
  const prekey = generateKeyPair().publicKey;
  return { device, identityKey: id.publicKey, prekey, prekeySignature: sign(id.secretKey, prekeyInput(prekey)), registeredAtMs: Date.now(), lastSeenMs: Date.now() };
}

/** Replaces the victim's whole directory entry, as the operator of the directory's KV
 *  bucket could (no per-route device limit, any order, a device id twice). */
async function writeDirectory(gw: TestGateway, victim: MemoryStore, edit: (devices: DirectoryDevice[]) => DirectoryDeviceProps[]): Promise<void> {
  const tag = routeTag((await readDevice(victim)).route);
  const rec = await gw.relay.bus.directoryGet(tag);
  const value = wire.DirectoryEntry.encode({ devices: edit(devicesOf(rec)) }).finish();
  t.ok(await gw.relay.bus.directoryPut(tag, value, rec ? rec.revision : 0), 'directory written');
}

t.test('a lookup answer listing more than 64 devices is refused: the 65th of a verified contact is never sealed to', { skip }, async (t) => {
  const gw = await natsTestGateway(t, 'ck6');
  const { B, a, b } = await registerPair(gw);
  // 64 devices listed before A's first lookup (accepted on first use), then verified.
  await writeDirectory(gw, b, (devices) => [...devices, ...Array.from({ length: MAX_LISTED_DEVICES - devices.length }, () => forgedDevice())]);
  const { c, changes } = await open(t, a, gw);
  t.equal((await c.send(B, 'first')).receipts.length, MAX_LISTED_DEVICES);
  await c.verifyContact(B, (await c.safetyNumber(B)).digits);
  t.equal(c.contactKeyStatus(B), 'verified');
  await c.close();

  const evil = forgedDevice();
  await writeDirectory(gw, b, (devices) => [...devices, evil]);
  const { c: c2, changes: changes2 } = await open(t, a, gw);
  const err = await c2.send(B, 'secret').then((r) => r, (e: unknown) => e);
  t.ok(err instanceof HushwireError && err.code === 'BAD_REQUEST', 'refused, nothing sent');
  t.equal((err as HushwireError).maybeDelivered, false);
  t.notOk(err instanceof HushwireError && /[0-9a-f]{32}/.test(err.message), 'no device id in the message');
  t.equal(await code(c2.safetyNumber(B)), 'BAD_REQUEST');
  t.equal(c2.contactKeyStatus(B), 'verified');
  t.same([changes, changes2], [[], []]);
});

t.test('a lookup answer listing a device id twice (the second time with the operator\'s key) is refused', { skip }, async (t) => {
  const { gw, B, a, b } = await verifiedContact(t, 'ck7');

  await writeDirectory(gw, b, (devices) => [forgedDevice(devices[0].device), ...devices]);
  const { c: c2 } = await open(t, a, gw);
  t.equal(await code(c2.send(B, 'secret')), 'BAD_REQUEST');
  t.equal(await code(c2.safetyNumber(B)), 'BAD_REQUEST');
});

/** `ws` with a gate on what the gateway sends: the first frame `hold` picks is kept back
 *  until the test lets it through (a gateway answering one lookup late, deterministically). */
class GatedWebSocket extends WsWebSocket {
  static hold: ((ops: DecodedOp[]) => boolean) | null = null;
  static held: Array<() => void> = [];
  static instances: GatedWebSocket[] = [];
  constructor(...args: ConstructorParameters<typeof WsWebSocket>) {
    super(...args);
    GatedWebSocket.instances.push(this);
  }
  #handler: ((ev: { data: unknown }) => void) | null = null;
  // @ts-expect-error the accessor narrows ws's handler type to what the SDK sets
  override get onmessage(): ((ev: { data: unknown }) => void) | null {
    return this.#handler;
  }
  override set onmessage(fn: ((ev: { data: unknown }) => void) | null) {
    this.#handler = fn;
    const setParent = Object.getOwnPropertyDescriptor(WsWebSocket.prototype, 'onmessage')!.set!;
    setParent.call(this, fn === null ? null : (ev: { data: unknown }) => {
      const ops = ev.data instanceof ArrayBuffer ? decodeFrame(new Uint8Array(ev.data)) : [];
      if (GatedWebSocket.hold?.(ops)) {
        GatedWebSocket.hold = null;
        GatedWebSocket.held.push(() => fn(ev));
        return;
      }
      fn(ev);
    });
  }
}

t.test('a device list cached before a verification is compared before a send seals to it (a lookup racing verifyContact)', { skip }, async (t) => {
  const gw = await natsTestGateway(t, 'ck8');
  const { A, B, a, b } = await registerPair(gw);
  const ownRoute = (await readDevice(a)).route;
  const { c, changes } = await open(t, a, gw, { WebSocket: GatedWebSocket as unknown as ClientOptions['WebSocket'] });
  const { c: cb } = await open(t, b, gw);
  await c.send(B, 'first');
  const digits = (await cb.safetyNumber(A)).digits; // as B's phone shows it: B's one device

  // verifyContact looks B up ([B's device]), then this user's own number: the gateway
  // answers the second one late. Meanwhile it lists the operator's device under B, and
  // another lookup of B (here acceptContactKeys; a received message's sender check does
  // the same) caches that list while B is not verified yet.
  GatedWebSocket.hold = (ops) => ops.some((op) => op.devices?.route instanceof Uint8Array && bytesToHex(op.devices.route) === bytesToHex(ownRoute));
  const verifying = c.verifyContact(B, digits);
  await until('the own lookup answer held', () => GatedWebSocket.held.length === 1);
  const evil = await injectDevice(gw, b);
  await c.acceptContactKeys(B);
  t.same(changes.map((x) => [x.added, x.status]), [[[evil], 'unverified']], 'told: an unverified contact\'s new device');
  GatedWebSocket.held.shift()!();
  await verifying; // the digits cover B's one device: verified for exactly that key
  t.equal(c.contactKeyStatus(B), 'verified');

  // The cached list still names the operator's device: the send must not seal to it.
  const err = await c.send(B, 'secret').then((r) => r, (e: unknown) => e);
  t.ok(err instanceof HushwireError && err.code === 'IDENTITY_CHANGED', 'held');
  t.equal((err as HushwireError).maybeDelivered, false, 'nothing went out');
  t.equal(c.contactKeyStatus(B), 'changed');
  t.same(changes[1], { number: B, own: false, added: [evil], changed: [], removed: [], wasVerified: true, status: 'changed' }, 'told once, as a held change');
  t.equal(await code(c.send(B, 'again')), 'IDENTITY_CHANGED');
  t.equal(changes.length, 2);
});

/** A MemoryStore whose next `gates` writes of keys.json wait until the test lets each go. */
class GatedStore extends MemoryStore {
  gates = 0;
  readonly waiting: Array<() => void> = [];
  override async write(record: ProfileRecord, text: string): Promise<void> {
    if (record === KEYS_RECORD && this.gates > 0) {
      this.gates--;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    return super.write(record, text);
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

t.test('close() waits for a keys.json write begun by a lookup answered while it waited for the saves before', { skip }, async (t) => {
  const gw = await natsTestGateway(t, 'ck9');
  const [A, B] = [freshNumber(), freshNumber()];
  const a = new GatedStore();
  const b = new MemoryStore();
  await HushwireClient.register({ store: a, gateways: [gw.url], number: A });
  await HushwireClient.register({ store: b, gateways: [gw.url], number: B });
  const bRoute = bytesToHex((await readDevice(b)).route);
  GatedWebSocket.instances = [];
  GatedWebSocket.held = [];
  const { c } = await open(t, a, gw, { WebSocket: GatedWebSocket as unknown as ClientOptions['WebSocket'] });
  await c.send(B, 'first');
  await c.safetyNumber(B); // the first use of this user's own number too
  await turn();

  // A save of keys.json under way (a change seen by safetyNumber), its write held, and
  // none queued behind it.
  a.gates = 2;
  await injectDevice(gw, b);
  await c.safetyNumber(B);
  await until('the first write held', () => a.waiting.length === 1);
  // Another lookup of B whose answer (another new device) the gateway holds back.
  await injectDevice(gw, b);
  GatedWebSocket.hold = (ops) => ops.some((op) => op.devices?.route instanceof Uint8Array && bytesToHex(op.devices.route) === bRoute);
  const late = c.safetyNumber(B).catch(() => 'ended');
  await until('the answer held', () => GatedWebSocket.held.length === 1);

  let closed = false;
  let writesAtClose = -1;
  const closing = c.close().then(() => {
    closed = true;
    writesAtClose = a.waiting.length;
  });
  await turn(); // close() now waits for the save under way
  GatedWebSocket.held.shift()!(); // the answer: a change, so another save
  await turn();
  a.waiting.shift()!(); // the first write ends
  await until('the second write held, or close() done', () => a.waiting.length === 1 || closed);
  const ws = GatedWebSocket.instances.at(-1)!;
  await until('the socket closed', () => ws.readyState === WsWebSocket.CLOSED || closed);
  await turn();
  while (a.waiting.length > 0) a.waiting.shift()!();
  await closing;
  await late;
  t.equal(writesAtClose, 0, 'no keys.json write was still under way when close() resolved');
});

t.test('discover() refuses the lookup answers a send refuses, before its devices reach the key book', { skip }, async (t) => {
  // discover() keeps a registered contact's device keys (its first use); it took every
  // list whose signatures verify, so a list of 65 devices, or a device id twice, was
  // kept (the first 64, the last key) although no send would seal to it.
  const gw = await natsTestGateway(t, 'ck10');
  const { B, a, b } = await registerPair(gw);
  await writeDirectory(gw, b, (devices) => [forgedDevice(devices[0].device), ...devices]);
  const { c, changes } = await open(t, a, gw);
  t.equal(await code(c.discover([B])), 'BAD_REQUEST', 'a device twice');
  t.equal(c.contactKeyStatus(B), undefined, 'nothing kept');
  await writeDirectory(gw, b, (devices) => [...devices.slice(1), ...Array.from({ length: MAX_LISTED_DEVICES }, () => forgedDevice())]);
  t.equal(await code(c.discover([B])), 'BAD_REQUEST', 'over 64 devices');
  t.equal(c.contactKeyStatus(B), undefined);
  await writeDirectory(gw, b, (devices) => devices.slice(0, 2));
  t.equal((await c.discover([B])).get(B)?.devices, 2, 'a list a send takes is kept');
  t.equal(c.contactKeyStatus(B), 'unverified');
  t.same(changes, []);
});

t.test('a damaged keys.json is told through onStoreError at open; the profile still works', { skip }, async (t) => {
  const gw = await natsTestGateway(t, 'ck6');
  const { B, a } = await registerPair(gw);
  await a.write(KEYS_RECORD, '{"version":1,"oprfPublicKey":');
  const storeErrors: unknown[] = [];
  const { c } = await open(t, a, gw, { onStoreError: (e) => storeErrors.push(e) });
  t.equal(storeErrors.length, 1, 'told once');
  t.match(storeErrors[0], { code: 'BAD_REQUEST', message: /keys\.json is damaged and was read as empty/ });
  t.equal((await c.send(B, 'still works')).status, 'stored');
  t.match(await a.read(KEYS_RECORD), /"version":1/, 'rewritten whole at the next save');
});

t.test('acceptContactKeys with the safety number shown accepts exactly those keys', { skip }, async (t) => {
  const gw = await natsTestGateway(t, 'ck7');
  const { B, a, b } = await registerPair(gw);
  const { c } = await open(t, a, gw);
  await c.send(B, 'first');
  await c.verifyContact(B, (await c.safetyNumber(B)).digits);
  await injectDevice(gw, b);
  t.equal(await code(c.safetyNumber(B).then(() => c.send(B, 'held'))), 'IDENTITY_CHANGED');
  const shown = await c.safetyNumber(B); // what the app shows with its dialog
  await injectDevice(gw, b); // and meanwhile one more device is listed
  t.equal(await code(c.acceptContactKeys(B, shown.digits)), 'IDENTITY_CHANGED', 'not the keys the user was shown: nothing accepted');
  t.equal(c.contactKeyStatus(B), 'changed', 'still held');
  t.equal(await code(c.acceptContactKeys(B, 'twelve')), 'BAD_REQUEST');
  const now = await c.safetyNumber(B);
  await c.acceptContactKeys(B, now.groups.join(' '));
  t.equal(c.contactKeyStatus(B), 'unverified');
  t.equal((await c.send(B, 'accepted')).receipts.length, 3);
});

t.test('the client looks its own number up after connecting: a device the operator lists under it is told, once; ownDevicesCheckMs 0 turns it off', { skip }, async (t) => {
  const gw = await natsTestGateway(t, 'ck8');
  const { A, a } = await registerPair(gw);
  // A receiving client: a send-only one keeps no baseline of its own number (the
  // gateway's new_device notices reach receiving connections only: docs/CLIENT.md).
  const first = await open(t, a, gw, { receive: true });
  await first.c.connect();
  await until('the first look at the own number saved', async () => (await a.read(KEYS_RECORD)) !== undefined, 15_000);
  t.same(first.changes, [], 'only this device: nothing to tell');
  await first.c.close();

  const evil = await injectDevice(gw, a);
  const off = await open(t, a, gw, { ownDevicesCheckMs: 0 });
  await off.c.connect();
  await new Promise((r) => setTimeout(r, 500));
  t.same(off.changes, [], 'with the check off nothing looks (nor tells)');
  await off.c.close();

  const on = await open(t, a, gw);
  await on.c.connect();
  await until('the own-number change told', () => on.changes.length > 0, 15_000);
  t.same(on.changes, [{ number: A, own: true, added: [evil], changed: [], removed: [], wasVerified: false, status: 'unverified' }], 'told at connect, without any send, lookup or gateway notice');
  t.equal(await code(HushwireClient.open(a, { ownDevicesCheckMs: -1 })), 'BAD_REQUEST');
});
