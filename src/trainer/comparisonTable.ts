// The comparison as a plain-text table. Pure (no tfjs), so the CLI bundle can import it.
import { percent, thousands } from '../report/figures';
import { renderTable } from '../report/table';
import type { ComparisonRecord } from '../protocol/runRecords';

const fixed = (v: number | null | undefined, digits: number): string => (v === null || v === undefined ? '-' : Number.isFinite(v) ? v.toFixed(digits) : String(v));
const times = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}x`);
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

/** One row per run; ratios (x) are to the baseline, the first row. */
export function comparisonTable(c: ComparisonRecord): string {
  const header = ['run', 'params', 'added', 'loss', 'best loss', 'acc', 'val loss', 'val acc', 'ms/step', 'samples/s', 'peak MiB', 'step x', 'mem x', 'status'];
  const rows = c.rows.map((r) => [
    r.name,
    thousands(r.params),
    r.added === 0 ? '0' : `${r.added > 0 ? '+' : ''}${thousands(r.added)} (${percent(r.addedPercent)})`,
    fixed(r.final.loss, 4),
    fixed(r.best.loss, 4),
    fixed(r.final.acc, 3),
    fixed(r.final.valLoss, 4),
    fixed(r.final.valAcc, 3),
    fixed(r.stepMs, 1),
    fixed(r.samplesPerSec, 1),
    mib(r.peakBytes),
    times(r.ratios.stepMs),
    times(r.ratios.peakBytes),
    r.status,
  ]);
  const b = c.backend;
  const backend = `${b.name}${b.name === 'wasm' ? ` (${b.simd ? 'SIMD' : 'no SIMD'}, ${b.threads ?? 1} thread${b.threads === 1 ? '' : 's'})` : ''}`;
  const budget = `${c.config.epochs} epoch(s)${c.config.maxSteps ? `, at most ${c.config.maxSteps} steps` : ''}, batch ${c.config.batchSize}, ${c.config.optimizer} lr ${c.config.learningRate}, seed ${c.seed}`;
  const data = `${c.dataset.name}: ${c.dataset.trainSamples} train / ${c.dataset.valSamples} val${c.dataset.adaptations.length ? `; ${c.dataset.adaptations.join('; ')}` : ''}`;
  const e = c.engine;
  const engine = e?.name === 'pytorch' ? `engine pytorch ${e.torch} on ${e.device === 'cuda' ? `CUDA ${e.deviceName}` : 'the CPU'} (${e.python})` : `backend ${backend}`;
  const lines = [renderTable(header, rows, new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])), '', `${engine}; ${budget}`, `data ${data}`];
  if (!c.complete) lines.push('cancelled: later plans were not trained');
  return lines.join('\n');
}
