// Against running gateways the bench reads their CPU from the /metrics URLs it is given
// (--gateway-metrics, or derived from each --gateway). A URL of another gateway than the
// handsets use (an idle one of the deployment, a staging gateway, a typo in the port)
// answers, with plausible figures: the row's gateway CPU came out near zero, and nothing
// said why. A gateway that carried a phase's work spends CPU on it, so a URL whose
// process's CPU rose by far less than that work costs is named in the row's note.
//
// The floors are well below what a gateway spends (docs/BENCHMARKS.md, latest results:
// 8-10 µs of gateway CPU per delivery, 22 per drained message, ~250 per reconnect, all
// gateways together), so a gateway that did the work is never named; an idle gateway's
// own background (timers, the bench's scrapes: ~6 ms a second here) hides it only when
// the phase's work was too small to stand out from that.

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** µs of gateway CPU (all gateways together) that a unit of work costs at the least. */
export const MIN_GATEWAY_US = {
  /** a delivery (chat, fanout) or a drained message (backlog) */
  delivery: 1,
  /** a storm reconnect (WebSocket upgrade and auth) */
  reconnect: 20,
} as const;

export type WorkUnit = keyof typeof MIN_GATEWAY_US;

/** The rise of each URL's CPU (µs) between two readings; null when either is missing. */
export function cpuRise(before: ReadonlyMap<string, number> | null, after: ReadonlyMap<string, number> | null): Map<string, number> | null {
  if (before === null || after === null) return null;
  const out = new Map<string, number>();
  for (const [url, b] of before) {
    const a = after.get(url);
    if (a === undefined) return null;
    out.set(url, a - b);
  }
  return out;
}

/** The note for every URL whose CPU rose by less than its share (the work spread evenly
 *  over the URLs) of the least the work costs; null when none did. `count` units of
 *  work were done through the gateways during the phase. */
export function idleMetricsNote(rise: ReadonlyMap<string, number> | null, count: number, unit: WorkUnit): string | null {
  if (rise === null || rise.size === 0 || count <= 0) return null;
  const floor = (count * MIN_GATEWAY_US[unit]) / rise.size;
  const what = `${fmtInt(count)} ${unit === 'delivery' ? (count === 1 ? 'delivery' : 'deliveries') : count === 1 ? 'reconnect' : 'reconnects'}`;
  const notes: string[] = [];
  for (const [url, us] of rise) {
    if (us >= floor) continue;
    notes.push(`gateway CPU from --gateway-metrics ${url} rose by ~0 during the phase (${(Math.max(0, us) / 1000).toFixed(1)} ms for ${what}): is it the gateway the handsets use?`);
  }
  return notes.length === 0 ? null : notes.join('; ');
}
