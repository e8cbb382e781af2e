/**
 * The PyTorch engine: trains the module toPyTorch() generates (or a PyTorch source's variant) in the Python
 * harness (pythonHarness.ts runs it) and makes the TF.js engine's run record from its events.
 *
 * Same start and same data as the TF.js engine: the TF.js model is built in the run's seeded scope and its
 * initial weights are copied in (load_tfjs_weights), and the per-epoch data order is the permutation model.fit
 * draws (Fisher-Yates on the seeded global stream, cumulative over epochs). The TF.js engine draws dropout masks
 * from that stream too, so with dropout layers the orders part after the first epoch; dropout masks themselves
 * come from torch's generator (torch.manual_seed(seed)).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { EngineChoice, RunRecord, TrainConfig } from '../protocol/runRecords';
import type { EpochEndEvent } from '../protocol/trainerProtocol';
import { writeFileAtomic } from '../util/fsAtomic';
import { divergenceRule } from './divergence';
import { epochMetrics, freePort, harnessNumber, KILL_AFTER_MS, pythonArgs, runPython } from './pythonHarness';
import { moduleClassName, npyBytes, writePySourceFolder, writeTrainingFolder } from './pytorchScript';
import laurelResidualPy from '../python/laurel_residual.py';
import { mulberry32 } from '../core/random';
import { hashSeed, seedScope } from './seed';
import { inputList, sampleCount, xOf } from './data/inputs';
import { hasNonFinite, labelsFor, lossFor, outputHead } from './lossAndLabels';
import type { OutputHead } from './lossAndLabels';
import { recordCurve, recordHeader, summariseEpochs, testLine, testSet, validateConfig } from './run';
import type { RunSpec, TrainData, TrainOptions, TrainResult } from './run';
import { RUN_RECORD } from './runStub';
import { optimizerText } from './optimizerOptions';

export const TORCH_STATE = 'model.pt';
export const TORCH_MODULE = 'model.py';

/** The index order model.fit trains in: its in-place Fisher-Yates shuffle, once per epoch, on the seeded global stream. */
export function tfjsDataOrder(seed: number, trainSamples: number, epochs: number): Int32Array {
  const random = mulberry32(hashSeed(seed, 'global'));
  const index = Int32Array.from({ length: trainSamples }, (_, i) => i);
  const out = new Int32Array(trainSamples * epochs);
  for (let e = 0; e < epochs; e++) {
    for (let counter = trainSamples; counter > 0; ) {
      const i = (random() * counter) | 0;
      counter--;
      const t = index[counter]!;
      index[counter] = index[i]!;
      index[i] = t;
    }
    out.set(index, e * trainSamples);
  }
  return out;
}

/** Processes must be a positive integer dividing the batch size: each rank trains batchSize / processes samples per step. */
export function checkProcesses(config: TrainConfig): number {
  const p = config.processes ?? 1;
  if (!Number.isInteger(p) || p < 1) throw new Error(`processes must be a positive integer, got ${p}`);
  if (config.batchSize % p !== 0) {
    throw new Error(`batch size ${config.batchSize} cannot be split over ${p} processes: use a batch size divisible by ${p} (each process trains batchSize / ${p} samples per step)`);
  }
  return p;
}

/** Training options for the PyTorch engine beyond TrainOptions (tests and the GPU check use them). */
export interface PyTorchRunOptions extends TrainOptions {
  engine: EngineChoice;
  /** 'auto' (default): compile on CUDA only. */
  compile?: boolean | 'auto';
  /** torch threads on the CPU (default: torch's). */
  threads?: number;
  /** Keep the temp folder with the script and data (debugging). */
  keepTemp?: boolean;
}

/**
 * Trains `spec` with PyTorch. Same contract as trainRun: cancelling (the signal) closes Python's stdin, it stops
 * after the batch in progress and saves (killed when it has not ended 3 s later); a NaN or infinite loss stops at
 * once and saves no weights; a Python error rejects with its message. The record has the TF.js engine's shape
 * with `engine` filled in and `saved.torchState` (model.pt) and `saved.torchModule` (model.py) beside run.json.
 */
