// The bus forgets what it is told to forget, on disk too (docs/PRIVACY.md):
// - rate-limit counters (both buses): CAS, key checks, gone by themselves after their
//   TTL; on NATS in a memory-storage bucket (never on disk);
// - NATS: Nats-Msg-Id is a keyed hash, not the envelope id, and still deduplicates;
// - NATS: a deleted mailbox message, a purged mailbox, a replaced directory revision and
//   a deleted directory entry leave none of their bytes in the JetStream files.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { MemoryBus } from '../../relay/bus/memory.ts';
import { NatsBus } from '../../relay/bus/nats.ts';
import type { Bus, MailboxLimits } from '../../relay/bus/bus.ts';
import { natsMsgId } from '../../relay/bus/nats-privacy.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { until } from '../helpers/poll.ts';
import { tok, codeOf } from '../helpers/counters.ts';
import { scanTree, report, type Needle } from './scan.ts';

const LIMITS: MailboxLimits = { maxMessagesPerDevice: 100, maxAgeMs: 3_600_000, maxMessageBytes: 4096 };

async function counterContract(t: Test, bus: Bus): Promise<void> {
  const key = `dev.${tok()}`;
  t.equal(await bus.counterGet(key), null, 'absent');
  const r1 = await bus.counterPut(key, Uint8Array.of(1, 2), 0);
  t.type(r1, 'number', 'created');
  t.equal(await bus.counterPut(key, Uint8Array.of(9), 0), null, 'create when it exists: conflict');
  const got = await bus.counterGet(key);
  t.same([...(got?.value ?? [])], [1, 2]);
  t.equal(got?.revision, r1);
  const r2 = await bus.counterPut(key, Uint8Array.of(3), r1 as number);
  t.ok(typeof r2 === 'number' && r2 > (r1 as number), 'updated');
  t.equal(await bus.counterPut(key, Uint8Array.of(4), r1 as number), null, 'stale revision: conflict');
  for (const bad of ['dev', `dev.${tok().toUpperCase()}`, `x.y.${tok()}`, `+15550001111.${tok()}`, `dev.${tok()}.`, `dev.${tok()}x`]) {
    t.equal(await codeOf(bus.counterGet(bad)), 'BAD_TOKEN', `key refused: ${bad.length} chars`);
  }
  t.equal(await codeOf(bus.counterPut(`dev.${tok()}`, new Uint8Array(257), 0)), 'TOO_LARGE');
  t.equal(await codeOf(bus.counterPut(`dev.${tok()}`, new Uint8Array(1), -1)), 'BAD_REQUEST');
  // Gone by itself after the TTL (1 s here), with no delete.
  const short = `rt.${tok()}`;
  await bus.counterPut(short, Uint8Array.of(7), 0);
  await until('the counter to expire', async () => (await bus.counterGet(short)) === null, 15_000, 100);
  t.pass('expired after its TTL');
  t.type(await bus.counterPut(short, Uint8Array.of(8), 0), 'number', 'and can be created again');
}

t.test('memory bus: counters', async (t) => {
  const bus = new MemoryBus({ limits: LIMITS, counterTtlMs: 1000 });
  await bus.start();
  t.teardown(() => bus.close());
  await counterContract(t, bus);
});

