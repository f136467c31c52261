// A gateway whose NATS connection goes through a TCP proxy (./tcp-proxy.ts) that can hold
// what either side sends and be cut (connections dropped, reconnects refused) and opened
// again, and a second gateway on the nats-server itself to look at the store; and the
// steps the NATS-loss tests take with them (test/faults/nats-erase-blip.test.ts,
// nats-erase-outage.test.ts, nats-erase-outage-retry.test.ts).
import type { Test } from 'tap';
import { startNatsServer } from './nats-server.ts';
import { startTestGateway, oprfKeyFile, type TestGateway } from './gateway.ts';
import { tcpProxy } from './tcp-proxy.ts';
import { until } from './poll.ts';
import { authenticate, seedDevice, type OpsDevice } from '../ops/fixtures.ts';
import { bytes, tok } from '../bus/contract.ts';
import { routeTag, deviceToken } from '../../relay/tokens.ts';
import type { RawClient } from './raw.ts';

export type Proxy = Awaited<ReturnType<typeof tcpProxy>>;

/** Far beyond any test: the bus's requests and `direct`'s grace never run out. */
const LONG_MS = 600_000;

export interface ProxiedGateway {
  /** The gateway through the proxy. */
  g: TestGateway;
  /** The gateway on the nats-server itself (its grace LONG_MS). */
  direct: TestGateway;
  proxy: Proxy;
}

/**
 * A fresh nats-server; gateway `g` (named `${prefix}-g`) through a proxy to it, `direct`
 * (`${prefix}-direct`) on the server itself, both on NATS prefix `prefix` with one
 * mailbox shard and a 1 h idle expiry (`overrides` on top), their bus requests' deadline
 * far beyond the test. `graceMs`: g's outage grace (how long a lost connection is waited
 * for before what needs NATS fails at once; default far beyond the test). Both closed at
 * `t`'s teardown, the proxy cut; resolves once both buses are connected.
 */
export async function proxiedGateway(t: Test, prefix: string, opts: { graceMs?: number; overrides?: Record<string, unknown> } = {}): Promise<ProxiedGateway> {
  const nats = await startNatsServer({ t });
  const proxy = await tcpProxy(nats.port);
  const key = oprfKeyFile();
  const base = { oprfKeyFile: key, natsPrefix: prefix, mailboxShards: 1, logLevel: 'warn', deviceIdleExpiryS: 3600, ...opts.overrides };
  const direct = await startTestGateway({ ...base, nats: nats.url, name: `${prefix}-direct` }, { busRequests: { requestTimeoutMs: LONG_MS, outageGraceMs: LONG_MS } });
  t.teardown(() => direct.close());
  const g = await startTestGateway({ ...base, nats: proxy.url, name: `${prefix}-g` }, { busRequests: { requestTimeoutMs: LONG_MS, outageGraceMs: opts.graceMs ?? LONG_MS } });
  t.teardown(async () => { await g.close(); await proxy.cut(); });
  await until('both buses connected', () => direct.bus.status().state === 'connected' && g.bus.status().state === 'connected', 15_000);
  return { g, direct, proxy };
}

/** Cuts the proxy, waits until `g` sees the loss and then until its outage grace has
 *  passed (what needs NATS fails at once); the proxy stays cut. */
export async function cutPastGrace(g: TestGateway, proxy: Proxy): Promise<void> {
  await proxy.cut();
  await until('the loss seen', () => g.bus.status().state === 'reconnecting', 20_000);
  await until('the grace to pass', () => g.bus.directoryGet(tok()).then(() => false, () => true), 20_000);
}

/** Has `g`'s next delete of `tag`'s entry, once its empty revision has landed and been
 *  answered, hold its erase at the proxy; resolves once that erase is held. */
export function holdDeleteErase(t: Test, g: TestGateway, proxy: Proxy, tag: string): Promise<void> {
  const bus = g.bus;
  const original = bus.directoryPut.bind(bus);
  let erasing!: () => void;
  const held = new Promise<void>((resolve) => { erasing = resolve; });
  bus.directoryPut = async (r, value, rev) => {
    const got = await original(r, value, rev);
    if (r === tag && value.length === 0 && got !== null) {
      bus.directoryPut = original;
      proxy.holdFrom('$JS.API.STREAM.MSG.DELETE.', erasing); // the delete's erase comes next
    }
    return got;
  };
  t.teardown(() => { bus.directoryPut = original; proxy.holdFrom(null); });
  return held;
}

/** A device seeded in `g`'s directory with one message in its mailbox (stored through
 *  `direct`), and its connection authenticated at `g` (closed at `t`'s teardown). */
export async function authenticatedWithMail(t: Test, g: TestGateway, direct: TestGateway): Promise<{ dev: OpsDevice; tag: string; devTok: string; c: RawClient }> {
  const dev = await seedDevice(g.relay.directory);
  const tag = routeTag(dev.route);
  const devTok = deviceToken(dev.device);
  await direct.bus.mailboxPut(tag, devTok, tok(), bytes(64));
  const c = await authenticate(g.url, dev);
  t.teardown(() => c.close());
  return { dev, tag, devTok, c };
}
