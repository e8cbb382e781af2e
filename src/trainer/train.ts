/**
 * Trains one run on the engine its config asks for (TF.js or PyTorch; `auto` by the machine and the run's
 * memory), with run.json saying 'running' from the start and 'failed' with the reason if it throws. Used
 * by the trainer child process (main.ts) and by tests directly.
 */
import type { EngineChoice, TrainConfig } from '../protocol/runRecords';
import { inputElements, inputList, sampleCount, xOf } from './data/inputs';
import { probeCudaMemory } from './gpuMemory';
import { memoryLimit } from './memory';
import { checkMemory, describeEstimate, MemoryRefusal } from './memoryEstimate';
import { describeEngine, resolveEngine } from './engineChoice';
import { trainRunPyTorch } from './pytorchEngine';
import { recordHeader, validateConfig } from './run';
import type { RunSpec, TrainData, TrainOptions, TrainResult } from './run';
import { writeRunFailed, writeRunStart } from './runStub';
import { trainRunTfjs } from './tfjsEngine';

/**
 * Logs the memory estimate of a step at the batch the run will use and refuses a run that cannot fit the
 * engine (MemoryRefusal, before any model is built).
 */
async function checkRunMemory(spec: RunSpec, data: TrainData, config: TrainConfig, engine: EngineChoice, opts: Partial<Pick<TrainOptions, 'backend' | 'sink'>>): Promise<void> {
  if (!spec.memory) return;
  const n = sampleCount(xOf(data)) || data.samples;
  const trainSamples = Math.max(1, Math.floor(n * (1 - config.validationSplit)));
  const processes = engine.name === 'pytorch' ? (config.processes ?? 1) : 1;
  const batch = Math.ceil(Math.min(config.batchSize, trainSamples) / processes);
  const estimate = spec.memory(engine.name, batch, config.optimizer, 4 * (inputElements(xOf(data)) + data.y.size), inputList(xOf(data)).map((t) => t.shape.slice(1)));
  // On CUDA the GPU's free memory is the limit, read now in the run's own Python.
  const gpu = engine.device === 'cuda' && engine.python ? await probeCudaMemory(engine.python) : undefined;
  const limit = opts.backend ? memoryLimit(engine, opts.backend, undefined, gpu, processes) : undefined;
  const unread = gpu && !gpu.cuda ? ` (the GPU's free memory could not be read, so the run is not checked against it: ${gpu.reason})` : '';
  opts.sink?.log?.({ level: 'info', message: `${spec.name}: ${describeEstimate(estimate, limit)}${unread}` });
  if (limit) checkMemory(estimate, limit, opts.backend?.name === 'wasm');
}

/**
 * `--engine auto` chose TF.js but the run does not fit it (the wasm heap): PyTorch instead, when it can
 * build the model and fits the machine; otherwise the choice stands and the check refuses the run.
 */
async function autoByMemory(spec: RunSpec, data: TrainData, config: TrainConfig, engine: EngineChoice, opts: TrainOptions): Promise<EngineChoice> {
  if (config.engine !== 'auto' || engine.name !== 'tfjs') return engine;
  try {
    await checkRunMemory(spec, data, config, engine, { backend: opts.backend });
    return engine;
  } catch (e) {
    if (!(e instanceof MemoryRefusal)) throw e;
    let torch: EngineChoice;
    try {
      torch = await resolveEngine({ ...config, engine: 'pytorch' }, opts.backend, [spec]);
      await checkRunMemory(spec, data, config, torch, { backend: opts.backend });
    } catch {
      return engine;
    }
    return { ...torch, reason: `auto: the run does not fit TF.js ${opts.backend.name} (${e.message.replace(/^not started: /, '').replace(/\. Ways out: .*$/, '')}), so PyTorch` };
  }
}

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
  await checkRunMemory(spec, data, config, engine, opts);
  if (engine.name === 'pytorch') return trainRunPyTorch(spec, data, config, { ...opts, engine });
  return trainRunTfjs(spec, data, config, opts, engine);
}
