// Fault: erases and removals in flight when a gateway's NATS connection drops, and the
// idle sweep when the connection is lost before or during it. nats.js 3.4 drops what is
// written while disconnected and never answers a request in flight at the drop
// (test/faults/nats-blip.test.ts). The bus makes idempotent requests again once
// reconnected; a compare-and-set write in flight may have landed, so it fails
// (WriteOutcomeUnknown, UNAVAILABLE to a handset). Now:
// - a device's removal in flight (an opt-out, an unfinished registration's device, the
//   idle expiry) is decided again on a fresh read once reconnected: before, an opt-out
//   whose removal had landed was answered UNAVAILABLE (and the handset's retry could no
//   longer authenticate), one that had not was UNAVAILABLE too; an unfinished
//   registration's device whose removal landed kept its mail (left for the orphan
//   sweep), one whose removal had not stayed listed ('failed') until the idle expiry;
// - mailbox erases (a drained page the device acked) in flight are sent again once
//   reconnected instead of failing UNAVAILABLE (the mail then stayed, delivered again);
// - the idle sweep, due while the connection is lost past the bus's grace, waits for the
//   reconnect and runs then (before: 'idle sweep lease unavailable', nothing until the
//   next period); one that the loss interrupts runs again once reconnected (before: the
//   routes left failed one by one, the sweep ended having done part of its work).
//
// A gateway's connection goes through a TCP proxy (test/helpers/proxied-gateway.ts) that can
// hold what either side sends and be cut (connections dropped, reconnects refused) and
// opened again; a second gateway on the nats-server itself looks at the store. No timing
// is asserted: the request deadlines are far beyond the test, and each outcome is waited
// for by itself.
import t, { type Test } from 'tap';
import type { TestGateway } from '../helpers/gateway.ts';
import { proxiedGateway, authenticatedWithMail, type Proxy } from '../helpers/proxied-gateway.ts';
import { until } from '../helpers/poll.ts';
import { authenticate, seedDevice, type OpsDevice } from '../ops/fixtures.ts';
import { bytes, tok } from '../bus/contract.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { isHushwireError } from '../../relay/errors.ts';
import { generateIdentity, prekeyInput, sign } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { randomBytes } from 'node:crypto';

t.setTimeout(240_000);

const PREFIX = 'eraseblip';
const LONG_MS = 600_000;

/** Cuts the proxy, waits until `g` sees the loss, opens the proxy again. */
async function blip(g: TestGateway, proxy: Proxy): Promise<void> {
  await proxy.cut();
  await until('the loss seen', () => g.bus.status().state === 'reconnecting', 20_000);
  await proxy.open();
}

/** Another device on `dev`'s route (a second phone of the same number). */
async function addDevice(g: TestGateway, dev: OpsDevice): Promise<OpsDevice> {
  const id = generateIdentity();
  const device = new Uint8Array(randomBytes(16));
  const prekey = generateKeyPair().publicKey;
  const now = Date.now();
  await g.relay.directory.upsertDevice(routeTag(dev.route), {
    device, identityKey: id.publicKey, prekey, prekeySignature: sign(id.secretKey, prekeyInput(prekey)),
    registeredAtMs: now, lastSeenMs: now,
  });
  return { route: dev.route, device, id };
}

/** The next directory write of `g` for `tag` (`which`: its delete or put) holds what
 *  the proxy passes (`what`) as it is made; resolves once it was made. */
function holdAtWrite(t: Test, g: TestGateway, proxy: Proxy, tag: string, which: 'directoryDelete' | 'directoryPut', what: 'replies' | 'requests'): Promise<void> {
  const bus = g.bus;
  let made!: () => void;
  const wrote = new Promise<void>((r) => { made = r; });
  if (which === 'directoryDelete') {
    const original = bus.directoryDelete.bind(bus);
    bus.directoryDelete = (r, rev) => {
      if (r === tag) {
        bus.directoryDelete = original;
        proxy.hold(what);
        made();
      }
      return original(r, rev);
    };
    t.teardown(() => { bus.directoryDelete = original; });
  } else {
    const original = bus.directoryPut.bind(bus);
    bus.directoryPut = (r, value, rev) => {
      if (r === tag) {
        bus.directoryPut = original;
        proxy.hold(what);
        made();
      }
      return original(r, value, rev);
    };
    t.teardown(() => { bus.directoryPut = original; });
  }
  return wrote;
}

const devicesAt = async (gw: TestGateway, tag: string): Promise<string[]> =>
  (await gw.relay.directory.devices(tag, { fromLeader: true })).map((d) => deviceToken(d.device));

