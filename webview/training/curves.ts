// The training panel's curves: every run's training and validation metric aligned on one step axis for uPlot.
import type { JobView } from '../../src/protocol/trainingPanel';

export type Metric = 'loss' | 'acc';

/** One curve: a run's training metric per step, or its validation metric per epoch. */
export interface CurveSeries {
  run: number;
  label: string;
  validation: boolean;
}

/**
 * uPlot's data for one metric: one x array (the union of every run's steps) and one y array per series,
 * null where a series has no point at that step (drawn with spanGaps). Series without any value are left out.
 */
export function alignCurves(job: JobView, metric: Metric): { series: CurveSeries[]; data: (number | null)[][] } {
  const raw: { s: CurveSeries; points: Map<number, number> }[] = [];
  job.runs.forEach((r, i) => {
    const train = new Map<number, number>();
    r.steps.forEach((step, k) => {
      const v = metric === 'loss' ? r.loss[k] : r.acc[k];
      if (v !== null && v !== undefined && Number.isFinite(v)) train.set(step, v);
    });
    raw.push({ s: { run: i, label: r.name, validation: false }, points: train });
    const val = new Map<number, number>();
    for (const e of r.epochs) {
      const v = metric === 'loss' ? e.valLoss : e.valAcc;
      if (v !== null && Number.isFinite(v)) val.set(e.step, v);
    }
    raw.push({ s: { run: i, label: `${r.name} (validation)`, validation: true }, points: val });
  });
  const kept = raw.filter((x) => x.points.size > 0);
  const xs = [...new Set(kept.flatMap((x) => [...x.points.keys()]))].sort((a, b) => a - b);
  return { series: kept.map((x) => x.s), data: [xs, ...kept.map((x) => xs.map((step) => x.points.get(step) ?? null))] };
}

/** A run of a multi-seed comparison is named '<plan> · seed <n>' (trainingSession). */
const SEED_RUN = /^(.*) · seed (-?\d+)$/;

/** The plans of a job run under several seeds, in order, each with its runs' indexes; null when the job is not one. */
export function seedGroups(job: JobView): { plan: string; runs: number[] }[] | null {
  const groups: { plan: string; runs: number[] }[] = [];
  for (const [i, r] of job.runs.entries()) {
    const m = SEED_RUN.exec(r.name);
    if (!m) return null;
    let g = groups.find((x) => x.plan === m[1]);
    if (!g) groups.push((g = { plan: m[1]!, runs: [] }));
    g.runs.push(i);
  }
  return groups.length && groups.some((g) => g.runs.length > 1) ? groups : null;
}

/** One series of the seed view: a plan's mean, or the lower / upper edge of its ± 1 std band. */
export interface BandSeries extends CurveSeries {
  edge?: 'lo' | 'hi';
}

/**
 * The curves of a multi-seed comparison: per plan and per epoch (x is the epoch number, as in report.md's figures:
 * the epoch ends are what every seed shares), the mean over the seeds of the epoch's training figure and of its
 * validation figure, each with a mean ± 1 sample std band; `bands` pairs the series indexes (hi, lo) for uPlot,
 * counted with the x series as 0. A point needs every seed.
 */
export function seedBandCurves(job: JobView, metric: Metric): { series: BandSeries[]; data: (number | null)[][]; bands: [number, number][] } | null {
  const groups = seedGroups(job);
  if (!groups) return null;
  const series: BandSeries[] = [];
  const columns: Map<number, number>[] = [];
  const bands: [number, number][] = [];
  groups.forEach((g, gi) => {
    for (const validation of [false, true]) {
      const at = new Map<number, number[]>();
      for (const i of g.runs) {
        for (const e of job.runs[i]!.epochs) {
          const v = metric === 'loss' ? (validation ? e.valLoss : e.loss) : validation ? e.valAcc : e.acc;
          if (v === null || !Number.isFinite(v)) continue;
          const list = at.get(e.epoch) ?? [];
          list.push(v);
          at.set(e.epoch, list);
        }
      }
      const mean = new Map<number, number>();
      const lo = new Map<number, number>();
      const hi = new Map<number, number>();
      for (const [epoch, vs] of at) {
        if (vs.length !== g.runs.length) continue;
        const m = vs.reduce((a, b) => a + b, 0) / vs.length;
        const sd = vs.length > 1 ? Math.sqrt(vs.reduce((a, b) => a + (b - m) ** 2, 0) / (vs.length - 1)) : 0;
        mean.set(epoch, m);
        lo.set(epoch, m - sd);
        hi.set(epoch, m + sd);
      }
      if (mean.size === 0) continue;
      const label = `${g.plan}${validation ? ' (validation)' : ''}, mean of ${g.runs.length} seeds`;
      series.push({ run: gi, label, validation }, { run: gi, label: `${label} + std`, validation, edge: 'hi' }, { run: gi, label: `${label} − std`, validation, edge: 'lo' });
      columns.push(mean, hi, lo);
      bands.push([series.length - 1, series.length]); // with x first: hi is length − 1, lo is length
    }
  });
  const xs = [...new Set(columns.flatMap((c) => [...c.keys()]))].sort((a, b) => a - b);
  return { series, data: [xs, ...columns.map((c) => xs.map((x) => c.get(x) ?? null))], bands };
}
