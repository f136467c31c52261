// The table (stdout, stderr and the --report page) with --repeat: each row is one
// round's, and says which, as the JSON's `round` and the charts' `#N` do.
import t from 'tap';
import { table, tableRow } from '../../bench/report.ts';
import type { RunResult } from '../../bench/types.ts';

function row(system: RunResult['system'], workload: string, delivered: number, round?: number): RunResult {
  return {
    system, workload, mode: 'window', delivered_per_s: delivered, p50_ms: 1, p99_ms: 2, p999_ms: 3,
    server_cpu_us_per_msg: 10, nats_cpu_us_per_msg: 2, lost: 0, duplicated: 0, ...(round !== undefined ? { round } : {}),
  };
}

t.test('rows of interleaved rounds name their round; rows of a single run do not', async (t) => {
  const rows = [row('hushwire', 'chat', 50_000, 1), row('socketio', 'chat', 30_000, 1), row('hushwire', 'chat', 60_000, 2), row('socketio', 'chat', 31_000, 2)];
  const lines = table(rows).split('\n').slice(1);
  t.equal(lines.length, 4);
  t.match(lines[0]!, /^hushwire\s+chat #1\s+50,000 /);
  t.match(lines[2]!, /^hushwire\s+chat #2\s+60,000 /);
  t.match(lines[3]!, /^socketio\s+chat #2\s+31,000 /);
  t.equal(new Set(lines.map((l) => l.split(/\s{2,}/).slice(0, 2).join(' '))).size, 4, 'no two rows read the same');
  t.match(tableRow(row('hushwire', 'chat', 50_000)), /^hushwire\s+chat\s+50,000 /, 'no round without --repeat');
  t.notMatch(tableRow(row('hushwire', 'chat', 50_000)), /#/);
  // the columns stay aligned with the widest workload and round
  const wide = tableRow(row('uws-relay', 'fanout-10', 1_000, 3));
  t.equal(wide.indexOf('1,000') + '1,000'.length, tableRow(row('hushwire', 'chat', 50_000)).indexOf('50,000') + '50,000'.length, 'deliv/s right-aligned in the same column');
});
