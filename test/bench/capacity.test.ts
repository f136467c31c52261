// bench/capacity.ts: the handsets a workload opens, checked against the layout code the
// bench really uses (bench/layout.ts), and the pre-flight verdict against given limits;
// the CLI refuses a run this machine cannot hold before starting anything.
import t from 'tap';
import { capacityProblem, handsetsOf, machineLimits, sourceAddresses, FD_MARGIN, PORT_SHARE, type CapacityPlan, type MachineLimits } from '../../bench/capacity.ts';
import { senderGroups, loneEndpoints, type Layout } from '../../bench/layout.ts';
import { hushwire } from '../helpers/cli.ts';

const plan = (over: Partial<CapacityPlan> = {}): CapacityPlan => ({
  systems: ['hushwire'], remote: [], workloads: ['chat'], pairs: 100, devices: 10_000, fanout: [1, 3, 10], backlogDevices: 100, hushwireServers: 2, ...over,
});

const endpoints = (l: Layout): string[] => l.groups.flatMap((g) => g.endpoints.map((e) => e.url));

t.test('handsetsOf matches the layouts bench/run.ts builds, and their spread over the gateways', async (t) => {
  const urls = ['ws://a', 'ws://b', 'ws://c'];
  for (const pairs of [1, 7, 100, 333]) {
    const p = plan({ pairs, devices: pairs * 13 + 1, backlogDevices: pairs + 2, hushwireServers: urls.length });
    const chat = endpoints(senderGroups(urls, pairs, 1, true, null));
    t.equal(handsetsOf('chat', p), chat.length, `chat, ${pairs} pairs`);
    const fanout = Math.max(...p.fanout.map((k) => endpoints(senderGroups(urls, Math.max(2, Math.floor((2 * pairs) / (k + 1))), k, false, null)).length));
    t.equal(handsetsOf('fanout', p), fanout, `fanout, ${pairs} pairs`);
    t.equal(handsetsOf('backlog', p), endpoints(senderGroups(urls, p.backlogDevices, 1, false, null)).length, 'backlog');
    const lone = endpoints(loneEndpoints(urls, p.devices, null));
    t.equal(handsetsOf('storm', p), lone.length, 'storm');
    t.equal(handsetsOf('idle', p), lone.length, 'idle');
    // the busiest gateway gets at most ceil(n / gateways) of them, as capacityProblem assumes
    const busiest = Math.max(...urls.map((u) => lone.filter((x) => x === u).length));
    t.equal(busiest, Math.ceil(lone.length / urls.length), 'storm handsets spread evenly');
  }
});

