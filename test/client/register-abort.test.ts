// Stopping a registration while it waits to send its register again. The SDK's register
// (and `hushwire register`) resends the same register after the gateway's UNAVAILABLE,
// TIMEOUT or RATE_LIMITED, waiting max(retry_after_ms, backoff) in between
// (register-retry.test.ts). That wait used to run its course whatever happened: an SDK
// user had no way to stop it, and a Ctrl-C in the CLI was held ("letting the registration
// in flight end") through the whole wait and the next try. Now an AbortSignal given to
// register() ends the wait at once: the connection closed, the profile's lock released,
// register() rejecting with the signal's reason; the CLI aborts so at its first signal
// and ends by the signal (a shell shows 130). The gateway answers UNAVAILABLE with retry_after_ms 45 s after its
// directory write landed (a lost answer), so the device the register wrote is listed
// until the closed connection has it removed (relay/session.ts #eraseUnfinished).
// A real in-process gateway on a real nats-server.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket as WsWebSocket } from 'ws';
import { HushwireClient, ErrorCode } from '../../client/index.ts';
import { HushwireError } from '../../relay/errors.ts';
import { routeTag } from '../../relay/tokens.ts';
import { natsTestGateway, warmEvaluator, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { startHushwire } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { until, within } from '../helpers/poll.ts';

t.setTimeout(180_000);

const skip = haveNatsServer() ? false : 'nats-server not installed';
/** The gateway's retry_after_ms: within the SDK's 60 s retry window, far beyond the test's waits. */
const RETRY_AFTER_MS = 45_000;

interface Failing {
  gw: TestGateway;
  /** Register writes that reached the directory. */
  writes: () => number;
  /** Resolves at the first write's failure, once its answer is on its way. */
  failed: Promise<void>;
  /** Codes sent (the dev verifier's deliveries). */
  sms: () => number;
}

/** A gateway on NATS whose register writes land and then fail UNAVAILABLE with
 *  retry_after_ms RETRY_AFTER_MS (the answer lost in transit: the device is listed). */
async function failingGateway(t: Test, prefix: string): Promise<Failing> {
  const gw = await natsTestGateway(t, prefix);
  await warmEvaluator(gw);
  const dir = gw.relay.directory;
  const upsert = dir.upsertDevice.bind(dir);
  let writes = 0;
  let fail!: () => void;
  const failed = new Promise<void>((r) => { fail = r; });
  dir.upsertDevice = async (...args: Parameters<typeof upsert>) => {
    writes++;
    await upsert(...args);
    setImmediate(fail);
    throw new HushwireError(ErrorCode.UNAVAILABLE, 'directory unavailable', { retryAfterMs: RETRY_AFTER_MS });
  };
  t.teardown(() => { dir.upsertDevice = upsert; });
  let sms = 0;
  const verifier = gw.relay.verifier;
  const deliver = verifier.deliver.bind(verifier);
  verifier.deliver = async (n: string, code: string) => { sms++; return deliver(n, code); };
  return { gw, writes: () => writes, failed, sms: () => sms };
}

/** The device ids (hex) the directory lists under `number`. */
async function listed(gw: TestGateway, number: string): Promise<string[]> {
  const tag = routeTag(await gw.relay.evaluator.routeForNumber(number));
  return (await gw.relay.directory.devices(tag)).map((d) => Buffer.from(d.device).toString('hex'));
}

/** The gateway removes the device the closed connection's unfinished register left. */
async function removedByGateway(t: Test, gw: TestGateway, number: string): Promise<void> {
  await until('the unfinished registration\'s device removed by the gateway', async () => (await listed(gw, number)).length === 0, 60_000, 200);
  t.pass('the number lists no device');
}

t.test('SDK: an abort during the wait before the register is sent again ends it at once', { skip }, async (t) => {
  const { gw, writes, failed, sms } = await failingGateway(t, 'regabort');
  const number = '+15550100871';
  const profile = join(tempDir('hw-reg-abort-'), 'p');
  // Frames the SDK received: the challenge, verify_started, then the register's error.
  let frames = 0;
  let answered!: () => void;
  const gotError = new Promise<void>((r) => { answered = r; });
  class Watching extends WsWebSocket {
    constructor(...args: ConstructorParameters<typeof WsWebSocket>) {
      super(...args);
      this.addEventListener('message', () => { if (++frames === 3) setImmediate(answered); });
    }
  }
  const abort = new AbortController();
  const reason = new Error('the user stopped it');
  const registering = HushwireClient.register({ profileDir: profile, gateways: [gw.url], number, signal: abort.signal, WebSocket: Watching as never })
    .then(() => null, (e: unknown) => e);
  await within(failed, 60_000, 'the register\'s write failing');
  await within(gotError, 60_000, 'the register\'s error reaching the SDK');
  t.equal(writes(), 1, 'one register reached the write');
  t.equal((await listed(gw, number)).length, 1, 'its device is listed (the answer was lost)');
  abort.abort(reason);
  const err = await within(registering, 20_000, 'register() ending at the abort (it waited out retry_after_ms 45 s before)');
  t.equal(err, reason, 'it rejects with the signal\'s reason');
  t.equal(writes(), 1, 'the register was not sent again');
  t.equal(sms(), 1, 'one code');
  t.notOk(existsSync(join(profile, 'profile.lock')), 'the profile\'s lock released');
  t.notOk(existsSync(join(profile, 'device.json')), 'nothing kept in the profile');
  await until('the gateway to see the connection closed', () => [...gw.relay.sessions()].length === 0, 20_000);
  t.pass('the connection is closed');
  await removedByGateway(t, gw, number);
});

t.test('SDK: a signal aborted before the call: nothing is sent', { skip }, async (t) => {
  const { gw, sms } = await failingGateway(t, 'regabort0');
  const abort = new AbortController();
  abort.abort();
  const err = await HushwireClient.register({ profileDir: join(tempDir('hw-reg-abort0-'), 'p'), gateways: [gw.url], number: '+15550100872', signal: abort.signal })
    .then(() => null, (e: unknown) => e);
  t.equal(err, abort.signal.reason, 'rejects with its reason');
  t.equal((err as Error).name, 'AbortError');
  t.equal(sms(), 0, 'no code sent');
  await t.rejects(HushwireClient.register({ profileDir: join(tempDir('hw-reg-abort0-'), 'q'), gateways: [gw.url], number: '+15550100872', signal: 'stop' as never }), { code: ErrorCode.BAD_REQUEST, message: /option signal must be an AbortSignal/ });
});

t.test('hushwire register: Ctrl-C (SIGINT) during the wait ends it at once, by SIGINT (130), lock released', { skip }, async (t) => {
  const { gw, writes, failed } = await failingGateway(t, 'regabortcli');
  const number = '+15550100873';
  const profile = join(tempDir('hw-reg-abort-cli-'), 'p');
  // Without tap's NODE_OPTIONS (its signal-exit changes how a signal ends the command).
  const run = startHushwire(t, ['register', '--gateway', gw.url, '--number', number, '--profile', profile], { withoutTapHooks: true });
  await within(failed, 60_000, 'the register\'s write failing');
  t.equal((await listed(gw, number)).length, 1, 'its device is listed (the answer was lost)');
  run.proc.kill('SIGINT');
  await within(run.exited, 20_000, `register ending at SIGINT (it waited out retry_after_ms 45 s before; stderr: ${run.stderr()})`);
  t.same({ code: run.proc.exitCode, signal: run.proc.signalCode }, { code: null, signal: "SIGINT" }, `ended by SIGINT, as at the code prompt: a shell shows 130 (exit ${run.proc.exitCode}; stderr: ${run.stderr()})`);
  t.match(run.stderr(), /interrupted: the registration was stopped before it was registered \(nothing to undo\)/);
  t.notMatch(run.stderr(), /could not finish the registration/, 'no retry ran out');
  t.equal(run.stdout(), '', 'nothing printed as registered');
  t.equal(writes(), 1, 'the register was not sent again');
  t.notOk(existsSync(join(profile, 'profile.lock')), 'the profile lock was removed');
  t.notOk(existsSync(join(profile, 'device.json')), 'the profile holds no device');
  await removedByGateway(t, gw, number);
});
