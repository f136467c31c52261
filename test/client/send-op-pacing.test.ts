// The SDK's send pacer and a `send` op refused whole (client/outgoing.ts opPacesStream,
// SendPacer.refused): a gateway that answers the op itself with `error RATE_LIMITED` or
// `error UNAVAILABLE` (with or without retry_after_ms), instead of one receipt per
// envelope, took none of its envelopes and would refuse every other send of the client
// the same way. Such an answer now slows the client's whole outgoing stream as a receipt
// that paces it does (send-pacing.test.ts): one send op per retry_after_ms, or per a
// full-jitter backoff when none was given; each refused send retries with its first
// envelopes. Before, only receipts told the pacer: each refused send retried alone on
// its own backoff and a queue kept coming back at the gateway together, refused again.
//
// This repository's gateway refuses sends per envelope, never a whole send op with those
// codes (relay/session.ts #onSend), so the refusal here comes from a middlebox in the
// sender's socket (the SDK's `WebSocket` option, ws underneath): in front of a real
// gateway on a real nats-server it answers a send op itself when the previous one it let
// through is less than WINDOW_MS old, as a gateway (another implementation or version)
// or a proxy that sheds load per op would; everything else, and the send ops it lets
// through, reach the gateway untouched. No timing is asserted: the pacing shows as the
// count of refused ops, which pacing bounds (the refused sends of the first burst, and
// slack for a stalled machine): 15-21 here for 16 sends, bound 31; 53-60 unpaced.
import t from 'tap';
import WsWebSocket from 'ws';
import { HushwireError, ErrorCode, type ClientOptions } from '../../client/index.ts';
import { SendPacer, deliverToRoute, type SealedForDevice } from '../../client/outgoing.ts';
import type { Discovery, VerifiedDevice } from '../../client/discovery.ts';
import { natsTestGateway, warmEvaluator } from '../helpers/gateway.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { senderAndRawRecipient, ackEveryDelivery, checkEachArrivedOnce } from '../helpers/paced-sends.ts';
import { wire, encodeFrame, type OpProps } from '../../relay/wire.ts';
import type { Test } from 'tap';

const skip = !haveNatsServer() && 'nats-server not installed';

/** The least time between two send ops the middlebox lets through. */
const WINDOW_MS = 300;

interface Shedding {
  code: typeof ErrorCode.RATE_LIMITED | typeof ErrorCode.UNAVAILABLE;
  /** Whether the refusal says what is left of the window (retry_after_ms). */
  retryAfter: boolean;
  /** Send ops let through to the gateway, and answered here. */
  passed: number;
  refused: number;
  lastPassed: number;
}

/** ws's WebSocket, as a WHATWG-style constructor for the SDK's `WebSocket` option, with
 *  the middlebox of `shed` on the send ops it writes. */
function sheddingWebSocket(shed: Shedding): ClientOptions['WebSocket'] {
  class Shedding extends WsWebSocket {
    override send(data: Uint8Array): void {
      const ops = wire.Frame.decode(data).ops;
      const pass: OpProps[] = [];
      const refusals: OpProps[] = [];
      for (const op of ops) {
        const now = Date.now();
        if (!op.send) {
          pass.push(op);
        } else if (now - shed.lastPassed >= WINDOW_MS) {
          shed.lastPassed = now;
          shed.passed++;
          pass.push(op);
        } else {
          shed.refused++;
          const left = Math.max(1, WINDOW_MS - (now - shed.lastPassed));
          refusals.push({ req: op.req, error: { code: shed.code, message: 'busy', ...(shed.retryAfter ? { retryAfterMs: left } : {}) } });
        }
      }
      if (refusals.length === 0) return super.send(data);
      if (pass.length > 0) super.send(encodeFrame(pass));
      const answer = encodeFrame(refusals);
      const ev = { data: answer.buffer.slice(answer.byteOffset, answer.byteOffset + answer.byteLength) };
      // Answered on a later turn, as a frame from the peer would be.
      setTimeout(() => (this.onmessage as ((e: typeof ev) => void) | null)?.call(this, ev), 1);
    }
  }
  return Shedding as unknown as ClientOptions['WebSocket'];
}

/** A real gateway on a real nats-server; recipient B (raw protocol, acking every
 *  delivery as it comes) on it; sender A, an SDK client whose socket goes through the
 *  middlebox of `shed`, with B's route and devices looked up before the queue. */
async function shedding(t: Test, prefix: string, shed: Shedding) {
  const gw = await natsTestGateway(t, prefix);
  await warmEvaluator(gw);
  const { B, b, bConn, client } = await senderAndRawRecipient(t, gw.url, { WebSocket: sheddingWebSocket(shed) });
  ackEveryDelivery(t, bConn);
  return { gw, B, b, bConn, client };
}

const N = 16;

const cases: [string, Shedding['code'], boolean][] = [
  ['error RATE_LIMITED with retry_after_ms', ErrorCode.RATE_LIMITED, true],
  ['error UNAVAILABLE with retry_after_ms', ErrorCode.UNAVAILABLE, true],
  ['error UNAVAILABLE without retry_after_ms (full-jitter backoff)', ErrorCode.UNAVAILABLE, false],
  ['error RATE_LIMITED without retry_after_ms (full-jitter backoff)', ErrorCode.RATE_LIMITED, false],
];

