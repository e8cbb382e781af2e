/**
 * Analysis speed: `openModel` (read, shapes, counts, residual sites: everything it returns, nothing
 * deferred) against `JSON.parse` of the same text (openModel gets its UTF-8 bytes), on synthetic Keras 2
 * models of 100 to 20,000 layers, in two heaps: V8's defaults, as `laurel inspect` reads (the bench's own heap
 * for small texts, a worker with V8's default limits for large ones, so a small read never pays for the
 * collector's work on a large one's garbage: a CLI run reads one file in a fresh heap) and the extension's
 * analysis worker (`heapFor`: V8's defaults for small texts, `ANALYSIS_HEAP` for large ones; one worker each,
 * the cases split between them as the extension would read them). Rounds are
 * interleaved (every size once a round, JSON.parse, the reference copy and openModel back to back; a round in
 * one heap, then one in the other), figures are CPU time, min and median over rounds; the ratio is openModel /
 * JSON.parse (of the mins, of the medians, and the median of each round's own ratio, which a change of load
 * between rounds does not move), and the growth exponent is the slope of log(time) over log(layers) from 1,000
 * layers up (of the mins, and the median of each round's own slope). Beside JSON.parse alone, JSON.parse plus a plain deep copy of its value shows how the heap itself
 * grows for a reader that keeps a structure as large as its input. Each call's result is held until the next
 * call starts (a model kept across the other sizes' measurements made them pay for marking it). The collector's
 * pauses during openModel's timed calls are counted from Node's 'gc' performance entries (gcPauses.ts). Peak memory
 * comes from one child process per model and heap (dist/benchOpen.js), so no measurement inherits another's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { ANALYSIS_HEAP, heapFor, LARGE_TEXT_CHARS } from '../src/extension/lensEngine';
import { analysisCases, analysisRound, roundPauses, samplesOf, type AnalysisSamples } from './analysisRounds';
import { benchTable } from './readme';
import { growthExponent, median, min, ms } from './stats';
import type { MinMedian } from './stats';
import type { BlockKind } from './synthModels';

export type HeapName = 'bench' | 'worker';
export const HEAP_LABEL: Record<HeapName, string> = {
  bench: `V8's default heap (laurel inspect): the bench's own below ${LARGE_TEXT_CHARS / 2 ** 20} MiB of text, a worker with V8's default limits from there`,
  worker: `the extension's analysis worker: young generation ${ANALYSIS_HEAP.maxYoungGenerationSizeMb} MB from ${LARGE_TEXT_CHARS / 2 ** 20} MiB of text, V8's default below`,
};

export interface AnalysisRow {
  heap: HeapName;
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
  copyCpuMs: MinMedian;
  cpuRatio: MinMedian;
  /** Median over the rounds of each round's openModel CPU / JSON.parse CPU. */
  cpuRatioPerRound: number;
  /** The collector's pauses (wall ms) per openModel call, and openModel's CPU less them. */
  openGcMs: MinMedian;
  openLessGcCpuMs: MinMedian;
  /** CPU time of planModel(all=pa:k=3): PA's history and the edits that write it, per site. */
  paPlanCpuMs: MinMedian;
  maxRssMb?: number;
}

/** Growth exponents from 1,000 layers up, per heap and block kind ("worker:dense"). */
export interface AnalysisResult {
  rows: AnalysisRow[];
  /** Of openModel's min wall time and min CPU time. */
  exponents: Record<string, number>;
  cpuExponents: Record<string, number>;
  /** The median over the rounds of each round's own exponent (its sizes ran back to back, so a change of load between rounds moves it least). */
  cpuExponentsPerRound: Record<string, number>;
  /** Of JSON.parse's min CPU time: how the machine itself scales (caches, collector). */
  parseCpuExponents: Record<string, number>;
  /** Of JSON.parse plus a deep copy: how the heap scales for a reader that keeps what it read. */
  copyCpuExponents: Record<string, number>;
  /** Of planModel(all=pa:k=3)'s min CPU time. */
  paPlanExponents: Record<string, number>;
  /** Of openModel's CPU less the collector's pauses (min over rounds): the growth of the read's own work. */
  lessGcCpuExponents: Record<string, number>;
  /**
   * The median over the rounds of the exponent of each round's openModel / JSON.parse ratio: the read's growth
   * beyond what JSON.parse of the same text grows by in the same heap at the same moment (the machine's caches,
   * the collector's handling of a large value) -- the part of the growth that is the reader's own.
   */
  ratioExponentsPerRound: Record<string, number>;
}

