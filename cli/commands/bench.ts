// hushwire bench: load tests Hushwire and its peers in one run with one generator.
// See docs/BENCHMARKS.md for the method.
import { Command, Option, InvalidArgumentError } from 'commander';
import { cpus } from 'node:os';
import { accessSync, existsSync, mkdirSync, statSync, constants as fsConstants } from 'node:fs';
import { runBench, runFailure, type BenchOptions } from '../../bench/run.ts';
import { table, tableHeader, tableRow, toJson, writeReport } from '../../bench/report.ts';
import { STORM_AUTHS, SYSTEMS, WORKLOADS, type StormAuth, type SystemName, type WorkloadName, type RunResult } from '../../bench/types.ts';
import { WS_CLIENTS, type WsClientKind } from '../../bench/drivers/client-socket.ts';
import { startWatchdog } from '../../bench/watchdog.ts';
import { onInterruptReport } from '../../bench/interrupt.ts';
import { capacityProblem, machineLimits } from '../../bench/capacity.ts';
import { summarise, summaryTable } from '../../bench/summary.ts';
import { DEFAULT_SLICE_MS, MAX_SLICE_MS, MAX_SLICES, MIN_SLICE_MS, effectiveSliceMs } from '../../bench/timeline.ts';
import { HushwireError, ErrorCode } from '../../relay/errors.ts';
import { parsePositive, parseCount, parseCountOrZero } from '../options.ts';
import { benchCompareCommand, readResults, DEFAULT_NOISE_PCT } from './bench-compare.ts';
import { compare, compareTable, nothingToCompare, type BenchFile } from '../../bench/compare.ts';
import { DEFAULT_P99_SLO_MS, isRateList, parseRateOption, rateMeta, sloEntries, sloText, type RateOption, type SloEntry } from '../../bench/rate-plan.ts';

const PEERS = SYSTEMS.filter((s) => s !== 'hushwire');

/** --peers, --workload: names from `allowed`, comma-separated, each once (a name given
 *  twice ran twice, and bench compare then pooled the two as two runs); or `all`, or
 *  (peers) `none`, alone. */
function list<T extends string>(allowed: readonly T[], what: string) {
  const choices = `${allowed.join(', ')}, all${what === 'peer' ? ', none' : ''}`;
  return (value: string): T[] => {
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (items.length === 1 && items[0] === 'none') return [];
    if (items.length === 1 && items[0] === 'all') return [...allowed];
    // An empty --workload is refused later with its own message ("no workload to run").
    if (items.length === 0 && what === 'peer') throw new InvalidArgumentError('names no peer (for Hushwire alone: --peers none)');
    for (const i of items) {
      if (i === 'all' || (i === 'none' && what === 'peer')) throw new InvalidArgumentError(`"${i}" goes alone, not in a list with other names`);
      if (!allowed.includes(i as T)) throw new InvalidArgumentError(`unknown ${what} "${i}" (choose from ${choices})`);
    }
    return [...new Set(items)] as T[];
  };
}

function collect(value: string, prev: string[] = []): string[] {
  if (!/^wss?:\/\/[^\s]+$/.test(value)) throw new InvalidArgumentError('must be a ws:// or wss:// URL');
  return [...prev, value];
}

function parseList(value: string): number[] {
  const items = value.split(',').map((v) => Number(v.trim()));
  if (items.length === 0 || items.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) {
    throw new InvalidArgumentError('must be comma-separated whole numbers from 1 to 16');
  }
  // Each size once: one given twice ran (and was reported) twice.
  return [...new Set(items)];
}

/** --rate: a lone rate or "half" as before, a list of rates and percentages of the max
 *  rate, or "sweep" (bench/rate-plan.ts). */
function parseRate(value: string): RateOption {
  try {
    return parseRateOption(value);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
  }
}

