// Per system: the servers a run needs (started here and stopped after, or given by
// URL), the URLs handsets connect to, and the pids whose CPU time and RSS are read.
import { startNats, startNatsCluster, startGateways, startMosquitto, startSocketIoRelay, startUwsRelay, mosquittoBinary, natsServerBinary } from './servers.ts';
import { loadUws } from '../gateway/transport/select.ts';
import { GATEWAY_HEAP_FLAGS } from '../gateway/heap-flags.ts';
import { BENCH_MAILBOX_MAX, BENCH_MAX_DEVICES_PER_ROUTE } from './devices.ts';
import { INSPECTOR_LINE } from './inspect.ts';
import { metricsProbe, metricsUrlOf, pidProbe, type ResourceProbe } from './probes.ts';
import type { SystemName } from './types.ts';

/** The local gateways' limits are lifted so that the bench measures the relay, not
 *  the abuse limits (one bench device sends far more than a handset may). */
export const BENCH_GATEWAY_ARGS: readonly string[] = [
  '--mailbox-max-messages', String(BENCH_MAILBOX_MAX),
  '--max-devices-per-route', String(BENCH_MAX_DEVICES_PER_ROUTE),
  '--send-rate', '1000000', '--send-burst', '10000000',
  '--connect-rate', '1000000', '--connect-burst', '10000000',
  '--max-connections', '1000000',
  '--recipient-budget-bytes', String(1024 * 1024 * 1024), '--recipient-window-s', '1',
];

/** Node flags of the local gateways: what docs/OPERATIONS.md recommends (and `npm
 *  start` uses). A larger young generation cut gateway CPU per message by ~17% here; a
 *  floor under the old generation's limit stops the back-to-back full collections that
 *  a small heap beside that young generation got (OPERATIONS, "Node runtime flags"). */
export const BENCH_GATEWAY_NODE_ARGS: readonly string[] = GATEWAY_HEAP_FLAGS;

export interface SystemEnv {
  system: SystemName;
  urls: string[];
  /** CPU time and RSS of the system's own servers (gateways; Mosquitto; the relay;
   *  nats-server for nats-ws): /proc for processes started here, the gateways' /metrics
   *  for running gateways; null when the bench cannot read them. */
  server: ResourceProbe | null;
  /** nats-server behind the gateways (Hushwire, local setup only). */
  nats: ResourceProbe | null;
  /** Inspector URLs of the local gateways when they run with --inspect (the idle
   *  workload: bench/inspect.ts); empty otherwise. */
  inspectorUrls: string[];
  /** NATS URL for seeding the directory; null against remote gateways. */
  natsUrl: string | null;
  /** --mailbox-shards of the local gateways, when given (the seeding bus must lay the
   *  mailbox out the same way, or one of them refuses to start). */
  mailboxShards?: number;
  /** --nats-replicas of the local gateways (a cluster's), for the seeding bus likewise. */
  natsReplicas?: number;
  local: boolean;
  stop(): Promise<void>;
}

export interface SetupOptions {
  gateways: string[];
  gatewayCount: number;
  transport: 'uws' | 'ws';
  gatewayArgs: string[];
  gatewayNodeArgs: string[];
  /** Local setup: nats-server nodes in one JetStream cluster behind the gateways (1: a
   *  single server); the gateways connect to the nodes in turn and keep their streams
   *  and buckets on min(nodes, 3) replicas. */
  natsCluster?: number;
  /** Running gateways: their /metrics URLs (default: derived from each --gateway URL);
   *  empty list = do not read them. */
  gatewayMetrics?: string[];
  natsWsUrl?: string;
  mqttUrl?: string;
  socketioUrl?: string;
  uwsRelayUrl?: string;
}

/** The gateways' --mailbox-shards from their arguments (`--mailbox-shards=N` or
 *  `--mailbox-shards N`), else HUSHWIRE_MAILBOX_SHARDS, else undefined (the default). */
export function mailboxShardsOf(args: readonly string[], env: NodeJS.ProcessEnv = process.env): number | undefined {
  let v: string | undefined = env['HUSHWIRE_MAILBOX_SHARDS'];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--mailbox-shards=')) v = a.slice('--mailbox-shards='.length);
    else if (a === '--mailbox-shards' && i + 1 < args.length) v = args[++i];
  }
  return v === undefined || v === '' ? undefined : Number(v);
}

