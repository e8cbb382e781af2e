/**
 * The training panel's view of jobs and runs (what the host keeps and sends whole) and the messages between
 * the host and the panel's webview, with their validation. Imported by the host and by the webview bundle
 * (webview/training/): no imports at all (the trainer's types reach tfjs and node typings, which the webview's
 * tsconfig does not have).
 */

/** How one run ended, as RunRecord.status, plus the two states before that. */
export type RunState = 'pending' | 'running' | 'completed' | 'cancelled' | 'diverged' | 'skipped';
/** A Train or Compare command from start to end. */
export type JobState = 'running' | 'cancelling' | 'completed' | 'cancelled' | 'failed';

export interface LossView {
  loss: number | null;
  acc: number | null;
  valLoss: number | null;
  valAcc: number | null;
}

/** What the panel shows of a finished run (built from RunRecord by the host). */
export interface RunSummaryView {
  status: 'completed' | 'cancelled' | 'diverged';
  message?: string;
  params: number;
  added: number;
  addedPercent: number;
  final: LossView;
  best: LossView;
  stepMs: number | null;
  samplesPerSec: number | null;
  peakBytes: number;
  steps: number;
  savedDir?: string;
  /** The held-out test figures of the run's best-validation checkpoint (`--test`); absent: no test set. */
  test?: { loss: number | null; acc: number | null };
  /** Multiply-adds per example the plan adds; absent: not counted. */
  addedMacs?: number | null;
}

/** The backend a job trains on and why the faster ones were not used. */
export interface BackendView {
  /** e.g. 'wasm (SIMD, 1 thread)'. */
  label: string;
  /** Faster candidates that did not load, with the reason (fastest first). */
  skipped: { candidate: string; reason: string }[];
  /** The trainer's own one-line description, when only that is known yet. */
  note?: string;
}

export interface EpochView {
  epoch: number;
  /** Optimizer steps at the end of this epoch (where its point goes on the x axis). */
  step: number;
  loss: number;
  acc: number | null;
  valLoss: number | null;
  valAcc: number | null;
}

export interface RunView {
  /** The plan spec (or the file's name for a plain Train): what the trainer calls the run. */
  name: string;
  state: RunState;
  /** Per-batch curve (throttled by the trainer to about one point a second): x = optimizer step. */
  steps: number[];
  loss: number[];
  acc: (number | null)[];
  epochs: EpochView[];
  /** The latest progress, for the status line. */
  progress?: { epoch: number; epochs?: number; batch: number; batchesPerEpoch: number; samplesPerSec: number };
  summary?: RunSummaryView;
}

export interface JobView {
  id: number;
  kind: 'train' | 'compare';
  title: string;
  /** The model file's name. */
  model: string;
  /** The data spec. */
  data: string;
  config: { epochs: number; batchSize: number; learningRate: number };
  startedAt: string;
  finishedAt?: string;
  state: JobState;
  /** Why it failed, or how it was cancelled. */
  message?: string;
  backend?: BackendView;
  /** Data and adaptations as the trainer reported them. */
  dataNote?: string;
  /** The samples the runs train and validate on, as the first epoch (or the run records) reported them. */
  samples?: { train: number; val: number };
  outDir?: string;
  runs: RunView[];
  /** Over seeds (Compare with several): the summary table and the verdicts, as `laurel compare --seeds` prints them. */
  seedSummary?: { table: string; verdicts: string[] };
}

/** Everything the panel shows; the host keeps it and sends it whole. */
export interface TrainingHistory {
  jobs: JobView[];
}

/** Whether a job is still training (or stopping). */
export const isRunning = (j: JobView | undefined): boolean => !!j && (j.state === 'running' || j.state === 'cancelling');


/** Messages the training webview sends to the host. */
export type TrainingWebviewToHost =
  /** Sent once the script listens (again after the panel was hidden): the host answers with the whole history. */
  | { type: 'ready' }
  /** The Cancel button: stop the running job (the host asks the trainer, then kills it if it does not stop). */
  | { type: 'cancel' }
  /** Open the "LAuReL Training" log. */
  | { type: 'showLog' }
  /** Save the comparison's report.md (setup, tables, statistics over seeds, verdicts) for job `job`. */
  | { type: 'exportReport'; job: number };

/** Messages the host sends to the training webview. */
export type TrainingHostToWebview =
  /** The whole history, after `ready` and after every change (throttled); `version` grows by one each time. */
  { type: 'history'; history: TrainingHistory; version: number };

/** The message if `x` is a well-formed {@link TrainingWebviewToHost}, else undefined (a fresh object: extra fields are dropped). */
export function validateTrainingMessage(x: unknown): TrainingWebviewToHost | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined;
  const type = (x as { type?: unknown }).type;
  if (type === 'exportReport') {
    const job = (x as { job?: unknown }).job;
    return typeof job === 'number' && Number.isSafeInteger(job) ? { type, job } : undefined;
  }
  return type === 'ready' || type === 'cancel' || type === 'showLog' ? { type } : undefined;
}

/** The host's message if `x` looks like one (the webview checks what it draws from, too). */
export function validateHostMessage(x: unknown): TrainingHostToWebview | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const m = x as { type?: unknown; history?: unknown; version?: unknown };
  if (m.type !== 'history' || typeof m.version !== 'number') return undefined;
  const h = m.history as { jobs?: unknown } | null;
  if (typeof h !== 'object' || h === null || !Array.isArray(h.jobs)) return undefined;
  return { type: 'history', history: h as TrainingHistory, version: m.version };
}
