// The first step of a registration, verify_start, against a gateway that cannot reach its
// counter store. Found by an operator walkthrough: on a 3-node NATS cluster with the
// counter bucket's leader node killed, `hushwire register` failed after ~7 s with
// "rate-limit store unavailable (UNAVAILABLE)": the SDK did not ask again, and the line
// did not say that nothing was sent or to try again. Sending verify_start again blindly
// could send a second SMS, so the gateway now tells the two cases apart
// (relay/session.ts noCodeSent, codeMayHaveGone): a transient failure BEFORE its verifier
// was called is answered UNAVAILABLE with retry_after_ms ("no verification code was
// sent"), one after the verifier was called never carries retry_after_ms. The SDK
// (client/register.ts sendVerifyStart) asks again only on answers with retry_after_ms,
// within a bounded window, and its final error says that the number was not sent a code.
// Real nats-servers: a transient failure is the gateway's nats-server stopped, then
// started again (verify_start answered "NATS connection lost"); a lasting one is a real
// 3-node cluster (every bucket on 3 replicas) with two of its nodes stopped: no quorum,
// no leader for the counter bucket, while the gateway stays connected to its node, as
// in the walkthrough ("rate-limit store unavailable"). Failures at the verifier and the
// OPRF evaluator are injected on an in-process gateway. The SMS are the dev verifier's
// deliveries.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { HushwireClient, MemoryStore, ErrorCode } from '../../client/index.ts';
import { VERIFY_START_ATTEMPTS } from '../../client/register.ts';
import { HushwireError } from '../../relay/errors.ts';
import { VerifierFailure } from '../../relay/verifier/verifier.ts';
import { startNatsCluster, startNatsServer, haveNatsServer, type NatsClusterHandle } from '../helpers/nats-server.ts';
import { startTestGateway, warmEvaluator, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { hushwire, errorLineProblems } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { until, within } from '../helpers/poll.ts';

t.setTimeout(240_000);

const skip = haveNatsServer() ? false : 'nats-server not installed';
let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++seq).padStart(4, '0')}`;

interface Watched {
  gw: TestGateway;
  /** Codes the verifier was asked to send (the dev verifier's deliveries: one per SMS). */
  sms: () => number;
  /** verify_starts whose per-number charge failed (before the verifier). */
  chargeFailures: () => number;
}

/** Counts the verifier's sends and the failed per-number charges of `gw`. */
function watch(t: Test, gw: TestGateway): Watched {
  let sms = 0;
  const verifier = gw.relay.verifier;
  const deliver = verifier.deliver.bind(verifier);
  verifier.deliver = async (number: string, code: string) => {
    sms++;
    return deliver(number, code);
  };
  let chargeFailures = 0;
  const privacy = gw.relay.privacy;
  const charge = privacy.chargeVerifyStart.bind(privacy);
  privacy.chargeVerifyStart = async (n: string) => {
    try {
      return await charge(n);
    } catch (e) {
      chargeFailures++;
      throw e;
    }
  };
  t.teardown(() => { verifier.deliver = deliver; privacy.chargeVerifyStart = charge; });
  return { gw, sms: () => sms, chargeFailures: () => chargeFailures };
}

/** A gateway on node 0 of a real 3-node cluster, every bucket on 3 replicas, its NATS
 *  requests given 1 s (a counter call that meets no leader fails within seconds). */
async function clusterGateway(t: Test): Promise<{ cluster: NatsClusterHandle } & Watched> {
  const cluster = await startNatsCluster(3, { t });
  const gw = await startTestGateway(
    { nats: cluster.servers[0]!.url, oprfKeyFile: oprfKeyFile(), natsReplicas: 3, mailboxShards: 1, logLevel: 'warn', name: 'vsr' },
    { busRequests: { requestTimeoutMs: 1_000 } },
  );
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  // A first registration: the buckets are made and have their leaders.
  await HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number: freshNumber() });
  return { cluster, ...watch(t, gw) };
}

/** Two of the three nodes stopped: the counter bucket has no quorum, so no leader. */
async function loseQuorum(cluster: NatsClusterHandle): Promise<void> {
  await Promise.all([cluster.servers[1]!.stop(), cluster.servers[2]!.stop()]);
}

t.test('NATS lost, then back: verify_start is asked again and the registration finishes, one SMS', { skip }, async (t) => {
  const nats = await startNatsServer({ t });
  const gw = await startTestGateway({ nats: nats.url, oprfKeyFile: oprfKeyFile(), mailboxShards: 1, logLevel: 'warn' });
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  const { sms, chargeFailures } = watch(t, gw);
  await nats.stop();
  await until('the bus to see NATS gone', () => gw.bus.status().state !== 'connected', 20_000);
  const store = new MemoryStore();
  const registering = HushwireClient.register({ store, gateways: [gw.url], number: freshNumber() }).then((r) => r, (e: unknown) => e);
  await until('a verify_start refused (NATS lost)', () => chargeFailures() >= 1, 60_000, 20);
  t.equal(sms(), 0, 'no code sent while NATS is away');
  await nats.restart();
  const r = await within(registering, 120_000, 'the registration');
  t.notOk(r instanceof Error, `registered${r instanceof Error ? ` (${r.message})` : ''}`);
  t.ok(chargeFailures() >= 1 && chargeFailures() < VERIFY_START_ATTEMPTS, `verify_start refused ${chargeFailures()} time(s) before it went through`);
  t.equal(sms(), 1, 'exactly one code sent');
  t.ok((await store.read('device.json')) !== undefined, 'the profile keeps the device');
});

t.test('cluster: the counter store stays unavailable: the SDK and hushwire register fail saying no code was sent, none sent', { skip }, async (t) => {
  const { cluster, gw, sms, chargeFailures } = await clusterGateway(t);
  await loseQuorum(cluster);
  const sdk = HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number: freshNumber() }).then(() => null, (e: unknown) => e);
  const profile = join(tempDir('hw-vsr-'), 'p');
  const cli = hushwire(['register', '--gateway', gw.url, '--number', freshNumber(), '--profile', profile], { timeoutMs: 120_000 });
  const err = await within(sdk, 120_000, 'the SDK registration');
  t.ok(err instanceof HushwireError, 'the SDK fails with a HushwireError');
  const e = err as HushwireError;
  t.equal(e.code, ErrorCode.UNAVAILABLE);
  t.match(e.message, /rate-limit store unavailable/, 'saying what the gateway said');
  t.match(e.message, /the number was not sent a code; try again in a moment/, 'that no code was sent, and to try again');
  t.ok(e.retryAfterMs > 0, 'with the gateway\'s retry_after_ms');
  const run = await cli;
  t.equal(run.code, 5, `hushwire register exits 5 (${run.stderr})`);
  t.same(errorLineProblems(run, 'UNAVAILABLE'), []);
  t.match(run.stderr, /the number was not sent a code; try again in a moment/, 'its line says so too');
  t.equal(sms(), 0, 'no code sent');
  t.ok(chargeFailures() > 2, `verify_start asked again (${chargeFailures()} refusals for the two registrations)`);
  t.ok(chargeFailures() <= 2 * VERIFY_START_ATTEMPTS, 'a bounded number of times');
});

/** An in-process gateway on the embedded bus (nothing of NATS is needed here). */
async function embedded(t: Test): Promise<Watched> {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  return watch(t, gw);
}

t.test('a verifier failure (the SMS may have gone out) is not asked again, whatever it carried', async (t) => {
  for (const [what, failure] of [
    ['no answer in time', () => new VerifierFailure('timeout', 'no answer within 5000 ms', 'verifier did not answer in time')],
    ['a failure carrying retry_after_ms', () => new HushwireError(ErrorCode.UNAVAILABLE, 'sms bridge queue unavailable', { retryAfterMs: 1_000 })],
  ] as const) {
    const { gw } = await embedded(t);
    let calls = 0;
    gw.relay.verifier.deliver = async () => {
      calls++;
      throw failure();
    };
    const err = await HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number: freshNumber() }).then(() => null, (e: unknown) => e);
    t.ok(err instanceof HushwireError && err.code === ErrorCode.UNAVAILABLE, `${what}: UNAVAILABLE`);
    t.equal(calls, 1, `${what}: the verifier was asked once (no second SMS)`);
    t.notMatch((err as Error).message, /not sent a code/, `${what}: not said to be unsent`);
    t.equal((err as HushwireError).retryAfterMs, 0, `${what}: no retry_after_ms on the wire`);
  }
});

t.test('an OPRF TIMEOUT before the verifier: answered UNAVAILABLE with retry_after_ms, asked again, one SMS', async (t) => {
  const { gw, sms } = await embedded(t);
  const evaluator = gw.relay.evaluator;
  const route = evaluator.routeForNumber.bind(evaluator);
  let timeouts = 1;
  evaluator.routeForNumber = async (n: string) => {
    if (timeouts > 0) {
      timeouts--;
      throw new HushwireError(ErrorCode.TIMEOUT, 'OPRF request expired before it was evaluated');
    }
    return route(n);
  };
  t.teardown(() => { evaluator.routeForNumber = route; });
  const store = new MemoryStore();
  await HushwireClient.register({ store, gateways: [gw.url], number: freshNumber() });
  t.equal(timeouts, 0, 'the first verify_start met the TIMEOUT');
  t.equal(sms(), 1, 'one code sent');
  t.ok((await store.read('device.json')) !== undefined, 'registered');
});

t.test('an abort while waiting to ask again ends the wait at once, nothing sent', async (t) => {
  const { gw, sms } = await embedded(t);
  const privacy = gw.relay.privacy;
  const charge = privacy.chargeVerifyStart;
  let refused!: () => void;
  const refusal = new Promise<void>((r) => { refused = r; });
  // The store failing, and saying to wait 20 s: within the SDK's window, so it waits.
  privacy.chargeVerifyStart = async () => {
    setImmediate(refused);
    throw new HushwireError(ErrorCode.UNAVAILABLE, 'rate-limit store unavailable', { retryAfterMs: 20_000 });
  };
  t.teardown(() => { privacy.chargeVerifyStart = charge; });
  const abort = new AbortController();
  const reason = new Error('the user stopped it');
  const registering = HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number: freshNumber(), signal: abort.signal }).then(() => null, (e: unknown) => e);
  await within(refusal, 20_000, 'the verify_start refused');
  // Its answer on its way: the SDK is (or is about to be) in its wait of 20 s.
  await new Promise((r) => setTimeout(r, 200));
  abort.abort(reason);
  t.equal(await within(registering, 10_000, 'register() ending at the abort (it would wait 20 s)'), reason, 'rejects with the signal\'s reason');
  t.equal(sms(), 0, 'no code sent');
});