/** --gateway-metrics: an http(s) URL, or "none" (which wins over any URL given with it). */
function collectMetricsUrl(value: string, prev: string[] = []): string[] {
  if (value === 'none') return ['none'];
  if (prev.includes('none')) return prev;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError(`not a URL: "${value}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError(`an http(s) URL or "none", not "${value}"`);
  return [...prev, u.href];
}

/** A peer's URL (--nats-ws-url, ...): a URL with one of the schemes its client speaks,
 *  checked now; anything else reached the client library, which failed every
 *  connection with a reason that did not name the flag (or a misleading one:
 *  "notaurl" gave "connection refused"). */
function peerUrl(schemes: readonly string[]) {
  return (value: string): string => {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      throw new InvalidArgumentError(`not a URL: "${value}" (a ${schemes.map((x) => `${x}://`).join(' or ')} URL)`);
    }
    if (!schemes.includes(u.protocol.slice(0, -1)) || u.hostname === '') {
      throw new InvalidArgumentError(`a ${schemes.map((x) => `${x}://`).join(' or ')} URL with a host, not "${value}"`);
    }
    return value;
  };
}

/** Each peer's URL flag, and the peer it stands for. */
const PEER_URL_FLAGS = [
  ['natsWsUrl', '--nats-ws-url', 'nats-ws'],
  ['mqttUrl', '--mqtt-url', 'mosquitto'],
  ['socketioUrl', '--socketio-url', 'socketio'],
  ['uwsRelayUrl', '--uws-relay-url', 'uws-relay'],
] as const;

// Upper bounds of --gateways and --workers: a typo (--gateways 1000, --workers 500)
// would otherwise start that many gateway processes (each a Node process of ~60-100 MB
// with its own start-up) or generator threads (each a V8 isolate with its own heap) on
// this one machine before anything is measured, and the run would measure the machine
// thrashing, if it started at all.
/** Local gateway processes: far above what one machine holds usefully (the bench runs
 *  them beside nats-server and the generator on the same cores). */
export const MAX_GATEWAYS = 64;
/** Generator threads: 4 per core still lets a load tester try oversubscribing the
 *  cores (threads beyond the core count only share them), at most 64 whatever the core count. */
export function maxWorkers(cores = cpus().length): number {
  return Math.min(64, 4 * Math.max(1, cores));
}

function parseGatewayCount(value: string): number {
  const n = parseCount(value);
  if (n > MAX_GATEWAYS) throw new InvalidArgumentError(`at most ${MAX_GATEWAYS} gateway processes on one machine, not ${n}`);
  return n;
}

function parseWorkers(value: string): number {
  const n = parseCount(value);
  const max = maxWorkers();
  if (n > max) throw new InvalidArgumentError(`at most ${max} generator threads here (4 per core, ${cpus().length} core${cpus().length === 1 ? '' : 's'}; never more than 64), not ${n}`);
  return n;
}

function parseClusterSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 5) throw new InvalidArgumentError('must be a whole number from 1 to 5');
  return n;
}

function parseSeconds(value: string): number {
  const n = parsePositive(value);
  if (n > 600) throw new InvalidArgumentError('at most 600 seconds');
  return n;
}

/** --warmup: 0 is a cold measurement (the window starts with the first message). It was
 *  refused only because every duration shared parseSeconds (positive) from the start. */
function parseWarmup(value: string): number {
  if (value.trim() !== '' && Number(value) === 0) return 0;
  try {
    return parseSeconds(value);
  } catch (e) {
    throw new InvalidArgumentError(`${e instanceof Error ? e.message : String(e)}, or 0 (no warm-up: the measured window starts with the first message)`);
  }
}

/** --grace: more than 0. Without a grace period the messages still in flight when the
 *  window ends would all count as lost or unconfirmed; it costs nothing when they
 *  arrive, since it ends as soon as none is outstanding. */
function parseGrace(value: string): number {
  if (value.trim() !== '' && Number(value) === 0) {
    throw new InvalidArgumentError('must be more than 0: the grace period is how long a run waits for the messages still in flight when the measured window ends (up to --window per sender) before it counts them lost or unconfirmed, so with 0 every run would report those as lost. It ends as soon as none is outstanding and is not measured: for a short run use a short one, e.g. --grace 1');
  }
  return parseSeconds(value);
}

/** --slice-ms: the latency timeline's slice, a whole number of ms from 10 to 10,000
 *  (finer slices hold too few messages for a p99, coarser ones hide a stall). */
function parseSliceMs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < MIN_SLICE_MS || n > MAX_SLICE_MS) throw new InvalidArgumentError(`must be a whole number of milliseconds from ${MIN_SLICE_MS} to ${MAX_SLICE_MS}`);
  return n;
}

/** Makes `dir` (and its parents) and checks that it can be written; a usage error
 *  naming `flag` when not. */
function writableDir(flag: string, dir: string): void {
  try {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error('exists and is not a directory');
    mkdirSync(dir, { recursive: true });
    accessSync(dir, fsConstants.W_OK);
  } catch (e) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, `${flag} ${dir}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

interface Opts {
  gateway?: string[];
  gatewayMetrics?: string[];
  keepDevices?: boolean;
  gateways: number;
  transport: 'uws' | 'ws';
  peers: SystemName[];
  hushwire: boolean;
  workload: WorkloadName[];
  repeat: number;
  duration: number;
  warmup: number;
  grace: number;
  sliceMs: number;
  rate?: RateOption;
  p99Slo: number;
  window: number;
  pairs: number;
  devices: number;
  stormAuth: StormAuth;
  backlogDevices: number;
  backlogMessages: number;
  backlogWarmup: number;
  fanout: number[];
  workers: number;
  wsClient: WsClientKind;
  json?: boolean;
  report?: string;
  natsWsUrl?: string;
  mqttUrl?: string;
  socketioUrl?: string;
  uwsRelayUrl?: string;
  gatewayArg?: string[];
  gatewayNodeArg?: string[];
  cpuProf?: string;
  baseline?: string;
  failOnWorse?: boolean;
  heapSample?: string;
  natsCluster: number;
}

export function benchCommand(): Command {
  return new Command('bench')
    // bench's own options only before `compare`: after it they are compare's (--json).
    .enablePositionalOptions()
    .addCommand(benchCompareCommand())
    .description('load-test Hushwire against its peers (nats-server WebSocket, Mosquitto QoS 1, a Socket.IO relay; a bare uWS relay to calibrate the machine) in one run')
    .option('--gateway <url>', 'run against this running gateway (repeatable; its dev verifier registers the bench devices); default: start a local setup', collect)
    .option('--gateway-metrics <url>', 'with --gateway: read the gateways\' CPU time and memory from this /metrics URL (repeatable; default: http://<each --gateway host:port>/metrics; "none": do not read them)', collectMetricsUrl)
    .option('--keep-devices', 'with --gateway: leave the devices the bench registered (default: each workload opts its devices out again at its end)')
    .option('--gateways <n>', `local setup: number of gateway processes (at most ${MAX_GATEWAYS})`, parseGatewayCount, 2)
    .option('--nats-cluster <n>', 'local setup: nats-server nodes in one JetStream cluster behind the gateways (1 to 5; the gateways connect to the nodes in turn, streams and buckets on min(n, 3) replicas)', parseClusterSize, 1)
    .addOption(new Option('--transport <name>', 'local setup: WebSocket library of the gateways').choices(['uws', 'ws']).default('uws'))
    // Defaults shown as the flag takes them (commander would print a JSON array).
    .addOption(new Option('--peers <list>', `peers to run too: ${PEERS.join(',')}, all or none`).argParser(list(PEERS, 'peer')).default([...PEERS], PEERS.join(',')))
    .option('--no-hushwire', 'run only the peers')
    .addOption(new Option('--workload <list>', `workloads: ${WORKLOADS.join(',')} or all`).argParser(list(WORKLOADS, 'workload')).default(['chat'], 'chat'))
    .option('--repeat <n>', 'run every system and workload n times in interleaved rounds, then a summary: medians, ranges, and Hushwire\'s throughput over each peer\'s taken within each round', parseCount, 1)
    .option('--duration <s>', 'measured seconds per run (chat, fanout; at most 600)', parseSeconds, 10)
    .option('--warmup <s>', 'unmeasured seconds before each run; 0: none (a cold measurement: the window starts with the first message); at most 600', parseWarmup, 2)
    .option('--grace <s>', 'after a run: wait up to this long for outstanding messages before counting them lost (ends when none is left; not 0; at most 600)', parseGrace, 6)
    .option('--slice-ms <ms>', `latency timeline of each chat, fanout and fixed-rate run: p50, p99 and max per slice of the measured window this long, by intended send time (${MIN_SLICE_MS} to ${MAX_SLICE_MS}; a window of more than ${MAX_SLICES.toLocaleString('en-US')} slices takes a larger one)`, parseSliceMs, DEFAULT_SLICE_MS)
    .option('--rate <msgs>', 'fixed offered rate in messages/s (latency from the intended send time), or "half": a max-rate run then one at half of it; or a comma-separated list of rates, "half" and percentages of each system\'s max rate ("25%": the max-rate run first, then the fixed rates in ascending order); or "sweep": the max-rate run, then 10%, 20%, ... 90% of it, stopping after the first rate at which the system is saturated', parseRate)
    .option('--p99-slo <ms>', 'with --rate: after the runs, per system and workload, the highest offered rate whose p99 stayed within this many ms (nothing lost, at least 90% delivered), and its fraction of the max rate (on by default with a --rate list or sweep)', parsePositive, DEFAULT_P99_SLO_MS)
    .option('--window <n>', 'max-rate mode: messages each sender keeps outstanding', parseCount, 16)
    .option('--pairs <n>', 'chat: 1:1 pairs (both ends send; ends on different gateways)', parseCount, 100)
    .option('--devices <n>', 'storm and idle: connected devices', parseCount, 10_000)
    .addOption(new Option('--storm-auth <kind>', 'storm: how Hushwire\'s reconnects authenticate: ticket (a resumption ticket got at the first connect, HMAC proof; what the SDK does) or signature (Ed25519 every time)').choices([...STORM_AUTHS]).default('ticket'))
    .addOption(new Option('--fanout <list>', 'fanout: devices per recipient, comma-separated, each 1 to 16').argParser(parseList).default([1, 3, 10], '1,3,10'))
    .option('--backlog-devices <n>', 'backlog: offline devices', parseCount, 100)
    .option('--backlog-messages <n>', 'backlog: messages queued per offline device', parseCount, 200)
    .option('--backlog-warmup <n>', 'backlog: messages per device in an unmeasured round (filled, drained, erased) before the measured one, as --warmup for chat; 0 = none: the gateways\' first drain', parseCountOrZero, 20)
    .option('--workers <n>', 'generator threads (at most 4 per core, and 64)', parseWorkers, Math.max(1, Math.min(2, cpus().length)))
    .addOption(new Option('--ws-client <kind>', 'generator WebSocket client for Hushwire and the bare uWS relay: lean (the bench\'s own, cheapest per connection) or ws (the library the SDK uses)').choices([...WS_CLIENTS]).default('lean'))
    .option('--json', 'print {"runs":[...]} on stdout (the table goes to stderr)')
    .option('--report <dir>', 'write bench.json and bench.html (charts) into this directory')
    .option('--nats-ws-url <url>', 'use this running nats-server WebSocket listener (ws:// or wss://) instead of starting one', peerUrl(['ws', 'wss']))
    .option('--mqtt-url <url>', 'use this running MQTT-over-WebSocket broker (ws:// or wss://) instead of starting Mosquitto', peerUrl(['ws', 'wss']))
    .option('--socketio-url <url>', 'use this running Socket.IO relay (bench/peers/socketio-relay.ts; http(s):// or ws(s)://) instead of starting one', peerUrl(['http', 'https', 'ws', 'wss']))
    .option('--uws-relay-url <url>', 'use this running bare uWS relay (bench/peers/uws-relay.ts; ws:// or wss://) instead of starting one', peerUrl(['ws', 'wss']))
    .option('--gateway-arg <arg>', 'local setup: extra argument for every gateway (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--gateway-node-arg <arg>', 'local setup: extra node flag for every gateway process, e.g. --max-semi-space-size=32 (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--cpu-prof <dir>', 'local setup: CPU-profile the Hushwire gateways over each measured phase (V8\'s profiler through their inspector on loopback); .cpuprofile files (functions at their .ts lines) and a summary by file, category and function written into dir')
    .option('--heap-sample <dir>', 'local setup: sample the Hushwire gateways\' allocations over each measured phase (V8\'s sampling heap profiler through their inspector on loopback); .heapprofile files and a summary by allocation site written into dir')
    .option('--baseline <path>', 'at the end, compare this run with saved results (a --json/--report file or a directory of them; see bench compare)')
    .option('--fail-on-worse', 'with --baseline: exit with status 1 when any metric is worse than the baseline')
    .addHelpText('after', `
Every run is bounded: warmup + duration + grace seconds, then it stops by itself; a
watchdog process ends the bench and everything it started if its main thread ever
stops running for 60 s. Ctrl-C (SIGINT) or SIGTERM stops the processes the bench
started, removes its temp directories and reports the rows finished by then (exit
130 or 143).
Only loopback addresses are used by the local setup; it starts nats-server (and
installs Debian's mosquitto with apt-get when missing and allowed) and stops all of it.
Columns: deliv/s = deliveries per second to recipient devices; latency from the
intended send time; srv/nats us/msg = CPU microseconds of the gateways (or the peer's
server) / nats-server per delivered message; gen cpu% = the generator's CPU (100 = one
core), "!" = a generator thread was saturated (the run measured the generator).`)
    .action(async (o: Opts, cmd: Command) => {
      if (o.gatewayMetrics !== undefined && (o.gateway ?? []).length === 0) {
        throw new InvalidArgumentError('--gateway-metrics goes with --gateway (a local setup reads its own processes)');
      }
      if (o.keepDevices && (o.gateway ?? []).length === 0) {
        throw new InvalidArgumentError('--keep-devices goes with --gateway (a local setup is thrown away after each workload)');
      }
      if ((o.gateway ?? []).length > 0) {
        // Options of the local setup would be ignored against running gateways: a load
        // tester who gave them believes they apply. Given at all (even at their default
        // value) is what counts.
        const given = (key: string): boolean => { const src = cmd.getOptionValueSource(key); return src !== undefined && src !== 'default'; };
        if (given('natsCluster')) throw new InvalidArgumentError('--nats-cluster is for the local setup (running gateways have their own NATS)');
        if (given('heapSample')) throw new InvalidArgumentError('--heap-sample needs the local setup (running gateways are not started with an inspector)');
        for (const [key, flag] of [['gateways', '--gateways'], ['transport', '--transport'], ['gatewayArg', '--gateway-arg'], ['gatewayNodeArg', '--gateway-node-arg'], ['cpuProf', '--cpu-prof']] as const) {
          if (given(key)) throw new InvalidArgumentError(`${flag} is for the local setup (the bench does not start the gateways given with --gateway)`);
        }
      }
      // Made now: a directory that cannot be written fails before the run, not after it.
      if (o.heapSample !== undefined) writableDir('--heap-sample', o.heapSample);
      if (o.report !== undefined) writableDir('--report', o.report);
      if (o.cpuProf !== undefined) writableDir('--cpu-prof', o.cpuProf);
      if (o.failOnWorse && o.baseline === undefined) throw new InvalidArgumentError('--fail-on-worse goes with --baseline');
      // The latency-bounded capacity: with a --rate list or sweep, or asked for with
      // --p99-slo; a lone --rate N or --rate half keep their output as it was.
      const sloGiven = cmd.getOptionValueSource('p99Slo') !== undefined && cmd.getOptionValueSource('p99Slo') !== 'default';
      if (sloGiven && o.rate === undefined) throw new InvalidArgumentError('--p99-slo goes with --rate (it bounds the p99 of the fixed-rate runs)');
      const sloWanted = sloGiven || isRateList(o.rate ?? null);
      const sloOf = (rows: RunResult[]): SloEntry[] | null => (sloWanted ? sloEntries(rows, o.p99Slo) : null);
      // Read before the run: a baseline that cannot be read fails now, not after it.
      const baseline: BenchFile[] | null = o.baseline === undefined ? null : readResults(o.baseline, '--baseline');
      const systems: SystemName[] = [...(o.hushwire ? ['hushwire' as const] : []), ...o.peers];
      // A peer's URL for a peer that does not run would be ignored: the load tester who
      // gave it believes that server is measured.
      for (const [key, flag, peer] of PEER_URL_FLAGS) {
        if (o[key] !== undefined && !o.peers.includes(peer)) throw new InvalidArgumentError(`${flag} is for the ${peer} peer, which --peers leaves out (--peers ${o.peers.length ? o.peers.join(',') : 'none'})`);
      }
      // An empty selection is a mistake in the command line, not a run that measured nothing.
      if (o.workload.length === 0) throw new InvalidArgumentError(`no workload to run: --workload names none (choose from ${WORKLOADS.join(', ')}, all)`);
      if (systems.length === 0) throw new InvalidArgumentError('no system to run: --no-hushwire with --peers none');
      // Before anything starts: a run this machine cannot hold fails at once, naming the
      // limit in the way (bench/capacity.ts), not minutes into its set-up.
      const tooBig = capacityProblem({
        systems, workloads: o.workload, pairs: o.pairs, devices: o.devices, fanout: o.fanout,
        remote: systems.filter((s) => (s === 'hushwire' ? (o.gateway ?? []).length > 0 : s === 'nats-ws' ? !!o.natsWsUrl
          : s === 'mosquitto' ? !!o.mqttUrl : s === 'socketio' ? !!o.socketioUrl : !!o.uwsRelayUrl)),
        backlogDevices: o.backlogDevices, hushwireServers: o.gateway?.length ? o.gateway.length : o.gateways,
      }, machineLimits());
      if (tooBig !== null) throw new HushwireError(ErrorCode.BAD_REQUEST, tooBig);
      const log = (line: string): void => { process.stderr.write(line + '\n'); };
      const live: string[] = [];
      const finished: RunResult[] = [];
      const opts: BenchOptions = {
        systems,
        workloads: o.workload,
        repeat: o.repeat,
        gateways: o.gateway ?? [],
        ...(o.gatewayMetrics !== undefined ? { gatewayMetrics: o.gatewayMetrics.filter((u) => u !== 'none') } : {}),
        ...(o.keepDevices ? { keepDevices: true } : {}),
        gatewayCount: o.gateways,
        transport: o.transport,
        gatewayArgs: o.gatewayArg ?? [],
        gatewayNodeArgs: o.gatewayNodeArg ?? [],
        ...(o.heapSample !== undefined ? { heapSample: o.heapSample } : {}),
        ...(o.cpuProf !== undefined ? { cpuProf: o.cpuProf } : {}),
        natsCluster: o.natsCluster,
        ...(o.natsWsUrl ? { natsWsUrl: o.natsWsUrl } : {}),
        ...(o.mqttUrl ? { mqttUrl: o.mqttUrl } : {}),
        ...(o.socketioUrl ? { socketioUrl: o.socketioUrl } : {}),
        ...(o.uwsRelayUrl ? { uwsRelayUrl: o.uwsRelayUrl } : {}),
        durationS: o.duration,
        warmupS: o.warmup,
        graceS: o.grace,
        sliceMs: o.sliceMs,
        rate: o.rate ?? null,
        window: o.window,
        pairs: o.pairs,
        devices: o.devices,
        stormAuth: o.stormAuth,
        backlogDevices: o.backlogDevices,
        backlogPerDevice: o.backlogMessages,
        backlogWarmup: o.backlogWarmup,
        fanout: o.fanout,
        workers: o.workers,
        wsClient: o.wsClient,
        connectConcurrency: 256,
        log,
        onResult: (r) => {
          if (live.length === 0) log(tableHeader());
          live.push(tableRow(r));
          finished.push(r);
          log(tableRow(r));
        },
      };
      // The slice every timeline of this run has (a long window takes a larger one than asked).
      const sliceMs = effectiveSliceMs(o.duration * 1000, o.sliceMs);
      if (sliceMs !== o.sliceMs) log(`latency timeline: ${sliceMs.toLocaleString('en-US')} ms slices instead of --slice-ms ${o.sliceMs} (at most ${MAX_SLICES.toLocaleString('en-US')} slices in the ${o.duration} s window)`);
      const meta = {
        when: new Date().toISOString(),
        machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, generator on the same cores`,
        systems, workloads: o.workload, repeat: o.repeat, duration_s: o.duration, warmup_s: o.warmup, grace_s: o.grace, rate: rateMeta(o.rate ?? null), window: o.window,
        slice_ms: sliceMs, ...(sliceMs !== o.sliceMs ? { slice_ms_asked: o.sliceMs } : {}),
        pairs: o.pairs, devices: o.devices, storm_auth: o.stormAuth,
        // the shapes of backlog and fanout, so bench compare warns when they differ
        backlog_devices: o.backlogDevices, backlog_messages: o.backlogMessages, backlog_warmup: o.backlogWarmup, fanout: o.fanout,
        gateways: o.gateway?.length ? o.gateway.length : o.gateways, transport: o.gateway?.length ? 'remote' : o.transport,
        workers: o.workers,
        ws_client: o.wsClient,
        nats_nodes: o.gateway?.length ? null : o.natsCluster,
      };
      // Ends the run (children first) if the main thread ever hangs for good, up to and
      // including the process's own exit; the bench's own deadlines cover everything
      // else. Not stopped here: it leaves when this process has exited (bench/watchdog.ts).
      startWatchdog();
      // Ctrl-C or SIGTERM: the rows finished so far are results too (the run in progress
      // is not): printed as a finished run prints them, marked as interrupted, so a
      // script reading --json gets them and sees why the rest is missing.
      const stopReporting = onInterruptReport((sig) => {
        if (finished.length === 0) return 'no run had finished: no results';
        const rowsText = `${finished.length} finished row${finished.length === 1 ? '' : 's'}`;
        const marked = { ...meta, interrupted: sig };
        const slo = sloOf(finished);
        if (o.json) process.stdout.write(JSON.stringify(toJson(finished, marked, null, null, slo)) + '\n');
        else process.stdout.write(table(finished) + (slo && slo.length > 0 ? `\n\n${sloText(slo)}` : '') + '\n');
        const wrote = o.report === undefined ? [] : writeReport(o.report, finished, marked, null, null, slo === null ? null : { ms: o.p99Slo, entries: slo });
        return `${rowsText} reported on stdout${o.json ? ` (the JSON's meta says "interrupted": "${sig}")` : ''}${wrote.length > 0 ? ` and in ${wrote.join(', ')}` : ''}; the run in progress is not`;
      });
      const rows = await runBench(opts);
      // From here the run prints its results itself: a signal now must not print them twice.
      stopReporting();
      const summary = o.repeat > 1 ? summarise(rows) : null;
      // --baseline: this run as the candidate (bench/compare.ts)
      const comparison = baseline === null ? null : compare(baseline, [{ path: 'this run', runs: rows, meta }], { noisePct: DEFAULT_NOISE_PCT });
      const slo = sloOf(rows);
      log('');
      const text = table(rows) + (summary ? `\n\n${summaryTable(summary, o.repeat)}` : '') + (slo && slo.length > 0 ? `\n\n${sloText(slo)}` : '');
      if (o.json) {
        log(text);
        // meta (the settings and machine) too, so saved output can be compared (bench compare).
        process.stdout.write(JSON.stringify(toJson(rows, meta, summary, comparison, slo)) + '\n');
      } else {
        process.stdout.write(text + '\n');
      }
      if (o.report) for (const f of writeReport(o.report, rows, meta, summary, comparison, slo === null ? null : { ms: o.p99Slo, entries: slo })) log(`wrote ${f}`);
      // Nothing measured because everything failed (a gateway that cannot be reached,
      // a wrong path): a script must not take that for a result.
      const failure = runFailure(rows);
      if (failure !== null) {
        log(`hushwire: ${failure}`);
        process.exitCode = 1;
      }
      if (comparison !== null) {
        // To stderr: stdout stays the table, or the JSON a script parses.
        log('');
        log(comparison.rows.length === 0 && comparison.worse === 0 ? `baseline ${o.baseline}: ${nothingToCompare(comparison)}` : compareTable(comparison));
        if (o.failOnWorse && comparison.worse > 0) {
          log(`hushwire: ${comparison.worse} metric${comparison.worse === 1 ? '' : 's'} worse than the baseline`);
          process.exitCode = 1;
        }
      }
    });
}
