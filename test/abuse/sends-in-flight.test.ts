// An overloaded gateway refuses what it cannot take, at once and cheaply, and keeps
// doing the work it took: envelopes accepted from senders and not yet answered are
// bounded per gateway (relay/limits.ts maxSendsInFlight); past the bound a send's receipt
// is `failed UNAVAILABLE` with retry_after_ms before any bus work, the socket stays open
// (it is not the client's fault, so no bad op), and the envelopes in flight are
// delivered as usual. Without the bound, a gateway offered more than it could relay
// queued without limit until live offers overflowed into mailbox stores, the stores
// overflowed the bus's request pool, and deliveries fell to almost none
// (docs/BENCHMARKS.md, "Overload").
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { resolveConfig } from '../../gateway/config.ts';
import { registerRaw, authenticateRaw } from '../helpers/raw-device.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { SENDS_BUSY_RETRY_MS } from '../../relay/relay.ts';
import type { EnvelopeProps } from '../../relay/wire.ts';

async function sendsInFlightRefusals(gw: TestGateway): Promise<number> {
  return (await gw.metrics.rateLimited.get()).values.find((v) => v.labels.limit === 'sends_in_flight')?.value ?? 0;
}

t.test('sends past maxSendsInFlight: UNAVAILABLE at once; those in flight are delivered; then sends pass again', async (t) => {
  // A long live timeout: what is in flight stays in flight until the recipient acks.
  const gw = await startTestGateway({ liveTimeoutMs: 30_000, logLevel: 'warn' });
  t.teardown(() => gw.close());
  const CAP = 4;
  gw.relay.limits.maxSendsInFlight = CAP;
  const { c: a } = await registerRaw(gw.url, '+15556670001');
  const { c: bReg, dev: b } = await registerRaw(gw.url, '+15556670002');
  bReg.close();
  await bReg.closed;
  const bConn = await authenticateRaw(gw.url, b);
  const envelope = (): EnvelopeProps => ({
    version: 1, suite: 1, route: b.route, device: b.device, id: new Uint8Array(randomBytes(16)),
    enc: new Uint8Array(32), ciphertext: new Uint8Array(272),
  });

  // 40 sends in one frame, one envelope each (as the SDK sends): more than maxBadOps
  // (32), so were a refusal a bad op the socket would be closed 4008.
  const N = 40;
  const sent = Array.from({ length: N }, envelope);
  a.send(sent.map((env, i) => ({ req: 100 + i, send: { envelopes: [env] } })));
  const refused = await Promise.all(Array.from({ length: N - CAP }, (_, i) => a.reply(100 + CAP + i)));
  for (const op of refused) {
    t.match(op.sendResult!.receipts[0], { status: 'failed', code: ErrorCode.UNAVAILABLE, retryAfterMs: SENDS_BUSY_RETRY_MS });
  }
  t.equal(await sendsInFlightRefusals(gw), N - CAP, 'each refusal counted in hushwire_rate_limited_total{limit="sends_in_flight"}');
  t.equal(gw.relay.acceptsInFlight, CAP, 'the first four are in flight');
  t.notOk(a.ops.some((o) => o.body === 'sendResult' && o.req < 100 + CAP), 'and not answered: their recipient has not acked');

  // The recipient got exactly the four accepted ones, and acks them.
  const deliveredIds = async (n: number): Promise<string[]> => {
    await bConn.next(() => bConn.ops.filter((o) => o.body === 'deliver').flatMap((o) => o.deliver!.envelopes).length >= n, 10_000);
    return bConn.ops.filter((o) => o.body === 'deliver').flatMap((o) => o.deliver!.envelopes).map((e) => Buffer.from(e.id).toString('hex'));
  };
  const got = await deliveredIds(CAP);
  t.strictSame(got, sent.slice(0, CAP).map((e) => Buffer.from(e.id!).toString('hex')), 'the four accepted envelopes, in order');
  bConn.send([{ req: 0, deliverAck: { ids: sent.slice(0, CAP).map((e) => e.id!) } }]);
  for (let i = 0; i < CAP; i++) {
    t.equal((await a.reply(100 + i)).sendResult!.receipts[0]!.status, 'delivered', `accepted send ${i + 1} delivered`);
  }
  t.equal(gw.relay.acceptsInFlight, 0, 'nothing left in flight');

  // Room again: the same socket sends, and it is delivered.
  const later = envelope();
  a.send([{ req: 200, send: { envelopes: [later] } }]);
  await deliveredIds(CAP + 1);
  bConn.send([{ req: 0, deliverAck: { ids: [later.id!] } }]);
  t.equal((await a.reply(200)).sendResult!.receipts[0]!.status, 'delivered', 'a send after the bound cleared is delivered');
  t.equal(bConn.ops.filter((o) => o.body === 'deliver').flatMap((o) => o.deliver!.envelopes).length, CAP + 1, 'no refused envelope ever reached the recipient');
  for (const c of [a, bConn]) { c.close(); await c.closed; }
});

t.test('the bound is --max-sends-in-flight: 32,768 by default, 64 to 49,152', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  t.equal(gw.relay.limits.maxSendsInFlight, 32_768, 'the default');
  const small = await startTestGateway({ logLevel: 'warn', maxSendsInFlight: 64 });
  t.teardown(() => small.close());
  t.equal(small.relay.limits.maxSendsInFlight, 64, 'the setting reaches the relay');
  t.throws(() => resolveConfig({ maxSendsInFlight: 63 }, {}), { name: 'ConfigError' }, 'below 64 refused');
  t.throws(() => resolveConfig({ maxSendsInFlight: 49_153 }, {}), { name: 'ConfigError' }, 'above 49,152 refused');
  t.equal(resolveConfig({}, { HUSHWIRE_MAX_SENDS_IN_FLIGHT: '1000' }).maxSendsInFlight, 1000, 'from the environment');
});
