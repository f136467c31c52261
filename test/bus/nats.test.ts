// NatsBus against a real nats-server (Debian 2.9.x) started by the helper on loopback.
import t from 'tap';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsBus, type NatsBusOptions } from '../../relay/bus/nats.ts';
import { eraseSeq } from '../../relay/bus/nats-privacy.ts';
import type { MailboxLimits } from '../../relay/bus/bus.ts';
import { isHushwireError } from '../../relay/errors.ts';
import { Recipient } from '../../relay/tokens.ts';
import { busContract, bytes, CONTRACT_LIMITS, tok, waitFor } from './contract.ts';
import { freePorts, haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { within } from '../helpers/poll.ts';

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  const server = await startNatsServer({ t });
  let n = 0;
  const newBus = (limits: MailboxLimits = CONTRACT_LIMITS, extra: Partial<NatsBusOptions> = {}): NatsBus =>
    new NatsBus({ servers: server.url, limits, prefix: `t${++n}`, reconnectWaitMs: 100, name: 'hushwire-test', ...extra });

  const raw = async (tt: { teardown(fn: () => unknown): void }): Promise<NatsConnection> => {
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    tt.teardown(() => nc.close());
    return nc;
  };

  /** Two started buses on one deployment (one prefix): two gateways. */
  const twoGateways = async (tt: { teardown(fn: () => unknown): void }): Promise<[NatsBus, NatsBus]> => {
    const prefix = `t${++n}`;
    const a = newBus(CONTRACT_LIMITS, { prefix });
    const b = newBus(CONTRACT_LIMITS, { prefix });
    tt.teardown(() => Promise.all([a.close(), b.close()]));
    await Promise.all([a.start(), b.start()]);
    return [a, b];
  };

  t.test('contract', async (t) => {
    busContract(t, async (limits = CONTRACT_LIMITS) => {
      const bus = newBus(limits);
      await bus.start();
      return { bus, cleanup: () => bus.close() };
    });
  });

  t.test('contract, one mailbox stream (--mailbox-shards 1: the layout before shards)', async (t) => {
    busContract(t, async (limits = CONTRACT_LIMITS) => {
      const bus = newBus(limits, { mailboxShards: 1 });
      await bus.start();
      return { bus, cleanup: () => bus.close() };
    });
  });

  // Route tags whose shard (of 16) is known: the first four hex digits mod 16.
  const tagInShard = (shard: number): string => `${tok().slice(0, 3)}${shard.toString(16)}${tok().slice(4)}`;

  t.test('mailbox shards: one stream per shard, a route in exactly one, the same seqs in two shards do not mix', async (t) => {
    const prefix = `t${++n}`;
    const bus = newBus(CONTRACT_LIMITS, { prefix });
    t.teardown(() => bus.close());
    await bus.start();
    const nc = await raw(t);
    const jsm = await jetstreamManager(nc);
    t.equal(bus.streamNames.length, 16, '16 shards by default');
    for (let i = 0; i < 16; i++) {
      const si = await jsm.streams.info(bus.streamNames[i]!);
      t.same(si.config.subjects, [`${prefix}.mbox.${i}.>`], `shard ${i} subjects`);
      t.equal(si.config.description, `hushwire mailbox shard ${i} of 16`);
    }
    const [r3, r9, d] = [tagInShard(3), tagInShard(9), tok()];
    await bus.mailboxPut(r3, d, tok(), bytes(10, 3));
    await bus.mailboxPut(r9, d, tok(), bytes(10, 9));
    const [a] = await bus.mailboxRead(r3, d, 0, 10);
    const [b] = await bus.mailboxRead(r9, d, 0, 10);
    t.equal(a!.seq, 1, 'first message of shard 3 is its seq 1');
    t.equal(b!.seq, 1, 'and of shard 9 too');
    t.equal(a!.data[0], 3);
    t.equal(b!.data[0], 9);
    t.equal((await jsm.streams.info(bus.streamNames[3]!)).state.messages, 1, 'stored in its shard');
    t.equal((await jsm.streams.info(bus.streamNames[9]!)).state.messages, 1);
    await bus.mailboxDeleteMany(r3, d, [1]);
    t.same(await bus.mailboxRead(r3, d, 0, 10), [], 'deleted in shard 3');
    const left = await bus.mailboxRead(r9, d, 0, 10);
    t.equal(left.length, 1, 'seq 1 of shard 9 untouched');
    t.equal(left[0]!.data[0], 9);
    await bus.mailboxPurge(r9);
    t.same(await bus.mailboxRead(r9, d, 0, 10), [], 'purged');
    t.equal((await jsm.streams.info(bus.streamNames[9]!)).state.messages, 0);
  });

  t.test('a bus with another number of mailbox shards than the deployment refuses to start', async (t) => {
    const one = `t${++n}`;
    const a = newBus(CONTRACT_LIMITS, { prefix: one, mailboxShards: 1 });
    await a.start();
    await a.close();
    const b = newBus(CONTRACT_LIMITS, { prefix: one });
    t.teardown(() => b.close());
    await t.rejects(b.start(), { code: 'UNAVAILABLE', message: /configured with 16 shard\(s\).*overlap.*--mailbox-shards/ }, '16 after 1');

    const sixteen = `t${++n}`;
    const c = newBus(CONTRACT_LIMITS, { prefix: sixteen });
    await c.start();
    await c.close();
    const d = newBus(CONTRACT_LIMITS, { prefix: sixteen, mailboxShards: 8 });
    t.teardown(() => d.close());
    await t.rejects(d.start(), { code: 'UNAVAILABLE', message: /configured with 8 shard\(s\).*of 16 shard/ }, '8 after 16');
    const e = newBus(CONTRACT_LIMITS, { prefix: sixteen, mailboxShards: 16 });
    t.teardown(() => e.close());
    await e.start();
    t.pass('the same number starts');
    t.throws(() => newBus(CONTRACT_LIMITS, { mailboxShards: 0 }), { code: 'BAD_REQUEST' });
    t.throws(() => newBus(CONTRACT_LIMITS, { mailboxShards: 65 }), { code: 'BAD_REQUEST' });
    t.throws(() => newBus(CONTRACT_LIMITS, { mailboxShards: 1.5 }), { code: 'BAD_REQUEST' });
  });

  t.test('start: connection failure is UNAVAILABLE with a cause', async (t) => {
    const [port] = await freePorts(1);
    const bus = new NatsBus({ servers: `nats://127.0.0.1:${port}`, limits: CONTRACT_LIMITS, connectTimeoutMs: 1000 });
    try {
      await bus.start();
      t.fail('should not connect');
    } catch (e) {
      t.ok(isHushwireError(e) && e.code === 'UNAVAILABLE', 'UNAVAILABLE');
      t.ok(e instanceof Error && e.cause !== undefined, 'has a cause');
    }
    await bus.close();
    await bus.close();
  });

  t.test('two buses on one server: concurrent start, live delivery and control both ways', async (t) => {
    const [a, b] = await twoGateways(t);
    const [r, d] = [tok(), tok()];
    const got: number[] = [];
    const ctl: string[] = [];
    await a.subscribeDevice(r, d, async (env) => { got.push(env.length); return true; }, (m) => ctl.push(m.kind));
    t.equal(await b.deliverLive(r, d, bytes(123), 2000), true, 'b → a');
    t.same(got, [123]);
    await b.publishControl(r, d, { kind: 'kick', connection: 'abc' });
    await waitFor(() => ctl.length === 1, 3000, 'control');
    t.same(ctl, ['kick']);
    const [r2, d2] = [tok(), tok()];
    await b.subscribeDevice(r2, d2, async () => true, () => {});
    t.equal(await a.deliverLive(r2, d2, bytes(10), 2000), true, 'a → b');
    // the mailbox and directory are shared too
    await a.mailboxPut(r, d, tok(), bytes(10));
    t.equal((await b.mailboxRead(r, d, 0, 10)).length, 1);
    const rev = await a.directoryPut(r, bytes(10), 0);
    t.equal((await b.directoryGet(r))?.revision, rev);
    t.equal(await b.directoryPut(r, bytes(10), 0), null);
  });

  t.test('a directory bucket without direct gets (an older deployment\'s) is read through the KV client, alike', async (t) => {
    const prefix = `t${++n}`;
    const a = newBus(CONTRACT_LIMITS, { prefix });
    t.teardown(() => a.close());
    await a.start();
    const [r, gone, never] = [tok(), tok(), tok()];
    const rev = await a.directoryPut(r, bytes(40, 7), 0) as number;
    const rev2 = await a.directoryPut(gone, bytes(40, 8), 0) as number;
    await a.directoryDelete(gone);
    // Through direct gets first: the revision is read lazily, and is the one written.
    const direct = await a.directoryGet(r);
    t.same([...direct!.value], [...bytes(40, 7)]);
    t.equal(direct?.revision, rev);
    const nc = await raw(t);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`KV_${a.bucketName}`);
    t.equal(info.config.allow_direct, true, 'buckets are made with direct gets');
    await jsm.streams.update(`KV_${a.bucketName}`, { ...info.config, allow_direct: false });
    const b = newBus(CONTRACT_LIMITS, { prefix });
    t.teardown(() => b.close());
    await b.start();
    const got = await b.directoryGet(r);
    t.same([...got!.value], [...bytes(40, 7)], 'same value');
    t.equal(got?.revision, rev, 'same revision');
    t.equal(await b.directoryGet(gone), null, 'a deleted key: null');
    t.equal(await b.directoryGet(never), null, 'a missing key: null');
    t.ok(rev2 > 0);
    const rev3 = await b.directoryPut(r, bytes(40, 9), rev);
    t.ok(rev3 !== null && rev3 > rev, 'compare-and-set with the revision read');
    t.equal(await b.directoryPut(r, bytes(40, 9), rev), null, 'a stale revision is refused');
  });

  t.test('every live offer settles once, and the count of offers in flight goes back to 0', async (t) => {
    const [a, b] = await twoGateways(t);
    const r = tok();
    const [acks, refuses, hangs, moves, nobody, local] = [tok(), tok(), tok(), tok(), tok(), tok()];
    const held: ((ok: boolean) => void)[] = [];
    await b.subscribeDevice(r, acks, async () => true, () => {});
    await b.subscribeDevice(r, refuses, async () => false, () => {});
    await b.subscribeDevice(r, hangs, () => new Promise<boolean>((res) => { held.push(res); }), () => {});
    const moving = await b.subscribeDevice(r, moves, async () => true, () => {});
    await a.subscribeDevice(r, local, async () => true, () => {});
    // Each kind of outcome: delivered through a batch, refused, timed out, "gone" after
    // the device left its node (then located again: nobody), nobody at all, and this
    // bus's own device.
    const outcomes = new Map<string, boolean[]>();
    let settled = 0;
    let twice = 0;
    const offer = (d: string, name: string, ms = 2000): void => {
      let called = false;
      a.offerLive(Recipient.of(r, d), bytes(64), ms, (ok) => {
        if (called) twice++;
        called = true;
        settled++;
        outcomes.set(name, [...(outcomes.get(name) ?? []), ok]);
      });
    };
    t.equal(await a.deliverLive(r, moves, bytes(8), 2000), true, 'the moving device is located once (its node remembered)');
    await moving.close();
    let offered = 0;
    for (let i = 0; i < 50; i++) {
      offer(acks, 'acks'); offer(refuses, 'refuses'); offer(hangs, 'hangs', 300);
      offer(moves, 'moves'); offer(nobody, 'nobody'); offer(local, 'local');
      offered += 6;
    }
    t.ok(a.livePending() > 0, `offers in flight are counted (${a.livePending()})`);
    await waitFor(() => settled === offered, 10_000, 'every offer to settle');
    t.equal(twice, 0, 'no offer settled twice');
    t.same(outcomes.get('acks')?.every((x) => x), true, 'acked: delivered');
    t.same(outcomes.get('local')?.every((x) => x), true, 'own device: delivered');
    for (const k of ['refuses', 'hangs', 'moves', 'nobody']) t.same(outcomes.get(k)?.some((x) => x), false, `${k}: not delivered`);
    t.equal(a.livePending(), 0, 'nothing left in flight');
    for (const release of held) release(true); // late acks after the deadline change nothing
    // Closing with offers in flight settles them as not delivered, once.
    const before = settled;
    for (let i = 0; i < 20; i++) offer(hangs, 'closing', 60_000);
    t.equal(a.livePending(), 20);
    await a.close();
    await waitFor(() => settled === before + 20, 5000, 'offers pending at close to settle');
    t.same(outcomes.get('closing')?.some((x) => x), false, 'not delivered');
    t.equal(a.livePending(), 0);
    t.equal(twice, 0);
  });

  t.test('a restarted bus with changed limits updates the stream', async (t) => {
    const prefix = `t${++n}`;
    const a = newBus(CONTRACT_LIMITS, { prefix });
    await a.start();
    await a.close();
    const b = newBus({ ...CONTRACT_LIMITS, maxMessagesPerDevice: 7 }, { prefix });
    t.teardown(() => b.close());
    await b.start();
    const nc = await raw(t);
    const jsm = await jetstreamManager(nc);
    for (const [i, name] of b.streamNames.entries()) {
      const si = await jsm.streams.info(name);
      t.equal(si.config.max_msgs_per_subject, 7);
      t.equal(si.config.discard, 'new');
      t.equal(si.config.discard_new_per_subject, true);
      t.equal(si.config.storage, 'file');
      t.same(si.config.subjects, [`${prefix}.mbox.${i}.>`]);
    }
  });

  t.test('deleteMany through a bus that never read the items (another gateway) checks each owner', async (t) => {
    const [a, b] = await twoGateways(t);
    const [r, d, d2] = [tok(), tok(), tok()];
    for (let i = 0; i < 3; i++) await a.mailboxPut(r, d, tok(), bytes(8, i));
    await a.mailboxPut(r, d2, tok(), bytes(8));
    const mine = await a.mailboxRead(r, d, 0, 10);
    const [theirs] = await a.mailboxRead(r, d2, 0, 10);
    await b.mailboxDeleteMany(r, d, [...mine.slice(0, 2).map((i) => i.seq), (theirs as { seq: number }).seq, 999_999]);
    t.same((await a.mailboxRead(r, d, 0, 10)).map((i) => i.seq), [mine[2]!.seq], 'this device\'s acked items are gone');
    t.equal((await a.mailboxRead(r, d2, 0, 10)).length, 1, 'the other device\'s item was not touched');
    // ...and the bus that read them deletes the same seqs again: already gone, fine.
    await a.mailboxDeleteMany(r, d, mine.slice(0, 2).map((i) => i.seq));
  });

  t.test('an erase of a message erased meanwhile (another gateway, a sweep, the age limit) is "already gone", not a failure', async (t) => {
    const [a, b] = await twoGateways(t);
    const [r, d] = [tok(), tok()];
    for (let i = 0; i < 3; i++) await a.mailboxPut(r, d, tok(), bytes(8, i));
    const mine = await a.mailboxRead(r, d, 0, 10);
    // b erases the middle one: a gap with messages on both sides, which nats-server
    // answers "sequence N not found" (10043) when deleted again, not "no message found"
    // (10057, what a sequence before the first gets). a read it, so a deletes it
    // straight away (no look first): before, that answer failed the ack's erase.
    await b.mailboxDeleteMany(r, d, [mine[1]!.seq]);
    await a.mailboxDeleteMany(r, d, [mine[1]!.seq]);
    t.same((await a.mailboxRead(r, d, 0, 10)).map((i) => i.seq), [mine[0]!.seq, mine[2]!.seq], 'the others are still there');
    // The opt-out's and the sweeps' erase (one seq at a time) alike.
    const nc = await raw(t);
    const jsm = await jetstreamManager(nc);
    const stream = `T${n}_ERASE_PROBE`;
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    t.teardown(() => jsm.streams.delete(stream).catch(() => undefined));
    for (let i = 0; i < 3; i++) await nc.request(`${stream}.x`, 'x');
    await eraseSeq(nc, stream, 2, 5000);
    await eraseSeq(nc, stream, 2, 5000);
    t.pass('eraseSeq of a sequence erased before resolves');
    t.equal((await jsm.streams.info(stream)).state.messages, 2);
  });

  t.test('deletes still queued when the bus closes settle (UNAVAILABLE), none hangs', async (t) => {
    const bus = newBus({ ...CONTRACT_LIMITS, maxMessagesPerDevice: 200 });
    await bus.start();
    const [r, d] = [tok(), tok()];
    await Promise.all(Array.from({ length: 200 }, () => bus.mailboxPut(r, d, tok(), bytes(8))));
    const items = await bus.mailboxRead(r, d, 0, 1024);
    t.equal(items.length, 200);
    const outcome = bus.mailboxDeleteMany(r, d, items.map((i) => i.seq)).then(() => 'resolved', (e: unknown) => (e as { code?: string }).code);
    await bus.close();
    const settled = await Promise.race([outcome, new Promise((res) => setTimeout(() => res('hung'), 10_000))]);
    t.ok(settled === 'resolved' || settled === 'UNAVAILABLE', `settled: ${String(settled)}`);
  });

  t.test('a drain read to the end leaves no consumer on the server', async (t) => {
    const bus = newBus();
    await bus.start();
    t.teardown(() => bus.close());
    const nc = await raw(t);
    const jsm = await jetstreamManager(nc);
    const [r, d] = [tok(), tok()];
    for (let i = 0; i < 4; i++) await bus.mailboxPut(r, d, tok(), bytes(8, i));
    let after = 0;
    const got: number[] = [];
    for (;;) {
      const page = await bus.mailboxRead(r, d, after, 3);
      if (page.length === 0) break;
      got.push(...page.map((i) => i.seq));
      after = page[page.length - 1]!.seq;
      t.match(await consumerNames(), /^[^,]+$/, 'one reader while paging, reused page to page');
    }
    t.equal(got.length, 4, 'all items read');
    await waitFor(async () => (await consumerNames()) === '', 5000, 'the reader to be deleted');
    t.pass('no consumer left');

    async function consumerNames(): Promise<string> {
      const names: string[] = [];
      // (an entry can be null: a consumer deleted while the list was being made)
      for (const stream of bus.streamNames) for await (const c of jsm.consumers.list(stream)) if (c) names.push(c.name);
      return names.join(',');
    }
  });

  t.test('directoryDelete leaves no message in the KV stream', async (t) => {
    const bus = newBus();
    t.teardown(() => bus.close());
    await bus.start();
    const [r, keep] = [tok(), tok()];
    const rev = await bus.directoryPut(r, bytes(50), 0);
    await bus.directoryPut(r, bytes(50), rev as number);
    await bus.directoryPut(keep, bytes(50), 0);
    await bus.directoryDelete(r);
    const nc = await raw(t);
    const jsm = await jetstreamManager(nc);
    const stream = `KV_${bus.bucketName}`;
    const si = await jsm.streams.info(stream, { subjects_filter: '>' });
    t.equal(si.state.messages, 1, 'only the other key remains');
    t.same(Object.keys(si.state.subjects ?? {}), [`$KV.${bus.bucketName}.${keep}`]);
    t.equal(await jsm.streams.getMessage(stream, { last_by_subj: `$KV.${bus.bucketName}.${r}` }), null, 'no marker');
  });

  t.test('a revision-checked directoryDelete leaves no message in the KV stream either', async (t) => {
    const bus = newBus();
    t.teardown(() => bus.close());
    await bus.start();
    const [r, keep] = [tok(), tok()];
    const rev1 = await bus.directoryPut(r, bytes(50), 0);
    const rev2 = await bus.directoryPut(r, bytes(50), rev1 as number);
    await bus.directoryPut(keep, bytes(50), 0);
    t.equal(await bus.directoryDelete(r, rev1 as number), false, 'a stale revision erases nothing');
    t.equal(await bus.directoryDelete(r, rev2 as number), true);
    const nc = await raw(t);
    const jsm = await jetstreamManager(nc);
    const stream = `KV_${bus.bucketName}`;
    const si = await jsm.streams.info(stream, { subjects_filter: '>' });
    t.equal(si.state.messages, 1, 'only the other key remains (not the empty revision the delete wrote on the way)');
    t.same(Object.keys(si.state.subjects ?? {}), [`$KV.${bus.bucketName}.${keep}`]);
    t.equal(await jsm.streams.getMessage(stream, { last_by_subj: `$KV.${bus.bucketName}.${r}` }), null, 'no marker');
    t.ok((await bus.directoryPut(r, bytes(50), 0)) !== null, 'the key can be created again');
  });

  t.test('mailbox survives a nats-server restart (file storage)', async (t) => {
    const bus = newBus();
    t.teardown(() => bus.close());
    await bus.start();
    const [r, d] = [tok(), tok()];
    const sent = [bytes(30), bytes(31), bytes(32)];
    for (const s of sent) await bus.mailboxPut(r, d, tok(), s);
    await bus.directoryPut(r, bytes(9, 9), 0);
    await server.restart();
    await waitFor(() => bus.status().state === 'connected', 15_000, 'reconnect');
    let items: Awaited<ReturnType<NatsBus['mailboxRead']>> = [];
    await waitFor(async () => {
      try {
        items = await bus.mailboxRead(r, d, 0, 10);
        return true;
      } catch {
        return false; // JetStream may still be recovering
      }
    }, 15_000, 'mailbox readable');
    t.same(items.map((i) => Buffer.from(i.data)), sent.map((s) => Buffer.from(s)));
    t.ok((await bus.directoryGet(r))?.value.every((b) => b === 9), 'directory survives too');
  });

  t.test('counters right after a restart: the first calls wait for the counter bucket to be made again', async (t) => {
    // The counter bucket lives on memory storage: a restarted nats-server has lost it, and
    // the bus makes it again after the reconnect. Calls made the moment the bus says
    // connected used to fail UNAVAILABLE ("rate-limit store unavailable"), so the first
    // registrations and discoveries after a NATS restart failed; they now wait for that
    // restore (bounded by the request deadline) and try once more.
    const bus = newBus();
    t.teardown(() => bus.close());
    await bus.start();
    const ckey = (): string => `t.${tok()}`;
    const key = ckey();
    t.equal(await bus.counterPut(key, bytes(8, 1), 0), 1);
    for (let round = 1; round <= 3; round++) {
      await server.restart();
      const until = Date.now() + 15_000;
      while (bus.status().state !== 'connected' && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
      t.equal(bus.status().state, 'connected', `round ${round}: reconnected`);
      const outcome = async <T>(p: Promise<T>): Promise<T | string> => p.catch((e: unknown) => (isHushwireError(e) ? `${e.code}: ${e.message}` : String(e)));
      // both at once, at the first moment the bus is connected again
      const [got, put] = await Promise.all([outcome(bus.counterGet(ckey())), outcome(bus.counterPut(ckey(), bytes(8, round), 0))]);
      t.equal(got, null, `round ${round}: a read finds nothing (memory storage), no error`);
      t.equal(put, 1, `round ${round}: a first write is accepted`);
      t.equal(await outcome(bus.counterGet(key)), null, `round ${round}: the old counter is gone with the restart`);
    }
  });

  t.test('status: reconnecting while the server is down, connected when it is back', async (t) => {
    const bus = newBus();
    t.teardown(() => bus.close());
    await bus.start();
    t.same(bus.status(), { state: 'connected' });
    await server.stop();
    await waitFor(() => bus.status().state === 'reconnecting', 10_000, 'reconnecting');
    const st = bus.status();
    t.equal(st.state, 'reconnecting');
    t.ok(st.state === 'reconnecting' && st.since <= Date.now());
    // while down: live delivery says false or UNAVAILABLE, the mailbox says UNAVAILABLE
    const put = await bus.mailboxPut(tok(), tok(), tok(), bytes(4)).then(() => 'ok', (e) => (isHushwireError(e) ? e.code : 'other'));
    t.equal(put, 'UNAVAILABLE');
    await server.restart();
    await waitFor(() => bus.status().state === 'connected', 15_000, 'connected again');
    // the device subscription of a client that subscribed before the outage works again
    t.pass('reconnected');
  });

  t.test('live subscriptions survive a reconnect', async (t) => {
    const a = newBus();
    const prefix = `t${n}`;
    const b = newBus(CONTRACT_LIMITS, { prefix });
    t.teardown(() => Promise.all([a.close(), b.close()]));
    await Promise.all([a.start(), b.start()]);
    const [r, d] = [tok(), tok()];
    await a.subscribeDevice(r, d, async () => true, () => {});
    await server.restart();
    await waitFor(() => a.status().state === 'connected' && b.status().state === 'connected', 15_000, 'reconnect');
    await waitFor(() => b.deliverLive(r, d, bytes(4), 500), 10_000, 'live delivery after reconnect');
    t.pass('delivered after reconnect');
  });

  t.test('batched live delivery: a device that moved to another node is located again', async (t) => {
    const sender = newBus();
    const prefix = `t${n}`;
    const first = newBus(CONTRACT_LIMITS, { prefix });
    const second = newBus(CONTRACT_LIMITS, { prefix });
    t.teardown(() => Promise.all([sender.close(), first.close(), second.close()]));
    await Promise.all([sender.start(), first.start(), second.start()]);
    const [r, d] = [tok(), tok()];
    const got: string[] = [];
    const s1 = await first.subscribeDevice(r, d, async (e) => { got.push(`first:${e[0]}`); return true; }, () => {});
    t.equal(await sender.deliverLive(r, d, bytes(20, 1), 2000), true, 'located on its device subject');
    // Many in one turn: they travel as one batch to the remembered node.
    const burst = await Promise.all([2, 3, 4, 5].map((v) => sender.deliverLive(r, d, bytes(20, v), 2000)));
    t.same(burst, [true, true, true, true]);
    t.same(got, ['first:1', 'first:2', 'first:3', 'first:4', 'first:5'], 'in order');
    // The device moves: the old node answers "gone", the sender locates it again.
    await s1.close();
    await second.subscribeDevice(r, d, async (e) => { got.push(`second:${e[0]}`); return true; }, () => {});
    t.equal(await sender.deliverLive(r, d, bytes(20, 6), 2000), true, 'delivered on the new node');
    t.equal(await sender.deliverLive(r, d, bytes(20, 7), 2000), true);
    t.same(got.slice(5), ['second:6', 'second:7']);
  });

  t.test('batched live delivery: a node that went away means "not delivered" at once, not a timeout', async (t) => {
    const sender = newBus();
    const prefix = `t${n}`;
    const holder = newBus(CONTRACT_LIMITS, { prefix });
    t.teardown(() => Promise.all([sender.close(), holder.close()]));
    await Promise.all([sender.start(), holder.start()]);
    const [r, d] = [tok(), tok()];
    await holder.subscribeDevice(r, d, async () => true, () => {});
    t.equal(await sender.deliverLive(r, d, bytes(20), 2000), true);
    await holder.close();
    // Answered by no-responders, not by the deadline: that is 60 s (the most a bus takes),
    // past the test's 30 s wait, whose timer, set in the same turn, fires first (timers
    // fire by expiry). The wait bounds a hang; it is not a timing.
    const offer = sender.deliverLive(r, d, bytes(20), 60_000);
    t.equal(await within(offer, 30_000, 'an offer to a device nobody holds'), false, 'nobody holds the device any more');
  });

  t.test('a locate request that reaches a device\'s gateway as the device leaves is answered "gone", not left to its deadline', async (t) => {
    // The holder unsubscribes a device (its last session closed) while a locate request
    // for it is on its way: nats-server routed the request before it saw the UNSUB. The
    // holder must still answer it (nobody here: not delivered, the sender stores the
    // envelope at once); a plain unsubscribe dropped it inside nats.js, and the sender
    // waited its whole live timeout (5 s by default) before storing (found by
    // test/privacy/optout.test.ts under load). Many devices at once, so the race is hit.
    const sender = newBus();
    const holder = newBus(CONTRACT_LIMITS, { prefix: `t${n}` });
    t.teardown(() => Promise.all([sender.close(), holder.close()]));
    await Promise.all([sender.start(), holder.start()]);
    const devices = Array.from({ length: 40 }, () => [tok(), tok()] as const);
    const subs = await Promise.all(devices.map(([r, d]) => holder.subscribeDevice(r, d, async () => true, () => {})));
    // Requests first (written at the end of this turn), then the releases (their UNSUBs too).
    const offers = devices.map(([r, d]) => sender.deliverLive(r, d, bytes(20), 120_000));
    for (const s of subs) void s.close();
    const NO_ANSWER = 'no answer within 20 s of a 120 s deadline';
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<string>((resolve) => { timer = setTimeout(() => resolve(NO_ANSWER), 20_000); });
    const outcomes = await Promise.all(offers.map((o) => Promise.race([o, deadline])));
    clearTimeout(timer);
    t.notOk(outcomes.includes(NO_ANSWER), 'every offer answered (delivered before the release, or not delivered)');
    t.ok(outcomes.every((o) => o === true || o === false), 'each a plain outcome');
  });

  t.test('batched live delivery: a batch that reaches a node as it closes is answered "gone", not left to its deadline', async (t) => {
    // The sender knows the holder's node and batches to it; the holder's bus closes (a
    // gateway shutting down) while the batch is on its way: nats-server routed it before
    // it read the holder's UNSUB. The closing node answers every item "gone" (nobody is
    // held there any more), the sender locates again and finds nobody: not delivered, at
    // once. Before, the closing node dropped the batch inside nats.js and the sender waited
    // its whole live timeout. Repeated, so the race is hit.
    for (let round = 0; round < 5; round++) {
      const sender = newBus();
      const holder = newBus(CONTRACT_LIMITS, { prefix: `t${n}` });
      t.teardown(() => Promise.all([sender.close(), holder.close()]));
      await Promise.all([sender.start(), holder.start()]);
      const devices = Array.from({ length: 20 }, () => [tok(), tok()] as const);
      await Promise.all(devices.map(([r, d]) => holder.subscribeDevice(r, d, async () => true, () => {})));
      t.same(await Promise.all(devices.map(([r, d]) => sender.deliverLive(r, d, bytes(20), 5000))), devices.map(() => true), `round ${round}: located (the node remembered)`);
      // The batch is written first (end of this turn), then the holder starts closing.
      const offers = devices.map(([r, d]) => sender.deliverLive(r, d, bytes(20), 120_000));
      const closing = new Promise<void>((resolve) => setImmediate(() => { void holder.close().then(resolve); }));
      const NO_ANSWER = 'no answer within 20 s of a 120 s deadline';
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<string>((resolve) => { timer = setTimeout(() => resolve(NO_ANSWER), 20_000); });
      const outcomes = await Promise.all(offers.map((o) => Promise.race([o, deadline])));
      clearTimeout(timer);
      await closing;
      t.notOk(outcomes.includes(NO_ANSWER), `round ${round}: every offer answered (${outcomes.filter((o) => o === NO_ANSWER).length} of 20 not)`);
      await Promise.all([sender.close(), holder.close()]);
    }
  });

  t.test('a delivery its device acks while its node closes is still answered (locate and batch paths)', async (t) => {
    // The holder's device acks after the holder's live router has closed but before its
    // connection has drained. The answer goes out at once, alone: the turn's answer batch
    // could come after the drain stops publishing. To ack at exactly that moment, the
    // holder also has an offer of its own in flight (to a device on a third bus that
    // never acks): closing settles it "not delivered" synchronously, and that is when the
    // held device acks.
    const sender = newBus();
    const prefix = `t${n}`; // newBus counts on: the other two share the sender's prefix
    const holder = newBus(CONTRACT_LIMITS, { prefix });
    const third = newBus(CONTRACT_LIMITS, { prefix });
    t.teardown(() => Promise.all([sender.close(), holder.close(), third.close()]));
    await Promise.all([sender.start(), holder.start(), third.start()]);
    const [located, batched, elsewhere] = [[tok(), tok()], [tok(), tok()], [tok(), tok()]] as const;
    let ack: (ok: boolean) => void = () => undefined;
    const acked = new Promise<boolean>((resolve) => { ack = resolve; });
    let offered = 0;
    const held = async (e: Uint8Array): Promise<boolean> => (e[0] === 0 ? true : (offered++, acked));
    await holder.subscribeDevice(located[0], located[1], held, () => {});
    await holder.subscribeDevice(batched[0], batched[1], held, () => {});
    let thirdOffered = false;
    await third.subscribeDevice(elsewhere[0], elsewhere[1], () => { thirdOffered = true; return new Promise<boolean>(() => undefined); }, () => {});
    // The sender learns the holder's node for `batched` (an envelope whose first byte 0 is acked at once).
    t.equal(await sender.deliverLive(batched[0], batched[1], bytes(20, 0), 5000), true, 'batched: node remembered');
    const viaLocate = sender.deliverLive(located[0], located[1], bytes(20, 1), 120_000);
    const viaBatch = sender.deliverLive(batched[0], batched[1], bytes(20, 2), 120_000);
    const own = holder.deliverLive(elsewhere[0], elsewhere[1], bytes(20, 3), 120_000);
    void own.then(() => ack(true)); // settled by the holder's close, before its connection drains
    await waitFor(async () => offered === 2 && thirdOffered, 10_000, 'both envelopes at the holder, its own offer at the third bus');
    const closing = holder.close();
    const NO_ANSWER = 'no answer within 20 s of a 120 s deadline';
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<string>((resolve) => { timer = setTimeout(() => resolve(NO_ANSWER), 20_000); });
    const outcomes = await Promise.all([viaLocate, viaBatch].map((o) => Promise.race([o, deadline])));
    clearTimeout(timer);
    await closing;
    t.equal(await own, false, 'the holder\'s own offer was settled by its close');
    t.same(outcomes, [true, true], 'both acks reached the sender (located and batched)');
  });

  t.test('batched live delivery: malformed batches from the bus are refused, not crashed on', async (t) => {
    const holder = newBus();
    const prefix = `t${n}`;
    t.teardown(() => holder.close());
    await holder.start();
    const [r, d] = [tok(), tok()];
    const got: Uint8Array[] = [];
    await holder.subscribeDevice(r, d, async (e) => { got.push(e); return true; }, () => {});
    // Learn the holder's node subject from a locate answer seen on the wire.
    const nc = await raw(t);
    const ans = await nc.request(`${prefix}.dev.${r}.${d}`, bytes(10), { timeout: 2000 });
    t.equal(ans.data[0], 1, 'delivered');
    t.equal(ans.data.length, 17, 'the answer names the node');
    const node = Buffer.from(ans.data.subarray(1)).toString('latin1');
    t.match(node, /^[0-9a-f]{16}$/);
    const subject = `${prefix}.gw.${node}`;
    const item = (token: number, key: string, env: Uint8Array, lie = 0): Buffer => {
      const h = Buffer.alloc(4 + 65 + 4);
      h.writeUInt32BE(token, 0);
      h.write(key, 4, 65, 'latin1');
      h.writeUInt32BE(env.length + lie, 69);
      return Buffer.concat([h, env]);
    };
    const key = `${r}.${d}`;
    // wrong version: dropped; bad key: refused (0); unknown device: gone (2); good: delivered (1)
    nc.publish(subject, Buffer.concat([Buffer.of(9), item(1, key, bytes(5))]));
    const a = await nc.request(subject, Buffer.concat([Buffer.of(1), item(7, 'X'.repeat(65), bytes(5)), item(8, `${tok()}.${tok()}`, bytes(5)), item(9, key, bytes(6, 6))]), { timeout: 2000 });
    t.same([...a.data], [1, 0, 0, 0, 7, 0, 0, 0, 0, 8, 2, 0, 0, 0, 9, 1]);
    // a length that runs past the end: the item is not handed to the device
    nc.publish(subject, Buffer.concat([Buffer.of(1), item(10, key, bytes(5, 7), 100)]));
    await nc.flush();
    await new Promise((res) => setTimeout(res, 200));
    t.same(got.map((e) => e.length), [10, 6], 'only the well-formed items reached the device');
  });

  t.test('after a reconnect every subscribed device is told to read its mailbox again', async (t) => {
    const bus = newBus();
    t.teardown(() => bus.close());
    await bus.start();
    const devices = Array.from({ length: 300 }, () => [tok(), tok()] as const); // more than one slice
    const told = new Set<string>();
    for (const [r, d] of devices) await bus.subscribeDevice(r, d, async () => true, (m) => { if (m.kind === 'mail') told.add(`${r}.${d}`); });
    t.equal(told.size, 0, 'nothing before');
    await server.restart();
    await waitFor(() => told.size === devices.length, 15_000, 'a mail signal to every device');
    t.pass('every device was told');
  });

  t.test('subjects and headers carry only the expected token shapes', async (t) => {
    const nc = await raw(t);
    const seen: Array<{ subject: string; headers: string[]; reply: boolean; text?: string }> = [];
    nc.subscribe('>', {
      callback: (_e, m) => {
        if (seen.length < 10_000) {
          seen.push({
            subject: m.subject,
            headers: m.headers ? [...m.headers.keys()].map((k) => `${k}: ${m.headers?.get(k)}`) : [],
            reply: m.reply !== '',
            // control messages share the device subject; they are the ones without a reply
            ...(m.subject.includes('.dev.') && m.reply === '' ? { text: m.string() } : {}),
            // announcements of devices that left the directory: their payload too
            ...(m.subject.endsWith('.unreg') || m.subject.endsWith('.unreg.intent') || m.subject.endsWith('.unreg.beat') ? { text: m.string() } : {}),
          });
        }
      },
    });
    await nc.flush();
    const bus = newBus();
    const prefix = `t${n}`;
    t.teardown(() => bus.close());
    await bus.start();
    // The device is held by a second bus (a device held by the same bus gets its
    // envelopes without NATS): the first envelope locates it on its device subject, the
    // second goes in a batch to the holder's node subject.
    const holder = newBus(CONTRACT_LIMITS, { prefix });
    t.teardown(() => holder.close());
    await holder.start();
    const [r, d] = [tok(), tok()];
    await holder.subscribeDevice(r, d, async () => true, () => {});
    t.equal(await bus.deliverLive(r, d, bytes(40), 1000), true);
    t.equal(await bus.deliverLive(r, d, bytes(40), 1000), true);
    await bus.deliverLive(tok(), tok(), bytes(40), 1000);
    await bus.publishControl(r, d, { kind: 'kick', connection: 'conn1' });
    const [gr, gd] = [tok(), tok()];
    await bus.announceUnregistering(gr, gd);
    await bus.publishControl(gr, gd, { kind: 'unregistered' });
    for (let i = 0; i < 3; i++) await bus.mailboxPut(r, d, tok(), bytes(40));
    const items = await bus.mailboxRead(r, d, 0, 2);
    await bus.mailboxRead(r, d, (items[1] as { seq: number }).seq, 2);
    await bus.mailboxDelete(r, d, (items[0] as { seq: number }).seq);
    await bus.mailboxDelete(r, d, 12345);
    await bus.mailboxPurge(r, d);
    await bus.mailboxPurge(r);
    const rev = await bus.directoryPut(r, bytes(40), 0);
    await bus.directoryPut(r, bytes(40), rev as number);
    await bus.directoryGet(r);
    await bus.directoryDelete(r);
    await nc.flush();
    await new Promise((res) => setTimeout(res, 100));
    await waitFor(() => seen.some((s) => s.subject.endsWith('.unreg.beat')), 5000, 'a beat');

    const HEX = '[0-9a-f]{32}';
    const ours = new RegExp(`^${prefix}\\.(dev\\.|mbox\\.([0-9]|1[0-5])\\.)${HEX}\\.${HEX}$`);
    const node = new RegExp(`^${prefix}\\.gw\\.[0-9a-f]{16}$`);
    const kv = new RegExp(`^\\$KV\\.${bus.bucketName}\\.${HEX}$`);
    const api = /^\$JS\.(API|ACK|EVENT)\.[A-Za-z0-9_.$-]+$/;
    const inbox = /^_INBOX\.[A-Za-z0-9.]+$/;
    const unreg = `${prefix}.unreg`;
    const intent = `${prefix}.unreg.intent`;
    const beat = `${prefix}.unreg.beat`;
    const bad = seen.filter((s) => !(ours.test(s.subject) || node.test(s.subject) || kv.test(s.subject) || api.test(s.subject) || inbox.test(s.subject) || s.subject === unreg || s.subject === intent || s.subject === beat));
    t.same(bad, [], 'every subject is ours with two hex tokens, KV by hex key, JetStream API, an inbox or the announcements\' (and intents\', beats\') subject');
    // beats (relay/bus/peer-beats.ts): a random node name and a count, nothing else
    const beats = seen.filter((s) => s.subject === beat);
    t.ok(beats.length > 0, 'beats seen');
    t.same(beats.filter((s) => s.reply || s.headers.length !== 0 || !/^([0-9a-f]{16}\.(0|[1-9][0-9]*))?$/.test(s.text ?? '')), [], 'beat payloads: a node name and a count (empty: the start\'s permission probe), no header or reply');
    // announcements and intents: the device's two tokens, nothing else (the start's permission probe: empty)
    const announced = seen.filter((s) => s.subject === unreg || s.subject === intent);
    t.same(announced.filter((s) => s.text !== '' && !new RegExp(`^${HEX}\\.${HEX}$`).test(s.text ?? '')), [], 'announcement and intent payloads: a route tag and a device token');
    t.ok(announced.some((s) => s.subject === unreg && s.text === `${gr}.${gd}` && !s.reply), 'the unregistered device announced');
    t.ok(announced.some((s) => s.subject === intent && s.text === `${gr}.${gd}` && !s.reply), 'its removal announced as intended');
    t.ok(seen.some((s) => s.subject === `${prefix}.dev.${r}.${d}` && s.reply), 'live request seen (with a reply subject)');
    t.ok(seen.some((s) => node.test(s.subject)), 'node subject seen (batched live delivery)');
    t.ok(seen.some((s) => s.subject === `${prefix}.dev.${r}.${d}` && !s.reply), 'control message seen (same subject, no reply)');
    t.ok(seen.some((s) => s.subject === `${prefix}.mbox.${parseInt(r.slice(0, 4), 16) % 16}.${r}.${d}`), 'mailbox subject seen (in the route\'s shard)');
    // API subjects name only our stream/bucket/consumers, never a token other than ours
    for (const s of seen.filter((x) => x.subject.startsWith('$JS.API.'))) {
      t.notMatch(s.subject, /[^A-Za-z0-9_.$-]/, s.subject);
    }
    const headerNames = new Set<string>();
    // The id check below runs per header seen: the three mailbox puts must carry one.
    const withId = seen.filter((s) => s.subject.includes('.mbox.') && s.headers.some((h) => h.startsWith('Nats-Msg-Id: '))).length;
    t.ok(withId >= 3, `the mailbox puts carry a Nats-Msg-Id (${withId} mailbox messages with one)`);
    for (const s of seen) {
      for (const h of s.headers) {
        const [name, value] = h.split(': ') as [string, string];
        headerNames.add(name);
        if (name === 'Nats-Msg-Id') t.match(value, /^[0-9a-f]{32}$/, 'message id is 32 hex (a keyed HMAC of the envelope id, not the id itself)');
        if (name === 'Nats-Subject') t.ok(ours.test(value) || kv.test(value), `direct-get subject ${value}`);
      }
    }
    const allowed = new Set([
      // set by the bus / KV client
      'Nats-Msg-Id', 'Nats-Expected-Stream', 'Nats-Expected-Last-Subject-Sequence', 'KV-Operation', 'Nats-Rollup',
      // set by the server on direct-get replies and pull status messages
      'Nats-Stream', 'Nats-Subject', 'Nats-Sequence', 'Nats-Time-Stamp', 'Nats-Pending-Messages', 'Nats-Pending-Bytes',
    ]);
    t.same([...headerNames].filter((h) => !allowed.has(h)), [], `headers: ${[...headerNames].join(', ')}`);
    // the control payload is small JSON with only a kind and a random connection id
    const ctl = seen.find((s) => s.subject === `${prefix}.dev.${r}.${d}` && !s.reply);
    t.same(JSON.parse(ctl?.text ?? 'null'), { kind: 'kick', connection: 'conn1' });
  });
}
