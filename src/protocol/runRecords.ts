/**
 * What a training run and a comparison leave behind (run.json, comparison.json) and what the trainer
 * returns over the protocol. Plain JSON data: the webview and the CLI read it without tfjs.
 */
import type { BackendChoice } from './backends';

export type OptimizerName = 'adam' | 'adamw' | 'sgd' | 'rmsprop';

/** The training engines: TF.js in the trainer process, or PyTorch in a Python child process. */
export type EngineName = 'tfjs' | 'pytorch';
/** 'auto': a GPU engine when one works (tfjs-node-gpu, else PyTorch with CUDA), else TF.js on the CPU. */
export type EnginePreference = 'auto' | EngineName;

/** Which engine trained a run and why; for PyTorch, which Python and torch and what they offer. */
export interface EngineChoice {
  name: EngineName;
  /** Why this engine: asked for, or auto's reasoning (what was faster and why it was not used). */
  reason: string;
  /** pytorch: the interpreter that imports torch, and where it came from (--python, LAUREL_PYTHON, pythonPath, PATH). */
  python?: string;
  pythonSource?: string;
  pythonVersion?: string;
  torch?: string;
  /** pytorch: 'cuda' or 'cpu', and the device's name. */
  device?: 'cuda' | 'cpu';
  deviceName?: string;
  /** pytorch: the card supports bfloat16 (training then runs under bf16 autocast). */
  bf16?: boolean;
  /** pytorch: torch.compile exists in this torch. */
  compile?: boolean;
  /** Pythons tried before the chosen one, with why each was skipped. */
  skipped?: { python: string; source: string; reason: string }[];
}

export interface TrainConfig {
  optimizer: OptimizerName;
  learningRate: number;
  batchSize: number;
  epochs: number;
  /** Fraction of the samples, taken from the end as Keras does, held out for validation (0 = none). */
  validationSplit: number;
  /** Seeds the weight initialisers, dropout and the data order: same seed, same start for every run. */
  seed: number;
  /** Stop after this many optimizer steps in total (a budget shared by every run of a comparison). */
  maxSteps?: number;
  /** Training engine; absent: 'tfjs'. `laurel train/compare --engine` defaults to 'auto'. */
  engine?: EnginePreference;
  /** PyTorch engine: the Python to use (a setting or --python); tried before LAUREL_PYTHON, pythonPath and PATH. */
  python?: string;
  /** PyTorch engine: the caller's interpreter (the extension passes the Python extension's), tried after `python` and LAUREL_PYTHON. */
  pythonPath?: string;
  /** PyTorch engine: training processes (one per GPU), launched by torchrun with DDP when > 1; absent: 1. */
  processes?: number;
  /**
   * PyTorch engine: where the initial weights come from. 'keras' (absent): the Keras initializers the file names,
   * drawn in Python from the seed, without TF.js. 'tfjs': a copy of the TF.js model's seeded initial weights, for
   * exact cross-engine parity (needs TF.js to build the model).
   */
  torchInit?: TorchInit;
  /** The learning rate over the steps (trainer/optimizerOptions.ts): 'constant' (absent) or 'cosine' (warm-up, then to 0). */
  lrSchedule?: 'constant' | 'cosine';
  /** Cosine schedule: steps of linear warm-up; absent: 0. */
  warmupSteps?: number;
  /** AdamW (optimizer 'adamw'): decoupled weight decay; absent: 0.01. */
  weightDecay?: number;
  /** AdamW: kinds of weight not decayed; absent: all three (biases, normalisation weights, LAuReL's scalars). */
  noDecay?: ('bias' | 'norm' | 'laurel')[];
  /** Clip the gradients to this global L2 norm before each step (torch's clip_grad_norm_); absent: no clipping. */
  clipNorm?: number;
}

export const TORCH_INITS = ['keras', 'tfjs'] as const;
export type TorchInit = (typeof TORCH_INITS)[number];

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  optimizer: 'adam',
  learningRate: 1e-3,
  batchSize: 32,
  epochs: 1,
  validationSplit: 0.1,
  seed: 42,
};

/** tf.memory() figures; `peakBytes` is the highest tensor memory seen since the run started. */
export interface MemoryFigures {
  numBytes: number;
  numTensors: number;
  peakBytes: number;
}

export interface EpochMetrics {
  /** 1-based. */
  epoch: number;
  loss: number;
  acc?: number;
  valLoss?: number;
  valAcc?: number;
  /** Batches trained in this epoch (fewer than a full epoch when stopped early). */
  batches: number;
  samples: number;
  samplesPerSec: number;
  /** The learning rate of the epoch's last step (the schedule's, trainer/optimizerOptions.ts). */
  lr?: number;
  /** Mean time of one optimizer step (ms), warm-up and validation-carrying batches excluded. */
  stepMs: number;
  seconds: number;
  memory: MemoryFigures;
}

export type RunStatus = 'completed' | 'cancelled' | 'diverged';

/**
 * What run.json holds until a run ends: 'running' (with the trainer's pid) from its start, 'failed' (with
 * why) when it threw or its trainer process died. Only the header: no figures exist yet.
 */
export interface RunStub {
  kind: 'laurel-run';
  version: 1;
  name: string;
  status: 'running' | 'failed';
  message?: string;
  model: { file: string; name: string };
  plan: { spec: string | null; sites: { id: string; variant: string }[] };
  seed: number;
  config: TrainConfig;
  backend?: RunRecord['backend'];
  pid: number;
  startedAt: string;
  finishedAt?: string;
}

