// The comparison as a plain-text table. Pure (no tfjs), so the CLI bundle can import it.
import { percent, thousands } from '../report/figures';
import { compact, renderTable } from '../report/table';
import type { Table } from '../report/table';
import type { ComparisonRecord } from '../protocol/runRecords';
import { optimizerText } from './optimizerOptions';

const fixed = (v: number | null | undefined, digits: number): string => (v === null || v === undefined ? '-' : Number.isFinite(v) ? v.toFixed(digits) : String(v));
const times = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}x`);
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

/** Added multiply-adds per example ('+1.2M'); '?' where a width is unknown, '-' where not counted. */
export const macsText = (m: number | null | undefined): string => (m === undefined ? '-' : m === 0 ? '0' : `+${compact(m)}`);

/** The comparison as text: the table, then the setup lines. */
export function comparisonTable(c: ComparisonRecord): string {
  const { table, notes } = comparisonParts(c);
  return [renderTable(table.header, table.rows, table.right), '', ...notes].join('\n');
}

/**
 * One row per run; ratios (x) are to the baseline, the first row. Final training and validation figures, the best
 * validation figure over the epochs, and with a test set the test figures of that best checkpoint. `notes`: the
 * engine and budget, the data, the test set, a cancellation.
 */
export function comparisonParts(c: ComparisonRecord): { table: Table; notes: string[] } {
  const classifier = c.rows.some((r) => r.final.valAcc !== null || r.final.acc !== null);
  const hasTest = c.rows.some((r) => r.test);
  const header = ['run', 'params', 'added', 'MACs/ex', 'loss', 'acc', 'val loss', 'val acc', classifier ? 'best val acc' : 'best val loss', ...(hasTest ? ['test loss', 'test acc'] : []), 'ms/step', 'samples/s', 'peak MiB', 'step x', 'mem x', 'status'];
  const rows = c.rows.map((r) => [
    r.name,
    thousands(r.params),
    r.added === 0 ? '0' : `${r.added > 0 ? '+' : ''}${thousands(r.added)} (${percent(r.addedPercent)})`,
    macsText(r.addedMacs),
    fixed(r.final.loss, 4),
    fixed(r.final.acc, 4),
    fixed(r.final.valLoss, 4),
    fixed(r.final.valAcc, 4),
    classifier ? fixed(r.best.valAcc, 4) : fixed(r.best.valLoss, 4),
    ...(hasTest ? [fixed(r.test?.loss, 4), fixed(r.test?.acc, 4)] : []),
    fixed(r.stepMs, 1),
    fixed(r.samplesPerSec, 1),
    mib(r.peakBytes),
    times(r.ratios.stepMs),
    times(r.ratios.peakBytes),
    r.status,
  ]);
  const b = c.backend;
  const backend = `${b.name}${b.name === 'wasm' ? ` (${b.simd ? 'SIMD' : 'no SIMD'}, ${b.threads ?? 1} thread${b.threads === 1 ? '' : 's'})` : ''}`;
  const budget = `${c.config.epochs} epoch(s)${c.config.maxSteps ? `, at most ${c.config.maxSteps} steps` : ''}, batch ${c.config.batchSize}, ${optimizerText(c.config)}, seed ${c.seed}`;
  const data = `${c.dataset.name}: ${c.dataset.trainSamples} train / ${c.dataset.valSamples} val${c.dataset.adaptations.length ? `; ${c.dataset.adaptations.join('; ')}` : ''}`;
  const e = c.engine;
  const engine = e?.name === 'pytorch' ? `engine pytorch ${e.torch} on ${e.device === 'cuda' ? `CUDA ${e.deviceName}` : 'the CPU'} (${e.python})` : `backend ${backend}`;
  const notes = [`${engine}; ${budget}`, `data ${data}`];
  const t = c.runs.find((r) => r.test)?.test;
  if (t) notes.push(`test ${t.name}: ${t.samples} samples, held out from training and validation; each run's best-validation epoch tested once`);
  if (!c.complete) notes.push('cancelled: later plans were not trained');
  return { table: { header, rows, right: new Set(header.map((_, i) => i).filter((i) => i > 0 && i < header.length - 1)) }, notes };
}
