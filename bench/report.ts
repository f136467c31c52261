// Output: a fixed-width table for people, the JSON for scripts, and a self-contained
// HTML page with SVG bar charts (throughput, latency, CPU per message, a storm's
// reconnect time, idle memory per connection) for --report DIR.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from './types.ts';
import { summaryTable, type SummaryRow } from './summary.ts';
import { compareTable, type Comparison } from './compare.ts';
import { worstSlice, worstSliceText, type Timeline } from './timeline.ts';
import { baseWorkload, deliveriesPerMessage, saturation, sloEntries, sloText, type SloEntry } from './rate-plan.ts';

const COLS: [string, (r: RunResult) => string, number][] = [
  ['system', (r) => r.system, 10],
  // With --repeat every row is one round's: the round goes with the workload, as in
  // the charts (`chat #2`), so the table tells the rounds apart as the JSON does.
  ['workload', (r) => (r.round !== undefined ? `${r.workload} #${r.round}` : r.workload), 12],
  ['deliv/s', (r) => num(r.delivered_per_s, 0), 9],
  ['p50 ms', (r) => num(r.p50_ms, 2), 8],
  ['p99 ms', (r) => num(r.p99_ms, 2), 8],
  ['p999 ms', (r) => num(r.p999_ms, 2), 8],
  ['srv us/msg', (r) => num(r.server_cpu_us_per_msg, 1), 10],
  ['nats us/msg', (r) => num(r.nats_cpu_us_per_msg, 1), 11],
  ['lost', (r) => num(r.lost, 0), 6],
  ['dup', (r) => num(r.duplicated, 0), 5],
  ['reord', (r) => num(r.reordered ?? null, 0), 5],
  ['gen cpu%', (r) => (r.generator_cpu_pct == null ? '-' : `${r.generator_cpu_pct}${r.generator_bound ? '!' : ''}`), 8],
  ['other', other, 0],
];

function num(v: number | null | undefined, digits: number): string {
  if (v === null || v === undefined) return '-';
  return digits === 0 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);
}

/** What a row that did not measure says: "failed: why" for a row that failed (the
 *  JSON's `"error": true`: a server that did not start, a refused registration, connects
 *  that failed), "skipped: why" for one skipped for a documented reason (backlog on a
 *  peer that stores nothing, a peer not installed); null for a measured row. A failed
 *  row's reason is kept in the JSON's `skipped` as "failed: ..." (older readers); it
 *  read "skipped: failed: ..." here. */
export function rowStatus(r: RunResult): string | null {
  if (r.skipped === undefined) return null;
  return r.error === true ? `failed: ${r.skipped.replace(/^failed: /, '')}` : `skipped: ${r.skipped}`;
}

function other(r: RunResult): string {
  const status = rowStatus(r);
  if (status !== null) return status;
  const parts: string[] = [];
  if (r.mode === 'rate' && r.rate != null) parts.push(`fixed rate ${num(r.rate, 0)} msg/s`);
  if (r.send_lag_p99_ms != null) parts.push(`generator send lag p99 ${r.send_lag_p99_ms} ms`);
  const worst = r.timeline === undefined ? null : worstSliceText(r.timeline);
  if (worst !== null) parts.push(worst);
  if (r.drain_s != null) parts.push(`drained in ${r.drain_s.toFixed(2)} s`);
  if (r.erase_tail_s != null) parts.push(`erased ${r.erase_tail_s.toFixed(2)} s later (incl. erase: ${r.server_cpu_us_per_msg_incl_erase ?? '-'} / ${r.nats_cpu_us_per_msg_incl_erase ?? '-'} µs)`);
  if (r.reconnect_s != null) {
    parts.push(`${num(r.devices ?? null, 0)} devices back in ${r.reconnect_s.toFixed(2)} s`
      + (r.back_p50_s != null ? ` (half by ${r.back_p50_s.toFixed(2)} s, 99% by ${(r.back_p99_s ?? 0).toFixed(2)} s)` : ''));
  }
  if (r.rss_bytes_per_conn != null) parts.push(`${num(r.rss_bytes_per_conn, 0)} B RSS per connection`);
  if (r.retained_bytes_per_conn != null) parts.push(`${num(r.retained_bytes_per_conn, 0)} B heap+external after GC (${num(r.rss_after_gc_bytes_per_conn ?? null, 0)} B RSS after GC)`);
  if (r.server_alloc_bytes_per_msg != null) parts.push(`gateways allocated ${num(r.server_alloc_bytes_per_msg, 0)} B per message`);
  if (r.server_alloc_bytes_per_reconnect != null) parts.push(`gateways allocated ${num(r.server_alloc_bytes_per_reconnect, 0)} B per reconnect`);
  if (r.generator_bound) parts.push('GENERATOR-BOUND');
  if (r.loadavg_1m != null && r.loadavg_1m > 2.5) parts.push(`machine busy (load ${r.loadavg_1m})`);
  if (r.note) parts.push(r.note);
  return parts.join('; ');
}

