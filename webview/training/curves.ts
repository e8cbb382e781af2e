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