export async function trainRunPyTorch(spec: RunSpec, data: TrainData, config: TrainConfig, opts: PyTorchRunOptions): Promise<TrainResult> {
  validateConfig(config);
  const processes = checkProcesses(config);
  const engine = opts.engine;
  if (engine.name !== 'pytorch' || !engine.python) throw new Error('trainRunPyTorch needs a resolved PyTorch engine');
  if (!spec.pytorch && !spec.pySource) throw new Error(`${spec.name}: this run has no PyTorch module (RunSpec.pytorch)`);
  const src = spec.pySource;
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const curve = recordCurve(opts.sink);
  const sink = curve.sink;
  const exp = src ? undefined : spec.pytorch!();
  if (exp?.unsupported.length) {
    // One message naming every layer without a PyTorch form, before anything is written or started.
    throw new Error(`${spec.name}: the PyTorch engine cannot run ${exp.unsupported.map((u) => `${u.layer} (${u.className})`).join(', ')}; train it with --engine tfjs`);
  }
  const className = exp ? moduleClassName(exp.code) : 'build';
  // A PyTorch source starts from its own initialisation (the file's modules under torch.manual_seed(seed)).
  const init = src ? 'source' : (config.torchInit ?? 'keras');
  const temp = mkdtempSync(join(tmpdir(), 'laurel-torch-'));
  try {
    const n = sampleCount(xOf(data)) || data.samples;
    const trainSamples = Math.floor(n * (1 - config.validationSplit));
    const valSamples = n - trainSamples;
    if (trainSamples < 1) throw new Error(`no training samples: ${n} sample(s) with validationSplit ${config.validationSplit}`);
    // The loss, the labels and the counts come from the model itself (the core's figures); TF.js is built only
    // when its initial weights are asked for.
    let head = (src ? src.head : exp?.output) ?? { units: null, activation: undefined };
    let manifest: Record<string, { offset: number; shape: number[] }> | undefined;
    if (init === 'tfjs') {
      const tfjs = await tfjsInitialWeights(spec, config.seed, join(temp, 'weights.bin'));
      manifest = tfjs.manifest;
      head = tfjs.head;
    }
    // A PyTorch source: per-token logits take token cross-entropy; `loss=mse` regresses class logits on one-hot labels;
    // `loss=model` trains on the loss its forward returns with the targets (then the labels stay class indices).
    const lossName = src && !src.head ? 'tokenCrossEntropy' : src?.loss === 'mse' ? 'meanSquaredError' : lossFor(head, data.classes).name;
    // The core's exact count of the planned model (parameters and BN statistics); a custom RunSpec without one takes Python's.
    const fileTotal = spec.baseParams !== undefined ? spec.baseParams + (spec.addedParams ?? 0) : undefined;
    let nonFiniteData = false;
    const labelsOf = (d: TrainData): tf.Tensor => (src && (!src.head || src.loss === 'model') ? d.y : labelsFor(head, d));
    const labels = labelsOf(data);
    try {
      nonFiniteData = inputList(xOf(data)).some(hasNonFinite) || hasNonFinite(labels);
      writeInputs(temp, 'x', data);
      writeFileSync(join(temp, 'y.npy'), npyBytes(labels.dataSync() as Float32Array, labels.shape));
    } finally {
      if (labels !== data.y) labels.dispose();
    }
    if (data.test) {
      // The held-out test set: the harness evaluates its best-validation checkpoint on it once, after training.
      const t = data.test;
      const ty = labelsOf({ ...data, y: t.y });
      writeInputs(temp, 'x_test', t);
      writeFileSync(join(temp, 'y_test.npy'), npyBytes(ty.dataSync() as Float32Array, ty.shape));
      if (ty !== t.y) ty.dispose();
    }
    const order = tfjsDataOrder(config.seed, trainSamples, config.epochs);
    writeFileSync(join(temp, 'order.npy'), npyBytes(order, [config.epochs, trainSamples]));
    const folder = src ? writePySourceFolder(temp, src.fileName, src.text) : { script: writeTrainingFolder(temp, exp!), file: '' };
    const script = folder.script;
    if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
    const stateDict = opts.outDir ? join(opts.outDir, TORCH_STATE) : null;
    const cfg = {
      className,
      seed: config.seed,
      optimizer: config.optimizer,
      learningRate: config.learningRate,
      batchSize: config.batchSize,
      epochs: config.epochs,
      ...(config.maxSteps !== undefined ? { maxSteps: config.maxSteps } : {}),
      // The research options (trainer/optimizerOptions.ts), applied by the harness with the same rules.
      ...Object.fromEntries((['lrSchedule', 'warmupSteps', 'weightDecay', 'noDecay', 'clipNorm'] as const).filter((k) => config[k] !== undefined).map((k) => [k, config[k]])),
      trainSamples,
      loss: lossName,
      ...(src?.loss === 'model' ? { modelLoss: true } : {}),
      // One .npy per input for a model with several: the harness calls forward with them in this order.
      x: inputFiles(temp, 'x', data),
      y: join(temp, 'y.npy'),
      order: join(temp, 'order.npy'),
      ...(data.test ? { test: { x: inputFiles(temp, 'x_test', data.test), y: join(temp, 'y_test.npy') } } : {}),
      ...(src ? { pySource: { file: folder.file, userDir: src.userDir, model: src.model } } : manifest ? { weights: { bin: join(temp, 'weights.bin'), manifest } } : { kerasInit: true }),
      throttleMs: opts.throttleMs ?? 1000,
      watchStdin: true,
      compile: opts.compile ?? 'auto',
      ...(opts.threads ? { threads: opts.threads } : {}),
      stateDict,
      divergence: divergenceRule(lossName, data.classes),
    };
    writeFileSync(join(temp, 'config.json'), JSON.stringify(cfg));
    const buildMs = performance.now() - t0;
    sink.log?.({
      level: 'info',
      message:
        `${spec.name}: ${fileTotal !== undefined ? fileTotal.toLocaleString('en-US') : '?'} params (+${(spec.addedParams ?? 0).toLocaleString('en-US')}), ${trainSamples} train / ${valSamples} val samples, ` +
        `batch ${config.batchSize}${processes > 1 ? ` over ${processes} processes` : ''}, ${Math.ceil(trainSamples / config.batchSize)} steps/epoch, ${src?.loss === 'model' ? 'loss=model (what the forward returns with the targets)' : lossName}, ${optimizerText(config)}, engine pytorch ${engine.device}, ` +
        (src ? `initial weights from ${src.model} under torch.manual_seed(${config.seed})` : manifest ? 'initial weights copied from TF.js' : 'initial weights from the Keras initializers in the file'),
    });

    const port = processes > 1 ? await freePort() : 0;
    // The epoch events carry the split this run uses, as the TF.js engine's do.
    const counted = { ...sink, epochEnd: (e: EpochEndEvent) => sink.epochEnd?.({ ...e, trainSamples, valSamples }) };
    const done = await runPython(engine.python, pythonArgs(script, join(temp, 'config.json'), processes, port), processes, spec.name, config, { ...opts, sink: counted });
    const epochs = done.epochs.map(epochMetrics);
    let status = done.status;
    let message = done.message ?? undefined;
    if (status === 'diverged') {
      message = `${message}; training stopped: ${nonFiniteData ? 'the data contain NaN or Inf values' : `try a lower learning rate (now ${config.learningRate}, ${config.optimizer})`}`;
      sink.log?.({ level: 'error', message: `${spec.name}: ${message}` });
    } else if (status === 'completed' && done.budgetHit) {
      message = `stopped at the step budget (${config.maxSteps} steps)`;
    } else if (status === 'cancelled') {
      message = done.killed ? `cancelled; Python did not stop within ${KILL_AFTER_MS / 1000} s and was killed (no model.pt)` : `cancelled after ${done.steps} step(s)`;
      status = 'cancelled';
      sink.log?.({ level: 'warn', message: `${spec.name}: ${message}` });
    }
    const total = fileTotal ?? done.params.total;
    if (!done.killed && done.params.total !== total) {
      sink.log?.({ level: 'warn', message: `${spec.name}: the PyTorch module has ${done.params.total} parameters and statistics, the model file ${total}` });
    }
    const trainable = done.params.trainable;

    const saveStart = performance.now();
    let saved: RunRecord['saved'];
    if (opts.outDir) {
      saved = { dir: opts.outDir, record: join(opts.outDir, RUN_RECORD) };
      if (done.stateDict) {
        writeFileAtomic(join(opts.outDir, TORCH_MODULE), src ? src.text : exp!.code);
        if (src?.usesLaurel) writeFileAtomic(join(opts.outDir, 'laurel_residual.py'), laurelResidualPy);
        saved.torchState = done.stateDict;
        saved.torchModule = join(opts.outDir, TORCH_MODULE);
      }
    }
    const { final, best } = summariseEpochs(epochs);
    const test: RunRecord['test'] = data.test && done.test ? { name: data.test.name, samples: data.test.samples, loss: harnessNumber(done.test.loss) ?? null, acc: harnessNumber(done.test.acc) ?? null, epoch: done.test.epoch, by: done.test.by } : undefined;
    if (test) sink.log?.({ level: 'info', message: `${spec.name}: ${testLine(test)}` });
    const base = spec.baseParams ?? total;
    const added = spec.addedParams ?? total - base;
    const record: RunRecord = {
      ...recordHeader(spec, config, opts.backend, status, message),
      engine: {
        ...engine,
        device: done.device,
        precision: done.precision,
        compiled: done.compiled,
        ...(done.compileNote ? { compileNote: done.compileNote } : {}),
        threads: done.threads,
        memory: done.device === 'cuda' ? 'cuda-max-allocated' : 'peak-rss',
        ...(processes > 1 ? { processes: done.processes ?? processes, ...(done.distBackend ? { distBackend: done.distBackend } : {}) } : {}),
      },
      loss: src?.loss === 'model' ? 'model' : lossName,
      params: { total, trainable, base, added, addedPercent: base > 0 ? (added / base) * 100 : 0, ...(spec.addedMacs !== undefined ? { addedMacs: spec.addedMacs } : {}) },
      dataset: { name: data.name, samples: n, trainSamples, valSamples, ...(data.classes !== undefined ? { classes: data.classes } : {}), adaptations: data.adaptations, ...testSet(data) },
      ...(test ? { test } : {}),
      epochs,
      curve: curve.curve(),
      steps: done.steps,
      stepMs: done.stepMs,
      samplesPerSec: done.samplesPerSec,
      peakBytes: done.peakBytes,
      final,
      best,
      timings: { buildMs, firstStepMs: done.firstStepMs, trainMs: done.trainMs, saveMs: done.saveMs + (performance.now() - saveStart), totalMs: performance.now() - t0 },
      startedAt,
      finishedAt: new Date().toISOString(),
    };
    if (saved) {
      record.saved = saved;
      writeFileAtomic(saved.record, JSON.stringify(record, null, 2) + '\n');
    }
    return { record, model: null };
  } finally {
    if (!opts.keepTemp) rmSync(temp, { recursive: true, force: true });
  }
}

