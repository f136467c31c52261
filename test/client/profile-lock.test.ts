// One profile directory used by two processes at once, as users do it: two `hushwire
// register` in two terminals, a listener in one terminal and sends from another, an
// unregister while a listener runs. What changes the profile's identity (register,
// unregister) holds the profile's lock (profile.lock, client/profile.ts), so the second
// register waits and is refused before it reaches the relay; a lock left by a killed
// register goes stale and is taken over. Child processes (`node bin/hushwire.js ...`)
// against real gateways started in-process on free ports; a webhook verifier on loopback
// hands out the codes, so the test decides when each register may finish.
import t, { type Test } from 'tap';
import { existsSync, readFileSync, readdirSync, mkdirSync, rmdirSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { startTestGateway, BIN, ROOT, type TestGateway } from '../helpers/gateway.ts';
import { hushwire, errorLineProblems, cliProfiles, startHushwire, type Run } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { HushwireClient, DirectoryStore } from '../../client/index.ts';

// Child processes, each loading TypeScript through tsx: slow on a busy CI box.
t.setTimeout(300_000);

const LOCK = 'profile.lock';

/** A webhook verifier on loopback and a gateway using it: every code it is sent, in order. */
async function gatewayWithCodes(t: Test): Promise<{ gw: TestGateway; codes: string[]; code(n: number): Promise<string> }> {
  const codes: string[] = [];
  let waiters: Array<() => void> = [];
  const bridge = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      res.writeHead(204).end();
      codes.push((JSON.parse(body) as { code: string }).code);
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    });
  });
  await new Promise<void>((r) => bridge.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => { bridge.closeAllConnections(); bridge.close(() => r()); }));
  const gw = await startTestGateway({ logLevel: 'warn', verifier: 'webhook', verifierUrl: `http://127.0.0.1:${(bridge.address() as AddressInfo).port}/sms` });
  t.teardown(() => gw.close());
  /** The n-th code sent (0-based), once it is; rejects after 30 s. */
  const code = (n: number) => new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no verification code #${n} within 30 s`)), 30_000);
    const check = () => {
      if (codes.length > n) { clearTimeout(timer); resolve(codes[n]!); } else waiters.push(check);
    };
    check();
  });
  return { gw, codes, code };
}

interface Registering {
  proc: ChildProcess;
  /** Types the code (and ends stdin). */
  enter(code: string): void;
  done: Promise<Run>;
}

/** `hushwire register` reading its code from stdin, which the test writes when it chooses. */
function startRegister(t: Test, url: string, number: string, profile: string): Registering {
  const proc = spawn(process.execPath, [BIN, 'register', '--gateway', url, '--number', number, '--profile', profile], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  proc.stdin!.on('error', () => {}); // a process that already ended
  const done = new Promise<Run>((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 90_000);
    proc.once('close', (code) => { clearTimeout(kill); resolve({ code, stdout, stderr }); });
  });
  return { proc, enter: (code) => { proc.stdin!.end(`${code}\n`); }, done };
}

/** How many devices the relay lists for `number`, asked through another registered profile. */
async function relayDevices(probe: string, number: string): Promise<number> {
  const c = await HushwireClient.open(probe, { receive: false });
  try {
    return (await c.discover([number])).get(number)?.devices ?? 0;
  } finally {
    await c.close();
  }
}

/** A gateway that sends codes to the test (gatewayWithCodes), and in a temp dir `dir` a
 *  profile `probe` registered under `probeNumber` (the first code sent) to ask the relay
 *  from, and the path `p` of the profile under test: where the code-prompt tests start. */
async function withProbe(t: Test, probeNumber: string) {
  const g = await gatewayWithCodes(t);
  const dir = tempDir('hw-profilelock-');
  const probe = join(dir, 'probe');
  const reg = startRegister(t, g.gw.url, probeNumber, probe);
  reg.enter(await g.code(0));
  t.equal((await reg.done).code, 0, 'the probe profile registered');
  return { ...g, dir, probe, p: join(dir, 'p') };
}

function heldDevice(profile: string): string {
  return (JSON.parse(readFileSync(join(profile, 'device.json'), 'utf8')) as { device: string }).device;
}

