// Fault: the NATS servers lose the interest in the gateway's reply inbox while its OPRF
// link stays connected (seen on a nats-server 2.9.10 cluster after password reloads and a
// node killed: the evaluator answered, the answers were dropped in the cluster, every
// registration through that gateway failed UNAVAILABLE with "OPRF evaluator main not
// answering (timeout)" until the gateway was restarted). Here a TCP proxy between the
// gateway's OPRF link and a real nats-server tells the server to unsubscribe the link's
// reply inbox (test/helpers/tcp-proxy.ts loseInterest), the client none the wiser. After
// requests time out in a row the link opens a new connection (ReplyPathHealer) and the
// evaluator's answers come back, no restart. An evaluator that is down (no responders)
// renews nothing; one that is hung (subscribed, never answering) renews at most once per
// interval. No timing is asserted: the renewal interval is far beyond the test.
import t, { type Test } from 'tap';
import { Registry } from 'prom-client';
import { bytesToHex as hex } from '@noble/hashes/utils.js';
import { connect } from '@nats-io/transport-node';
import { deriveServerKey, serverRouteForNumber } from '../../relay/crypto/oprf.ts';
import { ReplyPathHealer, DEFAULT_RENEW_POLICY, type RemoteEvaluator } from '../../relay/evaluator-remote.ts';
import type { NatsLink } from '../../relay/oprf-nats.ts';
import { evalSubject } from '../../relay/oprf-wire.ts';
import { connz, startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestEvaluator, proxiedEvaluatorClient, evaluatedRoute, evaluationOutcome as outcome } from '../helpers/oprf.ts';
import { until } from '../helpers/poll.ts';

t.setTimeout(180_000);

const KEY = deriveServerKey(new Uint8Array(32).fill(5));
const HOUR_MS = 3_600_000;
/** Short enough to time out a few requests in the test, long enough for a loopback answer. */
const TIMEOUT_MS = 1_500;

async function setup(t: Test, evaluator: 'up' | 'down' | 'hung') {
  const nats = await startNatsServer({ t });
  if (evaluator === 'up') await startTestEvaluator({ servers: [nats.url], key: KEY, t });
  if (evaluator === 'hung') {
    const nc = await connect({ servers: nats.url, name: 'hung-evaluator' });
    t.teardown(() => nc.close());
    nc.subscribe(evalSubject('hw', 'main'), { callback: () => undefined });
    await nc.flush();
  }
  const registry = new Registry();
  const { ev, proxy, logs } = await proxiedEvaluatorClient(t, nats.port, KEY, 'test-gw-interest', 'info', {
    timeoutMs: TIMEOUT_MS, registry, renewPolicy: { timeouts: 3, afterMs: 0, everyMs: HOUR_MS, everyMaxMs: HOUR_MS },
  });
  const metric = async (name: string, labels: Record<string, string>): Promise<number> => {
    const m = await registry.getSingleMetric(name)!.get();
    return m.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
  };
  const links = async (): Promise<number> => (await connz(nats)).filter((c) => c.name === 'test-gw-interest-oprf').length;
  return { ev, proxy, links, logs, renewals: () => metric('hushwire_oprf_client_renewals_total', { evaluator: 'main' }), timeouts: () => metric('hushwire_oprf_client_requests_total', { evaluator: 'main', result: 'timeout' }) };
}

const evaluated = (ev: RemoteEvaluator, number: string): Promise<string> => evaluatedRoute(ev, KEY, number);

