// NatsBus set-up against a real nats-server (Debian 2.9.x) on loopback:
// - the mailbox streams' retention limits are deployment-wide: a bus with lower limits
//   keeps the streams' (stored mail stays), says so once, and does not rewrite them;
//   `lowerLimits` applies lower values on purpose; higher values are applied;
// - why a start failed, as the error class the gateway acts on (relay/bus/setup-errors.ts):
//   NatsUnreachable and JetStreamNotReady are retried, BusMisconfigured is not;
// - streams re-created for another shard count behind a started bus's back (found after
//   a reconnect): 'misconfigured' with one error line, and connected again once fixed.
import t from 'tap';
import { connect, nanos } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsBus, type NatsBusOptions } from '../../relay/bus/nats.ts';
import { DEFAULT_MAILBOX_LIMITS } from '../../relay/bus/index.ts';
import type { MailboxLimits } from '../../relay/bus/bus.ts';
import type { BusLogFn } from '../../relay/bus/common.ts';
import { BusMisconfigured, JetStreamNotReady, NatsUnreachable } from '../../relay/bus/setup-errors.ts';
import { bytes, CONTRACT_LIMITS, tok, waitFor } from './contract.ts';
import { freePorts, haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';

t.setTimeout(180_000);

interface Line { level: string; msg: string; fields: Record<string, unknown> | undefined }

function capture(): { log: BusLogFn; lines: Line[] } {
  const lines: Line[] = [];
  return { lines, log: (level, msg, fields) => { lines.push({ level, msg, fields }); } };
}

const DAY_S = 86_400;

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  const server = await startNatsServer({ t });
  let n = 0;
  const newBus = (limits: MailboxLimits, extra: Partial<NatsBusOptions> = {}): NatsBus =>
    new NatsBus({ servers: server.url, limits, prefix: `s${++n}`, reconnectWaitMs: 100, name: 'hushwire-test', ...extra });
  const jsmOf = async (tt: { teardown(fn: () => unknown): void }, url = server.url) => {
    const nc = await connect({ servers: url });
    tt.teardown(() => nc.close());
    return jetstreamManager(nc);
  };
  const configs = async (jsm: Awaited<ReturnType<typeof jsmOf>>, bus: NatsBus) =>
    Promise.all(bus.streamNames.map(async (name) => (await jsm.streams.info(name)).config));

  t.test('a bus with lower limits keeps the streams\' higher ones: stored mail stays, one warning, no rewrite', async (t) => {
    const prefix = `s${++n}`;
    // Gateway A, defaults (30 days, 1,000 per device, 70,000 B), stores for an offline device.
    const a = newBus(DEFAULT_MAILBOX_LIMITS, { prefix });
    t.teardown(() => a.close());
    await a.start();
    const [r, d] = [tok(), tok()];
    await a.mailboxPut(r, d, tok(), bytes(100, 7));

    // Gateway B started with --mailbox-max-age-s 60 and smaller limits besides.
    const b1 = capture();
    const lower = { maxAgeMs: 60_000, maxMessagesPerDevice: 5, maxMessageBytes: 1024 };
    const b = newBus(lower, { prefix, log: b1.log });
    t.teardown(() => b.close());
    await b.start();

    const jsm = await jsmOf(t);
    for (const c of await configs(jsm, b)) {
      t.equal(c.max_age, nanos(30 * DAY_S * 1000), `${c.name}: max age kept (30 days)`);
      t.equal(c.max_msgs_per_subject, 1000, `${c.name}: per-device limit kept`);
      t.equal(c.max_msg_size, 70_000 + 512, `${c.name}: largest message kept`);
      t.equal(c.duplicate_window, nanos(120_000), `${c.name}: duplicate window of the kept max age`);
    }
    t.equal(b.mailboxMaxAgeMs(), 30 * DAY_S * 1000, 'B tells the streams\' retention (what the challenge carries), not its own 60 s');
    t.equal(a.mailboxMaxAgeMs(), 30 * DAY_S * 1000, 'A its own, the streams\'');
    const items = await b.mailboxRead(r, d, 0, 10);
    t.equal(items.length, 1, 'the message A stored is still there, read through B');
    t.equal(items[0]!.data[0], 7);

    const warns = b1.lines.filter((l) => l.level === 'warn');
    t.equal(warns.length, 1, 'one warning for the 16 streams');
    t.match(warns[0]!.msg, /^bus: mailbox streams keep their higher limits: /);
    t.match(warns[0]!.msg, /--mailbox-max-age-s 2592000 \(this gateway: 60\)/, 'names the setting, the stream\'s value and its own');
    t.match(warns[0]!.msg, /--mailbox-max-messages 1000 \(this gateway: 5\)/);
    t.match(warns[0]!.msg, /--max-envelope-bytes 70000 \(this gateway: 1024\)/);
    t.match(warns[0]!.msg, /--mailbox-lower-limits/, 'says how to lower them on purpose');
    t.same(warns[0]!.fields?.['limits'], [
      { setting: '--mailbox-max-age-s', stream: 2592000, configured: 60 },
      { setting: '--mailbox-max-messages', stream: 1000, configured: 5 },
      { setting: '--max-envelope-bytes', stream: 70000, configured: 1024 },
    ]);
    t.notOk(b1.lines.some((l) => l.msg.includes('configuration updated')), 'no stream rewritten');
    const all = JSON.stringify(b1.lines);
    t.notOk(all.includes(r) || all.includes(d), 'no route tag or device token in the log');

    // Mixed settings do not flip-flop: A (defaults) and B (lower) start again, in turn;
    // nobody updates the streams, and the stored message is still there.
    const before = await configs(jsm, b);
    for (const limits of [DEFAULT_MAILBOX_LIMITS, lower, DEFAULT_MAILBOX_LIMITS]) {
      const c = capture();
      const again = newBus(limits, { prefix, log: c.log });
      await again.start();
      await again.close();
      t.notOk(c.lines.some((l) => l.msg.includes('configuration updated')), `no update by a bus with max age ${limits.maxAgeMs} ms`);
    }
    t.same(await configs(jsm, b), before, 'stream configurations unchanged');
    t.equal((await b.mailboxRead(r, d, 0, 10)).length, 1, 'the message is still there');
  });

  t.test('lowerLimits (--mailbox-lower-limits) applies lower values, logged at warn', async (t) => {
    const prefix = `s${++n}`;
    const a = newBus(DEFAULT_MAILBOX_LIMITS, { prefix });
    await a.start();
    const [r, d] = [tok(), tok()];
    await a.mailboxPut(r, d, tok(), bytes(100, 3));
    await a.close();

    const c1 = capture();
    const c = newBus({ ...DEFAULT_MAILBOX_LIMITS, maxAgeMs: 60_000 }, { prefix, log: c1.log, lowerLimits: true });
    t.teardown(() => c.close());
    await c.start();
    const jsm = await jsmOf(t);
    for (const cfg of await configs(jsm, c)) {
      t.equal(cfg.max_age, nanos(60_000), `${cfg.name}: max age lowered to 60 s`);
      t.equal(cfg.duplicate_window, nanos(60_000), `${cfg.name}: duplicate window within it`);
      t.equal(cfg.max_msgs_per_subject, 1000, `${cfg.name}: the per-device limit (equal) untouched`);
    }
    const warns = c1.lines.filter((l) => l.level === 'warn');
    t.equal(warns.length, 1);
    t.match(warns[0]!.msg, /^bus: lowering the mailbox streams' limits to this gateway's \(--mailbox-lower-limits\): --mailbox-max-age-s 2592000 \(this gateway: 60\)$/);
    t.ok(c1.lines.some((l) => l.level === 'info' && l.msg === 'bus: mailbox stream configuration updated' && l.fields?.['streams'] === 16), 'one update line for the 16 streams');
    t.equal((await c.mailboxRead(r, d, 0, 10)).length, 1, 'mail younger than the new max age stays');
    t.equal(c.mailboxMaxAgeMs(), 60_000, 'the lowered retention is the one told');
  });

  t.test('higher limits are applied without the flag, with no warning', async (t) => {
    const prefix = `s${++n}`;
    const a = newBus(CONTRACT_LIMITS, { prefix });
    await a.start();
    const [r, d] = [tok(), tok()];
    await a.mailboxPut(r, d, tok(), bytes(10, 1));
    await a.close();

    const b1 = capture();
    const higher = { maxAgeMs: 2 * CONTRACT_LIMITS.maxAgeMs, maxMessagesPerDevice: 50, maxMessageBytes: 4096 };
    const b = newBus(higher, { prefix, log: b1.log });
    t.teardown(() => b.close());
    await b.start();
    const jsm = await jsmOf(t);
    for (const cfg of await configs(jsm, b)) {
      t.equal(cfg.max_age, nanos(higher.maxAgeMs), `${cfg.name}: max age raised`);
      t.equal(cfg.max_msgs_per_subject, 50, `${cfg.name}: per-device limit raised`);
      t.equal(cfg.max_msg_size, 4096 + 512, `${cfg.name}: largest message raised`);
    }
    t.same(b1.lines.filter((l) => l.level !== 'info'), [], 'no warning');
    t.ok(b1.lines.some((l) => l.msg === 'bus: mailbox stream configuration updated' && l.fields?.['streams'] === 16));
    t.equal((await b.mailboxRead(r, d, 0, 10)).length, 1, 'stored mail untouched');
    t.equal(b.mailboxMaxAgeMs(), higher.maxAgeMs, 'the raised retention is the one told');

    // The earlier, lower gateway comes back: it keeps the raised values (converges up).
    const a2 = capture();
    const again = newBus(CONTRACT_LIMITS, { prefix, log: a2.log });
    t.equal(again.mailboxMaxAgeMs(), CONTRACT_LIMITS.maxAgeMs, 'before it looked at the streams: its own');
    await again.start();
    t.equal(again.mailboxMaxAgeMs(), higher.maxAgeMs, 'after: the streams\' higher one');
    await again.close();
    for (const cfg of await configs(jsm, b)) t.equal(cfg.max_msgs_per_subject, 50, `${cfg.name}: still 50`);
    t.equal(a2.lines.filter((l) => l.level === 'warn').length, 1, 'the lower gateway warns once');
  });

  t.test('replicas apply when a stream is created: a bus with more keeps an existing stream\'s, says so once, no rewrite', async (t) => {
    // docs/OPERATIONS.md ("Replicas"): --nats-replicas applies at creation; an existing
    // deployment's streams are raised with `nats stream edit`. A single nats-server 2.9
    // refuses to create a 3-replica stream but accepted the update to 3, and then
    // recorded 3 replicas of a stream it holds once (found following the docs).
    const prefix = `s${++n}`;
    const a = newBus(DEFAULT_MAILBOX_LIMITS, { prefix });
    await a.start();
    const [r, d] = [tok(), tok()];
    await a.mailboxPut(r, d, tok(), bytes(10, 2));
    await a.close();

    const b1 = capture();
    const b = newBus(DEFAULT_MAILBOX_LIMITS, { prefix, log: b1.log, replicas: 3 });
    t.teardown(() => b.close());
    await b.start();
    const jsm = await jsmOf(t);
    for (const cfg of await configs(jsm, b)) t.equal(cfg.num_replicas, 1, `${cfg.name}: still 1 replica`);
    const warns = b1.lines.filter((l) => l.level === 'warn');
    t.equal(warns.length, 1, 'one warning for the 16 streams');
    t.match(warns[0]!.msg, /^bus: mailbox streams have fewer replicas than configured; keeping them \(1, --nats-replicas 3\): .*nats stream edit/);
    t.same(warns[0]!.fields, { have: 1, configured: 3 });
    t.notOk(b1.lines.some((l) => l.msg.includes('configuration updated')), 'no stream rewritten');
    t.equal((await b.mailboxRead(r, d, 0, 10)).length, 1, 'stored mail untouched');

    // A later gateway with the default (1) has nothing to say about replicas.
    const c1 = capture();
    const c = newBus(DEFAULT_MAILBOX_LIMITS, { prefix, log: c1.log });
    await c.start();
    await c.close();
    t.notOk(c1.lines.some((l) => /replicas/.test(l.msg)), 'no "more replicas than configured" line afterwards');
  });

  t.test('why a start failed: the error class says whether retrying can help', async (t) => {
    // A mailbox laid out for another number of shards.
    const prefix = `s${++n}`;
    const a = newBus(CONTRACT_LIMITS, { prefix });
    await a.start();
    await a.close();
    const four = newBus(CONTRACT_LIMITS, { prefix, mailboxShards: 4 });
    t.teardown(() => four.close());
    const shards = await four.start().then(() => null, (e: unknown) => e);
    t.ok(shards instanceof BusMisconfigured, 'another shard count: BusMisconfigured');
    t.equal((shards as BusMisconfigured).setting, '--mailbox-shards');
    t.match((shards as Error).message, /^mailbox configured with 4 shard\(s\), but stream S\d+_MBOX_0 belongs to a mailbox of 16 shard\(s\): every gateway must use the same --mailbox-shards/);
    t.equal((shards as BusMisconfigured).code, 'UNAVAILABLE');

    // More replicas than a single nats-server holds.
    const r3 = newBus(CONTRACT_LIMITS, { replicas: 3 });
    t.teardown(() => r3.close());
    const replicas = await r3.start().then(() => null, (e: unknown) => e);
    t.ok(replicas instanceof BusMisconfigured, 'replicas on one node: BusMisconfigured');
    t.equal((replicas as BusMisconfigured).setting, '--nats-replicas');
    t.match((replicas as Error).message, /^--nats-replicas 3 refused by NATS for stream S\d+_MBOX_0: replicas > 1 not supported in non-clustered mode/);
    t.ok((replicas as Error).cause !== undefined, 'with its cause');

    // Nobody on the port.
    const [port] = await freePorts(1);
    const down = new NatsBus({ servers: `nats://127.0.0.1:${port}`, limits: CONTRACT_LIMITS, connectTimeoutMs: 1000 });
    t.teardown(() => down.close());
    const refused = await down.start().then(() => null, (e: unknown) => e);
    t.ok(refused instanceof NatsUnreachable, 'connection refused: NatsUnreachable');
    t.equal((refused as NatsUnreachable).reason, 'connection refused');

    // Credentials NATS refuses: no outage, and no credentials in the message.
    const locked = await startNatsServer({ t, extraConfig: 'authorization { user: hwgw, password: right-pass }' });
    const wrong = new NatsBus({ servers: `nats://hwgw:wrong-pass@127.0.0.1:${locked.port}`, limits: CONTRACT_LIMITS, connectTimeoutMs: 2000 });
    t.teardown(() => wrong.close());
    const auth = await wrong.start().then(() => null, (e: unknown) => e);
    t.ok(auth instanceof BusMisconfigured, 'refused credentials: BusMisconfigured');
    t.equal((auth as BusMisconfigured).setting, '--nats');
    t.notMatch((auth as Error).message, /hwgw|wrong-pass/, 'no credentials in the message');

    // NATS without JetStream.
    const plain = await startNatsServer({ t, extraConfig: 'jetstream: disabled' });
    const nojs = new NatsBus({ servers: plain.url, limits: CONTRACT_LIMITS, requestTimeoutMs: 2000 });
    t.teardown(() => nojs.close());
    const notReady = await nojs.start().then(() => null, (e: unknown) => e);
    t.ok(notReady instanceof JetStreamNotReady, 'no JetStream: JetStreamNotReady (retried)');
    t.equal((notReady as JetStreamNotReady).reason, 'JetStream is not enabled on this NATS server or account');
    t.equal((notReady as Error).message, 'JetStream not ready: JetStream is not enabled on this NATS server or account');
  });

  t.test('streams re-created for another shard count after a reconnect: misconfigured, one error line, ready again once fixed', async (t) => {
    const own = await startNatsServer({ t });
    const prefix = `s${++n}`;
    const c1 = capture();
    const a = new NatsBus({ servers: own.url, limits: CONTRACT_LIMITS, prefix, reconnectWaitMs: 100, log: c1.log });
    t.teardown(() => a.close());
    await a.start();
    t.same(a.status(), { state: 'connected' });

    // Behind its back the mailbox is laid out anew for 4 shards.
    const jsm = await jsmOf(t, own.url);
    for (const name of a.streamNames) await jsm.streams.delete(name);
    const four = new NatsBus({ servers: own.url, limits: CONTRACT_LIMITS, prefix, mailboxShards: 4 });
    await four.start();
    await four.close();

    await own.restart(); // a reconnect: the bus checks its streams again
    await waitFor(() => a.status().state === 'misconfigured', 20_000, 'misconfigured after the reconnect');
    const errors = (): Line[] => c1.lines.filter((l) => l.level === 'error');
    await new Promise((r) => setTimeout(r, 1500));
    t.equal(errors().length, 1, 'one error line, not one per attempt');
    t.match(errors()[0]!.msg, /^bus: NATS set-up no longer matches this gateway's settings; not ready until it does: mailbox configured with 16 shard\(s\), but stream S\d+_MBOX_0 belongs to a mailbox of 4 shard\(s\)/);
    t.same(errors()[0]!.fields, { setting: '--mailbox-shards' });
    t.same(a.status(), { state: 'misconfigured' }, 'still misconfigured: no crash, no retry loop');
    // Mail stored now could land where the other gateways do not look: none is taken.
    const [r0, d0] = [tok(), tok()];
    await t.rejects(a.mailboxPut(r0, d0, tok(), bytes(10, 5)), { code: 'UNAVAILABLE', message: /laid out for other settings/ }, 'no mailbox writes while misconfigured');
    await t.rejects(a.mailboxRead(r0, d0, 0, 10), { code: 'UNAVAILABLE' }, 'nor reads');

    // Fixed (the 4-shard streams removed); the next reconnect re-creates the 16.
    const jsm2 = await jsmOf(t, own.url);
    for (let i = 0; i < 4; i++) await jsm2.streams.delete(`${prefix.toUpperCase()}_MBOX_${i}`);
    await own.restart();
    await waitFor(() => a.status().state === 'connected', 20_000, 'connected again');
    t.ok(c1.lines.some((l) => l.msg.includes('matches this gateway\'s settings again')), 'says it is ready again');
    const [r, d] = [tok(), tok()];
    await a.mailboxPut(r, d, tok(), bytes(10, 5));
    t.equal((await a.mailboxRead(r, d, 0, 10)).length, 1, 'the mailbox works again');
  });

  t.test('a misconfigured bus looks again on its own timer and is ready once the streams are fixed, without a reconnect', async (t) => {
    const own = await startNatsServer({ t });
    const prefix = 'rechk';
    const c1 = capture();
    const a = new NatsBus({ servers: own.url, limits: CONTRACT_LIMITS, prefix, reconnectWaitMs: 100, misconfiguredRecheckMs: 300, log: c1.log });
    t.teardown(() => a.close());
    await a.start();
    const jsm = await jsmOf(t, own.url);
    for (const name of a.streamNames) await jsm.streams.delete(name);
    const four = new NatsBus({ servers: own.url, limits: CONTRACT_LIMITS, prefix, mailboxShards: 4 });
    await four.start();
    await four.close();
    await own.restart(); // the reconnect finds the other layout
    await waitFor(() => a.status().state === 'misconfigured', 20_000, 'misconfigured after the reconnect');

    // Fixed behind its back, with no reconnect: only the recheck timer can notice.
    const jsm2 = await jsmOf(t, own.url);
    for (let i = 0; i < 4; i++) await jsm2.streams.delete(`${prefix.toUpperCase()}_MBOX_${i}`);
    await waitFor(() => a.status().state === 'connected', 10_000, 'connected again by the recheck');
    t.ok(c1.lines.some((l) => l.msg.includes('matches this gateway\'s settings again')), 'says it is ready again');
    const [r, d] = [tok(), tok()];
    await a.mailboxPut(r, d, tok(), bytes(10, 5));
    t.equal((await a.mailboxRead(r, d, 0, 10)).length, 1, 'and serves mail again');
  });
}
