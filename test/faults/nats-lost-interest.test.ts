// Fault: a nats-server forgets the gateway bus's subscriptions while its connection stays
// up (seen on a nats-server 2.9.10 cluster after password reloads and a node killed, for
// the OPRF link's reply inbox: df6ff90; the bus's device subjects, announcements and
// JetStream request inboxes are as exposed). Before, devices on that gateway silently
// stopped receiving, or every directory read timed out, until the gateway restarted.
// Here a TCP proxy between a bus and a real nats-server tells the server to unsubscribe
// the bus's subscriptions under a prefix (test/helpers/tcp-proxy.ts loseInterest), the
// bus none the wiser; the bus's probe (or a streak of request timeouts) forces a
// reconnect (relay/bus/nats-heal.ts), and deliveries and reads resume without a restart,
// the bus's reconnect handling run (mailboxes read again, the announcements' gap). A
// stalled or stopped nats-server renews nothing. No timing is asserted: the renewal
// interval (an hour here) is far beyond the test, so a second renewal would be a storm.
import t, { type Test } from 'tap';
import { NatsBus, type NatsBusOptions } from '../../relay/bus/nats.ts';
import { InterestHealer, DEFAULT_SELF_HEAL, type RenewalReason } from '../../relay/bus/nats-heal.ts';
import type { ControlMessage } from '../../relay/bus/bus.ts';
import { bytes, CONTRACT_LIMITS, tok } from '../bus/contract.ts';
import { haveNatsServer, startNatsServer, stallNatsServer } from '../helpers/nats-server.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';
import { until } from '../helpers/poll.ts';

t.setTimeout(240_000);

const HOUR_MS = 3_600_000;
/** Short enough to time out a few requests in the test, long enough for a loopback answer. */
const TIMEOUT_MS = 1_500;

