/**
 * The PyTorch engine: trains the module toPyTorch() generates in a Python child process and turns its JSON
 * events into the TF.js engine's events and run record.
 *
 * Same start and same data as the TF.js engine: the TF.js model is built in the run's seeded scope and its
 * initial weights are copied in (load_tfjs_weights), and the per-epoch data order is the permutation model.fit
 * draws (Fisher-Yates on the seeded global stream, cumulative over epochs). The TF.js engine draws dropout masks
 * from that stream too, so with dropout layers the orders part after the first epoch; dropout masks themselves
 * come from torch's generator (torch.manual_seed(seed)).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { EngineChoice, EpochMetrics, LossSummary, RunRecord, RunStatus, TrainConfig } from '../protocol/runRecords';
import type { BackendChoice } from '../protocol/backends';
import { writeFileAtomic } from '../util/fsAtomic';
import { divergenceRule } from './divergence';
import { findTorchPython, PythonNotFoundError } from './pythonFinder';
import type { FindPythonOptions, PythonFound } from './pythonFinder';
import { moduleClassName, npyBytes, writePySourceFolder, writeTrainingFolder } from './pytorchScript';
import laurelResidualPy from '../python/laurel_residual.py';
import { mulberry32 } from '../core/random';
import { hashSeed, seedScope } from './seed';
import { hasNonFinite, labelsFor, lossFor, outputHead } from './lossAndLabels';
import type { OutputHead } from './lossAndLabels';
import { recordCurve, recordHeader, testLine, testSet, validateConfig } from './run';
import type { RunSpec, TrainData, TrainOptions, TrainResult } from './run';
import { RUN_RECORD } from './runStub';
import { optimizerText } from './optimizerOptions';

export const TORCH_STATE = 'model.pt';
export const TORCH_MODULE = 'model.py';
/** An engine silent this long (no event, no heartbeat) is stopped; LAUREL_ENGINE_SILENCE_MS overrides it. */
export const ENGINE_SILENCE_MS = 20_000;
/** Stdout lines that are not protocol events tolerated before the engine is stopped. */
const MALFORMED_LIMIT = 20;
const PROTOCOL_EVENTS = new Set(['log', 'batchEnd', 'epochEnd', 'done', 'alive']);
/** After a cancel, how long Python may take to stop at the next batch and save before it is killed. */
export const KILL_AFTER_MS = 3000;

const pythonOptions = (config: TrainConfig): FindPythonOptions => ({
  ...(config.python ? { explicit: config.python } : {}),
  ...(config.pythonPath ? { pythonPath: config.pythonPath } : {}),
});

function pytorchChoice(found: PythonFound, reason: string): EngineChoice {
  const p = found.probe;
  return {
    name: 'pytorch',
    reason,
    python: found.python,
    pythonSource: found.source,
    pythonVersion: p.pythonVersion,
    torch: p.torch,
    device: p.cuda ? 'cuda' : 'cpu',
    deviceName: p.deviceName,
    bf16: p.bf16,
    compile: p.compile,
    ...(found.skipped.length ? { skipped: found.skipped } : {}),
  };
}

const skippedText = (s: { python: string; reason: string }[]): string => s.map((x) => `${x.python}: ${x.reason}`).join('; ');

/** Why the PyTorch export cannot run a spec's model (its layers without a PyTorch form), or undefined. */
function pytorchProblem(spec: RunSpec): string | undefined {
  const u = spec.pytorch?.().unsupported ?? [];
  return u.length ? `the PyTorch engine cannot run ${u.map((l) => `${l.layer} (${l.className})`).join(', ')}` : undefined;
}

/**
 * The engine for `config.engine` (absent: 'tfjs'). 'pytorch' needs a Python with torch (else throws, saying
 * what to install). 'auto' never picks an engine that cannot build the model (`runs`: the models to train): a
 * model TF.js cannot build goes to PyTorch, saying which layer sent it there, and one PyTorch cannot run stays
 * on TF.js. Otherwise it takes a GPU engine when one works: TF.js when the backend is tfjs-node-gpu on a GPU,
 * else PyTorch when torch sees CUDA; on the CPU it keeps TF.js, whose run saves a TF.js model.json that the
 * extension and the CLI read back (PyTorch on the CPU is faster, see `npm run bench`: ask for it with --engine pytorch).
 */
