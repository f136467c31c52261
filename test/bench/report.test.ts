// The --report page (bench/report.ts): one chart per measure, bars in proportion to the
// values, the CPU chart's parts (server, nats-server, generator) stacked per row, and
// nothing of a row's text unescaped.
import t from 'tap';
import { htmlReport } from '../../bench/report.ts';
import type { RunResult } from '../../bench/types.ts';

function row(system: RunResult['system'], delivered: number, server: number, nats: number | null, gen: number): RunResult {
  return {
    system, workload: 'chat', mode: 'window', delivered_per_s: delivered, p50_ms: 1, p99_ms: 2, p999_ms: 3,
    server_cpu_us_per_msg: server, nats_cpu_us_per_msg: nats, generator_cpu_us_per_msg: gen, lost: 0, duplicated: 0,
  };
}

/** Widths of the rects inside the SVG whose title starts with `name`. */
function widths(html: string, name: string): number[] {
  return [...html.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="\d+" fill="[^"]+"><title>([^<]*)<\/title>/g)]
    .filter((m) => m[2]!.startsWith(name)).map((m) => Number(m[1]));
}

t.test('the CPU chart stacks server, nats-server and generator per row, in proportion', async (t) => {
  const html = htmlReport([row('hushwire', 100_000, 10, 2, 4), row('socketio', 60_000, 13, null, 15)], { when: 'now' });
  t.match(html, /Delivered messages per second/);
  t.match(html, /End-to-end latency/);
  t.match(html, /CPU per delivered message, whole machine/);
  const server = widths(html, 'server');
  const nats = widths(html, 'nats-server');
  const gen = widths(html, 'generator');
  t.equal(server.length, 2, 'a server part per row');
  t.equal(nats.length, 1, 'a nats-server part only where there is one');
  t.equal(gen.length, 2, 'a generator part per row');
  // the longest bar (socketio: 28 µs) spans the chart's width; the others in proportion
  const total = (i: number): number => server[i]! + (i === 0 ? nats[0]! : 0) + gen[i]!;
  t.ok(Math.abs(total(0) / total(1) - 16 / 28) < 0.01, `hushwire's bar is 16/28 of socketio's (${total(0)} vs ${total(1)})`);
  t.ok(Math.abs(server[0]! / gen[0]! - 10 / 4) < 0.01, 'parts in proportion within a bar');
  t.match(html, /16\.00 µs/, "the bar's total is written next to it");
});

t.test('rows without CPU figures (fixed-rate, skipped) get no CPU bar; text is escaped', async (t) => {
  const rate = { ...row('hushwire', 50_000, 20, 3, 5), mode: 'rate' as const, workload: 'chat<script>' };
  const skipped: RunResult = { ...row('mosquitto', 0, 0, null, 0), skipped: 'no <mosquitto>' } as RunResult;
  const html = htmlReport([rate, skipped], { when: '<now>' });
  t.notMatch(html, /CPU per delivered message/, 'no CPU chart without a max-rate row');
  t.notMatch(html, /<script>/, 'nothing unescaped');
  t.match(html, /&lt;now&gt;/);
});

