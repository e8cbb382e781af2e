/**
 * One run, whichever engine trains it: what to train (RunSpec), where progress goes, the options and the
 * result, the checks of a config, and the fields and loss curve every run record has.
 */
import type * as tf from '@tensorflow/tfjs';
import type { PyTorchExport } from '../core/export/pytorch';
import type { PyLoss } from '../core/pysource/pyOptions';
import type { BackendChoice } from '../protocol/backends';
import type { EngineChoice, EpochMetrics, LossSummary, RunCurve, RunRecord, RunStatus, TrainConfig } from '../protocol/runRecords';
import type { BatchEndEvent, EpochEndEvent, LogEvent } from '../protocol/trainerProtocol';
import type { Dataset } from './data/loadDataset';
import type { OutputHead } from './lossAndLabels';
import type { MemoryEstimate } from './memoryEstimate';
import { validateOptimizerOptions } from './optimizerOptions';

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
  /** `sampleShapes`: one sample of each input's data as generated or read (the sizes of the inputs' free axes). */
  memory?: (engine: EngineChoice['name'], batch: number, optimizer: TrainConfig['optimizer'], dataBytes: number, sampleShapes?: number[][]) => MemoryEstimate;
  /** Parameters of the same model with plain adds and what the plan adds (core's exact counts); default: the built total, +0. */
  baseParams?: number;
  addedParams?: number;
  /** Multiply-adds per example the plan's LAuReL layers add (core's count; null: a width unknown). */
  addedMacs?: number | null;
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

/** A PyTorch source's variant to train (`laurel train model.py`, made by pySourceRuns). */
export interface PySourceVariant {
  /** The copy's file name in the run folder (the user's, made path-safe). */
  fileName: string;
  /** The user's folder: the copy imports its siblings from there. */
  userDir: string;
  /** The variant's source text. */
  text: string;
  usesLaurel: boolean;
  /** The model expression, evaluated in the file's namespace. */
  model: string;
  /** Class logits (N, K); null: per-token logits (N, T, V) of a language model. */
  head: OutputHead | null;
  /** The loss (`--loss`, else the `# laurel:` comment, else cross-entropy on the logits). */
  loss: PyLoss;
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
  if (!['adam', 'adamw', 'sgd', 'rmsprop'].includes(c.optimizer)) throw new Error(`unknown optimizer '${String(c.optimizer)}'; expected adam, adamw, sgd or rmsprop`);
  validateOptimizerOptions(c);
}

/** The record's test set fields (none without one). */
export const testSet = (data: TrainData): { testSamples?: number; testName?: string } => (data.test ? { testSamples: data.test.samples, testName: data.test.name } : {});

/** One log line: the test figures and the checkpoint they come from. */
export function testLine(t: NonNullable<RunRecord['test']>): string {
  const figures = [t.acc !== null ? `test acc ${t.acc.toFixed(4)}` : '', t.loss !== null ? `test loss ${t.loss.toFixed(4)}` : ''].filter(Boolean).join(', ');
  return `${figures} on ${t.samples} samples (${t.name}), weights of epoch ${t.epoch}${t.by === 'final' ? ' (the last: no validation)' : ` (best ${t.by === 'valAcc' ? 'validation accuracy' : 'validation loss'})`}`;
}

/** The last epoch's figures and the best of each over the epochs (non-finite values skipped). */
export function summariseEpochs(epochs: EpochMetrics[]): { final: LossSummary; best: LossSummary } {
  const last = epochs[epochs.length - 1];
  const pick = (k: 'loss' | 'acc' | 'valLoss' | 'valAcc', lower: boolean): number | null => {
    let best: number | null = null;
    for (const e of epochs) {
      const v = e[k];
      if (v !== undefined && Number.isFinite(v) && (best === null || (lower ? v < best : v > best))) best = v;
    }
    return best;
  };
  return {
    final: { loss: last?.loss ?? null, acc: last?.acc ?? null, valLoss: last?.valLoss ?? null, valAcc: last?.valAcc ?? null },
    best: { loss: pick('loss', true), acc: pick('acc', false), valLoss: pick('valLoss', true), valAcc: pick('valAcc', false) },
  };
}
