// A discovery the evaluator did not answer (down: no responders, UNAVAILABLE) gives the
// device's and the route's discovery budget back: the handset got no evaluation, so it
// learned nothing, and the SDK retries such failures (a send to a new number retries
// its evaluate until the send's deadline, each try charged). Before, every try stayed
// charged, so an evaluator outage of a minute spent a device's budget for the day.
// A refused element (BAD_REQUEST: not a group element) keeps its charge.
// Real nats-server, `hushwire oprf` evaluators in this process, a gateway on NATS.
import t from 'tap';
import { bytesToHex as hex } from '@noble/hashes/utils.js';
import { blindNumbers, deriveServerKey } from '../../relay/crypto/oprf.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerRaw } from '../helpers/raw-device.ts';
import { startTestEvaluator } from '../helpers/oprf.ts';

let seq = 0;
const freshNumber = () => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++seq).padStart(4, '0')}`;

t.test('discovery charges and the evaluator', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const servers = [nats.url];
  const key = deriveServerKey(new Uint8Array(32).fill(41));
  let ev = await startTestEvaluator({ servers, id: 'main', key, t });
  const gw = await startTestGateway({
    nats: nats.url,
    transport: 'ws',
    oprfEvaluator: ['main'],
    oprfPublicKey: [hex(key.publicKey)],
    oprfTimeoutMs: 30_000,
    discoveryFirstSync: 3,
    discoveryDaily: 3,
    discoveryRouteDaily: 100,
  });
  t.teardown(() => gw.close());

  // A device registered over a raw socket, which then stays authenticated.
  const { c } = await registerRaw(gw.url, freshNumber());
  t.teardown(() => c.close());

  let req = 10;
  const evaluate = async (blinded: Uint8Array[]) => {
    const r = ++req;
    c.send([{ req: r, evaluate: { blinded } }]);
    const op = await c.reply(r);
    return op.error?.code ?? op.body;
  };
  const one = () => blindNumbers([freshNumber()]).blinded;

  t.equal(await evaluate(one()), 'evaluated', 'an evaluation (1 of the budget of 3)');
  await ev.close();
  for (let i = 0; i < 4; i++) t.equal(await evaluate(one()), 'UNAVAILABLE', `evaluator down: try ${i + 1} UNAVAILABLE`);
  ev = await startTestEvaluator({ servers, id: 'main', key, t });
  t.equal(await evaluate(one()), 'evaluated', 'back: the failed tries cost nothing (2 of 3)');
  t.equal(await evaluate(one()), 'evaluated', '3 of 3');
  t.equal(await evaluate(one()), 'RATE_LIMITED', 'the budget still binds: the 4th evaluation is refused');
  await ev.close();
});

t.test('a refused element keeps its charge', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const servers = [nats.url];
  const key = deriveServerKey(new Uint8Array(32).fill(42));
  await startTestEvaluator({ servers, id: 'main', key, t });
  const gw = await startTestGateway({
    nats: nats.url, transport: 'ws', oprfEvaluator: ['main'], oprfPublicKey: [hex(key.publicKey)], oprfTimeoutMs: 30_000,
    discoveryFirstSync: 3, discoveryDaily: 3, discoveryRouteDaily: 100,
  });
  t.teardown(() => gw.close());
  const { c } = await registerRaw(gw.url, freshNumber());
  t.teardown(() => c.close());
  // 0xff..: not a canonical ristretto255 encoding.
  const bad = [new Uint8Array(32).fill(0xff)];
  for (let r = 10; r < 13; r++) {
    c.send([{ req: r, evaluate: { blinded: bad } }]);
    t.equal((await c.reply(r)).error?.code, 'BAD_REQUEST', 'not a group element: BAD_REQUEST');
  }
  c.send([{ req: 20, evaluate: { blinded: blindNumbers([freshNumber()]).blinded } }]);
  t.equal((await c.reply(20)).error?.code, 'RATE_LIMITED', 'the three refused elements were charged');
});
