// The idle workload's "before any" figure (the gateways' RSS before the first device
// connects) is a baseline for the per-connection figure counting the first ones; on
// the local gateways it is read after a full GC and once V8's memory reducer has shrunk
// both young generations of each gateway (main thread and module-loader thread,
// bench/young-gen-preload.mjs), like the points after it, so start-up garbage and
// start-up young generations do not make that figure negative. 1,000 devices: ~8 MB of
// growth; the loader thread alone gave back ~15 MB per gateway at a time of V8's
// choosing, and once between the readings (CI, 2026-12-06: -5,448 B per connection).
import t from 'tap';
import { natsServerBinary } from '../../bench/servers.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { runBench as bench } from '../helpers/bench-cli.ts';

t.setTimeout(300_000);

t.test('idle on the local gateways: RSS before any connection is no more than with them', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  const r = await bench(['--peers', 'none', '--workload', 'idle', '--devices', '1000', '--transport', transport, '--workers', '1', '--json'], 280_000);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.slice(-400)})`);
  const m = /RSS ([\d,]+) kB idle, ([\d,]+) kB with 200, ([\d,]+) kB with 1,000 connections/.exec(r.stderr);
  t.ok(m, 'the three RSS readings are logged');
  const run = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
  const note = String(run['note']);
  // V8 decides when its memory reducer runs; on a loaded machine it may not within the
  // bench's bound (two rounds of 45 s). Then the bench must say so, in the log and in the
  // note, rather than print a baseline it could not read cleanly.
  const notSettled = /young generations not settled ([^;)]+)/.exec(note);
  if (notSettled !== null) {
    t.comment(`V8 did not shrink the young generations in time here (${notSettled[1]}): checking that the bench says so`);
    t.match(r.stderr, /warning: [^\n]*young generations (were not back at their smallest within \d+ s|could not be read)/, 'the log warns');
    return;
  }
  t.notMatch(r.stderr, /young generations (were not back|could not be read)/, 'every reading found the young generations settled');
  const kb = (i: number): number => Number(m?.[i]?.replace(/,/g, '') ?? NaN);
  t.ok(kb(1) <= kb(3), `before any (${kb(1)} kB) not above all 1,000 connected (${kb(3)} kB)`);
  const first = /; (-?[\d,]+) B per connection counting the first ones\)$/.exec(note);
  t.ok(first, `the note has the figure counting the first ones (${note})`);
  t.ok(Number(first?.[1]?.replace(/,/g, '') ?? NaN) >= 0, `and it is not negative (${first?.[1]})`);
});
