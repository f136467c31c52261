// bench/probes.ts: reading a running gateway's CPU time and RSS from its /metrics.
// The exposition text comes from the gateway's own metrics registry (relay/metrics.ts),
// served by real HTTP servers on loopback; /proc readings from this test's own pid.
import t from 'tap';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { within } from '../helpers/poll.ts';
import { createMetrics } from '../../relay/metrics.ts';
import { metricsProbe, metricsUrlOf, parseProcessSamples, pidProbe } from '../../bench/probes.ts';

async function serve(handler: (path: string) => { status: number; body: string } | null): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const a = handler(req.url ?? '/');
    if (a === null) return; // never answers: the probe's deadline must end the wait
    res.writeHead(a.status, { 'content-type': 'text/plain' });
    res.end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Exposition text in the gateway's own format with the given process figures. */
function text(cpuUser: number, cpuSystem: number, rss: number, start: number): string {
  return [
    '# HELP hushwire_process_process_cpu_user_seconds_total Total user CPU time spent in seconds.',
    '# TYPE hushwire_process_process_cpu_user_seconds_total counter',
    `hushwire_process_process_cpu_user_seconds_total ${cpuUser}`,
    `hushwire_process_process_cpu_system_seconds_total ${cpuSystem}`,
    `hushwire_process_process_cpu_seconds_total ${cpuUser + cpuSystem}`,
    `hushwire_process_process_start_time_seconds ${start}`,
    `hushwire_process_process_resident_memory_bytes ${rss}`,
    'hushwire_connections{transport="uws"} 3',
    '',
  ].join('\n');
}

t.test('parseProcessSamples reads what the gateway\'s registry exposes', async (t) => {
  const m = createMetrics();
  const s = parseProcessSamples(await m.registry.metrics());
  t.ok(s !== null, 'the gateway registry has the process samples');
  t.ok(s!.cpuSeconds >= 0, 'CPU seconds');
  t.ok(s!.rssBytes !== null && s!.rssBytes > 1_000_000, 'RSS in bytes');
  t.ok(s!.startTimeSeconds !== null && Math.abs(s!.startTimeSeconds - Date.now() / 1000) < 3600 * 24 * 365, 'start time in seconds');
});

t.test('parseProcessSamples: user + system, the total as fallback, and refusals', async (t) => {
  t.same(parseProcessSamples(text(1.5, 0.25, 4096, 1700000000)), { cpuSeconds: 1.75, rssBytes: 4096, startTimeSeconds: 1700000000 });
  t.same(parseProcessSamples('hushwire_process_process_cpu_seconds_total 2.5\n'), { cpuSeconds: 2.5, rssBytes: null, startTimeSeconds: null }, 'only the total');
  t.equal(parseProcessSamples(''), null, 'empty text');
  t.equal(parseProcessSamples('process_cpu_seconds_total 2\n'), null, 'another program\'s unprefixed metrics');
  t.equal(parseProcessSamples('hushwire_process_process_cpu_seconds_total NaN\n'), null, 'NaN');
  t.equal(parseProcessSamples('hushwire_process_process_cpu_seconds_total -1\n'), null, 'negative');
  t.equal(parseProcessSamples('# hushwire_process_process_cpu_seconds_total 2\n'), null, 'a comment is not a sample');
  t.equal(parseProcessSamples('hushwire_process_process_cpu_seconds_total_x 2\n'), null, 'a longer name is another metric');
});

t.test('metricsUrlOf', async (t) => {
  t.equal(metricsUrlOf('ws://127.0.0.1:8480/ws'), 'http://127.0.0.1:8480/metrics');
  t.equal(metricsUrlOf('wss://gw.example:443/ws?x=1'), 'https://gw.example/metrics', 'default port, query dropped');
  t.equal(metricsUrlOf('ws://[::1]:9000/'), 'http://[::1]:9000/metrics');
  t.equal(metricsUrlOf('http://127.0.0.1:8480/ws'), null, 'not a WebSocket URL');
  t.equal(metricsUrlOf('not a url'), null);
});

