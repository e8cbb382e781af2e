/**
 * The TF.js engine's loop: build (seeded), compile, `model.fit` with callbacks that report progress,
 * honour an AbortSignal and catch a diverging loss; then save the model and its run record.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineChoice, EpochMetrics, RunRecord, RunStatus, TrainConfig } from '../protocol/runRecords';
import { writeFileAtomic } from '../util/fsAtomic';
import { DivergenceWatch, divergenceRule } from './divergence';
import { fileIOHandler, MODEL_JSON, WEIGHTS_BIN } from './ioHandler';
import { inputList, sampleCount, sliceInputs, xOf } from './data/inputs';
import type { Inputs } from './data/inputs';
import { chooseLoss, hasNonFinite, labelsFor, outputHead, prepareLabels } from './lossAndLabels';
import { trackPeakMemory } from './memory';
import { PRECISE_BN_SAMPLES, recomputeBatchNormStats } from './preciseBn';
import { recordCurve, recordHeader, summariseEpochs, testLine, testSet } from './run';
import { BestCheckpoint } from './bestCheckpoint';
import { optimizerText, totalSteps } from './optimizerOptions';
import { decayedVariables, ResearchOptimizer } from './researchOptimizer';
import type { RunSpec, TrainData, TrainOptions, TrainResult } from './run';
import { RUN_RECORD } from './runStub';
import { seedScope } from './seed';

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
/** Step times are reported as medians: a stray slow step (warm-up, another process) must not tilt a comparison. */
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Loss (and accuracy when compiled with it) on the samples from `from` on: the validation split. */
async function validate(model: tf.LayersModel, x: Inputs, y: tf.Tensor, from: number, batchSize: number): Promise<[number | undefined, number | undefined]> {
  const xv = sliceInputs(x, from);
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

/** Yields to the event loop so a cancel message (I/O) is handled between batches. */
const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Trains one model on TF.js; `engine` is the engine chosen for it (recorded when one was asked for or given). */
export async function trainRunTfjs(spec: RunSpec, data: TrainData, config: TrainConfig, opts: TrainOptions, engine: EngineChoice): Promise<TrainResult> {
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
  let optimizer: ResearchOptimizer | null = null;
  try {
    const built = await spec.build();
    model = built;
    const buildMs = performance.now() - t0;
    const lossChoice = chooseLoss(model, data.classes);
    const labels = prepareLabels(model, data);
    y = labels;
    const n = sampleCount(xOf(data)) || data.samples;
    const trainSamples = Math.floor(n * (1 - config.validationSplit));
    const valSamples = n - trainSamples;
    if (trainSamples < 1) throw new Error(`no training samples: ${n} sample(s) with validationSplit ${config.validationSplit}`);
    const opt = new ResearchOptimizer(config, totalSteps(config, trainSamples), decayedVariables(model, config));
    optimizer = opt;
    model.compile({ optimizer: opt, loss: lossChoice.loss, metrics: lossChoice.classifier ? ['accuracy'] : [] });
    const batchesPerEpoch = Math.ceil(trainSamples / config.batchSize);
    const total = model.countParams();
    const trainable = model.trainableWeights.reduce((s, w) => s + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
    const base = spec.baseParams ?? total;
    const added = spec.addedParams ?? total - base;
    sink.log?.({
      level: 'info',
      message:
        `${spec.name}: ${total.toLocaleString('en-US')} params (+${added.toLocaleString('en-US')}), ${trainSamples} train / ${valSamples} val samples, ` +
        `batch ${config.batchSize}, ${batchesPerEpoch} steps/epoch, ${lossChoice.name}, ${optimizerText(config)}, backend ${backend.name}`,
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
    const checkpoint = data.test && valSamples > 0 ? new BestCheckpoint(lossChoice.classifier ? 'valAcc' : 'valLoss') : undefined;
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
    const xTrain = sliceInputs(xOf(data), 0, trainSamples);
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
                lr: opt.lastLr,
              };
              const acc = num(logs?.acc);
              let valLoss: number | undefined;
              let valAcc: number | undefined;
              if (status !== 'diverged') recomputeBatchNormStats(built, xTrain, PRECISE_BN_SAMPLES, config.batchSize);
              if (valSamples > 0 && status !== 'diverged') [valLoss, valAcc] = await validate(built, xOf(data), labels, trainSamples, config.batchSize);
              if (acc !== undefined) m.acc = acc;
              if (valLoss !== undefined) m.valLoss = valLoss;
              if (valAcc !== undefined) m.valAcc = valAcc;
              epochs.push(m);
              if (status !== 'diverged') checkpoint?.offer(built, m.epoch, m);
              if (valLoss !== undefined && !Number.isFinite(valLoss)) stopFor('diverged', `validation loss became ${valLoss} at epoch ${epoch + 1}`);
              const { epoch: e, batches: _b, samples: _s, seconds: _sec, ...rest } = m;
              sink.epochEnd?.({ run: spec.name, epoch: e, epochs: config.epochs, ...rest, trainSamples, valSamples, backend: backend.name });
            },
          },
        });
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      tf.dispose([xTrain, yTrain]);
    }
    const trainMs = performance.now() - trainStart;
    let test: RunRecord['test'];
    if (data.test && status !== 'diverged' && epochs.length > 0) {
      const testLabels = labelsFor(outputHead(built), { ...data, y: data.test.y });
      try {
        test = await (checkpoint ?? new BestCheckpoint('valAcc')).test(built, data.test, testLabels, config.batchSize, epochs.length);
      } finally {
        if (testLabels !== data.test.y) testLabels.dispose();
      }
      sink.log?.({ level: 'info', message: `${spec.name}: ${testLine(test)}` });
    }
    checkpoint?.dispose();

    if (status === 'diverged') {
      const dataNote = inputList(xOf(data)).some(hasNonFinite) || hasNonFinite(labels) ? 'the data contain NaN or Inf values' : `try a lower learning rate (now ${config.learningRate}, ${config.optimizer})`;
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

    const { final, best } = summariseEpochs(epochs);
    const stepSum = stepTimes.reduce((a, b) => a + b, 0);
    const record: RunRecord = {
      ...recordHeader(spec, config, backend, status, message),
      ...(config.engine !== undefined || opts.engine ? { engine } : {}),
      loss: lossChoice.name,
      params: { total, trainable, base, added, addedPercent: base > 0 ? (added / base) * 100 : 0, ...(spec.addedMacs !== undefined ? { addedMacs: spec.addedMacs } : {}) },
      dataset: {
        name: data.name,
        samples: n,
        trainSamples,
        valSamples,
        ...(data.classes !== undefined ? { classes: data.classes } : {}),
        adaptations: data.adaptations,
        ...testSet(data),
      },
      ...(test ? { test } : {}),
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
