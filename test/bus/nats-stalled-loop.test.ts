// NatsBus deadlines after the event loop was held up (a loaded machine: a long callback,
// the process descheduled). A timer that came due meanwhile runs at the start of the
// loop's next turn, before the I/O that arrived meanwhile is read; a deadline must not
// fail a request whose answer is already there, unread. Real nats-server. The loop is
// held from a setImmediate (after the request went out) until a watcher thread on a
// connection of its own has seen the store's answer go to the bus's reply subjects, and
// then past the request's deadline: the answer is in the bus's socket when the timers run.
// (The contract's 'a page whose messages were deleted meanwhile' failed so under load:
// 'mailbox read timed out', the store's 408 unread.) nats.js's own request deadlines (the
// mailbox store's JetStream publish) cannot be moved: a store whose deadline fired late
// is made again once, deduplicated by its Nats-Msg-Id. The same for the directory's and
// the counters' nats.js requests (relay/bus/late-timer.ts): a get or an erase is made
// again; a compare-and-set write is decided on a read of what the store holds now (its
// value there: it landed).
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { NatsBus } from '../../relay/bus/nats.ts';
import { LATE_TIMEOUT_MS } from '../../relay/bus/late-timer.ts';
import { bytes, CONTRACT_LIMITS, tok } from './contract.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';

const REQUEST_MS = 1000; // the bus's request deadline; a pull expires on the server after 500 ms
const HANG_MS = 30_000;  // bounds the watch (a hang bound, not a timing)

// A raw NATS client in a thread of its own (its event loop runs while the main one is
// held): counts the messages on `<inbox prefix>.>` and the 408 statuses among them.
const WATCHER = `
const { workerData, parentPort } = require('node:worker_threads');
const net = require('node:net');
const seen = new Int32Array(workerData.shared);
const s = net.connect(workerData.port, '127.0.0.1');
let buf = '';
s.on('data', (d) => {
  buf += d.toString('latin1');
  let i;
  while ((i = buf.indexOf('\\r\\n')) >= 0) {
    const line = buf.slice(0, i);
    if (line.startsWith('INFO')) s.write('CONNECT {"verbose":false,"headers":true}\\r\\nSUB ' + workerData.prefix + '.> 1\\r\\nPING\\r\\n');
    else if (line === 'PONG') parentPort.postMessage('ready');
    else if (line.startsWith('MSG') || line.startsWith('HMSG')) {
      const size = Number(line.split(' ').pop());
      if (buf.length < i + 2 + size + 2) return; // the payload is not all here yet
      const body = buf.slice(i + 2, i + 2 + size);
      buf = buf.slice(i + 2 + size + 2);
      if (/^NATS\\/1\\.0 408/.test(body)) Atomics.add(seen, 1, 1);
      Atomics.add(seen, 0, 1);
      Atomics.notify(seen, 0);
      continue;
    }
    buf = buf.slice(i + 2);
  }
});
parentPort.on('message', () => s.destroy());
`;

/** Holds this thread's event loop until `ready()` (checked after each answer the watcher
 *  sees), then until `pastMs` (performance.now) has passed, plus well over
 *  LATE_TIMEOUT_MS: a deadline taken a few ms after `pastMs` must still fire late by it
 *  (at +100 the mailbox store's case failed 1 run in 6 under load). */
function holdLoop(seen: Int32Array, ready: () => boolean, pastMs: () => number): boolean {
  const end = performance.now() + HANG_MS;
  while (!ready()) {
    const left = end - performance.now();
    if (left <= 0) return false;
    Atomics.wait(seen, 0, Atomics.load(seen, 0), Math.min(left, 100));
  }
  const until = pastMs() + LATE_TIMEOUT_MS + 200;
  while (performance.now() < until) { /* the loop is held */ }
  return true;
}

