// register run again right after a dropped registration, on a number near its device
// limit. The dropped attempt's directory write landed (its answer lost, then the attempt
// was stopped), so its device stays listed until the gateway's background removal
// (Privacy.eraseUnfinished) has run: slow NATS, a removal that failed (then the idle
// expiry, weeks), or a gateway shutting down. Before, the re-run made a fresh device and
// the gateway refused it TOO_MANY_DEVICES, counting the dropped one. Now the profile keeps
// the device a register went out with (pending-device.json) until a registration
// finishes, and the re-run for the same number sends that same device again: the gateway
// rewrites it (Directory.upsertDevice: same device id), one device, the profile's. The
// removal, when it comes, finds it listed as the re-run wrote it and leaves it (kept).
// A real in-process gateway on a real nats-server.
import t, { type Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HushwireClient, MemoryStore, ErrorCode } from '../../client/index.ts';
import { HushwireError } from '../../relay/errors.ts';
import { routeTag } from '../../relay/tokens.ts';
import type { UnfinishedOutcome } from '../../relay/privacy/privacy.ts';
import { natsTestGateway, warmEvaluator, type TestGateway } from '../helpers/gateway.ts';
import { haveNatsServer } from '../helpers/nats-server.ts';
import { hushwire, startHushwire } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { within } from '../helpers/poll.ts';

t.setTimeout(180_000);

const skip = haveNatsServer() ? false : 'nats-server not installed';

interface Held {
  gw: TestGateway;
  /** Arms the next register write to land and then fail UNAVAILABLE, retry_after_ms 45 s
   *  (an answer lost in transit); resolves once it has. */
  loseNextWrite: () => Promise<void>;
  /** The gateway's removals of unfinished registrations, held until release(): their
   *  outcomes once run. */
  erases: { called: number; release: () => void; outcomes: Promise<UnfinishedOutcome[]> };
}

/** A gateway on NATS allowing 2 devices per number, whose removals of unfinished
 *  registrations wait (a slow NATS, or one that failed: the idle expiry's, weeks). */
async function heldGateway(t: Test, prefix: string): Promise<Held> {
  const gw = await natsTestGateway(t, prefix, { maxDevicesPerRoute: 2 });
  await warmEvaluator(gw);
  const dir = gw.relay.directory;
  const upsert = dir.upsertDevice.bind(dir);
  let lose: (() => void) | null = null;
  dir.upsertDevice = async (...args: Parameters<typeof upsert>) => {
    const r = await upsert(...args);
    const lost = lose;
    if (lost === null) return r;
    lose = null;
    setImmediate(lost);
    throw new HushwireError(ErrorCode.UNAVAILABLE, 'directory unavailable', { retryAfterMs: 45_000 });
  };
  const privacy = gw.relay.privacy;
  const erase = privacy.eraseUnfinished.bind(privacy);
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const runs: Promise<UnfinishedOutcome>[] = [];
  const erases = { called: 0, release, outcomes: Promise.resolve([] as UnfinishedOutcome[]) };
  privacy.eraseUnfinished = (...args: Parameters<typeof erase>) => {
    erases.called++;
    const run = gate.then(() => erase(...args));
    runs.push(run);
    erases.outcomes = gate.then(() => Promise.all(runs));
    return run;
  };
  t.teardown(() => { release(); dir.upsertDevice = upsert; privacy.eraseUnfinished = erase; });
  const loseNextWrite = () => new Promise<void>((r) => { lose = r; });
  return { gw, loseNextWrite, erases };
}

