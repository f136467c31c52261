// Smoke test of `hushwire bench`: a tiny bounded chat run against a local setup it
// starts itself (nats-server + 2 gateways), checked for the JSON shape, for messages
// delivered and none lost, and for the report files. No timing assertions.
import t from 'tap';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnGateway } from '../helpers/gateway.ts';
import { natsServerBinary } from '../../bench/servers.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { runBench } from '../helpers/bench-cli.ts';

// About 20 bounded bench runs that start servers (and as many that stop at their
// arguments): ~200 s on the 2-core CI machine when it is shared, more with two suites
// at once (they timed out at tap's 120 s default). Each run has its own deadline
// (runBench's SIGKILL).
t.setTimeout(480_000);

const KEYS = ['system', 'workload', 'delivered_per_s', 'p50_ms', 'p99_ms', 'p999_ms', 'server_cpu_us_per_msg', 'nats_cpu_us_per_msg', 'lost', 'duplicated'];

t.test('a tiny chat run: JSON shape, delivered > 0, nothing lost, report written', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-bench-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  const r = await runBench([
    '--peers', 'none', '--workload', 'chat', '--pairs', '4', '--duration', '2', '--warmup', '1', '--grace', '4',
    '--gateways', '2', '--transport', transport, '--workers', '1', '--json', '--report', dir, '--heap-sample', join(dir, 'heap'),
  ], 90_000);
  t.equal(r.code, 0, `bench exits 0 (stderr: ${r.stderr.slice(-500)})`);
  const json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] };
  t.ok(Array.isArray(json.runs) && json.runs.length === 1, 'one run');
  const run = json.runs![0]!;
  for (const k of KEYS) t.ok(k in run, `run has ${k}`);
  t.equal(run['system'], 'hushwire');
  t.equal(run['workload'], 'chat');
  t.equal(run['skipped'], undefined, 'not skipped');
  t.ok(typeof run['delivered_per_s'] === 'number' && (run['delivered_per_s'] as number) > 0, 'messages were delivered');
  t.equal(run['lost'], 0, 'nothing lost');
  t.equal(run['duplicated'], 0, 'nothing duplicated');
  t.ok(typeof run['p99_ms'] === 'number', 'latency measured');
  t.ok(typeof run['server_cpu_us_per_msg'] === 'number' && typeof run['nats_cpu_us_per_msg'] === 'number', 'CPU per message measured for gateways and nats-server');
  t.ok(typeof run['generator_cpu_us_per_msg'] === 'number' && (run['generator_cpu_us_per_msg'] as number) > 0, "and for the generator's clients");
  t.match(r.stderr, /hushwire chat/, 'progress shown on stderr');
  t.ok(existsSync(join(dir, 'bench.html')), 'HTML report written');
  t.match(readFileSync(join(dir, 'bench.html'), 'utf8'), /CPU per delivered message, whole machine/, 'with the CPU chart');
  // the latency timeline: 2 s of the default 250 ms slices, by intended send time
  const tl = run['timeline'] as Record<string, unknown[] | number> | undefined;
  t.equal(tl?.['slice_ms'], 250, 'a timeline of 250 ms slices');
  for (const k of ['t_ms', 'delivered', 'p50_ms', 'p99_ms', 'max_ms']) t.equal((tl?.[k] as unknown[] | undefined)?.length, 8, `timeline.${k}: a value per slice of the 2 s window`);
  t.equal(tl?.['send_lag_p99_ms'], undefined, 'no send lag at max rate');
  t.ok((tl?.['delivered'] as number[]).every((n) => n > 0), 'deliveries in every slice');
  t.match(readFileSync(join(dir, 'bench.html'), 'utf8'), /Latency over time: chat \(max rate\)/, 'and its chart');
  t.match(r.stderr, /worst 250 ms slice: p99 [\d.,]+ ms at t=[\d.]+ s/, 'the worst slice in the table');
  const saved = JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8')) as { runs: unknown[] };
  t.equal(saved.runs.length, 1, 'JSON report written');
  // --heap-sample: the gateways' allocations over the measured window
  t.ok(typeof run['server_alloc_bytes_per_msg'] === 'number' && (run['server_alloc_bytes_per_msg'] as number) > 0, 'allocation per message measured');
  const heapFiles = readdirSync(join(dir, 'heap'));
  t.equal(heapFiles.filter((f) => f.endsWith('.heapprofile')).length, 2, 'one profile per gateway');
  const summaryFile = heapFiles.find((f) => f.endsWith('-summary.txt'));
  t.match(readFileSync(join(dir, 'heap', summaryFile ?? 'missing'), 'utf8'), /^allocated [\d.]+ MB \([\d,]+ B per delivered message\)/, 'and their summary');
});

