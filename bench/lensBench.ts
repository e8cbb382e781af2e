/**
 * Lenses as the editor gets them: the extension's LensEngine (same code as the CodeLens provider uses,
 * without vscode) fed with edited texts. For each model, every round makes one small edit (a new
 * momentum / units value), asks for the lenses and times until they arrive; a 2 ms ticker on the same
 * thread records the longest gap between its ticks, which is the longest task the host thread ran.
 * A burst (5 edits 30 ms apart) must analyse only the last text. After each edit's lenses, a click on the
 * model's last layer (graph view, Residuals view) is located and timed the same way.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { forgetPauses, pausedWithin, settlePauses, watchPauses } from './gcPauses';
import { benchTable } from './readme';
import { DEFAULT_OPTIONS } from '../src/core/laurel/variants';
import { LensEngine } from '../src/extension/lensEngine';
import { median, min, ms } from './stats';
import { synthModelText } from './synthModels';

export interface LensRow {
  model: string;
  chars: number;
  path: string;
  lenses: number;
  latencyMs: { min: number; median: number };
  longestHostTaskMs: number;
  /** The host thread's own CPU time in that longest stretch (Linux), which waiting for a core does not inflate. */
  longestHostTaskCpuMs: number;
  /** The collector's pauses on the host thread that started inside the stretch of `longestHostTaskCpuMs`. */
  longestHostTaskGcMs: number;
  /** The longest synchronous stretch of the engine itself on the host thread (no scheduler noise). */
  longestEngineMs: number;
  /** The same stretch in CPU time of the process (the worker is idle then). */
  longestEngineCpuMs: number;
  burst?: { latencyMs: number; analysed: number; superseded: number };
  /** A click in the graph or the Residuals view: its last layer located in the text the lenses just read. */
  clickMs: { min: number; median: number };
  longestClickHostTaskMs: number;
  longestClickHostTaskCpuMs: number;
  /** What VS Code's getText() costs the host once per version: joining the document's lines (not counted above). */
  getTextMs: { min: number; median: number };
}

/** The name of the model's last layer (Keras JSON or a TF.js model.json). */
function lastLayerName(text: string): string {
  const v = JSON.parse(text) as { config?: { layers?: { name: string }[] }; modelTopology?: { model_config?: { config?: { layers?: { name: string }[] } }; config?: { layers?: { name: string }[] } } };
  const layers = v.config?.layers ?? v.modelTopology?.model_config?.config?.layers ?? v.modelTopology?.config?.layers;
  if (!layers?.length) throw new Error('lens bench: a model without layers');
  return layers.at(-1)!.name;
}

/**
 * CPU time of the calling thread in ms (Linux: /proc/thread-self/schedstat, read on this thread), or
 * undefined elsewhere. A gap of the ticker on a loaded machine is mostly waiting for a core; the thread's
 * own CPU time inside the gap is the length of the task that ran.
 */
