// Ctrl-C or SIGTERM in the middle of a run with rows already finished: those rows are
// reported as a finished run reports them (the table, or with --json the JSON on stdout,
// marked "interrupted", and the --report files), and the interrupt's line says so. They
// were lost before: stdout stayed empty, so a script reading --json got nothing, and the
// line did not say why. The run in progress is not reported.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../helpers/paths.ts';
import { alive, descendants } from '../helpers/pid.ts';
import { until } from '../helpers/poll.ts';
import { natsServerBinary } from '../../bench/servers.ts';

t.setTimeout(150_000);

t.test('SIGTERM after round 1\'s row: that row on stdout and in --report, marked interrupted', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const report = mkdtempSync(join(tmpdir(), 'hw-bench-partial-'));
  // Two rounds: the first row finishes; the signal comes after it (round 1's tear-down
  // or round 2), never with it.
  const b = spawn(process.execPath, [BIN, 'bench', '--peers', 'none', '--workload', 'chat', '--pairs', '2', '--duration', '5', '--warmup', '1', '--grace', '1',
    '--workers', '1', '--repeat', '2', '--json', '--report', report], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  b.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); });
  b.stderr.on('data', (d: Buffer) => { err += d.toString('utf8'); });
  const ended = new Promise<number | null>((r) => b.once('exit', (code) => r(code)));
  let kids: number[] = [];
  t.teardown(() => {
    for (const pid of [...kids, b.pid ?? 0]) if (pid > 0 && alive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    rmSync(report, { recursive: true, force: true });
  });
  await until('round 1\'s row', () => /^hushwire\s+chat #1\s/m.test(err) || b.exitCode !== null, 120_000, 50);
  kids = descendants(b.pid!);
  b.kill('SIGTERM');
  t.equal(await ended, 143, `exit 143 (stderr: ${err.slice(-500)})`);
  const json = JSON.parse(out) as { runs: { system: string; workload: string; round?: number; delivered_per_s: number | null }[]; meta: Record<string, unknown> };
  t.equal(json.meta['interrupted'], 'SIGTERM', 'the JSON says it was interrupted');
  t.same(json.runs.map((r) => [r.system, r.workload, r.round]), [['hushwire', 'chat', 1]], 'round 1\'s row, not the run in progress');
  t.ok((json.runs[0]?.delivered_per_s ?? 0) > 0, 'a measured row');
  t.equal(json.meta['repeat'], 2, 'with the run\'s settings');
  t.match(err, new RegExp(`^hushwire bench: interrupted \\(SIGTERM\\) during hushwire chat \\([a-z -]+\\): stopped \\d+ process(es)?, removed \\d+ temp director(y|ies); 1 finished row reported on stdout \\(the JSON's meta says "interrupted": "SIGTERM"\\) and in ${report}/bench\\.json, ${report}/bench\\.html; the run in progress is not$`, 'm'), 'the line says where the finished row went');
  t.ok(existsSync(join(report, 'bench.html')), 'the --report page written');
  const saved = JSON.parse(readFileSync(join(report, 'bench.json'), 'utf8')) as { runs: unknown[]; meta: Record<string, unknown> };
  t.equal(saved.runs.length, 1, '--report holds the finished row');
  t.equal(saved.meta['interrupted'], 'SIGTERM', 'and says it was interrupted');
  await until('every process the bench started to be gone', () => kids.every((p) => !alive(p)), 15_000);
});