t.test('a tiny fixed-rate run: latency from the intended send time, and the generator\'s own send lag within it', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  const r = await runBench([
    '--peers', 'none', '--workload', 'chat', '--pairs', '4', '--rate', '400', '--duration', '2', '--warmup', '1', '--grace', '4',
    '--gateways', '2', '--transport', transport, '--workers', '2', '--slice-ms', '500', '--json',
  ], 90_000);
  t.equal(r.code, 0, `bench exits 0 (stderr: ${r.stderr.slice(-500)})`);
  const run = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
  t.equal(run['mode'], 'rate');
  t.equal(run['lost'], 0, 'nothing lost');
  const p99 = run['p99_ms'] as number;
  const lag = run['send_lag_p99_ms'] as number;
  t.ok(typeof p99 === 'number' && p99 > 0, 'latency measured');
  t.ok(typeof lag === 'number' && lag > 0, 'send lag measured');
  // every message's latency counts from its intended time, so it includes its send lag
  t.ok(lag <= p99 * 1.01 + 0.01, `send lag p99 ${lag} ms within latency p99 ${p99} ms`);
  t.match(r.stderr, /generator send lag p99 [\d.]+ ms/, 'shown in the table');
  // the timeline in --slice-ms 500 slices, merged over the two generator threads, with the send lag per slice
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { meta?: Record<string, unknown> };
  t.equal(out.meta?.['slice_ms'], 500, 'meta.slice_ms');
  const tl = run['timeline'] as Record<string, unknown> | undefined;
  t.equal(tl?.['slice_ms'], 500);
  t.same(tl?.['t_ms'], [0, 500, 1000, 1500]);
  for (const k of ['delivered', 'p50_ms', 'p99_ms', 'max_ms', 'send_lag_p99_ms']) t.equal((tl?.[k] as unknown[] | undefined)?.length, 4, `timeline.${k}: 4 slices`);
  // 400 msg/s offered, 1:1: ~200 deliveries per 500 ms slice, from both threads' senders
  t.ok((tl?.['delivered'] as number[]).every((n) => n > 150), `deliveries in every slice (${JSON.stringify(tl?.['delivered'])})`);
  const slicesMax = Math.max(...(tl?.['max_ms'] as number[]));
  t.ok(slicesMax >= p99, `the slices' max ${slicesMax} ms is at least the run's p99 ${p99} ms`);
});

t.test('--rate half: a max-rate run, then a fixed-rate run at half of what it delivered, each its own row', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  const r = await runBench([
    '--peers', 'none', '--workload', 'chat', '--pairs', '4', '--rate', 'half', '--duration', '2', '--warmup', '1', '--grace', '4',
    '--gateways', '2', '--transport', transport, '--workers', '1', '--json',
  ], 120_000);
  t.equal(r.code, 0, `bench exits 0 (stderr: ${r.stderr.slice(-500)})`);
  const runs = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs ?? [];
  t.same(runs.map((x) => [x['workload'], x['mode']]), [['chat', 'window'], ['chat@50%', 'rate']], 'the max-rate row, then the half-rate row');
  const [max, half] = runs as [Record<string, unknown>, Record<string, unknown>];
  const maxRate = max['delivered_per_s'] as number;
  t.ok(maxRate > 0, 'the max-rate run delivered');
  // the offered rate is half the delivered one (rounded per sender, then to a whole number)
  t.ok(Math.abs((half['rate'] as number) - maxRate / 2) <= 2, `offered ${String(half['rate'])} msg/s, half of ${maxRate}`);
  for (const row of runs) t.equal(row['lost'], 0, `${String(row['workload'])}: nothing lost`);
  t.ok(typeof half['send_lag_p99_ms'] === 'number', 'the half-rate row has the send lag');
});

t.test('storm with each generator client: every device drops, reconnects and authenticates again', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  for (const client of ['lean', 'ws']) {
    const r = await runBench([
      '--peers', 'none', '--workload', 'storm', '--devices', '60', '--gateways', '2', '--transport', transport,
      '--workers', '2', '--ws-client', client, '--json',
    ], 90_000);
    t.equal(r.code, 0, `${client}: bench exits 0 (stderr: ${r.stderr.slice(-500)})`);
    const run = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
    t.equal(run['workload'], 'storm', `${client}: a storm row`);
    t.equal(run['devices'], 60, `${client}: all 60 devices back`);
    t.equal(run['failed'], 0, `${client}: none failed`);
    t.ok(typeof run['reconnect_s'] === 'number' && (run['reconnect_s'] as number) > 0, `${client}: reconnect time reported`);
    const [p50, p99, p999, all] = ['back_p50_s', 'back_p99_s', 'back_p999_s', 'reconnect_s'].map((k) => run[k] as number);
    t.ok(p50! > 0 && p50! <= p99! && p99! <= p999! && p999! <= all!, `${client}: when devices were back, in order: ${p50} <= ${p99} <= ${p999} <= ${all}`);
    // --storm-auth ticket (the default, as the SDK does): tickets got at the first
    // connect, every reconnect resumed with one
    t.equal(run['storm_auth'], 'ticket', `${client}: the reconnects used tickets`);
    t.equal(run['resumed'], 60, `${client}: every device resumed`);
    t.equal(run['resume_fallbacks'], 0, `${client}: none fell back to signing`);
    t.match(String(run['note']), /auth: ticket \(60 resumed, 0 fell back to signing\)/, `${client}: the row says so`);
    t.match(r.stderr, /\[hushwire storm\] 60 connected in [\d,]+ ms, 60 resumption tickets got/, `${client}: the set-up got the tickets`);
  }
});

