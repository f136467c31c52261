// An evaluate the evaluator did not answer gives its discovery charge back (0a14417)
// once, also when the counter write of that refund lost its answer and the NATS bus
// tried it again (relay/bus/nats.ts #counterTry, after a fast failure: the write had
// landed, the second try met it as a conflict). The refund's compare-and-set loop then
// read the record again and gave the charge back a second time, so each evaluator
// outage could hand the device a unit it was never charged: the budget above what it
// was charged. Real nats-server, `hushwire oprf` in this process, a gateway on NATS;
// the gateway's bus loses the answer of the refund writes while the evaluator is down.
import t from 'tap';
import { bytesToHex as hex } from '@noble/hashes/utils.js';
import { blindNumbers, deriveServerKey } from '../../relay/crypto/oprf.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { registerRaw } from '../helpers/raw-device.ts';
import { startTestEvaluator } from '../helpers/oprf.ts';

let seq = 0;
const freshNumber = () => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++seq).padStart(4, '0')}`;
const td = new TextDecoder();

t.test('a refund retried after a lost answer gives the charge back once', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const servers = [nats.url];
  const key = deriveServerKey(new Uint8Array(32).fill(43));
  let ev = await startTestEvaluator({ servers, id: 'main', key, t });
  const gw = await startTestGateway({
    nats: nats.url, transport: 'ws', oprfEvaluator: ['main'], oprfPublicKey: [hex(key.publicKey)], oprfTimeoutMs: 30_000,
    discoveryFirstSync: 3, discoveryDaily: 3, discoveryRouteDaily: 100,
  });
  t.teardown(() => gw.close());

  // Counter writes that give units back (n goes down) land, then are tried once more
  // and meet themselves: what the bus's retry of a write whose answer was lost does.
  let lossy = false;
  let lost = 0;
  const put = gw.bus.counterPut.bind(gw.bus);
  const get = gw.bus.counterGet.bind(gw.bus);
  gw.bus.counterPut = async (k: string, value: Uint8Array, rev: number): Promise<number | null> => {
    const before = rev === 0 ? null : await get(k);
    const r = await put(k, value, rev);
    const down = before !== null && (JSON.parse(td.decode(value)) as { n: number }).n < (JSON.parse(td.decode(before.value)) as { n: number }).n;
    if (r === null || !lossy || !down) return r;
    lost++;
    return put(k, value, rev);
  };

  const { c } = await registerRaw(gw.url, freshNumber());
  t.teardown(() => c.close());

  let req = 10;
  const evaluate = async (): Promise<string> => {
    const r = ++req;
    c.send([{ req: r, evaluate: { blinded: blindNumbers([freshNumber()]).blinded } }]);
    const op = await c.reply(r);
    return op.error?.code ?? op.body!;
  };

  t.equal(await evaluate(), 'evaluated', '1 of the budget of 3');
  await ev.close();
  lossy = true;
  t.equal(await evaluate(), 'UNAVAILABLE', 'evaluator down: charged, then given back');
  t.ok(lost > 0, 'the refund\'s write lost its answer and was tried again');
  lossy = false;
  ev = await startTestEvaluator({ servers, id: 'main', key, t });
  t.equal(await evaluate(), 'evaluated', '2 of 3');
  t.equal(await evaluate(), 'evaluated', '3 of 3');
  t.equal(await evaluate(), 'RATE_LIMITED', 'the 4th is refused: the failed try was given back once, not twice');
  await ev.close();
});
