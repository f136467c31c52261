// The opt-out race (test/privacy/optout-auth-race.test.ts, optout-announce.test.ts) when
// the announcements are lost between two NATS nodes: gateway a on one node, b on the
// other, both connected all along, and the route between the nodes losing what it
// carried for a moment (a route that broke and came back: core NATS keeps nothing of
// what was published meanwhile, and nobody is told). A device authenticating at b with
// its record read just before its opt-out at a missed the device message, the intent and
// the announcement, and stayed, authenticated as a device no longer registered. Every
// gateway now beats on `<prefix>.unreg.beat` over the same routes
// (relay/bus/peer-beats.ts): b finds a's beats lost and re-reads the sessions it checked
// recently, as after a loss of its own connection. Real 2-node nats-server cluster, its
// one route through a proxy (helpers/route-proxy.ts) that drops the gateways' core
// messages both ways while the route stays up (JetStream's traffic passes, so that the
// opt-out itself is made).
import t from 'tap';
import { haveNatsServer, startNatsServer, freePorts } from '../helpers/nats-server.ts';
import { oprfKeyFile, startTestGateway } from '../helpers/gateway.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { registerRaw, type RawDevice } from '../helpers/raw-device.ts';
import { until, within } from '../helpers/poll.ts';
import { holdSubscribe } from '../helpers/bus-hooks.ts';
import { routeProxy } from '../helpers/route-proxy.ts';
import { sign, authInput } from '../../relay/crypto/sign.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { CloseCode } from '../../relay/errors.ts';

t.setTimeout(180_000);

const PREFIX = 'optroute';
const CLUSTER = 'hw_test_route_loss';

/** A fresh socket that sends its (signed) auth; the answer is not awaited. */
async function startAuth(url: string, dev: RawDevice): Promise<RawClient> {
  const c = await connectRaw(url);
  const ch = (await c.next((o) => o.body === 'challenge')).challenge!;
  c.send([{ req: 7, auth: { route: dev.route, device: dev.device, signature: sign(dev.id.secretKey, authInput(ch.nonce, dev.route, dev.device)) } }]);
  return c;
}

const cluster = (listen: number, routes: string[]): string => [
  'cluster {',
  `  name: ${JSON.stringify(CLUSTER)}`,
  `  listen: "127.0.0.1:${listen}"`,
  `  routes: [${routes.map((r) => JSON.stringify(r)).join(', ')}]`,
  '}',
].join('\n');

if (!haveNatsServer()) {
  t.plan(0, 'nats-server binary not installed');
} else {
  t.test('the route between a\'s and b\'s nodes loses the opt-out\'s messages: b finds a\'s beats lost, reads the record, 4006', async (t) => {
    const [c0, c1] = await freePorts(2) as [number, number];
    // Each node solicits the other through a proxy (nats-server keeps one of the two
    // routes): whichever stays, it carries what the proxies drop.
    const to1 = await routeProxy(c1);
    const to0 = await routeProxy(c0);
    t.teardown(() => Promise.all([to0.close(), to1.close()]));
    const route = {
      drop: (p: string[]) => { to0.drop(p); to1.drop(p); },
      pass: () => { to0.pass(); to1.pass(); },
      dropped: () => to0.dropped() + to1.dropped(),
      droppedEachWay: (subject: string) => to0.droppedEachWay(subject) || to1.droppedEachWay(subject),
    };
    const [n0, n1] = await Promise.all([
      startNatsServer({ t, extraConfig: cluster(c0, [to1.url]), readyTimeoutMs: 30_000 }),
      startNatsServer({ t, extraConfig: cluster(c1, [to0.url]), readyTimeoutMs: 30_000 }),
    ]);
    const key = oprfKeyFile();
    const opts = { oprfKeyFile: key, natsPrefix: PREFIX, mailboxShards: 1, logLevel: 'error' };
    const a = await startTestGateway({ ...opts, nats: n0.url, name: `${PREFIX}0` });
    t.teardown(() => a.close());
    const b = await startTestGateway({ ...opts, nats: n1.url, name: `${PREFIX}1` });
    t.teardown(() => b.close());
    const { c: onA, dev } = await registerRaw(a.url, '+15557755001');
    t.teardown(() => onA.close());
    const tag = routeTag(dev.route);
    const tok = deviceToken(dev.device);
    await until('b to trust its announcements', () => b.bus.unregisteredSince(tag, tok, b.bus.unregisteredMark()) !== 'unknown');

    const hold = holdSubscribe(t, b, tag, tok);
    const late = await startAuth(b.url, dev);
    t.teardown(() => late.close());
    await hold.entered; // b read the record (the device is there) and now subscribes
    route.drop([`${PREFIX}.dev.`, `${PREFIX}.unreg`]);
    onA.send([{ req: 1001, unregister: {} }]);
    t.equal((await onA.reply(1001)).body, 'ok', 'the opt-out at a is made');
    t.equal(await b.relay.directory.findDevice(tag, dev.device, { fromLeader: true }), null, 'the device is out of the directory');
    hold.release();
    t.equal((await late.reply(7)).body, 'ok', 'the late auth at b is answered ok: b heard nothing of the opt-out');
    t.ok(route.dropped() > 0, 'the route lost the opt-out\'s messages');
    // A route that broke and came back was down for nats-server's route reconnect delay
    // (1 s) at least, and lost several beats of each gateway (BEAT_INTERVAL_MS 250). The
    // drop above is as short as the opt-out, its read and the late auth's answer: ~70 ms
    // on some runs, when no beat of a's was on its way then, and b had nothing to find (it
    // stayed: 1 run in 3 with three copies at once, the gateways' logs showing no beats
    // lost at b). So the drop lasts until a beat of each gateway was lost on the route.
    await until('a beat of each gateway to be lost on the route', () => route.droppedEachWay(`${PREFIX}.unreg.beat`));
    route.pass(); // the route is back
    const closed = await within(late.closed, 30_000, 'the late connection to close').catch((e: Error) => ({ code: -1, reason: e.message }));
    t.equal(closed.code, CloseCode.UNREGISTERED, 'closed 4006: b found a\'s beats lost and read the record');
    t.notOk([...b.relay.sessions()].some((x) => x.authenticated && x.deviceKey?.tag === tag), 'no authenticated session of the device is left at b');
  });
}
