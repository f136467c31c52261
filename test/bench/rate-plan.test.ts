// bench/rate-plan.ts: --rate lists and sweep (parsing, the plan, the order of the fixed
// rates, the sweep's stop rule) and the latency-bounded capacity (--p99-slo) picked from
// rows. Pure: synthetic rows, no bench run.
import t from 'tap';
import {
  parseRateOption, ratePlan, resolveRates, saturation, sweepStop, sloEntries, sloText, rateMeta, isRateList, baseWorkload, deliveriesPerMessage, SWEEP_PCTS,
} from '../../bench/rate-plan.ts';
import type { RunResult } from '../../bench/types.ts';
import { parseBenchArgs } from '../helpers/bench-cli.ts';

const parse = parseBenchArgs;

t.test('--rate: a lone rate and half parse as before; lists, percentages and sweep', async (t) => {
  t.equal(parseRateOption('2000'), 2000);
  t.equal(parseRateOption('half'), 'half');
  t.equal(parseRateOption('sweep'), 'sweep');
  t.same(parseRateOption('25%'), [{ pct: 25 }], 'a lone percentage is a list');
  t.same(parseRateOption('25%, 2000,half,12.5%'), [{ pct: 25 }, { msgs: 2000 }, { pct: 50 }, { pct: 12.5 }]);
  t.same(parseRateOption('1000,2000'), [{ msgs: 1000 }, { msgs: 2000 }]);
  // through the command's own parsing
  t.equal(parse(['--rate', '2000'])['rate' as never], 2000);
  t.equal(parse(['--rate', 'half'])['rate' as never], 'half');
  t.equal(parse(['--rate', 'sweep'])['rate' as never], 'sweep');
  t.same(parse(['--rate', '10%,5000'])['rate' as never], [{ pct: 10 }, { msgs: 5000 }]);
  t.equal(parse([])['p99Slo' as never], 5, '--p99-slo defaults to the issue\'s 5 ms');
  t.equal(parse(['--rate', 'sweep', '--p99-slo', '2.5'])['p99Slo' as never], 2.5);
});

t.test('--rate: bad entries, duplicates and empty lists are refused, saying why', async (t) => {
  t.match(parse(['--rate', 'fast']), /must be a positive number of messages\/s, or "half"/);
  t.match(parse(['--rate', '']), /names no rate/);
  t.match(parse(['--rate', '2000,,3000']), /an empty entry in "2000,,3000"/);
  t.match(parse(['--rate', '2000,']), /an empty entry/);
  t.match(parse(['--rate', '2000,fast']), /"fast" in "2000,fast" is not a rate: each entry is a positive number of messages\/s, "half" or a percentage/);
  t.match(parse(['--rate', '0,1000']), /"0" in "0,1000" is not a rate/);
  t.match(parse(['--rate', '-5']), /must be a positive number/);
  t.match(parse(['--rate', '150%']), /"150%": a percentage of the max rate is from 1 to 100/);
  t.match(parse(['--rate', '0.5%']), /from 1 to 100/);
  t.match(parse(['--rate', '%']), /not "%"/);
  t.match(parse(['--rate', '2000,2000']), /"2000" is given twice/);
  t.match(parse(['--rate', '2000,2e3']), /"2000" and "2e3" are the same rate/);
  t.match(parse(['--rate', 'half,50%']), /"half" and "50%" are the same rate \(50% of the max\)/);
  t.match(parse(['--rate', 'sweep,2000']), /"sweep" goes alone/);
  t.match(parse(['--p99-slo', '0']), /must be a positive number/);
});

