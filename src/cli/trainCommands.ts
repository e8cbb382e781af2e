// `laurel train` and `laurel compare`: check the arguments and plans here, then hand the work to the
// trainer process (dist/trainer.js) and print its progress. No tfjs in this bundle.
import { existsSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openModel, planModel } from '../core/model';
import { splitPlans } from '../core/laurel/planSpec';
import { RpcError } from '../protocol/rpcChannel';
import { DEFAULT_TRAIN_CONFIG, TORCH_INITS } from '../protocol/runRecords';
import type { ComparisonRecord, EnginePreference, OptimizerName, RunRecord, TorchInit, TrainConfig } from '../protocol/runRecords';
import type { EpochEndEvent, TestRequest } from '../protocol/trainerProtocol';
import type { BackendPreference } from '../trainer/backend';
import { comparisonTable } from '../trainer/comparisonTable';
import { seedSummary } from '../trainer/seedSummary';
import { writeSeedReport } from '../trainer/reportFiles';
import { NO_DECAY_KINDS } from '../trainer/optimizerOptions';
import { TrainerClient, TrainerExitError } from '../trainer/trainerClient';
import { parseHead, trainingModel, TrainingOutputError } from '../trainer/trainingGraph';
import { cliErrorExit, readInput, UsageError } from './cliOptions';
import { isPySource, pyFileOptions, PyOptionsError } from '../trainer/pySourceOptions';
import { PY_LOSSES } from '../core/pysource/pyOptions';
import type { PyLoss } from '../core/pysource/pyOptions';

export const TRAIN_USAGE = `  laurel train FILE [--plan SPEC] [--data DATA] [--adapt auto|LIST] [OPTIONS]
      Train the model (with the plan's LAuReL layers) and save model.json, weights.bin and run.json.
  laurel compare FILE --plans 'plain;rw;rw+lr:r=16' [--data DATA] [--adapt auto|LIST] [OPTIONS]
      Train each plan in turn (';' between plans) with the same seed, data and budget; print a table
      with ratios to the first plan.

OPTIONS: --epochs N (1)  --batch-size N (32)  --lr X (0.001)  --optimizer adam|adamw|sgd|rmsprop  --seed N (42)
  --schedule constant|cosine (cosine: linear warm-up, then half a cosine to 0 over the run's steps)  --warmup N (0)
  --weight-decay X (adamw: 0.01)  --no-decay bias,norm,laurel|none (adamw: weights not decayed; default all three:
      biases, normalisation scales/offsets, LAuReL's RW/PA scalars)  --clip-norm X (clip gradients to a global L2 norm)
  --steps N (budget of optimizer steps)  --val-split X (0.1)
  --test (a held-out test set, evaluated once by each run's best-validation checkpoint: Fashion-MNIST's t10k for
      fashion-mnist, else the data's last 10%, cut before the validation split; the same for every seed and plan)
  --test-data SPEC (the test set from files, in the DATA forms)  --test-split X (the held-out fraction, default 0.1)  --backend auto|tfjs-node-gpu|tfjs-node|wasm|cpu
  --seeds 1,2,3 (compare: every plan under each seed; mean ± std and paired 95% CIs, report.md)
  --engine auto|tfjs|pytorch (auto: a GPU engine when one works, else TF.js)  --python PATH (a Python with torch)
  --nproc N (PyTorch engine: N training processes via torchrun, one per GPU; the batch size is split over them)
  --torch-init keras|tfjs (PyTorch engine's initial weights: the file's Keras initializers, or TF.js's for exact parity)
  --out DIR (runs/<model>/<timestamp>/)  --output NAME (the output to train, by its layer; default the last)
  --head classes=K (global pooling + Dense(K, softmax) after the output, for training only: a feature-map output needs it)
  --model EXPR --input EXPR (a PyTorch source FILE.py: as for 'laurel inspect'; it trains on the PyTorch engine,
      each plan from a rewritten copy, the file untouched; same seed, data order and untouched modules' weights)
  --loss cross_entropy|mse|model (FILE.py: cross-entropy on the logits, MSE on one-hot labels, or the loss the
      forward returns with the targets). FILE.py's comment '# laurel: model=... input=... loss=... data=...
      adapt=...' gives the defaults of --model, --input, --loss, --data (paths relative to the file), --adapt.
DATA: synthetic[:samples=N][:classes=K] (default), fashion-mnist[:test][:limit=N], idx:IMAGES,LABELS,
  csv:PATH[:label=COL], npy:X.npy,Y.npy (a model with several inputs: npy:X1.npy+X2.npy,Y.npy, one x per input in
  its order) (each with [:limit=N]); for a language model (.py, output (N, T, V)):
  text:FILE[:limit=N] (bytes as tokens, next-byte targets, T from the input; the last windows validate). Ctrl-C cancels after the batch in progress.`;