t.test('with --repeat, each row is named with its round in the charts', async (t) => {
  const html = htmlReport([{ ...row('hushwire', 100_000, 10, 2, 4), round: 1 }, { ...row('hushwire', 90_000, 11, 2, 4), round: 2 }], {});
  t.match(html, /chat · hushwire #1/);
  t.match(html, /chat · hushwire #2/);
});

t.test('storm and idle rows get their own charts, one bar per measure, in proportion', async (t) => {
  const storm = (system: RunResult['system'], s: number): RunResult => ({
    system, workload: 'storm', delivered_per_s: null, p50_ms: null, p99_ms: null, p999_ms: null,
    server_cpu_us_per_msg: null, nats_cpu_us_per_msg: null, lost: null, duplicated: null, devices: 10_000, reconnect_s: s,
  });
  const idle = (system: RunResult['system'], rss: number, retained: number | null): RunResult => ({
    system, workload: 'idle', delivered_per_s: null, p50_ms: null, p99_ms: null, p999_ms: null,
    server_cpu_us_per_msg: null, nats_cpu_us_per_msg: null, lost: null, duplicated: null, devices: 10_000,
    rss_bytes_per_conn: rss, retained_bytes_per_conn: retained,
  });
  const html = htmlReport([storm('hushwire', 2), storm('nats-ws', 4), idle('hushwire', 9_000, 1_500), idle('nats-ws', 24_000, null)], { when: 'now' });
  t.notMatch(html, /Delivered messages per second/, 'no throughput chart without throughput rows');
  t.match(html, /Reconnect storm: seconds until every device is back/);
  t.match(html, /storm · hushwire \(10,000\)/);
  t.match(html, /Idle: server memory per connected device/);
  const bars = (chart: string): number[] => {
    const svg = html.split('<svg').find((x) => x.includes(chart))!;
    return [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
  };
  const s = bars('Reconnect storm');
  t.equal(s.length, 2);
  t.ok(Math.abs(s[0]! / s[1]! - 0.5) < 0.01, 'the 2 s bar is half the 4 s one');
  const m = bars('Idle:');
  t.equal(m.length, 3, 'RSS for both, heap+external after GC where measured');
  t.match(html, /idle · hushwire heap\+ext\. after GC/);
  t.match(html, /24,000 B/);
});

t.test('a negative figure (an idle slope of a few hundred devices can be one) is written as positive ones are', async (t) => {
  const idle = (system: RunResult['system'], rss: number): RunResult => ({
    system, workload: 'idle', delivered_per_s: null, p50_ms: null, p99_ms: null, p999_ms: null,
    server_cpu_us_per_msg: null, nats_cpu_us_per_msg: null, lost: null, duplicated: null, devices: 300, rss_bytes_per_conn: rss,
  });
  const html = htmlReport([idle('hushwire', -15_753.4), idle('nats-ws', 35_055)], { when: 'now' });
  t.match(html, />-15,753 B</, 'grouped and rounded, as 35,055 is');
  t.match(html, />35,055 B</);
  t.notMatch(html, /-15753\.\d\d/, 'not as -15753.40');
});

t.test('rows with a latency timeline get a chart over time per workload, a line per system, and the worst slice in the table', async (t) => {
  const { SliceRecorder, mergeTimeline } = await import('../../bench/timeline.ts');
  // 2 s of 250 ms slices; hushwire stalls at 1.0-1.25 s (a slice's p99 of 80 ms), nats-ws never
  const timeline = (stallAt: number | null, lag: boolean) => {
    const lat = new SliceRecorder(0, 250, 8);
    const lg = new SliceRecorder(0, 250, 8);
    for (let ms = 0; ms < 2_000; ms += 5) {
      lat.record(ms, stallAt !== null && ms >= stallAt && ms < stallAt + 250 ? 80_000 : 1_000);
      lg.record(ms, 100);
    }
    return mergeTimeline(250, [lat.encode()], lag ? [lg.encode()] : null);
  };
  const rows: RunResult[] = [
    { ...row('hushwire', 100_000, 10, 2, 4), timeline: timeline(1_000, false) },
    { ...row('nats-ws', 120_000, 8, null, 4), timeline: timeline(null, false) },
    { ...row('hushwire', 50_000, 10, 2, 4), mode: 'rate', rate: 2_000, send_lag_p99_ms: 0.1, timeline: timeline(1_000, true) },
    { ...row('hushwire', 90_000, 10, 2, 4), workload: 'storm' },
  ];
  const html = htmlReport(rows, { when: 'now' });
  const charts = html.split('<svg').filter((s) => s.includes('Latency over time'));
  t.equal(charts.length, 2, 'one chart per workload and mode (max rate, fixed rate); none for a row without a timeline');
  t.match(charts[0]!, /Latency over time: chat \(max rate\), per 250 ms slice/);
  t.match(charts[1]!, /Latency over time: chat \(fixed rate 2,000 msg\/s\)/);
  const paths = (svg: string): { title: string; d: string }[] => [...svg.matchAll(/<path d="([^"]*)"[^>]*><title>([^<]*)<\/title>/g)].map((m) => ({ d: m[1]!, title: m[2]! }));
  const max = paths(charts[0]!);
  t.same(max.map((p) => p.title).sort(), ['hushwire max', 'hushwire p99', 'nats-ws max', 'nats-ws p99'], 'p99 and max, a line each per system');
  t.same(paths(charts[1]!).map((p) => p.title).sort(), ['hushwire max', 'hushwire p99', 'hushwire send lag p99'], 'the send lag too at a fixed rate');
  // the stall is the highest point (smallest y) of hushwire's p99, at the slice of 1.0-1.25 s (the fifth of eight)
  const pts = [...max.find((p) => p.title === 'hushwire p99')!.d.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
  t.equal(pts.length, 8, 'a point per slice');
  const top = pts.reduce((a, b) => (b.y < a.y ? b : a));
  t.equal(pts.indexOf(top), 4, 'the spike at the stall\'s slice');
  t.ok(pts.every((p, i) => i === 0 || p.x > pts[i - 1]!.x), 'in time order');
  t.match(charts[0]!, /hushwire: worst 250 ms slice: p99 80\.\d ms at t=1 s/, 'the legend gives the worst slice');
  t.match(html, /<h2>Results<\/h2><pre>[^]*worst 250 ms slice: p99 80\.\d ms at t=1 s[^]*<\/pre>/, 'and so does the table');
});

t.test('a slice without deliveries breaks the line', async (t) => {
  const tl = { slice_ms: 100, t_ms: [0, 100, 200, 300], delivered: [5, 0, 5, 5], p50_ms: [1, null, 1, 1], p99_ms: [2, null, 3, 4], max_ms: [2, null, 3, 4] };
  const html = htmlReport([{ ...row('hushwire', 1_000, 10, 2, 4), timeline: tl }], {});
  const d = /<path d="([^"]*)"[^>]*><title>hushwire p99<\/title>/.exec(html)?.[1] ?? '';
  t.match(d, /^M[\d.]+ [\d.]+M[\d.]+ [\d.]+L[\d.]+ [\d.]+$/, `two segments: ${d}`);
});

t.test('--rate half: fixed-rate rows at each system\'s own rate share one chart, a line per system naming its rate', async (t) => {
  const tl = { slice_ms: 100, t_ms: [0, 100], delivered: [5, 5], p50_ms: [1, 1], p99_ms: [2, 3], max_ms: [2, 4], send_lag_p99_ms: [0.1, 0.1] };
  const rows: RunResult[] = [
    { ...row('hushwire', 41_000, 10, 2, 4), mode: 'rate', rate: 41_185, timeline: tl },
    { ...row('nats-ws', 60_000, 8, null, 4), mode: 'rate', rate: 60_250, timeline: tl },
  ];
  const charts = htmlReport(rows, {}).split('<svg').filter((s) => s.includes('Latency over time'));
  t.equal(charts.length, 1, 'one fixed-rate chart, not one per system');
  t.match(charts[0]!, /Latency over time: chat \(fixed rate\), per 100 ms slice/);
  const titles = [...charts[0]!.matchAll(/<path d="[^"]*"[^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]!).sort();
  t.same(titles.filter((x) => x.endsWith(' p99') && !x.includes('lag')), ['hushwire at 41,185 msg/s p99', 'nats-ws at 60,250 msg/s p99']);
});