export async function resolveEngine(config: TrainConfig, backend: BackendChoice, runs: RunSpec[] = []): Promise<EngineChoice> {
  const pref = config.engine ?? 'tfjs';
  if (pref === 'tfjs') return { name: 'tfjs', reason: config.engine ? 'asked for (engine tfjs)' : 'the default engine' };
  if (pref === 'pytorch') return pytorchChoice(await findTorchPython(pythonOptions(config)), 'asked for (engine pytorch)');
  if (pref !== 'auto') throw new Error(`unknown engine '${String(pref)}'; expected auto, tfjs or pytorch`);
  const tfjsWhy = runs.map((r) => r.tfjsProblem?.()).find((w) => w !== undefined);
  const torchWhy = runs.map(pytorchProblem).find((w) => w !== undefined);
  if (tfjsWhy !== undefined) {
    if (torchWhy !== undefined) throw new Error(`no engine can build this model: TF.js: ${tfjsWhy}; PyTorch: ${torchWhy}`);
    let found: PythonFound;
    try {
      found = await findTorchPython(pythonOptions(config));
    } catch (e) {
      if (e instanceof PythonNotFoundError) throw new Error(`TF.js cannot build this model (${tfjsWhy}) and the PyTorch engine needs a Python with torch: ${e.message}`);
      throw e;
    }
    return pytorchChoice(found, `auto: TF.js cannot build this model (${tfjsWhy}), so PyTorch`);
  }
  if (torchWhy !== undefined) return { name: 'tfjs', reason: `auto: ${torchWhy}, so TF.js ${backend.name}` };
  if (backend.name === 'tensorflow-gpu') return { name: 'tfjs', reason: 'auto: tfjs-node-gpu runs on the GPU' };
  const gpuSkip = backend.tried.find((t) => t.candidate === 'tfjs-node-gpu');
  const tfjsGpu = `tfjs-node-gpu ${gpuSkip?.reason ?? 'not tried'}`;
  let noCuda: string;
  try {
    const found = await findTorchPython(pythonOptions(config));
    if (found.probe.cuda) return pytorchChoice(found, `auto: no TF.js GPU backend (${tfjsGpu}); PyTorch ${found.probe.torch} sees CUDA (${found.probe.deviceName})`);
    noCuda = `PyTorch ${found.probe.torch} (${found.python}) sees no CUDA device`;
  } catch (e) {
    if (!(e instanceof PythonNotFoundError)) throw e;
    noCuda = `no Python with torch (${skippedText(e.skipped)})`;
  }
  return {
    name: 'tfjs',
    reason:
      `auto: no GPU engine (${tfjsGpu}; ${noCuda}), so TF.js ${backend.name} on the CPU: its run saves the TF.js model.json ` +
      'that the extension and the CLI read back (--engine pytorch trains faster on the CPU but saves a PyTorch state_dict)',
  };
}

/** One line for the log: the engine, its device and why. */
export function describeEngine(e: EngineChoice): string {
  if (e.name === 'tfjs') return `engine tfjs: ${e.reason}`;
  const skipped = e.skipped?.length ? `; skipped ${skippedText(e.skipped)}` : '';
  return `engine pytorch: ${e.python} [${e.pythonSource}] (Python ${e.pythonVersion}, torch ${e.torch}, ${e.device === 'cuda' ? `CUDA ${e.deviceName}${e.bf16 ? ', bf16' : ''}` : 'CPU'}): ${e.reason}${skipped}`;
}

/** The index order model.fit trains in: its in-place Fisher-Yates shuffle, once per epoch, on the seeded global stream. */
export function tfjsDataOrder(seed: number, trainSamples: number, epochs: number): Int32Array {
  const random = mulberry32(hashSeed(seed, 'global'));
  const index = Int32Array.from({ length: trainSamples }, (_, i) => i);
  const out = new Int32Array(trainSamples * epochs);
  for (let e = 0; e < epochs; e++) {
    for (let counter = trainSamples; counter > 0; ) {
      const i = (random() * counter) | 0;
      counter--;
      const t = index[counter]!;
      index[counter] = index[i]!;
      index[i] = t;
    }
    out.set(index, e * trainSamples);
  }
  return out;
}

