/**
 * The training panel's model and messages: the run history the host keeps, the reducer that folds trainer
 * events into it, the final table's rows, the curves aligned for uPlot, and the validation of what the
 * webview sends.
 *
 * Imported by the host (trainingPanel.ts, trainingSession.ts) and by the webview bundle (webview/training/):
 * no `vscode`, DOM or `node:*`, and no import of trainer/protocol types (they reach tfjs and node typings,
 * which the webview's tsconfig does not have). The event shapes below are structural subsets of the
 * trainer's BatchEndEvent / EpochEndEvent, so the host passes those as they are.
 */

import { percent as percentText, thousands } from '../report/figures';

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
  outDir?: string;
  runs: RunView[];
}

/** Everything the panel shows; the host keeps it and sends it whole. */
export interface TrainingHistory {
  jobs: JobView[];
}

/** Jobs kept in the history (older ones are dropped: their records stay on disk under runs/). */
export const MAX_JOBS = 12;
/** Curve points kept per run; beyond this every other point is dropped (the shape stays). */
export const MAX_POINTS = 2000;

export const emptyHistory = (): TrainingHistory => ({ jobs: [] });

/** The trainer's batchEnd, as far as the panel uses it. */
export interface BatchPoint {
  run: string;
  epoch: number;
  batch: number;
  batchesPerEpoch: number;
  step: number;
  loss: number;
  acc?: number;
  samplesPerSec: number;
}

/** The trainer's epochEnd, as far as the panel uses it. */
export interface EpochPoint {
  run: string;
  epoch: number;
  epochs: number;
  loss: number;
  acc?: number;
  valLoss?: number;
  valAcc?: number;
  samplesPerSec: number;
}

export type TrainingEvent =
  | { type: 'jobStarted'; job: Pick<JobView, 'id' | 'kind' | 'title' | 'model' | 'data' | 'config' | 'startedAt'> & { outDir?: string; runs: string[] } }
  | { type: 'backend'; jobId: number; backend: BackendView }
  | { type: 'dataNote'; jobId: number; note: string }
  | { type: 'batch'; jobId: number; e: BatchPoint }
  | { type: 'epoch'; jobId: number; e: EpochPoint }
  | { type: 'runDone'; jobId: number; run: string; summary: RunSummaryView }
  | { type: 'cancelling'; jobId: number }
  | { type: 'jobDone'; jobId: number; at: string; cancelled: boolean; message?: string }
  | { type: 'jobFailed'; jobId: number; at: string; message: string }
  /** A finished job rebuilt from run records on disk (jobFromRecords). */
  | { type: 'jobLoaded'; job: JobView };

const newRun = (name: string, state: RunState = 'pending'): RunView => ({ name, state, steps: [], loss: [], acc: [], epochs: [] });

const isFinished = (s: JobState): boolean => s === 'completed' || s === 'cancelled' || s === 'failed';

/** The run an event is about: by name, else the first pending one (a plan spelled differently), else a new one. */
function runFor(job: JobView, name: string): { runs: RunView[]; index: number } {
  let index = job.runs.findIndex((r) => r.name === name);
  const runs = [...job.runs];
  if (index < 0) {
    runs.push(newRun(name));
    index = runs.length - 1;
  }
  return { runs, index };
}

function thin<T>(xs: T[]): T[] {
  return xs.length > MAX_POINTS ? xs.filter((_, i) => i % 2 === 0 || i === xs.length - 1) : xs;
}

function withBatch(run: RunView, e: BatchPoint): RunView {
  const steps = [...run.steps, e.step];
  const loss = [...run.loss, e.loss];
  const acc = [...run.acc, e.acc ?? null];
  return {
    ...run,
    state: 'running',
    steps: thin(steps),
    loss: thin(loss),
    acc: thin(acc),
    progress: { ...(run.progress?.epochs !== undefined ? { epochs: run.progress.epochs } : {}), epoch: e.epoch, batch: e.batch, batchesPerEpoch: e.batchesPerEpoch, samplesPerSec: e.samplesPerSec },
  };
}

