/**
 * From the trainer's records and errors to what the training panel and the prompts show. Pure (no
 * `vscode`, no tfjs): only types cross from the trainer.
 */
import type { ComparisonRecord, RunRecord } from '../protocol/runRecords';
import type { BackendChoice } from '../protocol/backends';
import type { BackendView, EpochView, JobView, RunSummaryView, RunView } from '../protocol/trainingPanel';

export function runSummaryView(r: RunRecord): RunSummaryView {
  return {
    status: r.status,
    ...(r.message !== undefined ? { message: r.message } : {}),
    params: r.params.total,
    added: r.params.added,
    addedPercent: r.params.addedPercent,
    final: { ...r.final },
    best: { ...r.best },
    stepMs: r.stepMs,
    samplesPerSec: r.samplesPerSec,
    peakBytes: r.peakBytes,
    steps: r.steps,
    ...(r.saved ? { savedDir: r.saved.dir } : {}),
    ...(r.test ? { test: { loss: r.test.loss, acc: r.test.acc } } : {}),
    ...(r.params.addedMacs !== undefined ? { addedMacs: r.params.addedMacs } : {}),
  };
}

/** The engine a run trained on: the TF.js backend, or for the PyTorch engine its device (the TF.js backend only built the initial weights). */
export function backendView(b: BackendChoice, engine?: RunRecord['engine']): BackendView {
  if (engine?.name === 'pytorch') {
    const device = engine.device === 'cuda' ? `CUDA${engine.deviceName ? ` ${engine.deviceName}` : ''}` : 'CPU';
    const extras = [engine.precision === 'bf16-autocast' ? 'bf16' : '', engine.compiled ? 'compiled' : '', engine.processes && engine.processes > 1 ? `${engine.processes} processes` : ''].filter(Boolean);
    return { label: `pytorch ${engine.torch ?? ''} on ${device}${extras.length ? ` (${extras.join(', ')})` : ''}`.replace('  ', ' '), skipped: [] };
  }
  const wasm = b.name === 'wasm' ? ` (${b.simd ? 'SIMD' : 'no SIMD'}, ${b.threads ?? 1} thread${(b.threads ?? 1) === 1 ? '' : 's'})` : '';
  const skipped: BackendView['skipped'] = [];
  // `tried` is fastest first and stops at the one that loaded: the failures before it are the faster ones.
  for (const t of b.tried) {
    if (t.ok) break;
    skipped.push({ candidate: t.candidate, reason: t.reason ?? 'did not load' });
  }
  return { label: `${b.name}${wasm}`, skipped };
}

/**
 * The trainer's first log line of a job names the backend ("backend wasm (…); skipped tfjs-node: …"): the
 * panel shows it until the first run's record brings the structured choice.
 */