t.test('the plan: which runs, in which order, under which names', async (t) => {
  t.same(ratePlan(null), { maxRun: true, fixed: [], sweep: false, plainName: false }, 'no --rate: the max-rate run only');
  t.same(ratePlan(2000), { maxRun: false, fixed: [{ msgs: 2000 }], sweep: false, plainName: true }, 'a lone rate: one fixed run under the workload\'s own name');
  t.same(ratePlan('half'), { maxRun: true, fixed: [{ pct: 50 }], sweep: false, plainName: false });
  t.same(ratePlan([{ msgs: 1000 }, { msgs: 500 }]).maxRun, false, 'absolute rates only: no max-rate run');
  t.same(ratePlan([{ msgs: 1000 }, { pct: 25 }]).maxRun, true, 'a percentage: the max-rate run first');
  const sweep = ratePlan('sweep');
  t.ok(sweep.maxRun && sweep.sweep);
  t.same(sweep.fixed.map((e) => ('pct' in e ? e.pct : -1)), [10, 20, 30, 40, 50, 60, 70, 80, 90]);
  t.same(SWEEP_PCTS, [10, 20, 30, 40, 50, 60, 70, 80, 90]);
  // ascending by messages/s, percentages of the max run's messages/s
  const r = resolveRates(ratePlan([{ pct: 50 }, { msgs: 3000 }, { pct: 10 }, { msgs: 900 }]), 8000);
  t.same(r.map((x) => [x.label, x.msgs]), [['10%', 800], ['900/s', 900], ['3000/s', 3000], ['50%', 4000]], 'ascending, whatever the order given');
  t.same(resolveRates(ratePlan([{ pct: 50 }, { msgs: 3000 }]), null).map((x) => x.label), ['3000/s'], 'no max rate: the percentages are left out');
  t.same(resolveRates(ratePlan('half'), 0), [], 'a max run that delivered nothing: no half');
  t.equal(resolveRates(ratePlan('half'), 87_009 * 2)[0]!.msgs, 87_009, 'half is half');
});

t.test('meta, names and deliveries per message', async (t) => {
  t.equal(rateMeta(null), null);
  t.equal(rateMeta(2000), 2000);
  t.equal(rateMeta('half'), 'half');
  t.equal(rateMeta('sweep'), 'sweep');
  t.equal(rateMeta([{ pct: 25 }, { msgs: 2000 }, { pct: 50 }]), '25%,2000,50%');
  t.notOk(isRateList(null) || isRateList(2000) || isRateList('half'), 'a lone rate and half: as before');
  t.ok(isRateList('sweep') && isRateList([{ pct: 50 }]));
  t.equal(baseWorkload('chat@25%'), 'chat');
  t.equal(baseWorkload('fanout-3@2000/s'), 'fanout-3');
  t.equal(baseWorkload('chat'), 'chat');
  t.equal(deliveriesPerMessage('chat@10%'), 1);
  t.equal(deliveriesPerMessage('fanout-10@10%'), 10);
});

/** A fixed-rate row: `rate` offered, `delivered` per second, p99, lost. */
function fixed(system: RunResult['system'], workload: string, rate: number, deliveredPerS: number, p99: number, lost = 0, round?: number): RunResult {
  return {
    system, workload, mode: 'rate', rate, delivered_per_s: deliveredPerS, delivered: deliveredPerS * 10, p50_ms: 1, p99_ms: p99, p999_ms: p99 * 2,
    server_cpu_us_per_msg: 10, nats_cpu_us_per_msg: 2, lost, duplicated: 0, ...(round !== undefined ? { round } : {}),
  };
}

function maxRow(system: RunResult['system'], workload: string, deliveredPerS: number, round?: number): RunResult {
  return { ...fixed(system, workload, 0, deliveredPerS, 50, 0, round), mode: 'window', rate: null };
}