t.test('NATS', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const nc = await connect({ servers: server.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);

  await t.test('counters: contract, memory storage, max_age = TTL', async (t) => {
    const bus = new NatsBus({ servers: server.url, limits: LIMITS, prefix: 'c1', counterTtlMs: 1000 });
    await bus.start();
    t.teardown(() => bus.close());
    await counterContract(t, bus);
    const info = await jsm.streams.info('KV_c1_rl');
    t.equal(info.config.storage, 'memory', 'counters never touch the disk');
    t.equal(info.config.max_age, 1000 * 1_000_000, 'max_age is the TTL');
    t.equal(info.config.max_msgs_per_subject, 1, 'one revision per key');
  });

  await t.test('Nats-Msg-Id is keyed, not the envelope id, and still deduplicates retries', async (t) => {
    const key = new Uint8Array(randomBytes(32));
    const a = new NatsBus({ servers: server.url, limits: LIMITS, prefix: 'm1', msgIdKey: key });
    const b = new NatsBus({ servers: server.url, limits: LIMITS, prefix: 'm1', msgIdKey: key });
    const other = new NatsBus({ servers: server.url, limits: LIMITS, prefix: 'm1' }); // random key
    await Promise.all([a.start(), b.start(), other.start()]);
    t.teardown(() => Promise.all([a.close(), b.close(), other.close()]));
    const ids: string[] = [];
    const sub = nc.subscribe('m1.mbox.>', { callback: (_e, m) => { ids.push(m.headers?.get('Nats-Msg-Id') ?? ''); } });
    t.teardown(() => sub.unsubscribe());
    await nc.flush(); // the SUB is at the server before the puts
    const [r, d, id] = [tok(), tok(), tok()];
    await a.mailboxPut(r, d, id, Uint8Array.of(1, 2, 3));
    await b.mailboxPut(r, d, id, Uint8Array.of(1, 2, 3)); // a retry through another gateway
    await until('both puts seen', () => ids.length >= 2, 5000);
    t.equal(ids[0], natsMsgId(key, r, d, id));
    t.not(ids[0], id, 'the header is not the envelope id');
    t.notOk(ids[0]!.includes(id.slice(0, 8)), 'nor a visible part of it');
    t.match(ids[0], /^[0-9a-f]{32}$/);
    t.equal(ids[1], ids[0], 'same key => same header');
    t.equal((await a.mailboxRead(r, d, 0, 10)).length, 1, 'the retry through another gateway was deduplicated');
    await other.mailboxPut(r, d, id, Uint8Array.of(1, 2, 3));
    t.equal((await a.mailboxRead(r, d, 0, 10)).length, 2, 'with another key it is not (the handset drops that duplicate)');
    t.not(natsMsgId(key, r, tok(), id), ids[0], 'bound to the device');
  });

  await t.test('deletes erase the bytes on disk', async (t) => {
    const bus = new NatsBus({ servers: server.url, limits: LIMITS, prefix: 'e1' });
    await bus.start();
    t.teardown(() => bus.close());
    // Markers that would show in a .blk file if the bytes stayed.
    const mk = (label: string): { label: string; bytes: Buffer } => ({ label, bytes: Buffer.from(`MARK-${label}-${tok()}`) });
    const keepTag = tok();
    const keepDev = tok();
    const keep = mk('kept-mail');
    await bus.mailboxPut(keepTag, keepDev, tok(), keep.bytes); // someone else's mail keeps the block alive
    const [tag, d1, d2] = [tok(), tok(), tok()];
    const m1 = mk('acked');
    const m2 = mk('purged-device');
    const m3 = mk('purged-route');
    await bus.mailboxPut(tag, d1, tok(), m1.bytes);
    await bus.mailboxPut(tag, d1, tok(), m2.bytes);
    await bus.mailboxPut(tag, d2, tok(), m3.bytes);
    const dirOld = mk('dir-v1');
    const dirNew = mk('dir-v2');
    const keepDir = mk('kept-dir');
    await bus.directoryPut(keepTag, keepDir.bytes, 0);
    const rev1 = await bus.directoryPut(tag, dirOld.bytes, 0);
    const all: Needle[] = [keep, m1, m2, m3, dirOld, dirNew, keepDir].map((m) => ({ name: m.label, bytes: m.bytes }));
    const tokens: Needle[] = [
      { name: 'route tag', bytes: Buffer.from(tag) },
      { name: 'device 1', bytes: Buffer.from(d1) },
      { name: 'device 2', bytes: Buffer.from(d2) },
    ];
    const names = (): string[] => [...new Set(scanTree(server.storeDir, [...all, ...tokens]).map((f) => f.needle))].sort();
    // First prove the scanner sees them on disk (so "absent" later means erased).
    await until('the markers to reach the disk', () => ['acked', 'dir-v1', 'kept-mail', 'purged-device', 'purged-route', 'route tag'].every((n) => names().includes(n)), 15_000);
    t.pass('markers and tokens are on disk before the deletes');

    const items = await bus.mailboxRead(tag, d1, 0, 10);
    const acked = items.find((i) => Buffer.from(i.data).equals(m1.bytes));
    await bus.mailboxDelete(tag, d1, acked!.seq); // a delivered message
    await bus.directoryPut(tag, dirNew.bytes, rev1 as number); // a directory update
    await until('acked mail and old directory revision erased', () => !names().includes('acked') && !names().includes('dir-v1'), 15_000);
    t.pass('a deleted message and a replaced revision are erased');
    t.ok(names().includes('dir-v2'), 'the current revision is there');

    await bus.mailboxPurge(tag, d1);
    await bus.mailboxPurge(tag);
    await bus.directoryDelete(tag);
    t.equal(await bus.directoryGet(tag), null);
    t.same(await bus.mailboxRead(tag, d2, 0, 10), []);
    await until('everything about the route erased', () => {
      const n = names();
      return ['purged-device', 'purged-route', 'dir-v2', 'route tag', 'device 1', 'device 2'].every((x) => !n.includes(x));
    }, 15_000).catch(() => undefined);
    t.same(report(scanTree(server.storeDir, [m1, m2, m3, dirOld, dirNew].map((m) => ({ name: m.label, bytes: m.bytes })).concat(tokens))), [],
      'nothing about the erased route remains in any JetStream file');
    t.same(names().filter((n) => n.startsWith('kept')), ['kept-dir', 'kept-mail'], 'other routes are untouched');
    t.type(await bus.directoryPut(tag, dirOld.bytes, 0), 'number', 'the key can be created again');
  });
});
