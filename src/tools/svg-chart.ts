// SVG charts written by hand (no dependency): one panel per timeline.
import { maxOf } from './stats.js';
import type { TimelineData } from './timeline.js';

/** One panel: a title and the timeline it draws. */
export interface ChartPanel {
  title: string;
  timeline: TimelineData;
}

const W = 920;
const PANEL_H = 170;
const M = { left: 64, right: 64, top: 26, bottom: 30 };

const esc = (s: unknown): string => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((k) => k * p).find((n) => n >= v)!;
}

function panel({ title, timeline }: ChartPanel, y0: number, seconds: number): string {
  const { bucketMs, ok, failed, marks } = timeline;
  const perSecond = 1000 / bucketMs;
  const plotW = W - M.left - M.right;
  const plotH = PANEL_H - M.top - M.bottom;
  const top = y0 + M.top;
  const bottom = top + plotH;
  const x = (ms: number): number => M.left + (ms / (seconds * 1000)) * plotW;
  const rpsMax = niceMax(maxOf([...ok, 0]) * perSecond);
  const failMax = Math.max(4, niceMax(maxOf([...failed, 0])));
  const yRps = (v: number): number => bottom - (v / rpsMax) * plotH;
  const yFail = (v: number): number => bottom - (v / failMax) * plotH;
  const out: string[] = [];
  out.push(`<text x="${M.left}" y="${y0 + 16}" class="title">${esc(title)}</text>`);
  // grid and axes
  for (let i = 0; i <= 4; i++) {
    const yy = bottom - (i / 4) * plotH;
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${yy}" y2="${yy}" class="grid"/>`);
    out.push(`<text x="${M.left - 6}" y="${yy + 4}" class="axis" text-anchor="end">${Math.round((rpsMax * i) / 4).toLocaleString('en-US')}</text>`);
    out.push(`<text x="${W - M.right + 6}" y="${yy + 4}" class="axis fail">${+((failMax * i) / 4).toFixed(1)}</text>`);
  }
  const step = seconds > 40 ? 10 : seconds > 16 ? 5 : seconds > 6 ? 2 : 1;
  for (let s = 0; s <= seconds; s += step) {
    out.push(`<text x="${x(s * 1000)}" y="${bottom + 16}" class="axis" text-anchor="middle">${s}s</text>`);
  }
  out.push(`<rect x="${M.left}" y="${top}" width="${plotW}" height="${plotH}" class="frame"/>`);
  // failures: bars, at least 2 px tall so a single failure shows
  const barW = Math.max(1, (bucketMs / (seconds * 1000)) * plotW);
  failed.forEach((n, i) => {
    if (n === 0) return;
    const h = Math.max(2, bottom - yFail(n));
    out.push(`<rect x="${x(i * bucketMs).toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" class="bar"/>`);
  });
  // answers per second
  const points = ok.map((n, i) => `${x((i + 0.5) * bucketMs).toFixed(1)},${yRps(n * perSecond).toFixed(1)}`).join(' ');
  if (ok.length > 0) out.push(`<polyline points="${points}" class="ok"/>`);
  for (const m of marks) {
    const xx = x(m.t).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${top}" y2="${bottom}" class="mark"/>`);
    if (m.label) out.push(`<text x="${+xx + 3}" y="${top + 10}" class="mark-label">${esc(m.label)}</text>`);
  }
  return out.join('\n');
}

/**
 * An SVG of one panel per timeline: answers per second as a line, failed requests per
 * 100 ms as red bars on their own axis, marked moments as dashed lines. `note` is one
 * line under the title (units, load).
 */
export function chart(title: string, panels: readonly ChartPanel[], note = 'blue: answers per second (left axis) · red: failed requests per 100 ms (right axis) · dashed: saves / round starts'): string {
  const seconds = Math.max(1, Math.ceil(maxOf([...panels.map((p) => (p.timeline.ok.length * p.timeline.bucketMs) / 1000), 1])));
  const head = 48;
  const height = head + panels.length * PANEL_H + 8;
  const body = panels.map((p, i) => panel(p, head + i * PANEL_H, seconds)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="system-ui, sans-serif">
<style>
.title { font-size: 13px; font-weight: 600; fill: #222; }
.h1 { font-size: 15px; font-weight: 700; fill: #111; }
.note { font-size: 11px; fill: #555; }
.axis { font-size: 10px; fill: #555; }
.axis.fail { fill: #c0392b; }
.grid { stroke: #eee; stroke-width: 1; }
.frame { fill: none; stroke: #bbb; stroke-width: 1; }
.ok { fill: none; stroke: #2471a3; stroke-width: 1.4; }
.bar { fill: #c0392b; opacity: 0.85; }
.mark { stroke: #e67e22; stroke-width: 1.2; stroke-dasharray: 4 3; }
.mark-label { font-size: 9px; fill: #e67e22; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${M.left}" y="20" class="h1">${esc(title)}</text>
<text x="${M.left}" y="38" class="note">${esc(note)}</text>
${body}
</svg>
`;
}
