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
// is made again once, deduplicated by its Nats-Msg-Id.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { NatsBus } from '../../relay/bus/nats.ts';
import { bytes, CONTRACT_LIMITS, tok } from './contract.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';

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
 *  sees), then until `pastMs` (performance.now) has passed, plus a little. */
function holdLoop(seen: Int32Array, ready: () => boolean, pastMs: () => number): boolean {
  const end = performance.now() + HANG_MS;
  while (!ready()) {
    const left = end - performance.now();
    if (left <= 0) return false;
    Atomics.wait(seen, 0, Atomics.load(seen, 0), Math.min(left, 100));
  }
  const until = pastMs() + 100;
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
    t.equal(got, 'erased', 'erased, not UNAVAILABLE "mailbox store request timed out"');
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
});
