// --cpu-prof profiles the local gateways through their inspector over each measured
// phase, with every function at its .ts source line. Under `node --cpu-prof` the
// profiles covered the whole process life (start-up and set-up included) and named
// every function "relay/session.ts:1": tsx runs each module as one line of JavaScript.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhaseProfiler, CPU_INTERVAL_US } from '../../bench/phase-profile.ts';
import { startInspectedTs } from '../helpers/inspected.ts';
import { summarise, type CpuProfile } from '../../bench/profile-summary.ts';
import { natsServerBinary } from '../../bench/servers.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { runBench as bench } from '../helpers/bench-cli.ts';
import { ROOT } from '../helpers/paths.ts';

t.setTimeout(150_000);

t.test('a TypeScript process run through tsx: functions at their source lines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-bench-cpu-lines-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'busy.mts');
  writeFileSync(file, [
    '// a fixture: burns CPU in a named function at a known line, without a long loop:',
    '// code optimized on the stack (a loop running when it was optimized) before the',
    '// profile started has its samples credited to its caller (docs/BENCHMARKS.md)',
    'let n = 0;',
    '',
    '',
    'function burnCpu(k: number): number {',
    '  return k < 2 ? k : burnCpu(k - 1) + burnCpu(k - 2);',
    '}',
    'setInterval(() => { (globalThis as Record<string, unknown>).k = burnCpu(24); if (++n === 25) console.error("HW_WARM"); }, 6);',
    'setTimeout(() => process.exit(0), 60_000);',
  ].join('\n'));
  const child = await startInspectedTs(file, 'HW_WARM');
  t.teardown(() => child.kill());
  // A window without the fixture's samples (a loaded machine can leave the child
  // unscheduled for most of one) is profiled again, bounded.
  let s: ReturnType<typeof summarise> | null = null;
  let profiles: CpuProfile[] = [];
  const seen = (): boolean => profiles.some((p) => p.nodes.some((n) => n.callFrame.functionName === 'burnCpu'));
  for (let window = 0; window < 6 && !seen(); window++) {
    const p = await PhaseProfiler.start([child.url], { cpuIntervalUs: CPU_INTERVAL_US });
    await new Promise((r) => setTimeout(r, 1000));
    const got = await p.stop();
    t.equal(got.heap, null, 'no heap profile asked for');
    profiles = got.cpu ?? [];
    s = summarise(profiles, `${dir}/`);
  }
  if (s === null) throw new Error('not profiled');
  // Every function of the fixture that was on a sampled stack (self time or not).
  const mine = profiles.flatMap((p) => p.nodes).filter((n) => n.callFrame.url.endsWith('busy.mts'))
    .map((n) => `${n.callFrame.functionName || '(anonymous)'} busy.mts:${n.callFrame.lineNumber + 1}`);
  t.ok(mine.includes('burnCpu busy.mts:7'), `burnCpu at the line it is defined on in the .ts file: ${[...new Set(mine)].join(', ')} (profiled: ${[...new Set(profiles.flatMap((p) => p.nodes).map((n) => `${n.callFrame.functionName} ${n.callFrame.url}`))].slice(0, 12).join(', ')})`);
  t.ok(mine.every((k) => !k.endsWith('busy.mts:1')), 'no function of the fixture at line 1');
  t.ok(s.byFunction.every(([k]) => !k.includes('busy.mts') || !k.endsWith(':1')), 'the summary names them so');
  const node = profiles[0]!.nodes.find((n) => n.callFrame.functionName === 'burnCpu');
  t.equal(node?.positionTicks, undefined, 'line ticks of the generated script dropped where the function was mapped');
});

t.test('hushwire bench --cpu-prof: a profile per gateway for the measured window, at source lines', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-bench-cpu-prof-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  const r = await bench(['--peers', 'none', '--pairs', '4', '--warmup', '1', '--duration', '2', '--grace', '2', '--transport', transport, '--workers', '1', '--cpu-prof', dir], 120_000);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.slice(-400)})`);
  t.match(r.stderr, /\[hushwire chat\] CPU profile: [\d,]+ ms busy over 2 gateways; /);
  const files = readdirSync(dir).sort();
  const profs = files.filter((f) => /^hushwire-chat-.*-gw[12]\.cpuprofile$/.test(f));
  t.equal(profs.length, 2, `one profile per gateway for the chat window: ${files.join(', ')}`);
  t.ok(files.some((f) => /^hushwire-chat-.*-cpu-summary\.txt$/.test(f)), 'and its summary');
  const profiles = profs.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
  const s = summarise(profiles, ROOT);
  const ours = s.byFunction.filter(([k]) => / (relay|gateway)\/\S+\.ts:\d+$/.test(k));
  t.ok(ours.length >= 5, `the gateways' own functions are there (${ours.length})`);
  const atOne = ours.filter(([k]) => /\.ts:1$/.test(k));
  t.ok(atOne.length <= ours.length / 10, `functions at their source lines, not line 1 (${atOne.length} of ${ours.length} at :1: ${atOne.slice(0, 5).map(([k]) => k).join(', ')})`);
  // The window only: a profile of the whole process life holds its start-up (tsx
  // compiling every module, node loading them).
  t.notOk(s.byFile.some(([f]) => f.startsWith('node_modules/tsx')), `no start-up in the profile: ${s.byFile.slice(0, 8).map(([f]) => f).join(', ')}`);
  // bench/profile-summary.ts reads what was written, with its categories.
  const cli = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/profile-summary.ts'), dir, '--top', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  cli.stdout!.on('data', (d: Buffer) => { out += d.toString('utf8'); });
  const [code] = await once(cli, 'exit') as [number | null];
  t.equal(code, 0);
  t.match(out, /total sampled \d+ ms in 2 profile\(s\)/);
  t.match(out, /by category \(share of busy time/);
  t.match(out, /by function \(self time\):\n(.*\n)+/);
});