for (const what of ['replies', 'requests'] as const) {
  const landed = what === 'replies';
  t.test(`an opt-out whose directory removal is in flight when NATS drops (${landed ? 'it landed, its answer lost' : 'it never reached NATS'}): answered ok once reconnected, the device and its mail gone`, async (t) => {
    const { g, direct, proxy } = await proxiedGateway(t, PREFIX);
    const { tag, devTok, c } = await authenticatedWithMail(t, g, direct);
    const writing = holdAtWrite(t, g, proxy, tag, 'directoryDelete', what);
    c.send([{ req: 20, unregister: {} }]);
    const answer = Promise.race([c.reply(20, LONG_MS), c.closed.then((x) => ({ closed: `${x.code} ${x.reason}` }))]);
    await writing;
    // The removal (a compare-and-set write of an empty entry first) reached the store, or
    // is held at the proxy with everything after it.
    if (landed) await until('the removal to land', async () => (await direct.bus.directoryGet(tag, { fromLeader: true }))?.value.length === 0, 20_000);
    else await new Promise((r) => setTimeout(r, 300));
    await blip(g, proxy);
    const op = await answer;
    t.equal('body' in op ? op.body : JSON.stringify(op), 'ok', 'the opt-out is answered ok (not UNAVAILABLE)');
    t.same(await devicesAt(direct, tag), [], 'the device is out of the directory');
    t.same(await direct.bus.mailboxRead(tag, devTok, 0, 10), [], 'its mail is erased');
  });
}

t.test('an unfinished registration\'s device whose removal is in flight when NATS drops (landed, answer lost): removed and its mail erased once reconnected', async (t) => {
  const { g, direct, proxy } = await proxiedGateway(t, PREFIX);
  const first = await seedDevice(g.relay.directory);
  const unfinished = await addDevice(g, first);
  const tag = routeTag(first.route);
  const devTok = deviceToken(unfinished.device);
  await direct.bus.mailboxPut(tag, devTok, tok(), bytes(64));
  const writing = holdAtWrite(t, g, proxy, tag, 'directoryPut', 'replies');
  const outcome = g.relay.privacy.eraseUnfinished(tag, unfinished.device, () => true, LONG_MS);
  await writing;
  await until('the removal to land', async () => (await devicesAt(direct, tag)).length === 1, 20_000);
  await blip(g, proxy);
  t.equal(await outcome, 'removed', 'removed');
  t.same(await devicesAt(direct, tag), [deviceToken(first.device)], 'the number\'s other device stays');
  t.same(await direct.bus.mailboxRead(tag, devTok, 0, 10), [], 'the removed device\'s mail is erased (before: the removal failed UNAVAILABLE, counted removed, its mail left for the orphan sweep)');
});

/** The next delete of `tag`'s entry by `g` (an empty revision written by compare-and-set,
 *  then erased by its sequence): once its write has landed and been answered, its erase
 *  request is held at the proxy, cut, and on the connection made once reconnected held
 *  again, and cut again (a second loss), before the proxy opens for good. Resolves once
 *  that is done. */
async function loseDeleteTwice(t: Test, g: TestGateway, proxy: Proxy, tag: string): Promise<() => Promise<void>> {
  const bus = g.bus;
  const original = bus.directoryPut.bind(bus);
  let heldNow: () => void = () => undefined;
  const holdErases = (): Promise<void> => new Promise<void>((resolve) => {
    heldNow = resolve;
    proxy.holdFrom('$JS.API.STREAM.MSG.DELETE.', () => heldNow());
  });
  let firstHeld: Promise<void> | null = null;
  bus.directoryPut = async (r, value, rev) => {
    const got = await original(r, value, rev);
    if (r === tag && value.length === 0 && got !== null) {
      bus.directoryPut = original;
      firstHeld = holdErases(); // the delete's erase comes next
    }
    return got;
  };
  t.teardown(() => { bus.directoryPut = original; proxy.holdFrom(null); });
  return async () => {
    await until('the empty revision written', () => firstHeld !== null, 20_000);
    await firstHeld;
    const secondHeld = new Promise<void>((resolve) => { heldNow = resolve; });
    await proxy.cut();
    await until('the loss seen', () => g.bus.status().state === 'reconnecting', 20_000);
    await proxy.open(); // still holding erases: the erase, made again once reconnected, is held
    await secondHeld;
    proxy.holdFrom(null);
    await blip(g, proxy);
  };
}

