// patches/@nats-io+nats-core+3.4.0.patch (applied by `npm ci`, see patches/README.md):
// a nats.js subscription makes its three deferreds (signal, iterClosed, closed) on
// first use instead of in its constructor. That is ~750 B of every idle device's
// subscription on a gateway. This proves the patch is installed, that an idle callback
// subscription holds no promise, and that everything which waits on those promises
// still works against a real nats-server: closed after unsubscribe, iterators (ended by
// unsubscribe, by break, by max), request/reply, drain, and connection close with
// subscriptions open.
import t from 'tap';
import { connect, RequestError, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { within } from '../helpers/poll.ts';

/** Own properties of a subscription that hold a promise (the deferreds are promises). */
function promisesHeld(sub: Subscription): string[] {
  return Object.entries(sub as unknown as Record<string, unknown>).filter(([, v]) => v instanceof Promise).map(([k]) => k);
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  const server = await startNatsServer({ t });
  const open = async (tt: { teardown(fn: () => unknown): void }): Promise<NatsConnection> => {
    const nc = await connect({ servers: server.url });
    tt.teardown(() => nc.close());
    return nc;
  };

  t.test('the patch is installed: an idle callback subscription holds no promise', async (t) => {
    const nc = await open(t);
    const subs = Array.from({ length: 50 }, (_, i) => nc.subscribe(`patch.idle.${i}`, { callback: () => undefined }));
    await nc.flush();
    t.same(promisesHeld(subs[0]!), [], 'no deferred made by the constructor (run `npm ci` if this fails: it applies patches/)');
    t.ok(subs.every((s) => promisesHeld(s).length === 0), 'none of 50');
    // Messages to a callback subscription do not make them either.
    let got = 0;
    const busy = nc.subscribe('patch.busy', { callback: () => { got++; } });
    for (let i = 0; i < 20; i++) nc.publish('patch.busy', new Uint8Array([i]));
    await nc.flush();
    await within((async () => { while (got < 20) await new Promise((r) => setTimeout(r, 5)); })(), 5000, 'deliveries');
    t.equal(got, 20, 'all 20 messages reached the callback');
    t.same(promisesHeld(busy), [], 'still none after receiving');
    for (const s of [...subs, busy]) s.unsubscribe();
  });

  t.test('closed resolves after unsubscribe, whether awaited before or after', async (t) => {
    const nc = await open(t);
    const before = nc.subscribe('patch.closed.a', { callback: () => undefined });
    const waiting = before.closed; // made on first use, before the close
    before.unsubscribe();
    t.equal(await within(waiting, 5000, 'closed (awaited first)'), undefined, 'awaited before unsubscribe: resolves');
    const after = nc.subscribe('patch.closed.b', { callback: () => undefined });
    after.unsubscribe();
    t.equal(await within(after.closed, 5000, 'closed (awaited after)'), undefined, 'awaited after unsubscribe: resolves');
    t.equal(after.isClosed(), true);
  });

  t.test('iterator subscriptions: delivery, unsubscribe, break and max end them', async (t) => {
    const nc = await open(t);
    const sub = nc.subscribe('patch.iter');
    const seen: number[] = [];
    const loop = (async () => { for await (const m of sub) seen.push(m.data[0]!); })();
    for (let i = 0; i < 5; i++) nc.publish('patch.iter', new Uint8Array([i]));
    await nc.flush();
    await within((async () => { while (seen.length < 5) await new Promise((r) => setTimeout(r, 5)); })(), 5000, 'iterator deliveries');
    sub.unsubscribe();
    await within(loop, 5000, 'iterator end after unsubscribe');
    t.same(seen, [0, 1, 2, 3, 4], 'in order, then ended by unsubscribe');
    await within(sub.closed, 5000, 'closed after iterator end');

    const broken = nc.subscribe('patch.break');
    const firstOnly = (async () => { for await (const m of broken) return m.data[0]; return -1; })();
    nc.publish('patch.break', new Uint8Array([7]));
    t.equal(await within(firstOnly, 5000, 'break'), 7, 'break after the first message');
    await within(broken.closed, 5000, 'closed after break');
    t.equal(broken.isClosed(), true, 'break unsubscribes');

    const limited = nc.subscribe('patch.max', { max: 3 });
    const counted = (async () => { let n = 0; for await (const _ of limited) n++; return n; })();
    for (let i = 0; i < 5; i++) nc.publish('patch.max', new Uint8Array([i]));
    t.equal(await within(counted, 5000, 'max'), 3, 'max 3 ends the iterator after 3');
  });

  t.test('request/reply, drain, and closing a connection with subscriptions open', async (t) => {
    const nc = await open(t);
    nc.subscribe('patch.echo', { callback: (_e, m) => { m.respond(m.data); } });
    const reply = await nc.request('patch.echo', new Uint8Array([1, 2, 3]), { timeout: 5000 });
    t.same([...reply.data], [1, 2, 3], 'request answered');
    // A request with no responder still fails fast rather than waiting on a lost promise:
    // with no responders, not with the 5 s timeout (which any rejection would also be).
    const nobody = await nc.request('patch.nobody', new Uint8Array(0), { timeout: 5000 }).then(() => null, (e: unknown) => e);
    t.ok(nobody instanceof RequestError && nobody.isNoResponders(), `no responders, not a timeout (${String(nobody)})`);

    const draining = nc.subscribe('patch.drain', { callback: () => undefined });
    await within(draining.drain(), 5000, 'subscription drain');
    t.equal(draining.isClosed(), true, 'drained subscription is closed');

    const other = await connect({ servers: server.url });
    const iter = other.subscribe('patch.open.iter');
    const ended = (async () => { for await (const _ of iter) { /* none */ } })();
    other.subscribe('patch.open.cb', { callback: () => undefined });
    await within(other.close(), 5000, 'connection close with subscriptions open');
    await within(ended, 5000, 'iterator ended by connection close');
    t.equal(other.isClosed(), true);

    const drained = await connect({ servers: server.url });
    drained.subscribe('patch.conn.drain', { callback: () => undefined });
    const it2 = drained.subscribe('patch.conn.drain.iter');
    const ended2 = (async () => { for await (const _ of it2) { /* none */ } })();
    await within(drained.drain(), 5000, 'connection drain with subscriptions open');
    await within(ended2, 5000, 'iterator ended by connection drain');
    t.equal(drained.isClosed(), true);
  });
}