function withEpoch(run: RunView, e: EpochPoint): RunView {
  const perEpoch = run.progress?.batchesPerEpoch;
  const lastStep = run.steps[run.steps.length - 1] ?? 0;
  const step = perEpoch !== undefined ? Math.max(lastStep, perEpoch * e.epoch) : lastStep;
  const ep: EpochView = { epoch: e.epoch, step, loss: e.loss, acc: e.acc ?? null, valLoss: e.valLoss ?? null, valAcc: e.valAcc ?? null };
  return {
    ...run,
    state: 'running',
    epochs: [...run.epochs.filter((x) => x.epoch !== e.epoch), ep],
    progress: { epoch: e.epoch, epochs: e.epochs, batch: run.progress?.batch ?? 0, batchesPerEpoch: perEpoch ?? 0, samplesPerSec: e.samplesPerSec },
  };
}

/** Runs that never finished when their job ended: the one in progress was cut off, the rest were never started. */
const endUnfinished = (runs: RunView[]): RunView[] => runs.map((r): RunView => (r.summary ? r : { ...r, state: r.state === 'pending' ? 'skipped' : 'cancelled' }));

function updateJob(h: TrainingHistory, id: number, f: (j: JobView) => JobView): TrainingHistory {
  const i = h.jobs.findIndex((j) => j.id === id);
  if (i < 0) return h;
  const next = f(h.jobs[i]!);
  if (next === h.jobs[i]) return h;
  const jobs = [...h.jobs];
  jobs[i] = next;
  return { jobs };
}

/** Folds one event into the history; returns a new object (the old one is not changed) or `h` when nothing applies. */
export function reduceTraining(h: TrainingHistory, ev: TrainingEvent): TrainingHistory {
  switch (ev.type) {
    case 'jobStarted': {
      const { runs, outDir, ...rest } = ev.job;
      const job: JobView = { ...rest, state: 'running', runs: runs.map((r) => newRun(r)), ...(outDir !== undefined ? { outDir } : {}) };
      return { jobs: [...h.jobs.filter((j) => j.id !== job.id), job].slice(-MAX_JOBS) };
    }
    case 'jobLoaded':
      return { jobs: [...h.jobs.filter((j) => j.id !== ev.job.id), ev.job].slice(-MAX_JOBS) };
    case 'backend':
      return updateJob(h, ev.jobId, (j) => ({ ...j, backend: ev.backend }));
    case 'dataNote':
      return updateJob(h, ev.jobId, (j) => ({ ...j, dataNote: ev.note }));
    case 'batch':
    case 'epoch':
      return updateJob(h, ev.jobId, (j) => {
        if (isFinished(j.state)) return j;
        const { runs, index } = runFor(j, ev.e.run);
        runs[index] = ev.type === 'batch' ? withBatch(runs[index]!, ev.e) : withEpoch(runs[index]!, ev.e);
        return { ...j, runs };
      });
    case 'runDone':
      return updateJob(h, ev.jobId, (j) => {
        const { runs, index } = runFor(j, ev.run);
        runs[index] = { ...runs[index]!, state: ev.summary.status, summary: ev.summary };
        return { ...j, runs };
      });
    case 'cancelling':
      return updateJob(h, ev.jobId, (j) => (j.state === 'running' ? { ...j, state: 'cancelling' } : j));
    case 'jobDone':
    case 'jobFailed':
      return updateJob(h, ev.jobId, (j) => {
        if (isFinished(j.state)) return j;
        const state: JobState = ev.type === 'jobFailed' ? 'failed' : ev.cancelled ? 'cancelled' : 'completed';
        const runs = endUnfinished(j.runs);
        const message = ev.message;
        return { ...j, runs, state, finishedAt: ev.at, ...(message !== undefined ? { message } : {}) };
      });
  }
}

export const isRunning = (j: JobView | undefined): boolean => !!j && (j.state === 'running' || j.state === 'cancelling');

/** Curve points per run kept in the saved history (the live panel keeps up to MAX_POINTS). */
export const SAVED_POINTS = 300;