const BACKENDS: readonly BackendPreference[] = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];
const OPTIMIZERS: readonly OptimizerName[] = ['adam', 'adamw', 'sgd', 'rmsprop'];
const ENGINES: readonly EnginePreference[] = ['auto', 'tfjs', 'pytorch'];

export const isTrainCommand = (command: string | undefined): boolean => command === 'train' || command === 'compare';

function number(name: string, v: string | undefined, d: number | undefined, check: (n: number) => boolean, what: string): number | undefined {
  if (v === undefined) return d;
  const n = Number(v);
  if (v.trim() === '' || !check(n)) throw new UsageError(`--${name} must be ${what}, got '${v}'`);
  return n;
}
const positiveInt = (n: number): boolean => Number.isInteger(n) && n >= 1;

/** `--seeds 1,2,3`: distinct integers, at least one. */
function parseSeeds(v: string): number[] {
  const seeds = v.split(',').map((s) => s.trim());
  const bad = seeds.find((s) => s === '' || !Number.isSafeInteger(Number(s)));
  if (bad !== undefined) throw new UsageError(`--seeds must be integers separated by commas, got '${v}'`);
  const out = seeds.map(Number);
  if (new Set(out).size !== out.length) throw new UsageError(`--seeds repeats a seed: '${v}'`);
  return out;
}

/** --schedule, --warmup, --weight-decay, --no-decay, --clip-norm as TrainConfig fields (absent ones left out: defaults unchanged). */
function optimizerOptions(v: { optimizer?: string; schedule?: string; warmup?: string; 'weight-decay'?: string; 'no-decay'?: string; 'clip-norm'?: string }): Partial<TrainConfig> {
  if (v.schedule !== undefined && v.schedule !== 'constant' && v.schedule !== 'cosine') throw new UsageError(`--schedule must be constant or cosine, got '${v.schedule}'`);
  const warmupSteps = number('warmup', v.warmup, undefined, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
  if (warmupSteps !== undefined && v.schedule !== 'cosine') throw new UsageError('--warmup is for --schedule cosine');
  const weightDecay = number('weight-decay', v['weight-decay'], undefined, (n) => n >= 0 && Number.isFinite(n), 'a non-negative number');
  if ((weightDecay !== undefined || v['no-decay'] !== undefined) && v.optimizer !== 'adamw') throw new UsageError('--weight-decay and --no-decay are for --optimizer adamw');
  let noDecay: TrainConfig['noDecay'];
  if (v['no-decay'] !== undefined) {
    const kinds = v['no-decay'] === 'none' ? [] : v['no-decay'].split(',').map((k) => k.trim());
    const bad = kinds.find((k) => !(NO_DECAY_KINDS as readonly string[]).includes(k));
    if (bad !== undefined) throw new UsageError(`--no-decay takes ${NO_DECAY_KINDS.join(',')} or none, got '${bad}'`);
    noDecay = kinds as TrainConfig['noDecay'];
  }
  const clipNorm = number('clip-norm', v['clip-norm'], undefined, (n) => n > 0 && Number.isFinite(n), 'a positive number');
  return {
    ...(v.schedule !== undefined ? { lrSchedule: v.schedule } : {}),
    ...(warmupSteps !== undefined ? { warmupSteps } : {}),
    ...(weightDecay !== undefined ? { weightDecay } : {}),
    ...(noDecay !== undefined ? { noDecay } : {}),
    ...(clipNorm !== undefined ? { clipNorm } : {}),
  };
}

function stamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-');
}

const fmt = (v: number | undefined, digits: number): string => (v === undefined ? '' : v.toFixed(digits));
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

