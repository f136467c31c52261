// The SDK's register (and `hushwire register`) against a gateway whose directory write,
// OPRF evaluation (down, too slow, or busy: RATE_LIMITED) or device subscription after the
// write fails for a reason that is not the handset's: the gateway keeps the code for the
// same register on the same connection (8336bec, 373894b: relay/session.ts), and
// the SDK now sends that same register again (same device id, keys, prekey and code) on
// the same connection, after max(retry_after_ms, full-jitter backoff), a bounded number of
// times. Before, the first UNAVAILABLE ended the registration and the person had to ask for
// another SMS. A code the connection took with it is never retried, and every failure says
// that a new code is needed. Real in-process gateway; its writes and subscriptions fail on
// demand (helpers/bus-hooks.ts failDirectoryWrites, failSubscribe); the SMS are the dev
// verifier's deliveries.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HushwireClient, MemoryStore, ErrorCode } from '../../client/index.ts';
import { REGISTER_ATTEMPTS } from '../../client/register.ts';
import { HushwireError, CloseCode } from '../../relay/errors.ts';
import { routeTag } from '../../relay/tokens.ts';
import { startTestGateway, warmEvaluator, oprfKeyFile, type TestGateway } from '../helpers/gateway.ts';
import { startNatsServer, haveNatsServer } from '../helpers/nats-server.ts';
import { failDirectoryWrites, failSubscribe } from '../helpers/bus-hooks.ts';
import type { RelayLimits } from '../../relay/limits.ts';
import { hushwire, errorLineProblems } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

t.setTimeout(180_000);

