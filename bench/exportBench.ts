/**
 * The PyTorch module this project exports (toPyTorch, what `laurel export --pytorch` writes and the PyTorch
 * engine trains) against the hand-written module of the same architecture in bench/torch_bench.py: both
 * train in the same Python process, in the same interleaved rounds (one thread each), so the step-time
 * ratio generated / hand-written is measured under the same load. Also each implementation's own LAuReL
 * overhead against its plain residual. Times are per round (ABCD ABCD ...): wall, and the Python thread's CPU time
 * (one torch thread runs the whole step), the figure a loaded machine disturbs least; ratios are of CPU times.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { toPyTorch } from '../src/core/export/pytorch';
import { parsePlan, resolvePlan } from '../src/core/laurel/planSpec';
import { openModel } from '../src/core/model';
import { benchTable } from './readme';
import { moduleClassName } from '../src/trainer/pytorchScript';
import { median } from './stats';
import type { MinMedian } from './stats';

/** A model of the export benchmark: its name in bench/torch_bench.py, its file, its batch. */
export interface ExportBenchModel {
  name: string;
  file: string;
  batch: number;
}

/** One implementation's step times over the rounds: wall and this thread's CPU time (ms). */
export interface StepTimes {
  wall: MinMedian;
  cpu: MinMedian;
}

export interface ExportBenchRow {
  model: string;
  batch: number;
  variant: string;
  params: { hand: number; generated: number };
  hand: StepTimes;
  generated: StepTimes;
  /** Generated over hand-written CPU time: of the mins, of the medians, and the median of each round's ratio. */
  ratio: MinMedian & { paired: number };
  /** Each implementation's LAuReL overhead over its plain step: the median of each round's CPU-time ratio. */
  overhead?: { hand: number; generated: number };
}

interface TorchLine {
  impl: 'hand' | 'generated';
  variant: string;
  params: number;
  roundsMs: number[];
  cpuRoundsMs: number[];
}

const minMedian = (xs: number[]): MinMedian => ({ min: Math.min(...xs), median: median(xs) });
/** The median over rounds of a[i] / b[i] (two runs' steps of the same round). */
const pairedRatio = (a: number[], b: number[]): number => median(a.map((x, i) => x / b[i]!));

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
      const line = (impl: TorchLine['impl'], variant: string): TorchLine => lines.find((l) => l.impl === impl && l.variant === variant)!;
      for (const [variant] of variants) {
        const [h, g] = [line('hand', variant), line('generated', variant)];
        const [hp, gp] = [line('hand', 'plain'), line('generated', 'plain')];
        rows.push({
          model: name,
          batch,
          variant,
          params: { hand: h.params, generated: g.params },
          hand: { wall: minMedian(h.roundsMs), cpu: minMedian(h.cpuRoundsMs) },
          generated: { wall: minMedian(g.roundsMs), cpu: minMedian(g.cpuRoundsMs) },
          ratio: {
            min: Math.min(...g.cpuRoundsMs) / Math.min(...h.cpuRoundsMs),
            median: median(g.cpuRoundsMs) / median(h.cpuRoundsMs),
            paired: pairedRatio(g.cpuRoundsMs, h.cpuRoundsMs),
          },
          ...(variant === 'plain' || !hp || !gp ? {} : { overhead: { hand: pairedRatio(h.cpuRoundsMs, hp.cpuRoundsMs) - 1, generated: pairedRatio(g.cpuRoundsMs, gp.cpuRoundsMs) - 1 } }),
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

export function exportTable(rows: ExportBenchRow[]): string {
  const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`;
  const mm = (t: MinMedian): string => `${t.min.toFixed(1)} / ${t.median.toFixed(1)}`;
  return benchTable(
    'export',
    ['model', 'batch', 'variant', 'params hand / generated', 'hand cpu ms min / med', 'generated cpu ms min / med', 'generated / hand: min / med / paired', 'overhead hand / generated (paired)'],
    rows.map((r) => [
      r.model,
      String(r.batch),
      r.variant,
      `${r.params.hand.toLocaleString('en-US')} / ${r.params.generated.toLocaleString('en-US')}`,
      mm(r.hand.cpu),
      mm(r.generated.cpu),
      `${r.ratio.min.toFixed(2)}x / ${r.ratio.median.toFixed(2)}x / ${r.ratio.paired.toFixed(2)}x`,
      r.overhead ? `${pct(r.overhead.hand)} / ${pct(r.overhead.generated)}` : '',
    ]),
    new Set([1, 3, 4, 5, 6, 7]),
  );
}