export function backendFromLog(message: string): BackendView | undefined {
  if (!message.startsWith('backend ')) return undefined;
  const text = message.slice('backend '.length);
  const cut = text.indexOf('; skipped ');
  const label = (cut < 0 ? text : text.slice(0, cut)).replace(/ \(.*$/, '');
  const skipped = cut < 0 ? [] : text.slice(cut + '; skipped '.length).split('; ').map((s) => {
    const i = s.indexOf(': ');
    return i < 0 ? { candidate: s, reason: '' } : { candidate: s.slice(0, i), reason: s.slice(i + 2) };
  });
  return { label, skipped, note: text };
}

/** The trainer's "data NAME, N samples…" log line, for the panel's header. */
export const dataFromLog = (message: string): string | undefined => (message.startsWith('data ') ? message.slice('data '.length) : undefined);

/** A mismatch the trainer reported (RpcError named DatasetMismatchError) and the adaptations it offers, in words. */
export function mismatchOffers(e: unknown): string[] | undefined {
  if (!(e instanceof Error) || e.name !== 'DatasetMismatchError') return undefined;
  const offers = (e as Error & { data?: { offers?: unknown } }).data?.offers;
  if (!Array.isArray(offers) || offers.length === 0) return undefined;
  return offers.map(describeAdaptation);
}

function describeAdaptation(a: unknown): string {
  if (typeof a !== 'object' || a === null) return String(a);
  const o = a as { kind?: unknown; to?: unknown; classes?: unknown };
  const kind = typeof o.kind === 'string' ? o.kind : '?';
  if (Array.isArray(o.to)) return `${kind} to ${o.to.join('×')}`;
  if (typeof o.to === 'number') return `${kind} to ${o.to}`;
  if (typeof o.classes === 'number') return `${kind} (${o.classes} classes)`;
  return kind;
}

// ---- run records opened from disk ----

/** What the file did not hold, said with where: the panel and the error message show it as it is. */
export class RunFileError extends Error {
  override readonly name = 'RunFileError';
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNum = (x: unknown): x is number => typeof x === 'number';
const STATUSES = new Set(['completed', 'cancelled', 'diverged']);

/** Checks the fields the panel reads from a run record (`where`: the file and, in a comparison, the run's index). */
function checkRun(x: unknown, where: string): RunRecord {
  const bad = (what: string): never => {
    throw new RunFileError(`${where}: ${what}`);
  };
  if (!isObj(x) || x['kind'] !== 'laurel-run') bad("not a LAuReL run record (kind 'laurel-run')");
  const r = x as Record<string, unknown>;
  if (r['version'] !== 1) bad(`record version ${JSON.stringify(r['version'])}; this LAuReL Studio reads version 1`);
  if (typeof r['name'] !== 'string') bad('name: expected a string');
  // Written at a run's start ('running') and when it failed or its trainer died ('failed'): no figures to show.
  if (r['status'] === 'running') bad(`run '${String(r['name'])}' has not finished (started ${String(r['startedAt'])} by process ${String(r['pid'])}; if that process is gone, it died)`);
  if (r['status'] === 'failed') bad(`run '${String(r['name'])}' failed: ${String(r['message'] ?? 'no reason recorded')}`);
  if (typeof r['status'] !== 'string' || !STATUSES.has(r['status'])) bad(`status: expected completed, cancelled or diverged, got ${JSON.stringify(r['status'])}`);
  const params = r['params'];
  if (!isObj(params) || !isNum(params['total']) || !isNum(params['added']) || !isNum(params['addedPercent'])) bad('params: expected total, added and addedPercent numbers');
  const config = r['config'];
  if (!isObj(config) || !isNum(config['epochs']) || !isNum(config['batchSize']) || !isNum(config['learningRate'])) bad('config: expected epochs, batchSize and learningRate numbers');
  if (!Array.isArray(r['epochs'])) bad('epochs: expected an array');
  (r['epochs'] as unknown[]).forEach((e, i) => {
    if (!isObj(e) || !isNum(e['epoch']) || !isNum(e['loss']) || !isNum(e['batches'])) bad(`epochs[${i}]: expected epoch, loss and batches numbers`);
  });
  for (const k of ['final', 'best'] as const) if (!isObj(r[k])) bad(`${k}: expected an object`);
  if (!isObj(r['backend']) || typeof r['backend']['name'] !== 'string' || !Array.isArray(r['backend']['tried'])) bad('backend: expected name and tried');
  if (!isObj(r['model']) || typeof r['model']['file'] !== 'string') bad('model.file: expected a string');
  if (!isObj(r['dataset']) || typeof r['dataset']['name'] !== 'string') bad('dataset.name: expected a string');
  if (typeof r['startedAt'] !== 'string' || typeof r['finishedAt'] !== 'string') bad('startedAt/finishedAt: expected strings');
  const c = r['curve'];
  if (c !== undefined && (!isObj(c) || !Array.isArray(c['steps']) || !Array.isArray(c['loss']) || !Array.isArray(c['acc']) || c['steps'].length !== c['loss'].length || c['steps'].length !== c['acc'].length)) {
    bad('curve: expected steps, loss and acc arrays of one length');
  }
  return x as unknown as RunRecord;
}

/** The runs in a run.json (one) or a comparison.json (each of its runs); a clear RunFileError for anything else. */
export function parseRunFile(text: string, path: string): { runs: RunRecord[]; comparison?: ComparisonRecord } {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    throw new RunFileError(`${path}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (isObj(x) && x['kind'] === 'laurel-comparison') {
    if (x['version'] !== 1) throw new RunFileError(`${path}: comparison version ${JSON.stringify(x['version'])}; this LAuReL Studio reads version 1`);
    if (!Array.isArray(x['runs']) || x['runs'].length === 0) throw new RunFileError(`${path}: runs: expected a non-empty array`);
    const runs = x['runs'].map((r, i) => checkRun(r, `${path}: runs[${i}]`));
    return { runs, comparison: x as unknown as ComparisonRecord };
  }
  if (isObj(x) && x['kind'] === 'laurel-run') return { runs: [checkRun(x, path)] };
  throw new RunFileError(`${path}: not a LAuReL run or comparison record (no kind 'laurel-run' or 'laurel-comparison')`);
}

/** Runs of several files in one table: a plain run (nothing added) first, as the ratios' baseline, then oldest first. */
export function sideBySide(runs: RunRecord[]): RunRecord[] {
  const plain = (r: RunRecord): number => (r.params.added === 0 ? 0 : 1);
  return [...runs].sort((a, b) => plain(a) - plain(b) || a.startedAt.localeCompare(b.startedAt));
}

/** A run's curve from its record: the streamed batch points, or (records without them) one point per epoch. */
function runView(r: RunRecord, name: string): RunView {
  let step = 0;
  const epochs: EpochView[] = r.epochs.map((e) => {
    step += e.batches;
    return { epoch: e.epoch, step, loss: e.loss, acc: e.acc ?? null, valLoss: e.valLoss ?? null, valAcc: e.valAcc ?? null };
  });
  const curve = r.curve ?? { steps: epochs.map((e) => e.step), loss: epochs.map((e) => e.loss), acc: epochs.map((e) => e.acc) };
  return { name, state: r.status, steps: [...curve.steps], loss: [...curve.loss], acc: [...curve.acc], epochs, summary: runSummaryView(r) };
}

const unique = (xs: string[]): string[] => [...new Set(xs)];
const fileName = (p: string): string => p.split(/[\\/]/).pop() ?? p;

/**
 * A finished job made of run records from disk: a comparison as it was, or runs of different jobs side by side
 * (the first is the baseline of the ratios, as in a comparison). Runs of one name from different jobs are told
 * apart by their start time.
 */
export function jobFromRecords(id: number, records: RunRecord[], opts: { title?: string; outDir?: string } = {}): JobView {
  const first = records[0];
  if (!first) throw new RunFileError('no runs to show');
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
  const label = (r: RunRecord): string => ((counts.get(r.name) ?? 0) > 1 ? `${r.name} @ ${r.startedAt.replace('T', ' ').slice(0, 19)}` : r.name);
  const models = unique(records.map((r) => fileName(r.model.file)));
  const data = unique(records.map((r) => r.dataset.name));
  const adaptations = unique(records.flatMap((r) => r.dataset.adaptations ?? []));
  const started = records.map((r) => r.startedAt).sort();
  const finished = records.map((r) => r.finishedAt).sort();
  return {
    id,
    kind: records.length > 1 ? 'compare' : 'train',
    title: opts.title ?? (records.length > 1 ? `${records.length} runs of ${models.join(', ')} (from disk)` : `${first.name} of ${models[0]} (from disk)`),
    model: models.join(', '),
    data: data.join(', '),
    config: { epochs: first.config.epochs, batchSize: first.config.batchSize, learningRate: first.config.learningRate },
    startedAt: started[0]!,
    finishedAt: finished[finished.length - 1]!,
    state: 'completed',
    backend: backendView(first.backend, first.engine),
    ...(adaptations.length ? { dataNote: `${data.join(', ')}; adapted: ${adaptations.join(', ')}` } : {}),
    samples: { train: first.dataset.trainSamples, val: first.dataset.valSamples },
    ...(opts.outDir ? { outDir: opts.outDir } : {}),
    runs: records.map((r) => runView(r, label(r))),
  };
}