t.test('deadlines after a held-up event loop', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const prefix = `_STALL${tok().slice(0, 8)}`;
  const shared = new SharedArrayBuffer(8);
  const seen = new Int32Array(shared);
  const watcher = new Worker(WATCHER, { eval: true, workerData: { port: server.port, prefix, shared } });
  t.teardown(() => { watcher.postMessage('stop'); return watcher.terminate(); });
  await new Promise<void>((resolve, reject) => {
    watcher.once('message', () => resolve());
    watcher.once('error', reject);
  });
  const bus = new NatsBus({ servers: server.url, limits: CONTRACT_LIMITS, prefix: 'stall', inboxPrefix: prefix, reconnectWaitMs: 100, requestTimeoutMs: REQUEST_MS, mailboxShards: 1 });
  t.teardown(() => bus.close());
  await bus.start();

  await t.test("a page whose messages vanished: the store's 408 is read before the deadline fails it", async (t) => {
    const [r, d] = [tok(), tok()];
    for (let i = 0; i < 5; i++) await bus.mailboxPut(r, d, tok(), bytes(8, i));
    const all = await bus.mailboxRead(r, d, 0, 5);
    const first = await bus.mailboxRead(r, d, 0, 2);
    for (const it of all.slice(2)) await bus.mailboxDelete(r, d, it.seq);
    const statuses = Atomics.load(seen, 1);
    const start = performance.now();
    // The pull is written (nats.js flushes in a microtask) before the setImmediate runs.
    const page = bus.mailboxRead(r, d, first[1]!.seq, 10).then((v) => v, (e: unknown) => e);
    let held = true;
    setImmediate(() => { held = holdLoop(seen, () => Atomics.load(seen, 1) > statuses, () => start + REQUEST_MS); });
    const got = await page;
    t.ok(held, 'the watcher saw the store end the pull (a 408)');
    t.same(got, [], 'an empty page, not UNAVAILABLE "mailbox read timed out"');
  });

  await t.test("a store request (an erase) answered while the loop was held", async (t) => {
    const [r, d] = [tok(), tok()];
    await bus.mailboxPut(r, d, tok(), bytes(8, 7));
    const [item] = await bus.mailboxRead(r, d, 0, 10); // read here: the erase asks nothing first
    const answers = Atomics.load(seen, 0);
    const start = performance.now();
    const erase = bus.mailboxDelete(r, d, item!.seq).then(() => 'erased', (e: unknown) => e);
    let held = true;
    setImmediate(() => { held = holdLoop(seen, () => Atomics.load(seen, 0) > answers, () => start + REQUEST_MS); });
    const got = await erase;
    t.ok(held, 'the watcher saw the answer');
    t.equal(got, 'erased', 'erased, not UNAVAILABLE "JetStream request timed out"');
    t.same(await bus.mailboxRead(r, d, 0, 10), [], 'and gone');
  });

  await t.test('a mailbox store (a JetStream publish, with nats.js\'s own deadline) answered while the loop was held', async (t) => {
    const [r, d] = [tok(), tok()];
    const answers = Atomics.load(seen, 0);
    const start = performance.now();
    const put = bus.mailboxPut(r, d, tok(), bytes(8, 9)).then(() => 'stored', (e: unknown) => e);
    let held = true;
    setImmediate(() => { held = holdLoop(seen, () => Atomics.load(seen, 0) > answers, () => start + REQUEST_MS); });
    const got = await put;
    t.ok(held, 'the watcher saw the store\'s answer');
    t.equal(got, 'stored', 'stored, not UNAVAILABLE "mailbox store unavailable" (nats.js timeout)');
    t.equal((await bus.mailboxRead(r, d, 0, 10)).length, 1, 'once');
  });

  /** `op` (whose first request goes out before a setImmediate) with the loop held, once
   *  `op`'s first request went out, until the watcher saw an answer and past the deadline. */
  async function heldOver<T>(op: () => Promise<T>): Promise<{ held: boolean; got: T | unknown }> {
    const answers = Atomics.load(seen, 0);
    const start = performance.now();
    const p = op().then((v) => v, (e: unknown) => e);
    let held = true;
    setImmediate(() => { held = holdLoop(seen, () => Atomics.load(seen, 0) > answers, () => start + REQUEST_MS); });
    return { got: await p, held };
  }

  await t.test("directory compare-and-set writes (nats.js's deadline) answered while the loop was held: decided on a read, landed", async (t) => {
    const r = tok();
    const first = await heldOver(() => bus.directoryPut(r, bytes(16, 1), 0));
    t.ok(first.held, 'the watcher saw the create\'s answer');
    t.type(first.got, 'number', 'the create resolves its revision, not UNAVAILABLE "directory unavailable"');
    const update = await heldOver(() => bus.directoryPut(r, bytes(16, 2), first.got as number));
    t.ok(update.held, 'the watcher saw the update\'s answer');
    t.type(update.got, 'number', 'the update resolves its revision');
    const rec = await bus.directoryGet(r, { fromLeader: true });
    t.same(Buffer.from(rec?.value ?? []), Buffer.from(bytes(16, 2)), 'the entry holds the update');
    t.equal(rec?.revision, update.got, 'at the revision the update resolved');
    t.equal(await bus.directoryPut(r, bytes(16, 3), first.got as number), null, 'a write over the replaced revision conflicts: the update was not made twice');
  });

  await t.test('a directory delete of a whole entry (erase requests, nats.js\'s deadline) answered while the loop was held', async (t) => {
    const r = tok();
    await bus.directoryPut(r, bytes(16, 4), 0);
    const del = await heldOver(() => bus.directoryDelete(r));
    t.ok(del.held, 'the watcher saw an answer');
    t.equal(del.got, true, 'erased, not UNAVAILABLE');
    t.equal(await bus.directoryGet(r, { fromLeader: true }), null, 'the entry is gone');
  });

  await t.test("rate-limit counter writes and reads (nats.js's deadline) answered while the loop was held", async (t) => {
    const stored = `dd.${tok()}`;
    await bus.counterPut(stored, bytes(8, 5), 0);
    const read = await heldOver(() => bus.counterGet(stored));
    t.ok(read.held, 'the watcher saw the read\'s answer');
    t.same(Buffer.from((read.got as { value?: Uint8Array } | null)?.value ?? []), Buffer.from(bytes(8, 5)), 'the read resolves the record, not UNAVAILABLE "rate-limit store unavailable"');
    const key = `dd.${tok()}`;
    const create = await heldOver(() => bus.counterPut(key, bytes(8, 1), 0));
    t.ok(create.held, 'the watcher saw the create\'s answer');
    t.type(create.got, 'number', 'the create resolves its revision, not UNAVAILABLE "rate-limit store unavailable"');
    const update = await heldOver(() => bus.counterPut(key, bytes(8, 2), create.got as number));
    t.type(update.got, 'number', 'the update resolves its revision');
    t.same(Buffer.from((await bus.counterGet(key))?.value ?? []), Buffer.from(bytes(8, 2)), 'the counter holds the update, made once');
    t.equal(await bus.counterPut(key, bytes(8, 3), create.got as number), null, 'a write over the replaced revision conflicts');
  });

  await t.test("a directory write that never reached NATS, its deadline fired late: written once more", async (t) => {
    // Through a proxy that drops the write on its way (a request lost): the store never
    // answers it, and the loop is held past its deadline, so that deadline fires late.
    const proxy = await tcpProxy(server.port);
    const lossy = new NatsBus({ servers: proxy.url, limits: CONTRACT_LIMITS, prefix: 'stall', reconnectWaitMs: 100, requestTimeoutMs: REQUEST_MS, mailboxShards: 1 });
    t.teardown(async () => { await lossy.close(); await proxy.cut(); });
    await lossy.start();
    const r = tok();
    const first = await lossy.directoryPut(r, bytes(16, 5), 0) as number;
    proxy.dropNext('$KV.');
    const start = performance.now();
    const put = lossy.directoryPut(r, bytes(16, 6), first).then((v) => v, (e: unknown) => e);
    setImmediate(() => { holdLoop(seen, () => true, () => start + REQUEST_MS); });
    const got = await put;
    t.type(got, 'number', 'the update resolves its revision, not UNAVAILABLE "directory unavailable"');
    const rec = await bus.directoryGet(r, { fromLeader: true });
    t.same(Buffer.from(rec?.value ?? []), Buffer.from(bytes(16, 6)), 'the entry holds the update (the read found the expected revision still there, and it was written again)');
    t.equal(rec?.revision, got, 'at the revision the update resolved');
  });
});