export function tableHeader(): string {
  return COLS.map(([h, , w]) => h.padEnd(w)).join(' ').trimEnd();
}

export function tableRow(r: RunResult): string {
  return COLS.map(([, f, w]) => {
    const v = f(r);
    return w === 0 ? v : v.length >= w ? v : /^[-\d.,!]+$/.test(v) ? v.padStart(w) : v.padEnd(w);
  }).join(' ').trimEnd();
}

export function table(rows: RunResult[]): string {
  return [tableHeader(), ...rows.map(tableRow)].join('\n');
}

/** `slo`: the latency-bounded capacity (bench/rate-plan.ts), a sibling of `runs` when
 *  there are entries. */
export function toJson(rows: RunResult[], meta: Record<string, unknown>, summary: SummaryRow[] | null = null, comparison: Comparison | null = null, slo: SloEntry[] | null = null): { runs: RunResult[]; summary?: SummaryRow[]; comparison?: Comparison; slo?: SloEntry[]; meta: Record<string, unknown> } {
  return { runs: rows, ...(summary ? { summary } : {}), ...(comparison ? { comparison } : {}), ...(slo && slo.length > 0 ? { slo } : {}), meta };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const COLORS: Record<string, string> = { hushwire: '#2f6fde', 'nats-ws': '#2a9d5b', mosquitto: '#c9762b', socketio: '#8a4fbf', 'uws-relay': '#7a7a7a' };

/** Horizontal bars: one per row, grouped by workload. */
function barChart(title: string, unit: string, items: { label: string; system: string; value: number }[]): string {
  const rowH = 22;
  const left = 230;
  const width = 760;
  const max = Math.max(1e-9, ...items.map((i) => i.value));
  const h = 40 + items.length * rowH;
  const bars = items.map((it, i) => {
    const y = 30 + i * rowH;
    const w = Math.max(1, ((width - left - 90) * it.value) / max);
    return `<text x="${left - 8}" y="${y + 14}" text-anchor="end" font-size="12">${esc(it.label)}</text>`
      + `<rect x="${left}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${COLORS[it.system] ?? '#777'}"/>`
      + `<text x="${left + w + 6}" y="${y + 14}" font-size="12">${esc(fmt(it.value))} ${esc(unit)}</text>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-family="sans-serif">`
    + `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>${bars}</svg>`;
}

/** Stacked horizontal bars: one per row, its parts side by side (server, nats-server,
 *  generator), so a system's whole-machine cost per message is the bar's length. */
function stackedChart(title: string, unit: string, parts: { name: string; fill: string }[], items: { label: string; values: number[] }[]): string {
  const rowH = 22;
  const left = 230;
  const width = 760;
  const max = Math.max(1e-9, ...items.map((i) => i.values.reduce((a, b) => a + b, 0)));
  const legendY = 30;
  const h = 60 + items.length * rowH;
  const legend = parts.map((p, k) => `<rect x="${left + k * 150}" y="${legendY}" width="12" height="12" fill="${p.fill}"/>`
    + `<text x="${left + k * 150 + 16}" y="${legendY + 11}" font-size="12">${esc(p.name)}</text>`).join('');
  const bars = items.map((it, i) => {
    const y = 50 + i * rowH;
    let x = left;
    let out = `<text x="${left - 8}" y="${y + 14}" text-anchor="end" font-size="12">${esc(it.label)}</text>`;
    it.values.forEach((v, k) => {
      const w = ((width - left - 90) * v) / max;
      if (w <= 0) return;
      out += `<rect x="${x.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${parts[k]!.fill}"><title>${esc(`${parts[k]!.name}: ${fmt(v)} ${unit}`)}</title></rect>`;
      x += w;
    });
    const total = it.values.reduce((a, b) => a + b, 0);
    return out + `<text x="${(x + 6).toFixed(1)}" y="${y + 14}" font-size="12">${esc(fmt(total))} ${esc(unit)}</text>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-family="sans-serif">`
    + `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>${legend}${bars}</svg>`;
}

/** The log-scale y axis of the latency charts: whole decades from the one at or below
 *  the smallest of `values` and `loAtMost` (never below 0.001) to the one at or above the
 *  largest (at least one decade), the value-to-y mapping over the plot area, and its grid
 *  lines with their labels. */
function logYAxis(values: readonly number[], loAtMost: number, area: { left: number; right: number; width: number; top: number; plotH: number }): { y: (v: number) => number; grid: string } {
  const { left, right, width, top, plotH } = area;
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.001, Math.min(...values, loAtMost))));
  let hi = 10 ** Math.ceil(Math.log10(Math.max(...values, lo * 10)));
  if (hi <= lo) hi = lo * 10;
  const y = (v: number): number => top + plotH - (plotH * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  let grid = '';
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    const yy = y(d).toFixed(1);
    grid += `<line x1="${left}" x2="${width - right}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`
      + `<text x="${left - 6}" y="${(Number(yy) + 4).toFixed(1)}" text-anchor="end" font-size="11">${esc(d >= 1 ? d.toLocaleString('en-US') : String(Number(d.toPrecision(1))))}</text>`;
  }
  return { y, grid };
}

/** Latency over time: one chart per workload (and round), a line per system: p99
 *  (solid) and max (dashed) per slice, and in rate mode the generator's send-lag p99
 *  (dotted), on a log scale (a stall's max is often 100x the p99 beside it). The
 *  worst slice (highest p99) of each line is marked. */
function timelineChart(title: string, lines: { label: string; system: string; tl: Timeline }[]): string {
  const width = 760;
  const left = 60;
  const right = 20;
  const top = 48;
  const plotH = 180;
  const legendRowH = 16;
  const legendY = top + plotH + 48;
  const h = legendY + lines.length * legendRowH + 8;
  const values = lines.flatMap(({ tl }) => [...tl.p99_ms, ...tl.max_ms, ...(tl.send_lag_p99_ms ?? [])]).filter((v): v is number => v != null && v > 0);
  const { y, grid: yGrid } = logYAxis(values, 1, { left, right, width, top, plotH });
  const spanMs = Math.max(1, ...lines.map(({ tl }) => (tl.t_ms.length === 0 ? 0 : tl.t_ms[tl.t_ms.length - 1]! + tl.slice_ms)));
  const x = (ms: number): number => left + ((width - left - right) * ms) / spanMs;
  let grid = yGrid;
  // x ticks: about 8, at whole multiples of a round number of seconds
  const stepS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300].find((s) => (spanMs / 1000) / s <= 8) ?? 600;
  for (let t = 0; t * 1000 <= spanMs + 1e-6; t += stepS) {
    const xx = x(t * 1000).toFixed(1);
    grid += `<line x1="${xx}" x2="${xx}" y1="${top}" y2="${top + plotH}" stroke="#eee"/>`
      + `<text x="${xx}" y="${top + plotH + 14}" text-anchor="middle" font-size="11">${esc(String(Number(t.toFixed(2))))}</text>`;
  }
  const axes = `<rect x="${left}" y="${top}" width="${width - left - right}" height="${plotH}" fill="none" stroke="#999"/>`
    + `<text x="${(left + width - right) / 2}" y="${top + plotH + 28}" text-anchor="middle" font-size="11">seconds into the measured window (by intended send time)</text>`
    + `<text x="12" y="${top + plotH / 2}" font-size="11" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">ms</text>`;
  /** A path through the slices' centres, broken where a slice has no value. */
  const path = (tl: Timeline, vs: readonly (number | null)[]): string => {
    let d = '';
    let pen = false;
    vs.forEach((v, i) => {
      if (v == null) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${x(tl.t_ms[i]! + tl.slice_ms / 2).toFixed(1)} ${y(v).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  const styles = `<text x="${left}" y="36" font-size="11">— p99   - - max   ··· generator send lag p99 (fixed rate)   ○ worst slice (highest p99)</text>`;
  const drawn = lines.map(({ label, system, tl }, k) => {
    const c = COLORS[system] ?? '#777';
    const w = worstSlice(tl);
    const worst = w === null ? '' : `<circle cx="${x(w.t_ms + tl.slice_ms / 2).toFixed(1)}" cy="${y(w.p99_ms).toFixed(1)}" r="4" fill="none" stroke="${c}"><title>${esc(`${label}: ${worstSliceText(tl) ?? ''}`)}</title></circle>`;
    const ly = legendY + k * legendRowH;
    return `<path d="${path(tl, tl.max_ms)}" fill="none" stroke="${c}" stroke-width="1" stroke-dasharray="4 3" opacity="0.7"><title>${esc(`${label} max`)}</title></path>`
      + (tl.send_lag_p99_ms !== undefined ? `<path d="${path(tl, tl.send_lag_p99_ms)}" fill="none" stroke="${c}" stroke-width="1" stroke-dasharray="1 2"><title>${esc(`${label} send lag p99`)}</title></path>` : '')
      + `<path d="${path(tl, tl.p99_ms)}" fill="none" stroke="${c}" stroke-width="1.5"><title>${esc(`${label} p99`)}</title></path>`
      + worst
      + `<rect x="${left}" y="${ly - 9}" width="12" height="3" fill="${c}"/><text x="${left + 18}" y="${ly}" font-size="11">${esc(label)}${w === null ? '' : esc(`: ${worstSliceText(tl)}`)}</text>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-family="sans-serif">`
    + `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>${styles}${grid}${axes}${drawn}</svg>`;
}

/** The timeline charts of the rows that have one: one per workload (max-rate and
 *  fixed-rate apart) and --repeat round, so a chart holds a line per system. Fixed-rate
 *  rows at different rates (`--rate half`: each system at half its own max) share their
 *  chart, each line naming its rate. */
function timelineCharts(rows: RunResult[]): string {
  const groups = new Map<string, RunResult[]>();
  for (const r of rows) {
    if (r.timeline === undefined || r.timeline.t_ms.length === 0) continue;
    const k = `${r.workload}\u0000${r.mode ?? ''}\u0000${r.round ?? ''}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const f = g[0]!;
    const slices = [...new Set(g.map((r) => r.timeline!.slice_ms))].map((v) => v.toLocaleString('en-US')).join('/');
    const oneRate = new Set(g.map((r) => r.rate ?? null)).size === 1;
    const rateOf = (r: RunResult): string => (r.rate != null ? ` ${num(r.rate, 0)} msg/s` : '');
    const how = f.mode === 'rate' ? `fixed rate${oneRate ? rateOf(f) : ''}` : 'max rate';
    const title = `Latency over time: ${f.workload} (${how}${f.round !== undefined ? `, round ${f.round}` : ''}), per ${slices} ms slice, ms (log scale)`;
    const label = (r: RunResult): string => (f.mode === 'rate' && !oneRate ? `${r.system} at${rateOf(r)}` : r.system);
    return timelineChart(title, g.map((r) => ({ label: label(r), system: r.system, tl: r.timeline! })));
  }).join('\n');
}

/** A round number of msg/s for about `n` ticks up to `max`: 1, 2 or 5 times a power of ten. */
function niceStep(max: number, n: number): number {
  const raw = Math.max(max, 1e-9) / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * p >= raw) ?? 10) * p;
}

/** p99 against offered rate: one chart per workload (and --repeat round), a line per
 *  system through its fixed-rate rows in order of rate (a filled dot where the row was
 *  within the bound's other conditions, a hollow one where it was saturated: lost
 *  messages, or less than 90% delivered), its max-rate run as a diamond at the rate it
 *  reached, and the SLO as a red dashed horizontal line; p99 on a log scale. */
function sloChart(title: string, sloMs: number, lines: { label: string; system: string; points: { rate: number; p99: number; saturated: string | null }[]; max: { rate: number; p99: number | null } | null; entry: SloEntry | undefined }[]): string {
  const width = 760;
  const left = 60;
  const right = 20;
  const top = 48;
  const plotH = 220;
  const legendRowH = 16;
  const legendY = top + plotH + 48;
  const h = legendY + lines.length * legendRowH + 8;
  const values = [sloMs, ...lines.flatMap((l) => [...l.points.map((p) => p.p99), ...(l.max?.p99 != null ? [l.max.p99] : [])])].filter((v) => v > 0);
  const { y, grid: yGrid } = logYAxis(values, Infinity, { left, right, width, top, plotH });
  const xMax = Math.max(1, ...lines.flatMap((l) => [...l.points.map((p) => p.rate), ...(l.max !== null ? [l.max.rate] : [])])) * 1.05;
  const x = (rate: number): number => left + ((width - left - right) * rate) / xMax;
  let grid = yGrid;
  const step = niceStep(xMax, 6);
  for (let v = 0; v <= xMax + 1e-9; v += step) {
    const xx = x(v).toFixed(1);
    grid += `<line x1="${xx}" x2="${xx}" y1="${top}" y2="${top + plotH}" stroke="#eee"/>`
      + `<text x="${xx}" y="${top + plotH + 14}" text-anchor="middle" font-size="11">${esc(Math.round(v).toLocaleString('en-US'))}</text>`;
  }
  const axes = `<rect x="${left}" y="${top}" width="${width - left - right}" height="${plotH}" fill="none" stroke="#999"/>`
    + `<text x="${(left + width - right) / 2}" y="${top + plotH + 28}" text-anchor="middle" font-size="11">offered rate, messages/s</text>`
    + `<text x="12" y="${top + plotH / 2}" font-size="11" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">p99 ms</text>`;
  const sy = y(sloMs).toFixed(1);
  const sloLine = `<line class="slo" x1="${left}" x2="${width - right}" y1="${sy}" y2="${sy}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"><title>${esc(`p99 SLO ${sloMs} ms`)}</title></line>`
    + `<text x="${width - right - 4}" y="${(Number(sy) - 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#d62728">${esc(`p99 SLO ${sloMs} ms`)}</text>`;
  const styles = `<text x="${left}" y="36" font-size="11">— p99 at each fixed rate   ● within the other conditions   ○ saturated (lost, or under 90% delivered)   ◆ max-rate run</text>`;
  const drawn = lines.map((l, k) => {
    const c = COLORS[l.system] ?? '#777';
    const d = l.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.rate).toFixed(1)} ${y(p.p99).toFixed(1)}`).join('');
    const dots = l.points.map((p) => `<circle cx="${x(p.rate).toFixed(1)}" cy="${y(p.p99).toFixed(1)}" r="3.5" fill="${p.saturated === null ? c : 'white'}" stroke="${c}"><title>${esc(`${l.label}: p99 ${fmt(p.p99)} ms at ${Math.round(p.rate).toLocaleString('en-US')} msg/s${p.saturated === null ? '' : ` (saturated: ${p.saturated})`}`)}</title></circle>`).join('');
    const mx = l.max !== null && l.max.p99 != null
      ? (() => {
        const cx = x(l.max.rate);
        const cy = y(l.max.p99);
        return `<path class="max" d="M${cx.toFixed(1)} ${(cy - 5).toFixed(1)}L${(cx + 5).toFixed(1)} ${cy.toFixed(1)}L${cx.toFixed(1)} ${(cy + 5).toFixed(1)}L${(cx - 5).toFixed(1)} ${cy.toFixed(1)}Z" fill="${c}" opacity="0.6"><title>${esc(`${l.label} max rate: ${Math.round(l.max.rate).toLocaleString('en-US')} msg/s, p99 ${fmt(l.max.p99)} ms`)}</title></path>`;
      })()
      : '';
    const e = l.entry;
    const within = e === undefined ? '' : e.max_rate_within_slo === null ? ': no rate within the SLO'
      : `: ${Math.round(e.max_rate_within_slo).toLocaleString('en-US')} msg/s within the SLO${e.fraction_of_max === null ? '' : ` (${Number((e.fraction_of_max * 100).toFixed(1))}% of its max rate)`}`;
    const ly = legendY + k * legendRowH;
    return `<path d="${d}" fill="none" stroke="${c}" stroke-width="1.5"><title>${esc(`${l.label} p99`)}</title></path>${dots}${mx}`
      + `<rect x="${left}" y="${ly - 9}" width="12" height="3" fill="${c}"/><text x="${left + 18}" y="${ly}" font-size="11">${esc(`${l.label}${within}`)}</text>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-family="sans-serif">`
    + `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>${styles}${grid}${axes}${sloLine}${drawn}</svg>`;
}

/** The p99-against-rate charts of the fixed-rate rows: one per workload (without its
 *  rate) and round; with each system's SLO entry in the legend. */
export function sloCharts(rows: readonly RunResult[], sloMs: number, entries: readonly SloEntry[] = sloEntries(rows, sloMs)): string {
  const groups = new Map<string, RunResult[]>();
  for (const r of rows) {
    if (r.skipped !== undefined) continue;
    const k = `${baseWorkload(r.workload)}\u0000${r.round ?? ''}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const charts: string[] = [];
  for (const g of groups.values()) {
    const fixed = g.filter((r) => r.mode === 'rate' && r.rate != null && r.p99_ms != null);
    if (fixed.length === 0) continue;
    const f = fixed[0]!;
    const workload = baseWorkload(f.workload);
    const systems = [...new Set(fixed.map((r) => r.system))];
    const lines = systems.map((system) => {
      const mine = g.filter((r) => r.system === system);
      const max = mine.find((r) => r.mode === 'window' && r.delivered_per_s != null && r.delivered_per_s > 0);
      return {
        label: system,
        system,
        points: mine.filter((r) => r.mode === 'rate' && r.rate != null && r.p99_ms != null).sort((a, b) => a.rate! - b.rate!)
          .map((r) => ({ rate: r.rate!, p99: r.p99_ms!, saturated: saturation(r) })),
        max: max === undefined ? null : { rate: max.delivered_per_s! / deliveriesPerMessage(max.workload), p99: max.p99_ms },
        entry: entries.find((e) => e.system === system && e.workload === workload && e.round === f.round),
      };
    });
    charts.push(sloChart(`p99 against offered rate: ${workload}${f.round !== undefined ? ` (round ${f.round})` : ''}, ms (log scale); SLO ${sloMs} ms`, sloMs, lines));
  }
  return charts.join('\n');
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2);
}

/** A row's name in the charts: workload and system, and its round with --repeat. */
const name = (r: RunResult): string => `${r.workload} · ${r.system}${r.round !== undefined ? ` #${r.round}` : ''}`;

/** `slo`: with the latency-bounded capacity (--rate lists, sweep, --p99-slo), its bound
 *  and entries: a p99-against-rate chart and the summary lines. */
export function htmlReport(rows: RunResult[], meta: Record<string, unknown>, summary: SummaryRow[] | null = null, comparison: Comparison | null = null, slo: { ms: number; entries: SloEntry[] } | null = null): string {
  const ran = rows.filter((r) => !r.skipped);
  const thr = ran.filter((r) => r.delivered_per_s != null && r.mode === 'window' || r.drain_per_s != null)
    .map((r) => ({ label: `${name(r)}`, system: r.system, value: r.delivered_per_s ?? 0 }));
  const lat = ran.filter((r) => r.p99_ms != null).flatMap((r) => [
    { label: `${name(r)} p50`, system: r.system, value: r.p50_ms ?? 0 },
    { label: `${name(r)} p99`, system: r.system, value: r.p99_ms ?? 0 },
    { label: `${name(r)} p99.9`, system: r.system, value: r.p999_ms ?? 0 },
  ]);
  // The generator shares the machine's cores with the servers: a system's throughput
  // depends on its clients' cost too, so the chart shows both (docs/BENCHMARKS.md,
  // "What the throughput ratios include").
  const cpu = ran.filter((r) => r.server_cpu_us_per_msg != null && r.mode === 'window').map((r) => ({
    label: `${name(r)}`,
    values: [r.server_cpu_us_per_msg ?? 0, r.nats_cpu_us_per_msg ?? 0, r.generator_cpu_us_per_msg ?? 0],
  }));
  // The connection-heavy workloads compared across systems too: what a storm costs in
  // time, what an idle connection costs in memory.
  const storm = ran.filter((r) => r.reconnect_s != null).map((r) => ({
    label: `${name(r)} (${(r.devices ?? 0).toLocaleString('en-US')})`, system: r.system, value: r.reconnect_s as number,
  }));
  const idle = ran.flatMap((r) => [
    ...(r.rss_bytes_per_conn != null ? [{ label: `${name(r)} RSS`, system: r.system, value: r.rss_bytes_per_conn }] : []),
    ...(r.retained_bytes_per_conn != null ? [{ label: `${name(r)} heap+ext. after GC`, system: r.system, value: r.retained_bytes_per_conn }] : []),
  ]);
  const charts = [
    thr.length ? barChart('Delivered messages per second (higher is better)', 'msg/s', thr) : '',
    lat.length ? barChart('End-to-end latency (lower is better)', 'ms', lat) : '',
    cpu.length ? stackedChart('CPU per delivered message, whole machine (lower is better)', 'µs',
      [{ name: 'server (gateways)', fill: '#3b5b92' }, { name: 'nats-server', fill: '#8fb0e0' }, { name: 'generator (clients)', fill: '#c8c8c8' }], cpu) : '',
    storm.length ? barChart('Reconnect storm: seconds until every device is back (lower is better)', 's', storm) : '',
    idle.length ? barChart('Idle: server memory per connected device (lower is better)', 'B', idle) : '',
    slo !== null ? sloCharts(ran, slo.ms, slo.entries) : '',
    timelineCharts(ran),
  ].join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Hushwire bench</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}pre{background:#f4f4f4;padding:1em;overflow:auto;font-size:12px}</style></head>
<body><h1>Hushwire bench</h1>
<p>${esc(String(meta['when'] ?? ''))} · ${esc(String(meta['machine'] ?? ''))}</p>
${charts}
${summary ? `<h2>Summary</h2><pre>${esc(summaryTable(summary, Math.max(...rows.map((r) => r.round ?? 1))))}</pre>\n` : ''}${comparison ? `<h2>Compared with the baseline</h2><pre>${esc(compareTable(comparison))}</pre>\n` : ''}${slo !== null && slo.entries.length > 0 ? `<h2>Latency-bounded capacity</h2><pre>${esc(sloText(slo.entries))}</pre>\n` : ''}<h2>Results</h2><pre>${esc(table(rows))}</pre>
<h2>Settings</h2><pre>${esc(JSON.stringify(meta, null, 2))}</pre>
</body></html>
`;
}

export function writeReport(dir: string, rows: RunResult[], meta: Record<string, unknown>, summary: SummaryRow[] | null = null, comparison: Comparison | null = null, slo: { ms: number; entries: SloEntry[] } | null = null): string[] {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'bench.json');
  const html = join(dir, 'bench.html');
  writeFileSync(json, JSON.stringify(toJson(rows, meta, summary, comparison, slo?.entries ?? null), null, 2) + '\n');
  writeFileSync(html, htmlReport(rows, meta, summary, comparison, slo));
  return [json, html];
}
