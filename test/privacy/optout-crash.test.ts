// The opt-out race (test/privacy/optout-auth-race.test.ts, optout-announce.test.ts) when
// the gateway making the opt-out dies between the removal and its announcement (or loses
// NATS for good then): nothing tells the other gateways, and a connection that
// authenticated on one of them with a record read taken just before the removal would
// stay, authenticated as a device no longer registered. Each removal is now announced to
// every gateway as intended before it is made (`<prefix>.unreg.intent`, confirmed by
// nats-server before the directory write); a gateway that hears no announcement after
// an intent within UNREGISTERING_TIMEOUT_MS reads the record of its sessions of that
// device at the directory's leader (relay/bus/unregistered.ts). An intent alone locks
// nobody out: a removal that fails after it leaves the device's connections as they are.
// The idle expiry and the removal of an unfinished registration announce their removals
// so too. Real nats-server, two gateways; the crash is a hook (helpers/bus-hooks.ts
// crashAfterRemoval): gateway a's NATS connection closed for good right after its
// removal lands, the removal frozen there.
import t, { type Test } from 'tap';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { natsGatewayPairOn, oprfKeyFile, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { registerRaw, stillServes, type RawDevice } from '../helpers/raw-device.ts';
import { until, within } from '../helpers/poll.ts';
import { crashAfterRemoval, failDirectoryWrites, holdSubscribe } from '../helpers/bus-hooks.ts';
import { sign, authInput } from '../../relay/crypto/sign.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { CloseCode } from '../../relay/errors.ts';
import { UNREGISTERED_SECOND_PASS_MS, UNREGISTERING_TIMEOUT_MS } from '../../relay/bus/unregistered.ts';

/** a's next removal (directoryDelete) is held until `land()` (`reached` once it began),
 *  and only a's first intent goes out (its renewals dropped: a dies before the next);
 *  `intents()` counts them, held or sent. Undone at the test's end. */
function holdRemoval(t: Test, a: TestGateway): { reached: Promise<void>; land: () => void; intents: () => number } {
  const crashingDelete = a.bus.directoryDelete;
  let removalReached!: () => void;
  const reached = new Promise<void>((r) => { removalReached = r; });
  let land!: () => void;
  const landing = new Promise<void>((r) => { land = r; });
  a.bus.directoryDelete = async (tg: string, rev?: number) => {
    removalReached();
    await landing;
    return crashingDelete.call(a.bus, tg, rev);
  };
  t.teardown(() => { land(); a.bus.directoryDelete = crashingDelete; });
  const announce = a.bus.announceUnregistering.bind(a.bus);
  let intents = 0;
  a.bus.announceUnregistering = (r: string, d: string) => (++intents === 1 ? announce(r, d) : Promise.resolve());
  t.teardown(() => { a.bus.announceUnregistering = announce; });
  return { reached, land, intents: () => intents };
}

const PREFIX = 'optcrash';
/** Past the intent's timeout and the leader read after it, with room for a loaded machine. */
const DECIDED_WITHIN_MS = UNREGISTERING_TIMEOUT_MS + 30_000;

interface Scene {
  a: TestGateway;
  b: TestGateway;
  dev: RawDevice;
  /** The device's registration socket on a: authenticated, it makes the opt-out. */
  onA: RawClient;
  tag: string;
  tok: string;
}

async function scene(t: Test, number: string, overrides: Record<string, unknown> = {}): Promise<Scene> {
  const nats = await startNatsServer({ t });
  const [a, b] = await natsGatewayPairOn(t, nats.url, PREFIX, overrides);
  const { c: onA, dev } = await registerRaw(a.url, number);
  t.teardown(() => onA.close());
  const tag = routeTag(dev.route);
  const tok = deviceToken(dev.device);
  await until('b to trust its announcements', () => b.bus.unregisteredSince(tag, tok, b.bus.unregisteredMark()) !== 'unknown');
  return { a, b, dev, onA, tag, tok };
}

/** A fresh socket that sends its (signed) auth; the answer is not awaited. */
async function startAuth(url: string, dev: RawDevice): Promise<RawClient> {
  const c = await connectRaw(url);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 7, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(ch.nonce, dev.route, dev.device)) } }]);
  return c;
}

async function rereads(gw: TestGateway): Promise<number> {
  const text = await gw.metrics.registry.getSingleMetricAsString('hushwire_auth_optout_checks_total');
  return Number(/outcome="reread"} (\d+)/.exec(text)?.[1] ?? 0);
}

async function unconfirmed(gw: TestGateway): Promise<number> {
  const text = await gw.metrics.registry.getSingleMetricAsString('hushwire_removal_intents_unconfirmed_total');
  return Number(/_total (\d+)/.exec(text)?.[1] ?? 0);
}

