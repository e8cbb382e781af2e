/**
 * `npm run bench`: training throughput of our engine against PyTorch on the CPU, the step-time and
 * memory overhead of each LAuReL variant against the plain residual, and WebAssembly against plain CPU.
 * Every figure is a ratio against a baseline measured in the same run. Results go to the terminal and
 * to bench-results/latest.json.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchTable, updateReadme, type MachineLatency } from './readme';
import { memoryLatency } from './memoryLatency';
import { openModel } from '../src/core/model';
import type { OpenModel } from '../src/core/model';
import { parsePlan, resolvePlan } from '../src/core/laurel/planSpec';
import { buildModel } from '../src/laurel/buildModel';
import { analysisTable, benchAnalysis } from './analysisBench';
import { median, min } from './stats';
import type { AnalysisResult } from './analysisBench';
import { benchExport, exportTable } from './exportBench';
import type { ExportBenchModel, ExportBenchRow } from './exportBench';
import { benchGraphOpen, benchLenses, graphOpenTable, lensTable } from './lensBench';
import type { GraphOpenRow, LensRow } from './lensBench';
import { benchCommands, commandTable, type CommandRow } from './commandBench';
import { benchPySource, pyBenchTable } from './pyBench';
import type { PyBenchRow } from './pyBench';
import { selectBackend } from '../src/trainer/backend';
import type { BackendPreference } from '../src/trainer/backend';

interface Result {
  engine: string;
  model: string;
  variant: string;
  params: number;
  stepMs: number;
  /** Fastest step over the interleaved rounds. */
  stepMinMs?: number;
  samplesPerSec: number;
  peakMb: number;
}

const MODELS = ['resnet-mini', 'prenorm-mixer'];
const VARIANTS: [string, string][] = [['plain', 'plain'], ['rw', 'rw'], ['lr', 'lr:r=16'], ['rw+lr', 'rw+lr:r=16'], ['pa', 'pa:k=3']];

