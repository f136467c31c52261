// A register whose OPRF work timed out (the worker pool's TIMEOUT: "OPRF request
// expired before it was evaluated", relay/oprf-pool.ts, for the route of the number or
// the evaluation of its blinded element) used up the code: the session forgot it
// (`one code, one registration`), kept it only for UNAVAILABLE and RATE_LIMITED, so the
// handset's retry on the same socket got VERIFY_FAILED and the person had to ask for
// another SMS (one of the number's 5 a day), although nothing had been checked but the
// code itself. Now a TIMEOUT keeps the code too (same expiry, same attempts left).
// Real nats-server, a gateway on NATS with its key in process; the pool's TIMEOUT is
// played at the gateway's evaluator, once per step.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { generateIdentity } from '../../relay/crypto/sign.ts';
import { generateKeyPair } from '../../relay/crypto/hpke.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile } from '../helpers/gateway.ts';
import { withCode } from '../helpers/raw-device.ts';

let seq = 0;
const freshNumber = () => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++seq).padStart(4, '0')}`;
const expired = () => new HushwireError(ErrorCode.TIMEOUT, 'OPRF request expired before it was evaluated');

t.test('a register whose OPRF work timed out keeps the code', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const gw = await startTestGateway({ nats: nats.url, transport: 'ws', oprfKeyFile: oprfKeyFile() });
  t.teardown(() => gw.close());
  const ev = gw.relay.evaluator;
  // Armed once the code is out: the next route, or the next evaluation, times out once.
  let failRoute = 0;
  let failEvaluate = 0;
  const route = ev.routeForNumber.bind(ev);
  const evaluate = ev.evaluate.bind(ev);
  ev.routeForNumber = async (n: string) => {
    if (failRoute > 0) { failRoute--; throw expired(); }
    return route(n);
  };
  ev.evaluate = async (b: Uint8Array[]) => {
    if (failEvaluate > 0) { failEvaluate--; throw expired(); }
    return evaluate(b);
  };

  const number = freshNumber();
  const { code, register: send } = await withCode(t, gw.url, number);

  const id = generateIdentity();
  const prekey = generateKeyPair();
  const device = new Uint8Array(randomBytes(16));
  const register = (useCode: string): Promise<string> => send({ id, prekey, device }, useCode);

  failRoute = 1;
  t.equal(await register(code), 'TIMEOUT', 'the route timed out');
  failEvaluate = 1;
  t.equal(await register(code), 'TIMEOUT', 'the code was kept; then the evaluation timed out');
  // No guess was used either: 4 wrong codes still leave the right one its turn.
  const wrong = code === '000000' ? '000001' : '000000';
  for (let i = 0; i < 4; i++) t.equal(await register(wrong), 'VERIFY_FAILED', `wrong code ${i + 1} of 4`);
  t.equal(await register(code), 'registered', 'the same code registers: neither timeout used it or a guess');
});
