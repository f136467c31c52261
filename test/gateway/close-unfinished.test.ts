// A gateway that closes (or drains) while a connection's registration is unfinished: the
// connection's register wrote its device (the write landed, its answer lost: the gateway
// answered UNAVAILABLE and kept the code), and closing it begins that device's removal
// (relay/session.ts #eraseUnfinished, Privacy.eraseUnfinished). Before, the close had
// stopped the privacy guard first, which aborted every such removal at its first step,
// and closed NATS right after the connections: each failed, its device left listed (and
// counted against its number's devices) until the idle expiry. Now the close waits for
// them before it closes NATS, at most its deadline (gateway/server.ts
// UNFINISHED_CLOSE_WAIT_MS; Relay.settleUnfinished), then gives the rest up with a warn
// line. Two gateways on a real nats-server: `a` closes, `b` reads the directory.
import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile, warmEvaluator, type TestGateway } from '../helpers/gateway.ts';
import { failDirectoryWrites } from '../helpers/bus-hooks.ts';
import { withCode } from '../helpers/raw-device.ts';
import { generateIdentity } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { routeTag } from '../../relay/tokens.ts';
import { within } from '../helpers/poll.ts';
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../relay/errors.ts';
import type { StartOptions } from '../../gateway/server.ts';

t.setTimeout(120_000);

/** Gateways `a` (closed by the test; at the test's end too, should it fail first) and `b`
 *  on one nats-server, one OPRF key. */
async function pair(t: Test, prefix: string, start: Omit<StartOptions, 'logDestination'> = {}): Promise<{ a: TestGateway; b: TestGateway }> {
  const nats = await startNatsServer({ t });
  const key = oprfKeyFile();
  const gateway = async (name: string, s: Omit<StartOptions, 'logDestination'>) => {
    const gw = await startTestGateway({ nats: nats.url, oprfKeyFile: key, natsPrefix: prefix, mailboxShards: 1, logLevel: 'warn', name }, s);
    t.teardown(() => gw.close());
    return gw;
  };
  const a = await gateway(`${prefix}a`, start);
  const b = await gateway(`${prefix}b`, {});
  await warmEvaluator(a);
  return { a, b };
}

/** On `a`, a raw connection whose register's write lands and loses its answer: the
 *  gateway answers UNAVAILABLE, the device is listed, the connection stays open with its
 *  registration unfinished. */
async function unfinishedRegistration(t: Test, a: TestGateway, b: TestGateway, number: string): Promise<void> {
  const writes = failDirectoryWrites(t, a.bus);
  writes.lose = 1;
  const { register } = await withCode(t, a.url, number);
  const dev = { id: generateIdentity(), prekey: generateKeyPair(), device: new Uint8Array(randomBytes(16)) };
  t.equal(await register(dev), ErrorCode.UNAVAILABLE, 'the register\'s answer: UNAVAILABLE (its write landed)');
  t.equal(await listedAt(b, number), 1, 'its device is listed');
}

async function listedAt(gw: TestGateway, number: string): Promise<number> {
  const tag = routeTag(await gw.relay.evaluator.routeForNumber(number));
  return (await gw.relay.directory.devices(tag)).length;
}

function unfinishedMetric(gw: TestGateway, outcome: string): Promise<number> {
  return gw.metrics.registry.getSingleMetric('hushwire_unfinished_registrations_total')!.get()
    .then((m) => m.values.find((v) => v.labels.outcome === outcome)?.value ?? 0);
}

/** `a`'s directory reads (the removal's first step) take `ms` from now on. */
function slowReads(t: Test, a: TestGateway, ms: number): void {
  const bus = a.bus;
  const get = bus.directoryGet.bind(bus);
  bus.directoryGet = async (...args: Parameters<typeof get>) => {
    await sleep(ms);
    return get(...args);
  };
  t.teardown(() => { bus.directoryGet = get; });
}

t.test('close: the removal of an unfinished registration\'s device is waited for before NATS closes', async (t) => {
  const { a, b } = await pair(t, 'closeunf');
  const number = '+15550100891';
  await unfinishedRegistration(t, a, b, number);
  slowReads(t, a, 300); // the removal still under way when the bus would close
  await within(a.close(), 30_000, 'a\'s close');
  t.equal(await unfinishedMetric(a, 'removed'), 1, 'the removal ran to its end: removed');
  t.equal(await unfinishedMetric(a, 'failed'), 0, 'none failed (before: aborted at privacy.stop, failed)');
  t.equal(await listedAt(b, number), 0, 'the device is no longer listed');
  t.notMatch(a.logs(), /unfinished registration/, 'no warning');
});

t.test('drain: the same at its end', async (t) => {
  const { a, b } = await pair(t, 'drainunf');
  const number = '+15550100892';
  await unfinishedRegistration(t, a, b, number);
  slowReads(t, a, 300);
  await within(a.drain({ timeoutMs: 5_000 }), 60_000, 'a\'s drain');
  t.equal(await unfinishedMetric(a, 'removed'), 1, 'removed');
  t.equal(await listedAt(b, number), 0, 'the device is no longer listed');
});

t.test('close: a removal that does not end in time is given up at the deadline, said in a warn line', async (t) => {
  const { a, b } = await pair(t, 'closeunfslow', { unfinishedCloseWaitMs: 500 });
  const number = '+15550100893';
  await unfinishedRegistration(t, a, b, number);
  slowReads(t, a, 10_000); // far past the close's 500 ms
  await within(a.close(), 30_000, 'a\'s close, bounded');
  t.match(a.logs(), /closing: removals of unfinished registrations not done in time; the idle expiry removes what is left/, 'the warn line');
  t.match(a.logs(), /"left":1/, 'naming how many were left');
  t.equal(await listedAt(b, number), 1, 'the device stays listed (for the idle expiry; a register of it again rewrites it)');
});