const outcome = <T>(p: Promise<T>): Promise<T | string> => p.catch((e: unknown) => `failed: ${e instanceof Error ? e.message : String(e)}`);

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  let n = 0;
  /** The bus under test, behind a proxy, probing every 200 ms (or, `probes: false`,
   *  renewing after 3 timeouts in a row), at most one renewal an hour. */
  const setup = async (t: Test, prefix: string, probes = true, extra: Partial<NatsBusOptions> = {}) => {
    const nats = await startNatsServer({ t });
    const proxy = await tcpProxy(nats.port);
    const lines: string[] = [];
    const bus = new NatsBus({
      servers: proxy.url, limits: CONTRACT_LIMITS, prefix, mailboxShards: 1, reconnectWaitMs: 50, requestTimeoutMs: TIMEOUT_MS, name: `interest-${++n}`,
      log: (level, msg) => { if (level === 'warn' || level === 'error') lines.push(msg); },
      selfHeal: { probeEveryMs: probes ? 200 : 0, timeouts: 3, afterMs: 0, everyMs: HOUR_MS, everyMaxMs: HOUR_MS },
      ...extra,
    });
    const other = new NatsBus({ servers: nats.url, limits: CONTRACT_LIMITS, prefix, mailboxShards: 1, requestTimeoutMs: TIMEOUT_MS, name: `other-${n}`, selfHeal: { probeEveryMs: 0 } });
    t.teardown(async () => { await bus.close(); await other.close(); await proxy.cut(); });
    await bus.start();
    await other.start();
    const renewals = (r: RenewalReason): number => bus.subscriptionRenewals()[r];
    const healLines = (): string[] => lines.filter((l) => l.includes('learn this gateway\'s subscriptions again'));
    return { nats, proxy, bus, other, renewals, healLines, lines };
  };

  t.test('device subjects and announcements lost: a probe renews them, deliveries resume, the reconnect handling runs', async (t) => {
    const { proxy, bus, other, renewals, healLines } = await setup(t, 'lia');
    const [r, d] = [tok(), tok()];
    const controls: ControlMessage[] = [];
    let live = 0;
    await bus.subscribeDevice(r, d, async () => { live++; return true; }, (m) => { controls.push(m); });
    const gaps: number[] = [];
    const heard: string[] = [];
    bus.watchUnregistered({ unregistered: (key) => heard.push(key), gap: (at) => gaps.push(at) });
    t.equal(await other.deliverLive(r, d, bytes(8), 2000), true, 'delivered live before');
    t.equal(live, 1);

    proxy.loseInterest('lia.');
    // The UNSUBs reach the server through the proxy a moment later; the probe (every
    // 200 ms) may see the loss, and renew, before a delivery does.
    let lost = false;
    await until('the loss in effect', async () => renewals('probe') > 0 || (lost = !(await other.deliverLive(r, d, bytes(8), 2000))));
    t.ok(lost || renewals('probe') > 0, 'not delivered once the server forgot the device subject (or the probe saw it first)');
    await until('a delivery reaches the device again', async () => await other.deliverLive(r, d, bytes(8), 2000), 60_000, 200);
    t.equal(renewals('probe'), 1, 'one renewal (the probe)');
    t.equal(renewals('timeouts'), 0);
    t.equal(healLines().length, 1, 'one warn line says so');
    t.match(healLines()[0], /did not deliver this gateway's own probe on its device subjects, node subject subscription\(s\)/, 'naming the subscriptions (no device\'s)');
    t.equal(bus.status().state, 'connected', 'connected');
    await until('the device told to read its mailbox (as after any reconnect)', () => controls.some((c) => c.kind === 'mail'));
    await until('the announcements\' gap re-checked (as after any reconnect)', () => gaps.length === 1);
    const [ur, ud] = [tok(), tok()];
    await other.publishControl(ur, ud, { kind: 'unregistered' });
    await until('an announcement reaches this bus again', () => heard.includes(`${ur}.${ud}`));
    t.equal(renewals('probe'), 1, 'and no second renewal');
  });

  t.test('the node subject alone lost (live batches; the senders fall back to locating the device): the probe sees it and renews it', async (t) => {
    const { proxy, bus, other, renewals, healLines } = await setup(t, 'lif');
    const [r, d] = [tok(), tok()];
    let live = 0;
    await bus.subscribeDevice(r, d, async () => { live++; return true; }, () => {});
    t.equal(await other.deliverLive(r, d, bytes(8), 2000), true, 'delivered live before (the sender now batches to this node)');
    proxy.loseInterest('lif.gw.');
    await until('the probe renewed it', () => renewals('probe') === 1, 60_000);
    t.match(healLines()[0], /own probe on its node subject subscription\(s\)/, 'one warn line names the node subject alone');
    await until('delivered after', async () => await other.deliverLive(r, d, bytes(8), 2000), 60_000, 200);
    t.equal(renewals('probe'), 1, 'one renewal');
    t.equal(healLines().length, 1);
  });

  t.test('request inboxes lost: a probe renews them, directory reads, mailbox stores and reads answer again', async (t) => {
    const { proxy, bus, other, renewals, healLines } = await setup(t, 'lib');
    const r = tok();
    const rev = await other.directoryPut(r, bytes(8, 1), 0);
    t.equal((await bus.directoryGet(r))?.revision, rev, 'read before');
    proxy.loseInterest('_INBOX.');
    await until('the directory answers again', async () => (await outcome(bus.directoryGet(r).then((x) => x?.revision))) === rev, 60_000, 200);
    const [mr, md] = [tok(), tok()];
    t.equal(await outcome(bus.mailboxPut(mr, md, tok(), bytes(8)).then(() => 'stored')), 'stored', 'a mailbox store is answered');
    t.equal(await outcome(bus.mailboxRead(mr, md, 0, 10).then((items) => items.length)), 1, 'and read');
    t.equal(renewals('probe'), 1, 'one renewal (the probe)');
    t.equal(healLines().length, 1, 'one warn line');
    t.match(healLines()[0], /on its live answers, request replies, mailbox reads subscription\(s\)/, 'naming the inboxes');
  });

  t.test('without probes, requests timing out in a row renew the subscriptions once', async (t) => {
    const { proxy, bus, other, renewals, healLines } = await setup(t, 'lic', false);
    const r = tok();
    const rev = await other.directoryPut(r, bytes(8, 1), 0);
    proxy.loseInterest('_INBOX.');
    const seen: unknown[] = [];
    for (let i = 0; i < 12; i++) {
      const got = await outcome(bus.directoryGet(r).then((x) => x?.revision));
      seen.push(got);
      if (got === rev) break;
    }
    t.match(seen[0], /^failed: directory unavailable/, 'the first read after the loss fails (its answer dropped)');
    t.equal(seen.at(-1), rev, 'a read is answered again');
    t.equal(renewals('timeouts'), 1, 'one renewal, after the timeouts');
    t.equal(renewals('probe'), 0);
    t.match(healLines()[0], /3 JetStream requests \(directory reads, mailbox checks\) in a row timed out over \d+ s while NATS is connected/, 'one warn line says so');
    t.equal(healLines().length, 1);
    t.same(bus.subscriptionRenewals(), { probe: 0, timeouts: 1 }, 'no more');
  });

  t.test('a stalled nats-server (no PONG) renews nothing while requests time out and probes go unanswered', async (t) => {
    const { nats, bus, renewals } = await setup(t, 'lid');
    const resume = stallNatsServer(t, nats, 60_000);
    await resume.stopped; // every thread frozen: nothing more is answered
    const failed: unknown[] = [];
    for (let i = 0; i < 4; i++) failed.push(await outcome(bus.directoryGet(tok())));
    t.ok(failed.every((f) => typeof f === 'string' && f.startsWith('failed')), 'requests time out');
    resume();
    await until('answered again', async () => (await outcome(bus.directoryGet(tok()))) === null, 30_000, 200);
    t.same(bus.subscriptionRenewals(), { probe: 0, timeouts: 0 }, 'no renewal');
    t.equal(renewals('probe'), 0);
  });

  t.test('a stopped nats-server renews nothing; the reconnect re-subscribes', async (t) => {
    const { nats, bus, other } = await setup(t, 'lie');
    await other.close();
    const [r, d] = [tok(), tok()];
    await bus.subscribeDevice(r, d, async () => true, () => {});
    await nats.stop();
    await until('the loss seen', () => bus.status().state === 'reconnecting');
    for (let i = 0; i < 3; i++) await outcome(bus.directoryGet(tok()));
    await nats.restart();
    await until('reconnected', () => bus.status().state === 'connected', 30_000);
    await until('answered again', async () => (await outcome(bus.directoryGet(tok()))) === null, 30_000, 200);
    t.same(bus.subscriptionRenewals(), { probe: 0, timeouts: 0 }, 'no renewal');
  });
}

