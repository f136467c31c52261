// Guesses at a code while the verifier still delivers it. The code is pending from the
// moment it is handed to the verifier, so register attempts against it are answered
// (and a right one registers) before the bridge has said whether it sent the SMS. When
// the bridge then refuses (503, 4xx) or cannot be reached, the number's verify_start
// charge used to be given back all the same: those guesses were free, and a client
// could have 5 guesses per start, starts no longer counted, for as long as the bridge
// answered slowly with a refusal (an outage of its SMS provider): against one number,
// at the gateways' connection rate, the 10^6 codes in minutes. Now a start whose code
// was tried keeps its charge (refund result "withheld"); an untried one is still given
// back. A webhook bridge on loopback that holds its answer until the test releases it.
import t, { type Test } from 'tap';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { verifyStartCharges } from '../helpers/verify-start.ts';
import { connectRaw } from '../helpers/raw.ts';
import { until } from '../helpers/poll.ts';
import { ErrorCode } from '../../relay/errors.ts';

let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(7000 + ++seq).padStart(4, '0')}`;

/** A bridge that holds every POST until release(status). */
async function heldBridge(t: Test): Promise<{ url: string; held: ServerResponse[]; release(status: number): void }> {
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => held.push(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send-code`,
    held,
    release(status) {
      for (const res of held.splice(0)) res.writeHead(status).end();
    },
  };
}

async function refunds(gw: TestGateway): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await gw.metrics.verifyStartRefunds.get()).values) out[String(v.labels.result)] = v.value;
  return out;
}

t.test('a refused delivery whose code was guessed at keeps its charge', async (t) => {
  const bridge = await heldBridge(t);
  const gw = await startTestGateway({ verifier: 'webhook', verifierUrl: bridge.url, verifierTimeoutMs: 60_000, authTimeoutMs: 120_000, verifyStartsPerNumber: 1 });
  t.teardown(() => gw.close());

  // Untried: a refused delivery gives the charge back (as before).
  const spare = freshNumber();
  const a = await connectRaw(gw.url);
  t.teardown(() => a.close());
  await a.next((o) => o.body === 'challenge');
  a.send([{ req: 1, verifyStart: { number: spare } }]);
  await until('the bridge has the first POST', () => bridge.held.length === 1);
  bridge.release(503);
  t.equal((await a.reply(1)).error?.code, ErrorCode.UNAVAILABLE, 'untried: the start fails');
  t.equal(await verifyStartCharges(gw, spare), 0, 'untried: the charge is given back');
  t.same(await refunds(gw), { refunded: 1, kept: 0, withheld: 0 });

  // Tried: five wrong codes while the bridge holds the POST, then it refuses.
  const number = freshNumber();
  const c = await connectRaw(gw.url);
  t.teardown(() => c.close());
  await c.next((o) => o.body === 'challenge');
  c.send([{ req: 1, verifyStart: { number } }]);
  await until('the bridge has the POST', () => bridge.held.length === 1);
  for (let i = 0; i < 5; i++) {
    c.send([{ req: 10 + i, register: { number, code: String(100000 + i) } }]);
    const r = await c.reply(10 + i);
    t.same([r.error?.code, r.error?.message], [ErrorCode.VERIFY_FAILED, 'wrong verification code'], `guess ${i + 1} is tried against the pending code`);
  }
  bridge.release(503);
  t.equal((await c.reply(1)).error?.code, ErrorCode.UNAVAILABLE, 'the start fails: the bridge refused');
  t.equal(await verifyStartCharges(gw, number), 1, 'the guesses were paid for: the charge stays');
  t.same(await refunds(gw), { refunded: 1, kept: 0, withheld: 1 }, 'counted as withheld');

  // So the number's budget (1) is spent: no further start, no further guesses.
  const d = await connectRaw(gw.url);
  t.teardown(() => d.close());
  await d.next((o) => o.body === 'challenge');
  d.send([{ req: 1, verifyStart: { number } }]);
  t.equal((await d.reply(1)).error?.code, ErrorCode.RATE_LIMITED, 'the next start is refused');
  t.equal(bridge.held.length, 0, 'and never reaches the bridge');
  t.notOk(gw.logs().includes(number.slice(2)), 'the log does not hold the number');
});