/** The profile's pending-device.json, if any. */
function kept(profile: string): { number: string; device: string } | undefined {
  const file = join(profile, 'pending-device.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as { number: string; device: string } : undefined;
}

/** The device ids (hex) the directory lists under `number`, sorted. */
async function listed(gw: TestGateway, number: string): Promise<string[]> {
  const tag = routeTag(await gw.relay.evaluator.routeForNumber(number));
  return (await gw.relay.directory.devices(tag)).map((d) => Buffer.from(d.device).toString('hex')).sort();
}

t.test('SDK: register again after one stopped while its device was listed: that device rewritten, no TOO_MANY_DEVICES', { skip }, async (t) => {
  const { gw, loseNextWrite, erases } = await heldGateway(t, 'regpending');
  const number = '+15550100881';
  const { device: other } = await HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number });
  const profile = join(tempDir('hw-reg-pending-'), 'p');

  // The dropped attempt: its write lands, its answer is lost, and it is stopped in the wait.
  const lost = loseNextWrite();
  const abort = new AbortController();
  const first = HushwireClient.register({ profileDir: profile, gateways: [gw.url], number, signal: abort.signal }).then(() => null, (e: unknown) => e);
  await within(lost, 60_000, 'the first register\'s write landing with its answer lost');
  abort.abort();
  t.equal((await within(first, 20_000, 'the first register ending at the abort') as Error).name, 'AbortError');
  const both = await listed(gw, number);
  t.equal(both.length, 2, 'the number lists its device beside its other one: at its limit of 2');
  const pending = { device: both.find((d) => d !== other) };
  t.match(kept(profile), { number, device: pending.device }, 'the profile keeps the device its register went out with');

  // Run again at once, its device's removal still to come.
  const { device } = await HushwireClient.register({ profileDir: profile, gateways: [gw.url], number });
  t.equal(device, pending.device, 'the same device, sent again');
  t.same(await listed(gw, number), both, 'rewritten, not added: still two devices');
  t.notOk(existsSync(join(profile, 'pending-device.json')), 'nothing pending once registered');
  t.ok(erases.called >= 1, 'the stopped attempt\'s removal was under way');
  erases.release();
  t.same(await within(erases.outcomes, 60_000, 'the held removal'), ['kept'], 'the removal leaves the device the re-run registered');
  t.same(await listed(gw, number), both, 'it stays listed');
  const c = await HushwireClient.open(profile, { receive: false });
  t.teardown(() => c.close());
  await c.connect();
  t.equal(c.deviceId, pending.device, 'and the profile signs in as it');
});

t.test('SDK: a register refused at its only send (TOO_MANY_DEVICES) keeps no pending device', { skip }, async (t) => {
  const { gw } = await heldGateway(t, 'regpending2');
  const number = '+15550100882';
  for (let i = 0; i < 2; i++) await HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number });
  const profile = join(tempDir('hw-reg-pending2-'), 'p');
  await t.rejects(HushwireClient.register({ profileDir: profile, gateways: [gw.url], number }), { code: ErrorCode.TOO_MANY_DEVICES });
  t.notOk(existsSync(profile), 'the profile directory it made is removed: nothing of the device kept');
});

t.test('hushwire register: Ctrl-C in the wait, then register again at once: registered, the same device', { skip }, async (t) => {
  const { gw, loseNextWrite } = await heldGateway(t, 'regpendingcli');
  const number = '+15550100883';
  await HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number });
  const profile = join(tempDir('hw-reg-pending-cli-'), 'p');
  const args = ['register', '--gateway', gw.url, '--number', number, '--profile', profile];
  const lost = loseNextWrite();
  const run = startHushwire(t, args, { withoutTapHooks: true });
  await within(lost, 60_000, 'the first register\'s write landing with its answer lost');
  run.proc.kill('SIGINT');
  await within(run.exited, 20_000, 'register ending at SIGINT');
  t.equal(run.proc.signalCode, 'SIGINT', `ended by SIGINT (stderr: ${run.stderr()})`);
  t.equal((await listed(gw, number)).length, 2, 'its device is listed: the number at its limit');
  const pending = kept(profile)?.device;
  const again = await hushwire(args);
  t.equal(again.code, 0, `registered (stderr: ${again.stderr})`);
  const { device } = JSON.parse(again.stdout) as { device: string };
  t.equal((await listed(gw, number)).length, 2, 'still two devices');
  t.equal(device, pending, 'the device the stopped attempt went out with');
  t.ok((await listed(gw, number)).includes(device), 'the profile\'s among them');
});
