/**
 * The training loop, without process code: build (seeded), compile, `model.fit` with callbacks that
 * report progress, honour an AbortSignal and catch a diverging loss; then save the model and its run
 * record. Used by the trainer child process (main.ts) and by tests directly.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PyTorchExport } from '../core/export/pytorch';
import type { EngineChoice, EpochMetrics, LossSummary, RunCurve, RunRecord, RunStatus, TrainConfig } from '../protocol/runRecords';
import type { BatchEndEvent, EpochEndEvent, LogEvent } from '../protocol/trainerProtocol';
import type { BackendChoice } from '../protocol/backends';
import type { Dataset } from './data/loadDataset';
import { writeFileAtomic } from '../util/fsAtomic';
import { fileIOHandler, MODEL_JSON, WEIGHTS_BIN } from './ioHandler';
import { DivergenceWatch, divergenceRule } from './divergence';
import { memoryLimit, trackPeakMemory } from './memory';
import { checkMemory, describeEstimate, MemoryRefusal } from './memoryEstimate';
import type { MemoryEstimate } from './memoryEstimate';
import { RUN_RECORD, writeRunFailed, writeRunStart } from './runStub';
import { describeEngine, resolveEngine, trainRunPyTorch } from './pytorchEngine';
import type { PySourceVariant } from './pySourceRuns';
import { PRECISE_BN_SAMPLES, recomputeBatchNormStats } from './preciseBn';
import { seedScope } from './seed';

/** The fields every run record starts with, whichever engine trained it. */
export function recordHeader<S extends string = RunStatus>(spec: RunSpec, config: TrainConfig, backend: BackendChoice, status: S, message?: string) {
  return {
    kind: 'laurel-run' as const,
    version: 1 as const,
    name: spec.name,
    status,
    ...(message !== undefined ? { message } : {}),
    model: spec.model,
    plan: spec.plan,
    seed: config.seed,
    config,
    backend,
  };
}

/** Batch points a run record keeps at most; past it every other point goes (the curve keeps its shape). */
export const CURVE_POINTS = 1000;

/** Passes batchEnd events on to `sink` and keeps their points for the run record. */
export function recordCurve(sink: TrainSink = {}): { sink: TrainSink; curve(): RunCurve } {
  let c: RunCurve = { steps: [], loss: [], acc: [] };
  return {
    sink: {
      ...sink,
      batchEnd(e) {
        c.steps.push(e.step);
        c.loss.push(e.loss);
        c.acc.push(e.acc ?? null);
        if (c.steps.length > CURVE_POINTS) {
          const keep = (_: unknown, i: number, xs: unknown[]): boolean => i % 2 === 0 || i === xs.length - 1;
          c = { steps: c.steps.filter(keep), loss: c.loss.filter(keep), acc: c.acc.filter(keep) };
        }
        sink.batchEnd?.(e);
      },
    },
    curve: () => ({ steps: [...c.steps], loss: [...c.loss], acc: [...c.acc] }),
  };
}

/** The data a run trains on: a loaded dataset. */
export type TrainData = Dataset;

/** One model to train: how to build it (called inside the seeded scope) and what to record about it. */
export interface RunSpec {
  /** Label in events and records: the plan spec, or the file's name for the model as it is. */
  name: string;
  build: () => tf.LayersModel | Promise<tf.LayersModel>;
  /** The same model as PyTorch module code (toPyTorch), for the PyTorch engine. */
  pytorch?: () => PyTorchExport;
  /** A PyTorch source's variant (`laurel train model.py`): the PyTorch engine trains it instead of `pytorch`. */
  pySource?: PySourceVariant;
  /** Why TF.js cannot build this model (a layer or setting it lacks), or undefined when it can: `engine auto` reads it. */
  tfjsProblem?: () => string | undefined;
  model: RunRecord['model'];
  plan: RunRecord['plan'];
  /** The memory a step of this model needs on an engine at a batch size (absent: not checked before the start). */
  memory?: (engine: EngineChoice['name'], batch: number, optimizer: TrainConfig['optimizer'], dataBytes: number) => MemoryEstimate;
  /** Parameters of the same model with plain adds and what the plan adds (core's exact counts); default: the built total, +0. */
  baseParams?: number;
  addedParams?: number;
}

