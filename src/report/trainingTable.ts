// The training panel's comparison table: one row per run with its figures and its ratios to the first run,
// as text cells. Shared by the panel's webview and the host.
import type { JobView, RunState, RunSummaryView } from '../protocol/trainingPanel';
import { percent as percentText, thousands } from './figures';
import { compact } from './table';

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a !== null && a !== undefined && b !== null && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : null;

export interface TableRow {
  run: string;
  state: RunState;
  params: number | null;
  added: number | null;
  addedPercent: number | null;
  finalLoss: number | null;
  bestLoss: number | null;
  finalAcc: number | null;
  bestAcc: number | null;
  valLoss: number | null;
  valAcc: number | null;
  bestValAcc: number | null;
  testLoss: number | null;
  testAcc: number | null;
  addedMacs: number | null;
  stepMs: number | null;
  samplesPerSec: number | null;
  peakBytes: number | null;
  /** To the first run of the job (the baseline); null where a figure is missing, and for the baseline itself. */
  ratios: { params: number | null; stepMs: number | null; samplesPerSec: number | null; peakBytes: number | null; finalLoss: number | null };
}

/**
 * One row per run of the job, finished or not (unfinished runs have null figures). Ratios are to the first
 * run, as the trainer's comparison computes them; the baseline row has none (1 by definition).
 */
export function tableRows(job: JobView): TableRow[] {
  const base = job.runs[0]?.summary;
  return job.runs.map((r, i) => {
    const s = r.summary;
    const rel = (f: (x: RunSummaryView) => number | null): number | null => (i === 0 || !s || !base ? null : ratio(f(s), f(base)));
    return {
      run: r.name,
      state: r.state,
      params: s?.params ?? null,
      added: s?.added ?? null,
      addedPercent: s?.addedPercent ?? null,
      finalLoss: s?.final.loss ?? null,
      bestLoss: s?.best.loss ?? null,
      finalAcc: s?.final.acc ?? null,
      bestAcc: s?.best.acc ?? null,
      valLoss: s?.final.valLoss ?? null,
      valAcc: s?.final.valAcc ?? null,
      bestValAcc: s?.best.valAcc ?? null,
      testLoss: s?.test?.loss ?? null,
      testAcc: s?.test?.acc ?? null,
      addedMacs: s?.addedMacs ?? null,
      stepMs: s?.stepMs ?? null,
      samplesPerSec: s?.samplesPerSec ?? null,
      peakBytes: s?.peakBytes ?? null,
      ratios: {
        params: rel((x) => x.params),
        stepMs: rel((x) => x.stepMs),
        samplesPerSec: rel((x) => x.samplesPerSec),
        peakBytes: rel((x) => x.peakBytes),
        finalLoss: rel((x) => x.final.loss),
      },
    };
  });
}

export const fmtNumber = (v: number | null, digits: number): string => (v === null ? '–' : Number.isFinite(v) ? v.toFixed(digits) : String(v));
export const fmtCount = (v: number | null): string => (v === null ? '–' : v.toLocaleString('en-US'));
export const fmtRatio = (v: number | null): string => (v === null ? '–' : `${v.toFixed(2)}×`);
export const fmtMiB = (bytes: number | null): string => (bytes === null ? '–' : `${(bytes / 2 ** 20).toFixed(1)} MiB`);
/** The data line's sample split: '1,600 train / 400 validation samples'. */
export const samplesText = (s: { train: number; val: number }): string => `${thousands(s.train)} train / ${thousands(s.val)} validation samples`;

export const fmtAdded = (added: number | null, percent: number | null): string =>
  added === null ? '–' : added === 0 ? '0' : `${added > 0 ? '+' : ''}${thousands(added)} (${percentText(percent)})`;

/** The table as the webview shows it: header and text cells. A single run has no ratio columns (no baseline). */
export function tableText(job: JobView): { header: string[]; rows: string[][] } {
  const full = tableTextAll(job);
  // A single run has no baseline; columns no run has a figure for (test without a test set) are left out.
  const rows = tableRows(job);
  const empty = new Set(['val loss', 'val acc', 'best val acc', 'test loss', 'test acc'].filter((_, k) => rows.every((r) => [r.valLoss, r.valAcc, r.bestValAcc, r.testLoss, r.testAcc][k] === null)));
  const keep = (h: string): boolean => !empty.has(h) && (job.runs.length > 1 || !h.includes('×'));
  const idx = full.header.map((h, i) => (keep(h) ? i : -1)).filter((i) => i >= 0);
  return { header: idx.map((i) => full.header[i]!), rows: full.rows.map((r) => idx.map((i) => r[i]!)) };
}

/** Added multiply-adds per example as the terminal table writes them ('+1.2M'). */
const fmtMacs = (m: number | null): string => (m === null ? '–' : m === 0 ? '0' : `+${compact(m)}`);

function tableTextAll(job: JobView): { header: string[]; rows: string[][] } {
  const header = ['run', 'params', 'added', 'final loss', 'best loss', 'final acc', 'best acc', 'val loss', 'val acc', 'best val acc', 'test loss', 'test acc', 'MACs/ex', 'ms/step', 'samples/s', 'peak memory', 'params ×', 'step ×', 'samples/s ×', 'memory ×', 'loss ×', 'status'];
  const rows = tableRows(job).map((r) => [
    r.run,
    fmtCount(r.params),
    fmtAdded(r.added, r.addedPercent),
    fmtNumber(r.finalLoss, 4),
    fmtNumber(r.bestLoss, 4),
    fmtNumber(r.finalAcc, 3),
    fmtNumber(r.bestAcc, 3),
    fmtNumber(r.valLoss, 4),
    fmtNumber(r.valAcc, 4),
    fmtNumber(r.bestValAcc, 4),
    fmtNumber(r.testLoss, 4),
    fmtNumber(r.testAcc, 4),
    fmtMacs(r.addedMacs),
    fmtNumber(r.stepMs, 1),
    fmtNumber(r.samplesPerSec, 1),
    fmtMiB(r.peakBytes),
    fmtRatio(r.ratios.params),
    fmtRatio(r.ratios.stepMs),
    fmtRatio(r.ratios.samplesPerSec),
    fmtRatio(r.ratios.peakBytes),
    fmtRatio(r.ratios.finalLoss),
    r.state,
  ]);
  return { header, rows };
}
