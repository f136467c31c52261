// The SDK's send pacer and an overloaded gateway (client/outgoing.ts pacesStream): a
// gateway past --max-sends-in-flight refuses a send with a receipt `failed UNAVAILABLE`
// retry_after_ms 500 (relay/relay.ts, test/abuse/sends-in-flight.test.ts). That is the
// gateway's capacity, and every queued send of the client would meet it: so, as
// RATE_LIMITED does, it slows the client's whole outgoing stream (one send op per
// retry_after_ms), rather than each refused send coming back on its own backoff, all at
// about the same instant. Nothing is lost, repeated or renumbered on the way.
//
// Against a real gateway (embedded bus) whose bound is lowered to 4, and a recipient
// driven with the raw protocol that holds its acks, so the 4 offers in flight keep the
// gateway full. No timing is asserted: the pacing shows as a count, the send ops the
// gateway refused before the sends' own deadline, which pacing bounds by the pacer's
// arithmetic (one op per retry_after_ms; a slower machine only makes fewer).
import t from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import { HushwireError, ErrorCode } from '../../client/index.ts';
import { SendPacer, deliverToRoute, type SealedForDevice, type SendResult } from '../../client/outgoing.ts';
import type { OpBuilder } from '../../client/connection-core.ts';
import type { Discovery, VerifiedDevice } from '../../client/discovery.ts';
import { startTestGateway, warmEvaluator, type TestGateway } from '../helpers/gateway.ts';
import { senderAndRawRecipient, deliveries, ackEveryDelivery, checkEachArrivedOnce } from '../helpers/paced-sends.ts';
import { until } from '../helpers/poll.ts';
import { SENDS_BUSY_RETRY_MS } from '../../relay/relay.ts';
import type { OpProps } from '../../relay/wire.ts';
import type { Test } from 'tap';

const CAP = 4;

async function sendsInFlightRefusals(gw: TestGateway): Promise<number> {
  return (await gw.metrics.rateLimited.get()).values.find((v) => v.labels.limit === 'sends_in_flight')?.value ?? 0;
}

/** A gateway that takes at most CAP sends at once; recipient B (raw, acking nothing
 *  unless told) connected to it; sender A, an SDK client. */
async function overloaded(t: Test, sendTimeoutMs?: number) {
  const gw = await startTestGateway({ liveTimeoutMs: 30_000, logLevel: 'warn' });
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  const { B, b, bConn, client } = await senderAndRawRecipient(t, gw.url, sendTimeoutMs !== undefined ? { sendTimeoutMs } : {});
  // From here on the gateway takes CAP sends at once.
  gw.relay.limits.maxSendsInFlight = CAP;
  return { gw, B, b, bConn, client };
}

t.test('a queue of sends refused UNAVAILABLE (over --max-sends-in-flight) goes out paced by retry_after_ms, not in bursts', async (t) => {
  const SEND_TIMEOUT_MS = 6_000;
  const { gw, bConn, B, client } = await overloaded(t, SEND_TIMEOUT_MS);
  const N = 24;
  const results = await Promise.allSettled(Array.from({ length: N }, (_, i) => client.send(B, `m${i}`)));

  // The gateway stayed full throughout (B acked nothing): every send failed at its
  // deadline, the CAP taken ones unanswered (maybeDelivered), the others refused.
  t.ok(results.every((r) => r.status === 'rejected'), 'no send completed while the gateway was full');
  const errors = results.map((r) => (r as PromiseRejectedResult).reason as HushwireError);
  t.ok(errors.every((e) => e instanceof HushwireError), 'each failed with a HushwireError');
  const refusedSends = errors.filter((e) => !e.maybeDelivered);
  t.equal(refusedSends.length, N - CAP, 'the sends never taken say so: not maybeDelivered (the app knows they were not sent)');
  t.ok(refusedSends.every((e) => e.code === ErrorCode.UNAVAILABLE || e.code === ErrorCode.TIMEOUT), 'UNAVAILABLE (or TIMEOUT: its turn came after its deadline)');
  t.equal(deliveries(bConn).length, CAP, 'no refused envelope reached the recipient');

  // Each refused op: a first attempt of the N - CAP sends the gateway had no room for,
  // or a retry. Paced, the retries (and any first attempt after the first refusal) take
  // one slot per retry_after_ms (500 ms) until the deadline: at most 6,000 / 500 = 12.
  // Allowed on top: the refused sends once more each (a machine stalled for over 2 s
  // ends the pacing, and the retries waiting then go out together once). Each on its own
  // backoff (500 ms, then 500-1000, 500-2000, ...), as before, they came back about
  // 4 times each before the deadline: over 100 refusals.
  const refusals = await sendsInFlightRefusals(gw);
  const bound = (N - CAP) + SEND_TIMEOUT_MS / SENDS_BUSY_RETRY_MS + (N - CAP);
  t.ok(refusals >= N - CAP, `the gateway refused each send it had no room for (${refusals})`);
  t.ok(refusals <= bound, `the client's sends were paced: ${refusals} refusals, at most ${bound}`);
  t.comment(`refusals: ${refusals}`);
});

