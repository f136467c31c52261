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