t.test('storm --storm-auth signature signs every reconnect; against gateways that issue no tickets the default signs and says why', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  const shape = ['--peers', 'none', '--workload', 'storm', '--devices', '40', '--gateways', '2', '--transport', transport, '--workers', '2', '--json'];
  const rowOf = (stdout: string): Record<string, unknown> => (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
  const signed = await runBench([...shape, '--storm-auth', 'signature'], 90_000);
  t.equal(signed.code, 0, `signature: bench exits 0 (stderr: ${signed.stderr.slice(-500)})`);
  const s = rowOf(signed.stdout);
  t.equal(s['devices'], 40, 'signature: all 40 back');
  t.equal(s['storm_auth'], 'signature');
  t.equal(s['resumed'], 0, 'signature: none resumed');
  t.equal(s['resume_fallbacks'], 0);
  t.match(String(s['note']), /auth: signature \(--storm-auth signature\)/, 'signature: the row says so');
  t.notMatch(signed.stderr, /resumption tickets got/, 'signature: no ticket asked for at set-up');
  t.equal((JSON.parse(signed.stdout.trim().split('\n').pop() ?? '{}') as { meta?: Record<string, unknown> }).meta?.['storm_auth'], 'signature', 'the JSON meta carries the flag');
  const off = await runBench([...shape, '--gateway-arg=--resume-ticket-ttl-s=0'], 90_000);
  t.equal(off.code, 0, `no tickets: bench exits 0 (stderr: ${off.stderr.slice(-500)})`);
  const o = rowOf(off.stdout);
  t.equal(o['devices'], 40, 'no tickets: all 40 back');
  t.equal(o['storm_auth'], 'signature', 'no tickets: the reconnects signed');
  t.equal(o['resumed'], 0);
  t.match(String(o['note']), /auth: signature \(the gateways' challenge carries no resume_key: they issue no resumption tickets\)/, 'no tickets: the row says why');
});

t.test('storm against gateways over their connection rate: refused upgrades are retried like handsets retry, and every device comes back', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  for (const client of ['lean', 'ws']) {
    // 2 gateways at 20 connections/s with a burst of 5: 60 devices cannot all get in at once
    const r = await runBench([
      '--peers', 'none', '--workload', 'storm', '--devices', '60', '--gateways', '2', '--transport', transport,
      '--workers', '2', '--ws-client', client, '--gateway-arg=--connect-rate=20', '--gateway-arg=--connect-burst=5', '--json',
    ], 90_000);
    t.equal(r.code, 0, `${client}: bench exits 0 (stderr: ${r.stderr.slice(-500)})`);
    const run = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
    t.equal(run['devices'], 60, `${client}: all 60 devices back`);
    t.equal(run['failed'], 0, `${client}: none counted as failed`);
    t.ok((run['refused_retried'] as number) > 0, `${client}: refusals were retried (${run['refused_retried']})`);
    t.match(String(run['note']), /refused at the upgrade, 429\/503, and retried/, `${client}: the row says so`);
    t.match(r.stderr, /refused by the server at the upgrade and retried/, `${client}: the first connect said so too`);
  }
});

t.test('backlog, with and without the warm-up round: everything queued is drained once', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  for (const warmup of [3, 0]) {
    const r = await runBench([
      '--peers', 'none', '--workload', 'backlog', '--backlog-devices', '6', '--backlog-messages', '5', '--backlog-warmup', String(warmup),
      '--gateways', '2', '--transport', transport, '--workers', '2', '--json',
    ], 120_000);
    t.equal(r.code, 0, `warm-up ${warmup}: bench exits 0 (stderr: ${r.stderr.slice(-500)})`);
    const run = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
    t.equal(run['workload'], 'backlog');
    // the warm-up round's receivers went offline again: the measured 30 were stored, not delivered live
    t.equal(run['delivered'], 30, `warm-up ${warmup}: all 30 measured messages drained`);
    t.equal(run['lost'], 0, `warm-up ${warmup}: none lost`);
    t.equal(run['duplicated'], 0, `warm-up ${warmup}: none duplicated`);
    t.equal(run['warmup_per_device'], warmup, 'the row says which round was measured');
    // every deliver_ack named what it acked (the handsets read into a buffer the next read
    // overwrites, and copy the ids they ack on the next turn): the mailboxes emptied
    t.notMatch(r.stderr, /still stored/, `warm-up ${warmup}: the drained mail was erased behind the acks`);
    t.ok(typeof run['erase_tail_s'] === 'number', 'the erase tail was measured');
    t.ok(typeof run['drain_per_s'] === 'number' && (run['drain_per_s'] as number) > 0, 'drain rate reported');
    if (warmup > 0) t.match(r.stderr, /warm-up round \(3 per device\) done/);
    else t.notMatch(r.stderr, /warm-up round \(/);
  }
});

t.test('the peers that need no install (nats-ws, socketio, uws-relay) run the same tiny chat', async (t) => {
  const peers = ['socketio', ...(natsServerBinary() !== null ? ['nats-ws'] : []), ...((await uwsAvailable()) ? ['uws-relay'] : [])];
  const r = await runBench([
    '--no-hushwire', '--peers', peers.join(','), '--workload', 'chat', '--pairs', '4', '--duration', '1', '--warmup', '1',
    '--grace', '4', '--workers', '1', '--json',
  ], 120_000);
  t.equal(r.code, 0, `bench exits 0 (stderr: ${r.stderr.slice(-500)})`);
  const runs = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs ?? [];
  t.same(runs.map((x) => x['system']), peers, 'one run per peer, in order');
  for (const run of runs) {
    t.equal(run['skipped'], undefined, `${String(run['system'])} not skipped`);
    t.ok((run['delivered_per_s'] as number) > 0, `${String(run['system'])} delivered messages`);
    t.equal(run['lost'], 0, `${String(run['system'])} lost nothing`);
    t.ok(typeof run['server_cpu_us_per_msg'] === 'number', `${String(run['system'])}: server CPU measured`);
  }
});

t.test('against a running gateway (--gateway URL): chat and idle measured through its /metrics', async (t) => {
  // A gateway started on its own (embedded bus, dev verifier) as an operator would,
  // with the per-device send limit raised so the bench's senders are not refused.
  const gw = await spawnGateway(['--send-rate', '100000', '--send-burst', '100000']);
  t.teardown(() => gw.kill());
  const base = ['--gateway', gw.url, '--peers', 'none', '--pairs', '4', '--devices', '40', '--duration', '2', '--warmup', '1', '--grace', '4', '--workers', '1', '--json'];
  const r = await runBench([...base, '--workload', 'chat,idle'], 120_000);
  t.equal(r.code, 0, `bench exits 0 (stderr: ${r.stderr.slice(-500)})`);
  const runs = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs ?? [];
  const chat = runs.find((x) => x['workload'] === 'chat') ?? {};
  t.ok((chat['delivered_per_s'] as number) > 0, 'messages delivered through the running gateway');
  t.equal(chat['lost'], 0, 'nothing lost');
  t.ok(typeof chat['server_cpu_us_per_msg'] === 'number' && (chat['server_cpu_us_per_msg'] as number) > 0, 'gateway CPU per message measured');
  t.equal(chat['nats_cpu_us_per_msg'], null, 'no nats-server to read');
  t.match(String(chat['note']), /gateway CPU from their \/metrics/, 'the row says where the CPU figure comes from');
  const idle = runs.find((x) => x['workload'] === 'idle') ?? {};
  t.equal(idle['skipped'], undefined, 'idle is measured, not skipped');
  t.ok(typeof idle['rss_bytes_per_conn'] === 'number', 'RSS per connection from /metrics');
  t.equal(idle['devices'], 40);

  // Every device the bench registered there was opted out again at the end.
  const counters = async (): Promise<{ reg: number; unreg: number }> => {
    const text = await (await fetch(gw.url.replace(/^ws:/, 'http:').replace(/\/ws$/, '/metrics'))).text();
    const v = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { reg: v('hushwire_registrations_total'), unreg: v('hushwire_unregistrations_total') };
  };
  t.same(await counters(), { reg: 48, unreg: 48 }, '8 chat and 40 idle devices registered, all of them unregistered');
  t.match(r.stderr, /8 bench devices unregistered/);
  t.match(r.stderr, /40 bench devices unregistered/);

  const off = await runBench([...base, '--workload', 'chat', '--gateway-metrics', 'none', '--keep-devices'], 120_000);
  t.same(await counters(), { reg: 56, unreg: 48 }, '--keep-devices leaves them registered');
  t.match(off.stderr, /8 bench devices left registered \(--keep-devices\)/);
  t.equal(off.code, 0, `--gateway-metrics none: exits 0 (stderr: ${off.stderr.slice(-500)})`);
  const offRun = (JSON.parse(off.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
  t.equal(offRun['server_cpu_us_per_msg'], null, '--gateway-metrics none: not measured');
  t.ok((offRun['delivered_per_s'] as number) > 0, 'still delivered');

  const bad = await runBench([...base, '--workload', 'chat', '--gateway-metrics', 'http://127.0.0.1:1/metrics'], 120_000);
  t.equal(bad.code, 0, 'an unreachable metrics URL does not fail the run');
  const badRun = (JSON.parse(bad.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
  t.equal(badRun['server_cpu_us_per_msg'], null, 'not measured');
  t.match(bad.stderr, /server CPU\/memory not measured: http:\/\/127\.0\.0\.1:1\/metrics unreachable/, 'and the run says why');
  t.same(await counters(), { reg: 64, unreg: 56 }, 'the third run cleaned up after itself too');
});

t.test('against a running gateway whose verification limit is too low for fanout: the row says why', async (t) => {
  const gw = await spawnGateway(['--send-rate', '100000', '--send-burst', '100000', '--verify-starts-per-number', '2']);
  t.teardown(() => gw.kill());
  const r = await runBench(['--gateway', gw.url, '--peers', 'none', '--workload', 'fanout', '--fanout', '3', '--pairs', '2',
    '--duration', '1', '--warmup', '1', '--grace', '2', '--workers', '1', '--json'], 120_000);
  t.equal(r.code, 1, `its only row failed: exit 1 (stderr: ${r.stderr.slice(-300)})`);
  t.match(r.stderr, /^hushwire: every run failed \(1 of 1\); first: hushwire fanout-3: failed: registration refused: RATE_LIMITED/m, 'saying so');
  const run = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
  t.match(String(run['skipped']), /registration refused: RATE_LIMITED \(.*--verify-starts-per-number/, 'skipped, with the flag to raise');
  t.equal(run['error'], true, 'a failure, not a documented skip');
  t.match(r.stderr, /bench devices unregistered/, 'the devices it did register were opted out again');
});

t.test('against a running gateway whose verification code budget is too low: the row names the gateway flags', async (t) => {
  // Two codes at once, then one a second: the chat run's four devices cannot all register.
  const gw = await spawnGateway(['--send-rate', '100000', '--send-burst', '100000', '--verify-start-burst', '2', '--verify-start-rate', '1']);
  t.teardown(() => gw.kill());
  const r = await runBench(['--gateway', gw.url, '--gateway-metrics', 'none', '--peers', 'none', '--workload', 'chat', '--pairs', '2',
    '--duration', '1', '--warmup', '1', '--grace', '2', '--workers', '1', '--json'], 120_000);
  t.equal(r.code, 1, `its only row failed: exit 1 (stderr: ${r.stderr.slice(-300)})`);
  const run = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
  t.match(String(run['skipped']), /registration refused: RATE_LIMITED \(the gateways send only so many verification codes.*--verify-start-rate, --verify-start-burst/, 'skipped, with the flags to raise');
  t.notMatch(String(run['skipped']), /--verify-starts-per-number/, 'not the per-number budget\'s hint');
});

t.test('gateways that cannot be used: rows failed, exit 1 with a summary, and nothing to unregister', async (t) => {
  // A closed port, and an HTTP server where the path is wrong (404 to every upgrade).
  let requests = 0;
  const http = createServer((_req, res) => { requests++; res.writeHead(404).end(); });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { http.closeAllConnections(); http.close(() => r()); }));
  const port = (http.address() as AddressInfo).port;
  const closed = await new Promise<number>((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
  });
  for (const url of [`ws://127.0.0.1:${closed}/ws`, `ws://127.0.0.1:${port}/wrong`]) {
    requests = 0;
    // A clean-up of devices that never were would wait for its deadline (300 s): past
    // runBench's 60 s kill, so the exit code below would not be 1.
    const r = await runBench(['--gateway', url, '--peers', 'none', '--workload', 'chat,idle', '--pairs', '2', '--devices', '4',
      '--duration', '1', '--warmup', '1', '--grace', '1', '--workers', '1', '--json'], 60_000);
    t.equal(r.code, 1, `${url}: exit 1 (stderr: ${r.stderr.slice(-300)})`);
    t.match(r.stderr, /^hushwire: every run failed \(2 of 2\); first: hushwire chat: failed: /m, `${url}: one summary line`);
    const runs = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs ?? [];
    t.same(runs.map((x) => [x['workload'], x['error']]), [['chat', true], ['idle', true]], `${url}: the rows are still printed, marked as failures`);
    t.notMatch(r.stderr, /unregister/, `${url}: no device was registered, so none is unregistered`);
  }
  t.ok(requests <= 8, `the 404 server saw only the registration attempts, at most 4 devices for each of the two workloads (${requests}), no unregistrations`);
});

t.test('a run whose rows are skipped for documented reasons is no failure; an empty selection is a usage error', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const r = await runBench(['--no-hushwire', '--peers', 'nats-ws', '--workload', 'backlog', '--json'], 60_000);
  t.equal(r.code, 0, `backlog on nats-ws is skipped as documented: exit 0 (stderr: ${r.stderr.slice(-300)})`);
  const run = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
  t.match(String(run['skipped']), /stores nothing/);
  t.equal(run['error'], undefined);
  for (const [args, why] of [[['--workload', ''], /no workload to run/], [['--peers', 'none', '--no-hushwire'], /no system to run: --no-hushwire with --peers none/]] as const) {
    const e = await runBench([...args], 30_000);
    t.equal(e.code, 2, `${args.join(' ')}: exit 2`);
    t.match(e.stderr, why);
    t.equal(e.stderr.trim().split('\n').length, 1, 'one line');
  }
});

t.test('against a running gateway with its default send rate: refused sends are counted with their reason and the limits to raise', async (t) => {
  const gw = await spawnGateway([]);
  t.teardown(() => gw.kill());
  const r = await runBench(['--gateway', gw.url, '--gateway-metrics', 'none', '--peers', 'none', '--workload', 'chat', '--pairs', '2',
    '--duration', '2', '--warmup', '1', '--grace', '2', '--workers', '1', '--json'], 120_000);
  t.equal(r.code, 0, `measured: exit 0 (stderr: ${r.stderr.slice(-300)})`);
  const run = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs?.[0] ?? {};
  t.ok((run['failed'] as number) > 0, `sends refused (${String(run['failed'])})`);
  t.match(String(run['note']), /^(\d{1,3}(,\d{3})*) sends refused \(RATE_LIMITED: raise the gateways' send rate limit, --send-rate and --send-burst/, 'the note gives the count, the reason and the flags');
  t.equal(String(run['note']).split(' ')[0], (run['failed'] as number).toLocaleString('en-US'), 'the count as in the failed column, with thousands separators');
});

t.test('a fanout variant refused by the gateway\'s device limit: the variants before and after it keep their rows, its row names the flag', async (t) => {
  // Verification codes raised, devices per number left at the default (5): fanout-10 cannot register.
  const gw = await spawnGateway(['--send-rate', '100000', '--send-burst', '100000', '--verify-starts-per-number', '100']);
  t.teardown(() => gw.kill());
  const r = await runBench(['--gateway', gw.url, '--peers', 'none', '--workload', 'fanout', '--fanout', '3,10,1', '--pairs', '4',
    '--duration', '1', '--warmup', '1', '--grace', '2', '--workers', '1', '--json'], 120_000);
  t.equal(r.code, 0, `bench exits 0: two of three variants measured (stderr: ${r.stderr.slice(-300)})`);
  const runs = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[] }).runs ?? [];
  t.same(runs.map((x) => x['workload']), ['fanout-3', 'fanout-10', 'fanout-1'], 'a row per variant, in order');
  for (const i of [0, 2]) {
    t.equal(runs[i]?.['skipped'], undefined, `${String(runs[i]?.['workload'])} measured`);
    t.ok((runs[i]?.['delivered_per_s'] as number) > 0, `${String(runs[i]?.['workload'])} delivered`);
  }
  t.match(String(runs[1]?.['skipped']), /registration refused: TOO_MANY_DEVICES \(.*raise their --max-devices-per-route/, 'fanout-10 skipped, naming the gateway limit to raise');
  const text = await (await fetch(gw.url.replace(/^ws:/, 'http:').replace(/\/ws$/, '/metrics'))).text();
  const v = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  t.equal(v('hushwire_unregistrations_total'), v('hushwire_registrations_total'), 'every device registered (the refused variant\'s too) opted out again');
});

t.test('bad arguments are refused with a usage error', async (t) => {
  const r = await runBench(['--workload', 'nope'], 30_000);
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown workload "nope"/);
  const neg = await runBench(['--workload', 'backlog', '--backlog-warmup', '-1'], 30_000);
  t.not(neg.code, 0);
  t.match(neg.stderr, /--backlog-warmup.*must be a non-negative integer/);
  const m = await runBench(['--gateway-metrics', 'http://127.0.0.1:8480/metrics'], 30_000);
  t.equal(m.code, 2, '--gateway-metrics without --gateway');
  t.match(m.stderr, /--gateway-metrics goes with --gateway/);
  const u = await runBench(['--gateway', 'ws://127.0.0.1:1/ws', '--gateway-metrics', 'ftp://x/metrics'], 30_000);
  t.equal(u.code, 2, 'a metrics URL that is not http(s)');
  t.match(u.stderr, /an http\(s\) URL or "none"/);
  const k = await runBench(['--keep-devices'], 30_000);
  t.equal(k.code, 2, '--keep-devices without --gateway');
  t.match(k.stderr, /--keep-devices goes with --gateway/);
  const h = await runBench(['--gateway', 'ws://127.0.0.1:1/ws', '--heap-sample', '/tmp/x'], 30_000);
  t.equal(h.code, 2, '--heap-sample against running gateways');
  t.match(h.stderr, /--heap-sample needs the local setup/);
  const c = await runBench(['--nats-cluster', '6'], 30_000);
  t.equal(c.code, 2, '--nats-cluster over 5');
  t.match(c.stderr, /--nats-cluster.*must be a whole number from 1 to 5/);
  const cr = await runBench(['--nats-cluster', '3', '--gateway', 'ws://127.0.0.1:1/ws'], 30_000);
  t.equal(cr.code, 2, '--nats-cluster against running gateways');
  t.match(cr.stderr, /--nats-cluster is for the local setup/);
  // Every local-setup option is refused with --gateway, not ignored; given at its default value too.
  for (const args of [['--nats-cluster', '1'], ['--gateways', '3'], ['--gateways', '2'], ['--transport', 'ws'], ['--gateway-arg=--send-rate=5'], ['--gateway-node-arg=--max-old-space-size=512'], ['--cpu-prof', '/tmp/x']]) {
    const l = await runBench(['--gateway', 'ws://127.0.0.1:1/ws', ...args], 30_000);
    const flag = args[0]!.split('=')[0]!;
    t.equal(l.code, 2, `${args.join(' ')} with --gateway: exit 2`);
    t.match(l.stderr, new RegExp(`^hushwire: ${flag} (is for|needs) the local setup`, 'm'), `${flag} named`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'hw-bench-args-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  writeFileSync(join(tmp, 'a-file'), '');
  const hs = await runBench(['--peers', 'none', '--heap-sample', join(tmp, 'a-file', 'heap')], 30_000);
  t.equal(hs.code, 2, 'a --heap-sample directory that cannot be made fails before the run');
  t.match(hs.stderr, /--heap-sample .*a-file\/heap: ENOTDIR/);
  // --report and --cpu-prof likewise: checked before anything starts, naming the flag
  for (const [flag, dir, why] of [
    ['--report', join(tmp, 'a-file', 'rep'), /ENOTDIR/],
    ['--report', join(tmp, 'a-file'), /exists and is not a directory/],
    ['--cpu-prof', join(tmp, 'a-file', 'prof'), /ENOTDIR/],
  ] as const) {
    const d = await runBench(['--peers', 'none', '--duration', '1', '--pairs', '2', flag, dir], 30_000);
    t.equal(d.code, 2, `${flag} ${dir}: exit 2, before the run`);
    t.match(d.stderr, new RegExp(`^hushwire: ${flag} \\S+: .*${why.source}.*\\(BAD_REQUEST\\)$`, 'm'), `${flag}: one line naming the flag`);
    t.notMatch(d.stderr, /setting up/, `${flag}: nothing started`);
  }
  const f = await runBench(['--fail-on-worse'], 30_000);
  t.equal(f.code, 2, '--fail-on-worse without --baseline');
  t.match(f.stderr, /--fail-on-worse goes with --baseline/);
  const b = await runBench(['--baseline', '/nonexistent/base.json'], 30_000);
  t.equal(b.code, 2, 'an unreadable baseline fails before the run');
  t.match(b.stderr, /--baseline \/nonexistent\/base\.json: no such file or directory/);
});

t.test('--nats-cluster 3: chat and backlog through gateways on a three-node JetStream cluster (R3), nothing lost', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  const r = await runBench([
    '--peers', 'none', '--workload', 'chat,backlog', '--nats-cluster', '3', '--pairs', '4', '--duration', '2', '--warmup', '1', '--grace', '4',
    '--backlog-devices', '4', '--backlog-messages', '20', '--backlog-warmup', '0',
    '--gateways', '2', '--transport', transport, '--workers', '1', '--json',
  ], 120_000);
  t.equal(r.code, 0, `bench exits 0 (stderr: ${r.stderr.slice(-500)})`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[]; meta?: Record<string, unknown> };
  t.equal(out.meta?.['nats_nodes'], 3, 'the settings say so');
  t.equal(out.runs?.length, 2);
  for (const run of out.runs ?? []) {
    t.equal(run['lost'], 0, `${String(run['workload'])}: nothing lost`);
    t.ok((run['delivered_per_s'] as number) > 0, `${String(run['workload'])}: delivered`);
    t.match(String(run['note']), /NATS cluster of 3 nodes, R3/);
  }
});

t.test('--baseline: the run compared with saved results at the end; --fail-on-worse exits 1 on a regression', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-bench-baseline-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A baseline no tiny run can match: a billion deliveries a second at a microsecond's p99.
  const base = join(dir, 'base.json');
  writeFileSync(base, JSON.stringify({
    runs: [{ system: 'hushwire', workload: 'chat', mode: 'window', delivered_per_s: 1e9, p50_ms: 0.001, p99_ms: 0.001, p999_ms: 0.001, server_cpu_us_per_msg: 0.1, nats_cpu_us_per_msg: 0.1, lost: 0, duplicated: 0 }],
    meta: { pairs: 4, duration_s: 2 },
  }));
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  const r = await runBench([
    '--peers', 'none', '--workload', 'chat', '--pairs', '4', '--duration', '2', '--warmup', '1', '--grace', '4',
    '--gateways', '2', '--transport', transport, '--workers', '1', '--json', '--baseline', base, '--fail-on-worse', '--report', join(dir, 'report'),
  ], 90_000);
  t.equal(r.code, 1, `a regression: exit 1 (stderr: ${r.stderr.slice(-300)})`);
  t.match(r.stderr, /^hushwire\s+chat\s+delivered\/s\s+1,000,000,000\s+[\d,]+\s+-\d+\.\d%\s+worse\?$/m, 'the comparison on stderr');
  t.match(r.stderr, /^settings differ: warmup_s: - → 1$/m, 'settings checked against the baseline\'s (which has none for the warm-up)');
  t.notMatch(r.stderr, /settings differ: (pairs|duration_s)/, 'the same pairs and duration are not listed');
  t.match(r.stderr, /hushwire: \d+ metrics worse than the baseline/);
  const json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: unknown[]; meta?: Record<string, unknown>; comparison?: { worse: number } };
  t.equal(json.runs?.length, 1, 'stdout is still the run\'s JSON');
  t.equal(json.meta?.['pairs'], 4, 'with its settings (meta), so it can be a baseline itself');
  t.same(['grace_s', 'backlog_devices', 'backlog_messages', 'backlog_warmup', 'fanout'].map((k) => json.meta?.[k]), [4, 100, 200, 20, [1, 3, 10]],
    'the grace and the backlog and fanout shapes among them');
  t.ok((json.comparison?.worse ?? 0) >= 1, 'and the comparison for scripts');
  t.match(readFileSync(join(dir, 'report', 'bench.html'), 'utf8'), /<h2>Compared with the baseline<\/h2><pre>base: .*base\.json/, 'the report page shows it');
  const saved = JSON.parse(readFileSync(join(dir, 'report', 'bench.json'), 'utf8')) as { comparison?: { worse: number } };
  t.equal(saved.comparison?.worse, json.comparison?.worse, 'so does the report\'s JSON');
});

t.test('--repeat: interleaved rounds, each row tagged with its round, and a summary with ratios per round', { skip: natsServerBinary() === null ? 'nats-server not installed' : false }, async (t) => {
  const transport = (await uwsAvailable()) ? 'uws' : 'ws';
  const r = await runBench([
    '--peers', 'uws-relay', '--workload', 'chat', '--pairs', '4', '--duration', '1', '--warmup', '1', '--grace', '3',
    '--gateways', '2', '--transport', transport, '--workers', '1', '--repeat', '2', '--json',
  ], 150_000);
  t.equal(r.code, 0, `bench exits 0 (stderr: ${r.stderr.slice(-500)})`);
  const json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { runs?: Record<string, unknown>[]; summary?: Record<string, unknown>[] };
  t.same(json.runs?.map((x) => [x['round'], x['system']]), [[1, 'hushwire'], [1, 'uws-relay'], [2, 'hushwire'], [2, 'uws-relay']], 'A B A B, each row with its round');
  t.same(json.summary?.map((x) => [x['system'], x['workload'], x['rounds']]), [['hushwire', 'chat', 2], ['uws-relay', 'chat', 2]], 'one summary row per system and workload');
  const peer = json.summary?.find((x) => x['system'] === 'uws-relay');
  const ratio = peer?.['hushwire_ratio'] as { median: number } | null | undefined;
  t.ok(ratio && ratio.median > 0, 'the peer row carries Hushwire\'s throughput over its own');
  t.match(r.stderr, /summary over 2 interleaved rounds/, 'the summary table goes with the results table');
  t.match(r.stderr, /round 2 of 2/, 'progress says which round');
});
