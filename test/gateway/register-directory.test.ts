// A register whose directory write failed (UNAVAILABLE from the bus: NATS down, or its
// answer lost) used up the verification code: the session forgot it before the write
// (`one code, one registration`), so the handset's retry on the same socket got
// VERIFY_FAILED and the person had to ask for another SMS (one of the number's 5 a day)
// although nothing was registered. Now the code is kept (same expiry, same attempts
// left), as for an OPRF failure (8336bec). A write may have landed with its answer lost:
// the code then stays bound to the device of that register, so the retry writes that same
// device again (one registration) and no other device can be registered with the code.
// A register that failed after its write (the device's subscription on the bus) keeps
// the code bound to its device too: the write landed, and the retry finishes that
// registration instead of leaving the device listed with keys nobody holds; the number's
// other devices hear of it once.
// Real nats-server, a gateway on NATS with its key in process; its directory writes and
// device subscriptions fail on demand (helpers/bus-hooks.ts failDirectoryWrites,
// failSubscribe).
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { generateIdentity, sign, authInput } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { routeTag } from '../../relay/tokens.ts';
import { bytesEqual } from '../../relay/bytes.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { withCode } from '../helpers/raw-device.ts';
import { failDirectoryWrites, failSubscribe, holdSubscribe } from '../helpers/bus-hooks.ts';
import { until } from '../helpers/poll.ts';

