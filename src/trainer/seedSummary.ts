// `laurel compare --seeds`: one comparison per seed, then per plan mean ± std and per variant the paired
// difference to the first plan (the baseline) with a 95% CI. Pure (no tfjs), so the CLI bundle can import it.
import { mdCode, mdEscape, mdTable } from '../report/markdown';
import { renderTable } from '../report/table';
import type { Table } from '../report/table';
import type { ComparisonRecord, ComparisonRow } from '../protocol/runRecords';
import { comparisonParts, macsText } from './comparisonTable';
import { optimizerText } from './optimizerOptions';
import { mean, pairedT, std, verdict } from './seedStats';

interface Metric {
  of: (r: ComparisonRow) => number | null | undefined;
  what: string;
  scale: number;
  unit: string;
}

const ACC = { scale: 100, unit: ' pts' };
const LOSS = { scale: 1, unit: '' };
/**
 * The metric compared, the first every run has: the held-out test accuracy (of each run's best-validation
 * checkpoint), test loss, final validation accuracy, final validation loss.
 */
const METRICS: Metric[] = [
  { of: (r) => r.test?.acc, what: 'test accuracy', ...ACC },
  { of: (r) => r.test?.loss, what: 'test loss', ...LOSS },
  { of: (r) => r.final.valAcc, what: 'val accuracy', ...ACC },
  { of: (r) => r.final.valLoss, what: 'val loss', ...LOSS },
];
function metricOf(records: readonly ComparisonRecord[]): Metric {
  return METRICS.find((m) => records.every((c) => c.rows.every((r) => typeof m.of(r) === 'number'))) ?? METRICS[METRICS.length - 1]!;
}
const DIGITS = 4;

export interface SeedSummary {
  table: string;
  /** The same table's cells (report.md renders them as Markdown). */
  parts: Table;
  verdicts: string[];
  /** What the statistics compare ('test accuracy', 'val accuracy', ...). */
  metric: string;
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
  const column = (of: Metric['of']): number[][] => names.map((_, i) => records.map((c) => of(c.rows[i]!) ?? NaN));
  const values = column(m.of);
  // Beside the compared metric: the best validation accuracy over the epochs, and the test loss when accuracy is compared.
  const extra = [
    ...(m.what !== 'val accuracy' && records.every((c) => c.rows.every((r) => typeof r.best.valAcc === 'number')) ? [{ label: 'best val acc', values: column((r) => r.best.valAcc) }] : []),
    ...(m.what === 'test accuracy' ? [{ label: 'test loss', values: column((r) => r.test?.loss) }] : []),
  ];
  const f = (v: number): string => v.toFixed(DIGITS);
  const ms = (v: number[]): string => `${f(mean(v))} ± ${f(std(v))}`;
  const header = ['plan', 'params', 'MACs/ex', ...extra.map((e) => `${e.label} mean ± std`), `${m.what} mean ± std`, ...seeds.map((s) => `seed ${s}`), `Δ vs ${names[0]} (95% CI)`];
  const rows = names.map((name, i) => {
    const v = values[i]!;
    const first = records[0]!.rows[i]!;
    const row = [name, first.params.toLocaleString('en-US'), macsText(first.addedMacs), ...extra.map((e) => ms(e.values[i]!)), ms(v), ...v.map(f)];
    if (i === 0) return [...row, '-'];
    const t = pairedT(v, values[0]!);
    const d = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(DIGITS)}`;
    return [...row, t.ci95 ? `${d(t.meanDiff)} [${d(t.ci95[0])}, ${d(t.ci95[1])}]` : d(t.meanDiff)];
  });
  const verdicts = names.slice(1).map((name, j) => verdict(name, names[0]!, m.what, pairedT(values[j + 1]!, values[0]!), m.scale, m.unit));
  const parts = { header, rows, right: new Set(rows[0]!.map((_, i) => i).filter((i) => i > 0)) };
  return { table: renderTable(header, rows, parts.right), parts, verdicts, metric: m.what };
}

/** A figure of the report: its file name beside report.md (a relative link) and its alternative text. */
export interface ReportImage {
  file: string;
  alt: string;
}

/** A relative link to a file beside the report: percent-encoded, so no name can end the link or start markup. */
const linkTo = (file: string): string => encodeURIComponent(file).replace(/[()!*']/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * The experiment report (Markdown): setup, the summary and the verdicts, the curves (`images`, written beside it)
 * and the per-seed tables. Names from the model file and paths are code spans, tables GitHub Markdown with every
 * cell escaped (markdown.ts).
 */
export function seedReport(records: readonly ComparisonRecord[], images: readonly ReportImage[] = []): string {
  const first = records[0]!;
  const s = seedSummary(records);
  const c = first.config;
  const d = first.dataset;
  return [
    `# LAuReL comparison: ${mdCode(first.model.name)} (${mdCode(first.model.file)})`,
    '',
    `Data ${mdCode(d.name)}: ${d.trainSamples} train / ${d.valSamples} val` +
      `${d.testSamples ? ` / ${d.testSamples} test (${mdCode(d.testName ?? 'test')}; held out, the same for every seed and plan; each run's best-validation epoch tested once)` : ''}. ` +
      `${c.epochs} epoch(s), batch ${c.batchSize}, ${optimizerText(c)}` +
      `${first.engine ? `, engine ${first.engine.name}` : ''}; seeds ${records.map((r) => r.seed).join(', ')} (each plan trained under every seed: same initial weights of shared layers and data order within a seed).`,
    '',
    '## Summary over seeds',
    '',
    mdTable(s.parts),
    '',
    ...s.verdicts.map((v) => `- ${mdEscape(v)}`),
    '',
    `Compared: ${s.metric}. Confidence intervals: paired t over seeds (the difference variant − baseline per seed), two-sided 95%. MACs/ex: multiply-adds per example the plan's LAuReL layers add.`,
    '',
    ...(images.length ? ['## Curves', '', ...images.flatMap((im) => [`![${im.alt}](${linkTo(im.file)})`, '']) ] : []),
    ...records.flatMap((r) => {
      const { table, notes } = comparisonParts(r);
      return [`## Seed ${r.seed}`, '', mdTable(table), '', ...notes.map((n) => `- ${mdEscape(n)}`), ''];
    }),
  ].join('\n');
}
