// Nearest-rank percentiles of a small set of exact values (a storm's 10,000 reconnect
// times): sorted once, no histogram buckets. The message latencies, millions per run,
// go through hdr-histogram-js instead (bench/run.ts).

/** The nearest-rank `p`th percentile (0 < p <= 100) of `sorted` (ascending); null when empty. */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
