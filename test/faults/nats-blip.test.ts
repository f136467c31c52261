// Fault: nats-server stopped and started again on the same port within the outage grace
// (relay/bus/nats.ts OUTAGE_GRACE_MS, made long here so that the blip is within it
// however slow the machine). nats.js 3.4 keeps nothing written while disconnected: every
// reconnect attempt, the successful one included, empties its write buffer, and a
// request in flight when the connection dropped gets no reply (the reply subject's
// interest went with the connection). Before, such requests (directory and counter
// reads and writes, mailbox stores, reads, locates) each waited out their deadline
// (5 s by default) after a blip of a fraction of a second, and so did a handset's auth
// or send. Now the bus holds what is made while disconnected until the reconnect, makes
// an idempotent request that was in flight again once reconnected, and fails a
// compare-and-set write in flight UNAVAILABLE with retry_after_ms at once; a live offer
// in flight to another gateway is not delivered at once (stored instead), not after
// --live-timeout-ms.
//
// No timing is asserted: every deadline (requests, live offers, the auth deadline) is
// set far beyond the test, so an answer that waited for one would fail the test as a
// timeout; each must instead come as the outcome named. To be sure that nats.js dropped
// what was written while disconnected, the port is first held by a listener that
// answers like a nats-server and closes each connection after the client's CONNECT:
// a failed reconnect attempt, seen by name, after the requests were made.
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { NatsBus, type NatsBusOptions } from '../../relay/bus/nats.ts';
import { ErrorCode, isHushwireError } from '../../relay/errors.ts';
import { bytes, CONTRACT_LIMITS, tok, waitFor } from '../bus/contract.ts';
import { haveNatsServer, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';
import { until } from '../helpers/poll.ts';
import { authOp, authenticate, autoAck, envelopeFor, seedDevice } from '../ops/fixtures.ts';
import type { DecodedOp as Op } from '../../relay/wire.ts';

t.setTimeout(300_000);

/** Every deadline of the bus (requests, live offers): far beyond the test. */
const LONG_MS = 600_000;
/** The gateways' auth deadline and live timeout: the largest their settings allow, far
 *  beyond the blip. */
const GATEWAY_LONG_MS = 120_000;

const outcome = <T>(p: Promise<T>): Promise<T | string> =>
  p.catch((e: unknown) => (isHushwireError(e) ? `${e.code}: ${e.message} (retry ${e.retryAfterMs ?? 0})` : `other: ${String(e)}`));

/** Holds the stopped server's port: answers each connection with an INFO, reads the
 *  client's CONNECT (its connection name) and closes it, so the client's reconnect
 *  attempt fails. `names` lists the connection names seen, in order. */
async function failingListener(port: number): Promise<{ names: string[]; close(): Promise<void> }> {
  const names: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    let text = '';
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      const m = /CONNECT (\{.*?\})\r\n/.exec(text);
      if (m === null) return;
      try {
        names.push(String((JSON.parse(m[1]!) as { name?: unknown }).name));
      } catch {
        names.push('?');
      }
      s.destroy();
    });
    s.write(`INFO {"server_id":"FAKE","server_name":"fake","version":"2.9.0","proto":1,"host":"127.0.0.1","port":${port},"headers":true,"max_payload":1048576}\r\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    names,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}

/** Every thread of process `pid` is stopped (Linux /proc: state T). */
function stopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((task) => {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'latin1');
      return /^T$/i.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
    });
  } catch {
    return false;
  }
}

/** Stops `server`, runs `during` while its port fails connections, waits for a failed
 *  attempt of the client named `name` after that, and starts the server again. */
async function blip(t: Test, server: NatsServerHandle, name: string, lost: () => boolean, during: () => void): Promise<void> {
  await server.stop();
  await waitFor(lost, 20_000, 'the loss seen');
  const fake = await failingListener(server.port);
  t.teardown(() => fake.close());
  during();
  const seen = fake.names.length;
  await waitFor(() => fake.names.slice(seen).includes(name), 30_000, `a failed reconnect attempt of ${name}`);
  await fake.close();
  await server.restart();
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  let n = 0;
  /** A bus with every deadline far away, named `blip-<n>`; `prefix` shared by the two
   *  buses of a test (two gateways of one deployment). */
  const newBus = (url: string, prefix: string, extra: Partial<NatsBusOptions> = {}): NatsBus =>
    new NatsBus({ servers: url, limits: CONTRACT_LIMITS, prefix, reconnectWaitMs: 50, requestTimeoutMs: LONG_MS, outageGraceMs: LONG_MS, name: `blip-${++n}`, ...extra });
  /** A fresh nats-server with two started buses under `prefix` (closed at the test's
   *  end): `bus`, named `name`, and `holder`, another gateway of the same deployment. */
  const busAndHolder = async (t: Test, prefix: string) => {
    const server = await startNatsServer({ t });
    const bus = newBus(server.url, prefix);
    const name = `blip-${n}`;
    const holder = newBus(server.url, prefix);
    t.teardown(async () => { await bus.close(); await holder.close(); });
    await bus.start();
    await holder.start();
    return { server, bus, name, holder };
  };

  t.test('made while disconnected: held until the reconnect, then answered (nothing waits out its deadline)', async (t) => {
    const { server, bus, name, holder } = await busAndHolder(t, 'blipa');
    const [r, d] = [tok(), tok()];
    const dirRev = await bus.directoryPut(r, bytes(8, 1), 0);
    const [hr, hd] = [tok(), tok()];
    await holder.subscribeDevice(hr, hd, async () => true, () => {});
    // A message read before the blip, to be erased during it.
    const [er, ed] = [tok(), tok()];
    await bus.mailboxPut(er, ed, tok(), bytes(4));
    const [item] = await bus.mailboxRead(er, ed, 0, 10);

    const ops: [string, Promise<unknown>][] = [];
    const id = tok();
    await blip(t, server, name, () => bus.status().state === 'reconnecting', () => {
      ops.push(
        ['directoryGet', outcome(bus.directoryGet(r).then((rec) => rec?.revision === dirRev ? 'read' : `read ${String(rec?.revision)}`))],
        ['directoryGet (authentication)', outcome(bus.directoryGet(r, { authentication: true }).then((rec) => rec === null ? 'none' : 'read'))],
        ['directoryPut', outcome(bus.directoryPut(tok(), bytes(8, 2), 0).then((rev) => typeof rev === 'number' ? 'written' : String(rev)))],
        ['counterGet', outcome(bus.counterGet(`t.${tok()}`).then((c) => c === null ? 'none' : 'read'))],
        ['counterPut', outcome(bus.counterPut(`t.${tok()}`, bytes(8), 0).then((rev) => typeof rev === 'number' ? 'written' : String(rev)))],
        ['mailboxPut', outcome(bus.mailboxPut(r, d, id, bytes(4)).then(() => 'stored'))],
        ['mailboxRead', outcome(bus.mailboxRead(tok(), tok(), 0, 10).then((items) => `${items.length} items`))],
        ['subscribeDevice', outcome(bus.subscribeDevice(tok(), tok(), async () => true, () => {}).then(() => 'subscribed'))],
        ['deliverLive to a device held elsewhere', outcome(bus.deliverLive(hr, hd, bytes(4), LONG_MS))],
        ['mailboxDeleteMany', outcome(bus.mailboxDeleteMany(er, ed, [item!.seq]).then(() => 'erased'))],
      );
    });
    const got = Object.fromEntries(await Promise.all(ops.map(async ([what, p]) => [what, await p] as const)));
    t.same(got, {
      'directoryGet': 'read',
      'directoryGet (authentication)': 'read',
      'directoryPut': 'written',
      'counterGet': 'none',
      'counterPut': 'written',
      'mailboxPut': 'stored',
      'mailboxRead': '0 items',
      'subscribeDevice': 'subscribed',
      'deliverLive to a device held elsewhere': false, // at once: the caller stores it instead
      'mailboxDeleteMany': 'erased',
    }, 'each made once reconnected and answered, none by its deadline');
    t.same(await bus.mailboxRead(er, ed, 0, 10), [], 'the message erased during the blip is gone');
    const items = await bus.mailboxRead(r, d, 0, 10);
    t.equal(items.length, 1, 'the envelope stored during the blip is in the mailbox, once');
    t.equal(await holder.deliverLive(hr, hd, bytes(4), LONG_MS), true, 'the holder (also reconnected) delivers to its own device');
    t.equal(await bus.deliverLive(hr, hd, bytes(4), LONG_MS), true, 'and this bus reaches it again');
  });

  t.test('in flight when the connection drops: idempotent requests made again once reconnected, compare-and-set writes UNAVAILABLE at once, live offers to another gateway not delivered at once', async (t) => {
    const { server, bus, holder } = await busAndHolder(t, 'blipb');
    const [r, d] = [tok(), tok()];
    const dirRev = await bus.directoryPut(r, bytes(8, 1), 0);
    const [hr, hd] = [tok(), tok()];
    let offered = 0;
    await holder.subscribeDevice(hr, hd, () => { offered++; return new Promise<boolean>(() => {}); }, () => {}); // never acked
    const live = outcome(bus.deliverLive(hr, hd, bytes(4), LONG_MS));
    await waitFor(() => offered === 1, 20_000, 'the live offer at the holder');

    // Frozen, nats-server reads nothing more: what is sent now is in flight for sure. A
    // stop takes effect as each of its threads is next scheduled (late on a loaded
    // machine): its threads are waited for.
    const pid = server.pid;
    process.kill(pid, 'SIGSTOP');
    t.teardown(() => { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } });
    await waitFor(() => stopped(pid), 20_000, 'nats-server stopped');
    const id = tok();
    const ops: [string, Promise<unknown>][] = [
      ['directoryGet', outcome(bus.directoryGet(r).then((rec) => rec?.revision === dirRev ? 'read' : `read ${String(rec?.revision)}`))],
      ['directoryGet (authentication)', outcome(bus.directoryGet(r, { authentication: true }).then((rec) => rec === null ? 'none' : 'read'))],
      ['counterGet', outcome(bus.counterGet(`t.${tok()}`).then((c) => c === null ? 'none' : 'read'))],
      ['mailboxPut', outcome(bus.mailboxPut(r, d, id, bytes(4)).then(() => 'stored'))],
      ['mailboxRead', outcome(bus.mailboxRead(tok(), tok(), 0, 10).then((items) => `${items.length} items`))],
      ['subscribeDevice', outcome(bus.subscribeDevice(tok(), tok(), async () => true, () => {}).then(() => 'subscribed'))],
      ['directoryPut', outcome(bus.directoryPut(tok(), bytes(8, 2), 0).then((rev) => typeof rev === 'number' ? 'written' : String(rev)))],
      ['counterPut', outcome(bus.counterPut(`t.${tok()}`, bytes(8), 0).then((rev) => typeof rev === 'number' ? 'written' : String(rev)))],
      ['the live offer made before', live],
    ];
    // Written to the socket before the drop: a turn (the bus batches per turn) and a flush.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await server.kill();
    await waitFor(() => bus.status().state === 'reconnecting', 20_000, 'the loss seen');
    // Answered while the server is still down: the writes and the live offer.
    const lostWrites = await Promise.all([ops[6]![1], ops[7]![1], ops[8]![1]]);
    t.equal(bus.status().state, 'reconnecting', 'before any reconnect');
    const unavailable = `${ErrorCode.UNAVAILABLE}: NATS connection lost; this gateway is reconnecting (retry 1000)`;
    t.same(lostWrites, [unavailable, unavailable, false], 'the writes in flight failed UNAVAILABLE with retry_after_ms (they may have been applied); the live offer is not delivered');
    await server.restart();
    const got = Object.fromEntries(await Promise.all(ops.slice(0, 6).map(async ([what, p]) => [what, await p] as const)));
    t.same(got, {
      'directoryGet': 'read',
      'directoryGet (authentication)': 'read',
      'counterGet': 'none',
      'mailboxPut': 'stored',
      'mailboxRead': '0 items',
      'subscribeDevice': 'subscribed',
    }, 'the idempotent requests made again once reconnected and answered, none by its deadline');
    t.equal((await bus.mailboxRead(r, d, 0, 10)).length, 1, 'the envelope is in the mailbox once');
  });

  t.test('the holder of a device loses NATS: what the device acknowledges meanwhile is answered to the sender once the holder reconnects', async (t) => {
    const server = await startNatsServer({ t });
    const proxy = await tcpProxy(server.port);
    const sender = newBus(server.url, 'blipc');
    const holder = newBus(proxy.url, 'blipc'); // through the proxy: its connection alone is cut
    t.teardown(async () => { await sender.close(); await holder.close(); await proxy.cut(); });
    await sender.start();
    await holder.start();
    const [hr, hd] = [tok(), tok()];
    const acks: ((ok: boolean) => void)[] = [];
    await holder.subscribeDevice(hr, hd, () => new Promise<boolean>((resolve) => acks.push(resolve)), () => {});
    // Located first (answered), then a second offer goes to the holder's node in a batch.
    const first = sender.deliverLive(hr, hd, bytes(4), LONG_MS);
    await waitFor(() => acks.length === 1, 20_000, 'the first offer at the holder');
    acks[0]!(true);
    t.equal(await first, true, 'the first offer: delivered (the sender now knows the holder)');
    const batched = outcome(sender.deliverLive(hr, hd, bytes(4), LONG_MS));
    await waitFor(() => acks.length === 2, 20_000, 'the second offer at the holder');

    await proxy.cut();
    await waitFor(() => holder.status().state === 'reconnecting', 20_000, 'the holder sees the loss');
    acks[1]!(true); // the device acknowledges while its gateway has no NATS
    t.equal(sender.status().state, 'connected', 'the sender kept its connection');
    await proxy.open();
    t.equal(await batched, true, 'the sender hears "delivered" once the holder reconnects, not "not delivered" at its deadline');
  });

  t.test('a gateway through a blip: an auth, a lookup, a stored send and a send in flight to another gateway are answered, none after a deadline', async (t) => {
    const server = await startNatsServer({ t });
    const key = oprfKeyFile();
    const settings = { transport: 'ws', nats: server.url, oprfKeyFile: key, authTimeoutMs: GATEWAY_LONG_MS, liveTimeoutMs: GATEWAY_LONG_MS, logLevel: 'warn' };
    const busRequests = { requestTimeoutMs: LONG_MS, outageGraceMs: LONG_MS };
    const g1 = await startTestGateway({ ...settings, name: 'blip-g1' }, { busRequests });
    const g2 = await startTestGateway({ ...settings, name: 'blip-g2' }, { busRequests });
    t.teardown(async () => { await g1.close(); await g2.close(); });
    await until('both buses connected', () => g1.bus.status().state === 'connected' && g2.bus.status().state === 'connected', 15_000);

    const alice = await seedDevice(g1.relay.directory); // online at g1: sends
    const carol = await seedDevice(g1.relay.directory); // authenticates during the blip
    const dave = await seedDevice(g1.relay.directory);  // offline: his mail is stored
    const erin = await seedDevice(g1.relay.directory);  // online at g2, never acks
    const a = await authenticate(g1.url, alice);
    const e = await authenticate(g2.url, erin);
    const pc = await connectRaw(g1.url);
    t.teardown(() => { a.close(); e.close(); pc.close(); });
    const nonce = (await pc.next((o) => o.body === 'challenge')).challenge!.nonce;

    // Alice's envelope reaches Erin's socket at g2; Erin does not acknowledge it.
    a.send([{ req: 10, send: { envelopes: [envelopeFor(erin)] } }]);
    await e.next((o) => o.body === 'deliver', 20_000);

    const replies = new Map<number, Promise<Op | string>>();
    const answer = (c: RawClient, req: number): Promise<Op | string> =>
      Promise.race([c.reply(req, LONG_MS), c.closed.then((x) => `closed ${x.code} ${x.reason}`)]).then((op) => {
        // What a failure was, in the test's output.
        const err = typeof op === 'string' ? null : (op.error ?? op.sendResult?.receipts.find((r) => r.status === 'failed'));
        if (err) t.comment(`req ${req}: ${err.code} ${'message' in err ? err.message : ''}`);
        return op;
      });
    await blip(t, server, 'blip-g1', () => g1.bus.status().state === 'reconnecting', () => {
      pc.send([{ req: 1, ...authOp(carol, nonce) }]);
      a.send([{ req: 11, lookup: { route: dave.route } }]);
      a.send([{ req: 12, send: { envelopes: [envelopeFor(dave)] } }]);
      replies.set(1, answer(pc, 1));
      replies.set(11, answer(a, 11));
      replies.set(12, answer(a, 12));
    });
    const inFlight = await answer(a, 10);
    t.equal(typeof inFlight === 'string' ? inFlight : inFlight.sendResult?.receipts[0]?.status, 'stored',
      'the send in flight to the other gateway: stored (not after --live-timeout-ms)');
    const auth = await replies.get(1)!;
    t.equal(typeof auth === 'string' ? auth : auth.body, 'ok', 'the auth made during the blip: ok');
    const lookup = await replies.get(11)!;
    t.equal(typeof lookup === 'string' ? lookup : lookup.body, 'devices', 'the lookup: answered');
    const stored = await replies.get(12)!;
    t.equal(typeof stored === 'string' ? stored : stored.sendResult?.receipts[0]?.status, 'stored', 'the send to an offline device: stored');

    // Dave connects and finds the envelope stored during the blip, once.
    await until('g1 connected', () => g1.bus.status().state === 'connected', 30_000);
    const dc = await authenticate(g1.url, dave);
    t.teardown(() => dc.close());
    const got = autoAck(dc);
    await until('dave got his mail', () => got.length >= 1, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.equal(got.length, 1, 'dave got it once');
  });
}
