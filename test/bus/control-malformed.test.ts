// Control messages on a device's subject that this gateway cannot read (garbage, or a
// kind it does not know: a newer gateway's, during a rolling upgrade) are dropped and
// said in at most one warn line per 10 s, with how many were dropped, as malformed live
// batches already were (relay/bus/nats-live.ts). Before, every one was a warn line of
// its own: a flood of them was a flood of log lines. Against a real nats-server.
import t, { type Test } from 'tap';
import { connect } from '@nats-io/transport-node';
import { NatsBus } from '../../relay/bus/nats.ts';
import { RecentUnregistrations } from '../../relay/bus/unregistered.ts';
import { CONTRACT_LIMITS, tok } from './contract.ts';
import { haveNatsServer, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import { until } from '../helpers/poll.ts';

const FLOOD = 50;

type Line = { level: string; msg: string; fields?: Record<string, unknown> };

/** A bus on its own nats-server whose log lines are kept, with one device subscribed
 *  (the kinds of control messages it was told, in order). */
async function deviceOnBus(t: Test, unregistered?: RecentUnregistrations): Promise<{ server: NatsServerHandle; lines: Line[]; bus: NatsBus; r: string; d: string; got: string[] }> {
  const server = await startNatsServer({ t });
  const lines: Line[] = [];
  const bus = new NatsBus({
    servers: server.url, limits: CONTRACT_LIMITS, prefix: 'cm', mailboxShards: 1, name: 'hushwire-test', ...(unregistered ? { unregistered } : {}),
    log: (level, msg, fields) => { lines.push({ level, msg, ...(fields ? { fields } : {}) }); },
  });
  t.teardown(() => bus.close());
  await bus.start();
  const [r, d] = [tok(), tok()];
  const got: string[] = [];
  const sub = await bus.subscribeDevice(r, d, async () => true, (m) => { got.push(m.kind); });
  t.teardown(() => sub.close());
  return { server, lines, bus, r, d, got };
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  t.test('malformed control messages: dropped, one warn line with a count', async (t) => {
    const { server, lines, bus, r, d, got } = await deviceOnBus(t);

    const nc = await connect({ servers: server.url, name: 'test-raw' });
    t.teardown(() => nc.close());
    const subject = `cm.dev.${r}.${d}`;
    const enc = new TextEncoder();
    for (let i = 0; i < FLOOD; i++) {
      nc.publish(subject, i % 2 === 0 ? enc.encode('not json') : enc.encode(JSON.stringify({ kind: 'from_a_newer_gateway' })));
    }
    // A well-formed one behind them: once it arrived, so had they (one subscription).
    await bus.publishControl(r, d, { kind: 'mail' });
    await until('the well-formed control message', () => got.length > 0, 10_000);
    t.same(got, ['mail'], 'only the well-formed message reached the device\'s handler');

    const warned = lines.filter((l) => l.level === 'warn' && /malformed control message/.test(l.msg));
    t.equal(warned.length, 1, `one warn line for ${FLOOD} malformed messages`);
    t.equal(warned[0]?.fields?.times, 1, 'the first line counts the first message');
  });

  t.test('malformed live batches: dropped, one warn line per kind with a count', async (t) => {
    const server = await startNatsServer({ t });
    const linesOf = (into: { level: string; msg: string; fields?: Record<string, unknown> }[]) =>
      (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => { into.push({ level, msg, ...(fields ? { fields } : {}) }); };
    const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
    const opts = { servers: server.url, limits: CONTRACT_LIMITS, prefix: 'cm', mailboxShards: 1, name: 'hushwire-test' };
    const holder = new NatsBus({ ...opts, log: linesOf(lines) });
    const sender = new NatsBus(opts);
    t.teardown(() => Promise.all([holder.close(), sender.close()]));
    await Promise.all([holder.start(), sender.start()]);
    const [r, d] = [tok(), tok()];
    const got: Uint8Array[] = [];
    const sub = await holder.subscribeDevice(r, d, async (env) => { got.push(env); return true; }, () => {});
    t.teardown(() => sub.close());

    // The holder's batch subject is its random node id: learn it from one real batch.
    const nc = await connect({ servers: server.url, name: 'test-raw' });
    t.teardown(() => nc.close());
    let batchSubject = '';
    const spy = nc.subscribe('cm.gw.*', { callback: (_e, m) => { batchSubject = m.subject; } });
    await nc.flush();
    // The first delivery locates the device on its own subject; later ones go to the
    // holder's node in batches.
    const sent: number[][] = [];
    for (let i = 0; i < 5 && batchSubject === ''; i++) {
      t.equal(await sender.deliverLive(r, d, new Uint8Array([i]), 5_000), true, `well-formed delivery ${i}`);
      sent.push([i]);
      await nc.flush();
    }
    t.not(batchSubject, '', 'a batch seen on the wire');
    spy.unsubscribe();

    for (let i = 0; i < FLOOD; i++) {
      nc.publish(batchSubject, new Uint8Array([0xee, 1, 2, 3]));                 // an unknown version
      nc.publish(batchSubject, new Uint8Array([1, 0, 0, 0, 9]));                  // version 1, cut inside the first item
    }
    await nc.flush();
    const warned = (re: RegExp) => lines.filter((l) => l.level === 'warn' && re.test(l.msg));
    await until('both kinds said', () => warned(/unknown version/).length > 0 && warned(/truncated live batch/).length > 0, 10_000);
    // A well-formed delivery after them still arrives, and nothing else was handed on.
    t.equal(await sender.deliverLive(r, d, new Uint8Array([4, 5]), 5_000), true, 'deliveries still work');
    t.same(got.map((e) => Array.from(e)), [...sent, [4, 5]], 'only the well-formed envelopes reached the device');
    for (const re of [/unknown version/, /truncated live batch/]) {
      const w = warned(re);
      t.equal(w.length, 1, `one warn line for ${FLOOD} batches (${re.source})`);
      t.equal(w[0]?.fields?.times, 1, 'the first line counts the first batch');
    }
  });

  t.test('malformed opt-out announcements: dropped, the device not told, nothing remembered, one warn line', async (t) => {
    const { server, lines, bus, r, d, got } = await deviceOnBus(t);
    const heard: string[] = [];
    bus.watchUnregistered({ unregistered: (k) => heard.push(k), gap: () => undefined });
    await until('the bus trusting its announcements', () => bus.unregisteredSince(r, d, bus.unregisteredMark()) !== 'unknown', 10_000);
    const mark = bus.unregisteredMark();

    const nc = await connect({ servers: server.url, name: 'test-raw' });
    t.teardown(() => nc.close());
    const enc = new TextEncoder();
    // Each near the device's key: upper-case hex (the right length), a third token, a
    // missing dot, spaces, the key twice; the empty start-up probe is dropped silently.
    const bad = [`${r.toUpperCase()}.${d}`, `${r}.${d}.x`, `${r}${d}`, ` ${r}.${d.slice(1)}`, `${r}.${d}${r}.${d}`];
    for (const b of bad) nc.publish('cm.unreg', enc.encode(b));
    nc.publish('cm.unreg', new Uint8Array(0));
    // A well-formed one behind them (one publisher, one subscription: in order).
    const [r2, d2] = [tok(), tok()];
    nc.publish('cm.unreg', enc.encode(`${r2}.${d2}`));
    await until('the well-formed announcement', () => heard.length > 0, 10_000);
    t.same(heard, [`${r2}.${d2}`], 'only the well-formed announcement reached the listener');
    t.equal(bus.unregisteredSince(r, d, mark), 'none', 'the device near the bad ones is not remembered as gone');
    t.equal(bus.unregisteredSince(r2, d2, mark), 'announced');
    t.same(got, [], 'the device\'s subscription was told nothing');
    const warned = lines.filter((l) => l.level === 'warn' && /malformed control message/.test(l.msg));
    t.equal(warned.length, 1, `one warn line for ${bad.length} malformed announcements (the empty probe is not one)`);
    t.notMatch(JSON.stringify(lines), new RegExp(`${r}|${d}`, 'i'), 'no device token in any line');
  });

  t.test('malformed removal intents: dropped, nothing read for, one warn line', async (t) => {
    const { server, lines, bus, r, d, got } = await deviceOnBus(t, new RecentUnregistrations({ intentTimeoutMs: 200 }));
    const unconfirmed: string[] = [];
    bus.watchUnregistered({ unregistered: () => undefined, gap: () => undefined, unconfirmed: (keys) => unconfirmed.push(...keys) });
    const nc = await connect({ servers: server.url, name: 'test-raw' });
    t.teardown(() => nc.close());
    const enc = new TextEncoder();
    const bad = [`${r.toUpperCase()}.${d}`, `${r}.${d}.x`, `${r}${d}`, ` ${r}.${d.slice(1)}`, `${r}.${d}${r}.${d}`];
    for (const b of bad) nc.publish('cm.unreg.intent', enc.encode(b));
    nc.publish('cm.unreg.intent', new Uint8Array(0));
    const [r2, d2] = [tok(), tok()];
    nc.publish('cm.unreg.intent', enc.encode(`${r2}.${d2}`));
    await nc.flush();
    await until('the well-formed intent to come due unannounced', () => unconfirmed.length > 0, 10_000);
    t.same(unconfirmed, [`${r2}.${d2}`], 'only the well-formed intent was remembered (and read for once due)');
    t.same(got, [], 'an intent tells the device\'s subscription nothing');
    const warned = lines.filter((l) => l.level === 'warn' && /malformed control message/.test(l.msg));
    t.equal(warned.length, 1, `one warn line for ${bad.length} malformed intents (the empty probe is not one)`);
    t.notMatch(JSON.stringify(lines), new RegExp(`${r}|${d}|${r2}|${d2}`, 'i'), 'no device token in any line');
  });
}