t.test('the sweep\'s stop rule: saturated when it failed, lost messages or delivered under 90% of the offered deliveries', async (t) => {
  t.equal(saturation(fixed('hushwire', 'chat@10%', 2000, 1990, 3)), null, 'keeping up');
  t.equal(saturation(fixed('hushwire', 'chat@10%', 2000, 1800, 3)), null, 'exactly 90% is not saturated');
  t.match(saturation(fixed('hushwire', 'chat@60%', 12_000, 10_000, 40)), /delivered 83% of the offered 12,000\/s/);
  t.match(saturation(fixed('hushwire', 'chat@60%', 12_000, 12_000, 40, 3)), /3 lost/);
  t.match(saturation({ ...fixed('hushwire', 'chat@60%', 12_000, 0, 40), delivered: 0 }), /nothing delivered/);
  t.match(saturation({ system: 'hushwire', workload: 'chat@70%', delivered_per_s: null, p50_ms: null, p99_ms: null, p999_ms: null, server_cpu_us_per_msg: null, nats_cpu_us_per_msg: null, lost: null, duplicated: null, skipped: 'failed: boom', error: true }), /the run failed/);
  // fanout-3: 1,000 messages/s offered is 3,000 deliveries/s
  t.equal(saturation(fixed('hushwire', 'fanout-3@10%', 1000, 2950, 3)), null, 'fanout counts each recipient device');
  t.match(saturation(fixed('hushwire', 'fanout-3@10%', 1000, 1000, 3)), /delivered 33%/);
  // the sweep stops after a saturated row, saying so; a list goes on
  const sweep = ratePlan('sweep');
  t.equal(sweepStop(sweep, fixed('hushwire', 'chat@30%', 6000, 6000, 3), 6), null, 'keeping up: the sweep goes on');
  t.equal(sweepStop(sweep, fixed('hushwire', 'chat@40%', 8000, 6000, 90), 5), 'sweep stopped here: saturated at this rate (delivered 75% of the offered 8,000/s); 5 higher rates not run');
  t.equal(sweepStop(sweep, fixed('hushwire', 'chat@90%', 18_000, 18_000, 9, 1), 0), 'sweep stopped here: saturated at this rate (1 lost)', 'the last rate: nothing left to skip');
  t.equal(sweepStop(ratePlan([{ pct: 40 }, { pct: 50 }]), fixed('hushwire', 'chat@40%', 8000, 6000, 90), 1), null, 'a list runs every rate asked for');
  t.equal(sweepStop(ratePlan('half'), fixed('hushwire', 'chat@50%', 8000, 6000, 90), 0), null, 'and half as before');
});

t.test('the SLO entry picks the highest rate within the bound, from synthetic rows', async (t) => {
  const rows: RunResult[] = [
    maxRow('hushwire', 'chat', 100_000),
    fixed('hushwire', 'chat@10%', 10_000, 10_000, 2.1),
    fixed('hushwire', 'chat@20%', 20_000, 19_990, 4.9),
    fixed('hushwire', 'chat@30%', 30_000, 30_000, 5.2), // over the bound
    fixed('hushwire', 'chat@40%', 40_000, 40_000, 4.0, 2), // within, but lost 2
    fixed('hushwire', 'chat@50%', 50_000, 40_000, 3.0), // within, but 80% delivered
    maxRow('socketio', 'chat', 60_000),
    fixed('socketio', 'chat@10%', 6_000, 6_000, 7.5),
    fixed('socketio', 'chat@20%', 12_000, 12_000, 9.0),
    { system: 'hushwire', workload: 'storm', delivered_per_s: null, p50_ms: null, p99_ms: null, p999_ms: null, server_cpu_us_per_msg: null, nats_cpu_us_per_msg: null, lost: null, duplicated: null, reconnect_s: 1.5 },
  ];
  const e = sloEntries(rows, 5);
  t.same(e, [
    { system: 'hushwire', workload: 'chat', p99_slo_ms: 5, max_rate_within_slo: 20_000, fraction_of_max: 0.2, rates_tried: [10_000, 20_000, 30_000, 40_000, 50_000] },
    { system: 'socketio', workload: 'chat', p99_slo_ms: 5, max_rate_within_slo: null, fraction_of_max: null, rates_tried: [6_000, 12_000] },
  ], 'a group per system and workload with fixed-rate rows; none for storm');
  t.equal(sloEntries(rows, 10)[1]!.max_rate_within_slo, 12_000, 'a looser bound lets more rows in');
  t.same(sloEntries([maxRow('hushwire', 'chat', 100_000)], 5), [], 'no fixed-rate rows: no entry');
  // absolute rates only: no max-rate run, no fraction; fanout's max in messages/s
  t.same(sloEntries([fixed('nats-ws', 'chat@1000/s', 1000, 1000, 1), fixed('nats-ws', 'chat@2000/s', 2000, 2000, 1)], 5)[0],
    { system: 'nats-ws', workload: 'chat', p99_slo_ms: 5, max_rate_within_slo: 2000, fraction_of_max: null, rates_tried: [1000, 2000] });
  t.equal(sloEntries([maxRow('hushwire', 'fanout-3', 30_000), fixed('hushwire', 'fanout-3@25%', 2500, 7500, 1)], 5)[0]!.fraction_of_max, 0.25, 'fanout: the max in messages (deliveries / 3)');
  // a lone --rate N row is named as the workload
  t.same(sloEntries([fixed('hushwire', 'chat', 2000, 2000, 3)], 5)[0]!.max_rate_within_slo, 2000);
  // a failed fixed-rate row: its group is listed, the row counts for nothing
  const failed: RunResult = { system: 'mosquitto', workload: 'chat@10%', delivered_per_s: null, p50_ms: null, p99_ms: null, p999_ms: null, server_cpu_us_per_msg: null, nats_cpu_us_per_msg: null, lost: null, duplicated: null, skipped: 'failed: boom', error: true };
  t.same(sloEntries([maxRow('mosquitto', 'chat', 50_000), failed], 5), [{ system: 'mosquitto', workload: 'chat', p99_slo_ms: 5, max_rate_within_slo: null, fraction_of_max: null, rates_tried: [] }]);
});

