/**
 * The PyTorch module this project exports (toPyTorch, what `laurel export --pytorch` writes and the PyTorch
 * engine trains) against the hand-written module of the same architecture in bench/torch_bench.py: both
 * train in the same Python process, in the same interleaved rounds (one thread each), so the step-time
 * ratio generated / hand-written is measured under the same load. Also each implementation's own LAuReL
 * overhead against its plain residual.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { toPyTorch } from '../src/core/export/pytorch';
import { parsePlan, resolvePlan } from '../src/core/laurel/planSpec';
import { openModel } from '../src/core/model';
import { renderTable } from '../src/report/table';
import { moduleClassName } from '../src/trainer/pytorchScript';
import type { MinMedian } from './stats';

/** A model of the export benchmark: its name in bench/torch_bench.py, its file, its batch. */
export interface ExportBenchModel {
  name: string;
  file: string;
  batch: number;
}

export interface ExportBenchRow {
  model: string;
  batch: number;
  variant: string;
  params: { hand: number; generated: number };
  /** Step time, ms: min and median over the rounds. */
  hand: MinMedian;
  generated: MinMedian;
  ratio: MinMedian;
}

interface TorchLine {
  impl: 'hand' | 'generated';
  variant: string;
  params: number;
  stepMs: number;
  stepMinMs: number;
}

export function benchExport(python: string, root: string, models: ExportBenchModel[], variants: [string, string][], steps: number): ExportBenchRow[] {
  const rows: ExportBenchRow[] = [];
  for (const { name, file, batch } of models) {
    const m = openModel(file, readFileSync(file));
    const dir = mkdtempSync(join(tmpdir(), 'laurel-export-bench-'));
    try {
      let cls = '';
      for (const [variant, spec] of variants) {
        const { code } = toPyTorch(m, resolvePlan(parsePlan(spec), m.sites));
        cls = moduleClassName(code);
        writeFileSync(join(dir, `${variant.replace('+', '_')}.py`), code);
      }
      const args = [resolve(root, 'bench', 'torch_bench.py'), '--model', name, '--variants', variants.map((v) => v[0]).join(','), '--steps', String(steps), '--batch', String(batch), '--generated', dir, '--generated-class', cls];
      const r = spawnSync(python, args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`export benchmark failed (${python}): ${r.stderr || r.error}`);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as TorchLine);
      for (const [variant] of variants) {
        const h = lines.find((l) => l.impl === 'hand' && l.variant === variant)!;
        const g = lines.find((l) => l.impl === 'generated' && l.variant === variant)!;
        rows.push({
          model: name,
          batch,
          variant,
          params: { hand: h.params, generated: g.params },
          hand: { min: h.stepMinMs, median: h.stepMs },
          generated: { min: g.stepMinMs, median: g.stepMs },
          ratio: { min: g.stepMinMs / h.stepMinMs, median: g.stepMs / h.stepMs },
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

export function exportTable(rows: ExportBenchRow[]): string {
  const pct = (a: number, b: number): string => `${a >= b ? '+' : ''}${((a / b - 1) * 100).toFixed(0)}%`;
  const plain = (r: ExportBenchRow): ExportBenchRow => rows.find((p) => p.model === r.model && p.variant === 'plain')!;
  return renderTable(
    ['model', 'batch', 'variant', 'params hand / generated', 'hand ms min / med', 'generated ms min / med', 'generated / hand', 'overhead hand / generated (min)'],
    rows.map((r) => [
      r.model,
      String(r.batch),
      r.variant,
      `${r.params.hand.toLocaleString('en-US')} / ${r.params.generated.toLocaleString('en-US')}`,
      `${r.hand.min.toFixed(1)} / ${r.hand.median.toFixed(1)}`,
      `${r.generated.min.toFixed(1)} / ${r.generated.median.toFixed(1)}`,
      `${r.ratio.min.toFixed(2)}x / ${r.ratio.median.toFixed(2)}x`,
      r.variant === 'plain' ? '' : `${pct(r.hand.min, plain(r).hand.min)} / ${pct(r.generated.min, plain(r).generated.min)}`,
    ]),
    new Set([1, 3, 4, 5, 6, 7]),
  );
}