t.test('an opt-out whose removal deletes the entry and loses its erase with the connection twice: not failed, the entry and the mail erased once reconnected', async (t) => {
  const { g, direct, proxy } = await proxiedGateway(t, PREFIX);
  const { tag, devTok, c } = await authenticatedWithMail(t, g, direct);
  const losses = await loseDeleteTwice(t, g, proxy, tag);
  c.send([{ req: 21, unregister: {} }]);
  await losses();
  // Answered, then closed 4006. The re-reads of its sessions' records once reconnected
  // leave a session opting out alone (c3f8e74: before, one found the record gone first
  // and closed it 4006 unanswered).
  const closed = await c.closed;
  const reply = c.ops.find((o) => o.req === 21);
  t.equal(closed.code, 4006, 'the connection is closed 4006, the device unregistered');
  t.equal(reply?.body, 'ok', `answered ok before the close (${reply?.error?.code ?? reply?.body ?? 'no answer before the close'}; before: UNAVAILABLE "NATS connection lost", the device already out of the directory)`);
  await until('the route\'s entry erased (before: its empty revision stayed)', async () => (await direct.bus.directoryGet(tag, { fromLeader: true })) === null, 20_000);
  await until('its mail erased (before: left)', async () => (await direct.bus.mailboxRead(tag, devTok, 0, 10)).length === 0, 20_000);
  t.pass('the route\'s entry and the device\'s mail are erased');
});

t.test('an unfinished registration\'s removal (the route\'s last device) that loses its erase with the connection twice: removed, the entry erased', async (t) => {
  const { g, direct, proxy } = await proxiedGateway(t, PREFIX);
  const dev = await seedDevice(g.relay.directory);
  const tag = routeTag(dev.route);
  const devTok = deviceToken(dev.device);
  await direct.bus.mailboxPut(tag, devTok, tok(), bytes(64));
  const losses = await loseDeleteTwice(t, g, proxy, tag);
  const outcome = g.relay.privacy.eraseUnfinished(tag, dev.device, () => true, LONG_MS);
  await losses();
  t.equal(await outcome, 'removed', 'removed');
  t.equal(await direct.bus.directoryGet(tag, { fromLeader: true }), null, 'the route\'s entry is gone, its empty revision erased (before: the removal threw "NATS connection lost", the empty entry stayed)');
  t.same(await direct.bus.mailboxRead(tag, devTok, 0, 10), [], 'its mail is erased (before: left)');
});

t.test('mailbox erases in flight when NATS drops (a drained page the device acked): sent again once reconnected, not UNAVAILABLE', async (t) => {
  const { g, direct, proxy } = await proxiedGateway(t, PREFIX);
  const [r, d] = [tok(), tok()];
  for (let i = 0; i < 5; i++) await g.bus.mailboxPut(r, d, tok(), bytes(64));
  const items = await g.bus.mailboxRead(r, d, 0, 10);
  t.equal(items.length, 5, 'five stored');
  proxy.hold('requests');
  const erased = g.bus.mailboxDeleteMany(r, d, items.map((it) => it.seq)).then(() => 'erased', (e: unknown) => (isHushwireError(e) ? `${e.code}: ${e.message}` : String(e)));
  await new Promise((resolve) => setTimeout(resolve, 300));
  await blip(g, proxy);
  t.equal(await erased, 'erased', 'the erases are made again once reconnected');
  t.same(await direct.bus.mailboxRead(r, d, 0, 10), [], 'the mailbox is empty');
});

/** Waits until `g`'s outage grace has passed (what needs NATS fails at once). */
async function pastGrace(g: TestGateway): Promise<void> {
  await g.bus.directoryGet(tok()).then(() => { throw new Error('read while disconnected'); }, () => undefined);
}

t.test('the idle sweep due while NATS is lost past the grace: runs once reconnected, erasing the idle device and its mail', async (t) => {
  const { g, direct, proxy } = await proxiedGateway(t, PREFIX, { graceMs: 300 });
  const dev = await seedDevice(g.relay.directory);
  const tag = routeTag(dev.route);
  const devTok = deviceToken(dev.device);
  await direct.bus.mailboxPut(tag, devTok, tok(), bytes(64));
  await proxy.cut();
  await until('the loss seen', () => g.bus.status().state === 'reconnecting', 20_000);
  await pastGrace(g);
  const swept = g.relay.privacy.sweepIfLeader(Date.now() + 7200 * 1000);
  await new Promise((r) => setTimeout(r, 300));
  await proxy.open();
  t.equal(await swept, 1, 'the sweep ran once reconnected and expired the idle device (before: 0, lease unavailable)');
  t.equal(await direct.bus.directoryGet(tag, { fromLeader: true }), null, 'its route entry is gone');
  t.same(await direct.bus.mailboxRead(tag, devTok, 0, 10), [], 'its mail is erased');
});

