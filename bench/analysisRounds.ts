/**
 * One round of the analysis benchmark: every size once, JSON.parse, the reference copy and openModel back to
 * back, then planModel(all=pa:k=3). It runs in the bench's own heap (as `laurel inspect` reads) and in a worker
 * with the extension's analysis heap (`ANALYSIS_HEAP`), round for round, so both see the same load.
 */
import { openModel, planModel } from '../src/core/model';
import { forgetPauses, pausedWithin, settlePauses, watchPauses } from './gcPauses';
import { timeBoth } from './stats';
import { synthModelText, type BlockKind } from './synthModels';

export interface AnalysisSamples {
  block: BlockKind;
  layers: number;
  residuals: number;
  /** Per round: wall and CPU ms of one call. */
  parse: number[];
  parseCpu: number[];
  open: number[];
  openCpu: number[];
  /** The collector's pauses (wall ms) during openModel's timed calls, per call. */
  openGc: number[];
  /** JSON.parse plus a plain deep copy of its value: the least a reader that keeps a structure does. */
  copyCpu: number[];
  planCpu: number[];
}

export interface AnalysisCase extends AnalysisSamples {
  text: string;
  bytes: Uint8Array;
}

/**
 * The cases in the order a round runs them: by size, the two block kinds of a size together, so that within a
 * round no read follows a much larger one (whose garbage the collector is still working on: its CPU time is
 * the process's, and a small read right after a large one was measured at twice its time).
 */
export function analysisCases(sizes: number[]): AnalysisCase[] {
  return [...sizes].sort((a, b) => a - b).flatMap((layers) =>
    (['dense', 'conv'] as BlockKind[]).map((block) => {
      const text = synthModelText({ layers, block });
      return { block, layers, text, bytes: new TextEncoder().encode(text), residuals: 0, parse: [], parseCpu: [], open: [], openCpu: [], openGc: [], copyCpu: [], planCpu: [] };
    }),
  );
}

/** A deep copy with no knowledge of the format: objects and arrays rebuilt, one level at a time. */
function deepCopy(v: unknown): unknown {
  if (Array.isArray(v)) {
    const a = new Array(v.length);
    for (let i = 0; i < v.length; i++) a[i] = deepCopy(v[i]);
    return a;
  }
  if (v === null || typeof v !== 'object') return v;
  const o: Record<string, unknown> = {};
  for (const k in v) o[k] = deepCopy((v as Record<string, unknown>)[k]);
  return o;
}

/**
 * Untimed calls for at least 10 ms (one at the least), then the timed ones: each measurement pays the
 * collections its own kind of call leaves (as in a worker that reads one model after another), not the
 * previous case's (a 100-layer model measured right after a 20,000-layer one took twice its time, paying
 * for the big one's garbage; one untimed call of 0.3 ms left the collector's threads still marking the
 * large model's garbage, whose CPU time the process's counts, and 100-layer conv read 5-6x JSON.parse
 * in the median round against 2-3x in its best).
 */
function steady(f: () => unknown, repeat: number): { wall: number; cpu: number; from: number; to: number } {
  const until = performance.now() + 10;
  do f();
  while (performance.now() < until);
  const from = performance.now();
  const t = timeBoth(f, repeat);
  return { ...t, from, to: performance.now() };
}

/** Each case's openModel window of the last round, and its calls, for the collector's pauses in it. */
const openWindows = new WeakMap<AnalysisCase, { from: number; to: number; calls: number }>();

/** One round (synchronous), then `roundPauses` once Node has delivered its collector entries. */
export function analysisRound(cases: AnalysisCase[]): void {
  watchPauses();
  for (const c of cases) {
    // Small models are timed over several calls: one call is too short for the timer.
    const repeat = Math.max(1, Math.round(2000 / c.layers));
    const parse = steady(() => JSON.parse(c.text), repeat);
    const copy = steady(() => {
      const v: unknown = JSON.parse(c.text);
      return [v, deepCopy(v)];
    }, repeat);
    const open = steady(() => {
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
    c.copyCpu.push(copy.cpu);
    c.open.push(open.wall);
    c.openCpu.push(open.cpu);
    openWindows.set(c, { from: open.from, to: open.to, calls: repeat });
  }
}

/** After a round: the collector's pauses during each case's timed openModel calls, per call. */
export async function roundPauses(cases: AnalysisCase[]): Promise<void> {
  await settlePauses();
  for (const c of cases) {
    const w = openWindows.get(c);
    if (w) c.openGc.push(pausedWithin(w.from, w.to) / w.calls);
  }
  forgetPauses();
}

/** The samples without the texts (what the worker posts back). */
export const samplesOf = (cases: AnalysisCase[]): AnalysisSamples[] => cases.map(({ text: _t, bytes: _b, ...s }) => s);