/** Deterministic inputs (no tf RNG, so every backend sees the same numbers). */
function batchFor(m: OpenModel, batch: number): { x: tf.Tensor; y: tf.Tensor } {
  const input = m.analysis.shapes.get(m.doc.graph.inputs[0]!.node)![0]!;
  const dims = input.slice(1) as number[];
  const n = batch * dims.reduce((a, b) => a * b, 1);
  let s = 12345;
  const rand = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const x = tf.tensor(Float32Array.from({ length: n }, rand), [batch, ...dims]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
  return { x, y };
}

/**
 * Every variant of one model trained step by step in turns (ABCD ABCD …, the first of each round
 * rotating), so that a change of load on the machine reaches all of them alike. Step time: min and
 * median over the rounds after warm-up. Peak memory is the variant's own, from the allocator: what its
 * model holds (bytes allocated while building it), its optimizer's slots (bytes its first step leaves),
 * and the transient peak of one step of it alone (tf.profile), so no variant inherits another's.
 */
async function timeTfjs(engine: string, name: string, m: OpenModel, variants: [string, string][], steps: number, batch: number, warmup = 3): Promise<Result[]> {
  const { x, y } = batchFor(m, batch);
  const runs: { variant: string; model: tf.LayersModel; optimizer: tf.Optimizer; held: number; times: number[] }[] = [];
  for (const [variant, spec] of variants) {
    const before = tf.memory().numBytes;
    const model = await buildModel(m, resolvePlan(parsePlan(spec), m.sites));
    const optimizer = tf.train.adam(1e-3);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    runs.push({ variant, model, optimizer, held: tf.memory().numBytes - before, times: [] });
  }
  for (let i = 0; i < steps + warmup; i++) {
    for (let k = 0; k < runs.length; k++) {
      const r = runs[(i + k) % runs.length]!;
      const bytes = tf.memory().numBytes;
      const t0 = performance.now();
      const loss = (await r.model.trainOnBatch(x, y)) as number;
      if (i >= warmup) r.times.push(performance.now() - t0);
      if (!Number.isFinite(loss)) throw new Error(`${name} ${r.variant}: loss ${loss} at step ${i}`);
      // The first step creates the optimizer's slots, which stay.
      if (i === 0) r.held += tf.memory().numBytes - bytes;
    }
  }
  const results: Result[] = [];
  for (const r of runs) {
    const bytes = tf.memory().numBytes;
    const profile = await tf.profile(async () => {
      await r.model.trainOnBatch(x, y);
    });
    const stepMs = median(r.times);
    results.push({ engine, model: name, variant: r.variant, params: r.model.countParams(), stepMs, stepMinMs: min(r.times), samplesPerSec: (batch * 1000) / stepMs, peakMb: (r.held + profile.peakBytes - bytes) / 2 ** 20 });
  }
  for (const r of runs) {
    r.model.dispose();
    r.optimizer.dispose();
  }
  tf.dispose([x, y]);
  return results;
}

/**
 * The hand-written PyTorch reference (bench/torch_bench.py): step times from one process that trains
 * the variants in turns; peak memory from one short process per variant (ru_maxrss only grows, so a
 * process shared by variants would give each the largest so far).
 */
function timeTorch(python: string, name: string, steps: number, batch: number): Result[] {
  const script = resolve(__dirname, '..', 'bench', 'torch_bench.py');
  const torch = (variants: string[], n: number): { variant: string; params: number; stepMs: number; stepMinMs: number; samplesPerSec: number; peakRssMb: number; torch: string; threads: number }[] => {
    const r = spawnSync(python, [script, '--model', name, '--variants', variants.join(','), '--steps', String(n), '--batch', String(batch)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`PyTorch benchmark failed (${python}): ${r.stderr || r.error}`);
    return r.stdout.trim().split('\n').map((line) => JSON.parse(line));
  };
  const timed = torch(VARIANTS.map((v) => v[0]), steps);
  return timed.map((j) => ({
    engine: `pytorch-cpu ${j.torch} (${j.threads} thread)`,
    model: name,
    variant: j.variant,
    params: j.params,
    stepMs: j.stepMs,
    stepMinMs: j.stepMinMs,
    samplesPerSec: j.samplesPerSec,
    peakMb: torch([j.variant], 2)[0]!.peakRssMb,
  }));
}

/** Debian's python3-torch installs for /usr/bin/python3; a pyenv python3 on PATH may not have it. */
function findTorchPython(): string | undefined {
  for (const p of [process.env['LAUREL_PYTHON'], '/usr/bin/python3', 'python3'].filter(Boolean) as string[]) {
    if (spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return p;
  }
  return undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '20' },
      batch: { type: 'string', default: '32' },
      out: { type: 'string', default: 'bench-results/latest.json' },
      // Which parts to run: analysis (openModel vs JSON.parse by size), lens (the editor's lenses), pysource (.py lenses and measurement),
      // export (the exported PyTorch module against the hand-written one), training.
      sections: { type: 'string', default: 'analysis,lens,pysource,export,training' },
      sizes: { type: 'string', default: '100,1000,3000,10000,20000' },
      rounds: { type: 'string', default: '3' },
      // Write this run's tables into README.md's `<!-- bench:NAME -->` blocks (bench/readme.ts).
      readme: { type: 'boolean', default: false },
    },
  });
  const steps = Number(values.steps);
  const batch = Number(values.batch);
  const sections = new Set(values.sections!.split(','));
  const rounds = Number(values.rounds);
  const root = resolve(__dirname, '..');
  const results: Result[] = [];
  const notes: string[] = [];
  let analysis: AnalysisResult | undefined;
  // The machine as the run found it: on a shared machine the caches can be taken by neighbours, and the
  // analysis and lens figures move with memory latency (memoryLatency.ts).
  const latencyAtStart = memoryLatency();
  console.log(`${latencyAtStart.what}: ${latencyAtStart.ns}`);

  if (sections.has('analysis')) {
    const sizes = values.sizes!.split(',').map(Number);
    analysis = await benchAnalysis(sizes, rounds, [Math.max(...sizes)]);
    console.log(`\nAnalysis: openModel against JSON.parse of the same text (${rounds} interleaved rounds)`);
    console.log(analysisTable(analysis));
  }
  let lenses: LensRow[] | undefined;
  let graphOpen: GraphOpenRow[] | undefined;
  let commands: CommandRow[] | undefined;
  if (sections.has('lens')) {
    lenses = await benchLenses(rounds + 2, root);
    console.log(`\nLenses after an edit (LensEngine as the extension host runs it; ${rounds + 2} rounds)`);
    console.log(lensTable(lenses));
    graphOpen = await benchGraphOpen(rounds + 2, root);
    console.log(`\nOpening the graph view, host side (the snapshot built in the worker; ${rounds + 2} rounds)`);
    console.log(graphOpenTable(graphOpen));
    commands = await benchCommands(rounds, root);
    console.log(`\nCommands, host side: the worker's answer against the whole model copied to the host (before); ${rounds} interleaved rounds`);
    console.log(commandTable(commands));
  }
  let pysource: PyBenchRow[] | undefined;
  if (sections.has('pysource')) {
    pysource = await benchPySource(rounds + 2, root);
    console.log(`\nPyTorch .py sources (${rounds + 2} rounds)`);
    console.log(pyBenchTable(pysource));
  }
  let exported: ExportBenchRow[] | undefined;
  if (sections.has('export')) {
    const python = findTorchPython();
    if (python) {
      // The two examples, and the ResNet-18 fixture (96x96x3; a smaller batch, its step is ~40x resnet-mini's) where present.
      const models: ExportBenchModel[] = MODELS.map((name) => ({ name, file: join(root, 'examples', `${name}.json`), batch }));
      const resnet18 = join(root, '..', 'shared', 'fixtures', 'models', 'keras-resnet18-custom-doubleencoded.json');
      if (existsSync(resnet18)) models.push({ name: 'resnet18', file: resnet18, batch: Math.max(1, Math.round(batch / 4)) });
      else notes.push(`${resnet18} not found: the export benchmark ran without ResNet-18.`);
      exported = benchExport(python, root, models, VARIANTS, steps);
      console.log(`\nExported PyTorch module against the hand-written one (bench/torch_bench.py), same process, interleaved rounds (${steps} steps)`);
      console.log(exportTable(exported));
    } else notes.push('PyTorch not found (install Debian python3-torch): the export benchmark was not run.');
  }
  const machine = (): MachineLatency => ({ what: latencyAtStart.what, start: latencyAtStart.ns, end: memoryLatency().ns });
  if (!sections.has('training')) return writeResults(resolve(root, values.out!), { date: new Date().toISOString(), analysis, lenses, graphOpen, commands, pysource, exported, notes }, values.readme ? join(root, 'README.md') : undefined, sections, machine());

  for (const backend of ['wasm', 'cpu'] as BackendPreference[]) {
    const choice = await selectBackend(backend);
    const engine = `tfjs-${choice.name}${choice.threads ? ` (${choice.threads} thread${choice.threads > 1 ? 's' : ''}${choice.simd ? ', simd' : ''})` : ''}`;
    for (const name of MODELS) {
      const m = openModel(`${name}.json`, readFileSync(join(root, 'examples', `${name}.json`)));
      const cpu = backend === 'cpu';
      // Warm the backend up on this model first (kernel caches, allocator), or the first run pays for it.
      if (!cpu) await timeTfjs(engine, name, m, [['warm-up', 'plain']], 2, batch);
      // The CPU backend is only the wasm baseline: plain residuals, a few steps (it is ~50x slower).
      for (const r of await timeTfjs(engine, name, m, cpu ? VARIANTS.slice(0, 1) : VARIANTS, cpu ? Math.min(steps, 2) : steps, batch, cpu ? 1 : 3)) {
        results.push(r);
        console.log(`${r.engine.padEnd(22)} ${name.padEnd(14)} ${r.variant.padEnd(6)} ${r.stepMs.toFixed(1).padStart(8)} ms/step ${r.samplesPerSec.toFixed(0).padStart(7)} samples/s`);
      }
    }
  }
  const python = findTorchPython();
  if (python) {
    for (const name of MODELS) for (const r of timeTorch(python, name, steps, batch)) {
      results.push(r);
      console.log(`${r.engine.padEnd(22)} ${name.padEnd(14)} ${r.variant.padEnd(6)} ${r.stepMs.toFixed(1).padStart(8)} ms/step ${r.samplesPerSec.toFixed(0).padStart(7)} samples/s`);
    }
  } else {
    notes.push('PyTorch not found (install Debian python3-torch): the PyTorch comparison was not run.');
  }

  const find = (engine: string, model: string, variant: string): Result | undefined => results.find((r) => r.engine.startsWith(engine) && r.model === model && r.variant === variant);
  const ratio = (a?: number, b?: number): string => (a && b ? `${(a / b).toFixed(2)}x` : '-');
  const pct = (a?: number, b?: number): string => (a && b ? `${a >= b ? '+' : ''}${((a / b - 1) * 100).toFixed(1)}%` : '-');

  const overhead = results
    .filter((r) => r.variant !== 'plain' && (r.engine.startsWith('tfjs-wasm') || r.engine.startsWith('pytorch')))
    .map((r) => {
      const base = find(r.engine.split(' ')[0]!, r.model, 'plain')!;
      const fastest = r.stepMinMs && base.stepMinMs ? ` (min ${pct(r.stepMinMs, base.stepMinMs)})` : '';
      return [r.engine.split(' ')[0]!, r.model, r.variant, `+${(r.params - base.params).toLocaleString('en-US')}`, `${pct(r.stepMs, base.stepMs)}${fastest}`, pct(r.peakMb, base.peakMb)];
    });
  const speed = MODELS.map((name) => {
    const w = find('tfjs-wasm', name, 'plain');
    const c = find('tfjs-cpu', name, 'plain');
    const p = find('pytorch', name, 'plain');
    return [name, w?.samplesPerSec.toFixed(0) ?? '-', c?.samplesPerSec.toFixed(0) ?? '-', p?.samplesPerSec.toFixed(0) ?? '-', ratio(w?.samplesPerSec, c?.samplesPerSec), ratio(w?.samplesPerSec, p?.samplesPerSec)];
  });
  console.log(`\nThroughput, plain residuals (batch ${batch}, median of ${steps} steps; samples/s)`);
  console.log(benchTable('training', ['model', 'tfjs wasm', 'tfjs cpu', 'pytorch cpu', 'wasm / cpu', 'wasm / pytorch'], speed, new Set([1, 2, 3, 4, 5])));
  console.log('\nLAuReL overhead against the plain residual of the same engine (paper Table 5: RW +0%, LR +3.2%, RW+LR +4.2% step time)');
  console.log(benchTable('overhead', ['engine', 'model', 'variant', 'params', 'step time', 'peak memory'], overhead, new Set([3, 4, 5])));
  for (const n of notes) console.log(n);

  writeResults(resolve(root, values.out!), { date: new Date().toISOString(), analysis, lenses, graphOpen, commands, pysource, exported, steps, batch, results, notes }, values.readme ? join(root, 'README.md') : undefined, sections, machine());
}

function writeResults(out: string, value: unknown, readme: string | undefined, sections: Set<string>, machine: MachineLatency): void {
  mkdirSync(resolve(out, '..'), { recursive: true });
  console.log(`\n${machine.what}: ${machine.end} (at the end)`);
  writeFileSync(out, JSON.stringify({ ...(value as object), machine }, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
  if (!existsSync(out)) process.exitCode = 1;
  if (readme) console.log(`README.md: replaced the tables of ${updateReadme(readme, `\`npm run bench -- --sections ${[...sections].join(',')}\``, machine).join(', ')}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});