t.test('an idle sweep interrupted by a loss of NATS past the grace: runs again once reconnected, every idle device expired', async (t) => {
  const { g, direct, proxy } = await proxiedGateway(t, PREFIX, { graceMs: 300 });
  const devs = [await seedDevice(g.relay.directory), await seedDevice(g.relay.directory), await seedDevice(g.relay.directory)];
  for (const d of devs) await direct.bus.mailboxPut(routeTag(d.route), deviceToken(d.device), tok(), bytes(64));
  // The first removal the sweep writes: held, the connection cut, kept down past the
  // grace, then opened.
  const bus = g.bus;
  const original = bus.directoryDelete.bind(bus);
  let outage: Promise<void> | null = null;
  bus.directoryDelete = (r, rev) => {
    if (outage === null) {
      proxy.hold('requests');
      outage = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        await proxy.cut();
        await until('the loss seen', () => g.bus.status().state === 'reconnecting', 20_000);
        await pastGrace(g);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await proxy.open();
      })();
    }
    return original(r, rev);
  };
  t.teardown(() => { bus.directoryDelete = original; });
  const swept = await g.relay.privacy.sweepIfLeader(Date.now() + 7200 * 1000);
  t.ok(outage !== null, 'the sweep met the outage');
  await outage;
  t.equal(swept, devs.length, 'every idle device expired (before: the sweep ended at the loss, some left)');
  for (const d of devs) {
    t.equal(await direct.bus.directoryGet(routeTag(d.route), { fromLeader: true }), null, 'its route entry is gone');
    t.same(await direct.bus.mailboxRead(routeTag(d.route), deviceToken(d.device), 0, 10), [], 'its mail is erased');
  }
});

t.test('last_seen of a long-lived connection while NATS is lost past the grace: no pass fails, one runs once reconnected', async (t) => {
  // --device-idle-expiry-s 4: a last_seen pass every 500 ms (an eighth), a sweep every second.
  const { g, direct, proxy } = await proxiedGateway(t, PREFIX, { graceMs: 300, overrides: { deviceIdleExpiryS: 4 } });
  const dev = await seedDevice(g.relay.directory);
  const tag = routeTag(dev.route);
  const lastSeen = async (): Promise<number> => Number((await direct.relay.directory.findDevice(tag, dev.device, { fromLeader: true }))?.lastSeenMs ?? 0);
  const c = await authenticate(g.url, dev);
  t.teardown(() => c.close());
  const authAt = await lastSeen();
  await until('a pass to write last_seen while connected', async () => (await lastSeen()) > authAt, 20_000);
  await proxy.cut();
  await until('the loss seen', () => g.bus.status().state === 'reconnecting', 20_000);
  await pastGrace(g);
  // Passes come due while the connection is lost.
  await new Promise((r) => setTimeout(r, 1200));
  const openedAt = Date.now();
  await proxy.open();
  await until('last_seen written once reconnected', async () => (await lastSeen()) >= openedAt, 20_000);
  t.notMatch(g.logs(), /last_seen update failed/, 'no pass failed while the connection was lost (before: "last_seen update failed")');
  t.notMatch(g.logs(), /idle sweep lease unavailable/, 'nor did a sweep\'s lease');
  t.ok(await direct.relay.directory.findDevice(tag, dev.device, { fromLeader: true }), 'the connected device stays');
});

t.test('the idle sweep whose lease write lands but its answer is lost with the connection: sweeps under that lease once reconnected', async (t) => {
  const { g, direct, proxy } = await proxiedGateway(t, PREFIX);
  const dev = await seedDevice(g.relay.directory);
  const tag = routeTag(dev.route);
  const leaseKey = `sweep.${'0'.repeat(32)}`;
  const before = await direct.bus.counterGet(leaseKey);
  const bus = g.bus;
  const original = bus.counterPut.bind(bus);
  bus.counterPut = (key, value, rev) => {
    if (key === leaseKey) {
      bus.counterPut = original;
      proxy.hold('replies');
    }
    return original(key, value, rev);
  };
  t.teardown(() => { bus.counterPut = original; });
  const swept = g.relay.privacy.sweepIfLeader(Date.now() + 7200 * 1000);
  await until('the lease to land', async () => (await direct.bus.counterGet(leaseKey))?.revision !== before?.revision, 20_000);
  await blip(g, proxy);
  t.equal(await swept, 1, 'the sweep ran under its lease (before: 0, the lease read as another\'s until the next period)');
  t.equal(await direct.bus.directoryGet(tag, { fromLeader: true }), null, 'the idle device is gone');
});
