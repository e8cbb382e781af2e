/**
 * The typed messages between the host (CLI or extension) and the trainer child process
 * (dist/trainer.js), carried by RpcChannel over process.send. Directions are in each doc line.
 */
import type { BackendName } from './backends';
import type { ComparisonRecord, MemoryFigures, RunRecord, TrainConfig } from './runRecords';

/** What to train: a model file, optionally with a plan, on a data set. */
export interface TrainParams {
  /** Path of the model file (any format `laurel inspect` reads). */
  modelPath: string;
  /** Plan spec applied before training (`rw`, `all=rw+lr:r=16`, `plain`); absent: the file as it is. */
  plan?: string;
  /** Data set spec, e.g. `fashion-mnist:limit=512` (see trainer/data). */
  data: string;
  /**
   * How to make data fit the model when it does not: `auto` (every adaptation offered: resize, channels,
   * one-hot...), an explicit list as `laurel train --adapt` takes it, or `none` / absent (refuse).
   */
  adapt?: string;
  /** The output to train, by the layer that produces it; absent: the last output. */
  output?: string;
  /** A classifier added after that output for training only (a feature-map output needs one). */
  head?: { classes: number };
  /** A PyTorch source (.py): the model and input expressions in the file's namespace (else its `# laurel:` comment). */
  pyModel?: string;
  pyInput?: string;
  /** A PyTorch source's loss (`laurel train --loss`); absent: its `# laurel:` comment's, else cross-entropy. */
  pyLoss?: 'cross_entropy' | 'mse' | 'model';
  config: TrainConfig;
  /** A held-out test set, evaluated once at the end of each run by its best-validation checkpoint; absent: none. */
  test?: TestRequest;
  /** Folder for model.json, weights.bin and run.json; created if missing. */
  outDir: string;
}

/** What `--test`, `--test-data` and `--test-split` ask for. */
export interface TestRequest {
  /** A data spec for the test set (the data's forms; adapted as the data are). Default for fashion-mnist: its t10k set. */
  data?: string;
  /** Else the fraction of the loaded samples held out, from the end, before the validation split; default 0.1. */
  split?: number;
}

export interface CompareParams extends Omit<TrainParams, 'plan'> {
  /** Plans trained in turn with the same seed, data and budget; the first is the baseline of the ratios. */
  plans: string[];
}

/** Requests; the trainer serves both. */
export interface TrainerRequests {
  /** Host → trainer: train one model and save it; resolves with its record (also for cancelled or diverged runs). */
  train: { params: TrainParams; result: RunRecord };
  /** Host → trainer: train every plan of `plans` in turn and compare them; resolves with the comparison record. */
  compare: { params: CompareParams; result: ComparisonRecord };
}

export interface BatchEndEvent {
  /** Label of the run (the plan spec), to tell the runs of a comparison apart. */
  run: string;
  /** 1-based. */
  epoch: number;
  /** 0-based within the epoch. */
  batch: number;
  batchesPerEpoch: number;
  /** Optimizer steps since the run began. */
  step: number;
  loss: number;
  acc?: number;
  samplesPerSec: number;
}

export interface EpochEndEvent {
  run: string;
  /** 1-based. */
  epoch: number;
  epochs: number;
  loss: number;
  acc?: number;
  valLoss?: number;
  valAcc?: number;
  samplesPerSec: number;
  /** The samples this run trains and validates on (after the validation and test splits). */
  trainSamples?: number;
  valSamples?: number;
  stepMs: number;
  /** The learning rate of the epoch's last step. */
  lr?: number;
  backend: BackendName;
  /** The PyTorch engine's device in words ('pytorch cuda bf16', 'pytorch cpu'); absent for TF.js. */
  engine?: string;
  memory: MemoryFigures;
}

export interface LogEvent {
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** Notifications. */
export interface TrainerNotifications {
  /** Host → trainer: stop the current run (and the rest of a comparison) after the batch in progress. */
  cancel: { reason?: string };
  /** Trainer → host: a batch finished; throttled to about one per second. */
  batchEnd: BatchEndEvent;
  /** Trainer → host: an epoch finished, with its metrics, throughput, backend and tensor memory. */
  epochEnd: EpochEndEvent;
  /** Trainer → host: a line for the user (backend chosen, data adaptations, a run starting, a NaN loss). */
  log: LogEvent;
  /** Trainer → host: one run finished (each run of a comparison sends one); its record is saved already. */
  runDone: { record: RunRecord };
}
