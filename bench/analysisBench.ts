/**
 * Analysis speed: `openModel` (read, shapes, counts, residual sites: everything it returns, nothing
 * deferred) against `JSON.parse` of the same text (openModel gets its UTF-8 bytes), on synthetic Keras 2
 * models of 100 to 20,000 layers. Rounds are interleaved (every size once a round, JSON.parse and
 * openModel back to back), figures are CPU time, min and median over rounds; the ratio is openModel /
 * JSON.parse (of the mins, of the medians, and the median of each round's own ratio, which a change of
 * load between rounds does not move), and the growth exponent is the slope of log(time) over log(layers)
 * from 1,000 layers up. Each call's result is held until the next call returns, for both (a model kept
 * across the other sizes' measurements made them pay for marking it). Peak memory comes from one child
 * process per model (dist/benchOpen.js), so no measurement inherits another's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openModel, planModel } from '../src/core/model';
import { benchTable } from './readme';
import { growthExponent, median, min, ms, timeBoth } from './stats';
import type { MinMedian } from './stats';
import { synthModelText, type BlockKind } from './synthModels';

export interface AnalysisRow {
  block: BlockKind;
  layers: number;
  residuals: number;
  textMb: number;
  /** Wall time. */
  parseMs: MinMedian;
  openMs: MinMedian;
  ratio: MinMedian;
  /** CPU time of the process (not what other processes on the machine took). */
  parseCpuMs: MinMedian;
  openCpuMs: MinMedian;
  cpuRatio: MinMedian;
  /** Median over the rounds of each round's openModel CPU / JSON.parse CPU. */
  cpuRatioPerRound: number;
  /** CPU time of planModel(all=pa:k=3): PA's history and the edits that write it, per site. */
  paPlanCpuMs: MinMedian;
  maxRssMb?: number;
}

export interface AnalysisResult {
  rows: AnalysisRow[];
  /** Of openModel's min wall time and min CPU time, from 1,000 layers up. */
  exponents: Record<string, number>;
  cpuExponents: Record<string, number>;
  /** Of JSON.parse's min CPU time, from 1,000 layers up: how the machine itself scales (caches, collector). */
  parseCpuExponents: Record<string, number>;
  /** Of planModel(all=pa:k=3)'s min CPU time, from 1,000 layers up. */
  paPlanExponents: Record<string, number>;
}