let seq = 0;
const freshNumber = () => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++seq).padStart(4, '0')}`;

interface Watched {
  gw: TestGateway;
  /** Codes the gateway sent (the dev verifier's deliveries: one per SMS). */
  sms: () => number;
  /** Registers that reached the directory write (Directory.upsertDevice calls). */
  writes: () => number;
  /** Called once a code is out (armed for the register that follows). */
  onSms: { fn: () => void };
}

async function gateway(t: Test, overrides: Record<string, unknown> = {}): Promise<Watched> {
  const gw = await startTestGateway({ logLevel: 'warn', ...overrides });
  t.teardown(() => gw.close());
  await warmEvaluator(gw);
  let sms = 0;
  const onSms = { fn: () => {} };
  const verifier = gw.relay.verifier;
  const deliver = verifier.deliver.bind(verifier);
  verifier.deliver = async (number: string, code: string) => {
    const r = await deliver(number, code);
    sms++;
    onSms.fn();
    return r;
  };
  let writes = 0;
  const dir = gw.relay.directory;
  const upsert = dir.upsertDevice.bind(dir);
  dir.upsertDevice = (...args: Parameters<typeof upsert>) => {
    writes++;
    return upsert(...args);
  };
  return { gw, sms: () => sms, writes: () => writes, onSms };
}

/** The device ids (hex) the directory lists under `number`. */
async function listed(gw: TestGateway, number: string): Promise<string[]> {
  const tag = routeTag(await gw.relay.evaluator.routeForNumber(number));
  return (await gw.relay.directory.devices(tag)).map((d) => Buffer.from(d.device).toString('hex'));
}

/** The profile opens and connects: it holds the registered device's keys. */
async function connects(t: Test, store: MemoryStore): Promise<boolean> {
  const c = await HushwireClient.open(store, { receive: false });
  t.teardown(() => c.close());
  await c.connect();
  return c.connectionState === 'connected';
}

// Every case registers a fresh number through the SDK on `gw`, with a profile of its own,
// and either expects it registered or expects the HushwireError it ends with: one place
// each for that call, so that the cases show only what they set up and check.

/** Registers a fresh number on `gw` (the SDK's register, which retries): the number, the
 *  profile and the registered device (hex). */
async function registers(gw: TestGateway): Promise<{ number: string; store: MemoryStore; device: string }> {
  const number = freshNumber();
  const store = new MemoryStore();
  const { device } = await HushwireClient.register({ store, gateways: [gw.url], number });
  return { number, store, device };
}

/** Registers a fresh number on `gw` expecting it to fail: checks that it fails with a
 *  HushwireError; the number, the profile and that error. */
async function registerFails(t: Test, gw: TestGateway): Promise<{ number: string; store: MemoryStore; err: HushwireError }> {
  const number = freshNumber();
  const store = new MemoryStore();
  const e = await HushwireClient.register({ store, gateways: [gw.url], number }).then(() => null, (err: unknown) => err);
  t.ok(e instanceof HushwireError, 'it fails with a HushwireError');
  return { number, store, err: e as HushwireError };
}

t.test('a directory write that fails, then succeeds: registered with one code, one SMS', async (t) => {
  const { gw, sms, writes } = await gateway(t);
  const dir = failDirectoryWrites(t, gw.bus);
  dir.fail = 2;
  const { number, store, device } = await registers(gw);
  t.equal(dir.fail, 0, 'both failing writes were met');
  t.equal(writes(), 3, 'the same register sent three times');
  t.equal(sms(), 1, 'one code, one SMS');
  t.same(await listed(gw, number), [device], 'the profile\'s device is registered');
  t.ok(await connects(t, store), 'and signs in with the profile\'s keys');
});

t.test('a directory write that lands but loses its answer: the same register finishes it, one device', async (t) => {
  const { gw, sms, writes } = await gateway(t);
  const dir = failDirectoryWrites(t, gw.bus);
  dir.lose = 1;
  const { number, store, device } = await registers(gw);
  t.equal(dir.lose, 0, 'the first write landed and its answer was lost');
  t.equal(writes(), 2, 'sent again once');
  t.equal(sms(), 1, 'one SMS');
  t.same(await listed(gw, number), [device], 'one device under the number: the retry rewrote its own record');
  t.ok(await connects(t, store));
});

t.test('on NATS (a real nats-server): a write that fails, then one that lands and loses its answer: one device, one SMS', { skip: haveNatsServer() ? false : 'nats-server not installed' }, async (t) => {
  const nats = await startNatsServer({ t });
  const { gw, sms, writes } = await gateway(t, { nats: nats.url, transport: 'ws', oprfKeyFile: oprfKeyFile() });
  const dir = failDirectoryWrites(t, gw.bus);
  dir.fail = 1;
  dir.lose = 1;
  const { number, store, device } = await registers(gw);
  t.same([dir.fail, dir.lose], [0, 0], 'a write failed, the next landed with its answer lost');
  t.equal(writes(), 3, 'the same register sent three times');
  t.equal(sms(), 1, 'one SMS');
  t.same(await listed(gw, number), [device], 'one device under the number');
  t.ok(await connects(t, store));
});

t.test('an OPRF TIMEOUT at the gateway: the same register again registers', async (t) => {
  const { gw, sms, writes, onSms } = await gateway(t);
  const ev = gw.relay.evaluator;
  const evaluate = ev.evaluate.bind(ev);
  let fail = 0;
  ev.evaluate = async (b: Uint8Array[]) => {
    if (fail > 0) {
      fail--;
      throw new HushwireError(ErrorCode.TIMEOUT, 'OPRF request expired before it was evaluated');
    }
    return evaluate(b);
  };
  t.teardown(() => { ev.evaluate = evaluate; });
  onSms.fn = () => { fail = 1; }; // the register's evaluation, not anything before the code
  const { number, device } = await registers(gw);
  t.equal(fail, 0, 'the evaluation timed out once');
  t.equal(writes(), 1, 'written once: the first register stopped before the write');
  t.equal(sms(), 1);
  t.same(await listed(gw, number), [device]);
});

t.test('a directory write that keeps failing: a bounded number of tries, then an error that says a new code is needed', async (t) => {
  const { gw, sms, writes } = await gateway(t);
  const dir = failDirectoryWrites(t, gw.bus);
  dir.fail = 1000;
  const { number, store, err } = await registerFails(t, gw);
  t.equal(err.code, ErrorCode.UNAVAILABLE, 'with the gateway\'s code');
  t.match(err.message, new RegExp(`directory unavailable, UNAVAILABLE; tried ${REGISTER_ATTEMPTS} times, with the same code and keys`));
  t.match(err.message, /can no longer be used; register again, which sends a new code/, 'saying a new code is needed');
  t.equal(writes(), REGISTER_ATTEMPTS, `${REGISTER_ATTEMPTS} tries, no more`);
  t.equal(sms(), 1, 'one SMS');
  t.same(await listed(gw, number), [], 'nothing registered');
  t.equal(await store.read('device.json'), undefined, 'nothing kept in the profile');
});

t.test('the connection lost during the register: not sent again (the code went with it), and said so', async (t) => {
  const { gw, sms } = await gateway(t);
  // The gateway ends the socket while it writes, and the write fails: the session that
  // held the code is gone, so a new connection has no code to finish the register with.
  const dir = gw.relay.directory;
  const upsert = dir.upsertDevice.bind(dir);
  let cut = 0;
  dir.upsertDevice = async (...args: Parameters<typeof upsert>) => {
    if (cut++ === 0) {
      for (const s of gw.relay.sessions()) s.close(CloseCode.INTERNAL, 'test cut');
      throw new HushwireError(ErrorCode.UNAVAILABLE, 'directory unavailable');
    }
    return upsert(...args);
  };
  t.teardown(() => { dir.upsertDevice = upsert; });
  const { number, err } = await registerFails(t, gw);
  t.equal(err.code, ErrorCode.UNAVAILABLE);
  t.match(err.message, /^the connection to the gateway was lost during the registration \(connection lost \(close 1011 test cut\)\): the verification code was held on that connection only, so it can no longer be used; register again, which sends a new code$/);
  t.equal(cut, 1, 'not sent again');
  t.equal(sms(), 1);
  t.same(await listed(gw, number), []);
});

t.test('the connection lost while the register waits to be sent again: not sent again, and said so', async (t) => {
  const { gw, sms } = await gateway(t);
  // The gateway answers UNAVAILABLE (retry_after_ms 3 s: the SDK waits at least that), then
  // ends the socket, its answer out first (Session.close flushes it).
  const dir = gw.relay.directory;
  const upsert = dir.upsertDevice.bind(dir);
  let tries = 0;
  dir.upsertDevice = async (...args: Parameters<typeof upsert>) => {
    if (tries++ === 0) {
      setImmediate(() => { for (const s of gw.relay.sessions()) s.close(CloseCode.INTERNAL, 'test cut'); });
      throw new HushwireError(ErrorCode.UNAVAILABLE, 'directory unavailable', { retryAfterMs: 3000 });
    }
    return upsert(...args);
  };
  t.teardown(() => { dir.upsertDevice = upsert; });
  const { number, err } = await registerFails(t, gw);
  t.equal(err.code, ErrorCode.UNAVAILABLE);
  t.match(err.message, /^the gateway could not finish the registration \(directory unavailable, UNAVAILABLE\), and the connection was lost before it was tried again: the verification code was held on that connection only, so it can no longer be used; register again, which sends a new code$/);
  t.equal(tries, 1, 'not sent again on the new connection');
  t.equal(sms(), 1);
});

t.test('a failure after the directory write (the device\'s subscription): the same register finishes it, one device, one SMS', async (t) => {
  const { gw, sms, writes, onSms } = await gateway(t);
  // The write landed, then the session could not subscribe as the device: the gateway
  // keeps the code bound to that device (relay/session.ts), so the same register again
  // writes it once more and finishes the registration.
  const sub = failSubscribe(t, gw.bus);
  onSms.fn = () => { sub.fail = 1; };
  const { number, store, device } = await registers(gw);
  t.equal(sub.fail, 0, 'the subscription failed once');
  t.equal(writes(), 2, 'the same register sent again: written twice');
  t.equal(sms(), 1, 'one SMS');
  t.same(await listed(gw, number), [device], 'one device under the number, the profile\'s');
  t.ok(await connects(t, store), 'and signs in with the profile\'s keys');
});

t.test('a failure after which the gateway kept no code (it expired meanwhile): tried once more, then said that a new code is needed', async (t) => {
  const { gw, sms, writes } = await gateway(t);
  // The gateway's code lives 6 s from before its delivery, which takes 3 s: the SDK,
  // counting from the answer, still has time when the gateway's code is gone. The first
  // register's evaluation fails once that code has expired (a gateway that kept nothing).
  const ttl = 6000;
  const limits = gw.relay.limits as RelayLimits;
  limits.verifyCodeTtlMs = ttl;
  const verifier = gw.relay.verifier;
  const deliver = verifier.deliver.bind(verifier);
  let sentAt = 0;
  verifier.deliver = async (n: string, code: string) => {
    sentAt = Date.now();
    await sleep(3000);
    return deliver(n, code);
  };
  const ev = gw.relay.evaluator;
  const evaluate = ev.evaluate.bind(ev);
  let fail = 1;
  ev.evaluate = async (b: Uint8Array[]) => {
    if (sentAt > 0 && fail > 0) {
      fail--;
      await sleep(sentAt + ttl + 100 - Date.now());
      throw new HushwireError(ErrorCode.UNAVAILABLE, 'OPRF evaluator unavailable');
    }
    return evaluate(b);
  };
  t.teardown(() => { ev.evaluate = evaluate; verifier.deliver = deliver; limits.verifyCodeTtlMs = 5 * 60_000; });
  const { number, err } = await registerFails(t, gw);
  t.equal(err.code, ErrorCode.VERIFY_FAILED);
  t.match(err.message, /^the gateway no longer holds the verification code after its failure \(OPRF evaluator unavailable, UNAVAILABLE\): no pending verification for this number, or it expired; register again, which sends a new code$/);
  t.equal(fail, 0, 'the first register failed');
  t.equal(writes(), 0, 'the second was refused before the write: VERIFY_FAILED is not sent again');
  t.equal(sms(), 1);
});

t.test('RATE_LIMITED (OPRF evaluator busy): the same register again after retry_after_ms registers', async (t) => {
  const { gw, sms, writes, onSms } = await gateway(t);
  const ev = gw.relay.evaluator;
  const evaluate = ev.evaluate.bind(ev);
  const retryAfterMs = 1500;
  let fail = 0;
  let failedAt = 0;
  let retriedAt = 0;
  ev.evaluate = async (b: Uint8Array[]) => {
    if (fail > 0) {
      fail--;
      failedAt = Date.now();
      throw new HushwireError(ErrorCode.RATE_LIMITED, 'OPRF evaluator busy', { retryAfterMs });
    }
    if (failedAt > 0 && retriedAt === 0) retriedAt = Date.now();
    return evaluate(b);
  };
  t.teardown(() => { ev.evaluate = evaluate; });
  onSms.fn = () => { fail = 1; }; // the register's evaluation, not anything before the code
  const { number, store, device } = await registers(gw);
  t.equal(fail, 0, 'the evaluator was busy once');
  t.ok(retriedAt - failedAt >= retryAfterMs - 50, 'sent again no sooner than retry_after_ms');
  t.equal(writes(), 1);
  t.equal(sms(), 1, 'one SMS');
  t.same(await listed(gw, number), [device]);
  t.ok(await connects(t, store));
});

t.test('RATE_LIMITED whose retry_after_ms outlasts the code: not sent again, and said so', async (t) => {
  const { gw, sms, onSms } = await gateway(t);
  const ev = gw.relay.evaluator;
  const evaluate = ev.evaluate.bind(ev);
  let fail = 0;
  let calls = 0;
  ev.evaluate = async (b: Uint8Array[]) => {
    calls++;
    if (fail > 0) {
      fail--;
      throw new HushwireError(ErrorCode.RATE_LIMITED, 'OPRF evaluator busy', { retryAfterMs: 10 * 60_000 });
    }
    return evaluate(b);
  };
  t.teardown(() => { ev.evaluate = evaluate; });
  onSms.fn = () => { fail = 1; calls = 0; };
  const { number, err } = await registerFails(t, gw);
  t.equal(err.code, ErrorCode.RATE_LIMITED, 'with the gateway\'s code');
  t.equal(err.retryAfterMs, 10 * 60_000, 'and its retry_after_ms');
  t.match(err.message, /^the gateway could not finish the registration \(OPRF evaluator busy, RATE_LIMITED; tried once\): .*register again, which sends a new code/);
  t.equal(calls, 1, 'not sent again');
  t.equal(sms(), 1);
  t.same(await listed(gw, number), []);
});

t.test('TOO_MANY_DEVICES uses the code up: not sent again', async (t) => {
  const { gw, writes } = await gateway(t, { maxDevicesPerRoute: 1 });
  const number = freshNumber();
  await HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number });
  const before = writes();
  await t.rejects(HushwireClient.register({ store: new MemoryStore(), gateways: [gw.url], number }), { code: ErrorCode.TOO_MANY_DEVICES });
  t.equal(writes() - before, 1, 'one register reached the write');
});

t.test('hushwire register: a failed write retried; a write that keeps failing says a new code is needed', async (t) => {
  const { gw, sms } = await gateway(t);
  const dir = failDirectoryWrites(t, gw.bus);
  const root = tempDir('hw-reg-retry-');

  dir.fail = 1;
  const ok = await hushwire(['register', '--gateway', gw.url, '--number', freshNumber(), '--profile', join(root, 'a')]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(JSON.parse(ok.stdout), { status: 'registered' });
  t.equal(dir.fail, 0);
  t.equal(sms(), 1);

  dir.fail = 1000;
  const failed = await hushwire(['register', '--gateway', gw.url, '--number', freshNumber(), '--profile', join(root, 'b')]);
  t.equal(failed.code, 5, 'exit 5 (UNAVAILABLE)');
  t.same(errorLineProblems(failed, 'UNAVAILABLE'), []);
  t.match(failed.stderr, new RegExp(`^hushwire: the gateway could not finish the registration \\(directory unavailable, UNAVAILABLE; tried ${REGISTER_ATTEMPTS} times, with the same code and keys\\): .*register again, which sends a new code`));
  t.equal(sms(), 2, 'one SMS for each command');
});
