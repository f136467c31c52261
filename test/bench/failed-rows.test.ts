// A row that failed reads as failed, one skipped for a documented reason as skipped:
// in the table, the --report page, bench compare and the --repeat summary. The table said "skipped: failed:
// connect ECONNREFUSED ..." for a failed row, and bench compare left failed rows out as
// if skipped, so a candidate whose chat failed compared as "only in base" and passed
// --fail-on-worse.
import t from 'tap';
import { runBench } from '../helpers/bench-cli.ts';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { table, htmlReport } from '../../bench/report.ts';
import { skipped } from '../../bench/run.ts';
import { compare, compareTable } from '../../bench/compare.ts';
import { summarise, summaryTable } from '../../bench/summary.ts';
import type { RunResult } from '../../bench/types.ts';

const META = { when: 'x', machine: '2 cores', duration_s: 10, warmup_s: 2, rate: null, window: 16, pairs: 100, gateways: 2, transport: 'uws' };

function chat(delivered: number): RunResult {
  return {
    system: 'hushwire', workload: 'chat', mode: 'window', rate: null, delivered_per_s: delivered, p50_ms: 10, p99_ms: 30, p999_ms: 40,
    server_cpu_us_per_msg: 9, nats_cpu_us_per_msg: 2, lost: 0, duplicated: 0, reordered: 0, failed: 0,
  };
}

const failedChat = skipped('hushwire', 'chat', 'failed: connect ECONNREFUSED 127.0.0.1:1', true);
const failedSetup = skipped('socketio', 'chat', 'the Socket.IO relay did not start', true);
const documented = skipped('nats-ws', 'backlog', 'core NATS pub/sub stores nothing for offline subscribers');

t.test('the table and the report page: failed rows say failed, skipped rows skipped', async (t) => {
  const text = table([failedChat, failedSetup, documented]);
  t.match(text, /^hushwire\s.*\sfailed: connect ECONNREFUSED 127\.0\.0\.1:1$/m);
  t.match(text, /^socketio\s.*\sfailed: the Socket\.IO relay did not start$/m, 'a set-up failure too');
  t.match(text, /^nats-ws\s.*\sskipped: core NATS pub\/sub stores nothing/m);
  t.notMatch(text, /skipped: failed/);
  t.notMatch(text, /skipped: the Socket/);
  const html = htmlReport([failedChat, documented], { when: 'now' });
  t.match(html, /failed: connect ECONNREFUSED/);
  t.notMatch(html, /skipped: failed/);
  t.same(JSON.parse(JSON.stringify(failedChat)).error, true, 'the JSON keeps "error": true');
});

t.test('bench compare: a candidate row that failed where the base measured counts as worse', async (t) => {
  const base = [{ path: 'a', runs: [chat(100_000), { ...chat(50_000), system: 'socketio' as const }], meta: META }];
  const cand = [{ path: 'b', runs: [failedChat, { ...chat(50_000), system: 'socketio' as const }], meta: META }];
  const c = compare(base, cand, { noisePct: 5 });
  t.same(c.failed_in_candidate, ['hushwire chat: connect ECONNREFUSED 127.0.0.1:1']);
  t.same(c.only_in_base, [], 'not "only in base": it ran and failed');
  t.equal(c.worse, 1);
  const text = compareTable(c);
  t.match(text, /^failed in candidate \(worse where the base measured it\): hushwire chat: connect ECONNREFUSED 127\.0\.0\.1:1$/m);
  t.match(text, /1 worse \(1 of them failed in the candidate\)/);
  const back = compare(cand, base, { noisePct: 5 });
  t.same(back.failed_in_base, ['hushwire chat: connect ECONNREFUSED 127.0.0.1:1']);
  t.equal(back.worse, 0, 'a base failure is not the candidate\'s fault');
});

/** `hushwire bench compare ARGS` (30 s deadline). */
const cli = (args: string[]) => runBench(['compare', ...args]);

t.test('hushwire bench compare --fail-on-worse: a candidate whose only row failed fails the gate', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-bench-failed-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  writeFileSync(a, JSON.stringify({ runs: [chat(100_000)], meta: META }));
  writeFileSync(b, JSON.stringify({ runs: [failedChat], meta: META }));
  const r = await cli(['--fail-on-worse', a, b]);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, /failed in candidate .*: hushwire chat: connect ECONNREFUSED/);
});

t.test('--repeat summary: a round that failed is counted, not silently left out', async (t) => {
  const rows: RunResult[] = [
    { ...chat(100_000), round: 1 }, { ...failedChat, round: 2 }, { ...chat(110_000), round: 3 },
  ];
  const [s] = summarise(rows);
  t.equal(s?.rounds, 2);
  t.equal(s?.failed_rounds, 1);
  t.match(summaryTable(summarise(rows), 3), /^hushwire\s+chat\s+105,000 \(100,000-110,000\) msg\/s \(2 rounds; 1 failed\)/m);
  t.notMatch(summaryTable(summarise([{ ...chat(100_000), round: 1 }]), 1), /failed/, 'nothing said without a failure');
});
