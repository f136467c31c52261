// Against running gateways the bench registers its devices through the protocol (number
// verification and a VOPRF evaluation each, ~100 a second per gateway): a storm of
// 10,000 takes minutes. It says how far it is, once a second, as the measured phases do;
// set-up was silent until the whole registration was done.
import t from 'tap';
import { spawnGateway } from '../helpers/gateway.ts';
import { runBench as bench } from '../helpers/bench-cli.ts';

t.setTimeout(180_000);

t.test('registering on a running gateway: a progress line a second, then how many and how long', async (t) => {
  const gw = await spawnGateway([]);
  t.teardown(() => gw.kill());
  // 1,200 devices: at least ~4 s of registration even on a fast machine.
  const r = await bench(['--gateway', gw.url, '--peers', 'none', '--workload', 'idle', '--devices', '1200', '--workers', '1'], 150_000);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.slice(-400)})`);
  const lines = [...r.stderr.matchAll(/^ {3}\[hushwire idle\] registering: ([\d,]+) of 1,200 devices \((\d+) s\)$/gm)];
  t.ok(lines.length >= 2, `progress lines while registering (${lines.length})`);
  const counts = lines.map((m) => Number(m[1]!.replace(/,/g, '')));
  t.same(counts, [...counts].sort((a, b) => a - b), 'the count only grows');
  t.ok(counts.every((n) => n <= 1200), 'never more than asked for');
  t.match(r.stderr, /^ {3}1,200 devices registered through ws:\/\/127\.0\.0\.1:\d+\/ws \([\d,]+ ms\)$/m, 'then the total, through which gateway, in how long');
  t.ok(r.stderr.indexOf('registering:') < r.stderr.indexOf('devices registered through'), 'progress before the total');
  t.match(r.stderr, /\[hushwire idle\] 1,200 connected|\[hushwire idle\] 9\d\d connected/, 'counts written with thousands separators');
  t.match(r.stderr, /1,200 bench devices unregistered/);
});
