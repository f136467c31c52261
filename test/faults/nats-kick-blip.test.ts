// Fault: a gateway's NATS connection is lost while a device's connection to it takes the
// device over from an older connection on another gateway. Its `kick` (relay/session.ts
// #becomeAuthenticated) is published while disconnected, and nats.js 3.4 drops what is
// written then (every reconnect attempt empties its write buffer): before, the older
// connection stayed, two receiving connections for one device. Now the bus keeps each
// kick it has no PONG after and publishes it again, marked `again`, once reconnected
// (relay/bus/nats.ts #publishUnconfirmed), only while its connection still holds the
// device; a connection elsewhere newer than it stays and kicks back.
//
// Two in-process gateways on one nats-server; the kicking gateway's connection goes
// through a TCP proxy, cut (connections dropped, reconnects refused) when its kick is
// published and opened again afterwards. No timing is asserted: the bus's outage grace
// is far beyond the test, and each outcome is waited for by itself.
import t, { type Test } from 'tap';
import { startNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';
import { registerRaw, authenticateRaw, type RawDevice } from '../helpers/raw-device.ts';
import type { RawClient } from '../helpers/raw.ts';
import { until, within } from '../helpers/poll.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import { CloseCode } from '../../relay/errors.ts';
import { KICK_TIE_MS } from '../../relay/session.ts';
import type { ControlMessage } from '../../relay/bus/bus.ts';

t.setTimeout(240_000);

const PREFIX = 'kickblip';
const LONG_MS = 600_000;

/** Gateway `direct` on the nats-server itself, `cut` through a proxy to it. */
async function setup(t: Test): Promise<{ direct: TestGateway; cut: TestGateway; proxy: Awaited<ReturnType<typeof tcpProxy>> }> {
  const nats = await startNatsServer({ t });
  const proxy = await tcpProxy(nats.port);
  const key = oprfKeyFile();
  const base = { oprfKeyFile: key, natsPrefix: PREFIX, mailboxShards: 1, logLevel: 'warn' };
  const busRequests = { requestTimeoutMs: LONG_MS, outageGraceMs: LONG_MS };
  const direct = await startTestGateway({ ...base, nats: nats.url, name: 'kickblip-direct' }, { busRequests });
  t.teardown(() => direct.close());
  const cut = await startTestGateway({ ...base, nats: proxy.url, name: 'kickblip-cut' }, { busRequests });
  t.teardown(async () => { await cut.close(); await proxy.cut(); });
  await until('both buses connected', () => direct.bus.status().state === 'connected' && cut.bus.status().state === 'connected', 15_000);
  return { direct, cut, proxy };
}

/** The devices' kicks published by `gw`, one list per device: the first kick of each
 *  waits until every device's first kick has come, then the proxy is cut and the bus sees
 *  the loss, so they are published while disconnected. */
function cutAtKicks(t: Test, gw: TestGateway, devs: RawDevice[], proxy: { cut(): Promise<void> }): ControlMessage[][] {
  const keys = devs.map((d) => `${routeTag(d.route)}.${deviceToken(d.device)}`);
  const bus = gw.bus;
  const original = bus.publishControl.bind(bus);
  const kicks: ControlMessage[][] = devs.map(() => []);
  let arrived = 0;
  let allArrived!: () => void;
  const all = new Promise<void>((r) => { allArrived = r; });
  const lost = all.then(async () => {
    await proxy.cut();
    await until('the bus to see the loss', () => bus.status().state === 'reconnecting', 20_000);
  });
  bus.publishControl = async (r: string, d: string, msg: ControlMessage) => {
    const i = keys.indexOf(`${r}.${d}`);
    if (i >= 0 && msg.kind === 'kick') {
      const mine = kicks[i]!;
      mine.push({ ...msg });
      if (mine.length === 1) {
        if (++arrived === devs.length) allArrived();
        await lost;
      }
    }
    return original(r, d, msg);
  };
  t.teardown(() => { bus.publishControl = original; });
  return kicks;
}

const cutAtKick = (t: Test, gw: TestGateway, dev: RawDevice, proxy: { cut(): Promise<void> }): ControlMessage[] => cutAtKicks(t, gw, [dev], proxy)[0]!;

async function served(c: RawClient, dev: RawDevice, req: number): Promise<string | undefined> {
  c.send([{ req, lookup: { route: dev.route } }]);
  return (await c.reply(req, 20_000)).body;
}

const closedCode = async (c: RawClient, what: string): Promise<number> =>
  (await within(c.closed, 30_000, what).catch((e: Error) => ({ code: -1, reason: e.message }))).code;

t.test('a kick published while the gateway has no NATS goes out once it reconnects: the older connection elsewhere closes 4003', async (t) => {
  const { direct, cut, proxy } = await setup(t);
  const { c: older, dev } = await registerRaw(direct.url, '+15557741001');
  const kicks = cutAtKick(t, cut, dev, proxy);
  const newer = await authenticateRaw(cut.url, dev); // its kick published while disconnected
  t.equal(kicks.length, 1, 'one kick published, while disconnected');
  await proxy.open();
  await until('the gateway reconnected', () => cut.bus.status().state === 'connected', 30_000);
  t.equal(await closedCode(older, 'the older connection to close'), CloseCode.CONNECTED_ELSEWHERE, 'the older connection is closed 4003 after the reconnect');
  t.same(kicks.slice(1), [{ kind: 'kick', connection: (kicks[0] as { connection: string }).connection, again: true }], 'the same kick published again, marked again');
  t.equal(await served(newer, dev, 8), 'devices', 'the newer connection stays open and served');
  newer.close();
  await newer.closed;
});

t.test('a kick gone stale meanwhile does not close a newer connection: the newer one kicks back and stays', async (t) => {
  const { direct, cut, proxy } = await setup(t);
  const { c: oldest, dev } = await registerRaw(direct.url, '+15557741011');
  const kicks = cutAtKick(t, cut, dev, proxy);
  const middle = await authenticateRaw(cut.url, dev); // its kick dropped
  // Newer still, on the other gateway, while the first is cut off (its kick does not reach
  // `middle`), and older than KICK_TIE_MS by the time the kick goes out again: a plain kick
  // would close it.
  const newest = await authenticateRaw(direct.url, dev);
  t.equal(await closedCode(oldest, 'the oldest connection to close'), CloseCode.CONNECTED_ELSEWHERE, 'the oldest closed by the newest');
  const at = Date.now();
  await until('the newest connection past the tie window', () => Date.now() > at + KICK_TIE_MS + 100, KICK_TIE_MS + 10_000, 50);
  await proxy.open();
  await until('the gateway reconnected', () => cut.bus.status().state === 'connected', 30_000);
  t.equal(await closedCode(middle, 'the stale kicker to close'), CloseCode.CONNECTED_ELSEWHERE, 'the connection whose kick was stale is closed 4003 (kicked back)');
  t.ok(kicks.some((k) => k.kind === 'kick' && k.again === true), 'its kick was published again');
  t.equal(await served(newest, dev, 8), 'devices', 'the newest connection stays open and served');
  newest.close();
  await newest.closed;
});

t.test('a kick whose connection closed before the reconnect is not published again: the older connection stays', async (t) => {
  const { direct, cut, proxy } = await setup(t);
  const { c: olderA, dev: a } = await registerRaw(direct.url, '+15557741021');
  const { c: olderB, dev: b } = await registerRaw(direct.url, '+15557741022');
  const [kicksA, kicksB] = cutAtKicks(t, cut, [a, b], proxy) as [ControlMessage[], ControlMessage[]];
  // Both kicks published while disconnected.
  const [newerA, newerB] = await Promise.all([authenticateRaw(cut.url, a), authenticateRaw(cut.url, b)]);
  t.equal(cut.bus.status().state, 'reconnecting', 'still disconnected');
  newerA.close(); // gone before the reconnect: its kick is stale
  await newerA.closed;
  await until('the gateway to have closed that session', () => cut.relay.sessionCount === 1, 20_000);
  await proxy.open();
  // Both kicks are published again by one pass (#publishUnconfirmed): once B's is out,
  // A's would be too.
  t.equal(await closedCode(olderB, 'the older connection of B to close'), CloseCode.CONNECTED_ELSEWHERE, 'B: the older connection closed 4003 by the kick published again');
  t.ok(kicksB.some((k) => k.kind === 'kick' && k.again === true), 'B: its kick published again');
  t.notOk(kicksA.some((k) => k.kind === 'kick' && k.again === true), 'A: the kick of the closed connection is not published again');
  t.equal(await served(olderA, a, 8), 'devices', 'A: the older connection stays open and served');
  for (const c of [olderA, newerB]) c.close();
  await Promise.all([olderA.closed, newerB.closed]);
});
