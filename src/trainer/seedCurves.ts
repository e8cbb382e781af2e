// The report's curve figures from one comparison per seed: per plan the mean over the seeds of each epoch's
// training and validation figure, with a ± 1 sample std band (as the panel draws them), as SVG. Pure.
import { curvesSvg } from '../report/curveSvg';
import type { BandCurve, CurvePanel } from '../report/curveSvg';
import type { ComparisonRecord, EpochMetrics } from '../protocol/runRecords';
import { mean, std } from './seedStats';

export type CurveMetric = 'loss' | 'accuracy';

const FIELDS: Record<CurveMetric, { train: keyof EpochMetrics; val: keyof EpochMetrics }> = {
  loss: { train: 'loss', val: 'valLoss' },
  accuracy: { train: 'acc', val: 'valAcc' },
};

/** Plan `i`'s curve of one epoch field: a point where every seed's run has a finite value at that epoch. */
function planCurve(records: readonly ComparisonRecord[], i: number, field: keyof EpochMetrics, epochs: number): BandCurve {
  const points: BandCurve['points'] = [];
  for (let e = 1; e <= epochs; e++) {
    const vs = records.map((c) => c.runs[i]?.epochs.find((m) => m.epoch === e)?.[field]);
    if (!vs.every((v): v is number => typeof v === 'number' && Number.isFinite(v))) continue;
    points.push({ x: e, mean: mean(vs), sd: vs.length > 1 ? std(vs) : 0 });
  }
  return { label: records[0]!.rows[i]!.name, banded: records.length > 1, points };
}

/** The panels (training, validation) of one metric; null when no plan has a value of it. */
export function seedCurvePanels(records: readonly ComparisonRecord[], metric: CurveMetric): CurvePanel[] | null {
  const epochs = Math.max(...records.flatMap((c) => c.runs.map((r) => r.epochs.length)), 0);
  const plans = records[0]!.rows.length;
  const panels = (['train', 'val'] as const).map((which) => ({
    title: `${which === 'train' ? 'training' : 'validation'} ${metric}`,
    curves: Array.from({ length: plans }, (_, i) => planCurve(records, i, FIELDS[metric][which], epochs)),
  }));
  const kept = panels.filter((p) => p.curves.some((c) => c.points.length > 0));
  return kept.length ? kept : null;
}

/** The SVG figure of one metric over the seeds' comparisons; null when no run has a value of it. */
export function seedCurvesSvg(records: readonly ComparisonRecord[], metric: CurveMetric): string | null {
  const panels = seedCurvePanels(records, metric);
  if (!panels) return null;
  const first = records[0]!;
  const epochs = Math.max(1, ...records.flatMap((c) => c.runs.map((r) => r.epochs.length)));
  const seeds = records.map((c) => c.seed);
  const note =
    seeds.length > 1
      ? `Mean over seeds ${seeds.join(', ')} at each epoch end; band: ± 1 sample std over the seeds.`
      : `Seed ${seeds[0]}: one run per plan, no band.`;
  return curvesSvg(`${first.model.name}: ${metric}`, panels, first.rows.map((r) => r.name), epochs, note);
}