function epochLine(e: EpochEndEvent, label: string): string {
  const parts = [`${label}epoch ${e.epoch}/${e.epochs}`, `loss ${fmt(e.loss, 4)}`];
  if (e.acc !== undefined) parts.push(`acc ${fmt(e.acc, 3)}`);
  if (e.valLoss !== undefined) parts.push(`val_loss ${fmt(e.valLoss, 4)}`);
  if (e.valAcc !== undefined) parts.push(`val_acc ${fmt(e.valAcc, 3)}`);
  parts.push(`${fmt(e.samplesPerSec, 1)} samples/s`, `${fmt(e.stepMs, 1)} ms/step`, e.engine ? `engine ${e.engine}` : `backend ${e.backend}`, `peak ${mib(e.memory.peakBytes)}`);
  return parts.join('  ');
}

function doneLine(r: RunRecord): string {
  const where = r.saved ? `; ${r.saved.modelJson || r.saved.torchState ? 'saved to' : 'record in'} ${r.saved.dir}` : '';
  return `[${r.name}] ${r.status} in ${(r.timings.totalMs / 1000).toFixed(1)} s${r.message ? `: ${r.message}` : ''}${where}`;
}

/** Runs `laurel train|compare ...`; resolves with the exit code (130 after a cancel). */
export async function runTrainCommand(argv: string[]): Promise<number> {
  try {
    return await trainCommand(argv);
  } catch (e) {
    return cliErrorExit(e, TRAIN_USAGE, [RpcError, TrainerExitError, TrainingOutputError, PyOptionsError]);
  }
}