t.test('two registers of one profile at once: the second waits, is refused before it reaches the relay, and one device holds keys', async (t) => {
  const { gw, codes, code, dir, probe, p } = await withProbe(t, '+15550170009');
  const N = '+15550170001';

  // The first is waiting for its code (the SMS has not come yet): it holds the profile.
  const first = startRegister(t, gw.url, N, p);
  const firstCode = await code(1);
  t.ok(existsSync(join(p, LOCK)), 'the first register holds the profile lock');
  const second = startRegister(t, gw.url, N, p);
  // The second either ends (refused), or (without the lock) reaches the relay, whose
  // verifier then sends it a code: the user types that one too.
  const outcome = await Promise.race([second.done.then(() => 'ended' as const), code(2).then(() => 'reached the relay' as const)]);
  t.equal(outcome, 'ended', 'the second register ended without starting a verification');
  if (outcome !== 'ended') second.enter(codes[2]!);
  const refused = await second.done;
  first.enter(firstCode);
  const ok = await first.done;
  t.equal(ok.code, 0, ok.stderr);
  const device = (JSON.parse(ok.stdout) as { device: string }).device;

  t.equal(refused.code, 2, 'refused: exit 2 (BAD_REQUEST)');
  t.same(errorLineProblems(refused, 'BAD_REQUEST'), []);
  t.match(refused.stderr, /another process is registering or unregistering this profile/);
  t.notOk(refused.stderr.includes(dir), 'the refusal does not name the profile path');
  t.equal(codes.length, 2, 'one verification for the probe, one for the first register: none for the second');
  t.equal(heldDevice(p), device, "the profile holds the first register's device");
  t.equal(await relayDevices(probe, N), 1, 'the relay lists one device for the number: no orphan');
  t.notOk(existsSync(join(p, LOCK)), 'the lock is gone with the register');
});

t.test('two registers of one profile started together (dev verifier, no wait for a code): one device, the other refused', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const dir = tempDir('hw-profilelock-');
  const probe = join(dir, 'probe');
  t.equal((await hushwire(['register', '--gateway', gw.url, '--number', '+15550170019', '--profile', probe])).code, 0);
  for (let i = 0; i < 4; i++) {
    const N = `+1555017010${i}`;
    const p = join(dir, `p${i}`);
    const runs = await Promise.all([0, 1].map(() => hushwire(['register', '--gateway', gw.url, '--number', N, '--profile', p])));
    const won = runs.filter((r) => r.code === 0);
    t.equal(won.length, 1, `round ${i}: one register succeeded`);
    const lost = runs.find((r) => r.code !== 0);
    t.equal(lost?.code, 2, `round ${i}: the other was refused`);
    // Refused at the profile (already registered once it got the lock), never undone at
    // the relay after registering there ("registered by another registration meanwhile").
    t.match(lost?.stderr ?? '', /this profile is already registered|another process is registering/, `round ${i}: refused before it reached the relay`);
    t.equal(heldDevice(p), (JSON.parse(won[0]?.stdout ?? '{}') as { device?: string }).device, `round ${i}: the winner's keys are in the profile`);
    t.equal(await relayDevices(probe, N), 1, `round ${i}: one device at the relay`);
  }
});

t.test("a register killed while it holds the profile's lock does not block the next one", async (t) => {
  const { gw, code, dir, probe, p } = await withProbe(t, '+15550170209');
  const N = '+15550170201';

  const killed = startRegister(t, gw.url, N, p);
  await code(1);
  t.ok(existsSync(join(p, LOCK)), 'the register holds the profile lock while it waits for its code');
  killed.proc.kill('SIGKILL');
  await killed.done;
  t.ok(existsSync(join(p, LOCK)), 'the killed register left its lock behind');

  const next = startRegister(t, gw.url, N, p);
  next.enter(await code(2)); // its verification started: the stale lock did not stop it
  const ok = await next.done;
  t.equal(ok.code, 0, ok.stderr);
  t.equal(heldDevice(p), (JSON.parse(ok.stdout) as { device: string }).device);
  t.notOk(existsSync(join(p, LOCK)), 'and released the lock');
  t.equal(await relayDevices(probe, N), 1, 'the killed register left no device at the relay');

  // Stopped by a signal instead (Ctrl-C, a service manager): the lock goes with it.
  let n = 3;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const q = join(dir, signal);
    const stopped = startRegister(t, gw.url, '+15550170202', q);
    await code(n++);
    t.ok(existsSync(join(q, LOCK)), `${signal}: the register holds the lock`);
    stopped.proc.kill(signal);
    await stopped.done;
    t.equal(stopped.proc.signalCode, signal, `${signal}: ended by the signal`);
    t.notOk(existsSync(join(q, LOCK)), `${signal}: and removed its lock`);
  }
});

