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
