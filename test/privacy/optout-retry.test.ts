// An opt-out whose mail erase fails must be retryable: the gateway erases the device's
// mail before it removes the device from the directory, so when the erase fails (NATS
// unavailable, a right the gateway's NATS user lacks) the handset gets the error, still
// authenticates, and opts out again. Before, the device was removed first: the retry got
// AUTH_FAILED and the mail stayed until the orphan sweep (found by an operator audit).
// Fault injection on the gateway's real (embedded) bus; the NATS-backed opt-out is
// test/privacy/optout.test.ts.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { registerRaw, authenticateRaw, type RawDevice } from '../helpers/raw-device.ts';
import type { RawClient } from '../helpers/raw.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { CloseCode } from '../../relay/errors.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';

let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(6000 + ++seq).padStart(4, '0')}`;

/** Stores one message for `to` (offline) from `from`; resolves with the receipt status. */
async function mail(from: RawClient, to: RawDevice, req: number): Promise<string> {
  const env = { version: 1, suite: 1, route: to.route, device: to.device, id: new Uint8Array(randomBytes(16)), enc: new Uint8Array(randomBytes(32)), ciphertext: new Uint8Array(randomBytes(240)) };
  from.send([{ req, send: { envelopes: [env] } }]);
  const r = await from.reply(req);
  return r.sendResult?.receipts[0]?.status ?? `error ${r.error?.code}`;
}

async function mailboxSize(gw: TestGateway, d: RawDevice): Promise<number> {
  return (await gw.bus.mailboxRead(routeTag(d.route), deviceToken(d.device), 0, 100)).length;
}

/** Makes the bus's per-device mail erase fail on the calls numbered in `failing` (1-based). */
function failPurges(gw: TestGateway, failing: number[]): { calls: number } {
  const real = gw.bus.mailboxPurge.bind(gw.bus);
  const seen = { calls: 0 };
  gw.bus.mailboxPurge = (tag: string, dev?: string): Promise<void> => {
    if (dev === undefined) return real(tag, dev);
    seen.calls++;
    if (failing.includes(seen.calls)) return Promise.reject(new HushwireError(ErrorCode.UNAVAILABLE, 'mailbox store unavailable'));
    return real(tag, dev);
  };
  return seen;
}

/** A gateway, an authenticated sender on it, and a registered device that went offline. */
async function offlineDevice(t: Test): Promise<{ gw: TestGateway; sender: RawClient; dev: RawDevice }> {
  const gw = await startTestGateway();
  t.teardown(() => gw.close());
  const { c: sender } = await registerRaw(gw.url, freshNumber());
  t.teardown(() => sender.close());
  const { c, dev } = await registerRaw(gw.url, freshNumber());
  c.close();
  await c.closed;
  return { gw, sender, dev };
}

t.test('the erase fails: the handset is told, stays registered, and its retry erases everything', async (t) => {
  const { gw, sender, dev } = await offlineDevice(t);
  for (let i = 0; i < 3; i++) t.equal(await mail(sender, dev, 100 + i), 'stored');
  t.equal(await mailboxSize(gw, dev), 3, 'three messages wait for the device');

  const purges = failPurges(gw, [1]);
  const a = await authenticateRaw(gw.url, dev);
  a.send([{ req: 50, unregister: {} }]);
  const r = await a.reply(50);
  t.equal(r.body, 'error');
  t.equal(r.error?.code, 'UNAVAILABLE', 'the failure reaches the handset');
  t.equal((await a.closed).code, CloseCode.TRY_AGAIN_LATER, 'closed 1013 so that it reconnects (and subscribes) before it retries');
  t.not(await gw.bus.directoryGet(routeTag(dev.route)), null, 'still in the directory');

  // The retry: the device still authenticates, and this time everything goes.
  const b = await authenticateRaw(gw.url, dev);
  b.send([{ req: 51, unregister: {} }]);
  t.equal((await b.reply(51)).body, 'ok');
  t.equal((await b.closed).code, CloseCode.UNREGISTERED);
  t.equal(purges.calls, 3, 'the retry erased before and after removing the device');
  t.equal(await gw.bus.directoryGet(routeTag(dev.route)), null, 'no directory entry');
  t.equal(await mailboxSize(gw, dev), 0, 'no mail left');
  await t.rejects(authenticateRaw(gw.url, dev), /^auth failed: .*"code":"AUTH_FAILED"/, 'gone for good: AUTH_FAILED');
});

t.test('mail stored between the erase and the removal is erased too; a failure of that second erase is logged, not the handset\'s', async (t) => {
  const { gw, sender, dev } = await offlineDevice(t);
  t.equal(await mail(sender, dev, 100), 'stored');

  // A message stored right after the first erase, before the removal: the second erase takes it.
  const real = gw.bus.mailboxPurge.bind(gw.bus);
  let calls = 0;
  gw.bus.mailboxPurge = async (tag: string, d?: string): Promise<void> => {
    await real(tag, d);
    if (d !== undefined && ++calls === 1) t.equal(await mail(sender, dev, 101), 'stored', 'a message lands between the erase and the removal');
  };
  const a = await authenticateRaw(gw.url, dev);
  a.send([{ req: 50, unregister: {} }]);
  t.equal((await a.reply(50)).body, 'ok');
  // Else the message never landed, and the check below holds for an empty mailbox.
  t.ok(calls >= 2, `the late message was stored after an erase of the device's mail, and another erase came after it (${calls} erases)`);
  t.equal(await mailboxSize(gw, dev), 0, 'the late message is erased as well');

  // Another device whose second erase fails: the opt-out still succeeds (the device is
  // gone; the orphan sweep erases what is left), and the gateway says so in its log.
  gw.bus.mailboxPurge = real;
  const { c: c2, dev: dev2 } = await registerRaw(gw.url, freshNumber());
  c2.close();
  await c2.closed;
  failPurges(gw, [2]);
  const b = await authenticateRaw(gw.url, dev2);
  b.send([{ req: 52, unregister: {} }]);
  t.equal((await b.reply(52)).body, 'ok', 'the handset is done: its device is removed');
  t.equal((await b.closed).code, CloseCode.UNREGISTERED);
  t.equal(await gw.bus.directoryGet(routeTag(dev2.route)), null, 'no directory entry');
  t.match(gw.logs(), /opt-out: device removed, but its mail erase failed/, 'logged for the operator');
  t.notMatch(gw.logs(), new RegExp(dev2.number.slice(1)), 'the log names no number');
});