/** What the harness prints last. */
interface DoneEvent {
  status: RunStatus;
  message: string | null;
  budgetHit: boolean;
  epochs: Record<string, unknown>[];
  steps: number;
  stepMs: number | null;
  samplesPerSec: number | null;
  peakBytes: number;
  firstStepMs: number | null;
  trainMs: number;
  saveMs: number;
  stateDict: string | null;
  params: { total: number; trainable: number };
  device: 'cuda' | 'cpu';
  precision: 'bf16-autocast' | 'float32';
  compiled: boolean;
  compileNote: string | null;
  threads: number;
  processes?: number;
  distBackend?: 'nccl' | 'gloo' | null;
  /** The held-out test figures of the best-validation checkpoint (with a test set). */
  test?: { loss: unknown; acc: unknown; epoch: number; by: 'valAcc' | 'valLoss' | 'final' } | null;
}

/**
 * Runs torch.distributed.run as `python -m torch.distributed.run` does. torch 1.13 (Debian's python3-torch) under
 * Python >= 3.11 cannot parse its own --redirects/--tee default '0' (IntFlag iteration skips the 0 member, so
 * Std.from_str returns None and the launch fails in to_map); the shim maps that None back to Std.NONE.
 */
export const TORCHRUN_BOOT = [
  'import runpy',
  'from torch.distributed.elastic.multiprocessing import api as _a',
  '_f = _a.Std.from_str',
  'def _fix(v): return _a.Std.NONE if v is None else v',
  '_a.Std.from_str = staticmethod(lambda vm: (lambda r: {k: _fix(x) for k, x in r.items()} if isinstance(r, dict) else _fix(r))(_f(vm)))',
  "runpy.run_module('torch.distributed.run', run_name='__main__', alter_sys=True)",
].join('\n');

/**
 * The command line for the harness: `python train.py config.json`, or with several processes torchrun's
 * (`python -m torch.distributed.run --nproc_per_node N train.py config.json`, through TORCHRUN_BOOT), which
 * starts the ranks and sets RANK/WORLD_SIZE/LOCAL_RANK for them.
 *
 * One machine, so the static rendezvous with rank 0's store on 127.0.0.1 and a free port. Not --standalone or
 * c10d: their agent publishes the machine's fully qualified hostname as MASTER_ADDR, and where that name does not
 * resolve (a CI sandbox; reproduced with `unshare --uts` and an unknown hostname) the ranks wait 30 minutes for
 * it. torch 1.13's --standalone also always takes port 29400, so two runs at once would meet and hang. The agent
 * checks on its ranks every 0.5 s instead of 5 s, so a run ends when its ranks do.
 */
export function pythonArgs(script: string, configPath: string, processes: number, port: number): string[] {
  if (processes <= 1) return [script, configPath];
  const rdzv = ['--nnodes=1', '--node_rank=0', '--rdzv_backend=static', '--master_addr=127.0.0.1', `--master_port=${port}`, '--max_restarts=0', '--monitor_interval=0.5'];
  return ['-c', TORCHRUN_BOOT, ...rdzv, `--nproc_per_node=${processes}`, script, configPath];
}

/**
 * The environment for the harness. With several ranks: Gloo binds to the loopback interface (it would otherwise
 * look the hostname up too), and each rank gets an equal share of the cores for its intra-op threads, unless the
 * user set either (torchrun's default of 1 thread per rank leaves most cores idle on a CPU run).
 */
export function pythonEnv(base: NodeJS.ProcessEnv, processes: number, cores = availableParallelism(), platform = process.platform): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, PYTHONUNBUFFERED: '1' };
  if (processes <= 1) return env;
  const loopback = platform === 'darwin' ? 'lo0' : platform === 'linux' ? 'lo' : undefined;
  if (loopback && !base['GLOO_SOCKET_IFNAME']) env['GLOO_SOCKET_IFNAME'] = loopback;
  if (!base['OMP_NUM_THREADS']) env['OMP_NUM_THREADS'] = String(Math.max(1, Math.floor(cores / processes)));
  return env;
}

/** A TCP port nobody listens on now, for rank 0's rendezvous store. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Processes must be a positive integer dividing the batch size: each rank trains batchSize / processes samples per step. */
export function checkProcesses(config: TrainConfig): number {
  const p = config.processes ?? 1;
  if (!Number.isInteger(p) || p < 1) throw new Error(`processes must be a positive integer, got ${p}`);
  if (config.batchSize % p !== 0) {
    throw new Error(`batch size ${config.batchSize} cannot be split over ${p} processes: use a batch size divisible by ${p} (each process trains batchSize / ${p} samples per step)`);
  }
  return p;
}