t.test('OPRF client whose reply interest NATS lost', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  t.test('answers come back after the link renews its connection, no restart', async (t) => {
    const { ev, proxy, links, logs, renewals, timeouts } = await setup(t, 'up');
    await until('the start-up probe answered', () => logs().includes('answers with the pinned key'), 20_000);
    t.equal(await evaluated(ev, '+14155550201'), hex(serverRouteForNumber(KEY, '+14155550201')), 'answered before');
    proxy.loseInterest('_INBOX.');
    const seen: string[] = [];
    let answer = '';
    for (let i = 0; i < 12 && answer === ''; i++) {
      const r = await outcome(evaluated(ev, `+1415555030${i % 10}`));
      seen.push(r);
      if (!r.startsWith('failed')) answer = r;
    }
    t.ok(seen[0]?.startsWith('failed'), 'the first evaluation after the loss fails (its answer is dropped)');
    t.ok(await timeouts() >= 3, 'the failures were timeouts');
    t.not(answer, '', 'an evaluation is answered again');
    t.equal(await renewals(), 1, 'one renewal');
    t.equal(await evaluated(ev, '+14155550202'), hex(serverRouteForNumber(KEY, '+14155550202')), 'and the next ones too');
    t.ok(ev.connected, 'the link stays connected');
    await until('the replaced connection closed, once its requests\' deadline passed', async () => await links() === 1, 20_000);
    t.match(logs(), /OPRF evaluator main: \d+ requests in a row timed out over \d+ s while NATS is connected; opening a new NATS connection for the replies/, 'one warn line says so');
    t.equal(logs().split('opening a new NATS connection').length - 1, 1, 'once');
    t.match(logs(), /OPRF evaluator main answers again/, 'and the evaluator is said to answer again');
  });

  t.test('an evaluator that is down (no responders) renews nothing', async (t) => {
    const { ev, renewals, timeouts } = await setup(t, 'down');
    for (let i = 0; i < 6; i++) t.equal(await outcome(evaluated(ev, '+14155550210')), 'failed: OPRF evaluator unavailable', `request ${i + 1}: UNAVAILABLE`);
    t.equal(await timeouts(), 0, 'no timeouts');
    t.equal(await renewals(), 0, 'no renewal');
  });

  t.test('a hung evaluator renews at most once per interval', async (t) => {
    const { ev, renewals, timeouts, logs } = await setup(t, 'hung');
    for (let i = 0; i < 8; i++) t.equal(await outcome(evaluated(ev, '+14155550211')), 'failed: OPRF evaluator unavailable', `request ${i + 1}: UNAVAILABLE`);
    t.ok(await timeouts() >= 8, 'they timed out');
    await until('the renewal done', async () => await renewals() >= 1 || logs().includes('did not open'), 20_000);
    t.equal(await renewals(), 1, 'one renewal within the interval, not one per timeout');
    t.ok(ev.connected, 'the link is connected');
  });
});

t.test('ReplyPathHealer: bounded and backing off (default policy, a clock of its own)', async (t) => {
  const make = () => {
    const clock = { now: 0 };
    const at: number[] = [];
    const nc = {} as never;
    const link = { connection: nc, up: true, losses: 0, renew: async () => { at.push(clock.now); return true; } };
    const h = new ReplyPathHealer({ link: link as unknown as NatsLink, policy: { ...DEFAULT_RENEW_POLICY }, retireMs: 0, now: () => clock.now });
    /** One timeout a second for `s` seconds. */
    const timeouts = (s: number): void => {
      for (let i = 0; i < s; i++) {
        h.timedOut('main', nc);
        clock.now += 1000;
      }
    };
    return { clock, at, link, h, timeouts };
  };
  const gaps = (at: number[]): number[] => at.slice(1).map((x, i) => (x - at[i]!) / 1000);

  const a = make();
  a.timeouts(29);
  t.same(a.at, [], 'timeouts in a row for less than 30 s: no renewal');
  a.timeouts(4000);
  t.equal(a.at[0], 30_000, 'the first after 30 s of timeouts');
  t.same(gaps(a.at), [60, 120, 240, 480, 900, 900, 900], 'then at most one per interval, doubling to 15 min');
  a.h.answered('main');
  const seen = a.at.length;
  a.timeouts(2000);
  t.same(gaps(a.at.slice(seen)).slice(0, 3), [60, 120, 240], 'an answer from the evaluator sets the interval back to 60 s');

  const b = make();
  for (let i = 0; i < 100; i++) {
    b.timeouts(20);
    b.link.losses++;
  }
  t.same(b.at, [], 'a loss of the connection starts the count again');
  for (let i = 0; i < 100; i++) {
    b.timeouts(20);
    b.h.other('main');
  }
  t.same(b.at, [], 'so does a failure other than a timeout (no responders)');
  b.link.up = false;
  b.timeouts(1000);
  t.same(b.at, [], 'never while disconnected');
  b.link.up = true;
  b.link.connection = {} as never;
  b.timeouts(1000);
  t.same(b.at, [], 'nor for requests made on a connection no longer in use');
});