t.test('capacityProblem: open files, then local ports per server address', async (t) => {
  const roomy: MachineLimits = { openFiles: 1_048_576, ephemeralPorts: 28_232, portRange: '32768-60999' };
  t.equal(capacityProblem(plan({ workloads: ['storm'], devices: 10_000 }), roomy), null, 'the default storm fits');
  t.equal(capacityProblem(plan({ workloads: ['storm'], devices: 500_000, systems: ['hushwire', 'nats-ws'] }), roomy), null,
    'servers the bench starts: no port limit (connections spread over loopback source addresses)');
  const remote = (over: Partial<CapacityPlan>): CapacityPlan => plan({ remote: ['hushwire', 'nats-ws', 'mosquitto', 'socketio', 'uws-relay'], ...over });
  t.equal(capacityProblem(remote({ workloads: ['storm'], devices: 56_000 }), roomy), null, 'remote, 56,000 over 2 gateways: 28,000 ports each');
  const ports = capacityProblem(remote({ workloads: ['storm'], devices: 56_500 }), roomy);
  t.match(ports, /hushwire storm: 28,250 connections to one server address/, 'one port per connection to the same gateway');
  t.match(ports, /32768-60999; widen it, use more gateways/);
  const peer = capacityProblem(remote({ systems: ['hushwire', 'nats-ws'], workloads: ['idle'], devices: 30_000 }), roomy);
  t.match(peer, /nats-ws idle: 30,000 connections/, 'a peer is one server: all its handsets on one address');
  t.notMatch(peer, /use more gateways/, '... and more gateways would not help it');

  const tight: MachineLimits = { openFiles: 20_000, ephemeralPorts: 28_232, portRange: '32768-60999' };
  t.equal(capacityProblem(plan({ workloads: ['idle'], devices: 20_000 - FD_MARGIN }), tight), null, 'up to the limit less the margin');
  const files = capacityProblem(plan({ workloads: ['chat', 'idle'], devices: 20_000 - FD_MARGIN + 1 }), tight);
  t.match(files, /hushwire idle: 19,801 simulated handsets need about 20,001 open files in this process, but its limit is 20,000/);
  t.match(files, /ulimit -n/);
  t.equal(capacityProblem(plan({ workloads: ['idle'], devices: 1e6 }), { openFiles: null, ephemeralPorts: null, portRange: null }), null, 'unknown limits are not checked');
  // Local gateways inherit the limit and hold at most limit - reserve connections each
  // (gateway/fd-limit.ts: 20,000 - 1,024 = 18,976).
  t.equal(capacityProblem(plan({ workloads: ['storm'], devices: 18_976, hushwireServers: 1 }), tight), null, 'one local gateway, up to what it holds');
  const one = capacityProblem(plan({ workloads: ['storm'], devices: 18_977, hushwireServers: 1 }), tight);
  t.match(one, /each local gateway would hold 18,977 connections, but with the open-files limit of 20,000 it takes at most 18,976 \(use more gateways with --gateways/);
  t.equal(capacityProblem(plan({ workloads: ['storm'], devices: 18_977, hushwireServers: 2 }), tight), null, 'two gateways: half each');
  t.equal(capacityProblem(plan({ workloads: ['storm'], devices: 18_977, hushwireServers: 1, remote: ['hushwire'] }), { ...tight, ephemeralPorts: null }), null,
    'running gateways have limits of their own: not checked from here');
});

t.test('sourceAddresses: none while one address has ports enough, then as many as needed', async (t) => {
  const per = Math.floor(28_232 * PORT_SHARE);
  t.same(sourceAddresses(per, 28_232), [], 'one address is enough: the system picks, no bind');
  t.same(sourceAddresses(per + 1, 28_232), ['127.0.0.1', '127.0.0.2']);
  t.equal(sourceAddresses(10 * per, 28_232).length, 10);
  t.equal(sourceAddresses(10_000 * per, 28_232).length, 254, 'at most 127.0.0.1-254');
  t.same(sourceAddresses(1e6, null), [], 'unknown port range: nothing changes');
});

t.test('machineLimits reads this machine (Linux) or says it cannot', async (t) => {
  const m = machineLimits();
  if (process.platform !== 'linux') {
    t.same(m, { openFiles: null, ephemeralPorts: null, portRange: null });
    return;
  }
  t.ok(m.openFiles === null || (Number.isInteger(m.openFiles) && m.openFiles > 0), `open files: ${m.openFiles}`);
  t.ok(Number.isInteger(m.ephemeralPorts) && m.ephemeralPorts! > 0, `ephemeral ports: ${m.ephemeralPorts} (${m.portRange})`);
});

t.test('the CLI refuses a run this machine cannot hold, before starting anything', { skip: process.platform !== 'linux' ? 'needs /proc' : false }, async (t) => {
  // A running server given by URL (nothing listens there: nothing may be contacted), and
  // far more connections to it than any port range holds (at most 64,512 ports).
  const r = await hushwire(['bench', '--no-hushwire', '--peers', 'uws-relay', '--uws-relay-url', 'ws://127.0.0.1:9', '--workload', 'idle', '--devices', '200000']);
  t.equal(r.code, 2, 'exit 2 (a request this machine cannot serve)');
  t.match(r.stderr, /^hushwire: this machine cannot hold the run: .*uws-relay idle: 200,000 connections to one server address/m);
  t.notMatch(r.stderr, /setting up/, 'nothing was set up');
});