/** Where progress goes; every member optional. */
export interface TrainSink {
  batchEnd?(e: BatchEndEvent): void;
  epochEnd?(e: EpochEndEvent): void;
  log?(e: LogEvent): void;
}

export interface TrainOptions {
  backend: BackendChoice;
  signal?: AbortSignal;
  sink?: TrainSink;
  /** Folder for model.json, weights.bin and run.json; nothing is written when absent. */
  outDir?: string;
  /** Minimum time between two batchEnd events (ms). Default 1000. */
  throttleMs?: number;
  /** Keep the trained model (the caller disposes it); otherwise it is disposed before returning. */
  keepModel?: boolean;
  /** The engine, resolved already (compareRuns resolves it once for all runs); absent: from config.engine. */
  engine?: EngineChoice;
}

export interface TrainResult {
  record: RunRecord;
  model: tf.LayersModel | null;
}

export { RUN_RECORD };

interface LossChoice {
  name: string;
  loss: string | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor);
  classifier: boolean;
}

/** What the loss and the labels depend on: the trained output's last axis and the activation that makes it. */
export interface OutputHead {
  units: number | null;
  /** Lower case ('softmax' for a Softmax layer); undefined when the layer has none. */
  activation: string | undefined;
}

export function outputHead(model: tf.LayersModel): OutputHead {
  const shape = model.outputs[0]!.shape;
  const layer = model.outputs[0]?.sourceLayer;
  const act = layer?.getClassName() === 'Softmax' ? 'softmax' : layer?.getConfig().activation;
  return { units: shape[shape.length - 1] ?? null, activation: typeof act === 'string' ? act.toLowerCase() : undefined };
}

/** Cross-entropy with accuracy for classifiers (softmax, single sigmoid, or logits with class labels), else MSE. */
export function chooseLoss(model: tf.LayersModel, classes: number | undefined): LossChoice {
  return lossFor(outputHead(model), classes);
}

/** chooseLoss from the output's description (the PyTorch engine has no TF.js model). */
export function lossFor(head: OutputHead, classes: number | undefined): LossChoice {
  const { units, activation: act } = head;
  if (act === 'softmax') return { name: 'categoricalCrossentropy', loss: 'categoricalCrossentropy', classifier: true };
  if (act === 'sigmoid' && units === 1) return { name: 'binaryCrossentropy', loss: 'binaryCrossentropy', classifier: true };
  if ((act === undefined || act === 'linear') && classes !== undefined && classes > 1 && units === classes) {
    return { name: 'softmaxCrossEntropyFromLogits', loss: (t, p) => tf.losses.softmaxCrossEntropy(t, p), classifier: true };
  }
  return { name: 'meanSquaredError', loss: 'meanSquaredError', classifier: false };
}

/** Integer labels become one-hot when the model has one output unit per class; else y as it is. */
export function prepareLabels(model: tf.LayersModel, data: TrainData): tf.Tensor {
  return labelsFor(outputHead(model), data);
}

/** prepareLabels from the output's description. */
export function labelsFor(head: OutputHead, data: TrainData): tf.Tensor {
  const units = head.units;
  const classes = data.classes ?? (typeof units === 'number' ? units : undefined);
  const y = data.y;
  const looksLikeIndices = y.rank === 1 || (y.rank === 2 && y.shape[1] === 1);
  if (classes && classes > 1 && units === classes && looksLikeIndices) {
    return tf.tidy(() => tf.oneHot(tf.cast(tf.reshape(y, [-1]), 'int32'), classes).toFloat());
  }
  return y;
}

