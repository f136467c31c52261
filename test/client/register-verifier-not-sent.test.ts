// verify_start at a webhook verifier that certainly sent nothing is asked again; one that
// may have sent the code is not. d70b58c/795495b made a verify_start refused BEFORE the
// verifier was called answer UNAVAILABLE with retry_after_ms ("no verification code was
// sent"), which the SDK asks again on; every failure once the verifier was called lost its
// retry_after_ms, also those the verifier knows sent nothing (its bridge never reached:
// connection refused, name not found; or refusing the request outright: 503, 4xx). Those
// are VerifierFailure notSent (decided by relay/verifier/webhook.ts, not by the session),
// whose number's charge was given back already: they are now answered like the failures
// before the verifier (relay/session.ts noCodeSent), so `register` asks again and goes
// through once the bridge is back, the number charged once for its one SMS. A bridge
// that took the request and then failed (500, or the connection closed without an
// answer) may have sent it: asked once, no retry_after_ms, the charge kept.
// A real in-process gateway (embedded bus) with the webhook verifier pointed at a real
// HTTP server on loopback (test/helpers/sms-bridge.ts).
import t, { type Test } from 'tap';
import { HushwireClient, MemoryStore, ErrorCode } from '../../client/index.ts';
import { HushwireError } from '../../relay/errors.ts';
import { failureOf } from '../../relay/verifier/verifier.ts';
import { startTestGateway, warmEvaluator, type TestGateway } from '../helpers/gateway.ts';
import { verifyStartCharges } from '../helpers/verify-start.ts';
import { startSmsBridge, type BridgeMode, type SmsBridge } from '../helpers/sms-bridge.ts';
import { within } from '../helpers/poll.ts';

t.setTimeout(120_000);

let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++seq).padStart(4, '0')}`;

interface Setup {
  gw: TestGateway;
  bridge: SmsBridge;
  /** How each of the gateway's verifier calls ended: 'sent', or 'notSent' / 'maybe'. */
  calls: string[];
}

/** A gateway whose webhook verifier POSTs to a bridge in `mode`; at the end of the first
 *  verifier call (before its verify_start is answered) the bridge switches to `then`. */
async function setup(t: Test, mode: BridgeMode, then?: BridgeMode): Promise<Setup> {
  const bridge = await startSmsBridge(t, mode);
  const gw = await startTestGateway({ verifier: 'webhook', verifierUrl: bridge.url, verifyStartsPerNumber: 5, logLevel: 'warn' });
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  const calls: string[] = [];
  const verifier = gw.relay.verifier;
  const deliver = verifier.deliver.bind(verifier);
  verifier.deliver = async (number: string, code: string) => {
    try {
      const r = await deliver(number, code);
      calls.push('sent');
      return r;
    } catch (e) {
      calls.push(failureOf(e).notSent ? 'notSent' : 'maybe');
      if (calls.length === 1 && then !== undefined) await bridge.set(then);
      throw e;
    }
  };
  t.teardown(() => { verifier.deliver = deliver; });
  return { gw, bridge, calls };
}

for (const [mode, what] of [['down', 'nothing listens (connection refused)'], ['refuse', 'the bridge answers 503 (it sent nothing)']] as const) {
  t.test(`${what}: verify_start is asked again and the registration finishes, one SMS, one charge`, async (t) => {
    const { gw, bridge, calls } = await setup(t, mode, 'ok');
    const number = freshNumber();
    const store = new MemoryStore();
    const r = await within(HushwireClient.register({ store, gateways: [gw.url], number, verifyCode: () => bridge.code(0) }).then((x) => x, (e: unknown) => e), 60_000, 'the registration');
    t.notOk(r instanceof Error, `registered${r instanceof Error ? ` (${r.message})` : ''}`);
    t.same(calls, ['notSent', 'sent'], 'the verifier was called twice: first certainly not sent, then sent');
    t.equal(bridge.codes.length, 1, 'one SMS');
    t.equal(bridge.posts, mode === 'down' ? 1 : 2, mode === 'down' ? 'the refused call never reached the bridge' : 'the refused call reached the bridge');
    t.equal(await verifyStartCharges(gw, number), 1, 'the number is charged once: the start that sent nothing was given back');
    t.ok((await store.read('device.json')) !== undefined, 'the profile holds the device');
  });
}

t.test('the bridge stays down: register fails saying no code was sent, after a bounded number of tries, nothing charged', async (t) => {
  const { gw, bridge, calls } = await setup(t, 'down');
  const number = freshNumber();
  const err = await within(HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number, verifyCode: () => bridge.code(0) }).then(() => null, (e: unknown) => e), 60_000, 'the registration');
  t.ok(err instanceof HushwireError, 'a HushwireError');
  const e = err as HushwireError;
  t.equal(e.code, ErrorCode.UNAVAILABLE);
  t.match(e.message, /verifier unreachable/, 'saying what the gateway said');
  t.match(e.message, /the number was not sent a code; try again in a moment/, 'that no code was sent');
  t.ok(e.retryAfterMs > 0, 'with the gateway\'s retry_after_ms');
  t.ok(calls.length > 1 && calls.length <= 5, `asked again, a bounded number of times (${calls.length})`);
  t.ok(calls.every((c) => c === 'notSent'));
  t.equal(await verifyStartCharges(gw, number), 0, 'nothing charged');
});

for (const [mode, what] of [['drop', 'takes the request and closes the connection unanswered'], ['fail', 'takes the request and answers 500']] as const) {
  t.test(`a bridge that ${what} may have sent the code: asked once, no retry_after_ms, the charge kept`, async (t) => {
    const { gw, bridge, calls } = await setup(t, mode, 'ok');
    const number = freshNumber();
    const err = await within(HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number, verifyCode: () => bridge.code(0) }).then(() => null, (e: unknown) => e), 60_000, 'the registration');
    t.ok(err instanceof HushwireError && err.code === ErrorCode.UNAVAILABLE, 'UNAVAILABLE');
    t.equal((err as HushwireError).retryAfterMs, 0, 'no retry_after_ms');
    t.notMatch((err as Error).message, /not sent a code/, 'not said to be unsent');
    t.same(calls, ['maybe'], 'the verifier was called once (no second SMS), its failure not a certain one');
    t.equal(bridge.posts, 1, 'the bridge read one request');
    t.equal(bridge.codes.length, 0);
    t.equal(await verifyStartCharges(gw, number), 1, 'the charge stays: the code may have gone out');
  });
}