const authenticatedAt = (gw: TestGateway, tag: string): boolean => [...gw.relay.sessions()].some((x) => x.authenticated && x.deviceKey?.tag === tag);

/** The device authenticates at b, its record read there before a's opt-out (b's
 *  subscription held until `during` has run), and is answered ok: nothing announced. */
async function lateAuthAround(s: Scene, t: Test, during: () => Promise<void>): Promise<RawClient> {
  const hold = holdSubscribe(t, s.b, s.tag, s.tok);
  const late = await startAuth(s.b.url, s.dev);
  t.teardown(() => late.close());
  await hold.entered; // b read the record (the device was there) and now subscribes
  await during();
  hold.release();
  t.equal((await late.reply(7)).body, 'ok', 'the late auth at b is answered ok: nothing was announced');
  return late;
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  t.test('a dies between the removal and its announcement: b reads the record after the intent\'s timeout, 4006', async (t) => {
    const s = await scene(t, '+15557744001');
    const crash = crashAfterRemoval(t, s.a);
    const before = await rereads(s.b);
    const late = await lateAuthAround(s, t, async () => {
      s.onA.send([{ req: 1001, unregister: {} }]);
      await within(crash.crashed, 20_000, 'a to remove the device and die');
    });
    t.equal(await s.b.relay.directory.findDevice(s.tag, s.dev.device, { fromLeader: true }), null, 'the device is out of the directory');
    const closed = await within(late.closed, DECIDED_WITHIN_MS, 'the late connection to close').catch((e: Error) => ({ code: -1, reason: e.message }));
    t.equal(closed.code, CloseCode.UNREGISTERED, 'closed 4006: b read the record once the announcement did not follow the intent');
    t.notOk(authenticatedAt(s.b, s.tag), 'no authenticated session of the device is left at b');
    t.ok(await rereads(s.b) > before, 'counted: reread');
    t.equal(await unconfirmed(s.b), 1, 'counted: one intent not followed by its announcement');
  });

  t.test('the removal fails after its intent: nobody is locked out', async (t) => {
    const s = await scene(t, '+15557744002');
    const writes = failDirectoryWrites(t, s.a.bus);
    const before = await rereads(s.b);
    const late = await lateAuthAround(s, t, async () => {
      writes.fail = 1;
      s.onA.send([{ req: 1001, unregister: {} }]);
      const r = await s.onA.reply(1001);
      t.equal(r.error?.code, 'UNAVAILABLE', 'the opt-out fails: its removal was not made');
    });
    // The intent's timeout passes without an announcement: b reads at the leader, finds
    // the device, and leaves its connection as it is.
    await until('b to read the record after the intent\'s timeout', async () => (await rereads(s.b)) > before, DECIDED_WITHIN_MS, 200);
    t.ok(authenticatedAt(s.b, s.tag), 'the late connection is still authenticated');
    t.equal(await unconfirmed(s.b), 1, 'counted: one intent not followed by its announcement');
    late.send([{ req: 9, lookup: { route: s.dev.route } }]);
    t.equal((await late.reply(9)).body, 'devices', 'and served');
    await stillServes(t, s.b.url, s.dev);
  });

  t.test('a dies between an idle expiry\'s removal and its announcement: b reads the record, 4006', async (t) => {
    const s = await scene(t, '+15557744003', { deviceIdleExpiryS: 3600 });
    s.onA.close();
    await s.onA.closed;
    const crash = crashAfterRemoval(t, s.a);
    const late = await lateAuthAround(s, t, async () => {
      // As if two hours had passed: the device is idle, and a's sweep removes it.
      void s.a.relay.privacy.sweep(Date.now() + 7200 * 1000);
      await within(crash.crashed, 20_000, 'a to remove the device and die');
    });
    t.equal(await s.b.relay.directory.findDevice(s.tag, s.dev.device, { fromLeader: true }), null, 'the device is out of the directory');
    const closed = await within(late.closed, DECIDED_WITHIN_MS, 'the late connection to close').catch((e: Error) => ({ code: -1, reason: e.message }));
    t.equal(closed.code, CloseCode.UNREGISTERED, 'closed 4006 after the intent\'s timeout');
    t.notOk(authenticatedAt(s.b, s.tag), 'no authenticated session of the device is left at b');
    crash.end(); // the sweep a waits for at its close
  });

  t.test('a dies between an unfinished registration\'s removal and its announcement: b reads the record, 4006', async (t) => {
    const s = await scene(t, '+15557744004');
    const crash = crashAfterRemoval(t, s.a);
    const late = await lateAuthAround(s, t, async () => {
      // a removes the device as a registration whose connection closed unfinished
      // (relay/session.ts #eraseUnfinished; the device taken as the one that write made).
      void s.a.relay.privacy.eraseUnfinished(s.tag, s.dev.device, () => true);
      await within(crash.crashed, 20_000, 'a to remove the device and die');
    });
    const closed = await within(late.closed, DECIDED_WITHIN_MS, 'the late connection to close').catch((e: Error) => ({ code: -1, reason: e.message }));
    t.equal(closed.code, CloseCode.UNREGISTERED, 'closed 4006 after the intent\'s timeout');
    crash.end();
  });

  t.test('b lost NATS while the intent went out, the removal lands after b\'s re-reads, a dies: b\'s second pass reads at the leader, 4006', async (t) => {
    // Three faults at once. b's NATS connection (through a proxy, so b alone loses it)
    // is cut while a sends the opt-out's intent: b never hears it. b reconnects and its
    // late connection's record is read then (the read an authentication under way makes
    // after a loss), before a's removal lands: the device is found. The removal lands at
    // once after that read, and a dies without repeating its intent or announcing (its
    // renewals are dropped here: in the fault the removal lands within one renewal
    // period of b's subscription settling, and a dies before the next).
    const nats = await startNatsServer({ t });
    const proxy = await tcpProxy(nats.port);
    t.teardown(() => proxy.cut());
    const key = oprfKeyFile();
    const opts = { oprfKeyFile: key, natsPrefix: PREFIX, mailboxShards: 1, logLevel: 'warn' };
    const a = await startTestGateway({ ...opts, nats: nats.url, name: `${PREFIX}0` });
    t.teardown(() => a.close());
    const b = await startTestGateway({ ...opts, nats: proxy.url, name: `${PREFIX}1` });
    t.teardown(() => b.close());
    const { c: onA, dev } = await registerRaw(a.url, '+15557744006');
    t.teardown(() => onA.close());
    const tag = routeTag(dev.route);
    const tok = deviceToken(dev.device);
    await until('b to trust its announcements', () => b.bus.unregisteredSince(tag, tok, b.bus.unregisteredMark()) !== 'unknown');

    const crash = crashAfterRemoval(t, a);
    // a's removal held until b's read after the reconnect found the device.
    const { reached, land, intents } = holdRemoval(t, a);

    const hold = holdSubscribe(t, b, tag, tok);
    const late = await startAuth(b.url, dev);
    t.teardown(() => late.close());
    await hold.entered; // b read the record (the device is there) and now subscribes
    await proxy.cut();
    await until('b to lose NATS', () => b.bus.status().state !== 'connected');
    onA.send([{ req: 1001, unregister: {} }]);
    await within(reached, 20_000, 'a to announce the intent (b disconnected) and begin the removal');
    t.equal(intents(), 1, 'the intent went out while b was disconnected');
    await proxy.open();
    await until('b to reconnect', () => b.bus.status().state === 'connected', 30_000);
    const reconnected = b.bus.unregisteredMark();
    // The first read of the device's record b completes from now on finds it; the
    // removal lands right after.
    const directory = b.relay.directory;
    const read = directory.findDevice.bind(directory);
    let landedAt = Number.POSITIVE_INFINITY;
    directory.findDevice = (tg, device, o) => {
      const p = read(tg, device, o);
      if (tg === tag) {
        void p.then((d) => {
          if (d === null || landedAt !== Number.POSITIVE_INFINITY) return;
          landedAt = b.bus.unregisteredMark();
          land();
        }, () => undefined);
      }
      return p;
    };
    t.teardown(() => { directory.findDevice = read; });
    hold.release();
    t.equal((await late.reply(7)).body, 'ok', 'the late auth at b is answered ok: its read found the device');
    await within(crash.crashed, 20_000, 'a\'s removal to land, and a to die');
    // A machine so slow that the removal landed about when the second pass was due
    // cannot show the fault (there, a renewal would have been heard): nothing to check.
    if (landedAt - reconnected > UNREGISTERED_SECOND_PASS_MS - 1_000) {
      t.comment('the removal landed too late after the reconnect to show the fault on this machine; not checked');
      return;
    }
    t.equal(await b.relay.directory.findDevice(tag, dev.device, { fromLeader: true }), null, 'the device is out of the directory');
    const closed = await within(late.closed, DECIDED_WITHIN_MS, 'the late connection to close').catch((e: Error) => ({ code: -1, reason: e.message }));
    t.equal(closed.code, CloseCode.UNREGISTERED, 'closed 4006: b read the record again a few seconds after its reconnect');
    t.notOk(authenticatedAt(b, tag), 'no authenticated session of the device is left at b');
    t.equal(await unconfirmed(b), 0, 'not by an intent\'s timeout: b heard none');
  });

  t.test('the same, the late auth\'s read just before the removal and its check just after b\'s second pass: read at the leader, 4006', async (t) => {
    // As above, but the late connection authenticates once b trusts its announcements
    // again: its read finds the device, the removal lands, b's second pass runs without
    // it (not authenticated yet: another device's session there shows the pass ran), and
    // only then is it checked. Nothing was announced since its read began ('clear'), yet
    // its read came before a removal whose intent b never heard: it reads at the leader.
    const nats = await startNatsServer({ t });
    const proxy = await tcpProxy(nats.port);
    t.teardown(() => proxy.cut());
    const opts = { oprfKeyFile: oprfKeyFile(), natsPrefix: PREFIX, mailboxShards: 1, logLevel: 'warn' };
    const a = await startTestGateway({ ...opts, nats: nats.url, name: `${PREFIX}0` });
    t.teardown(() => a.close());
    const b = await startTestGateway({ ...opts, nats: proxy.url, name: `${PREFIX}1` });
    t.teardown(() => b.close());
    const { c: onA, dev } = await registerRaw(a.url, '+15557744007');
    t.teardown(() => onA.close());
    const { c: reg2, dev: other } = await registerRaw(a.url, '+15557744008');
    reg2.close();
    await reg2.closed;
    const tag = routeTag(dev.route);
    const tok = deviceToken(dev.device);
    const otherTag = routeTag(other.route);
    const trusted = (): boolean => b.bus.unregisteredSince(tag, tok, b.bus.unregisteredMark()) !== 'unknown';
    await until('b to trust its announcements', trusted);

    const crash = crashAfterRemoval(t, a);
    const { reached, land, intents } = holdRemoval(t, a);

    await proxy.cut();
    await until('b to lose NATS', () => b.bus.status().state !== 'connected');
    onA.send([{ req: 1001, unregister: {} }]);
    await within(reached, 20_000, 'a to announce the intent (b disconnected) and begin the removal');
    t.equal(intents(), 1, 'the intent went out while b was disconnected');
    await proxy.open();
    await until('b to reconnect', () => b.bus.status().state === 'connected', 30_000);
    await until('b to trust its announcements again', trusted, 30_000);
    // Another device's session at b, checked now: b's second pass reads its record at the leader.
    const directory = b.relay.directory;
    const read = directory.findDevice.bind(directory);
    let passed!: () => void;
    let passRan = false;
    const secondPass = new Promise<void>((r) => { passed = r; });
    directory.findDevice = (tg, device, o) => {
      if (tg === otherTag && o?.fromLeader === true) {
        passRan = true;
        passed();
      }
      return read(tg, device, o);
    };
    t.teardown(() => { directory.findDevice = read; });
    const witness = await startAuth(b.url, other);
    t.teardown(() => witness.close());
    t.equal((await witness.reply(7)).body, 'ok', 'another device authenticated at b');

    const hold = holdSubscribe(t, b, tag, tok);
    const late = await startAuth(b.url, dev);
    t.teardown(() => late.close());
    await hold.entered; // b read the record (the device is there) and now subscribes
    if (passRan) {
      // So slow a machine that the pass ran before this authentication's read: not the case.
      t.comment('b\'s second pass ran before the late auth\'s read on this machine; not checked');
      return;
    }
    land();
    await within(crash.crashed, 20_000, 'a\'s removal to land, and a to die');
    await within(secondPass, 30_000, 'b\'s second pass to run');
    hold.release();
    const closed = await within(late.closed, DECIDED_WITHIN_MS, 'the late connection to close').catch((e: Error) => ({ code: -1, reason: e.message }));
    t.equal(closed.code, CloseCode.UNREGISTERED, 'closed 4006: checked after the second pass, it read at the leader');
    t.notOk(authenticatedAt(b, tag), 'no authenticated session of the device is left at b');
  });

  t.test('an unfinished registration whose device is not listed as written: nothing announced, nothing removed', async (t) => {
    const s = await scene(t, '+15557744005');
    const bus = s.a.bus;
    const announce = bus.announceUnregistering.bind(bus);
    let intents = 0;
    bus.announceUnregistering = (r: string, d: string) => {
      intents++;
      return announce(r, d);
    };
    t.teardown(() => { bus.announceUnregistering = announce; });
    // Listed, but not as that register wrote it (registered again meanwhile): kept.
    t.equal(await s.a.relay.privacy.eraseUnfinished(s.tag, s.dev.device, () => false), 'kept');
    // A write that never landed: absent.
    t.equal(await s.a.relay.privacy.eraseUnfinished(s.tag, new Uint8Array(16).fill(7), () => true), 'absent');
    t.equal(intents, 0, 'no removal announced as intended (every gateway would read for it, and count it)');
    t.ok(await s.b.relay.directory.findDevice(s.tag, s.dev.device, { fromLeader: true }), 'the device is still listed');
  });
}
