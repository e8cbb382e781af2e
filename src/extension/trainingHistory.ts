/**
 * The training history the host keeps: the reducer that folds trainer events into it, and its saved form
 * (thinned curves, read back with anything malformed dropped). No `vscode` (unit-tested).
 */
import { isRunning } from '../protocol/trainingPanel';
import type { BatchEndEvent, EpochEndEvent } from '../protocol/trainerProtocol';
import type { BackendView, EpochView, JobState, JobView, RunState, RunSummaryView, RunView, TrainingHistory } from '../protocol/trainingPanel';

/** Jobs kept in the history (older ones are dropped: their records stay on disk under runs/). */
export const MAX_JOBS = 12;
/** Curve points kept per run; beyond this every other point is dropped (the shape stays). */
export const MAX_POINTS = 2000;

export const emptyHistory = (): TrainingHistory => ({ jobs: [] });

/** The trainer's batchEnd, as the host passes it on. */
export type BatchPoint = BatchEndEvent;

/** The trainer's epochEnd, as far as the panel uses it (the host passes the trainer's events as they are). */
export type EpochPoint = Pick<EpochEndEvent, 'run' | 'epoch' | 'epochs' | 'loss' | 'acc' | 'valLoss' | 'valAcc' | 'samplesPerSec' | 'trainSamples' | 'valSamples'>;

export type TrainingEvent =
  | { type: 'jobStarted'; job: Pick<JobView, 'id' | 'kind' | 'title' | 'model' | 'data' | 'config' | 'startedAt'> & { outDir?: string; runs: string[] } }
  | { type: 'backend'; jobId: number; backend: BackendView }
  | { type: 'dataNote'; jobId: number; note: string }
  /** A multi-seed comparison's statistics: the summary table's text and one verdict per variant. */
  | { type: 'seedSummary'; jobId: number; table: string; verdicts: string[] }
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
    case 'seedSummary':
      return updateJob(h, ev.jobId, (j) => ({ ...j, seedSummary: { table: ev.table, verdicts: ev.verdicts } }));
    case 'batch':
    case 'epoch':
      return updateJob(h, ev.jobId, (j) => {
        if (isFinished(j.state)) return j;
        const { runs, index } = runFor(j, ev.e.run);
        runs[index] = ev.type === 'batch' ? withBatch(runs[index]!, ev.e) : withEpoch(runs[index]!, ev.e);
        const e = ev.e as Partial<EpochPoint>;
        const samples = e.trainSamples !== undefined && e.valSamples !== undefined ? { train: e.trainSamples, val: e.valSamples } : j.samples;
        return { ...j, runs, ...(samples ? { samples } : {}) };
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
