/**
 * The commands' host side at 5,000 and 20,000 layers: Apply Variant to All (its quick pick's items), Apply at
 * Cursor away from a residual (the residuals to pick from), Show
 * Summary (its text), Train (whether the model reads, then its outputs) and Compare (its items), each as it
 * runs now (the analysis worker answers with the small data the command needs) and as it ran before (the
 * worker's OpenModel copied to the host by structured clone, the items made on the host from it). Rounds
 * interleave commands, paths and models; each run follows an edit, so the worker reads the model again as
 * after typing. A 2 ms ticker on the host thread records its longest task (wall, and the thread's own CPU).
 */
import { DEFAULT_OPTIONS } from '../src/core/laurel/variants';
import { commandAnswer, type CommandQuery } from '../src/extension/commandFacts';
import { LensEngine } from '../src/extension/lensEngine';
import { resolve } from 'node:path';
import { benchTable } from './readme';
import { edited, withTicker } from './lensBench';
import { median, min, ms, type MinMedian } from './stats';
import { synthModelText } from './synthModels';

export interface CommandRow {
  command: string;
  model: string;
  path: 'worker answer' | 'whole model to the host (before)';
  /** From the command's start to its answer on the host. */
  wallMs: MinMedian;
  /** The host thread's longest task per run, over the runs: wall, and the thread's own CPU. */
  longestTaskMs: MinMedian;
  longestTaskCpuMs: MinMedian;
}

/** Each command's questions, in the order it asks them. */
const COMMANDS: [string, CommandQuery[]][] = [
  ['Apply Variant to All: picks', [{ what: 'picks', preferred: 'rw' }]],
  ['Apply at Cursor: residuals to pick', [{ what: 'sites' }]],
  ['Show Summary', [{ what: 'summary' }]],
  ['Train: reads, outputs', [{ what: 'reads' }, { what: 'outputs' }]],
  ['Compare: picks', [{ what: 'compare' }]],
];

export async function benchCommands(rounds: number, root: string, sizes: readonly number[] = [5000, 20000]): Promise<CommandRow[]> {
  const models = sizes.map((layers) => ({ name: `synthetic conv, ${layers.toLocaleString('en-US')} layers`, text: synthModelText({ layers, block: 'conv' }) }));
  const engine = new LensEngine({ workerFile: resolve(root, 'dist', 'analysisWorker.js'), workerAbove: 0, debounceMs: 100 });
  const paths = ['worker answer', 'whole model to the host (before)'] as const;
  const runs = new Map<string, { wall: number[]; task: number[]; cpu: number[] }>();
  let edit = 0;
  try {
    for (let r = 0; r < rounds + 1; r++) {
      for (const [m, { text }] of models.entries()) {
        for (const [command, queries] of COMMANDS) {
          for (const path of paths) {
            const t = edited(text, ++edit);
            const key = `m${m}`;
            const t0 = performance.now();
            const { longest, longestCpu } = await withTicker(async () => {
              if (path === 'worker answer') {
                for (const query of queries) {
                  const a = await engine.command(key, { fileName: `${key}.json`, text: t, options: DEFAULT_OPTIONS, query });
                  if (!a?.ok) throw new Error(`${command} of ${models[m]!.name}: ${a ? a.error.message : 'superseded'}`);
                }
                return;
              }
              // Before: the whole model came to the host (once per text), and the command made its data there.
              const whole = await engine.model(key, { fileName: `${key}.json`, text: t });
              if (!whole?.ok) throw new Error(`model of ${models[m]!.name}: ${whole ? whole.error.message : 'superseded'}`);
              for (const query of queries) commandAnswer(whole.model, query, DEFAULT_OPTIONS);
            });
            if (r === 0) continue; // the first round also starts the worker
            const id = `${command}\0${m}\0${path}`;
            const run = runs.get(id) ?? { wall: [], task: [], cpu: [] };
            run.wall.push(performance.now() - t0);
            run.task.push(longest);
            run.cpu.push(longestCpu);
            runs.set(id, run);
          }
        }
      }
    }
  } finally {
    engine.dispose();
  }
  return COMMANDS.flatMap(([command]) =>
    models.flatMap(({ name }, m) =>
      paths.map((path) => {
        const run = runs.get(`${command}\0${m}\0${path}`)!;
        return { command, model: name, path, wallMs: stat(run.wall), longestTaskMs: stat(run.task), longestTaskCpuMs: stat(run.cpu) };
      }),
    ),
  );
}

const stat = (xs: number[]): MinMedian => ({ min: min(xs), median: median(xs) });

export function commandTable(rows: CommandRow[]): string {
  return benchTable(
    'lens',
    ['command', 'model', 'path', 'command to answer ms min / med', 'longest host task ms min / med (wall)', 'its thread CPU ms min / med'],
    rows.map((r) => [r.command, r.model, r.path, `${ms(r.wallMs.min)} / ${ms(r.wallMs.median)}`, `${ms(r.longestTaskMs.min)} / ${ms(r.longestTaskMs.median)}`, `${ms(r.longestTaskCpuMs.min)} / ${ms(r.longestTaskCpuMs.median)}`]),
    new Set([3, 4, 5]),
  );
}
