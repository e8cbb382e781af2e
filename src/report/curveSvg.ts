// The report's curves as a standalone SVG (no library, no script, no external reference): panels side by side,
// each with one mean path per plan and its ± 1 std band, epochs on x. Every text is escaped (xmlText).
import { xmlText } from './markdown';

/** A plan's curve: the mean over seeds at each epoch and the sample std; `banded` false: one seed, no band. */
export interface BandCurve {
  label: string;
  banded: boolean;
  points: { x: number; mean: number; sd: number }[];
}

export interface CurvePanel {
  title: string;
  curves: BandCurve[];
}

/** Print-friendly colours (matplotlib's tab10), one per plan, the same in every panel. */
export const PLAN_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const PANEL_W = 360;
const PANEL_H = 240;
const M = { left: 58, right: 14, top: 30, bottom: 40 };
const LEGEND_ROW = 18;

/** 'Nice' tick values (1, 2, 5 × 10^k) covering [lo, hi], about `n` of them. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((f) => f * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const num = (v: number): string => (Math.round(v * 100) / 100).toString();
const tickText = (v: number, step: number): string => v.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));

function panelSvg(p: CurvePanel, ox: number, epochs: number): string {
  const w = PANEL_W - M.left - M.right;
  const h = PANEL_H - M.top - M.bottom;
  const pts = p.curves.flatMap((c) => c.points);
  const out: string[] = [`<g class="panel" transform="translate(${ox},0)">`, `<text x="${M.left + w / 2}" y="18" text-anchor="middle" font-weight="bold">${xmlText(p.title)}</text>`];
  if (pts.length === 0) {
    out.push(`<text x="${M.left + w / 2}" y="${M.top + h / 2}" text-anchor="middle" fill="#666">no values</text>`, '</g>');
    return out.join('\n');
  }
  let lo = Math.min(...pts.map((q) => q.mean - q.sd));
  let hi = Math.max(...pts.map((q) => q.mean + q.sd));
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5 * (Math.abs(lo) || 1) * 0.02, hi + 0.5 * (Math.abs(hi) || 1) * 0.02];
  const pad = (hi - lo) * 0.06;
  const yt = niceTicks(lo - pad, hi + pad);
  const [y0, y1] = [Math.min(lo - pad, yt[0]!), Math.max(hi + pad, yt.at(-1)!)];
  const [x0, x1] = epochs > 1 ? [1, epochs] : [0.5, 1.5];
  const X = (x: number): number => M.left + ((x - x0) / (x1 - x0)) * w;
  const Y = (y: number): number => M.top + h - ((y - y0) / (y1 - y0)) * h;
  const step = yt.length > 1 ? yt[1]! - yt[0]! : 1;
  out.push(`<rect x="${M.left}" y="${M.top}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  for (const v of yt) {
    if (v < y0 || v > y1) continue;
    out.push(`<line x1="${M.left}" x2="${M.left + w}" y1="${num(Y(v))}" y2="${num(Y(v))}" stroke="#e4e4e4"/>`, `<text x="${M.left - 6}" y="${num(Y(v) + 4)}" text-anchor="end">${tickText(v, step)}</text>`);
  }
  const xt = niceTicks(x0, x1, Math.min(8, Math.max(1, epochs - 1))).filter((v) => Number.isInteger(v) && v >= 1 && v <= epochs);
  for (const v of xt) out.push(`<text x="${num(X(v))}" y="${M.top + h + 16}" text-anchor="middle">${v}</text>`);
  out.push(`<text x="${M.left + w / 2}" y="${M.top + h + 34}" text-anchor="middle">epoch</text>`);
  p.curves.forEach((c, i) => {
    const colour = PLAN_COLOURS[i % PLAN_COLOURS.length]!;
    const q = c.points;
    if (q.length === 0) return;
    if (c.banded) {
      // The band: mean + sd forwards, mean − sd backwards; one epoch: a short bar as wide as a marker.
      const d =
        q.length === 1
          ? `M${num(X(q[0]!.x) - 5)},${num(Y(q[0]!.mean + q[0]!.sd))}H${num(X(q[0]!.x) + 5)}V${num(Y(q[0]!.mean - q[0]!.sd))}H${num(X(q[0]!.x) - 5)}Z`
          : `M${[...q.map((e) => `${num(X(e.x))},${num(Y(e.mean + e.sd))}`), ...[...q].reverse().map((e) => `${num(X(e.x))},${num(Y(e.mean - e.sd))}`)].join('L')}Z`;
      out.push(`<path class="band" data-plan="${i}" d="${d}" fill="${colour}" fill-opacity="0.2" stroke="none"/>`);
    }
    out.push(`<path class="mean" data-plan="${i}" d="M${q.map((e) => `${num(X(e.x))},${num(Y(e.mean))}`).join('L')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const e of q) out.push(`<circle cx="${num(X(e.x))}" cy="${num(Y(e.mean))}" r="3" fill="${colour}"/>`);
  });
  out.push('</g>');
  return out.join('\n');
}

/**
 * One figure: a title, the panels side by side (e.g. training and validation), and a legend of the plans (the
 * curves of every panel come in the same plan order). `epochs` sets the x axis (1..epochs).
 */
export function curvesSvg(title: string, panels: readonly CurvePanel[], plans: readonly string[], epochs: number, note: string): string {
  const width = PANEL_W * Math.max(1, panels.length);
  const legendTop = PANEL_H + 6;
  // The note wrapped at the figure's width (11px sans-serif: about 6 px a character).
  const perLine = Math.floor((width - M.left - 8) / 6);
  const noteLines = note.split(' ').reduce<string[]>((lines, word) => {
    const last = lines.at(-1);
    if (last !== undefined && (last + ' ' + word).length <= perLine) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
    return lines;
  }, []);
  const height = legendTop + LEGEND_ROW * plans.length + 10 + 14 * noteLines.length;
  const legend = plans.map((name, i) => {
    const y = legendTop + LEGEND_ROW * i + 10;
    const colour = PLAN_COLOURS[i % PLAN_COLOURS.length]!;
    return `<rect x="${M.left}" y="${y - 6}" width="22" height="10" fill="${colour}" fill-opacity="0.2"/><line x1="${M.left}" x2="${M.left + 22}" y1="${y - 1}" y2="${y - 1}" stroke="${colour}" stroke-width="2"/><text x="${M.left + 30}" y="${y + 3}">${xmlText(name)}</text>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${xmlText(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...panels.map((p, i) => panelSvg(p, i * PANEL_W, epochs)),
    ...legend,
    ...noteLines.map((line, i) => `<text x="${M.left}" y="${legendTop + LEGEND_ROW * plans.length + 14 * (i + 1)}" fill="#555">${xmlText(line)}</text>`),
    '</svg>',
    '',
  ].join('\n');
}