async function trainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      plan: { type: 'string' },
      plans: { type: 'string' },
      data: { type: 'string' },
      adapt: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      optimizer: { type: 'string' },
      schedule: { type: 'string' },
      warmup: { type: 'string' },
      'weight-decay': { type: 'string' },
      'no-decay': { type: 'string' },
      'clip-norm': { type: 'string' },
      seed: { type: 'string' },
      seeds: { type: 'string' },
      steps: { type: 'string' },
      'val-split': { type: 'string' },
      test: { type: 'boolean' },
      'test-data': { type: 'string' },
      'test-split': { type: 'string' },
      backend: { type: 'string' },
      engine: { type: 'string' },
      python: { type: 'string' },
      nproc: { type: 'string' },
      'torch-init': { type: 'string' },
      out: { type: 'string', short: 'o' },
      output: { type: 'string' },
      head: { type: 'string' },
      model: { type: 'string' },
      input: { type: 'string' },
      loss: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, file, ...extra] = positionals;
  if (values.help) {
    console.log(`laurel ${command}: train a model file and compare LAuReL plans\n\n${TRAIN_USAGE}`);
    return 0;
  }
  if (!file) throw new UsageError(`'${command}' needs a model FILE`);
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (command === 'train' && values.plans !== undefined) throw new UsageError("'train' takes --plan SPEC; --plans is for 'compare'");
  if (command === 'compare' && values.plan !== undefined) throw new UsageError("'compare' takes --plans 'SPEC;SPEC;...'");
  if (values.optimizer !== undefined && !(OPTIMIZERS as readonly string[]).includes(values.optimizer)) {
    throw new UsageError(`--optimizer must be one of ${OPTIMIZERS.join(', ')}, got '${values.optimizer}'`);
  }
  if (values.backend !== undefined && !(BACKENDS as readonly string[]).includes(values.backend)) {
    throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, got '${values.backend}'`);
  }
  if (values.engine !== undefined && !(ENGINES as readonly string[]).includes(values.engine)) {
    throw new UsageError(`--engine must be one of ${ENGINES.join(', ')}, got '${values.engine}'`);
  }
  const torchInit = values['torch-init'];
  if (torchInit !== undefined && !(TORCH_INITS as readonly string[]).includes(torchInit)) {
    throw new UsageError(`--torch-init must be one of ${TORCH_INITS.join(', ')}, got '${torchInit}'`);
  }
  const d = DEFAULT_TRAIN_CONFIG;
  const maxSteps = number('steps', values.steps, undefined, positiveInt, 'a positive integer');
  const processes = number('nproc', values.nproc, undefined, positiveInt, 'a positive integer');
  if (processes !== undefined && processes > 1 && values.engine === 'tfjs') throw new UsageError('--nproc needs the PyTorch engine (--engine pytorch)');
  const config: TrainConfig = {
    optimizer: (values.optimizer as OptimizerName | undefined) ?? d.optimizer,
    learningRate: number('lr', values.lr, d.learningRate, (n) => n > 0 && Number.isFinite(n), 'a positive number')!,
    batchSize: number('batch-size', values['batch-size'], d.batchSize, positiveInt, 'a positive integer')!,
    epochs: number('epochs', values.epochs, d.epochs, positiveInt, 'a positive integer')!,
    validationSplit: number('val-split', values['val-split'], d.validationSplit, (n) => n >= 0 && n < 1, 'in [0, 1)')!,
    seed: number('seed', values.seed, d.seed, Number.isInteger, 'an integer')!,
    ...(maxSteps !== undefined ? { maxSteps } : {}),
    ...(processes !== undefined ? { processes } : {}),
    ...(torchInit !== undefined ? { torchInit: torchInit as TorchInit } : {}),
    ...optimizerOptions(values),
    engine: (values.engine as EnginePreference | undefined) ?? 'auto',
    // A path is made absolute (the trainer may run elsewhere); a bare name ('python3.12') is looked up on PATH.
    ...(values.python ? { python: /[\\/]/.test(values.python) ? resolve(values.python) : values.python } : {}),
  };
  const testSplit = number('test-split', values['test-split'], undefined, (n) => n > 0 && n < 1, 'in (0, 1)');
  if (testSplit !== undefined && values['test-data'] !== undefined) throw new UsageError('give --test-data SPEC or --test-split X, not both');
  const test: TestRequest | undefined =
    values.test || values['test-data'] !== undefined || testSplit !== undefined
      ? { ...(values['test-data'] !== undefined ? { data: values['test-data'] } : {}), ...(testSplit !== undefined ? { split: testSplit } : {}) }
      : undefined;
  const seeds = values.seeds === undefined ? undefined : parseSeeds(values.seeds);
  if (seeds && command !== 'compare') throw new UsageError("--seeds is for 'compare' (train takes --seed N)");
  if (seeds && values.seed !== undefined) throw new UsageError('give --seed N or --seeds LIST, not both');
  const planList = splitPlans(values.plans ?? '');
  if (command === 'compare' && planList.note) console.error(`laurel: ${planList.note}`);
  const plans = command === 'compare' ? planList.plans : [];
  if (command === 'compare' && plans.length === 0) throw new UsageError("'compare' needs --plans 'SPEC;SPEC;...' (for example 'plain;rw;rw+lr:r=16')");

  // Fail on an unreadable model, an output that cannot train or a bad plan here, before a process starts.
  const head = values.head !== undefined ? parseHead(values.head) : undefined;
  const picked = { ...(values.output !== undefined ? { output: values.output } : {}), ...(head ? { head } : {}) };
  const py = isPySource(file);
  let fileOptions: { data?: string; adapt?: string } = {};
  if (py) {
    // Measured and planned in the trainer (one forward pass in Python), which names a bad plan before training.
    if (values.output !== undefined || head) throw new UsageError('--output and --head are for Keras files; a PyTorch source trains its forward output');
    if (values.loss !== undefined && !(PY_LOSSES as readonly string[]).includes(values.loss)) throw new UsageError(`--loss must be one of ${PY_LOSSES.join(', ')}, got '${values.loss}'`);
    // The file's `# laurel:` comment (a missing or unreadable source is named here, not by the trainer): a problem in
    // it stops here, located; its data is the default of --data.
    fileOptions = pyFileOptions(resolve(file), readInput(file).toString('utf8'));
  } else {
    if (values.model !== undefined || values.input !== undefined || values.loss !== undefined) throw new UsageError('--model, --input and --loss are for PyTorch sources (.py)');
    const model = openModel(file, readInput(file));
    trainingModel(model, picked);
    for (const p of command === 'compare' ? plans : values.plan ? [values.plan] : []) for (const w of planModel(model, p).warnings) console.error(`laurel: warning: ${w}`);
  }

  const script = join(__dirname, 'trainer.js');
  if (!existsSync(script)) throw new UsageError(`${script} is missing: run 'npm run build' first`);
  const outDir = resolve(values.out ?? join('runs', basename(file, extname(file)), stamp()));
  // The comment's adaptations go with its data only: other data given by a flag takes its own --adapt.
  const data = values.data ?? fileOptions.data ?? 'synthetic';
  const adapt = values.adapt ?? (values.data === undefined ? fileOptions.adapt : undefined);
  const base = {
    modelPath: resolve(file),
    data,
    ...(adapt ? { adapt } : {}),
    ...picked,
    ...(test ? { test } : {}),
    ...(values.model !== undefined ? { pyModel: values.model } : {}),
    ...(values.input !== undefined ? { pyInput: values.input } : {}),
    ...(values.loss !== undefined ? { pyLoss: values.loss as PyLoss } : {}),
    config,
    outDir,
  };

  const client = new TrainerClient({ script, ...(values.backend ? { backend: values.backend as BackendPreference } : {}) });
  const tty = process.stdout.isTTY === true;
  let status = '';
  const clearStatus = (): void => {
    if (status) process.stdout.write('\r\x1b[K');
    status = '';
  };
  const label = (run: string): string => (command === 'compare' ? `[${run}] ` : '');
  client.events.on('log', (e) => {
    clearStatus();
    (e.level === 'info' ? console.log : console.error)(`${e.level === 'info' ? '' : `${e.level}: `}${e.message}`);
  });
  client.events.on('batchEnd', (e) => {
    if (!tty) return;
    status = `${label(e.run)}epoch ${e.epoch} batch ${e.batch + 1}/${e.batchesPerEpoch}  loss ${e.loss.toFixed(4)}${e.acc !== undefined ? `  acc ${e.acc.toFixed(3)}` : ''}  ${e.samplesPerSec.toFixed(1)} samples/s`;
    process.stdout.write(`\r\x1b[K${status}`);
  });
  client.events.on('epochEnd', (e) => {
    clearStatus();
    console.log(epochLine(e, label(e.run)));
  });
  client.events.on('runDone', (r) => {
    clearStatus();
    console.log(doneLine(r));
  });

  let cancels = 0;
  const onSigint = (): void => {
    cancels++;
    clearStatus();
    if (cancels === 1) {
      console.error('cancelling after the batch in progress (Ctrl-C again to stop at once)');
      client.cancel('Ctrl-C');
    } else {
      void client.dispose();
    }
  };
  process.on('SIGINT', onSigint);
  try {
    if (command === 'train') {
      console.log(`training ${file}${values.plan ? ` with ${values.plan}` : ''} on ${data}; output ${outDir}`);
      const record = await client.train({ ...base, ...(values.plan ? { plan: values.plan } : {}) });
      return record.status === 'completed' ? 0 : record.status === 'cancelled' ? 130 : 1;
    }
    console.log(`comparing ${plans.length} plan(s) on ${file} with ${data}${seeds ? ` under seeds ${seeds.join(', ')}` : ''}; output ${outDir}`);
    const done: ComparisonRecord[] = [];
    for (const seed of seeds ?? [config.seed]) {
      const dir = seeds ? join(outDir, `seed-${seed}`) : outDir;
      const c = await client.compare({ ...base, config: { ...config, seed }, outDir: dir, plans });
      console.log(`\n${comparisonTable(c)}\n\n${join(dir, 'comparison.json')}`);
      done.push(c);
      if (!c.complete) return 130;
    }
    if (seeds) {
      const s = seedSummary(done);
      console.log(`\nOver seeds ${seeds.join(', ')} (${s.metric}; Δ: paired difference to ${plans[0]}, 95% CI by paired t):\n${s.table}\n\n${s.verdicts.join('\n')}`);
      console.log(`\n${writeSeedReport(join(outDir, 'report.md'), done).join('\n')}`);
    }
    return done.every((c) => c.runs.every((r) => r.status === 'completed')) ? 0 : 1;
  } catch (e) {
    if (cancels > 0 && e instanceof TrainerExitError) {
      console.error('laurel: cancelled; the trainer was stopped');
      return 130;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    clearStatus();
    await client.dispose();
  }
}