/** The history for workspaceState: every run's batch curve thinned evenly to at most SAVED_POINTS, last point kept. */
export function compactHistory(h: TrainingHistory, points = SAVED_POINTS): TrainingHistory {
  const pick = <T>(xs: T[], keep: boolean[]): T[] => xs.filter((_, i) => keep[i]);
  return {
    jobs: h.jobs.map((j) => ({
      ...j,
      runs: j.runs.map((r) => {
        const n = r.steps.length;
        if (n <= points) return r;
        const keep = Array.from({ length: n }, (_, i) => i === n - 1 || Math.floor((i * (points - 1)) / n) !== Math.floor(((i - 1) * (points - 1)) / n));
        return { ...r, steps: pick(r.steps, keep), loss: pick(r.loss, keep), acc: pick(r.acc, keep) };
      }),
    })),
  };
}

/**
 * The history as saved when the window closes (workspaceState), read back at the next start: anything
 * malformed is dropped, and a job that was running then is marked failed (its trainer died with the window).
 */
export function restoreHistory(saved: unknown, at: string): TrainingHistory {
  if (typeof saved !== 'object' || saved === null || !Array.isArray((saved as { jobs?: unknown }).jobs)) return emptyHistory();
  const jobs = ((saved as { jobs: unknown[] }).jobs.filter(
    (j) => typeof j === 'object' && j !== null && typeof (j as JobView).id === 'number' && Array.isArray((j as JobView).runs) && typeof (j as JobView).title === 'string',
  ) as JobView[]).slice(-MAX_JOBS);
  return {
    jobs: jobs.map((j): JobView =>
      isRunning(j)
        ? { ...j, state: 'failed', finishedAt: at, message: 'VS Code closed while this job was training', runs: endUnfinished(j.runs) }
        : j,
    ),
  };
}

// ---- the comparison table ----

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a !== null && a !== undefined && b !== null && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : null;

export interface TableRow {
  run: string;
  state: RunState;
  params: number | null;
  added: number | null;
  addedPercent: number | null;
  finalLoss: number | null;
  bestLoss: number | null;
  finalAcc: number | null;
  bestAcc: number | null;
  stepMs: number | null;
  samplesPerSec: number | null;
  peakBytes: number | null;
  /** To the first run of the job (the baseline); null where a figure is missing, and for the baseline itself. */
  ratios: { params: number | null; stepMs: number | null; samplesPerSec: number | null; peakBytes: number | null; finalLoss: number | null };
}

/**
 * One row per run of the job, finished or not (unfinished runs have null figures). Ratios are to the first
 * run, as the trainer's comparison computes them; the baseline row has none (1 by definition).
 */
export function tableRows(job: JobView): TableRow[] {
  const base = job.runs[0]?.summary;
  return job.runs.map((r, i) => {
    const s = r.summary;
    const rel = (f: (x: RunSummaryView) => number | null): number | null => (i === 0 || !s || !base ? null : ratio(f(s), f(base)));
    return {
      run: r.name,
      state: r.state,
      params: s?.params ?? null,
      added: s?.added ?? null,
      addedPercent: s?.addedPercent ?? null,
      finalLoss: s?.final.loss ?? null,
      bestLoss: s?.best.loss ?? null,
      finalAcc: s?.final.acc ?? null,
      bestAcc: s?.best.acc ?? null,
      stepMs: s?.stepMs ?? null,
      samplesPerSec: s?.samplesPerSec ?? null,
      peakBytes: s?.peakBytes ?? null,
      ratios: {
        params: rel((x) => x.params),
        stepMs: rel((x) => x.stepMs),
        samplesPerSec: rel((x) => x.samplesPerSec),
        peakBytes: rel((x) => x.peakBytes),
        finalLoss: rel((x) => x.final.loss),
      },
    };
  });
}

export const fmtNumber = (v: number | null, digits: number): string => (v === null ? '–' : Number.isFinite(v) ? v.toFixed(digits) : String(v));
export const fmtCount = (v: number | null): string => (v === null ? '–' : v.toLocaleString('en-US'));
export const fmtRatio = (v: number | null): string => (v === null ? '–' : `${v.toFixed(2)}×`);
export const fmtMiB = (bytes: number | null): string => (bytes === null ? '–' : `${(bytes / 2 ** 20).toFixed(1)} MiB`);
export const fmtAdded = (added: number | null, percent: number | null): string =>
  added === null ? '–' : added === 0 ? '0' : `${added > 0 ? '+' : ''}${thousands(added)} (${percentText(percent)})`;

