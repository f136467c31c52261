// Fault: the gateway's own NATS connection to the OPRF evaluators (RemoteEvaluator, on a
// real nats-server with a real `hushwire oprf` service) is cut through a TCP proxy and
// comes back. nats.js 3.4 drops what is written while disconnected and never answers a
// request in flight at a loss, so an evaluation (a registration, a discovery) made in a
// blip waited out --oprf-timeout-ms. Now one made while disconnected waits for the
// reconnect (within the grace) and one in flight at the loss is made again once
// reconnected (evaluations change nothing at the evaluator). No timing is asserted: the
// deadline is far beyond the test, so an answer that waited for it fails the test.
import t, { type Test } from 'tap';
import { bytesToHex as hex } from '@noble/hashes/utils.js';
import { deriveServerKey, serverRouteForNumber } from '../../relay/crypto/oprf.ts';
import type { RemoteEvaluator } from '../../relay/evaluator-remote.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestEvaluator, proxiedEvaluatorClient, evaluatedRoute, evaluationOutcome as outcome } from '../helpers/oprf.ts';
import { until } from '../helpers/poll.ts';

t.setTimeout(180_000);

const KEY = deriveServerKey(new Uint8Array(32).fill(3));
const LONG_MS = 600_000;

async function setup(t: Test, graceMs = LONG_MS) {
  const nats = await startNatsServer({ t });
  await startTestEvaluator({ servers: [nats.url], key: KEY, t });
  const { ev, proxy } = await proxiedEvaluatorClient(t, nats.port, KEY, 'test-gw-blip', 'warn', { timeoutMs: LONG_MS, outageGraceMs: graceMs });
  return { ev, proxy };
}

const evaluated = (ev: RemoteEvaluator, number: string): Promise<string> => evaluatedRoute(ev, KEY, number);

t.test('OPRF client through a blip', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  t.test('an evaluation made while disconnected is sent once reconnected and answered', async (t) => {
    const { ev, proxy } = await setup(t);
    t.equal(await evaluated(ev, '+14155550101'), hex(serverRouteForNumber(KEY, '+14155550101')), 'answered before the blip');
    await proxy.cut();
    await until('the loss seen', () => !ev.connected, 20_000);
    const during = outcome(evaluated(ev, '+14155550102'));
    await new Promise((r) => setTimeout(r, 200)); // written (and dropped) while disconnected
    await proxy.open();
    t.equal(await during, hex(serverRouteForNumber(KEY, '+14155550102')), 'answered after the reconnect, not at its deadline');
  });

  t.test('an evaluation in flight when the connection drops is made again once reconnected', async (t) => {
    const { ev, proxy } = await setup(t);
    t.equal(await evaluated(ev, '+14155550103'), hex(serverRouteForNumber(KEY, '+14155550103')), 'answered before the blip');
    const during = outcome(evaluated(ev, '+14155550104'));
    await proxy.cut(); // in the same turn: the request is lost with the connection
    await until('the loss seen', () => !ev.connected, 20_000);
    await proxy.open();
    t.equal(await during, hex(serverRouteForNumber(KEY, '+14155550104')), 'answered after the reconnect, not at its deadline');
  });

  t.test('past the grace: UNAVAILABLE at once, not at the deadline', async (t) => {
    const { ev, proxy } = await setup(t, 100);
    await proxy.cut();
    await until('the loss seen', () => !ev.connected, 20_000);
    t.equal(await outcome(evaluated(ev, '+14155550105')), 'failed: OPRF evaluator unavailable', 'UNAVAILABLE');
  });
});