t.test('metricsProbe sums the gateways, reads the delta, and notices a replaced process', async (t) => {
  const figures = { a: { cpu: 1, rss: 1000, start: 100 }, b: { cpu: 2, rss: 2000, start: 200 } };
  const a = await serve(() => ({ status: 200, body: text(figures.a.cpu, 0.5, figures.a.rss, figures.a.start) }));
  const b = await serve(() => ({ status: 200, body: text(figures.b.cpu, 0.5, figures.b.rss, figures.b.start) }));
  t.teardown(async () => { await a.close(); await b.close(); });
  const p = metricsProbe([a.url, b.url, a.url]);
  t.equal(p.source, 'metrics');
  t.equal(await p.cpuMicros(), 4_000_000, 'both gateways, the repeated URL read once');
  t.equal(await p.rssBytes(), 3000);
  figures.a.cpu = 1.25;
  t.equal(await p.cpuMicros(), 4_250_000, 'a later read');
  t.equal(p.problem(), null, 'no problem so far');
  figures.b.start = 201; // b restarted (or another process answers at that URL)
  t.equal(await p.cpuMicros(), null, 'a replaced process gives no CPU reading');
  figures.b.start = 200;
  t.equal(await p.cpuMicros(), null, 'and none after that either');
  t.equal(await p.rssBytes(), null, 'nor an RSS reading');
  t.match(p.problem(), /another process/);
});

t.test('metricsProbe: HTTP errors, missing samples, unreachable and silent servers give null with a reason', async (t) => {
  const err = await serve(() => ({ status: 500, body: 'no' }));
  const other = await serve(() => ({ status: 200, body: 'process_cpu_seconds_total 3\n' }));
  const silent = await serve(() => null);
  t.teardown(async () => { await err.close(); await other.close(); await silent.close(); });
  const e = metricsProbe([err.url]);
  t.equal(await e.cpuMicros(), null);
  t.match(e.problem(), /HTTP 500/);
  const o = metricsProbe([other.url]);
  t.equal(await o.cpuMicros(), null);
  t.match(o.problem(), /no hushwire_process_\* CPU samples/);
  const closed = await serve(() => ({ status: 200, body: '' }));
  const url = closed.url;
  await closed.close();
  const c = metricsProbe([url]);
  t.equal(await c.cpuMicros(), null);
  t.match(c.problem(), /^http:\/\/127\.0\.0\.1:\d+\/metrics unreachable \(ECONNREFUSED\)$/, 'the cause, not fetch\'s TypeError');
  const unknown = metricsProbe(['http://no-such-host.invalid/metrics']);
  t.equal(await unknown.cpuMicros(), null);
  t.match(unknown.problem(), /unreachable \((ENOTFOUND|EAI_AGAIN)\)/, 'a name that does not resolve');
  const s = metricsProbe([silent.url], { timeoutMs: 200 });
  // The 200 ms deadline ends the wait: the test waits 2.5 s, under the probe's default
  // timeout (3 s), and that timer, set in the same turn as the probe's (timers fire by
  // expiry), fires first if timeoutMs is ignored; without a deadline the wait would hang.
  // Not a timing.
  t.equal(await within(s.cpuMicros(), 2500, 'a probe of a server that never answers'), null, 'a server that never answers');
  t.match(s.problem(), /unreachable \(no answer within 200 ms, (TimeoutError|AbortError)\)/);
  t.equal(await metricsProbe([]).cpuMicros(), null, 'no URL, no reading');
});

t.test('pidProbe reads this process from /proc', async (t) => {
  const p = pidProbe([process.pid]);
  t.equal(p.source, 'proc');
  const c0 = await p.cpuMicros();
  let x = 0;
  for (let i = 0; i < 5e6; i++) x += i % 7;
  t.ok(x > 0);
  const c1 = await p.cpuMicros();
  t.ok(c0 !== null && c1 !== null && c1 >= c0, 'CPU time does not go back');
  t.ok(((await p.rssBytes()) ?? 0) > 1_000_000, 'RSS');
  t.equal(await pidProbe([]).cpuMicros(), null, 'no pid, no reading');
  t.equal(await pidProbe([2 ** 22 + 12345]).rssBytes(), null, 'a pid that does not exist');
});