/** JSON numbers, and the strings the harness writes for NaN and ±Infinity. */
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^-?(NaN|Infinity)$/.test(v) ? Number(v) : undefined);

function epochMetrics(e: Record<string, unknown>): EpochMetrics {
  const m: EpochMetrics = {
    epoch: Number(e['epoch']),
    loss: num(e['loss']) ?? NaN,
    batches: Number(e['batches']),
    samples: Number(e['samples']),
    samplesPerSec: num(e['samplesPerSec']) ?? 0,
    stepMs: num(e['stepMs']) ?? 0,
    seconds: num(e['seconds']) ?? 0,
    memory: e['memory'] as EpochMetrics['memory'],
  };
  for (const k of ['acc', 'valLoss', 'valAcc', 'lr'] as const) {
    const v = num(e[k]);
    if (v !== undefined) m[k] = v;
  }
  return m;
}

function summarise(epochs: EpochMetrics[]): { final: LossSummary; best: LossSummary } {
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

/** The last line of a Python traceback ('ValueError: ...'), else the last non-empty line. */
export function pythonErrorLine(stderr: string[]): string | undefined {
  const lines = stderr.map((l) => l.trimEnd()).filter(Boolean);
  return [...lines].reverse().find((l) => /^[A-Za-z_.]*(Error|Exception|Interrupt)\b.*:?/.test(l)) ?? lines[lines.length - 1];
}

const ERROR_TAG = 'LAUREL_ERROR ';

/**
 * Why the harness failed, for the message: the earliest error a rank reported (the harness tags each rank's
 * exception with its time; later ones are ranks falling in a collective after it, and torchrun's own summary
 * comes last), with that rank's traceback as the detail. Without a tag (Python died before the harness ran):
 * the last traceback line and the last lines of stderr.
 */
export function pythonFailure(stderr: string[], processes: number): { why?: string; detail: string } {
  let first: { rank: number; time: number; error: string; at: number } | undefined;
  stderr.forEach((line, at) => {
    if (!line.startsWith(ERROR_TAG)) return;
    try {
      const t = JSON.parse(line.slice(ERROR_TAG.length)) as { rank: number; time: number; error: string };
      if (!first || t.time < first.time) first = { ...t, at };
    } catch {
      /* a cut line: ignore it */
    }
  });
  const untagged = stderr.filter((l) => !l.startsWith(ERROR_TAG));
  if (!first) return { why: pythonErrorLine(untagged), detail: untagged.slice(-15).join('\n') };
  // That rank's traceback: from its tag to the next rank's traceback (ranks' stderr lines share one pipe).
  const after = stderr.slice(first.at + 1).filter((l) => !l.startsWith(ERROR_TAG));
  const next = after.findIndex((l, i) => i > 0 && l.startsWith('Traceback ('));
  const detail = (next > 0 ? after.slice(0, next) : after).slice(-15).join('\n');
  return { why: processes > 1 ? `rank ${first.rank} of ${processes}: ${first.error}` : first.error, detail };
}

/** Training options for the PyTorch engine beyond TrainOptions (tests and the GPU check use them). */
export interface PyTorchRunOptions extends TrainOptions {
  engine: EngineChoice;
  /** 'auto' (default): compile on CUDA only. */
  compile?: boolean | 'auto';
  /** torch threads on the CPU (default: torch's). */
  threads?: number;
  /** Keep the temp folder with the script and data (debugging). */
  keepTemp?: boolean;
}

/**
 * Trains `spec` with PyTorch. Same contract as trainRun: cancelling (the signal) closes Python's stdin, it stops
 * after the batch in progress and saves (killed when it has not ended 3 s later); a NaN or infinite loss stops at
 * once and saves no weights; a Python error rejects with its message. The record has the TF.js engine's shape
 * with `engine` filled in and `saved.torchState` (model.pt) and `saved.torchModule` (model.py) beside run.json.
 */
export async function trainRunPyTorch(spec: RunSpec, data: TrainData, config: TrainConfig, opts: PyTorchRunOptions): Promise<TrainResult> {
  validateConfig(config);
  const processes = checkProcesses(config);
  const engine = opts.engine;
  if (engine.name !== 'pytorch' || !engine.python) throw new Error('trainRunPyTorch needs a resolved PyTorch engine');
  if (!spec.pytorch && !spec.pySource) throw new Error(`${spec.name}: this run has no PyTorch module (RunSpec.pytorch)`);
  const src = spec.pySource;
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const curve = recordCurve(opts.sink);
  const sink = curve.sink;
  const exp = src ? undefined : spec.pytorch!();
  if (exp?.unsupported.length) {
    // One message naming every layer without a PyTorch form, before anything is written or started.
    throw new Error(`${spec.name}: the PyTorch engine cannot run ${exp.unsupported.map((u) => `${u.layer} (${u.className})`).join(', ')}; train it with --engine tfjs`);
  }
  const className = exp ? moduleClassName(exp.code) : 'build';
  // A PyTorch source starts from its own initialisation (the file's modules under torch.manual_seed(seed)).
  const init = src ? 'source' : (config.torchInit ?? 'keras');
  const temp = mkdtempSync(join(tmpdir(), 'laurel-torch-'));
  try {
    const n = data.x.shape[0] ?? data.samples;
    const trainSamples = Math.floor(n * (1 - config.validationSplit));
    const valSamples = n - trainSamples;
    if (trainSamples < 1) throw new Error(`no training samples: ${n} sample(s) with validationSplit ${config.validationSplit}`);
    // The loss, the labels and the counts come from the model itself (the core's figures); TF.js is built only
    // when its initial weights are asked for.
    let head = (src ? src.head : exp?.output) ?? { units: null, activation: undefined };
    let manifest: Record<string, { offset: number; shape: number[] }> | undefined;
    if (init === 'tfjs') {
      const tfjs = await tfjsInitialWeights(spec, config.seed, join(temp, 'weights.bin'));
      manifest = tfjs.manifest;
      head = tfjs.head;
    }
    const lossName = src && !src.head ? 'tokenCrossEntropy' : lossFor(head, data.classes).name;
    // The core's exact count of the planned model (parameters and BN statistics); a custom RunSpec without one takes Python's.
    const fileTotal = spec.baseParams !== undefined ? spec.baseParams + (spec.addedParams ?? 0) : undefined;
    let nonFiniteData = false;
    const labelsOf = (d: TrainData): tf.Tensor => (src && !src.head ? d.y : labelsFor(head, d));
    const labels = labelsOf(data);
    try {
      nonFiniteData = hasNonFinite(data.x) || hasNonFinite(labels);
      writeFileSync(join(temp, 'x.npy'), npyBytes(data.x.dataSync() as Float32Array, data.x.shape));
      writeFileSync(join(temp, 'y.npy'), npyBytes(labels.dataSync() as Float32Array, labels.shape));
    } finally {
      if (labels !== data.y) labels.dispose();
    }
    if (data.test) {
      // The held-out test set: the harness evaluates its best-validation checkpoint on it once, after training.
      const t = data.test;
      const ty = labelsOf({ ...data, y: t.y });
      writeFileSync(join(temp, 'x_test.npy'), npyBytes(t.x.dataSync() as Float32Array, t.x.shape));
      writeFileSync(join(temp, 'y_test.npy'), npyBytes(ty.dataSync() as Float32Array, ty.shape));
      if (ty !== t.y) ty.dispose();
    }
    const order = tfjsDataOrder(config.seed, trainSamples, config.epochs);
    writeFileSync(join(temp, 'order.npy'), npyBytes(order, [config.epochs, trainSamples]));
    const folder = src ? writePySourceFolder(temp, src.fileName, src.text) : { script: writeTrainingFolder(temp, exp!), file: '' };
    const script = folder.script;
    if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
    const stateDict = opts.outDir ? join(opts.outDir, TORCH_STATE) : null;
    const cfg = {
      className,
      seed: config.seed,
      optimizer: config.optimizer,
      learningRate: config.learningRate,
      batchSize: config.batchSize,
      epochs: config.epochs,
      ...(config.maxSteps !== undefined ? { maxSteps: config.maxSteps } : {}),
      // The research options (trainer/optimizerOptions.ts), applied by the harness with the same rules.
      ...Object.fromEntries((['lrSchedule', 'warmupSteps', 'weightDecay', 'noDecay', 'clipNorm'] as const).filter((k) => config[k] !== undefined).map((k) => [k, config[k]])),
      trainSamples,
      loss: lossName,
      x: join(temp, 'x.npy'),
      y: join(temp, 'y.npy'),
      order: join(temp, 'order.npy'),
      ...(data.test ? { test: { x: join(temp, 'x_test.npy'), y: join(temp, 'y_test.npy') } } : {}),
      ...(src ? { pySource: { file: folder.file, userDir: src.userDir, model: src.model } } : manifest ? { weights: { bin: join(temp, 'weights.bin'), manifest } } : { kerasInit: true }),
      throttleMs: opts.throttleMs ?? 1000,
      watchStdin: true,
      compile: opts.compile ?? 'auto',
      ...(opts.threads ? { threads: opts.threads } : {}),
      stateDict,
      divergence: divergenceRule(lossName, data.classes),
    };
    writeFileSync(join(temp, 'config.json'), JSON.stringify(cfg));
    const buildMs = performance.now() - t0;
    sink.log?.({
      level: 'info',
      message:
        `${spec.name}: ${fileTotal !== undefined ? fileTotal.toLocaleString('en-US') : '?'} params (+${(spec.addedParams ?? 0).toLocaleString('en-US')}), ${trainSamples} train / ${valSamples} val samples, ` +
        `batch ${config.batchSize}${processes > 1 ? ` over ${processes} processes` : ''}, ${Math.ceil(trainSamples / config.batchSize)} steps/epoch, ${lossName}, ${optimizerText(config)}, engine pytorch ${engine.device}, ` +
        (src ? `initial weights from ${src.model} under torch.manual_seed(${config.seed})` : manifest ? 'initial weights copied from TF.js' : 'initial weights from the Keras initializers in the file'),
    });

    const port = processes > 1 ? await freePort() : 0;
    const done = await runPython(engine.python, pythonArgs(script, join(temp, 'config.json'), processes, port), processes, spec.name, config, { ...opts, sink });
    const epochs = done.epochs.map(epochMetrics);
    let status = done.status;
    let message = done.message ?? undefined;
    if (status === 'diverged') {
      message = `${message}; training stopped: ${nonFiniteData ? 'the data contain NaN or Inf values' : `try a lower learning rate (now ${config.learningRate}, ${config.optimizer})`}`;
      sink.log?.({ level: 'error', message: `${spec.name}: ${message}` });
    } else if (status === 'completed' && done.budgetHit) {
      message = `stopped at the step budget (${config.maxSteps} steps)`;
    } else if (status === 'cancelled') {
      message = done.killed ? `cancelled; Python did not stop within ${KILL_AFTER_MS / 1000} s and was killed (no model.pt)` : `cancelled after ${done.steps} step(s)`;
      status = 'cancelled';
      sink.log?.({ level: 'warn', message: `${spec.name}: ${message}` });
    }
    const total = fileTotal ?? done.params.total;
    if (!done.killed && done.params.total !== total) {
      sink.log?.({ level: 'warn', message: `${spec.name}: the PyTorch module has ${done.params.total} parameters and statistics, the model file ${total}` });
    }
    const trainable = done.params.trainable;

    const saveStart = performance.now();
    let saved: RunRecord['saved'];
    if (opts.outDir) {
      saved = { dir: opts.outDir, record: join(opts.outDir, RUN_RECORD) };
      if (done.stateDict) {
        writeFileAtomic(join(opts.outDir, TORCH_MODULE), src ? src.text : exp!.code);
        if (src?.usesLaurel) writeFileAtomic(join(opts.outDir, 'laurel_residual.py'), laurelResidualPy);
        saved.torchState = done.stateDict;
        saved.torchModule = join(opts.outDir, TORCH_MODULE);
      }
    }
    const { final, best } = summarise(epochs);
    const test: RunRecord['test'] = data.test && done.test ? { name: data.test.name, samples: data.test.samples, loss: num(done.test.loss) ?? null, acc: num(done.test.acc) ?? null, epoch: done.test.epoch, by: done.test.by } : undefined;
    if (test) sink.log?.({ level: 'info', message: `${spec.name}: ${testLine(test)}` });
    const base = spec.baseParams ?? total;
    const added = spec.addedParams ?? total - base;
    const record: RunRecord = {
      ...recordHeader(spec, config, opts.backend, status, message),
      engine: {
        ...engine,
        device: done.device,
        precision: done.precision,
        compiled: done.compiled,
        ...(done.compileNote ? { compileNote: done.compileNote } : {}),
        threads: done.threads,
        memory: done.device === 'cuda' ? 'cuda-max-allocated' : 'peak-rss',
        ...(processes > 1 ? { processes: done.processes ?? processes, ...(done.distBackend ? { distBackend: done.distBackend } : {}) } : {}),
      },
      loss: lossName,
      params: { total, trainable, base, added, addedPercent: base > 0 ? (added / base) * 100 : 0, ...(spec.addedMacs !== undefined ? { addedMacs: spec.addedMacs } : {}) },
      dataset: { name: data.name, samples: n, trainSamples, valSamples, ...(data.classes !== undefined ? { classes: data.classes } : {}), adaptations: data.adaptations, ...testSet(data) },
      ...(test ? { test } : {}),
      epochs,
      curve: curve.curve(),
      steps: done.steps,
      stepMs: done.stepMs,
      samplesPerSec: done.samplesPerSec,
      peakBytes: done.peakBytes,
      final,
      best,
      timings: { buildMs, firstStepMs: done.firstStepMs, trainMs: done.trainMs, saveMs: done.saveMs + (performance.now() - saveStart), totalMs: performance.now() - t0 },
      startedAt,
      finishedAt: new Date().toISOString(),
    };
    if (saved) {
      record.saved = saved;
      writeFileAtomic(saved.record, JSON.stringify(record, null, 2) + '\n');
    }
    return { record, model: null };
  } finally {
    if (!opts.keepTemp) rmSync(temp, { recursive: true, force: true });
  }
}

/**
 * The TF.js model's initial weights (built in the run's seeded scope, as the TF.js engine builds it) written to
 * `bin`, with their manifest and the model's output head: exact cross-engine parity (`torchInit: 'tfjs'`).
 */
async function tfjsInitialWeights(spec: RunSpec, seed: number, bin: string): Promise<{ manifest: Record<string, { offset: number; shape: number[] }>; head: OutputHead }> {
  const seeded = seedScope(seed);
  let built: tf.LayersModel;
  try {
    built = await spec.build();
  } catch (e) {
    throw new Error(`torchInit 'tfjs' copies TF.js's initial weights, but TF.js cannot build this model (${e instanceof Error ? e.message : String(e)}); use torchInit 'keras' (--torch-init keras)`);
  } finally {
    seeded.restore();
  }
  try {
    const manifest: Record<string, { offset: number; shape: number[] }> = {};
    const parts: Buffer[] = [];
    let offset = 0;
    for (const layer of built.layers) {
      for (const w of layer.weights) {
        const values = w.read().dataSync() as Float32Array;
        // 'conv/kernel'; a Bidirectional's 'bidi/forward_lstm/kernel' (the TFJS_WEIGHTS names).
        const inner = w.originalName.startsWith(`${layer.name}/`) ? w.originalName.slice(layer.name.length + 1) : w.originalName.split('/').pop()!;
        manifest[`${layer.name}/${inner}`] = { offset, shape: w.shape as number[] };
        parts.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
        offset += values.length;
      }
    }
    writeFileSync(bin, Buffer.concat(parts));
    return { manifest, head: outputHead(built) };
  } finally {
    built.dispose();
  }
}

/** Runs the harness, forwards its events, and resolves with its `done` event (or a cancelled one if it was killed). */
function runPython(python: string, args: string[], processes: number, run: string, config: TrainConfig, opts: PyTorchRunOptions): Promise<DoneEvent & { killed: boolean }> {
  const sink = opts.sink ?? {};
  const engineLabel = `pytorch ${opts.engine.device}${opts.engine.device === 'cuda' && opts.engine.bf16 ? ' bf16' : ''}`;
  return new Promise((resolve, reject) => {
    // torchrun (several processes) runs in its own process group so that the kill after a cancel takes its ranks too.
    const group = processes > 1;
    const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'], env: pythonEnv(process.env, processes), detached: group });
    const stderr: string[] = [];
    let done: DoneEvent | undefined;
    const epochEvents: Record<string, unknown>[] = [];
    let killed = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    let partial = '';
    // A foreign or broken engine (malformed lines, or silence: no heartbeat) is stopped within seconds.
    let fault: string | undefined;
    let malformed = 0;
    let lastEvent = Date.now();
    const silenceMs = Number(process.env['LAUREL_ENGINE_SILENCE_MS']) || ENGINE_SILENCE_MS;
    const stopEngine = (why: string): void => {
      fault ??= why;
      if (group && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
          return;
        } catch {
          // the group is gone already
        }
      }
      child.kill('SIGKILL');
    };
    const watchdog = setInterval(() => {
      if (Date.now() - lastEvent > silenceMs) stopEngine(`the engine sent nothing for ${Math.round((Date.now() - lastEvent) / 1000)} s (it prints a heartbeat every second)`);
    }, Math.min(1000, silenceMs / 2));
    const onLine = (line: string): void => {
      if (!line.trim()) return;
      let ev: Record<string, unknown> | undefined;
      try {
        ev = JSON.parse(line) as Record<string, unknown>;
      } catch {
        ev = undefined;
      }
      if (!ev || typeof ev !== 'object' || !PROTOCOL_EVENTS.has(String(ev['event']))) {
        stderr.push(line); // kept with the diagnostics; a few are tolerated (a stray print), a stream of them is not
        if (++malformed > MALFORMED_LIMIT) stopEngine(`the engine printed ${malformed} lines that are not protocol events (the last: ${JSON.stringify(line.slice(0, 120))})`);
        return;
      }
      lastEvent = Date.now();
      switch (ev['event']) {
        case 'log':
          sink.log?.({ level: ev['level'] as 'info' | 'warn' | 'error', message: `${run}: ${String(ev['message'])}` });
          break;
        case 'batchEnd': {
          const acc = num(ev['acc']);
          sink.batchEnd?.({
            run,
            epoch: Number(ev['epoch']),
            batch: Number(ev['batch']),
            batchesPerEpoch: Number(ev['batchesPerEpoch']),
            step: Number(ev['step']),
            loss: num(ev['loss']) ?? NaN,
            ...(acc !== undefined ? { acc } : {}),
            samplesPerSec: num(ev['samplesPerSec']) ?? 0,
          });
          break;
        }
        case 'epochEnd': {
          epochEvents.push(ev);
          const { epoch, batches: _b, samples: _s, seconds: _sec, ...rest } = epochMetrics(ev);
          sink.epochEnd?.({ run, epoch, epochs: config.epochs, ...rest, backend: opts.backend.name, engine: engineLabel });
          break;
        }
        case 'done':
          done = ev as unknown as DoneEvent;
          break;
      }
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(onLine);
    });
    // Chunks do not end at line ends: carry the unfinished line over, as for stdout.
    let partialErr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partialErr + chunk).split('\n');
      partialErr = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) stderr.push(l);
      if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
    });
    child.stderr.on('end', () => {
      if (partialErr.trim()) stderr.push(partialErr);
      partialErr = '';
    });
    child.stdin.on('error', () => undefined); // EPIPE when Python has exited already
    const onAbort = (): void => {
      child.stdin.end();
      killTimer ??= setTimeout(() => {
        killed = true;
        if (group && child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            child.kill('SIGKILL'); // the group is gone already
          }
        } else child.kill('SIGKILL');
      }, KILL_AFTER_MS);
    };
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    child.on('error', (e) => {
      clearInterval(watchdog);
      opts.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      reject(new Error(`could not start ${python}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      opts.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (partial) onLine(partial);
      if (fault) {
        const tail = stderr.slice(-5).join('\n');
        return reject(new Error(`PyTorch training stopped: the engine (${python}) ${fault.replace(/^the engine /, '')}; it was killed${tail ? `\n${tail}` : ''}`));
      }
      if (done) return resolve({ ...done, killed: false });
      if (killed) {
        return resolve({
          status: 'cancelled', message: null, budgetHit: false, epochs: epochEvents, steps: 0, stepMs: null, samplesPerSec: null, peakBytes: 0, firstStepMs: null,
          trainMs: 0, saveMs: 0, stateDict: null, params: { total: 0, trainable: 0 }, device: opts.engine.device ?? 'cpu', precision: 'float32', compiled: false, compileNote: null, threads: 0, killed: true,
        });
      }
      const { why, detail } = pythonFailure(stderr, processes);
      reject(new Error(`PyTorch training failed (${python} ${signal ? `killed by ${signal}` : `exited with code ${code}`})${why ? `: ${why}` : ''}${detail ? `\n${detail}` : ''}`));
    });
  });
}
