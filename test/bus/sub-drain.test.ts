// relay/bus/sub-drain.ts against a real nats-server: a batch of subscriptions is
// unsubscribed with one PING, and a message the server routed to them before it read
// their UNSUB still reaches the callback (a plain unsubscribe drops it: shown here too,
// so the test would notice if nats.js stopped doing that and the module became moot).
import t from 'tap';
import { connect, RequestError, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { within } from '../helpers/poll.ts';
import { drainSubscriptions, sharesOnePing } from '../../relay/bus/sub-drain.ts';

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  const server = await startNatsServer({ t });
  const open = async (tt: { teardown(fn: () => unknown): void }): Promise<NatsConnection> => {
    const nc = await connect({ servers: server.url, noAsyncTraces: true });
    tt.teardown(() => nc.close());
    return nc;
  };
  let n = 0;
  /** Subscriptions that record what reaches their callbacks. */
  const subscribeMany = (nc: NatsConnection, count: number) => {
    const prefix = `drain.${++n}`;
    const got: string[] = [];
    const subs = Array.from({ length: count }, (_, i) =>
      nc.subscribe(`${prefix}.${i}`, { callback: (err: Error | null, m: Msg) => { if (err === null) got.push(m.subject.slice(prefix.length + 1)); } }));
    return { prefix, got, subs };
  };
  /** subscribeMany, confirmed at the server, then one message published to each: they
   *  are written before whatever the caller sends next in this turn (UNSUBs). */
  const subscribedWithMessagesOnTheirWay = async (nc: NatsConnection, count: number) => {
    const s = subscribeMany(nc, count);
    await nc.flush();
    for (let i = 0; i < count; i++) nc.publish(`${s.prefix}.${i}`, new Uint8Array([i]));
    return s;
  };
  /** Whether nats-server still has interest in the subject: a request to it is not
   *  refused with "no responders" (the callbacks here never answer: a timeout is interest). */
  const hasResponder = async (nc: NatsConnection, subject: string): Promise<boolean> => {
    try {
      await nc.request(subject, new Uint8Array(0), { timeout: 300 });
      return true;
    } catch (e) {
      return !(e instanceof RequestError && e.isNoResponders());
    }
  };

  t.test('the pinned nats.js has the internals for one shared PING', async (t) => {
    const nc = await open(t);
    t.ok(sharesOnePing(nc), 'protocol.unsub and protocol.subscriptions.cancel exist (else each subscription is drained on its own: correct, slower)');
  });

  t.test('messages the server routed before it read the UNSUB still reach the callback; one flush for the batch', async (t) => {
    const nc = await open(t);
    // Published before the UNSUBs in the same write: nats-server routes them back first.
    const { prefix, got, subs } = await subscribedWithMessagesOnTheirWay(nc, 50);
    let flushes = 0;
    const flush = nc.flush.bind(nc);
    nc.flush = () => { flushes++; return flush(); };
    const drained = drainSubscriptions(nc, subs);
    t.equal(flushes, 1, 'one PING for the 50 UNSUBs');
    nc.flush = flush;
    t.ok(subs.every((s) => !s.isClosed()), 'still open until the server has answered');
    await within(drained, 10_000, 'drain');
    t.equal(got.length, 50, 'every message routed before the UNSUB was delivered');
    t.ok(subs.every((s) => s.isClosed()), 'all closed once drained');
    t.notOk(await hasResponder(nc, `${prefix}.7`), 'nats-server forgot them (no responders)');
    nc.publish(`${prefix}.3`, new Uint8Array([3]));
    await nc.flush();
    t.equal(got.length, 50, 'nothing after');
  });

  t.test('for contrast: a plain unsubscribe drops such a message', async (t) => {
    const nc = await open(t);
    const { got, subs } = await subscribedWithMessagesOnTheirWay(nc, 20);
    for (const s of subs) s.unsubscribe();
    await nc.flush();
    t.equal(got.length, 0, 'nats.js forgot the subscriptions at once: the 20 messages were dropped');
  });

  t.test('without the internals each subscription is drained on its own, with the same result', async (t) => {
    const nc = await open(t);
    const { got, subs } = await subscribedWithMessagesOnTheirWay(nc, 10);
    // A connection object that hides nats.js's protocol: the public API only.
    const publicOnly = { isClosed: () => nc.isClosed(), flush: () => nc.flush() } as unknown as NatsConnection;
    t.notOk(sharesOnePing(publicOnly), 'the fallback path is taken');
    await within(drainSubscriptions(publicOnly, subs), 10_000, 'drain');
    t.equal(got.length, 10, 'every message delivered');
    t.ok(subs.every((s) => s.isClosed()), 'all closed');
  });

  t.test('closed and draining subscriptions are skipped; an empty batch and a closed connection resolve', async (t) => {
    const nc = await open(t);
    const { subs } = subscribeMany(nc, 3);
    subs[0]!.unsubscribe();
    const already = subs[1]!.drain();
    await within(drainSubscriptions(nc, subs), 10_000, 'drain');
    await already;
    t.ok(subs.every((s: Subscription) => s.isClosed()), 'all three closed (one by unsubscribe, one by its own drain, one here)');
    await drainSubscriptions(nc, []);
    const other = await connect({ servers: server.url });
    const left = subscribeMany(other, 2);
    await other.close();
    await within(drainSubscriptions(other, left.subs), 5000, 'drain on a closed connection');
    t.pass('no throw, no hang');
  });

  t.test('a connection lost before the PONG forgets the batch (nothing resubscribed on reconnect)', async (t) => {
    const nc = await connect({ servers: server.url, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
    t.teardown(() => nc.close());
    const { prefix, subs } = subscribeMany(nc, 5);
    await nc.flush();
    const drained = drainSubscriptions(nc, subs);
    // Drop the socket under nats.js before the PONG can arrive (it reconnects by itself).
    (nc as unknown as { protocol: { transport: { disconnect(): void } } }).protocol.transport.disconnect();
    await within(drained, 10_000, 'drain after a lost connection');
    t.ok(subs.every((s) => s.isClosed()), 'forgotten');
    await within((async () => { while (nc.isClosed() || !(await nc.flush().then(() => true, () => false))) await new Promise((r) => setTimeout(r, 50)); })(), 10_000, 'reconnect');
    t.notOk(await hasResponder(nc, `${prefix}.0`), 'not subscribed again after the reconnect');
  });
}
