// The test helpers' exit hooks and a fatal signal. tap passes a signal sent to it (by npm
// test's script, or a terminal) on to each running test file. The nats-server helper
// used to catch it with a listener of its own, which killed its servers but then left
// the signal to tap's handler (signal-exit), while signal-exit left it to that other
// listener: the test process ran on, without its servers, until its work ended. The
// helpers now hook the process's end through signal-exit: the servers die, their store
// is removed, and the process ends by the signal.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.ts';
import { alive } from '../helpers/pid.ts';
import { until } from '../helpers/poll.ts';
import { tempDir } from '../helpers/temp.ts';

t.setTimeout(120_000);

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  t.test(`a test file that started a nats-server ends by ${signal}, and the server with it`, async (t) => {
    const mark = join(tempDir('hw-exithooks-'), 'hold');
    const env: NodeJS.ProcessEnv = { ...process.env, HOLD_MARK: mark };
    // Run as tap runs a test file, but not as a child of this one's tap.
    for (const k of Object.keys(env)) if (k.startsWith('TAP') || k.startsWith('_TAP')) delete env[k];
    const child = spawn(process.execPath, ['--import=tsx', 'test/fixtures/holds-nats.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, sig) => r({ code, signal: sig })));
    let natsPid = 0;
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (natsPid !== 0 && alive(natsPid)) process.kill(natsPid, 'SIGKILL');
    });
    await until('the nats-server to start', () => existsSync(mark) || child.exitCode !== null, 60_000);
    const [pid, storeDir] = readFileSync(mark, 'utf8').split(' ') as [string, string];
    natsPid = Number(pid);
    t.ok(alive(natsPid), 'the nats-server runs');

    child.kill(signal);
    // The fixture would wait 3 minutes; the deadline only guards a hang.
    const end = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 20_000).unref())]);
    t.same(end, { code: null, signal }, `the test process ends by ${signal}`, { out: out.slice(-2000) });
    await until('the nats-server to end', () => !alive(natsPid), 10_000).catch(() => {});
    t.notOk(alive(natsPid), 'its nats-server is killed');
    t.notOk(existsSync(storeDir), 'and its store removed');
  });
}