let seq = 0;
const freshNumber = () => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++seq).padStart(4, '0')}`;

interface Device { id: ReturnType<typeof generateIdentity>; prekey: ReturnType<typeof generateKeyPair>; device: Uint8Array }
const newDevice = (): Device => ({ id: generateIdentity(), prekey: generateKeyPair(), device: new Uint8Array(randomBytes(16)) });

async function gateway(t: Test): Promise<TestGateway> {
  const nats = await startNatsServer({ t });
  const gw = await startTestGateway({ nats: nats.url, transport: 'ws', oprfKeyFile: oprfKeyFile(), logLevel: 'warn' });
  t.teardown(() => gw.close());
  return gw;
}

/** The devices the directory lists under `number` (their ids). */
async function listed(gw: TestGateway, number: string): Promise<Uint8Array[]> {
  const tag = routeTag(await gw.relay.evaluator.routeForNumber(number));
  return (await gw.relay.directory.devices(tag)).map((d) => d.device);
}

/** Whether `d` signs in (auth) on a new connection: it is registered with its keys. */
async function signsIn(t: Test, gw: TestGateway, number: string, d: Device): Promise<boolean> {
  const route = await gw.relay.evaluator.routeForNumber(number);
  const c: RawClient = await connectRaw(gw.url);
  t.teardown(() => c.close());
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 1, auth: { route, device: d.device, signature: sign(d.id.secretKey, authInput(ch.nonce, route, d.device)) } }]);
  return (await c.reply(1)).body === 'ok';
}

const skip = haveNatsServer() ? false : 'nats-server not installed';

t.test('a directory write that failed keeps the code', { skip }, async (t) => {
  const gw = await gateway(t);
  const dir = failDirectoryWrites(t, gw.bus);
  const number = freshNumber();
  const { code, register } = await withCode(t, gw.url, number);
  const d = newDevice();
  dir.fail = 1;
  t.equal(await register(d), 'UNAVAILABLE', 'the directory write failed');
  t.equal(dir.fail, 0);
  t.same(await listed(gw, number), [], 'nothing registered');
  t.equal(gw.relay.verifyGate.pending, 1, 'the socket still waits for its code');
  // No guess was used either: 4 wrong codes still leave the right one its turn.
  const wrong = code === '000000' ? '000001' : '000000';
  for (let i = 0; i < 4; i++) t.equal(await register(d, wrong), 'VERIFY_FAILED', `wrong code ${i + 1} of 4`);
  t.equal(await register(d), 'registered', 'the same register, sent again, registers: the failed write did not use the code');
  t.equal(gw.relay.verifyGate.pending, 0);
  t.ok(await signsIn(t, gw, number, d), 'the device is registered with its keys');
});

t.test('a directory write that landed but lost its answer: the code finishes that registration, and no other', { skip }, async (t) => {
  const gw = await gateway(t);
  const dir = failDirectoryWrites(t, gw.bus);
  const number = freshNumber();
  const { register } = await withCode(t, gw.url, number);
  const d = newDevice();
  dir.lose = 1;
  t.equal(await register(d), 'UNAVAILABLE', 'the write landed, its answer did not come');
  t.equal(dir.lose, 0);
  const first = await listed(gw, number);
  t.equal(first.length, 1, 'the device is in the directory');
  t.ok(bytesEqual(first[0]!, d.device));

  // Another device (or other keys for the same device id) with the right code: refused,
  // the code kept for the registration that may have been made.
  const other = newDevice();
  t.equal(await register(other), 'VERIFY_FAILED', 'another device cannot use the code');
  const sameIdOtherKeys = { ...newDevice(), device: d.device };
  t.equal(await register(sameIdOtherKeys), 'VERIFY_FAILED', 'nor the same device id with other keys');
  t.equal((await listed(gw, number)).length, 1, 'nothing written for them');

  t.equal(await register(d), 'registered', 'the same register again finishes the registration');
  const after = await listed(gw, number);
  t.equal(after.length, 1, 'one device under the number: the retry replaced its own record');
  t.ok(bytesEqual(after[0]!, d.device));
  t.equal(await register(other), 'ALREADY_AUTHENTICATED', 'and the socket is done with its code');
  t.ok(await signsIn(t, gw, number, d), 'the device signs in with its keys');
  t.notOk(await signsIn(t, gw, number, other), 'the other device was never registered');
});

t.test('a register whose write succeeded is the code\'s one registration', { skip }, async (t) => {
  const gw = await gateway(t);
  const number = freshNumber();
  const { c, register } = await withCode(t, gw.url, number);
  const d = newDevice();
  // Held after the directory write, while the session subscribes as the device.
  const tag = routeTag(await gw.relay.evaluator.routeForNumber(number));
  const { entered, release } = holdSubscribe(t, gw, tag, Buffer.from(d.device).toString('hex'));
  const registered = register(d);
  await entered;
  t.equal((await listed(gw, number)).length, 1, 'written');
  const other = newDevice();
  t.equal(await register(other), 'BAD_REQUEST', 'a second register meanwhile is refused (one at a time)');
  release();
  t.equal(await registered, 'registered');
  t.equal(await register(other), 'ALREADY_AUTHENTICATED', 'the code registered one device');
  t.equal((await listed(gw, number)).length, 1);
  c.close();
});

t.test('a register that failed after its directory write keeps the code for that device; the number\'s other devices are told once', { skip }, async (t) => {
  const gw = await gateway(t);
  const number = freshNumber();
  // The number's first device, connected: it hears of the second.
  const first = await withCode(t, gw.url, number);
  t.equal(await first.register(newDevice()), 'registered');
  let notices = 0; // new-device notices the gateway published (live, to connected devices)
  const bus = gw.bus;
  const publish = bus.publishControl.bind(bus);
  bus.publishControl = (...args: Parameters<typeof publish>) => {
    if (args[2].kind === 'notice') notices++;
    return publish(...args);
  };
  t.teardown(() => { bus.publishControl = publish; });
  const registrations = async () => (await gw.relay.metrics.registrations.get()).values[0]?.value ?? 0;
  const before = await registrations();

  const sub = failSubscribe(t, bus);
  const { register } = await withCode(t, gw.url, number);
  const d = newDevice();
  sub.fail = 1;
  t.equal(await register(d), 'UNAVAILABLE', 'the device\'s subscription failed, after its write');
  t.equal(sub.fail, 0);
  t.equal((await listed(gw, number)).length, 2, 'the device is in the directory');
  t.equal(gw.relay.verifyGate.pending, 1, 'the socket still waits for its code');
  t.equal(notices, 1, 'the other device was told');
  t.equal(await register(newDevice()), 'VERIFY_FAILED', 'another device cannot use the code');
  t.equal(await register({ ...newDevice(), device: d.device }), 'VERIFY_FAILED', 'nor the same device id with other keys');

  t.equal(await register(d), 'registered', 'the same register again finishes the registration');
  const after = await listed(gw, number);
  t.equal(after.length, 2, 'two devices under the number: the retry replaced its own record');
  t.equal(after.filter((x) => bytesEqual(x, d.device)).length, 1);
  t.equal(notices, 1, 'the other device was not told a second time');
  t.equal(await registrations() - before, 1, 'one registration counted');
  t.equal((await first.c.next((o) => o.body === 'notice')).notice?.kind, 'new_device', 'the first device heard of it');
  t.equal(gw.relay.verifyGate.pending, 0);
  t.ok(await signsIn(t, gw, number, d), 'the device signs in with its keys');
});

// A connection that closes before its registration finished (the handset gave up, lost
// its network, or an older SDK that does not retry) while a write of it may have landed:
// the gateway removes that device from the directory, compare-and-set against what the
// register wrote, and erases its mailbox (relay/privacy/privacy.ts eraseUnfinished).

/** hushwire_unfinished_registrations_total of `gw` by outcome. */
async function unfinished(gw: TestGateway): Promise<Record<string, number>> {
  const m = gw.relay.metrics.registry.getSingleMetric('hushwire_unfinished_registrations_total');
  const out: Record<string, number> = {};
  for (const v of (await m?.get())?.values ?? []) out[String(v.labels.outcome)] = v.value;
  return out;
}

/** Waits until `gw` has dealt with `n` unfinished registrations (any outcome). */
async function handled(gw: TestGateway, n: number): Promise<Record<string, number>> {
  let last: Record<string, number> = {};
  await until(`${n} unfinished registration(s) handled`, async () => {
    last = await unfinished(gw);
    return Object.values(last).reduce((a, b) => a + b, 0) >= n;
  });
  return last;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A number with one registered device (`first`), and a second device `d` whose register,
 *  on a socket of its own (`c`, still open), answered UNAVAILABLE because its directory
 *  write failed: `lose`, it landed and its answer was lost; `fail`, nothing was written.
 *  The cases on such a socket's close start alike and differ in what the write left. */
async function secondWriteUnfinished(t: Test, gw: TestGateway, write: 'lose' | 'fail', what: string) {
  const number = freshNumber();
  const first = newDevice();
  t.equal(await (await withCode(t, gw.url, number)).register(first), 'registered', 'the number\'s first device');
  const dir = failDirectoryWrites(t, gw.bus);
  const { c, register } = await withCode(t, gw.url, number);
  const d = newDevice();
  dir[write] = 1;
  t.equal(await register(d), 'UNAVAILABLE', what);
  return { number, first, c, d };
}

t.test('a connection closed after a write that landed with its answer lost: its device leaves the directory, its mail is erased', { skip }, async (t) => {
  const gw = await gateway(t);
  const { number, first, c, d } = await secondWriteUnfinished(t, gw, 'lose', 'the write landed, its answer did not come');
  t.equal((await listed(gw, number)).length, 2, 'the device is in the directory');
  // A sender looked it up meanwhile and stored mail for it.
  const tag = routeTag(await gw.relay.evaluator.routeForNumber(number));
  await gw.bus.mailboxPut(tag, hexOf(d.device), hexOf(randomBytes(16)), new Uint8Array([1, 2, 3]));
  t.equal((await gw.bus.mailboxRead(tag, hexOf(d.device), 0, 10)).length, 1, 'mail stored for it');

  c.close(); // the handset gives up
  t.same(await handled(gw, 1), { removed: 1, absent: 0, kept: 0, failed: 0 }, 'removed');
  const after = await listed(gw, number);
  t.equal(after.length, 1, 'the device is gone from the directory');
  t.ok(bytesEqual(after[0]!, first.device), 'the number\'s other device stays');
  t.notOk(await signsIn(t, gw, number, d), 'nothing signs in as it');
  t.equal((await gw.bus.mailboxRead(tag, hexOf(d.device), 0, 10)).length, 0, 'its mail is erased');
  t.ok(await signsIn(t, gw, number, first), 'the other device signs in');
});

t.test('a connection closed after a registration failed past its write (the subscription): its device leaves the directory', { skip }, async (t) => {
  const gw = await gateway(t);
  const number = freshNumber();
  const first = await withCode(t, gw.url, number);
  t.equal(await first.register(newDevice()), 'registered', 'the number\'s first device, connected');
  const sub = failSubscribe(t, gw.bus);
  const { c, register } = await withCode(t, gw.url, number);
  sub.fail = 1;
  t.equal(await register(newDevice()), 'UNAVAILABLE', 'the subscription failed, after the write');
  t.equal((await listed(gw, number)).length, 2, 'the device is in the directory');
  t.equal((await first.c.next((o) => o.body === 'notice')).notice?.kind, 'new_device', 'the first device was told of it (and keeps that notice)');
  c.close();
  t.same(await handled(gw, 1), { removed: 1, absent: 0, kept: 0, failed: 0 });
  t.equal((await listed(gw, number)).length, 1, 'only the first device is left');
});

t.test('a connection closed after a write that did not land: nothing removed, nothing failed', { skip }, async (t) => {
  const gw = await gateway(t);
  const { number, first, c } = await secondWriteUnfinished(t, gw, 'fail', 'the write failed without writing');
  c.close();
  t.same(await handled(gw, 1), { removed: 0, absent: 1, kept: 0, failed: 0 }, 'found nothing to remove');
  const after = await listed(gw, number);
  t.equal(after.length, 1);
  t.ok(bytesEqual(after[0]!, first.device), 'the number\'s device stays');
  t.ok(await signsIn(t, gw, number, first));
});

t.test('a device registered again by a finished registration meanwhile is not removed when the first connection closes', { skip }, async (t) => {
  const gw = await gateway(t);
  const number = freshNumber();
  const dir = failDirectoryWrites(t, gw.bus);
  const { c, register } = await withCode(t, gw.url, number);
  const d = newDevice();
  dir.lose = 1;
  t.equal(await register(d), 'UNAVAILABLE', 'the write landed, its answer did not come');
  // The handset, on another connection with a new code, registers the same device (same
  // id and keys): a finished registration, its own record.
  const again = await withCode(t, gw.url, number);
  t.equal(await again.register(d), 'registered', 'registered again elsewhere');
  c.close(); // the first connection closes with its write unfinished
  t.same(await handled(gw, 1), { removed: 0, absent: 0, kept: 1, failed: 0 }, 'kept: the record is another registration');
  const after = await listed(gw, number);
  t.equal(after.length, 1);
  t.ok(bytesEqual(after[0]!, d.device), 'the device stays listed');
  t.ok(await signsIn(t, gw, number, d), 'and signs in');
});
