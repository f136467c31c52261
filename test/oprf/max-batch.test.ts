// An evaluator run with a --max-batch below what a handset may put in one `evaluate`
// (1,000; the SDK sends 500): the evaluator refused the larger batches TOO_LARGE, the
// gateway turned that into UNAVAILABLE ("OPRF evaluator unavailable", the charge given
// back as for an outage), so a handset retried a request that could never succeed and
// its user read "unavailable" for a setting. A batch proof covers one request's
// elements, so the gateway cannot split a batch for the handset; it now learns each
// evaluator's largest request (OprfResponse.max_batch, in every answer, so from its
// probe at connect) and refuses a larger evaluate TOO_LARGE naming the size, before
// anything is charged; a TOO_LARGE the evaluator answers (one that does not say its
// size, an older evaluator) is TOO_LARGE too, its charge given back. The operator is
// told at connect; the SDK's contact sync sends smaller batches after a TOO_LARGE.
// Real nats-server, `hushwire oprf` evaluators in this process.
import t, { type Test } from 'tap';
import { connect } from '@nats-io/transport-node';
import { bytesToHex as hex } from '@noble/hashes/utils.js';
import { blindNumbers, deriveServerKey, evaluateBlinded } from '../../relay/crypto/oprf.ts';
import { wire } from '../../relay/wire.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { registerBody, startVerification } from '../helpers/raw-device.ts';
import { startTestEvaluator } from '../helpers/oprf.ts';
import { registerHandset } from '../helpers/handsets.ts';
import { HushwireClient } from '../../client/index.ts';

t.setTimeout(180_000);