t.test('InterestHealer: bounded and backing off (default policy, a clock of its own)', async (t) => {
  const make = () => {
    const clock = { now: 0 };
    const at: [number, RenewalReason][] = [];
    const link = { isUp: true, lost: 0, ok: true, up: () => link.isUp, losses: () => link.lost, renew: async (reason: RenewalReason) => { at.push([clock.now, reason]); return link.ok; } };
    const h = new InterestHealer({ link, policy: { ...DEFAULT_SELF_HEAL }, now: () => clock.now });
    const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
    /** One timeout a second on `path` for `s` seconds. */
    const timeouts = async (s: number, path: 'api' | 'mux' = 'api'): Promise<void> => {
      for (let i = 0; i < s; i++) {
        h.timedOut(path);
        clock.now += 1000;
        await tick();
      }
    };
    /** A failed probe every 30 s for `s` seconds. */
    const probes = async (s: number, missing = ['device subjects']): Promise<void> => {
      for (let i = 0; i < s; i += 30) {
        h.probed(missing);
        clock.now += 30_000;
        await tick();
      }
    };
    return { clock, at, link, h, timeouts, probes };
  };
  const gaps = (at: [number, RenewalReason][]): number[] => at.slice(1).map(([x], i) => (x - at[i]![0]) / 1000);

  const a = make();
  await a.timeouts(29);
  t.same(a.at, [], 'timeouts in a row for less than 30 s: no renewal');
  await a.timeouts(4000);
  t.same(a.at[0], [30_000, 'timeouts'], 'the first after 30 s of timeouts');
  t.same(gaps(a.at), [60, 120, 240, 480, 900, 900, 900], 'then at most one per interval, doubling to 15 min');
  a.h.answered('api');
  const seen = a.at.length;
  await a.timeouts(2000);
  t.same(gaps(a.at.slice(seen)).slice(0, 3), [60, 120, 240], 'an answer sets the interval back to 60 s');

  const b = make();
  for (let i = 0; i < 100; i++) {
    await b.timeouts(20);
    b.link.lost++;
  }
  t.same(b.at, [], 'a loss of the connection starts the count again');
  for (let i = 0; i < 100; i++) {
    await b.timeouts(20);
    b.h.other('api');
  }
  t.same(b.at, [], 'so does a failure other than a timeout (no responders)');
  for (let i = 0; i < 100; i++) {
    await b.timeouts(20);
    b.h.answered('api');
  }
  t.same(b.at, [], 'and an answer');
  for (let i = 0; i < 100; i++) {
    await b.timeouts(3, 'api');
    await b.timeouts(3, 'mux');
  }
  t.not(b.at.length, 0, 'each reply path counts its own timeouts (one answering does not hide the other)');
  const c = make();
  c.link.isUp = false;
  await c.timeouts(1000);
  await c.probes(1000);
  t.same(c.at, [], 'never while disconnected');

  const d = make();
  await d.probes(3600);
  t.same(d.at[0], [0, 'probe'], 'a failed probe renews at once');
  t.same(gaps(d.at), [60, 120, 240, 480, 900, 900], 'then at most one per interval while probes keep failing');
  d.h.probed([]);
  const before = d.at.length;
  await d.probes(200);
  t.same(gaps(d.at.slice(before - 1)).slice(1), [60, 120], 'a passed probe sets the interval back to 60 s');

  const e = make();
  e.link.ok = false; // the server did not answer the PING: NATS slow, nothing renewed
  await e.probes(600);
  t.same(gaps(e.at), [60, 60, 60, 60, 60, 60, 60, 60, 60], 'a renewal not made (NATS slow) is tried at most once a minute, not doubled');
});
