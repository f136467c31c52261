// --warmup 0 is a cold measurement (the measured window starts with the first message);
// it was refused ("must be a positive number") only because every duration flag shared
// one positive-seconds parser. --grace 0 stays refused, with why and what to use: every
// message still in flight when the window ends would count as lost or unconfirmed.
import t from 'tap';
import { natsServerBinary } from '../../bench/servers.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { runBench as bench } from '../helpers/bench-cli.ts';

t.setTimeout(150_000);

t.test('--grace 0 is refused with the reason and what to use instead', async (t) => {
  const r = await bench(['--peers', 'none', '--grace', '0']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--grace <s>' argument '0' is invalid\. must be more than 0: .*counts them lost or unconfirmed.*e\.g\. --grace 1/);
  const neg = await bench(['--peers', 'none', '--warmup', '-1']);
  t.equal(neg.code, 2);
  t.match(neg.stderr, /must be a positive number, or 0 \(no warm-up/);
});

t.test('--warmup 0 measures from the first message', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  const r = await bench(['--peers', 'none', '--pairs', '2', '--warmup', '0', '--duration', '1', '--grace', '1', '--transport', transport, '--workers', '1', '--json'], 120_000);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.slice(-400)})`);
  const out = JSON.parse(r.stdout) as { runs: { delivered?: number; skipped?: string }[]; meta: { warmup_s: number } };
  t.equal(out.meta.warmup_s, 0);
  t.equal(out.runs.length, 1);
  t.notOk(out.runs[0]!.skipped, 'measured');
  t.ok((out.runs[0]!.delivered ?? 0) > 0, `delivered ${out.runs[0]!.delivered}`);
  t.notMatch(r.stderr, / warm-up {2}sent/, 'no progress line before the window');
});
