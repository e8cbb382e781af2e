/**
 * Train the baseline and each plan in turn under the same seed, data and budget, and compare them:
 * losses, accuracy, parameters, step time, throughput and peak memory, with ratios to the first run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ComparisonRecord, ComparisonRow, RunRecord, TrainConfig } from '../protocol/runRecords';
import { comparisonTable } from './comparisonTable';
import { writeFileAtomic } from '../util/fsAtomic';
import { describeEngine, resolveEngine } from './engineChoice';
import { trainRun } from './train';
import type { RunSpec, TrainData, TrainOptions } from './run';

export const COMPARISON_RECORD = 'comparison.json';
export const COMPARISON_TABLE = 'comparison.txt';

export interface CompareOptions extends Omit<TrainOptions, 'outDir' | 'keepModel'> {
  /** Folder for the comparison; each run goes to `<outDir>/<n>-<plan>/`. Nothing is written when absent. */
  outDir?: string;
  /** Called after each run, its record saved. */
  onRunDone?: (record: RunRecord) => void;
}

/** A folder name for a run: `2-rw+lr_r=16` (the spec with path-unsafe characters replaced). */
export function runFolder(index: number, name: string): string {
  return `${index + 1}-${name.replace(/[^A-Za-z0-9+=.,_-]+/g, '_').slice(0, 60)}`;
}

const ratio = (a: number | null, b: number | null): number | null => (a !== null && b !== null && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : null);

export function comparisonRow(r: RunRecord, base: RunRecord): ComparisonRow {
  return {
    name: r.name,
    plan: r.plan.spec,
    status: r.status,
    params: r.params.total,
    added: r.params.added,
    addedPercent: r.params.addedPercent,
    final: r.final,
    best: r.best,
    ...(r.test ? { test: r.test } : {}),
    ...(r.params.addedMacs !== undefined ? { addedMacs: r.params.addedMacs } : {}),
    stepMs: r.stepMs,
    samplesPerSec: r.samplesPerSec,
    peakBytes: r.peakBytes,
    ratios: {
      params: ratio(r.params.total, base.params.total),
      stepMs: ratio(r.stepMs, base.stepMs),
      samplesPerSec: ratio(r.samplesPerSec, base.samplesPerSec),
      peakBytes: ratio(r.peakBytes, base.peakBytes),
      finalLoss: ratio(r.final.loss, base.final.loss),
    },
  };
}

/** Trains `runs` in order (the first is the baseline). A cancel stops the current run and skips the rest. */
export async function compareRuns(runs: RunSpec[], data: TrainData, config: TrainConfig, opts: CompareOptions): Promise<ComparisonRecord> {
  if (runs.length === 0) throw new Error('nothing to compare: no plans given');
  const startedAt = new Date().toISOString();
  // One engine for every run, so the ratios compare plans, not engines.
  const engine = opts.engine ?? (await resolveEngine(config, opts.backend, runs));
  if (config.engine !== undefined && !opts.engine) opts.sink?.log?.({ level: 'info', message: describeEngine(engine) });
  const records: RunRecord[] = [];
  for (const [i, spec] of runs.entries()) {
    if (opts.signal?.aborted) break;
    const { onRunDone: _done, outDir: _dir, ...trainOpts } = opts;
    const { record } = await trainRun(spec, data, config, { ...trainOpts, engine, ...(opts.outDir ? { outDir: join(opts.outDir, runFolder(i, spec.name)) } : {}) });
    records.push(record);
    opts.onRunDone?.(record);
    if (record.status === 'cancelled') break;
  }
  const first = records[0];
  if (!first) throw new Error('cancelled before the first run started');
  const record: ComparisonRecord = {
    kind: 'laurel-comparison',
    version: 1,
    model: first.model,
    seed: config.seed,
    config,
    backend: opts.backend,
    ...(config.engine !== undefined || opts.engine ? { engine } : {}),
    dataset: first.dataset,
    baseline: 0,
    complete: records.length === runs.length && records.every((r) => r.status !== 'cancelled'),
    rows: records.map((r) => comparisonRow(r, first)),
    runs: records,
    ...(opts.outDir ? { outDir: opts.outDir } : {}),
    startedAt,
    finishedAt: new Date().toISOString(),
  };
  if (opts.outDir) {
    mkdirSync(opts.outDir, { recursive: true });
    writeFileAtomic(join(opts.outDir, COMPARISON_RECORD), JSON.stringify(record, null, 2) + '\n');
    writeFileAtomic(join(opts.outDir, COMPARISON_TABLE), comparisonTable(record) + '\n');
  }
  return record;
}
