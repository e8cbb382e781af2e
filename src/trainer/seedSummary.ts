// `laurel compare --seeds`: one comparison per seed, then per plan mean ± std and per variant the paired
// difference to the first plan (the baseline) with a 95% CI. Pure (no tfjs), so the CLI bundle can import it.
import { renderTable } from '../report/table';
import type { ComparisonRecord } from '../protocol/runRecords';
import { mean, pairedT, std, verdict } from './seedStats';

/** The metric compared: final validation accuracy for a classifier, else final validation loss. */
function metricOf(records: readonly ComparisonRecord[]): { key: 'valAcc' | 'valLoss'; what: string; scale: number; unit: string; digits: number } {
  const acc = records.every((c) => c.rows.every((r) => typeof r.final.valAcc === 'number'));
  return acc ? { key: 'valAcc', what: 'val accuracy', scale: 100, unit: ' pts', digits: 4 } : { key: 'valLoss', what: 'val loss', scale: 1, unit: '', digits: 4 };
}

export interface SeedSummary {
  table: string;
  verdicts: string[];
}

/** Summarises one comparison per seed (all with the same plans, in the same order). */
export function seedSummary(records: readonly ComparisonRecord[]): SeedSummary {
  if (records.length === 0) throw new Error('seedSummary: no comparisons');
  const names = records[0]!.rows.map((r) => r.name);
  for (const c of records) {
    if (c.rows.map((r) => r.name).join('\n') !== names.join('\n')) throw new Error(`seed ${c.seed}: its plans differ from seed ${records[0]!.seed}'s`);
  }
  const m = metricOf(records);
  const seeds = records.map((c) => c.seed);
  const values = names.map((_, i) => records.map((c) => c.rows[i]!.final[m.key] ?? NaN));
  const f = (v: number): string => v.toFixed(m.digits);
  const header = ['plan', 'params', `${m.what} mean ± std`, ...seeds.map((s) => `seed ${s}`), `Δ vs ${names[0]} (95% CI)`];
  const rows = names.map((name, i) => {
    const v = values[i]!;
    const row = [name, records[0]!.rows[i]!.params.toLocaleString('en-US'), `${f(mean(v))} ± ${f(std(v))}`, ...v.map(f)];
    if (i === 0) return [...row, '-'];
    const t = pairedT(v, values[0]!);
    const d = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(m.digits)}`;
    return [...row, t.ci95 ? `${d(t.meanDiff)} [${d(t.ci95[0])}, ${d(t.ci95[1])}]` : d(t.meanDiff)];
  });
  const verdicts = names.slice(1).map((name, j) => verdict(name, names[0]!, m.what, pairedT(values[j + 1]!, values[0]!), m.scale, m.unit));
  return { table: renderTable(header, rows, new Set(rows[0]!.map((_, i) => i).filter((i) => i > 0))), verdicts };
}

/** The experiment report (Markdown): setup, the per-seed tables, the summary and the verdicts. */
export function seedReport(records: readonly ComparisonRecord[], perSeedTables: readonly string[]): string {
  const first = records[0]!;
  const s = seedSummary(records);
  const c = first.config;
  return [
    `# LAuReL comparison: ${first.model.name} (${first.model.file})`,
    '',
    `Data ${first.dataset.name}: ${first.dataset.trainSamples} train / ${first.dataset.valSamples} val. ${c.epochs} epoch(s), batch ${c.batchSize}, ${c.optimizer} lr ${c.learningRate}` +
      `${first.engine ? `, engine ${first.engine.name}` : ''}; seeds ${records.map((r) => r.seed).join(', ')} (each plan trained under every seed: same initial weights of shared layers and data order within a seed).`,
    '',
    '## Summary over seeds',
    '',
    '```',
    s.table,
    '```',
    '',
    ...s.verdicts.map((v) => `- ${v}`),
    '',
    'Confidence intervals: paired t over seeds (the difference variant − baseline per seed), two-sided 95%.',
    '',
    ...records.flatMap((r, i) => [`## Seed ${r.seed}`, '', '```', perSeedTables[i] ?? '', '```', '']),
  ].join('\n');
}