/** The .npy file of each input: `x.npy` for one, `x.npy`, `x_1.npy`, ... for several. */
function inputFiles(dir: string, stem: string, d: { x: tf.Tensor; inputs?: tf.Tensor[] }): string | string[] {
  const names = inputList(xOf(d)).map((_, i) => join(dir, `${stem}${i ? `_${i}` : ''}.npy`));
  return d.inputs ? names : names[0]!;
}

function writeInputs(dir: string, stem: string, d: { x: tf.Tensor; inputs?: tf.Tensor[] }): void {
  const names = [inputFiles(dir, stem, d)].flat();
  inputList(xOf(d)).forEach((t, i) => writeFileSync(names[i]!, npyBytes(t.dataSync() as Float32Array, t.shape)));
}

/**
 * The TF.js model's initial weights (built in the run's seeded scope, as the TF.js engine builds it) written to
 * `bin`, with their manifest and the model's output head: exact cross-engine parity (`torchInit: 'tfjs'`).
 */
async function tfjsInitialWeights(spec: RunSpec, seed: number, bin: string): Promise<{ manifest: Record<string, { offset: number; shape: number[] }>; head: OutputHead }> {
  const seeded = seedScope(seed);
  let built: tf.LayersModel;
  try {
    built = await spec.build();
  } catch (e) {
    throw new Error(`torchInit 'tfjs' copies TF.js's initial weights, but TF.js cannot build this model (${e instanceof Error ? e.message : String(e)}); use torchInit 'keras' (--torch-init keras)`);
  } finally {
    seeded.restore();
  }
  try {
    const manifest: Record<string, { offset: number; shape: number[] }> = {};
    const parts: Buffer[] = [];
    let offset = 0;
    for (const layer of built.layers) {
      for (const w of layer.weights) {
        const values = w.read().dataSync() as Float32Array;
        // 'conv/kernel'; a Bidirectional's 'bidi/forward_lstm/kernel' (the TFJS_WEIGHTS names).
        const inner = w.originalName.startsWith(`${layer.name}/`) ? w.originalName.slice(layer.name.length + 1) : w.originalName.split('/').pop()!;
        manifest[`${layer.name}/${inner}`] = { offset, shape: w.shape as number[] };
        parts.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
        offset += values.length;
      }
    }
    writeFileSync(bin, Buffer.concat(parts));
    return { manifest, head: outputHead(built) };
  } finally {
    built.dispose();
  }
}
