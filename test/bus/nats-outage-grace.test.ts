// NatsBus while its NATS connection is lost (relay/bus/nats.ts OUTAGE_GRACE_MS, short
// here): past the grace what was waiting fails UNAVAILABLE "NATS connection lost" at
// once, and so does everything new that needs NATS, until the reconnect; a live offer
// to a device this bus holds is still delivered. Ordering only: the request deadline is
// far beyond the test, so nothing here ends by it. The gateway's side (handsets
// answered before their auth deadline): test/faults/nats-outage-fail-fast.test.ts.
import t from 'tap';
import { NatsBus, type NatsBusOptions } from '../../relay/bus/nats.ts';
import { isHushwireError } from '../../relay/errors.ts';
import { bytes, CONTRACT_LIMITS, tok, waitFor } from './contract.ts';
import { haveNatsServer, startNatsServer } from '../helpers/nats-server.ts';

t.setTimeout(120_000);

const outcome = <T>(p: Promise<T>): Promise<T | string> => p.catch((e: unknown) => (isHushwireError(e) ? `${e.code}: ${e.message}` : `other: ${String(e)}`));

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  let n = 0;
  const newBus = (url: string, extra: Partial<NatsBusOptions>): NatsBus =>
    new NatsBus({ servers: url, limits: CONTRACT_LIMITS, prefix: `g${++n}`, reconnectWaitMs: 100, requestTimeoutMs: 600_000, name: 'hushwire-test', ...extra });

  t.test('past the grace: what waits fails UNAVAILABLE at once, new operations too; the live path to a device held here still works', async (t) => {
    const server = await startNatsServer({ t });
    const bus = newBus(server.url, { outageGraceMs: 300 });
    t.teardown(() => bus.close());
    await bus.start();
    const [r, d] = [tok(), tok()];
    await bus.subscribeDevice(r, d, async () => true, () => {});
    await server.stop();
    await waitFor(() => bus.status().state === 'reconnecting', 10_000, 'reconnecting');
    // Made at once (within the grace, or just past it): either way answered by the grace's end.
    const waiting = outcome(bus.directoryPut(tok(), bytes(8, 1), 0));
    t.match(await waiting, /^UNAVAILABLE: NATS connection lost/, 'the waiting write failed UNAVAILABLE, saying why');
    t.equal(bus.status().state, 'reconnecting', 'NATS still down: it did not wait for its deadline or a reconnect');
    for (const [what, p] of [
      ['directoryGet', bus.directoryGet(tok())],
      ['counterGet', bus.counterGet(`t.${tok()}`)],
      ['mailboxPut', bus.mailboxPut(tok(), tok(), tok(), bytes(4))],
      ['mailboxRead', bus.mailboxRead(tok(), tok(), 0, 10)],
      ['subscribeDevice', bus.subscribeDevice(tok(), tok(), async () => true, () => {})],
    ] as const) {
      t.match(await outcome(p as Promise<unknown>), /^UNAVAILABLE: NATS connection lost/, `${what}: UNAVAILABLE at once`);
    }
    t.equal(await bus.deliverLive(tok(), tok(), bytes(4), 600_000), false, 'a device held elsewhere: not delivered, at once');
    t.equal(await bus.deliverLive(r, d, bytes(4), 600_000), true, 'a device held by this bus: delivered (no NATS needed)');
    t.equal(bus.status().state, 'reconnecting', 'all while NATS was down');
    await server.restart();
    await waitFor(() => bus.status().state === 'connected', 15_000, 'connected again');
    t.type(await bus.directoryPut(tok(), bytes(8, 2), 0), 'number', 'writes work again');
  });
}