export interface LossSummary {
  loss: number | null;
  acc: number | null;
  valLoss: number | null;
  valAcc: number | null;
}

/**
 * The held-out test set's figures: the checkpoint with the best validation figure (accuracy for a classifier, else
 * loss; the earliest of equals) is evaluated on it once, after training; without validation, the final weights.
 */
export interface TestResult {
  name: string;
  samples: number;
  loss: number | null;
  acc: number | null;
  /** The epoch whose weights were tested (1-based), and what chose it. */
  epoch: number;
  by: 'valAcc' | 'valLoss' | 'final';
}

/** Batch points of a run: optimizer step, loss, and accuracy where the model is a classifier (null elsewhere). */
export interface RunCurve {
  steps: number[];
  loss: number[];
  acc: (number | null)[];
}

export interface RunRecord {
  kind: 'laurel-run';
  version: 1;
  /** The run's label: the plan spec, or the file's own name when trained as it is. */
  name: string;
  status: RunStatus;
  /** Why a run stopped early (cancel, NaN loss, step budget). */
  message?: string;
  model: { file: string; name: string };
  /** The plan applied before training; null: the file's residuals as they are. */
  plan: { spec: string | null; sites: { id: string; variant: string }[] };
  seed: number;
  config: TrainConfig;
  /** The TF.js backend of the trainer process (for the PyTorch engine it only built the initial weights). */
  backend: BackendChoice;
  /** The engine that trained the run and why (records from before the engine choice have none: TF.js). */
  engine?: EngineChoice & {
    /** pytorch: what the run used: bf16 autocast or float32, and whether torch.compile ran (or why not). */
    precision?: 'bf16-autocast' | 'float32';
    compiled?: boolean;
    compileNote?: string;
    threads?: number;
    /** pytorch: what peakBytes measures: torch.cuda.max_memory_allocated, or the process's peak RSS on the CPU. */
    memory?: 'cuda-max-allocated' | 'peak-rss';
    /** pytorch: the torchrun processes (DDP ranks) that trained the run, and their torch.distributed backend. */
    processes?: number;
    distBackend?: 'nccl' | 'gloo';
  };
  /**
   * 'categoricalCrossentropy' (softmax output), 'softmaxCrossEntropyFromLogits', 'binaryCrossentropy', 'meanSquaredError',
   * 'tokenCrossEntropy' (per-token logits of a .py language model) or 'model' (the loss a .py model's forward returns).
   */
  loss: string;
  params: {
    /** Of the built tfjs model. */
    total: number;
    trainable: number;
    /** The same model with plain adds. */
    base: number;
    /** What the plan's LAuReL layers add over `base`. */
    added: number;
    addedPercent: number;
    /** Multiply-adds per example the plan's LAuReL layers add (core's count); null where a width is unknown; absent: not counted (.py). */
    addedMacs?: number | null;
  };
  dataset: { name: string; samples: number; trainSamples: number; valSamples: number; classes?: number; adaptations: string[]; testSamples?: number; testName?: string };
  /** The held-out test set's figures (`--test`); absent: no test set. */
  test?: TestResult;
  epochs: EpochMetrics[];
  /** The training curve as it streamed (about one batch a second): what the panel draws again when the record is opened later. */
  curve?: RunCurve;
  steps: number;
  stepMs: number | null;
  samplesPerSec: number | null;
  peakBytes: number;
  final: LossSummary;
  best: LossSummary;
  timings: { buildMs: number; firstStepMs: number | null; trainMs: number; saveMs: number; totalMs: number };
  /** Where the run was written; no model files for a diverged run (its weights are NaN). */
  saved?: {
    dir: string;
    record: string;
    modelJson?: string;
    weights?: string;
    /** PyTorch engine: the trained state_dict (torch.save) and the module file it loads into. */
    torchState?: string;
    torchModule?: string;
  };
  startedAt: string;
  finishedAt: string;
}

export interface ComparisonRow {
  name: string;
  plan: string | null;
  status: RunStatus;
  params: number;
  added: number;
  addedPercent: number;
  final: LossSummary;
  best: LossSummary;
  /** The held-out test figures of the best-validation checkpoint; absent: no test set. */
  test?: TestResult;
  /** Multiply-adds per example the plan adds (absent: not counted). */
  addedMacs?: number | null;
  stepMs: number | null;
  samplesPerSec: number | null;
  peakBytes: number;
  /** This run over the baseline (first run): 1 = the same. Null where either figure is missing. */
  ratios: { params: number | null; stepMs: number | null; samplesPerSec: number | null; peakBytes: number | null; finalLoss: number | null };
}

export interface ComparisonRecord {
  kind: 'laurel-comparison';
  version: 1;
  model: { file: string; name: string };
  seed: number;
  config: TrainConfig;
  backend: BackendChoice;
  /** Every run of a comparison uses this engine. */
  engine?: EngineChoice;
  dataset: RunRecord['dataset'];
  /** Index into `rows` and `runs` of the baseline the ratios refer to. */
  baseline: number;
  /** False when cancelled: later plans were not trained. */
  complete: boolean;
  rows: ComparisonRow[];
  runs: RunRecord[];
  outDir?: string;
  startedAt: string;
  finishedAt: string;
}