/** The table as the webview shows it: header and text cells. A single run has no ratio columns (no baseline). */
export function tableText(job: JobView): { header: string[]; rows: string[][] } {
  const full = tableTextAll(job);
  if (job.runs.length > 1) return full;
  const keep = (_: string, i: number): boolean => i < 10 || i === full.header.length - 1;
  return { header: full.header.filter(keep), rows: full.rows.map((r) => r.filter(keep)) };
}

function tableTextAll(job: JobView): { header: string[]; rows: string[][] } {
  const header = ['run', 'params', 'added', 'final loss', 'best loss', 'final acc', 'best acc', 'ms/step', 'samples/s', 'peak memory', 'params ×', 'step ×', 'samples/s ×', 'memory ×', 'loss ×', 'status'];
  const rows = tableRows(job).map((r) => [
    r.run,
    fmtCount(r.params),
    fmtAdded(r.added, r.addedPercent),
    fmtNumber(r.finalLoss, 4),
    fmtNumber(r.bestLoss, 4),
    fmtNumber(r.finalAcc, 3),
    fmtNumber(r.bestAcc, 3),
    fmtNumber(r.stepMs, 1),
    fmtNumber(r.samplesPerSec, 1),
    fmtMiB(r.peakBytes),
    fmtRatio(r.ratios.params),
    fmtRatio(r.ratios.stepMs),
    fmtRatio(r.ratios.samplesPerSec),
    fmtRatio(r.ratios.peakBytes),
    fmtRatio(r.ratios.finalLoss),
    r.state,
  ]);
  return { header, rows };
}

// ---- curves ----

export type Metric = 'loss' | 'acc';

/** One curve: a run's training metric per step, or its validation metric per epoch. */
export interface CurveSeries {
  run: number;
  label: string;
  validation: boolean;
}

/**
 * uPlot's data for one metric: one x array (the union of every run's steps) and one y array per series,
 * null where a series has no point at that step (drawn with spanGaps). Series without any value are left out.
 */
export function alignCurves(job: JobView, metric: Metric): { series: CurveSeries[]; data: (number | null)[][] } {
  const raw: { s: CurveSeries; points: Map<number, number> }[] = [];
  job.runs.forEach((r, i) => {
    const train = new Map<number, number>();
    r.steps.forEach((step, k) => {
      const v = metric === 'loss' ? r.loss[k] : r.acc[k];
      if (v !== null && v !== undefined && Number.isFinite(v)) train.set(step, v);
    });
    raw.push({ s: { run: i, label: r.name, validation: false }, points: train });
    const val = new Map<number, number>();
    for (const e of r.epochs) {
      const v = metric === 'loss' ? e.valLoss : e.valAcc;
      if (v !== null && Number.isFinite(v)) val.set(e.step, v);
    }
    raw.push({ s: { run: i, label: `${r.name} (validation)`, validation: true }, points: val });
  });
  const kept = raw.filter((x) => x.points.size > 0);
  const xs = [...new Set(kept.flatMap((x) => [...x.points.keys()]))].sort((a, b) => a - b);
  return { series: kept.map((x) => x.s), data: [xs, ...kept.map((x) => xs.map((step) => x.points.get(step) ?? null))] };
}

// ---- messages ----

/** Messages the training webview sends to the host. */
export type TrainingWebviewToHost =
  /** Sent once the script listens (again after the panel was hidden): the host answers with the whole history. */
  | { type: 'ready' }
  /** The Cancel button: stop the running job (the host asks the trainer, then kills it if it does not stop). */
  | { type: 'cancel' }
  /** Open the "LAuReL Training" log. */
  | { type: 'showLog' };

/** Messages the host sends to the training webview. */
export type TrainingHostToWebview =
  /** The whole history, after `ready` and after every change (throttled); `version` grows by one each time. */
  { type: 'history'; history: TrainingHistory; version: number };

/** The message if `x` is a well-formed {@link TrainingWebviewToHost}, else undefined (a fresh object: extra fields are dropped). */
export function validateTrainingMessage(x: unknown): TrainingWebviewToHost | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined;
  const type = (x as { type?: unknown }).type;
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
