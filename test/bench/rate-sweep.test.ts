// `hushwire bench --rate sweep`, `--rate <list>` and `--p99-slo` against a tiny local
// setup (nats-server + 2 gateways, 2 pairs, 1 s windows): which rows come in which
// order, under which names, and the `slo` entry that summarises them. Behaviour only:
// whether a rate kept up or stayed within the bound depends on the machine, so the
// checks hold either way (a sweep may stop early; the entry may be null).
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsServerBinary } from '../../bench/servers.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { runBench } from '../helpers/bench-cli.ts';

t.setTimeout(300_000);

const skip = natsServerBinary() === null ? 'nats-server not installed' : false;

interface Out {
  runs: Record<string, unknown>[];
  slo?: Record<string, unknown>[];
  meta: Record<string, unknown>;
}

const outOf = (stdout: string): Out => JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Out;

async function tiny(extra: string[], timeoutMs = 150_000): Promise<{ code: number | null; out: Out; stderr: string }> {
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  const r = await runBench([
    '--peers', 'none', '--workload', 'chat', '--pairs', '2', '--duration', '1', '--warmup', '0', '--grace', '3',
    '--gateways', '2', '--transport', transport, '--workers', '1', '--json', ...extra,
  ], timeoutMs);
  return { code: r.code, out: r.code === 0 ? outOf(r.stdout) : { runs: [], meta: {} }, stderr: r.stderr };
}

