// Fault: an opt-out whose directory delete is cut in two by a loss of NATS that outlasts
// the bus's outage grace (OUTAGE_GRACE_MS, 2 s; here 300 ms). The delete of a route's
// last device is two writes (relay/bus/nats.ts directoryDelete): an empty revision by
// compare-and-set, then its erase. Here the first lands, the erase is held at the proxy,
// the connection is cut and kept down past the grace: the erase fails with the
// connection (WriteOutcomeUnknown), and the re-read that decides it again fails at once
// (past the grace). Before, the opt-out then answered UNAVAILABLE with the device
// already out of the directory (its retry can no longer authenticate), its second mail
// erase never made, and the route's entry left listing no devices, which nothing ever
// erased (the idle sweep saw no idle device in it): the route tag stayed for good. Now:
// - the re-read waits for the reconnect (up to LOST_REMOVAL_WAIT_MS, 5 s: relay/directory.ts
//   removeDevice), so an outage that ends within it finishes the opt-out: ok, 4006;
// - one that outlasts it still answers UNAVAILABLE (the outcome unknown), and the idle
//   sweep's next pass erases the entry that lists no devices (a delete half done) and,
//   in its orphan pass, the device's mail: the erasure completes by the next sweep at the
//   latest, without the handset.
//
// Set-up as test/faults/nats-erase-blip.test.ts (test/helpers/proxied-gateway.ts): a
// gateway through a TCP proxy that can hold what the gateway sends and be cut (reconnects
// refused) and opened again; a second gateway on the nats-server itself looks at the
// store. No timing is asserted: the request deadlines are far beyond the test, and each
// outcome is waited for by itself.
import t, { type Test } from 'tap';
import { until } from '../helpers/poll.ts';
import { authenticate } from '../ops/fixtures.ts';
import { proxiedGateway, cutPastGrace, holdDeleteErase, authenticatedWithMail } from '../helpers/proxied-gateway.ts';
import { bytes, tok } from '../bus/contract.ts';
import { ErrorCode } from '../../relay/errors.ts';

t.setTimeout(180_000);

/** A device with mail, authenticated at `g`, opting out; its delete's erase held, the
 *  connection cut and kept down past `g`'s grace (300 ms), and mail stored behind the
 *  opt-out's first erase meanwhile (a sender that looked the device up just before the
 *  removal). */
async function optOutIntoOutage(t: Test) {
  const { g, direct, proxy } = await proxiedGateway(t, 'eraseoutage', { graceMs: 300 });
  const { dev, tag, devTok, c } = await authenticatedWithMail(t, g, direct);
  const held = holdDeleteErase(t, g, proxy, tag);
  c.send([{ req: 21, unregister: {} }]);
  await held;
  t.equal((await direct.bus.directoryGet(tag, { fromLeader: true }))?.value.length, 0, 'the delete\'s empty revision landed: the device is out of the directory');
  await direct.bus.mailboxPut(tag, devTok, tok(), bytes(64));
  await cutPastGrace(g, proxy);
  proxy.holdFrom(null);
  return { g, direct, proxy, dev, tag, devTok, c };
}

t.test('an opt-out whose delete loses its erase to an outage past the grace that ends within the removal\'s wait: answered ok, the entry and the mail erased', async (t) => {
  const { g, direct, proxy, tag, devTok, c } = await optOutIntoOutage(t);
  await proxy.open();
  const closed = await c.closed;
  const reply = c.ops.find((o) => o.req === 21);
  t.equal(reply?.body, 'ok', `answered ok (${reply?.error?.code ?? reply?.body ?? 'no answer'}; before: UNAVAILABLE, the device already out of the directory)`);
  t.equal(closed.code, 4006, 'the connection is closed 4006, the device unregistered');
  await until('reconnected', () => g.bus.status().state === 'connected', 20_000);
  t.equal(await direct.bus.directoryGet(tag, { fromLeader: true }), null, 'the route\'s entry is erased by the opt-out itself');
  t.same(await direct.bus.mailboxRead(tag, devTok, 0, 10), [], 'and the mail stored behind its first erase (its second erase)');
});

t.test('an opt-out whose delete loses its erase to an outage that outlasts the removal\'s wait: UNAVAILABLE, and the next sweep erases the entry and the mail', async (t) => {
  const { g, direct, proxy, dev, tag, devTok, c } = await optOutIntoOutage(t);
  // Kept down until the opt-out has given up (its answer).
  const closed = await c.closed;
  await proxy.open();
  const reply = c.ops.find((o) => o.req === 21);
  t.equal(reply?.error?.code, ErrorCode.UNAVAILABLE, 'the opt-out is answered UNAVAILABLE (its outcome unknown: no read once the wait ran out)');
  t.equal(closed.code, 1013, 'and the socket closed 1013 (try again later)');
  await until('reconnected', () => g.bus.status().state === 'connected', 20_000);
  t.equal((await direct.bus.mailboxRead(tag, devTok, 0, 10)).length, 1, 'the mail stored behind the first erase is still there');
  t.equal((await direct.bus.directoryGet(tag, { fromLeader: true }))?.value.length, 0, 'the route\'s entry is left with no devices (the delete half done)');
  await t.rejects(authenticate(g.url, dev), /auth failed/, 'the device can no longer authenticate: its retry cannot finish the opt-out');

  // The idle sweep's next pass (the device is not idle: nothing else is due).
  await g.relay.privacy.sweepIfLeader();
  t.equal(await direct.bus.directoryGet(tag, { fromLeader: true }), null, 'the sweep erased the route\'s entry (before: it stayed for good)');
  t.same(await direct.bus.mailboxRead(tag, devTok, 0, 10), [], 'and the mail stored behind the opt-out\'s erase (its orphan pass)');
});