let n = 0;
for (const [what, code, retryAfter] of cases) {
  t.test(`send ops refused whole, ${what}: the queue goes out paced; every message arrives once, with its own sequence number`, { skip }, async (t) => {
    const shed: Shedding = { code, retryAfter, passed: 0, refused: 0, lastPassed: 0 };
    const { b, bConn, B, client } = await shedding(t, `sop${n++}`, shed);
    const results = await Promise.all(Array.from({ length: N }, (_, i) => client.send(B, `m${i}`)));
    t.ok(results.every((r) => r.status === 'delivered'), 'every send delivered');
    t.equal(new Set(results.map((r) => r.id)).size, N, 'each with its own id');
    t.equal(shed.passed, N, 'N send ops reached the gateway: a refused op was never also taken');
    checkEachArrivedOnce(t, results, bConn, b);

    // The first burst: all N went out at once, one was let through, N - 1 refused. From
    // then on the client's send ops are spaced (by the retry_after_ms, about WINDOW_MS;
    // or by a backoff that doubles while ops sent at it are still refused), and nearly
    // every one is let through. Allowed on top: each send refused once more (a stalled
    // machine sends paced ops together; a backoff gap drawn below WINDOW_MS). Unpaced,
    // each refused send came back on its own backoff, all within the same few hundred
    // milliseconds, and most were refused again: over 3 * N refusals.
    const bound = (N - 1) + N;
    t.ok(shed.refused >= N - 1, `the burst was refused (${shed.refused})`);
    t.ok(shed.refused <= bound, `the client's sends were paced: ${shed.refused} refusals, at most ${bound}`);
    t.comment(`refusals: ${shed.refused}`);
  });
}

// ---- which whole-op errors pace the stream (deliverToRoute with a scripted request)

class WatchedPacer extends SendPacer {
  readonly told: number[] = [];
  override refused(retryAfterMs: number, sentAt: number, random?: () => number, now?: number): void {
    this.told.push(retryAfterMs);
    super.refused(retryAfterMs, sentAt, random, now);
  }
}

t.test("the SDK's own errors of a send op (not the gateway's answer) do not pace the stream", async (t) => {
  const device = { device: new Uint8Array(16).fill(1) } as unknown as VerifiedDevice;
  const discovery = { devicesFor: async () => ({ devices: [device], cached: false }) } as unknown as Discovery;
  const id = new Uint8Array(16).fill(9);
  const seal = (devices: VerifiedDevice[]): SealedForDevice[] => devices.map((d) => ({ device: d, envelope: { id } }));
  for (const [code, retryAfterMs] of [[ErrorCode.RATE_LIMITED, 0], [ErrorCode.UNAVAILABLE, 0], [ErrorCode.UNAVAILABLE, 1000], [ErrorCode.TIMEOUT, 0]] as const) {
    let calls = 0;
    // e.g. 'too many requests pending' (RATE_LIMITED), 'not connected' (UNAVAILABLE)
    const request = async (): Promise<OpProps> => {
      if (calls++ === 0) throw new HushwireError(code, 'local', { retryAfterMs });
      return { sendResult: { receipts: [{ id, status: 'delivered' }] } } as OpProps;
    };
    const pacer = new WatchedPacer();
    const res = await deliverToRoute(new Uint8Array(32), { request, discovery, seal, deadline: Date.now() + 20_000, pacer, random: () => 0 });
    t.equal(res.status, 'delivered', `${code} ${retryAfterMs}: retried and delivered`);
    t.same(pacer.told, [], `${code} ${retryAfterMs}: pacer not told`);
  }
});

// ---- SendPacer.refused: its arithmetic, on a clock of its own

t.test('SendPacer.refused: retry_after_ms as for receipts; without it an equal-jitter backoff that rises once per burst, capped, ended by the hold', async (t) => {
  const top = () => 0.999_999; // draws at the top of the backoff window
  let p = new SendPacer();
  p.refused(400, 0, top, 1_000);
  t.equal(p.delay(1_000), 400, 'retry_after_ms: the first slot after it');
  t.equal(p.delay(1_000), 800, 'then one per retry_after_ms');

  p = new SendPacer();
  // A burst sent at 0, refused at 10, 11, 12: the level rises once (window 500 ms).
  p.refused(0, 0, top, 10);
  p.refused(0, 0, top, 11);
  p.refused(0, 0, top, 12);
  t.equal(p.delay(12), 499, "one rise for the burst: the first window's gap (500 ms, drawn at its top)");
  t.equal(p.delay(12), 2 * 499, 'then one per gap');
  // An op sent after that rise, refused all the same: the next level (1,000 ms).
  p.refused(0, 600, top, 700);
  t.equal(p.delay(700), 999, 'an op sent at the gap refused again: the window doubles');
  t.equal(p.delay(700), 2 * 999);
  // Rising on: 2,000, 4,000, then capped at 5,000.
  let now = 700;
  for (let i = 0; i < 6; i++) {
    now += 100;
    p.refused(0, now - 1, top, now);
  }
  const a = p.delay(now);
  t.equal(p.delay(now) - a, 4_999, 'capped at 5 s');

  p = new SendPacer();
  p.refused(0, 0, () => 0, 100);
  t.equal(p.delay(100), 250, 'equal jitter: never below half the window (500 ms here)');
  p = new SendPacer();
  p.refused(0, 0, () => 0.5, 100);
  t.equal(p.delay(100), 375, 'half the window plus a random share of the other half');
  // A later rise, drawn at its bottom: half of 1,000 ms, more than the gap before.
  p.refused(0, 200, () => 0, 300);
  const x = p.delay(300);
  t.equal(p.delay(300) - x, 500, 'a rise never shrinks the gap');
  // The hold ends 2 s after the last refusal: nothing paced, the level back to 0.
  t.equal(p.delay(300 + 2_000), 0, 'paced no more after the hold');
  p.refused(0, 2_400, top, 2_500);
  t.equal(p.delay(2_500), 499, 'a new spell starts again at the first window');
});