t.test('--rate sweep: the max-rate row, then 10%, 20%, ... in ascending order, stopped only after a saturated rate; the slo entry from those rows', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-bench-sweep-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { code, out, stderr } = await tiny(['--rate', 'sweep', '--p99-slo', '50', '--report', dir]);
  t.equal(code, 0, `bench exits 0 (stderr: ${stderr.slice(-800)})`);
  t.equal(out.meta['rate'], 'sweep', 'meta.rate says sweep');
  const [max, ...fixed] = out.runs;
  t.same([max?.['workload'], max?.['mode']], ['chat', 'window'], 'the max-rate row first');
  t.ok(fixed.length >= 1 && fixed.length <= 9, `1 to 9 fixed-rate rows (${fixed.length})`);
  t.same(fixed.map((r) => r['workload']), ['10%', '20%', '30%', '40%', '50%', '60%', '70%', '80%', '90%'].slice(0, fixed.length).map((p) => `chat@${p}`), 'the sweep\'s percentages in order');
  const rates = fixed.map((r) => r['rate'] as number);
  t.ok(fixed.every((r) => r['mode'] === 'rate'), 'each a fixed-rate row');
  t.ok(rates.every((v, i) => i === 0 || v > rates[i - 1]!), `ascending offered rates (${rates.join(', ')})`);
  const maxMsgs = max!['delivered_per_s'] as number;
  t.ok(Math.abs(rates[0]! - maxMsgs / 10) <= 2, `10% of the max (${rates[0]} of ${maxMsgs})`);
  // the stop rule, as the rows show it: every row before the last kept up; the last
  // either is 90% or says why the sweep stopped there
  const saturated = (r: Record<string, unknown>): boolean => (r['lost'] as number) > 0 || (r['delivered_per_s'] as number) < 0.9 * (r['rate'] as number);
  t.ok(fixed.slice(0, -1).every((r) => !saturated(r)), 'no saturated row before the last');
  const last = fixed[fixed.length - 1]!;
  if (fixed.length < 9) {
    t.ok(saturated(last), 'stopped early only after a saturated rate');
    t.match(String(last['note']), /sweep stopped here: saturated at this rate \(/, 'the row says so');
    t.match(stderr, /\[hushwire chat\] sweep stopped here: saturated at this rate/, 'and so does the progress output');
  } else if (saturated(last)) {
    t.match(String(last['note']), /sweep stopped here: saturated at this rate/, 'the last rate saturated: said, nothing left to stop');
  }
  t.match(stderr, /\[hushwire chat\] fixed rate 10% of the max \([\d,]+ msg\/s\): 1 of 9 at most/, 'each rate announced');
  // the slo entry
  t.equal(out.slo?.length, 1, 'one slo entry');
  const e = out.slo![0]!;
  t.same([e['system'], e['workload'], e['p99_slo_ms']], ['hushwire', 'chat', 50]);
  t.same(e['rates_tried'], rates, 'rates_tried: the fixed-rate rows\' rates');
  const within = fixed.filter((r) => (r['p99_ms'] as number) <= 50 && !saturated(r)).map((r) => r['rate'] as number);
  t.equal(e['max_rate_within_slo'], within.length === 0 ? null : Math.max(...within), 'the highest rate within the bound');
  t.equal(e['fraction_of_max'], within.length === 0 ? null : Math.round((Math.max(...within) / maxMsgs) * 1000) / 1000, 'and its fraction of the max');
  t.match(stderr, /latency-bounded capacity: the highest offered rate with p99 <= 50 ms/, 'the summary line in the table output');
  t.match(stderr, /\nhushwire\s+chat\s+(none|[\d,]+ msg\/s \([\d.]+% of its max rate\))\s+\(\d rates? tried/);
  const html = readFileSync(join(dir, 'bench.html'), 'utf8');
  t.match(html, /p99 against offered rate: chat, ms \(log scale\); SLO 50 ms/, 'the report\'s chart');
  t.equal((JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8')) as Out).slo?.length, 1, 'bench.json carries the slo');
});

t.test('--rate list: the max-rate row for the percentages, then every rate in ascending order under its own name', { skip }, async (t) => {
  const { code, out, stderr } = await tiny(['--rate', '25%,300,half']);
  t.equal(code, 0, `bench exits 0 (stderr: ${stderr.slice(-800)})`);
  t.equal(out.meta['rate'], '25%,300,50%', 'meta.rate: the list');
  const [max, ...fixed] = out.runs;
  t.same([max?.['workload'], max?.['mode']], ['chat', 'window'], 'the max-rate row first, once');
  t.same(fixed.map((r) => r['workload']).sort(), ['chat@25%', 'chat@300/s', 'chat@50%'], 'each rate its row, named by its entry');
  const rates = fixed.map((r) => r['rate'] as number);
  t.ok(rates.every((v, i) => i === 0 || v >= rates[i - 1]!), `ascending (${fixed.map((r) => `${String(r['workload'])} ${String(r['rate'])}`).join(', ')})`);
  const byName = new Map(fixed.map((r) => [r['workload'], r['rate'] as number]));
  t.equal(byName.get('chat@300/s'), 300);
  const maxMsgs = max!['delivered_per_s'] as number;
  t.ok(Math.abs(byName.get('chat@50%')! - maxMsgs / 2) <= 2, 'half: half of the max');
  t.ok(Math.abs(byName.get('chat@25%')! - maxMsgs / 4) <= 2, '25%: a quarter');
  t.notMatch(JSON.stringify(fixed.map((r) => r['note'] ?? '')), /sweep stopped/, 'a list runs every rate asked for');
  t.equal(out.slo?.length, 1, 'a list gets the slo entry (default bound)');
  t.equal(out.slo![0]!['p99_slo_ms'], 5);
  t.same(out.slo![0]!['rates_tried'], [...rates].sort((a, b) => a - b));
});

t.test('a lone --rate N is as before (no slo); with --p99-slo it gets its entry; --p99-slo without --rate is refused', { skip }, async (t) => {
  const plain = await tiny(['--rate', '300']);
  t.equal(plain.code, 0, `bench exits 0 (stderr: ${plain.stderr.slice(-800)})`);
  t.same(plain.out.runs.map((r) => [r['workload'], r['mode'], r['rate']]), [['chat', 'rate', 300]], 'one row, the workload\'s own name');
  t.same(Object.keys(plain.out), ['runs', 'meta'], 'no slo key');
  t.equal(plain.out.meta['rate'], 300);
  t.notMatch(plain.stderr, /latency-bounded capacity|fixed rate 300\/s: 1 of/, 'no new lines');
  const slo = await tiny(['--rate', '300', '--p99-slo', '40']);
  t.equal(slo.code, 0, `bench exits 0 (stderr: ${slo.stderr.slice(-800)})`);
  t.same(slo.out.slo?.map((e) => [e['workload'], e['p99_slo_ms'], e['rates_tried'], e['fraction_of_max']]), [['chat', 40, [300], null]], 'asked for: the entry, no max to take a fraction of');
  const refused = await runBench(['--peers', 'none', '--p99-slo', '5'], 30_000);
  t.equal(refused.code, 2, 'a usage error');
  t.match(refused.stderr, /--p99-slo goes with --rate/);
});
