// A rate-limit counter's compare-and-set write whose nats.js deadline fired late (the
// event loop held up past it: relay/bus/late-timer.ts) is decided by JetStream's
// duplicate detection, not by the bytes the counter holds. Before, it was decided on a
// read at the bucket's leader: the write's value at a later revision was taken as the
// write landed. But two gateways charging one budget at once read the same record and
// write the same bytes (the same window, the same count plus one) over the same
// revision: when the other's landed and ours never reached NATS, ours was taken as
// landed, and the budget counted one charge for two (a discovery budget under-counted
// by one per such race). Now each counter write carries a Nats-Msg-Id of its own and a
// late one is made once more with it: nats-server (2.9.10, checked single and R3)
// answers a write it already stored 'duplicate' with its revision before it checks the
// expected revision; one it never had meets the other's revision (a conflict: null,
// and the caller reads again and charges again) or, nothing written meanwhile, lands.
//
// Real nats-server. The write goes through a TCP proxy that drops it on its way
// (test/helpers/tcp-proxy.ts dropNext); another bus writes the same bytes over the same
// revision; then the loop is held past the dropped write's deadline, so that it fires
// late.
import t from 'tap';
import { NatsBus } from '../../relay/bus/nats.ts';
import { LATE_TIMEOUT_MS } from '../../relay/bus/late-timer.ts';
import { bytes, CONTRACT_LIMITS, tok } from './contract.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';

const REQUEST_MS = 1000; // the buses' request deadline

/** Holds this thread's event loop until `pastMs` (performance.now) + LATE_TIMEOUT_MS +
 *  200 ms: a deadline at `pastMs` fires late by well over LATE_TIMEOUT_MS. */
function holdPast(pastMs: number): void {
  const until = pastMs + LATE_TIMEOUT_MS + 200;
  while (performance.now() < until) { /* the loop is held */ }
}

t.test('late counter writes', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsServer({ t });
  const other = new NatsBus({ servers: server.url, limits: CONTRACT_LIMITS, prefix: 'clw', reconnectWaitMs: 100, requestTimeoutMs: REQUEST_MS, mailboxShards: 1 });
  t.teardown(() => other.close());
  await other.start();
  const proxy = await tcpProxy(server.port);
  const lossy = new NatsBus({ servers: proxy.url, limits: CONTRACT_LIMITS, prefix: 'clw', reconnectWaitMs: 100, requestTimeoutMs: REQUEST_MS, mailboxShards: 1 });
  t.teardown(async () => { await lossy.close(); await proxy.cut(); });
  await lossy.start();

  for (const create of [false, true]) {
    await t.test(`${create ? 'a create' : 'an update'} that never reached NATS, another gateway's write of the same bytes landed, its deadline fired late: a conflict, not landed`, async (t) => {
      const key = `dd.${tok()}`;
      const expected = create ? 0 : await lossy.counterPut(key, bytes(8, 1), 0) as number;
      const value = bytes(8, 2);
      proxy.dropNext('$KV.');
      const start = performance.now();
      const mine = lossy.counterPut(key, value, expected).then((v) => v, (e: unknown) => e);
      const theirs = await other.counterPut(key, value, expected);
      t.type(theirs, 'number', 'the other gateway\'s write of the same bytes landed');
      setImmediate(() => holdPast(start + REQUEST_MS));
      const got = await mine;
      t.equal(got, null, `a revision conflict, for the caller to read again and charge again (got ${String(got)}; before: the other's revision, taken as this write's)`);
      const rec = await other.counterGet(key);
      t.equal(rec?.revision, theirs, 'the counter holds the other gateway\'s write, once');
    });
  }

  await t.test('an update that never reached NATS, nothing written meanwhile, its deadline fired late: made once more, it lands', async (t) => {
    const key = `dd.${tok()}`;
    const expected = await lossy.counterPut(key, bytes(8, 3), 0) as number;
    proxy.dropNext('$KV.');
    const start = performance.now();
    const mine = lossy.counterPut(key, bytes(8, 4), expected).then((v) => v, (e: unknown) => e);
    setImmediate(() => holdPast(start + REQUEST_MS));
    const got = await mine;
    t.type(got, 'number', 'it resolves its revision');
    const rec = await other.counterGet(key);
    t.equal(rec?.revision, got, 'at the revision it resolved');
    t.same(Buffer.from(rec?.value ?? []), Buffer.from(bytes(8, 4)), 'the counter holds it');
  });
});
