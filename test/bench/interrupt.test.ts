// Interrupting `hushwire bench` (bench/interrupt.ts): SIGINT or SIGTERM stops every
// child process, removes every temp dir the bench made (nats-server's store, the
// gateways' OPRF key) and says so in one line, exit 130 / 143; a main thread stuck for
// good leaves that to the watchdog, which removes the dirs too. Against running
// gateways the first signal opts the devices registered so far out again (bounded), a
// second exits at once. Real processes and signals throughout, each wait with a deadline.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../helpers/poll.ts';
import { BIN } from '../helpers/paths.ts';
import { natsServerBinary } from '../../bench/servers.ts';
import { spawnGateway } from '../helpers/gateway.ts';
import { alive, descendants } from '../helpers/pid.ts';

const HOST = fileURLToPath(new URL('./interrupt-host.ts', import.meta.url));

interface Started { proc: ChildProcess; stdout(): string; stderr(): string; ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Started {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  return { proc, stdout: () => stdout, stderr: () => stderr, ended };
}

/** Kills (by pid) whatever a failed test left of the processes it started. */
function killLeft(pids: () => number[]): void {
  for (const pid of pids()) if (alive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

async function hostUp(h: Started): Promise<{ host: number; child: number; watchdog: number; dirs: string[] }> {
  await until('the host to print its pids', () => h.stdout().includes('\n'), 30_000);
  return JSON.parse(h.stdout().split('\n')[0]!) as { host: number; child: number; watchdog: number; dirs: string[] };
}

for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  t.test(`${sig}: children stopped, temp dirs removed, one line, exit ${code}`, async (t) => {
    const h = start(process.execPath, ['--import', 'tsx', HOST, 'wait']);
    let info: Awaited<ReturnType<typeof hostUp>> | undefined;
    t.teardown(() => {
      killLeft(() => (info ? [info.child, info.host] : []));
      for (const d of info?.dirs ?? []) rmSync(d, { recursive: true, force: true });
    });
    info = await hostUp(h);
    for (const d of info.dirs) t.ok(existsSync(d), `${d} made`);
    h.proc.kill(sig);
    const end = await h.ended;
    t.equal(end.code, code, `exit ${code}`);
    t.match(h.stderr(), new RegExp(`^hushwire bench: interrupted \\(${sig}\\) during hushwire chat \\(measuring\\): stopped 1 process, removed 2 temp directories$`, 'm'), 'says what it stopped and removed, and during what');
    t.equal(h.stderr().trim().split('\n').length, 1, 'in one line');
    for (const d of info.dirs) t.notOk(existsSync(d), `${d} removed (with the key file in it)`);
    await until('the child to be gone', () => !alive(info!.child), 10_000);
  });
}

t.test('a stuck main thread: the watchdog stops the children and removes the temp dirs the bench told it about', async (t) => {
  const h = start(process.execPath, ['--import', 'tsx', HOST, 'hang']);
  let info: Awaited<ReturnType<typeof hostUp>> | undefined;
  t.teardown(() => {
    killLeft(() => (info ? [info.child, info.watchdog, info.host] : []));
    for (const d of info?.dirs ?? []) rmSync(d, { recursive: true, force: true });
  });
  info = await hostUp(h);
  const end = await h.ended;
  t.equal(end.signal, 'SIGKILL', 'the watchdog ended the host');
  t.match(h.stderr(), /watchdog: removed 2 of 2 temp directories the bench made/, 'and said it removed the dirs');
  for (const d of info.dirs) t.notOk(existsSync(d), `${d} removed`);
  await until('the child to be gone', () => !alive(info!.child), 10_000);
  await until('the watchdog to exit', () => !alive(info!.watchdog), 10_000);
});

t.test('Ctrl-C during a real local run: nats-server and the gateways stopped, their temp dirs (JetStream store, OPRF key) removed', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  // The bench makes its dirs under TMPDIR: a fresh one shows exactly what it left.
  const tmp = mkdtempSync(join(tmpdir(), 'hw-bench-int-test-'));
  let kids: number[] = [];
  const b = start(process.execPath, [BIN, 'bench', '--peers', 'none', '--workload', 'chat', '--pairs', '2', '--duration', '30', '--warmup', '1', '--grace', '2', '--workers', '1'], { TMPDIR: tmp });
  t.teardown(() => {
    killLeft(() => [...kids, b.proc.pid ?? 0].filter((p) => p > 0));
    rmSync(tmp, { recursive: true, force: true });
  });
  await until('the bench to be measuring', () => /\[hushwire chat\] \d+\.\ds {2}sent/.test(b.stderr()), 90_000, 100);
  t.same(readdirSync(tmp).filter((n) => n.startsWith('hw-bench-')).map((n) => n.replace(/-[^-]+$/, '')).sort(), ['hw-bench-gw', 'hw-bench-nats'], 'the bench made its dirs there');
  kids = descendants(b.proc.pid!);
  t.ok(kids.length >= 3, `nats-server, two gateways (and the watchdog) running: ${kids.length}`);
  b.proc.kill('SIGINT');
  const end = await b.ended;
  t.equal(end.code, 130, 'exit 130');
  t.match(b.stderr(), /^hushwire bench: interrupted \(SIGINT\) during hushwire chat \(measuring\): stopped 3 processes, removed 2 temp directories; no run had finished: no results$/m);
  t.same(readdirSync(tmp).filter((n) => n.startsWith('hw-bench-')), [], 'no temp dir left');
  await until('every process the bench started to be gone', () => kids.every((p) => !alive(p)), 15_000);
});

/** The gateway's registration counters, from its /metrics. */
async function counters(gwUrl: string): Promise<{ reg: number; unreg: number }> {
  const text = await (await fetch(gwUrl.replace(/^ws:/, 'http:').replace(/\/ws$/, '/metrics'))).text();
  const v = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { reg: v('hushwire_registrations_total'), unreg: v('hushwire_unregistrations_total') };
}

t.test('Ctrl-C while registering on running gateways: what was registered so far is opted out again before the bench exits', async (t) => {
  const gw = await spawnGateway([]);
  t.teardown(() => gw.kill());
  const b = start(process.execPath, [BIN, 'bench', '--gateway', gw.url, '--peers', 'none', '--workload', 'idle', '--devices', '3000', '--workers', '1']);
  t.teardown(() => killLeft(() => [b.proc.pid ?? 0]));
  await until('some devices to be registered', async () => (await counters(gw.url)).reg >= 40, 60_000, 100);
  b.proc.kill('SIGINT');
  const end = await b.ended;
  t.equal(end.code, 130, `exit 130 (stderr: ${b.stderr().slice(-400)})`);
  const c = await counters(gw.url);
  t.ok(c.reg < 3000, `interrupted part-way (${c.reg} registered)`);
  t.equal(c.unreg, c.reg, 'every device registered was unregistered');
  t.match(b.stderr(), /^hushwire bench: SIGINT: cleaning up before exiting \(at most 20 s; a second signal exits at once\)$/m);
  t.match(b.stderr(), new RegExp(`opting out the ${c.reg.toLocaleString('en-US')} bench devices registered on ws://\\S+ so far`));
  t.match(b.stderr(), new RegExp(`^hushwire bench: interrupted \\(SIGINT\\) during hushwire idle \\(registering devices\\): stopped 0 processes, removed 0 temp directories; ${c.reg.toLocaleString('en-US')} bench devices unregistered; no run had finished: no results$`, 'm'));
  t.notMatch(b.stderr(), /failed:|devices in the directory|devices registered through/, 'nothing from the abandoned workload');
});

t.test('a second Ctrl-C during that clean-up exits at once, saying how many devices were left registered', async (t) => {
  const gw = await spawnGateway([]);
  t.teardown(() => gw.kill());
  const b = start(process.execPath, [BIN, 'bench', '--gateway', gw.url, '--peers', 'none', '--workload', 'idle', '--devices', '3000', '--workers', '1']);
  t.teardown(() => killLeft(() => [b.proc.pid ?? 0]));
  await until('many devices to be registered', async () => (await counters(gw.url)).reg >= 150, 90_000, 100);
  b.proc.kill('SIGINT');
  await until('the clean-up to start', () => /opting out the/.test(b.stderr()), 20_000, 10);
  b.proc.kill('SIGINT');
  const end = await b.ended;
  t.equal(end.code, 130, 'exit 130');
  const m = /^hushwire bench: SIGINT again: exiting now; ([\d,]+) bench devices left registered on ws:\/\/\S+; no run had finished: no results$/m.exec(b.stderr());
  t.ok(m, `says so (stderr: ${b.stderr().slice(-400)})`);
  const c = await counters(gw.url);
  t.ok(c.unreg < c.reg, `some were left (${c.reg} registered, ${c.unreg} unregistered)`);
  // In flight when the bench exited: a few more may have been opted out than it counted.
  const left = Number(m?.[1]?.replace(/,/g, '') ?? NaN);
  t.ok(left >= c.reg - c.unreg && left <= c.reg - c.unreg + 16, `the count said (${left}) is what is left (${c.reg - c.unreg}), give or take those in flight`);
  t.notMatch(b.stderr(), /interrupted \(SIGINT\) during/, 'no "finished" line');
});