function makeOptimizer(c: TrainConfig): tf.Optimizer {
  switch (c.optimizer) {
    case 'adam':
      return tf.train.adam(c.learningRate);
    case 'sgd':
      return tf.train.sgd(c.learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(c.learningRate);
    default:
      throw new Error(`unknown optimizer '${String(c.optimizer)}'; expected adam, sgd or rmsprop`);
  }
}

export function validateConfig(c: TrainConfig): void {
  const posInt = (k: keyof TrainConfig): void => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer, got ${String(v)}`);
  };
  posInt('batchSize');
  posInt('epochs');
  if (c.maxSteps !== undefined) posInt('maxSteps');
  if (!Number.isInteger(c.seed)) throw new Error(`seed must be an integer, got ${String(c.seed)}`);
  if (!(c.learningRate > 0) || !Number.isFinite(c.learningRate)) throw new Error(`learningRate must be a positive number, got ${String(c.learningRate)}`);
  if (!(c.validationSplit >= 0 && c.validationSplit < 1)) throw new Error(`validationSplit must be in [0, 1), got ${String(c.validationSplit)}`);
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
/** Step times are reported as medians: a stray slow step (warm-up, another process) must not tilt a comparison. */
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function summarise(epochs: EpochMetrics[]): { final: LossSummary; best: LossSummary } {
  const last = epochs[epochs.length - 1];
  const pick = (k: 'loss' | 'acc' | 'valLoss' | 'valAcc', better: (a: number, b: number) => boolean): number | null => {
    let best: number | null = null;
    for (const e of epochs) {
      const v = e[k];
      if (v !== undefined && Number.isFinite(v) && (best === null || better(v, best))) best = v;
    }
    return best;
  };
  const lower = (a: number, b: number): boolean => a < b;
  const higher = (a: number, b: number): boolean => a > b;
  return {
    final: { loss: last?.loss ?? null, acc: last?.acc ?? null, valLoss: last?.valLoss ?? null, valAcc: last?.valAcc ?? null },
    best: { loss: pick('loss', lower), acc: pick('acc', higher), valLoss: pick('valLoss', lower), valAcc: pick('valAcc', higher) },
  };
}

export function hasNonFinite(t: tf.Tensor): boolean {
  return tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(t))).dataSync()[0] === 1);
}

/** Loss (and accuracy when compiled with it) on the samples from `from` on: the validation split. */
async function validate(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, from: number, batchSize: number): Promise<[number | undefined, number | undefined]> {
  const xv = x.slice(from);
  const yv = y.slice(from);
  try {
    const out = model.evaluate(xv, yv, { batchSize });
    const scalars = Array.isArray(out) ? out : [out];
    const values = await Promise.all(scalars.map(async (t) => (await t.data())[0]));
    tf.dispose(scalars);
    return [values[0], values[1]];
  } finally {
    tf.dispose([xv, yv]);
  }
}

/**
 * Logs the memory estimate of a step at the batch the run will use and refuses a run that cannot fit the
 * engine (MemoryRefusal, before any model is built).
 */
function checkRunMemory(spec: RunSpec, data: TrainData, config: TrainConfig, engine: EngineChoice, opts: Partial<Pick<TrainOptions, 'backend' | 'sink'>>): void {
  if (!spec.memory) return;
  const n = data.x.shape[0] ?? data.samples;
  const trainSamples = Math.max(1, Math.floor(n * (1 - config.validationSplit)));
  const processes = engine.name === 'pytorch' ? (config.processes ?? 1) : 1;
  const batch = Math.ceil(Math.min(config.batchSize, trainSamples) / processes);
  const estimate = spec.memory(engine.name, batch, config.optimizer, 4 * (data.x.size + data.y.size));
  const limit = opts.backend ? memoryLimit(engine, opts.backend) : undefined;
  opts.sink?.log?.({ level: 'info', message: `${spec.name}: ${describeEstimate(estimate, limit)}` });
  if (limit) checkMemory(estimate, limit, opts.backend?.name === 'wasm');
}

/**
 * `--engine auto` chose TF.js but the run does not fit it (the wasm heap): PyTorch instead, when it can
 * build the model and fits the machine; otherwise the choice stands and the check refuses the run.
 */
async function autoByMemory(spec: RunSpec, data: TrainData, config: TrainConfig, engine: EngineChoice, opts: TrainOptions): Promise<EngineChoice> {
  if (config.engine !== 'auto' || engine.name !== 'tfjs') return engine;
  try {
    checkRunMemory(spec, data, config, engine, { backend: opts.backend });
    return engine;
  } catch (e) {
    if (!(e instanceof MemoryRefusal)) throw e;
    let torch: EngineChoice;
    try {
      torch = await resolveEngine({ ...config, engine: 'pytorch' }, opts.backend, [spec]);
      checkRunMemory(spec, data, config, torch, { backend: opts.backend });
    } catch {
      return engine;
    }
    return { ...torch, reason: `auto: the run does not fit TF.js ${opts.backend.name} (${e.message.replace(/^not started: /, '').replace(/\. Ways out: .*$/, '')}), so PyTorch` };
  }
}

/** Yields to the event loop so a cancel message (I/O) is handled between batches. */
const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Trains one model. Cancelling (the signal) stops after the batch in progress and still saves; a NaN or
 * infinite loss stops at once, saves no weights, and the record's message names the epoch and batch.
 */
export async function trainRun(spec: RunSpec, data: TrainData, config: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  validateConfig(config);
  // run.json says 'running' from here on; a throw turns it into 'failed' with the message (never an empty folder).
  const { status: _s, ...header } = recordHeader(spec, config, opts.backend, 'running');
  const stub = opts.outDir ? writeRunStart(opts.outDir, header) : undefined;
  try {
    return await trainEngine(spec, data, config, opts);
  } catch (e) {
    if (stub && opts.outDir) writeRunFailed(opts.outDir, stub, e instanceof Error ? e.message : String(e));
    throw e;
  }
}

async function trainEngine(spec: RunSpec, data: TrainData, config: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  let engine = opts.engine;
  if (!engine) {
    engine = await resolveEngine(config, opts.backend, [spec]);
    engine = await autoByMemory(spec, data, config, engine, opts);
    if (config.engine !== undefined) opts.sink?.log?.({ level: 'info', message: describeEngine(engine) });
  }
  checkRunMemory(spec, data, config, engine, opts);
  if (engine.name === 'pytorch') return trainRunPyTorch(spec, data, config, { ...opts, engine });
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const curve = recordCurve(opts.sink);
  const sink = curve.sink;
  const throttleMs = opts.throttleMs ?? 1000;
  const backend = opts.backend;
  const memory = trackPeakMemory();
  const seeded = seedScope(config.seed);
  let model: tf.LayersModel | null = null;
  let y: tf.Tensor | null = null;
  let optimizer: tf.Optimizer | null = null;
  try {
    const built = await spec.build();
    model = built;
    const buildMs = performance.now() - t0;
    const lossChoice = chooseLoss(model, data.classes);
    const labels = prepareLabels(model, data);
    y = labels;
    optimizer = makeOptimizer(config);
    model.compile({ optimizer, loss: lossChoice.loss, metrics: lossChoice.classifier ? ['accuracy'] : [] });

    const n = data.x.shape[0] ?? data.samples;
    const trainSamples = Math.floor(n * (1 - config.validationSplit));
    const valSamples = n - trainSamples;
    if (trainSamples < 1) throw new Error(`no training samples: ${n} sample(s) with validationSplit ${config.validationSplit}`);
    const batchesPerEpoch = Math.ceil(trainSamples / config.batchSize);
    const total = model.countParams();
    const trainable = model.trainableWeights.reduce((s, w) => s + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
    const base = spec.baseParams ?? total;
    const added = spec.addedParams ?? total - base;
    sink.log?.({
      level: 'info',
      message:
        `${spec.name}: ${total.toLocaleString('en-US')} params (+${added.toLocaleString('en-US')}), ${trainSamples} train / ${valSamples} val samples, ` +
        `batch ${config.batchSize}, ${batchesPerEpoch} steps/epoch, ${lossChoice.name}, ${config.optimizer} lr ${config.learningRate}, backend ${backend.name}`,
    });

    const epochs: EpochMetrics[] = [];
    const stepTimes: number[] = [];
    let timedSamples = 0;
    let step = 0;
    let firstStepMs: number | null = null;
    let status = 'completed' as RunStatus; // mutated in callbacks: keep TS from narrowing it
    let message: string | undefined;
    let budgetHit = false;
    let lastBatchEmit = -Infinity;
    // Per epoch: timed batches exclude the run's first (kernel warm-up) and, with validation, the
    // epoch's last (tfjs evaluates the validation set inside it).
    let epochStart = 0;
    let batchStart = 0;
    let epochBatches = 0;
    let epochSamples = 0;
    let epochTimes: number[] = [];
    let epochTimedSamples = 0;
    let epochAllMs = 0;
    const watch = new DivergenceWatch(divergenceRule(lossChoice.name, data.classes));
    const stopFor = (s: RunStatus, why: string): void => {
      if (status === 'completed') {
        status = s;
        message = why;
      }
      built.stopTraining = true;
    };
    const onAbort = (): void => stopFor('cancelled', 'cancelled');
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort);

    const trainStart = performance.now();
    const xTrain = data.x.slice(0, trainSamples);
    const yTrain = labels.slice(0, trainSamples);
    try {
      if (status === 'completed') {
        // fit sees the training rows only (its shuffle draws the same as with validationSplit, which splits off
        // the same rows): validation runs in onEpochEnd after the BatchNorm statistics are recomputed.
        await model.fit(xTrain, yTrain, {
          batchSize: config.batchSize,
          epochs: config.epochs,
          shuffle: true,
          verbose: 0,
          yieldEvery: 'never',
          callbacks: {
            onEpochBegin: async () => {
              epochStart = performance.now();
              epochBatches = epochSamples = epochTimedSamples = epochAllMs = 0;
              epochTimes = [];
            },
            onBatchBegin: async () => {
              batchStart = performance.now();
            },
            onBatchEnd: async (batch, logs) => {
              const ms = performance.now() - batchStart;
              const size = num(logs?.size) ?? config.batchSize;
              step++;
              epochBatches++;
              epochSamples += size;
              epochAllMs += ms;
              if (step === 1) firstStepMs = ms;
              else {
                stepTimes.push(ms);
                epochTimes.push(ms);
                timedSamples += size;
                epochTimedSamples += size;
              }
              const loss = num(logs?.loss) ?? NaN;
              const epoch = epochs.length + 1;
              const diverging = Number.isFinite(loss) ? watch.step(step, loss) : undefined;
              if (!Number.isFinite(loss)) {
                stopFor('diverged', `loss became ${loss} at epoch ${epoch}, batch ${batch + 1} of ${batchesPerEpoch} (step ${step})`);
              } else if (diverging) {
                stopFor('diverged', `${diverging} (epoch ${epoch}, batch ${batch + 1} of ${batchesPerEpoch})`);
              } else if (config.maxSteps !== undefined && step >= config.maxSteps) {
                budgetHit = true;
                built.stopTraining = true;
              }
              const now = performance.now();
              if (sink.batchEnd && (now - lastBatchEmit >= throttleMs || step === 1)) {
                lastBatchEmit = now;
                const acc = num(logs?.acc);
                sink.batchEnd({
                  run: spec.name,
                  epoch,
                  batch,
                  batchesPerEpoch,
                  step,
                  loss,
                  ...(acc !== undefined ? { acc } : {}),
                  samplesPerSec: epochTimes.length ? (epochTimedSamples / epochTimes.reduce((a, b) => a + b, 0)) * 1000 : (epochSamples / epochAllMs) * 1000,
                });
              }
              await macrotask();
            },
            onEpochEnd: async (epoch, logs) => {
              const timed = epochTimes.length > 0;
              const ms = timed ? epochTimes.reduce((a, b) => a + b, 0) : epochAllMs;
              const samples = timed ? epochTimedSamples : epochSamples;
              const m: EpochMetrics = {
                epoch: epoch + 1,
                loss: num(logs?.loss) ?? NaN,
                batches: epochBatches,
                samples: epochSamples,
                samplesPerSec: ms > 0 ? (samples / ms) * 1000 : 0,
                stepMs: timed ? median(epochTimes) : epochBatches ? epochAllMs / epochBatches : 0,
                seconds: (performance.now() - epochStart) / 1000,
                memory: memory.figures(),
              };
              const acc = num(logs?.acc);
              let valLoss: number | undefined;
              let valAcc: number | undefined;
              if (status !== 'diverged') recomputeBatchNormStats(built, xTrain, PRECISE_BN_SAMPLES, config.batchSize);
              if (valSamples > 0 && status !== 'diverged') [valLoss, valAcc] = await validate(built, data.x, labels, trainSamples, config.batchSize);
              if (acc !== undefined) m.acc = acc;
              if (valLoss !== undefined) m.valLoss = valLoss;
              if (valAcc !== undefined) m.valAcc = valAcc;
              epochs.push(m);
              if (valLoss !== undefined && !Number.isFinite(valLoss)) stopFor('diverged', `validation loss became ${valLoss} at epoch ${epoch + 1}`);
              const { epoch: e, batches: _b, samples: _s, seconds: _sec, ...rest } = m;
              sink.epochEnd?.({ run: spec.name, epoch: e, epochs: config.epochs, ...rest, backend: backend.name });
            },
          },
        });
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      tf.dispose([xTrain, yTrain]);
    }
    const trainMs = performance.now() - trainStart;

    if (status === 'diverged') {
      const dataNote = hasNonFinite(data.x) || hasNonFinite(labels) ? 'the data contain NaN or Inf values' : `try a lower learning rate (now ${config.learningRate}, ${config.optimizer})`;
      message = `${message}; training stopped: ${dataNote}`;
      sink.log?.({ level: 'error', message: `${spec.name}: ${message}` });
    } else if (status === 'completed' && budgetHit) {
      message = `stopped at the step budget (${config.maxSteps} steps)`;
    } else if (status === 'cancelled') {
      message = `cancelled after ${step} step(s)`;
      sink.log?.({ level: 'warn', message: `${spec.name}: ${message}` });
    }

    const saveStart = performance.now();
    let saved: RunRecord['saved'];
    if (opts.outDir) {
      saved = { dir: opts.outDir, record: join(opts.outDir, RUN_RECORD) };
      if (status !== 'diverged') {
        await built.save(fileIOHandler(opts.outDir));
        saved.modelJson = join(opts.outDir, MODEL_JSON);
        saved.weights = join(opts.outDir, WEIGHTS_BIN);
      } else {
        mkdirSync(opts.outDir, { recursive: true });
      }
    }
    const saveMs = performance.now() - saveStart;

    const { final, best } = summarise(epochs);
    const stepSum = stepTimes.reduce((a, b) => a + b, 0);
    const record: RunRecord = {
      ...recordHeader(spec, config, backend, status, message),
      ...(config.engine !== undefined || opts.engine ? { engine } : {}),
      loss: lossChoice.name,
      params: { total, trainable, base, added, addedPercent: base > 0 ? (added / base) * 100 : 0 },
      dataset: {
        name: data.name,
        samples: n,
        trainSamples,
        valSamples,
        ...(data.classes !== undefined ? { classes: data.classes } : {}),
        adaptations: data.adaptations,
      },
      epochs,
      curve: curve.curve(),
      steps: step,
      stepMs: stepTimes.length ? median(stepTimes) : firstStepMs,
      samplesPerSec: stepSum > 0 ? (timedSamples / stepSum) * 1000 : null,
      peakBytes: memory.peakBytes(),
      final,
      best,
      timings: { buildMs, firstStepMs, trainMs, saveMs, totalMs: performance.now() - t0 },
      startedAt,
      finishedAt: new Date().toISOString(),
    };
    if (saved) {
      record.saved = saved;
      writeFileAtomic(saved.record, JSON.stringify(record, null, 2) + '\n');
    }
    return { record, model: opts.keepModel ? built : null };
  } finally {
    seeded.restore();
    if (y && y !== data.y) y.dispose();
    optimizer?.dispose();
    if (model && !opts.keepModel) model.dispose();
    memory.dispose();
  }
}
