// The progress lines of a measured run count seconds from the start of the warm-up;
// those before the measured window say "warm-up" (and after it "grace"), so their
// rates are not read as the result's (a 3 s run printed lines up to "3.7s"). Every
// line names its run the same way, "[hushwire chat] ...", with no colon after it.
import t from 'tap';
import { natsServerBinary } from '../../bench/servers.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { runBench as bench } from '../helpers/bench-cli.ts';

t.setTimeout(150_000);

t.test('progress lines say which are warm-up', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  const r = await bench(['--peers', 'none', '--pairs', '2', '--warmup', '2', '--duration', '2', '--grace', '2', '--transport', transport, '--workers', '1'], 120_000);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.slice(-300)})`);
  const lines = [...r.stderr.matchAll(/^ {3}\[hushwire chat\] (\d+\.\d)s( warm-up| grace)? {2}sent [\d,]+ {2}delivered [\d,]+ {2}[\d,]+\/s$/gm)]
    .map((m) => ({ s: Number(m[1]), phase: m[2]?.trim() ?? 'measuring' }));
  t.ok(lines.length >= 3, `progress lines (${lines.length})`);
  const warm = lines.filter((l) => l.phase === 'warm-up');
  const measured = lines.filter((l) => l.phase === 'measuring');
  t.ok(warm.length >= 1, 'the warm-up seconds are marked');
  t.ok(measured.length >= 1, 'the measured seconds are not');
  t.ok(warm.every((l) => l.s < 2.5), `warm-up lines within the 2 s warm-up (+0.3 s start): ${warm.map((l) => l.s).join(', ')}`);
  t.ok(measured.every((l) => l.s >= 2.2 && l.s < 4.5), `measured lines within the window: ${measured.map((l) => l.s).join(', ')}`);
  const order = lines.map((l) => l.phase).join(' ');
  t.match(order, /^(warm-up )+(measuring ?)+(grace ?)*$/, `warm-up, then measuring, then grace, in that order: ${order}`);
  // Every line about the run reads "[system workload] what": the connect line said
  // "[hushwire chat]: 4 connected in ..." (a colon none of the others has).
  t.match(r.stderr, /^ {3}\[hushwire chat\] 4 connected in [\d,]+ ms$/m, 'the connect line, without a colon after the bracket');
  t.notMatch(r.stderr, /\[hushwire chat\]:/, 'no line has one');
});