t.test('refused UNAVAILABLE while the gateway is full, then taken: every message arrives exactly once, with its own sequence number', async (t) => {
  const { gw, b, bConn, B, client } = await overloaded(t);
  const N = 12;
  const sends = Array.from({ length: N }, (_, i) => client.send(B, `m${i}`));
  // B holds its acks until the gateway has refused each of the other sends at least
  // once (a send's first attempt may itself wait for its paced slot).
  await until('the gateway refusing the sends it has no room for', async () => (await sendsInFlightRefusals(gw)) >= N - CAP, 30_000);
  t.equal(deliveries(bConn).length, CAP, 'only the sends it took reached B meanwhile');
  // From now on B acks every delivery as it comes.
  const acking = ackEveryDelivery(t, bConn);
  acking.ackNew();
  const results = await Promise.all(sends);
  acking.stop();
  t.ok(results.every((r) => r.status === 'delivered'), 'every send delivered');
  t.equal(new Set(results.map((r) => r.id)).size, N, 'each with its own id');
  checkEachArrivedOnce(t, results, bConn, b);
  t.ok(await sendsInFlightRefusals(gw) >= N - CAP, 'the gateway did refuse');
});

// ---- which receipts pace the stream (deliverToRoute with a scripted gateway)

function scriptedSend(receipts: { code: string; retryAfterMs: number }[]) {
  const device: VerifiedDevice = { device: new Uint8Array(16).fill(1) } as unknown as VerifiedDevice;
  const discovery = { devicesFor: async () => ({ devices: [device], cached: false }) } as unknown as Discovery;
  const id = new Uint8Array(16).fill(9);
  const seal = (devices: VerifiedDevice[]): SealedForDevice[] => devices.map((d) => ({ device: d, envelope: { id } }));
  let calls = 0;
  const request = async (_op: unknown): Promise<OpProps> => {
    const next = receipts[calls++];
    const r = next ? { id, status: 'failed', code: next.code, retryAfterMs: next.retryAfterMs } : { id, status: 'delivered' };
    return { sendResult: { receipts: [r] } } as OpProps;
  };
  return { discovery, seal, request, attempts: () => calls };
}

class WatchedPacer extends SendPacer {
  readonly told: number[] = [];
  override limited(retryAfterMs: number, now?: number): void {
    this.told.push(retryAfterMs);
    super.limited(retryAfterMs, now);
  }
}

t.test('UNAVAILABLE with retry_after_ms engages the pacer; UNAVAILABLE without it (and TIMEOUT) only retry that send', async (t) => {
  const cases: [string, { code: string; retryAfterMs: number }[], number[]][] = [
    ['UNAVAILABLE with retry_after_ms (the gateway out of room)', [{ code: 'UNAVAILABLE', retryAfterMs: 30 }], [30]],
    ['RATE_LIMITED, as before', [{ code: 'RATE_LIMITED', retryAfterMs: 20 }], [20]],
    ['UNAVAILABLE without retry_after_ms', [{ code: 'UNAVAILABLE', retryAfterMs: 0 }], []],
    ['TIMEOUT', [{ code: 'TIMEOUT', retryAfterMs: 0 }], []],
  ];
  for (const [what, receipts, told] of cases) {
    const s = scriptedSend(receipts);
    const pacer = new WatchedPacer();
    const res = await deliverToRoute(new Uint8Array(32), {
      request: s.request, discovery: s.discovery, seal: s.seal, deadline: Date.now() + 20_000, pacer, random: () => 0,
    });
    t.equal(res.status, 'delivered', `${what}: retried and delivered`);
    t.equal(s.attempts(), 2, `${what}: one retry, same envelope`);
    t.same(pacer.told, told, `${what}: pacer told ${JSON.stringify(told)}`);
  }
});

// ---- the order sends go out in while paced