t.test('a listener and sends on one profile keep working; register is refused and unregister works while it listens', async (t) => {
  const A = '+15550170301';
  const B = '+15550170302';
  const { gw, profiles: [a, b] } = await cliProfiles(t, [A, B], 'hw-profilelock-');
  const listener = startHushwire(t, ['listen', '--profile', b, '--timeout', '90']);
  const deadline = Date.now() + 20_000;
  while (!existsSync(join(b, 'listen.lock')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.ok(existsSync(join(b, 'listen.lock')), 'the listener runs');

  // Sends to the listening profile, and from it, in other processes.
  const toB = await hushwire(['send', '--profile', a, '--to', B, 'one']);
  t.equal(toB.code, 0, toB.stderr);
  const fromB = await hushwire(['send', '--profile', b, '--to', A, 'from the listening profile']);
  t.equal(fromB.code, 0, fromB.stderr);
  const again = await hushwire(['send', '--profile', a, '--to', B, 'two']);
  t.equal(again.code, 0, again.stderr);
  const until = Date.now() + 30_000;
  while (!listener.stdout().includes('"two"') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  t.same(listener.stdout().trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text), ['one', 'two'], 'the listener got both: the send from its profile connects send-only and does not take the device from it');

  const reg = await hushwire(['register', '--gateway', gw.url, '--number', B, '--profile', b]);
  t.equal(reg.code, 2);
  t.match(reg.stderr, /this profile is already registered/);

  const un = await hushwire(['unregister', '--profile', b]);
  t.equal(un.code, 0, un.stderr);
  // Its device is gone: the relay refuses it (AUTH_FAILED), which the listener tells as the
  // opt-out it is (exit 4), not as "authentication failed" (exit 6).
  t.equal(await listener.exited, 4, `the listener ends: its device is gone (NOT_REGISTERED): ${listener.stderr()}`);
  t.match(listener.stderr(), /^hushwire: this profile's device was unregistered while listen ran \(hushwire unregister, from another terminal\?\): register again to receive \(NOT_REGISTERED\)\n$/);
  t.same(readdirSync(b).sort(), ['gateways.json'], 'keys, state and routes gone; no lock left');
});

t.test('two unregisters of one profile at once: one erases the device, the other finds it gone (NOT_REGISTERED)', async (t) => {
  const gw = await startTestGateway({ logLevel: 'warn' });
  t.teardown(() => gw.close());
  const dir = tempDir('hw-profilelock-');
  for (let i = 0; i < 3; i++) {
    const p = join(dir, `p${i}`);
    t.equal((await hushwire(['register', '--gateway', gw.url, '--number', `+1555017040${i}`, '--profile', p])).code, 0);
    const runs = await Promise.all([0, 1].map(() => hushwire(['unregister', '--profile', p])));
    // Without the lock the second also went to the relay, whose device was gone by then
    // or was taken from it mid-way: AUTH_FAILED (exit 6), or a lost connection.
    t.same(runs.map((r) => r.code).sort(), [0, 4], `round ${i}: one unregistered, the other exit 4 (${runs.map((r) => r.stderr.trim()).join(' | ')})`);
    const late = runs.find((r) => r.code === 4);
    t.same(late ? errorLineProblems(late, 'NOT_REGISTERED') : ['none'], []);
    t.same(readdirSync(p), ['gateways.json'], `round ${i}: keys, state and routes gone; no lock left`);
  }
});

t.test("a lock taken over by another process (found stale while this one stalled) is not ours any more: check() refuses, release() leaves it", async (t) => {
  const dir = join(tempDir('hw-profilelock-'), 'p');
  mkdirSync(dir, { mode: 0o700 });
  const store = new DirectoryStore(dir);
  const lock = await store.lockIdentity();
  await lock.check();
  // What another process does when it finds the lock stale: removes it, makes its own.
  rmdirSync(join(dir, LOCK));
  mkdirSync(join(dir, LOCK));
  await t.rejects(lock.check(), { code: 'BAD_REQUEST', message: /lost the profile's lock/ });
  await lock.release();
  await lock.release(); // idempotent
  t.ok(existsSync(join(dir, LOCK)), "the other process's lock is left alone");
  rmdirSync(join(dir, LOCK));
  const again = await store.lockIdentity();
  t.ok(existsSync(join(dir, LOCK)), 'taken again once the other is gone');
  await again.release();
  t.notOk(existsSync(join(dir, LOCK)), 'a release removes its own lock');
  await t.rejects(again.check(), { code: 'BAD_REQUEST' }, 'and check() after it refuses');
});
