// Whether this machine can hold the connections a bench run asks for, checked before
// anything starts.
//
// Why: every simulated handset is one socket in the bench process (its generator
// threads), and every connection to one server address needs its own local port. On
// Linux the first is bounded by the process's open-files limit (`ulimit -n`, 20,000 on
// the machine these numbers come from) and the second by the ephemeral port range
// (net.ipv4.ip_local_port_range, 28,232 ports by default). Past either, connects fail
// one by one (EMFILE, EADDRNOTAVAIL) minutes into the set-up; a load tester asking for
// `--devices 50000` should hear at once which limit is in the way and what to change.
//
// The port limit is per source address, and all of 127.0.0.0/8 is this machine: against
// servers the bench starts itself on loopback, a run larger than one address's ports
// spreads its handsets over 127.0.0.1, .2, ... (sourceAddresses), so only the open-files
// limit remains. Against servers given by URL the bench does not know which source
// addresses reach them, and the port limit per server address stands.
import { readFileSync } from 'node:fs';
import type { SystemName, WorkloadName } from './types.ts';
import { connectionsWithin } from '../gateway/fd-limit.ts';

export interface MachineLimits {
  /** Soft limit on open files of this process; null when unknown (not Linux). */
  openFiles: number | null;
  /** Local ports available for outgoing connections; null when unknown. */
  ephemeralPorts: number | null;
  /** The port range as written, for the message. */
  portRange: string | null;
}

/** File descriptors the bench process needs besides its handsets' sockets (nats-server
 *  and gateway pipes, /proc probes, watchdog, workers, metrics requests). */
export const FD_MARGIN = 200;

/** Reads the limits from /proc (Linux); unknown ones are null and not checked. */
export function machineLimits(): MachineLimits {
  let openFiles: number | null = null;
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) openFiles = m[1] === 'unlimited' ? null : Number(m[1]);
  } catch {
    // not Linux
  }
  let ephemeralPorts: number | null = null;
  let portRange: string | null = null;
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi) && hi! >= lo!) {
      ephemeralPorts = hi! - lo! + 1;
      portRange = `${lo}-${hi}`;
    }
  } catch {
    // not Linux
  }
  return { openFiles, ephemeralPorts, portRange };
}

/** Share of the ephemeral ports one source address may take: under half, since after a
 *  storm's drop the old connections' ports sit in TIME_WAIT while the same handsets
 *  connect again, and the rest of the machine needs some too. */
export const PORT_SHARE = 0.45;
/** 127.0.0.1 to 127.0.0.254. */
export const MAX_LOOPBACK_SOURCES = 254;

export interface CapacityPlan {
  systems: readonly SystemName[];
  /** Systems run against servers given by URL (not started by the bench): no spreading. */
  remote: readonly SystemName[];
  workloads: readonly WorkloadName[];
  pairs: number;
  devices: number;
  fanout: readonly number[];
  backlogDevices: number;
  /** Hushwire gateways the handsets are spread over (local --gateways N, or the --gateway URLs). */
  hushwireServers: number;
}

/** Handsets (sockets) a workload opens at once, as bench/run.ts lays them out. */
export function handsetsOf(w: WorkloadName, p: CapacityPlan): number {
  switch (w) {
    case 'chat':
      return 2 * p.pairs;
    case 'fanout':
      // groups of one sender and k recipients, about as many handsets as chat uses
      return Math.max(...p.fanout.map((k) => Math.max(2, Math.floor((2 * p.pairs) / (k + 1))) * (k + 1)));
    case 'backlog':
      return 2 * p.backlogDevices;
    case 'storm':
    case 'idle':
      return p.devices;
  }
}

/** Why this machine cannot run the plan (one message naming each limit in the way and
 *  what to change), or null. */
export function capacityProblem(p: CapacityPlan, limits: MachineLimits): string | null {
  let handsets = { n: 0, what: '' };
  let perServer = { n: 0, what: '' };
  for (const s of p.systems) {
    for (const w of p.workloads) {
      const n = handsetsOf(w, p);
      // Hushwire's handsets are spread evenly over the gateways; a peer is one server.
      // A local server: connections are spread over loopback source addresses, each
      // with its own ports (254 of them: the open-files limit comes first, long before).
      const one = !p.remote.includes(s) ? 0 : s === 'hushwire' ? Math.ceil(n / Math.max(1, p.hushwireServers)) : n;
      if (n > handsets.n) handsets = { n, what: `${s} ${w}` };
      if (one > perServer.n) perServer = { n: one, what: `${s} ${w}` };
    }
  }
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const problems: string[] = [];
  if (limits.openFiles !== null && handsets.n + FD_MARGIN > limits.openFiles) {
    problems.push(`${handsets.what}: ${fmt(handsets.n)} simulated handsets need about ${fmt(handsets.n + FD_MARGIN)} open files in this process, but its limit is ${fmt(limits.openFiles)} (node runs at its hard limit already: raise that, \`ulimit -n\` in a root shell, limits.conf or LimitNOFILE=, or use fewer handsets)`);
  }
  // Local gateways inherit this process's limit and take no more connections than it
  // holds (gateway/fd-limit.ts): over it they would answer 503 "full".
  if (p.systems.includes('hushwire') && !p.remote.includes('hushwire') && limits.openFiles !== null) {
    const most = Math.max(...p.workloads.map((w) => Math.ceil(handsetsOf(w, p) / Math.max(1, p.hushwireServers))));
    const fits = connectionsWithin(limits.openFiles);
    if (most > fits) {
      problems.push(`each local gateway would hold ${fmt(most)} connections, but with the open-files limit of ${fmt(limits.openFiles)} it takes at most ${fmt(fits)} (use more gateways with --gateways, raise the hard open-files limit, or use fewer handsets)`);
    }
  }
  if (limits.ephemeralPorts !== null && perServer.n > limits.ephemeralPorts) {
    const spread = perServer.what.startsWith('hushwire') ? 'use more gateways, ' : '';
    problems.push(`${perServer.what}: ${fmt(perServer.n)} connections to one server address need as many local ports, but this machine has ${fmt(limits.ephemeralPorts)} (net.ipv4.ip_local_port_range ${limits.portRange}; widen it, ${spread}or use fewer handsets)`);
  }
  return problems.length === 0 ? null : `this machine cannot hold the run: ${problems.join('; ')}`;
}

/** Loopback source addresses for `n` handsets of a local run, so that none takes more
 *  than PORT_SHARE of its ephemeral ports: [] (no change: the system picks) when one
 *  address is enough or the port range is unknown. The connections bind to them, so
 *  each address's ports are shared by all destinations. */
export function sourceAddresses(n: number, ephemeralPorts: number | null): string[] {
  if (ephemeralPorts === null) return [];
  const perAddress = Math.max(1, Math.floor(ephemeralPorts * PORT_SHARE));
  const k = Math.ceil(n / perAddress);
  if (k <= 1) return [];
  return Array.from({ length: Math.min(k, MAX_LOOPBACK_SOURCES) }, (_, i) => `127.0.0.${i + 1}`);
}
