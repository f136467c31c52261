// The verification code budget of a whole deployment (--verify-start-scope cluster, the
// default): two gateways on one real nats-server take codes from one bucket in the
// shared counters (JetStream KV), so a pump that spreads its starts over the gateways
// gets one burst, not one per gateway; --verify-start-scope gateway gives each its own.
// The budget's clock is a test clock shared by both gateways, so nothing waits for a
// refill. Then, without I/O: a shared store that fails or stays busy falls back to the
// gateway's own bucket (said in one warn line), and the shared bucket's arithmetic.
import t, { type Test } from 'tap';
import { PassThrough } from 'node:stream';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { startTestGateway, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { httpGet, sample } from '../ops/fixtures.ts';
import { ErrorCode } from '../../relay/errors.ts';
import { MemoryBus } from '../../relay/bus/memory.ts';
import { DEFAULT_MAILBOX_LIMITS } from '../../relay/bus/index.ts';
import { SharedTokenBucket } from '../../relay/shared-token-bucket.ts';
import { VerifyGate, CODE_BUDGET_KEY, type VerifyGateMetrics } from '../../relay/verify-gate.ts';
import { createMetrics } from '../../relay/metrics.ts';
import { createLogger } from '../../relay/log.ts';

t.setTimeout(180_000);

let seq = 0;
const PREFIX = `+1555${String(1_000 + Math.floor(Math.random() * 8_000))}`;
const fresh = () => `${PREFIX}${String(seq++).padStart(3, '0')}`;

let req = 1;
async function start(url: string): Promise<{ code?: string; message?: string; retryAfterMs?: number; started: boolean; c: RawClient }> {
  const c = await connectRaw(url);
  await c.next((o) => o.body === 'challenge');
  const r = ++req;
  c.send([{ req: r, verifyStart: { number: fresh() } }]);
  const reply = await c.reply(r);
  return { started: reply.body === 'verifyStarted', code: reply.error?.code, message: reply.error?.message, retryAfterMs: reply.error?.retryAfterMs, c };
}

async function pair(t: Test, scope: 'cluster' | 'gateway', clock: () => number): Promise<[TestGateway, TestGateway]> {
  const nats = await startNatsServer({ t });
  const key = oprfKeyFile();
  const gws: TestGateway[] = [];
  for (let i = 0; i < 2; i++) {
    const gw = await startTestGateway(
      { nats: nats.url, oprfKeyFile: key, verifyStartRate: 1, verifyStartBurst: 3, verifyStartScope: scope, logLevel: 'warn', name: `v${i}` },
      { verification: { clock } },
    );
    t.teardown(() => gw.close());
    gws.push(gw);
  }
  return gws as [TestGateway, TestGateway];
}

if (!haveNatsServer()) {
  t.plan(0, 'nats-server not installed');
} else {
  t.test('scope cluster: two gateways on one NATS share one burst; a refill is the cluster\'s too', async (t) => {
    let now = 1_000_000;
    const [g0, g1] = await pair(t, 'cluster', () => now);
    t.equal(g0.relay.verifyGate.scope, 'cluster');
    const clients: RawClient[] = [];
    const on = async (gw: TestGateway) => {
      const r = await start(gw.url);
      clients.push(r.c);
      return r;
    };
    t.ok((await on(g0)).started, 'code 1 via gateway 0');
    t.ok((await on(g1)).started, 'code 2 via gateway 1');
    t.ok((await on(g0)).started, 'code 3 via gateway 0');
    const over = await on(g1);
    t.equal(over.code, ErrorCode.RATE_LIMITED, 'the fourth, on the other gateway: the burst of 3 is the cluster\'s');
    t.match(over.message, /too many verification codes from this service/);
    t.equal(over.retryAfterMs, 1_000, 'retry_after_ms from the shared bucket: one code at 1/s');
    t.equal((await on(g0)).code, ErrorCode.RATE_LIMITED, 'and on the first gateway too');
    now += 1_000;
    t.ok((await on(g1)).started, 'a second later: one code, on either gateway');
    t.equal((await on(g0)).code, ErrorCode.RATE_LIMITED, 'and only one');
    const m = (await httpGet(g1.url, '/metrics')).body;
    t.equal(sample(m, 'hushwire_verify_starts_refused_total', { reason: 'code_budget' }), 1, 'each gateway counts its own refusals');
    t.match(g1.logs(), /the verification code budget of this cluster \(--verify-start-scope cluster: all gateways together\) is spent/, 'the warn line names the cluster\'s budget');
    t.notMatch(g1.logs() + g0.logs(), new RegExp(PREFIX.slice(1)), 'no number in the logs');
    for (const c of clients) c.close();
  });

  t.test('scope gateway: each gateway has a burst of its own', async (t) => {
    const now = 1_000_000;
    const [g0, g1] = await pair(t, 'gateway', () => now);
    t.equal(g0.relay.verifyGate.scope, 'gateway');
    const clients: RawClient[] = [];
    for (const gw of [g0, g1]) {
      for (let i = 0; i < 3; i++) {
        const r = await start(gw.url);
        clients.push(r.c);
        t.ok(r.started, `code ${i + 1} of this gateway's burst`);
      }
      const r = await start(gw.url);
      clients.push(r.c);
      t.equal(r.code, ErrorCode.RATE_LIMITED, 'its fourth refused');
      t.match(r.message, /too many verification codes from this gateway/);
    }
    for (const c of clients) c.close();
  });
}

// ---- without I/O: the gate's fallback and the shared bucket itself ----

function gateMetrics(): VerifyGateMetrics {
  const m = createMetrics();
  return { verifyStartsRefused: m.verifyStartsRefused, verifyPending: m.verifyPending, verifyPendingLimit: m.verifyPendingLimit, rateLimited: m.rateLimited };
}

/** An embedded bus whose counter store fails (NATS's KV unreachable) while `failing`. */
class FailingCounters extends MemoryBus {
  failing = true;
  override counterGet(key: string) {
    if (this.failing) return Promise.reject(Object.assign(new Error('kv unreachable'), { code: 'UNAVAILABLE' }));
    return super.counterGet(key);
  }
}

t.test('a shared budget that cannot be reached: the gateway\'s own bucket of the same size, one warn line', async (t) => {
  const bus = new FailingCounters({ limits: DEFAULT_MAILBOX_LIMITS });
  await bus.start();
  t.teardown(() => bus.close());
  const sink = new PassThrough();
  let logs = '';
  sink.on('data', (c: Buffer) => { logs += c.toString('utf8'); });
  const now = 0;
  const gate = new VerifyGate(
    { verifyStartRatePerS: 1, verifyStartBurst: 2, maxPendingVerifications: 10, verifyStartScope: 'cluster' },
    gateMetrics(), createLogger({ level: 'warn', destination: sink }), () => now, { bus, wallClock: () => now },
  );
  t.same(await gate.takeCode(), { shared: false }, 'taken from the gateway\'s own bucket');
  t.same(await gate.takeCode(), { shared: false });
  await t.rejects(gate.takeCode(), { code: ErrorCode.RATE_LIMITED }, 'which has the same burst');
  t.equal(logs.match(/could not be reached/g)?.length, 1, 'said once, not per start');
  t.notMatch(logs, /kv unreachable/, 'the store\'s own error text is not logged');

  bus.failing = false;
  t.same(await gate.takeCode(), { shared: true }, 'the store back: the cluster\'s bucket again');
  gate.giveBackCode({ shared: false }); // a local token back to the local bucket
  t.same(await gate.takeCode(), { shared: true }, 'shared first while it can be reached');
});

t.test('SharedTokenBucket: burst, refill, wait, give back, a clock behind, a damaged record', async (t) => {
  const bus = new MemoryBus({ limits: DEFAULT_MAILBOX_LIMITS });
  await bus.start();
  t.teardown(() => bus.close());
  let now = 10_000;
  const b = new SharedTokenBucket(bus, CODE_BUDGET_KEY, 2, 4, () => now);
  t.equal(await b.take(), 0);
  t.equal(await b.take(), 0);
  t.equal(await b.take(), 250, 'empty: 250 ms to a token at 4/s');
  now += 100;
  t.equal(await b.take(), 150, 'refused again without a read: the wait it was told, less the time since');
  now += 150;
  t.equal(await b.take(), 0, 'refilled');
  t.equal(await b.giveBack(), true);
  t.equal(await b.take(), 0, 'a token given back is taken again');
  // Another gateway whose clock is 5 s behind mints nothing.
  const behind = new SharedTokenBucket(bus, CODE_BUDGET_KEY, 2, 4, () => now - 5_000);
  t.equal(await behind.take(), 250, 'a clock behind the record does not refill it');
  // Give-backs never pass the capacity.
  now += 60_000;
  t.equal(await b.giveBack(), true);
  t.equal(await b.take(), 0);
  t.equal(await b.take(), 0);
  t.equal(await b.take(), 250, 'still a burst of 2 after a give-back to a full bucket');
  // A damaged record reads as a full bucket.
  const rec = await bus.counterGet(CODE_BUDGET_KEY);
  await bus.counterPut(CODE_BUDGET_KEY, new TextEncoder().encode('{"t":"x"}'), rec!.revision);
  now += 1;
  const fresh = new SharedTokenBucket(bus, CODE_BUDGET_KEY, 2, 4, () => now);
  t.equal(await fresh.take(), 0);
  t.equal(await fresh.take(), 0);
  t.equal(await fresh.take(), 250);
  t.throws(() => new SharedTokenBucket(bus, CODE_BUDGET_KEY, 0, 1), RangeError);
});