/**
 * One round at a time in a worker: the cases of one size class (`large`: texts the extension reads with
 * ANALYSIS_HEAP), in a heap with `limits` (none: V8's defaults, as the bench's own heap has).
 */
class HeapWorker {
  private readonly w: Worker;
  constructor(sizes: number[], large: boolean, limits?: ResourceLimits) {
    this.w = new Worker(resolve(__dirname, 'benchAnalysisWorker.js'), { workerData: { sizes, large }, ...(limits ? { resourceLimits: limits } : {}) });
  }
  private ask<T>(what: 'round' | 'samples'): Promise<T> {
    return new Promise((ok, fail) => {
      const off = (): void => void (this.w.off('message', got), this.w.off('error', fail));
      const got = (m: T): void => (off(), ok(m));
      this.w.on('message', got);
      this.w.once('error', fail);
      this.w.postMessage(what);
    });
  }
  round = (): Promise<'done'> => this.ask('round');
  async samples(): Promise<AnalysisSamples[]> {
    const s = await this.ask<AnalysisSamples[]>('samples');
    await this.w.terminate();
    return s;
  }
}

export async function benchAnalysis(sizes: number[], rounds: number, memorySizes: number[]): Promise<AnalysisResult> {
  const cases = analysisCases(sizes);
  // The extension reads small texts in a default-heap worker and large ones with ANALYSIS_HEAP (heapFor).
  const workers = [new HeapWorker(sizes, false), new HeapWorker(sizes, true, ANALYSIS_HEAP)];
  // V8's default heap: small texts here, large ones in a worker with V8's default limits. A CLI run reads one
  // file in a fresh heap; one heap reading every size in turn made a 100-layer read pay for the collector's
  // work on the 20,000-layer garbage before it (a 100-layer conv read: 0.45-0.53 ms min, 1.03-1.14 median
  // alone, 0.64 / 2.3 ms after one 20,000-layer read), which no untimed warm-up of 10 ms outlasted here.
  const small = cases.filter((c) => heapFor(c.text.length) === undefined);
  const defaultLarge = new HeapWorker(sizes, true);
  // Between one heap's round and the next, the machine idles a little: the collector's background threads
  // (shared by every heap of the process, whose CPU time the measurements count) finish the last heap's work
  // instead of running inside the next heap's timed calls.
  const settle = (): Promise<void> => new Promise((done) => setTimeout(done, 50));
  for (let r = 0; r < rounds; r++) {
    analysisRound(small);
    await roundPauses(small);
    for (const w of [defaultLarge, ...workers]) {
      await settle();
      await w.round();
    }
    await settle();
    process.stdout.write(`analysis round ${r + 1}/${rounds}\n`);
  }
  // The table's order: by block kind, then size.
  const inCaseOrder = (samples: AnalysisSamples[]): AnalysisSamples[] => (['dense', 'conv'] as BlockKind[]).flatMap((block) => cases.filter((c) => c.block === block).flatMap((c) => samples.filter((s) => s.block === c.block && s.layers === c.layers)));
  const inWorkers = (await Promise.all(workers.map((w) => w.samples()))).flat();
  const inDefault = [...samplesOf(small), ...(await defaultLarge.samples())];
  const heaps: [HeapName, AnalysisSamples[]][] = [['bench', inCaseOrder(inDefault)], ['worker', inCaseOrder(inWorkers)]];
  const rows = heaps.flatMap(([heap, samples]) => samples.map((c) => rowOf(heap, c, cases.find((k) => k.block === c.block && k.layers === c.layers)!.text.length)));
  const dir = mkdtempSync(join(tmpdir(), 'laurel-bench-'));
  try {
    for (const row of rows.filter((r) => memorySizes.includes(r.layers))) {
      const file = join(dir, `${row.block}-${row.layers}.json`);
      writeFileSync(file, cases.find((c) => c.block === row.block && c.layers === row.layers)!.text);
      const child = spawnSync(process.execPath, [resolve(__dirname, 'benchOpen.js'), file, ...(row.heap === 'worker' ? ['worker'] : [])], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`benchOpen ${file} failed: ${child.stderr}`);
      row.maxRssMb = (JSON.parse(child.stdout) as { maxRssMb: number }).maxRssMb;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const result: AnalysisResult = { rows, exponents: {}, cpuExponents: {}, cpuExponentsPerRound: {}, parseCpuExponents: {}, copyCpuExponents: {}, paPlanExponents: {}, lessGcCpuExponents: {}, ratioExponentsPerRound: {} };
  for (const heap of ['bench', 'worker'] as HeapName[]) {
    for (const block of ['dense', 'conv']) {
      const big = rows.filter((r) => r.heap === heap && r.block === block && r.layers >= 1000);
      if (big.length < 2) continue;
      const key = `${heap}:${block}`;
      const fit = (f: (r: AnalysisRow) => number): number => growthExponent(big.map((r) => ({ x: r.layers, y: f(r) })));
      result.exponents[key] = fit((r) => r.openMs.min);
      result.cpuExponents[key] = fit((r) => r.openCpuMs.min);
      const samples = heaps.find(([h]) => h === heap)![1].filter((c) => c.block === block && c.layers >= 1000);
      const perRound = (y: (c: AnalysisSamples, round: number) => number): number => median(samples[0]!.openCpu.map((_, round) => growthExponent(samples.map((c) => ({ x: c.layers, y: y(c, round) })))));
      result.cpuExponentsPerRound[key] = perRound((c, round) => c.openCpu[round]!);
      result.ratioExponentsPerRound[key] = perRound((c, round) => c.openCpu[round]! / c.parseCpu[round]!);
      result.parseCpuExponents[key] = fit((r) => r.parseCpuMs.min);
      result.copyCpuExponents[key] = fit((r) => r.copyCpuMs.min);
      result.paPlanExponents[key] = fit((r) => r.paPlanCpuMs.min);
      result.lessGcCpuExponents[key] = fit((r) => r.openLessGcCpuMs.min);
    }
  }
  return result;
}

function rowOf(heap: HeapName, c: AnalysisSamples, chars: number): AnalysisRow {
  const mm = (xs: number[]): MinMedian => ({ min: min(xs), median: median(xs) });
  return {
    heap,
    block: c.block,
    layers: c.layers,
    residuals: c.residuals,
    textMb: chars / 2 ** 20,
    parseMs: mm(c.parse),
    openMs: mm(c.open),
    ratio: { min: min(c.open) / min(c.parse), median: median(c.open) / median(c.parse) },
    parseCpuMs: mm(c.parseCpu),
    openCpuMs: mm(c.openCpu),
    copyCpuMs: mm(c.copyCpu),
    cpuRatio: { min: min(c.openCpu) / min(c.parseCpu), median: median(c.openCpu) / median(c.parseCpu) },
    cpuRatioPerRound: median(c.openCpu.map((o, r) => o / c.parseCpu[r]!)),
    paPlanCpuMs: mm(c.planCpu),
    openGcMs: mm(c.openGc),
    openLessGcCpuMs: mm(c.openCpu.map((cpu, r) => cpu - (c.openGc[r] ?? 0))),
  };
}

/** The issue's targets: openModel within 5x JSON.parse (CPU) at every size, growth exponent at most 1.1. */
export const RATIO_TARGET = 5;
export const EXPONENT_TARGET = 1.1;

export function analysisTable(a: AnalysisResult): string {
  const rows = a.rows.map((r) => [
    r.heap === 'bench' ? 'default' : 'worker',
    r.block,
    r.layers.toLocaleString('en-US'),
    String(r.residuals),
    r.textMb.toFixed(1),
    `${ms(r.parseCpuMs.min)} / ${ms(r.parseCpuMs.median)}`,
    `${ms(r.copyCpuMs.min)} / ${ms(r.copyCpuMs.median)}`,
    `${ms(r.openCpuMs.min)} / ${ms(r.openCpuMs.median)}`,
    `${r.cpuRatio.min.toFixed(1)}x / ${r.cpuRatio.median.toFixed(1)}x / ${r.cpuRatioPerRound.toFixed(1)}x`,
    `${ms(r.parseMs.min)} / ${ms(r.openMs.min)}`,
    `${ms(r.paPlanCpuMs.min)} / ${ms(r.paPlanCpuMs.median)}`,
    `${ms(r.openGcMs.min)} / ${ms(r.openGcMs.median)}`,
    r.maxRssMb === undefined ? '' : r.maxRssMb.toFixed(0),
  ]);
  const keys = Object.keys(a.cpuExponents);
  const rowsOf = (key: string): AnalysisRow[] => a.rows.filter((r) => `${r.heap}:${r.block}` === key);
  const worst = (key: string, f: (r: AnalysisRow) => number): number => Math.max(...rowsOf(key).map(f));
  const verdict = (ok: (key: string) => boolean): string =>
    (['worker', 'bench'] as HeapName[]).filter((h) => keys.some((k) => k.startsWith(`${h}:`))).map((h) => `${h === 'worker' ? 'extension' : 'CLI'}: ${keys.filter((k) => k.startsWith(`${h}:`)).every(ok) ? 'met' : 'NOT met'}`).join('; ');
  const per = (f: (k: string) => number): string[] => keys.map((k) => f(k).toFixed(2));
  const largest = (key: string, f: (r: AnalysisRow) => number): number => f(rowsOf(key).reduce((m, r) => (r.layers > m.layers ? r : m)));
  // The targets and the growth, as a second table of the same README block (the README shows tables only).
  const summary = [
    ['openModel / JSON.parse CPU, worst size, of the mins', ...per((k) => worst(k, (r) => r.cpuRatio.min)), `<= ${RATIO_TARGET} at every size`, verdict((k) => worst(k, (r) => r.cpuRatio.min) <= RATIO_TARGET)],
    ['openModel / JSON.parse CPU, worst size, per round', ...per((k) => worst(k, (r) => r.cpuRatioPerRound)), `<= ${RATIO_TARGET} at every size`, verdict((k) => worst(k, (r) => r.cpuRatioPerRound) <= RATIO_TARGET)],
    ['growth exponent of openModel CPU, 1,000 layers up, of the mins', ...per((k) => a.cpuExponents[k]!), `<= ${EXPONENT_TARGET}`, verdict((k) => a.cpuExponents[k]! <= EXPONENT_TARGET)],
    ['growth exponent of openModel CPU, 1,000 layers up, per round', ...per((k) => a.cpuExponentsPerRound[k]!), `<= ${EXPONENT_TARGET}`, verdict((k) => a.cpuExponentsPerRound[k]! <= EXPONENT_TARGET)],
    ['growth exponent of openModel wall time', ...per((k) => a.exponents[k]!), '', ''],
    ['growth exponent of JSON.parse CPU alone (the machine)', ...per((k) => a.parseCpuExponents[k]!), '', ''],
    ['growth exponent of JSON.parse + a deep copy of its value (the heap)', ...per((k) => a.copyCpuExponents[k]!), '', ''],
    ['growth exponent of planModel(all=pa:k=3) CPU', ...per((k) => a.paPlanExponents[k]!), '', ''],
    ["growth exponent of openModel CPU less the collector's pauses, of the mins", ...per((k) => a.lessGcCpuExponents[k]!), '', ''],
    ["growth exponent of openModel / JSON.parse CPU, per round (the reader's own growth)", ...per((k) => a.ratioExponentsPerRound[k]!), '', ''],
    ["collector's pauses in openModel at the largest size, median, share of its median CPU", ...per((k) => largest(k, (r) => r.openGcMs.median / r.openCpuMs.median)), '', ''],
  ];
  const heads = keys.map((k) => `${k.split(':')[1]}, ${k.startsWith('worker') ? 'worker' : 'default'}`);
  return [
    benchTable(
      'analysis',
      ['heap', 'blocks', 'layers', 'residuals', 'MB', 'JSON.parse CPU ms min / med', 'parse + copy CPU ms min / med', 'openModel CPU ms min / med', 'openModel / parse: of mins / of medians / per round', 'wall ms parse / open (min)', 'PA plan CPU ms min / med', "collector's pauses in openModel ms min / med", 'peak RSS MB'],
      rows,
      new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    ),
    keys.length ? benchTable('analysis', ['figure', ...heads, 'target', 'verdict'], summary, new Set(keys.map((_, i) => i + 1))) : '',
  ].join('\n');
}