function threadCpuMs(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/**
 * Runs `f` while a ticker measures the longest stretch the thread did not get back to it: wall time, the
 * thread's CPU time, and the collector's pauses on this thread that started in the stretch of most CPU.
 */
export async function withTicker<T>(f: () => Promise<T>): Promise<{ value: T; longest: number; longestCpu: number; longestCpuGc: number }> {
  watchPauses();
  let last = performance.now();
  let lastCpu = threadCpuMs();
  let longest = 0;
  let longestCpu = 0;
  let cpuStretch = { from: last, to: last };
  const tick = (): void => {
    const now = performance.now();
    const cpu = threadCpuMs();
    longest = Math.max(longest, now - last - 2);
    if (cpu !== undefined && lastCpu !== undefined && cpu - lastCpu > longestCpu) {
      longestCpu = cpu - lastCpu;
      cpuStretch = { from: last, to: now };
    }
    last = now;
    lastCpu = cpu;
  };
  const timer = setInterval(tick, 2);
  try {
    const value = await f();
    tick();
    clearInterval(timer);
    // Node delivers the entries a turn or more later; nothing is timed meanwhile.
    await settlePauses();
    const longestCpuGc = pausedWithin(cpuStretch.from, cpuStretch.to);
    forgetPauses();
    return { value, longest, longestCpu, longestCpuGc };
  } finally {
    clearInterval(timer);
  }
}

/**
 * The text with its n-th edit: one number changed, as a user would type it (the model stays valid). Flat, as
 * VS Code's getText() gives it (it joins the document's lines; its cost is the table's getText() column):
 * `replace` makes a rope whose first slice made the engine copy all of it, 33-45 ms at 20,000 layers here,
 * counted as the host's longest task though the extension never meets a rope.
 */
export function edited(text: string, n: number): string {
  const rope = text.replace(/"momentum": 0\.99|"epsilon": 0\.001/, (s) => s.replace(/\d+$/, (d) => `${d}${n}`));
  // Converting a string to a number makes V8 flatten it (the engine's first slice then takes 0.3 ms, measured);
  // the result is used, so no compiler drops the conversion.
  if (!Number.isNaN(Number(rope))) throw new Error('lens bench: an edited model text reads as a number');
  return rope;
}

export async function benchLenses(rounds: number, root: string): Promise<LensRow[]> {
  const resnet = JSON.stringify(JSON.parse(readFileSync(resolve(root, '..', 'shared', 'fixtures', 'models', 'tfjs-legacy-resnet50-tensorspace.json'), 'utf8')), null, 2);
  const models: [string, string][] = [
    ['ResNet-50 (fixture, formatted)', resnet],
    ['synthetic conv, 5,000 layers', synthModelText({ layers: 5000, block: 'conv' })],
    ['synthetic conv, 20,000 layers', synthModelText({ layers: 20000, block: 'conv' })],
  ];
  const engine = new LensEngine({ workerFile: resolve(__dirname, "analysisWorker.js"), workerAbove: 0, debounceMs: 100 });
  const rows: LensRow[] = models.map(([model, text]) => ({ model, chars: text.length, path: "worker", lenses: 0, latencyMs: { min: 0, median: 0 }, longestHostTaskMs: 0, longestHostTaskCpuMs: 0, longestHostTaskGcMs: 0, longestEngineMs: 0, longestEngineCpuMs: 0, clickMs: { min: 0, median: 0 }, longestClickHostTaskMs: 0, longestClickHostTaskCpuMs: 0, getTextMs: { min: 0, median: 0 } }));
  const latencies = models.map(() => [] as number[]);
  const clicks = models.map(() => [] as number[]);
  const clicked = models.map(([, text]) => lastLayerName(text));
  // getText() in the extension host joins the document's lines (ExtHostDocumentData): timed once per round.
  const docLines = models.map(([, text]) => text.split('\n'));
  const joins = models.map(() => [] as number[]);
  let edit = 0;
  try {
    // Rounds interleave the models; the first round also starts the worker, as opening a file would.
    for (let r = 0; r < rounds + 1; r++) {
      for (const [i, [, text]] of models.entries()) {
        const t = edited(text, ++edit);
        const t0 = performance.now();
        engine.longestSyncMs = 0;
        engine.longestSyncCpuMs = 0;
        const { value, longest, longestCpu, longestCpuGc } = await withTicker(() => engine.request(`m${i}`, { fileName: `m${i}.json`, text: t, options: DEFAULT_OPTIONS }));
        if (!value?.ok) throw new Error(`lenses of ${models[i]![0]}: ${value ? value.error.message : 'superseded'}`);
        if (r === 0) continue;
        latencies[i]!.push(performance.now() - t0);
        const j0 = performance.now();
        if (docLines[i]!.join('\n').length !== text.length) throw new Error('lens bench: lines do not join to the text');
        joins[i]!.push(performance.now() - j0);
        rows[i]!.lenses = value.lenses.count;
        rows[i]!.longestHostTaskMs = Math.max(rows[i]!.longestHostTaskMs, longest);
        if (longestCpu > rows[i]!.longestHostTaskCpuMs) rows[i]!.longestHostTaskGcMs = longestCpuGc;
        rows[i]!.longestHostTaskCpuMs = Math.max(rows[i]!.longestHostTaskCpuMs, longestCpu);
        rows[i]!.longestEngineMs = Math.max(rows[i]!.longestEngineMs, engine.longestSyncMs);
        rows[i]!.longestEngineCpuMs = Math.max(rows[i]!.longestEngineCpuMs, engine.longestSyncCpuMs);
        // Then a click on its last layer, as the graph view and the Residuals view ask for it.
        const c0 = performance.now();
        const click = await withTicker(() => engine.locate(`m${i}`, { fileName: `m${i}.json`, text: t, layer: clicked[i]! }));
        if (!click.value?.ok || !click.value.span) throw new Error(`click in ${models[i]![0]}: layer ${clicked[i]} not located`);
        clicks[i]!.push(performance.now() - c0);
        rows[i]!.longestClickHostTaskMs = Math.max(rows[i]!.longestClickHostTaskMs, click.longest);
        rows[i]!.longestClickHostTaskCpuMs = Math.max(rows[i]!.longestClickHostTaskCpuMs, click.longestCpu);
      }
    }
    for (const [i, row] of rows.entries()) {
      row.latencyMs = { min: min(latencies[i]!), median: median(latencies[i]!) };
      row.clickMs = { min: min(clicks[i]!), median: median(clicks[i]!) };
      row.getTextMs = { min: min(joins[i]!), median: median(joins[i]!) };
      if (row.path !== 'worker') continue;
      const before = { ...engine.counts };
      // The edited texts are made before the ticker starts: the editor applies a keystroke to its lines, where
      // `edited` rewrites 10 MB (the ticker saw 40-48 ms of the host's CPU in it at 20,000 layers).
      const texts = Array.from({ length: 5 }, () => edited(models[i]![1], ++edit));
      const { value, longest, longestCpu, longestCpuGc } = await withTicker(async () => {
        const asked: Promise<unknown>[] = [];
        for (let k = 0; k < 5; k++) {
          asked.push(engine.request(`m${i}`, { fileName: `m${i}.json`, text: texts[k]!, options: DEFAULT_OPTIONS }));
          if (k < 4) await new Promise((done) => setTimeout(done, 30));
        }
        const t0 = performance.now();
        await Promise.all(asked);
        return performance.now() - t0;
      });
      row.longestHostTaskMs = Math.max(row.longestHostTaskMs, longest);
      if (longestCpu > row.longestHostTaskCpuMs) row.longestHostTaskGcMs = longestCpuGc;
      row.longestHostTaskCpuMs = Math.max(row.longestHostTaskCpuMs, longestCpu);
      row.burst = { latencyMs: value, analysed: engine.counts.worker - before.worker, superseded: engine.counts.superseded - before.superseded };
    }
  } finally {
    engine.dispose();
  }
  return rows;
}

export interface GraphOpenRow {
  model: string;
  layers: number;
  /** The snapshot's UTF-8 JSON, as posted to the webview. */
  bytes: number;
  /** Open Graph after an edit: from asking for the snapshot to its bytes on the host, ready to post. */
  openMs: { min: number; median: number };
  longestHostTaskMs: number;
  longestHostTaskCpuMs: number;
  /** The Residuals view's rows after the same edit (made in the worker), and the host's longest task then. */
  residualsMs: { min: number; median: number };
  residualsLongestHostTaskMs: number;
  residualsLongestHostTaskCpuMs: number;
}

/**
 * Opening the graph view, host side: each round edits the model (so the worker reads it again, as after
 * typing) and asks the engine for the snapshot, as the panel does on `ready`; the ticker records the host
 * thread's longest task until the bytes are there (VS Code then moves them to the webview as a buffer).
 * Then the Residuals view's rows of the same text, as the view refreshes after an edit.
 */
export async function benchGraphOpen(rounds: number, root: string, sizes: readonly number[] = [2000, 20000]): Promise<GraphOpenRow[]> {
  const models = sizes.map((layers) => ({ layers, text: synthModelText({ layers, block: 'conv' }) }));
  const engine = new LensEngine({ workerFile: resolve(root, 'dist', 'analysisWorker.js'), workerAbove: 0, debounceMs: 100 });
  const rows: GraphOpenRow[] = models.map(({ layers }) => ({ model: `synthetic conv, ${layers.toLocaleString('en-US')} layers`, layers, bytes: 0, openMs: { min: 0, median: 0 }, longestHostTaskMs: 0, longestHostTaskCpuMs: 0, residualsMs: { min: 0, median: 0 }, residualsLongestHostTaskMs: 0, residualsLongestHostTaskCpuMs: 0 }));
  const times = models.map(() => [] as number[]);
  const treeTimes = models.map(() => [] as number[]);
  let edit = 0;
  try {
    for (let r = 0; r < rounds + 1; r++) {
      for (const [i, { text }] of models.entries()) {
        const t = edited(text, ++edit);
        const t0 = performance.now();
        const { value, longest, longestCpu } = await withTicker(() => engine.graph(`g${i}`, { fileName: `g${i}.json`, text: t, options: DEFAULT_OPTIONS }));
        if (!value?.ok) throw new Error(`graph of ${rows[i]!.model}: ${value ? value.error.message : 'superseded'}`);
        if (r === 0) continue; // the first round also starts the worker
        times[i]!.push(performance.now() - t0);
        rows[i]!.bytes = value.graph.byteLength;
        rows[i]!.longestHostTaskMs = Math.max(rows[i]!.longestHostTaskMs, longest);
        rows[i]!.longestHostTaskCpuMs = Math.max(rows[i]!.longestHostTaskCpuMs, longestCpu);
        // The Residuals view of the same text, as it refreshes after the edit (the worker has the model read).
        const v0 = performance.now();
        const tree = await withTicker(() => engine.residuals(`g${i}`, { fileName: `g${i}.json`, text: t, options: DEFAULT_OPTIONS }));
        if (!tree.value?.ok) throw new Error(`residuals of ${rows[i]!.model}: ${tree.value ? tree.value.error.message : 'superseded'}`);
        treeTimes[i]!.push(performance.now() - v0);
        rows[i]!.residualsLongestHostTaskMs = Math.max(rows[i]!.residualsLongestHostTaskMs, tree.longest);
        rows[i]!.residualsLongestHostTaskCpuMs = Math.max(rows[i]!.residualsLongestHostTaskCpuMs, tree.longestCpu);
      }
    }
  } finally {
    engine.dispose();
  }
  for (const [i, row] of rows.entries()) {
    row.openMs = { min: min(times[i]!), median: median(times[i]!) };
    row.residualsMs = { min: min(treeTimes[i]!), median: median(treeTimes[i]!) };
  }
  return rows;
}

export function graphOpenTable(rows: GraphOpenRow[]): string {
  return benchTable(
    'lens',
    ['model', 'snapshot MB', 'open graph to bytes on the host ms min / med', 'longest host task ms (wall / thread CPU)', 'Residuals view rows ms min / med', 'its longest host task ms (wall / thread CPU)'],
    rows.map((r) => [
      r.model,
      (r.bytes / 1e6).toFixed(1),
      `${ms(r.openMs.min)} / ${ms(r.openMs.median)}`,
      `${ms(r.longestHostTaskMs)} / ${ms(r.longestHostTaskCpuMs)}`,
      `${ms(r.residualsMs.min)} / ${ms(r.residualsMs.median)}`,
      `${ms(r.residualsLongestHostTaskMs)} / ${ms(r.residualsLongestHostTaskCpuMs)}`,
    ]),
    new Set([1, 2, 3, 4, 5]),
  );
}

export function lensTable(rows: LensRow[]): string {
  return benchTable(
    'lens',
    ['model', 'chars', 'runs on', 'lenses', 'edit to lenses ms min / med', 'longest host task ms (ticker wall / thread CPU / engine / engine CPU)', "collector's pauses in the longest host task ms", 'burst of 5: last edit to lenses ms, analyses', 'click to layer ms min / med', 'click: longest host task ms (wall / thread CPU)', "VS Code's getText() ms min / med"],
    rows.map((r) => [
      r.model,
      r.chars.toLocaleString('en-US'),
      r.path,
      String(r.lenses),
      `${ms(r.latencyMs.min)} / ${ms(r.latencyMs.median)}`,
      `${ms(r.longestHostTaskMs)} / ${ms(r.longestHostTaskCpuMs)} / ${ms(r.longestEngineMs)} / ${ms(r.longestEngineCpuMs)}`,
      ms(r.longestHostTaskGcMs),
      r.burst ? `${ms(r.burst.latencyMs)}, ${r.burst.analysed} (${r.burst.superseded} superseded)` : '',
      `${ms(r.clickMs.min)} / ${ms(r.clickMs.median)}`,
      `${ms(r.longestClickHostTaskMs)} / ${ms(r.longestClickHostTaskCpuMs)}`,
      `${ms(r.getTextMs.min)} / ${ms(r.getTextMs.median)}`,
    ]),
    new Set([1, 3, 4, 5, 6, 8, 9, 10]),
  );
}