t.test('--repeat: an entry per round, each from its own round\'s rows and max rate', async (t) => {
  const rows = [
    maxRow('hushwire', 'chat', 100_000, 1), fixed('hushwire', 'chat@10%', 10_000, 10_000, 2, 0, 1), fixed('hushwire', 'chat@20%', 20_000, 20_000, 6, 0, 1),
    maxRow('hushwire', 'chat', 80_000, 2), fixed('hushwire', 'chat@10%', 8_000, 8_000, 2, 0, 2), fixed('hushwire', 'chat@20%', 16_000, 16_000, 4, 0, 2),
  ];
  const e = sloEntries(rows, 5);
  t.same(e.map((x) => [x.round, x.max_rate_within_slo, x.fraction_of_max]), [[1, 10_000, 0.1], [2, 16_000, 0.2]]);
  t.match(sloText(e), /hushwire\s+chat #1\s+10,000 msg\/s \(10% of its max rate\)\s+\(2 rates tried, 10,000-20,000 msg\/s\)/);
  t.match(sloText(e), /hushwire\s+chat #2\s+16,000 msg\/s \(20% of its max rate\)/);
});

t.test('the summary text', async (t) => {
  t.equal(sloText([]), '', 'nothing without entries');
  const text = sloText([
    { system: 'hushwire', workload: 'chat', p99_slo_ms: 5, max_rate_within_slo: 20_000, fraction_of_max: 0.2, rates_tried: [10_000, 20_000, 30_000] },
    { system: 'socketio', workload: 'chat', p99_slo_ms: 5, max_rate_within_slo: null, fraction_of_max: null, rates_tried: [6_000] },
  ]);
  const lines = text.split('\n');
  t.match(lines[0]!, /^latency-bounded capacity: the highest offered rate with p99 <= 5 ms, nothing lost and at least 90% delivered \(--p99-slo 5\)$/);
  t.match(lines[1]!, /^hushwire\s+chat\s+20,000 msg\/s \(20% of its max rate\)\s+\(3 rates tried, 10,000-30,000 msg\/s\)$/);
  t.match(lines[2]!, /^socketio\s+chat\s+none\s+\(1 rate tried, 6,000 msg\/s\)$/);
});
