// The SDK's register() (client/register.ts sendVerifyStart) and the CLI's words
// (cli/errors.ts) when the gateway's SMS bridge refuses (relay/verifier/webhook.ts
// refusalOf; docs/CLIENT.md, Registration retries):
// - a number the bridge will not send to (422): BAD_NUMBER, asked once, exit 2;
// - a bridge refusing the gateway's token (401): UNAVAILABLE with retryAfterMs 60,000,
//   asked once (the wait is past the 25 s retry window), the CLI saying "try again in
//   60 s", not "in a moment";
// - a busy bridge's Retry-After: waited for before asking again when it fits the
//   window (2 s: registered, one SMS), told when it does not (120 s: asked once).
// Before, each of these was UNAVAILABLE with retry_after_ms 1000: asked again 5 times
// in a few seconds, then "try again in a moment".
// A real in-process gateway (embedded bus), its webhook verifier POSTing to a real
// node:http server on loopback (test/helpers/refusing-bridge.ts).
import t, { type Test } from 'tap';
import { HushwireClient, MemoryStore, ErrorCode } from '../../client/index.ts';
import { HushwireError } from '../../relay/errors.ts';
import { formatError, exitCodeFor } from '../../cli/errors.ts';
import { startTestGateway, warmEvaluator, type TestGateway } from '../helpers/gateway.ts';
import { verifyStartCharges } from '../helpers/verify-start.ts';
import { startRefusingBridge, type BridgeAnswer, type RefusingBridge } from '../helpers/refusing-bridge.ts';
import { within } from '../helpers/poll.ts';

t.setTimeout(120_000);

let seq = 0;
const freshNumber = (): string => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(5000 + ++seq).padStart(4, '0')}`;

async function setup(t: Test, answer: BridgeAnswer): Promise<{ gw: TestGateway; bridge: RefusingBridge }> {
  const bridge = await startRefusingBridge(t, answer);
  const gw = await startTestGateway({ verifier: 'webhook', verifierUrl: bridge.url, verifyStartsPerNumber: 5, logLevel: 'warn' });
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  return { gw, bridge };
}

async function register(gw: TestGateway, bridge: RefusingBridge, number: string, store = new MemoryStore()): Promise<unknown> {
  return within(HushwireClient.register({ store, gateways: [gw.url], number, verifyCode: () => bridge.code(0) }).then((x) => x, (e: unknown) => e), 60_000, 'the registration');
}

t.test('a number the bridge will not send to: BAD_NUMBER, asked once, nothing charged, exit 2', async (t) => {
  const { gw, bridge } = await setup(t, { status: 422 });
  const number = freshNumber();
  const store = new MemoryStore();
  const e = await register(gw, bridge, number, store);
  t.ok(e instanceof HushwireError, 'a HushwireError');
  t.match(e, { code: ErrorCode.BAD_NUMBER, retryAfterMs: 0, message: 'the service\'s SMS bridge will not send a verification code to this number (HTTP 422)' });
  t.equal(bridge.posts.length, 1, 'asked once: the answer is final');
  t.equal(await verifyStartCharges(gw, number), 0, 'nothing charged');
  t.equal(await store.read('device.json'), undefined, 'nothing kept');
  t.equal(formatError(e), 'hushwire: the service\'s SMS bridge will not send a verification code to this number (HTTP 422) (BAD_NUMBER)');
  t.equal(exitCodeFor(e), 2, 'exit 2, as a number that is not E.164');
});

t.test('a bridge refusing the gateway\'s token: asked once, told to try again in a minute', async (t) => {
  const { gw, bridge } = await setup(t, { status: 401 });
  const number = freshNumber();
  const e = await register(gw, bridge, number);
  t.ok(e instanceof HushwireError, 'a HushwireError');
  const err = e as HushwireError;
  t.equal(err.code, ErrorCode.UNAVAILABLE);
  t.equal(err.retryAfterMs, 60_000, 'the gateway\'s retry_after_ms');
  t.match(err.message, /^the gateway could not send a verification code \(verifier answered HTTP 401: the service's SMS bridge refuses this gateway's requests \(a configuration fault for its operator\), UNAVAILABLE; asked once\): the number was not sent a code$/, 'no "in a moment"');
  t.equal(bridge.posts.length, 1, 'asked once: a minute is past the retry window');
  t.equal(await verifyStartCharges(gw, number), 0, 'nothing charged');
  t.match(formatError(e), /: the number was not sent a code; try again in 60 s \(UNAVAILABLE\)$/, 'the CLI says when');
  t.equal(exitCodeFor(e), 5);
});

t.test('a busy bridge\'s Retry-After within the window: waited for, then registered, one SMS', async (t) => {
  const { gw, bridge } = await setup(t, { status: 429, headers: { 'retry-after': '2' } });
  bridge.thenOkAfter = 1;
  const number = freshNumber();
  const r = await register(gw, bridge, number);
  t.notOk(r instanceof Error, `registered${r instanceof Error ? ` (${r.message})` : ''}`);
  t.equal(bridge.posts.length, 2, 'asked twice');
  t.equal(bridge.codes.length, 1, 'one SMS');
  const gap = bridge.posts[1]!.at - bridge.posts[0]!.at;
  t.ok(gap >= 1_990, `the second ask came after the bridge's 2 s at least (${Math.round(gap)} ms)`);
  t.equal(await verifyStartCharges(gw, number), 1, 'charged once');
});

t.test('a busy bridge\'s Retry-After past the window: asked once, told when', async (t) => {
  const { gw, bridge } = await setup(t, { status: 503, headers: { 'retry-after': '120' } });
  const number = freshNumber();
  const e = await register(gw, bridge, number);
  t.match(e, { code: ErrorCode.UNAVAILABLE, retryAfterMs: 120_000 });
  t.match((e as Error).message, /\(verifier answered HTTP 503, UNAVAILABLE; asked once\): the number was not sent a code$/);
  t.equal(bridge.posts.length, 1, 'asked once');
  t.equal(await verifyStartCharges(gw, number), 0, 'nothing charged');
  t.match(formatError(e), /; try again in 2 min \(UNAVAILABLE\)$/);
});
