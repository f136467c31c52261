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
import { readFileSync } from 'node:fs';
import type { SystemName, WorkloadName } from './types.ts';

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

export interface CapacityPlan {
  systems: readonly SystemName[];
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
      const one = s === 'hushwire' ? Math.ceil(n / Math.max(1, p.hushwireServers)) : n;
      if (n > handsets.n) handsets = { n, what: `${s} ${w}` };
      if (one > perServer.n) perServer = { n: one, what: `${s} ${w}` };
    }
  }
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const problems: string[] = [];
  if (limits.openFiles !== null && handsets.n + FD_MARGIN > limits.openFiles) {
    problems.push(`${handsets.what}: ${fmt(handsets.n)} simulated handsets need about ${fmt(handsets.n + FD_MARGIN)} open files in this process, but its limit is ${fmt(limits.openFiles)} (raise it with \`ulimit -n\`, or use fewer handsets)`);
  }
  if (limits.ephemeralPorts !== null && perServer.n > limits.ephemeralPorts) {
    const spread = perServer.what.startsWith('hushwire') ? 'use more gateways, ' : '';
    problems.push(`${perServer.what}: ${fmt(perServer.n)} connections to one server address need as many local ports, but this machine has ${fmt(limits.ephemeralPorts)} (net.ipv4.ip_local_port_range ${limits.portRange}; widen it, ${spread}or use fewer handsets)`);
  }
  return problems.length === 0 ? null : `this machine cannot hold the run: ${problems.join('; ')}`;
}