let seq = 0;
const freshNumber = () => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++seq).padStart(4, '0')}`;
const skip = haveNatsServer() ? false : 'nats-server not installed';

/** A device registered over a raw socket; `evaluate(n)` sends n fresh blinded numbers
 *  and resolves the answer's code (or body) and message. */
async function device(t: Test, gw: TestGateway): Promise<(n: number) => Promise<{ code: string; message: string; shares: number }>> {
  // Registered without checking the route's evaluation (registerRaw's): a split key's
  // comes as shares.
  const number = freshNumber();
  const { c, ch, code } = await startVerification(gw.url, number);
  t.teardown(() => c.close());
  c.send([{ req: 2, register: registerBody(ch.nonce, number, code).register }]);
  t.equal((await c.reply(2)).body, 'registered', 'a device registered');
  let req = 10;
  return async (n) => {
    const r = ++req;
    c.send([{ req: r, evaluate: { blinded: blindNumbers(Array.from({ length: n }, freshNumber)).blinded } }]);
    const op = await c.reply(r, 60_000);
    return { code: op.error?.code ?? op.body!, message: op.error?.message ?? '', shares: op.evaluated?.shares?.length ?? 0 };
  };
}

t.test('an evaluator with --max-batch 10: larger evaluates are TOO_LARGE, charged nothing', { skip }, async (t) => {
  const nats = await startNatsServer({ t });
  const key = deriveServerKey(new Uint8Array(32).fill(51));
  await startTestEvaluator({ servers: [nats.url], id: 'small', key, maxBatch: 10, maxQueued: 100, t });
  const gw = await startTestGateway({
    nats: nats.url, transport: 'ws', oprfEvaluator: ['small'], oprfPublicKey: [hex(key.publicKey)], oprfTimeoutMs: 30_000,
    discoveryFirstSync: 30, discoveryDaily: 30, discoveryRouteDaily: 1000,
  });
  t.teardown(() => gw.close());
  const evaluate = await device(t, gw);
  const big = await evaluate(11);
  t.equal(big.code, 'TOO_LARGE', 'not UNAVAILABLE: retrying cannot help');
  t.match(big.message, /at most 10 elements/, 'says the size that works');
  t.equal((await evaluate(500)).code, 'TOO_LARGE', 'an SDK-sized batch too');
  for (let i = 1; i <= 3; i++) t.equal((await evaluate(10)).code, 'evaluated', `10 elements: ${10 * i} of the budget of 30`);
  t.equal((await evaluate(1)).code, 'RATE_LIMITED', 'the refused batches cost nothing, the budget still binds');
  t.match(gw.logs(), /OPRF evaluator small takes at most 10 elements per request/, 'the operator is told');
});

t.test('a TOO_LARGE from an evaluator that does not say its size: TOO_LARGE, charge given back', { skip }, async (t) => {
  const nats = await startNatsServer({ t });
  const key = deriveServerKey(new Uint8Array(32).fill(52));
  // An evaluator as older ones answer: no max_batch in its answers; at most 5 elements.
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  nc.subscribe('hw.oprf.old.eval', {
    queue: 'hw_oprf_old',
    callback: (_err, msg) => {
      if (!msg.reply) return; // the gateway's permission probe: a bare publish
      const req = wire.OprfRequest.decode(msg.data);
      if (req.blinded.length > 5) {
        msg.respond(wire.OprfResponse.encode({ error: { code: 'TOO_LARGE', message: 'at most 5 elements per request', retryAfterMs: 0 } }).finish());
        return;
      }
      const { evaluated, proof } = evaluateBlinded(key, req.blinded);
      msg.respond(wire.OprfResponse.encode({ evaluated, proof, publicKey: key.publicKey }).finish());
    },
  });
  await nc.flush();
  const gw = await startTestGateway({
    nats: nats.url, transport: 'ws', oprfEvaluator: ['old'], oprfPublicKey: [hex(key.publicKey)], oprfTimeoutMs: 30_000,
    discoveryFirstSync: 6, discoveryDaily: 6, discoveryRouteDaily: 1000,
  });
  t.teardown(() => gw.close());
  const evaluate = await device(t, gw);
  const big = await evaluate(6);
  t.equal(big.code, 'TOO_LARGE', 'the evaluator\'s TOO_LARGE reaches the handset');
  t.match(big.message, /OPRF evaluator/, 'saying whose limit it is');
  t.equal((await evaluate(5)).code, 'evaluated', '5 of 6: the refused batch was given back');
  t.equal((await evaluate(1)).code, 'evaluated', '6 of 6');
  t.equal((await evaluate(1)).code, 'RATE_LIMITED');
});

t.test('a split key: the smaller of the two evaluators\' sizes', { skip }, async (t) => {
  const nats = await startNatsServer({ t });
  const ka = deriveServerKey(new Uint8Array(32).fill(53));
  const kb = deriveServerKey(new Uint8Array(32).fill(54));
  await startTestEvaluator({ servers: [nats.url], id: 'share-a', key: ka, t });
  await startTestEvaluator({ servers: [nats.url], id: 'share-b', key: kb, maxBatch: 8, maxQueued: 100, t });
  const gw = await startTestGateway({
    nats: nats.url, transport: 'ws', oprfEvaluator: ['share-a', 'share-b'], oprfPublicKey: [hex(ka.publicKey), hex(kb.publicKey)], oprfTimeoutMs: 30_000,
  });
  t.teardown(() => gw.close());
  const evaluate = await device(t, gw);
  const big = await evaluate(9);
  t.equal(big.code, 'TOO_LARGE');
  t.match(big.message, /at most 8 elements/);
  const ok = await evaluate(8);
  t.equal(ok.code, 'evaluated');
  t.equal(ok.shares, 2, 'one evaluation per share');
});

t.test('the SDK\'s contact sync against an evaluator with --max-batch 10: smaller batches, every number answered', { skip }, async (t) => {
  const nats = await startNatsServer({ t });
  const key = deriveServerKey(new Uint8Array(32).fill(55));
  await startTestEvaluator({ servers: [nats.url], id: 'small', key, maxBatch: 10, maxQueued: 100, t });
  const gw = await startTestGateway({
    nats: nats.url, transport: 'ws', oprfEvaluator: ['small'], oprfPublicKey: [hex(key.publicKey)], oprfTimeoutMs: 30_000,
  });
  t.teardown(() => gw.close());
  const bob = await registerHandset([gw.url], freshNumber());
  const alice = await registerHandset([gw.url], freshNumber());
  const client = await HushwireClient.open(alice.profileDir, { receive: false, gateways: [gw.url] });
  t.teardown(() => client.close());
  const numbers = [...Array.from({ length: 24 }, freshNumber), bob.number];
  const found = await client.discover(numbers);
  t.equal(found.size, 25, 'every number answered');
  t.same(found.get(bob.number), { registered: true, devices: 1 }, 'the registered one found');
  t.equal([...found.values()].filter((s) => s.registered).length, 1, 'the others not registered');
});