export function benchAnalysis(sizes: number[], rounds: number, memorySizes: number[]): AnalysisResult {
  const cases = (['dense', 'conv'] as BlockKind[]).flatMap((block) =>
    sizes.map((layers) => {
      const text = synthModelText({ layers, block });
      return { block, layers, text, bytes: new TextEncoder().encode(text), parse: [] as number[], open: [] as number[], parseCpu: [] as number[], openCpu: [] as number[], planCpu: [] as number[], residuals: 0 };
    }),
  );
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      // Small models are timed over several calls: one call is too short for the timer.
      const repeat = Math.max(1, Math.round(2000 / c.layers));
      const parse = timeBoth(() => JSON.parse(c.text), repeat);
      const open = timeBoth(() => {
        const m = openModel(`${c.block}.json`, c.bytes);
        c.residuals = m.sites.length;
        return m;
      }, repeat);
      // A fresh model each call: the PA history is grouped once per site list.
      const models = Array.from({ length: repeat }, () => openModel(`${c.block}.json`, c.bytes));
      let k = 0;
      c.planCpu.push(timeBoth(() => planModel(models[k++]!, 'all=pa:k=3'), repeat).cpu);
      c.parse.push(parse.wall);
      c.parseCpu.push(parse.cpu);
      c.open.push(open.wall);
      c.openCpu.push(open.cpu);
    }
    process.stdout.write(`analysis round ${r + 1}/${rounds}\n`);
  }
  const rows: AnalysisRow[] = cases.map((c) => ({
    block: c.block,
    layers: c.layers,
    residuals: c.residuals,
    textMb: c.text.length / 2 ** 20,
    parseMs: { min: min(c.parse), median: median(c.parse) },
    openMs: { min: min(c.open), median: median(c.open) },
    ratio: { min: min(c.open) / min(c.parse), median: median(c.open) / median(c.parse) },
    parseCpuMs: { min: min(c.parseCpu), median: median(c.parseCpu) },
    openCpuMs: { min: min(c.openCpu), median: median(c.openCpu) },
    cpuRatio: { min: min(c.openCpu) / min(c.parseCpu), median: median(c.openCpu) / median(c.parseCpu) },
    cpuRatioPerRound: median(c.openCpu.map((o, r) => o / c.parseCpu[r]!)),
    paPlanCpuMs: { min: min(c.planCpu), median: median(c.planCpu) },
  }));
  const dir = mkdtempSync(join(tmpdir(), 'laurel-bench-'));
  try {
    for (const row of rows.filter((r) => memorySizes.includes(r.layers))) {
      const file = join(dir, `${row.block}-${row.layers}.json`);
      writeFileSync(file, cases.find((c) => c.block === row.block && c.layers === row.layers)!.text);
      const child = spawnSync(process.execPath, [resolve(__dirname, 'benchOpen.js'), file], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`benchOpen ${file} failed: ${child.stderr}`);
      row.maxRssMb = (JSON.parse(child.stdout) as { maxRssMb: number }).maxRssMb;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const exponents: Record<string, number> = {};
  const cpuExponents: Record<string, number> = {};
  const parseCpuExponents: Record<string, number> = {};
  const paPlanExponents: Record<string, number> = {};
  for (const block of ['dense', 'conv']) {
    const big = rows.filter((r) => r.block === block && r.layers >= 1000);
    if (big.length < 2) continue;
    exponents[block] = growthExponent(big.map((r) => ({ x: r.layers, y: r.openMs.min })));
    cpuExponents[block] = growthExponent(big.map((r) => ({ x: r.layers, y: r.openCpuMs.min })));
    parseCpuExponents[block] = growthExponent(big.map((r) => ({ x: r.layers, y: r.parseCpuMs.min })));
    paPlanExponents[block] = growthExponent(big.map((r) => ({ x: r.layers, y: r.paPlanCpuMs.min })));
  }
  return { rows, exponents, cpuExponents, parseCpuExponents, paPlanExponents };
}

/** The targets: openModel within 5x JSON.parse (CPU) at every size, growth exponent at most 1.1. */
export const RATIO_TARGET = 5;
export const EXPONENT_TARGET = 1.1;

export function analysisTable(a: AnalysisResult): string {
  const rows = a.rows.map((r) => [
    r.block,
    r.layers.toLocaleString('en-US'),
    String(r.residuals),
    r.textMb.toFixed(1),
    `${ms(r.parseCpuMs.min)} / ${ms(r.parseCpuMs.median)}`,
    `${ms(r.openCpuMs.min)} / ${ms(r.openCpuMs.median)}`,
    `${r.cpuRatio.min.toFixed(1)}x / ${r.cpuRatio.median.toFixed(1)}x / ${r.cpuRatioPerRound.toFixed(1)}x`,
    `${ms(r.parseMs.min)} / ${ms(r.openMs.min)}`,
    `${ms(r.paPlanCpuMs.min)} / ${ms(r.paPlanCpuMs.median)}`,
    r.maxRssMb === undefined ? '' : r.maxRssMb.toFixed(0),
  ]);
  const blocks = Object.keys(a.cpuExponents);
  const worst = (block: string, f: (r: AnalysisRow) => number): number => Math.max(...a.rows.filter((r) => r.block === block).map(f));
  const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  const per = (f: (b: string) => number): string[] => blocks.map((b) => f(b).toFixed(2));
  // The targets and the growth, as a second table of the same README block (the README shows tables only).
  const summary = [
    ['openModel / JSON.parse CPU, worst size, of the mins', ...per((b) => worst(b, (r) => r.cpuRatio.min)), `<= ${RATIO_TARGET} at every size`, met(blocks.every((b) => worst(b, (r) => r.cpuRatio.min) <= RATIO_TARGET))],
    ['openModel / JSON.parse CPU, worst size, per round', ...per((b) => worst(b, (r) => r.cpuRatioPerRound)), `<= ${RATIO_TARGET} at every size`, met(blocks.every((b) => worst(b, (r) => r.cpuRatioPerRound) <= RATIO_TARGET))],
    ['growth exponent of openModel CPU, 1,000 layers up', ...per((b) => a.cpuExponents[b]!), `<= ${EXPONENT_TARGET}`, met(blocks.every((b) => a.cpuExponents[b]! <= EXPONENT_TARGET))],
    ['growth exponent of openModel wall time', ...per((b) => a.exponents[b]!), '', ''],
    ['growth exponent of JSON.parse CPU alone (the machine)', ...per((b) => a.parseCpuExponents[b]!), '', ''],
    ['growth exponent of planModel(all=pa:k=3) CPU', ...per((b) => a.paPlanExponents[b]!), '', ''],
  ];
  return [
    benchTable(
      'analysis',
      ['blocks', 'layers', 'residuals', 'MB', 'JSON.parse CPU ms min / med', 'openModel CPU ms min / med', 'openModel / parse: of mins / of medians / per round', 'wall ms parse / open (min)', 'PA plan CPU ms min / med', 'peak RSS MB'],
      rows,
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ),
    blocks.length ? benchTable('analysis', ['figure', ...blocks, 'target', 'verdict'], summary, new Set(blocks.map((_, i) => i + 1))) : '',
  ].join('\n');
}
