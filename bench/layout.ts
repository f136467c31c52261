// Who plays what: endpoints (handsets), their targets, which gateway each connects to,
// and which generator thread plays them. A chat pair or a fanout group always lives in
// one thread, so every latency is taken on one clock.
import { randomBytes } from 'node:crypto';
import type { EndpointSpec, HwDevice, SystemName, TargetSpec, WorkerInit } from './types.ts';
import type { WsClientKind } from './drivers/client-socket.ts';

export interface Group {
  endpoints: EndpointSpec[];
  targets: TargetSpec[];
  senders: number[];
}

export interface Layout {
  groups: Group[];
  /** Every Hushwire device, grouped by route (for the directory). */
  hwRoutes: HwDevice[][];
}

/** Gateway URL for the i-th connection of group g (ends of a pair land on different gateways). */
function pick(urls: string[], g: number, i: number): string {
  return urls[(g + i) % urls.length]!;
}

/**
 * Groups of 1 sender + k recipients (k = 1 with `mutual`: a chat pair, both ends send).
 * On Hushwire the k recipients are k devices of one route (one number).
 */
export function senderGroups(urls: string[], count: number, k: number, mutual: boolean, hw: HwDevice[][] | null): Layout {
  const groups: Group[] = [];
  const hwRoutes: HwDevice[][] = [];
  let idx = 0;
  for (let g = 0; g < count; g++) {
    const senderIdx = idx++;
    const recips = Array.from({ length: k }, () => idx++);
    const sHw = hw ? hw[2 * g]![0]! : undefined;
    const rHw = hw ? hw[2 * g + 1]! : undefined;
    if (sHw && rHw) hwRoutes.push([sHw], rHw);
    const groupTopic = k === 1 ? `c${recips[0]}` : `g${g}`;
    const sender: EndpointSpec = { idx: senderIdx, url: pick(urls, g, 0), name: `c${senderIdx}`, groups: [], ...(sHw ? { hw: sHw } : {}) };
    const recipients: EndpointSpec[] = recips.map((r, j) => ({
      idx: r, url: pick(urls, g, j + 1), name: `c${r}`, groups: k === 1 ? [] : [groupTopic], ...(rHw ? { hw: rHw[j]! } : {}),
    }));
    const targets: TargetSpec[] = [{ sender: senderIdx, recipients: recips, topic: groupTopic }];
    const senders = [senderIdx];
    if (mutual && k === 1) {
      targets.push({ sender: recips[0]!, recipients: [senderIdx], topic: sender.name });
      senders.push(recips[0]!);
    }
    groups.push({ endpoints: [sender, ...recipients], targets, senders });
  }
  return { groups, hwRoutes };
}

/** n lone handsets that send nothing (storm, idle). */
export function loneEndpoints(urls: string[], n: number, hw: HwDevice[][] | null): Layout {
  const groups: Group[] = [];
  for (let i = 0; i < n; i++) {
    const d = hw ? hw[i]![0]! : undefined;
    groups.push({ endpoints: [{ idx: i, url: pick(urls, i, 0), name: `c${i}`, groups: [], ...(d ? { hw: d } : {}) }], targets: [], senders: [] });
  }
  return { groups, hwRoutes: hw ?? [] };
}

/** Deals groups round-robin to `workers` generator threads. `resumeTickets`: the
 *  Hushwire handsets get resumption tickets at their first connect (a storm's). */
export function toWorkers(system: SystemName, layout: Layout, workers: number, connectConcurrency: number, wsClient: WsClientKind, resumeTickets = false): WorkerInit[] {
  const runTag = new Uint8Array(randomBytes(8));
  const n = Math.max(1, Math.min(workers, layout.groups.length));
  const inits: WorkerInit[] = Array.from({ length: n }, () => ({
    system, endpoints: [], targets: [], runTag, senderIdx: [], connectConcurrency, wsClient,
    ...(resumeTickets ? { resumeTickets: true } : {}),
  }));
  layout.groups.forEach((g, i) => {
    const w = inits[i % n]!;
    w.endpoints.push(...g.endpoints);
    w.targets.push(...g.targets);
    w.senderIdx.push(...g.senders);
  });
  return inits;
}