t.test('a send asked while others wait for their turn goes out behind them, in the order asked, after the quiet period too', async (t) => {
  // A client whose send the gateway refused (over --max-sends-in-flight, lowered to 0:
  // a receipt UNAVAILABLE retry_after_ms 500, which engages its pacer) and then took
  // again; its sends then paced 1 s apart (SendPacer.limited by hand, renewed from now):
  // four sends wait for their turns, ~1, 2, 3 and 4 s away, while the pacer's quiet
  // period (2 s after the last refusal) ends before the third goes. A fifth send asked as
  // the third goes out joins the queue behind the fourth. Before, the pacer counted as
  // paced only until 2 s after the refusal: the fifth went straight out, ahead of the
  // fourth, which was still waiting for its turn. The sends are told apart by the id of
  // their envelope, as the connection sends them (a send's result says its id).
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  const { B, b, bConn, client } = await senderAndRawRecipient(t, gw.url, { sendTimeoutMs: 60_000 });
  ackEveryDelivery(t, bConn);
  const inner = client as unknown as { conn: { request(op: OpBuilder, timeoutMs?: number): Promise<OpProps> }; pacer: SendPacer };

  // A real refusal: the pacer is told of the gateway's receipt, then the gateway takes sends again.
  const cap = gw.relay.limits.maxSendsInFlight;
  gw.relay.limits.maxSendsInFlight = 0;
  const told = new Promise<number>((resolve) => {
    const limited = inner.pacer.limited.bind(inner.pacer);
    inner.pacer.limited = (ms, now) => {
      resolve(ms);
      limited(ms, now);
    };
  });
  const refused = client.send(B, 'm0');
  t.equal(await told, SENDS_BUSY_RETRY_MS, "the gateway refused a send, and its receipt engaged the client's pacer");
  gw.relay.limits.maxSendsInFlight = cap;
  const results: SendResult[] = [await refused];

  const sent: string[] = [];
  let fifth: Promise<SendResult> | null = null;
  const raw = inner.conn.request.bind(inner.conn);
  inner.conn.request = (op, timeoutMs) => {
    if (typeof op === 'object' && op.send) {
      sent.push(bytesToHex(op.send.envelopes![0]!.id!));
      // The third goes out a turn (1 s) past the quiet period: the fifth is asked now.
      if (sent.length === 3) fifth = client.send(B, 'm5');
    }
    return raw(op, timeoutMs);
  };
  inner.pacer.limited(1_000);
  const first = [1, 2, 3, 4].map((i) => client.send(B, `m${i}`));
  const settled: PromiseSettledResult<SendResult>[] = await Promise.allSettled(first);
  t.ok(fifth !== null, 'the fifth was asked as the third went out');
  settled.push(...(await Promise.allSettled([fifth!])));
  t.same(settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), [], 'all five delivered');
  results.push(...settled.map((r) => (r as PromiseFulfilledResult<SendResult>).value));
  const which = new Map(results.map((r, i) => [r.id, i]));
  t.same(sent.map((id) => which.get(id)), [1, 2, 3, 4, 5], 'send ops sent in the order asked: the fifth behind the fourth, which was waiting');
  checkEachArrivedOnce(t, results, bConn, b);
});

t.test('a send refused by a receipt that paces the stream waits for its retry in the pacer\'s queue; one refused alone does not', async (t) => {
  class QueuePacer extends SendPacer {
    readonly log: string[] = [];
    override join(turn = false): void {
      this.log.push(turn ? 'join turn' : 'join retry');
      super.join(turn);
    }
    override leave(turn = false): void {
      this.log.push(turn ? 'leave turn' : 'leave retry');
      super.leave(turn);
    }
  }
  for (const [what, receipt, queued] of [
    ['RATE_LIMITED retry_after_ms 20', { code: 'RATE_LIMITED', retryAfterMs: 20 }, true],
    ['UNAVAILABLE with retry_after_ms', { code: 'UNAVAILABLE', retryAfterMs: 20 }, true],
    ['UNAVAILABLE without retry_after_ms', { code: 'UNAVAILABLE', retryAfterMs: 0 }, false],
  ] as const) {
    const s = scriptedSend([receipt]);
    const pacer = new QueuePacer();
    const res = await deliverToRoute(new Uint8Array(32), {
      request: s.request, discovery: s.discovery, seal: s.seal, deadline: Date.now() + 20_000, pacer, random: () => 0,
    });
    t.equal(res.status, 'delivered', `${what}: retried and delivered`);
    t.same(pacer.log.filter((e) => e.endsWith('retry')), queued ? ['join retry', 'leave retry'] : [], `${what}: ${queued ? 'its retry waited in the queue' : 'not queued'}`);
    t.equal(pacer.turnsWaiting, 0, `${what}: none left waiting`);
  }
});

t.test('SendPacer join(turn)/leave(turn): the ops waiting for a turn taken are counted', async (t) => {
  const p = new SendPacer();
  p.join(true);
  p.join();
  t.equal(p.turnsWaiting, 1, 'one waits for its turn, one for its retry');
  p.leave();
  t.equal(p.turnsWaiting, 1, 'the retry left');
  p.leave(true);
  t.equal(p.turnsWaiting, 0, 'the turn came');
  p.leave(true);
  t.equal(p.turnsWaiting, 0, 'never below 0');
});
