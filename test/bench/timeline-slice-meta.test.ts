// A window that would need more than 1,000 slices of --slice-ms takes a larger slice, and
// the run says so: on stderr and in the JSON's meta (slice_ms: the slice used,
// slice_ms_asked: the one asked for). Run against a gateway that cannot be reached: the
// bench fails at once (exit 1) but still prints its JSON with the meta.
import t from 'tap';
import { runBench } from '../helpers/bench-cli.ts';

t.test('--slice-ms 10 over an 11 s window: 20 ms slices, said on stderr and in meta', async (t) => {
  const r = await runBench(['--gateway', 'ws://127.0.0.1:1/ws', '--peers', 'none', '--duration', '11', '--slice-ms', '10', '--json'], 30_000);
  t.equal(r.code, 1, 'every run failed (nothing to reach)');
  const meta = (JSON.parse(r.stdout) as { meta: Record<string, unknown> }).meta;
  t.equal(meta['slice_ms'], 20);
  t.equal(meta['slice_ms_asked'], 10);
  t.match(r.stderr, /^latency timeline: 20 ms slices instead of --slice-ms 10 \(at most 1,000 slices in the 11 s window\)$/m);
});

t.test('a slice that fits: as asked, no slice_ms_asked, nothing said', async (t) => {
  const r = await runBench(['--gateway', 'ws://127.0.0.1:1/ws', '--peers', 'none', '--duration', '10', '--slice-ms', '10', '--json'], 30_000);
  const meta = (JSON.parse(r.stdout) as { meta: Record<string, unknown> }).meta;
  t.equal(meta['slice_ms'], 10);
  t.notOk('slice_ms_asked' in meta);
  t.notMatch(r.stderr, /latency timeline:/);
});
