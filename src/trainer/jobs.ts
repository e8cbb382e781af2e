/**
 * The trainer's requests, from file paths and specs to records: open the model, load and adapt the data
 * once, then train one run or compare several. No channel code (main.ts wires these to the protocol).
 */
import { readFileSync } from 'node:fs';
import { openModel } from '../core/model';
import type { OpenModel } from '../core/model';
import type { ComparisonRecord, RunRecord } from '../protocol/runRecords';
import type { CompareParams, TrainParams } from '../protocol/trainerProtocol';
import type { BackendChoice } from '../protocol/backends';
import { compareRuns } from './compare';
import { parseAdaptations } from './data/adapt';
import { loadDataset, parseDataSpec } from './data/loadDataset';
import type { Dataset } from './data/loadDataset';
import { disposeData, withTestSet } from './data/testSplit';
import { planRun, taskOf } from './runSpec';
import { trainRun } from './train';
import type { RunSpec, TrainSink } from './run';
import { isPySource, pySourceData, pySourceRuns } from './pySourceRuns';
import { trainingModel } from './trainingGraph';

export interface JobContext {
  backend: BackendChoice;
  signal: AbortSignal;
  sink: TrainSink & { runDone?(record: RunRecord): void };
  /** batchEnd throttle (ms); default 1000. */
  throttleMs?: number;
}

/** The model file as the run trains it: one output, and the training head when asked (logged). */
function openFile(p: TrainParams | CompareParams, ctx: JobContext): OpenModel {
  const t = trainingModel(openModel(p.modelPath, readFileSync(p.modelPath)), { ...(p.output !== undefined ? { output: p.output } : {}), ...(p.head ? { head: p.head } : {}) });
  ctx.sink.log?.({ level: 'info', message: t.description });
  return t.model;
}

const testNote = (d: Dataset): string => (d.test ? `; test set ${d.test.name}, ${d.test.samples} samples` : '');

async function loadData(p: TrainParams | CompareParams, m: OpenModel, ctx: JobContext): Promise<Dataset> {
  const adapt = p.adapt === undefined || p.adapt === 'none' ? undefined : parseAdaptations(p.adapt);
  const load = (spec: string): Promise<Dataset> => loadDataset(parseDataSpec(spec), taskOf(m), adapt);
  const data = await withTestSet(await load(p.data), p.data, p.test, load);
  const adapted = data.adaptations.length ? `: ${data.adaptations.join('; ')}` : '';
  ctx.sink.log?.({ level: 'info', message: `data ${data.name}, ${data.samples} samples${data.classes ? `, ${data.classes} classes` : ''}${adapted}${testNote(data)}` });
  return data;
}

/** A PyTorch source's runs and data: measured once, every plan resolved before the data are read. */
async function pySourceJob(p: TrainParams | CompareParams, plans: (string | undefined)[], ctx: JobContext): Promise<{ runs: RunSpec[]; data: Dataset }> {
  const { runs, model, task } = await pySourceRuns(p, plans);
  ctx.sink.log?.({ level: 'info', message: `${model.fileName}: PyTorch source, model ${model.trace!.model}, input ${model.trace!.input}; ${task.kind === 'tokens' ? `language model, context ${task.context}, vocabulary ${task.vocabulary}` : `${task.classes} class logits`}` });
  const data = await withTestSet(await pySourceData(p, task), p.data, p.test, (spec) => pySourceData({ ...p, data: spec }, task));
  ctx.sink.log?.({ level: 'info', message: `data ${data.name}, ${data.samples} samples${data.adaptations.length ? `: ${data.adaptations.join('; ')}` : ''}${testNote(data)}` });
  return { runs, data };
}

async function runsAndData(p: TrainParams | CompareParams, plans: (string | undefined)[], ctx: JobContext): Promise<{ runs: RunSpec[]; data: Dataset }> {
  if (isPySource(p.modelPath)) return pySourceJob(p, plans, ctx);
  const m = openFile(p, ctx);
  const runs = plans.map((spec) => planRun(m, spec)); // a bad plan fails before the data are read
  return { runs, data: await loadData(p, m, ctx) };
}

export async function trainJob(p: TrainParams, ctx: JobContext): Promise<RunRecord> {
  const { runs, data } = await runsAndData(p, [p.plan], ctx);
  const run = runs[0]!;
  try {
    const { record } = await trainRun(run, data, p.config, { backend: ctx.backend, signal: ctx.signal, sink: ctx.sink, outDir: p.outDir, ...(ctx.throttleMs !== undefined ? { throttleMs: ctx.throttleMs } : {}) });
    ctx.sink.runDone?.(record);
    return record;
  } finally {
    disposeData(data);
  }
}

export async function compareJob(p: CompareParams, ctx: JobContext): Promise<ComparisonRecord> {
  if (p.plans.length === 0) throw new Error('nothing to compare: no plans given');
  // Every plan is resolved before the data are read or anything trains, so a typo in the last one fails at once.
  const { runs, data } = await runsAndData(p, p.plans, ctx);
  try {
    return await compareRuns(runs, data, p.config, {
      backend: ctx.backend,
      signal: ctx.signal,
      sink: ctx.sink,
      outDir: p.outDir,
      ...(ctx.throttleMs !== undefined ? { throttleMs: ctx.throttleMs } : {}),
      ...(ctx.sink.runDone ? { onRunDone: ctx.sink.runDone } : {}),
    });
  } finally {
    disposeData(data);
  }
}