/** JetStream replicas on a cluster of `nodes`: all of them up to three, as operators
 *  run R3 (docs/OPERATIONS.md); more copies than three buy little and cost writes. */
export function clusterReplicas(nodes: number): number {
  return Math.min(nodes, 3);
}

/** Starts (or points at) the system; returns a skip reason when it cannot run here:
 *  documented (a binary not installed, no uWS build for this machine), or, with
 *  `failure`, a server that failed to start. */
export async function setUp(system: SystemName, o: SetupOptions): Promise<SystemEnv | { skip: string; failure?: true }> {
  const servers: { stop(): Promise<void> }[] = [];
  const stop = async (): Promise<void> => {
    for (const s of servers.reverse()) await s.stop().catch(() => undefined);
  };
  const remote = (urls: string[], server: ResourceProbe | null = null): SystemEnv => ({ system, urls, server, nats: null, inspectorUrls: [], natsUrl: null, local: false, stop: async () => {} });
  const local = (urls: string[], pid: number): SystemEnv => ({ system, urls, server: pidProbe([pid]), nats: null, inspectorUrls: [], natsUrl: null, local: true, stop });
  try {
    switch (system) {
      case 'hushwire': {
        if (o.gateways.length > 0) {
          const metrics = o.gatewayMetrics ?? o.gateways.map(metricsUrlOf).filter((u): u is string => u !== null);
          return remote(o.gateways, metrics.length > 0 ? metricsProbe(metrics) : null);
        }
        if (natsServerBinary() === null) return { skip: 'nats-server not installed' };
        const nodes = o.natsCluster ?? 1;
        let natsUrls: string[];
        let natsPids: number[];
        if (nodes > 1) {
          const cluster = await startNatsCluster(nodes);
          servers.push(cluster);
          natsUrls = cluster.urls;
          natsPids = cluster.children.map((c) => c.pid);
        } else {
          const nats = await startNats({ jetstream: true, websocket: false });
          servers.push(nats);
          natsUrls = [nats.url];
          natsPids = [nats.child.pid];
        }
        const replicas = clusterReplicas(nodes);
        const args = [...BENCH_GATEWAY_ARGS, ...(replicas > 1 ? ['--nats-replicas', String(replicas)] : []), ...o.gatewayArgs];
        const gws = await startGateways({
          count: o.gatewayCount, transport: o.transport, natsUrls, nodeArgs: [...BENCH_GATEWAY_NODE_ARGS, ...o.gatewayNodeArgs], args,
        });
        servers.push(gws);
        const inspectorUrls = gws.children.map((c) => INSPECTOR_LINE.exec(c.output())?.[1]).filter((u): u is string => u !== undefined);
        const shards = mailboxShardsOf(args);
        return {
          system, urls: gws.urls, server: pidProbe(gws.children.map((c) => c.pid)), nats: pidProbe(natsPids), inspectorUrls, natsUrl: natsUrls[0]!, local: true, stop,
          ...(shards !== undefined ? { mailboxShards: shards } : {}),
          ...(replicas > 1 ? { natsReplicas: replicas } : {}),
        };
      }
      case 'nats-ws': {
        if (o.natsWsUrl) return remote([o.natsWsUrl]);
        if (natsServerBinary() === null) return { skip: 'nats-server not installed' };
        const nats = await startNats({ jetstream: false, websocket: true });
        servers.push(nats);
        return local([nats.wsUrl!], nats.child.pid);
      }
      case 'mosquitto': {
        if (o.mqttUrl) return remote([o.mqttUrl]);
        const bin = await mosquittoBinary();
        if ('skip' in bin) return bin;
        const m = await startMosquitto(bin.bin);
        servers.push(m);
        return local([m.url], m.child.pid);
      }
      case 'socketio': {
        if (o.socketioUrl) return remote([o.socketioUrl]);
        const r = await startSocketIoRelay();
        servers.push(r);
        return local([r.url], r.child.pid);
      }
      case 'uws-relay': {
        if (o.uwsRelayUrl) return remote([o.uwsRelayUrl]);
        const u = loadUws();
        if (!u.ok) return { skip: `no uWebSockets.js build loads here (${u.notes.join('; ')})` };
        const r = await startUwsRelay();
        servers.push(r);
        return local([r.url], r.child.pid);
      }
    }
  } catch (e) {
    await stop();
    return { skip: `could not start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, failure: true };
  }
}
