// The trainer's datasets: read (synthetic, IDX, CSV, npy), check the fit against the model's shapes,
// adapt when asked, and hand over tensors.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adaptImages, adaptShapes, computes, DatasetMismatchError, fitsAsIs, formatAdaptation, planFit } from './adapt';
import type { Adaptation, FitPlan, LabelInfo } from './adapt';
import { readCsv } from './csv';
import { DatasetError } from './errors';
import { readIdxPair } from './idx';
import { asData } from './inputs';
import { readNpyPair } from './npy';
import { checkLimit, keepClasses, labelInfo } from './raw';
import type { RawData } from './raw';
import { generateSynthetic } from './synthetic';
import { describeInputs, fitsShape, formatBytes, formatShape, product, targetKind } from './task';
import type { Task } from './task';

export type { Adaptation } from './adapt';
export type { Task } from './task';
export { DatasetMismatchError } from './adapt';
export { DatasetError } from './errors';

/** `limit` keeps the first N samples (every kind), before any adaptation but after keep-classes. */
export type DatasetSpec =
  | { kind: 'synthetic'; samples?: number; classes?: number; seed?: number; limit?: number }
  | { kind: 'idx'; images: string; labels: string; limit?: number; name?: string }
  | { kind: 'csv'; path: string; label?: string | number; limit?: number }
  /** `moreX`: the x files of a model's further inputs (npy:X1.npy+X2.npy,Y.npy), in the model's input order. */
  | { kind: 'npy'; x: string; y: string; limit?: number; moreX?: string[] };

/** The held-out samples of `--test` (trainer/data/testSplit.ts), evaluated once at the end of a run by its best-validation checkpoint. */
export interface TestData {
  name: string;
  x: tf.Tensor;
  /** Every input's samples (the model's order; `x` is the first), for a model with several. */
  inputs?: tf.Tensor[];
  y: tf.Tensor;
  samples: number;
}

export interface Dataset {
  name: string;
  /** The samples of the model's (first) input. */
  x: tf.Tensor;
  /** Every input's samples (the model's order; `x` is the first), for a model with several: `xOf` gives what a model takes. */
  inputs?: tf.Tensor[];
  y: tf.Tensor;
  samples: number;
  classes?: number;
  /** What was done to the data, in words (scaling, limiting, each adaptation). */
  adaptations: string[];
  /** The held-out test set (`--test`), evaluated once at the end of a run; absent: none. */
  test?: TestData;
}

export interface LoadOptions {
  /** Refuse when the adapted x and y together would take more bytes than this (default 2 GiB). */
  maxBytes?: number;
}

export const DEFAULT_MAX_BYTES = 2 * 2 ** 30;
/** Where Debian's dataset-fashion-mnist package puts the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export function fashionMnistSpec(split: 'train' | 'test' = 'train', limit?: number, dir = FASHION_MNIST_DIR): DatasetSpec {
  const prefix = split === 'train' ? 'train' : 't10k';
  return {
    kind: 'idx',
    images: join(dir, `${prefix}-images-idx3-ubyte.gz`),
    labels: join(dir, `${prefix}-labels-idx1-ubyte.gz`),
    name: `fashion-mnist ${split}`,
    ...(limit !== undefined ? { limit } : {}),
  };
}

function readRaw(spec: Exclude<DatasetSpec, { kind: 'synthetic' }>): RawData {
  switch (spec.kind) {
    case 'idx': {
      const missing = spec.name?.startsWith('fashion-mnist') ? [spec.images, spec.labels].filter((p) => !existsSync(p)) : [];
      if (missing.length) {
        throw new DatasetError(
          `Fashion-MNIST is not installed (${missing.join(', ')} missing): install Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist), or give the files with idx:IMAGES,LABELS`,
        );
      }
      return readIdxPair(spec.images, spec.labels, spec.name ?? `idx ${spec.images}`, spec.limit);
    }
    case 'csv':
      return readCsv(spec.path, spec.label, spec.limit);
    case 'npy':
      return readNpyPair(spec.x, spec.y, spec.limit, spec.moreX);
  }
}

type KeepClasses = Extract<Adaptation, { kind: 'keep-classes' }>;

const words = (steps: readonly Adaptation[]): string => steps.map(formatAdaptation).join(', ');

function mismatch(raw: RawData, y: LabelInfo, task: Task, plan: FitPlan, applied: readonly Adaptation[], offers: Adaptation[], alternatives: Adaptation[]): DatasetMismatchError {
  const parts: string[] = [];
  if (plan.input.length || plan.inputProblems.length) {
    parts.push(`the model expects input ${formatShape(task.inputShape)}, the data has ${formatShape([raw.samples, ...raw.xShape])}`);
  }
  if (plan.select.length || plan.output.length || plan.outputProblems.length) {
    const range = y.integer ? ` (integers ${y.min}..${y.max})` : '';
    const keep = plan.select.find((s): s is KeepClasses => s.kind === 'keep-classes');
    const drops = keep ? ` (keep-classes=${keep.classes} trains on classes 0..${keep.classes - 1} only, dropping the samples of ${keep.classes}..${y.max})` : '';
    parts.push(`the model outputs ${formatShape(task.outputShape)}, the labels are ${formatShape([raw.samples, ...y.shape])}${range}${drops}`);
  }
  const problems = [...plan.inputProblems, ...plan.outputProblems];
  let msg = `${raw.name} does not fit the model${applied.length ? ` even after ${words(applied)}` : ''}: ${parts.join('; ')}.`;
  if (problems.length) {
    const text = problems.join('; ');
    msg += ` ${text[0].toUpperCase()}${text.slice(1)}. No adaptation is offered.`;
  }
  if (offers.length) {
    msg += ` Adaptations that make it fit: ${words(offers)}`;
    if (alternatives.length) msg += ` (or instead: ${words(alternatives)})`;
    msg += ` (pass them, or 'auto').`;
  }
  return new DatasetMismatchError(msg, offers, alternatives);
}

/**
 * Loads a dataset for a model. Data that does not fit throws DatasetMismatchError with the adaptations
 * that would make it fit; pass those (or 'auto') as `adapt` to apply them.
 */
export async function loadDataset(spec: DatasetSpec, task: Task, adapt?: Adaptation[] | 'auto', options: LoadOptions = {}): Promise<Dataset> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const xFiles = spec.kind === 'synthetic' ? 0 : spec.kind === 'npy' ? 1 + (spec.moreX?.length ?? 0) : 1;
  if (task.inputs && task.inputs.length > 1 && spec.kind !== 'synthetic' && xFiles !== task.inputs.length) throw oneX(spec, task.inputs, xFiles);
  if (!task.inputs && xFiles > 1) throw new DatasetError(`${xFiles} x files are given, but the model has one input ${formatShape(task.inputShape)}: give one (npy:X.npy,Y.npy)`);
  const read = (s: DatasetSpec): RawData & { classes?: number } => (s.kind === 'synthetic' ? generateSynthetic(s, task, maxBytes) : readRaw(s));
  let raw = read(spec);
  if (raw.inputs && spec.kind !== 'synthetic') checkOtherInputs(raw, task);
  let y = labelInfo(raw.y, raw.yShape, raw.labelAt);
  const plan = planFit(raw.xShape, y, task);
  const solvable = plan.inputProblems.length + plan.outputProblems.length === 0;
  const offers = solvable ? [...plan.select, ...plan.input, ...plan.output] : [];
  const alternatives = solvable ? plan.alternatives : [];
  if (!solvable || (offers.length && (adapt === undefined || adapt.length === 0))) throw mismatch(raw, y, task, plan, [], offers, alternatives);
  const steps: readonly Adaptation[] = adapt === 'auto' ? offers : (adapt ?? []);
  // Sample choice first, wherever it stands in the list: the other steps see only the kept samples.
  const keeps = steps.filter((s): s is KeepClasses => s.kind === 'keep-classes');
  const rest = steps.filter((s) => s.kind !== 'keep-classes');
  if (keeps.length) {
    adaptShapes(keeps, raw.xShape, y); // refuses labels it cannot filter, with the step named
    const classes = Math.min(...keeps.map((k) => k.classes));
    // The limit counts kept samples, so read everything again when it cut the first read short.
    const full = spec.limit !== undefined ? read({ ...spec, limit: undefined }) : raw;
    raw = keepClasses(full, classes, checkLimit(spec.limit));
    y = labelInfo(raw.y, raw.yShape, raw.labelAt);
  }
  const shapes = adaptShapes(rest, raw.xShape, y);
  const after = planFit(shapes.x, shapes.y, task);
  if (!fitsAsIs(after) || after.yShape === undefined) {
    throw mismatch({ ...raw, xShape: shapes.x }, shapes.y, task, after, steps, offers, alternatives);
  }
  const yShape = after.yShape;

  const n = raw.samples;
  const bytes = 4 * n * (product(shapes.x) + product(yShape) + (raw.inputs ?? []).slice(1).reduce((a, i) => a + product(i.xShape), 0));
  if (bytes > maxBytes) {
    const perSample = bytes / n;
    throw new DatasetError(
      `${raw.name}: ${n} samples of ${formatShape([null, ...shapes.x])} would take ${formatBytes(bytes)}, over the ${formatBytes(maxBytes)} cap; use limit=${Math.max(1, Math.floor(maxBytes / perSample))} or less, or raise the cap`,
    );
  }

  const xSteps = rest.filter((s) => s.kind !== 'one-hot');
  const xData = xSteps.some(computes) ? adaptImages(raw.x, n, raw.xShape, xSteps, shapes.x) : raw.x;
  if (task.tokenIds) checkTokenIds(raw.name, xData, shapes.x, task.tokenIds);
  const oneHot = steps.find((s): s is Extract<Adaptation, { kind: 'one-hot' }> => s.kind === 'one-hot');
  let yData = raw.y;
  if (oneHot) {
    yData = new Float32Array(raw.y.length * oneHot.classes);
    for (let i = 0; i < raw.y.length; i++) yData[i * oneHot.classes + raw.y[i]] = 1;
  }
  const kind = targetKind(task);
  const width = task.outputShape[task.outputShape.length - 1];
  const classes = raw.classes ?? (kind === 'binary' ? 2 : kind === 'regression' || width === null ? undefined : width);
  return {
    name: raw.name,
    ...asData(raw.inputs ? raw.inputs.map((i, j) => tf.tensor(j === 0 ? xData : i.x, [n, ...(j === 0 ? shapes.x : i.xShape)], 'float32')) : tf.tensor(xData, [n, ...shapes.x], 'float32')),
    y: tf.tensor(yData, [n, ...yShape], 'float32'),
    samples: n,
    ...(classes !== undefined ? { classes } : {}),
    adaptations: [...raw.notes, ...shapes.described],
  };
}

/**
 * IDX and CSV give one x; a model with several inputs is refused with them named: .npy files can give one x per
 * input, and synthetic data fit every input. No mapping of one x onto several inputs is made up.
 */
function oneX(spec: Exclude<DatasetSpec, { kind: 'synthetic' }>, inputs: NonNullable<Task['inputs']>, given: number): DatasetError {
  const what = spec.kind === 'idx' ? (spec.name ?? `idx ${spec.images}`) : spec.kind === 'csv' ? `csv ${spec.path}` : `npy ${[spec.x, ...(spec.moreX ?? [])].join('+')}`;
  const gives = given === 1 ? 'gives one x' : `gives ${given} x files`;
  return new DatasetError(
    `${what} ${gives}, but the model has ${inputs.length} inputs: ${describeInputs(inputs)}. ` +
      `Give one .npy per input in this order (npy:${inputs.map((_, i) => `X${i + 1}.npy`).join('+')},Y.npy), or synthetic data (synthetic[:samples=N]), which fit every input`,
  );
}

/** Every x file of a model with several inputs fits its input as it is (no adaptation is offered for them); token ids are checked. */
function checkOtherInputs(raw: RawData, task: Task): void {
  raw.inputs!.forEach((x, i) => {
    const input = task.inputs![i]!;
    if (!fitsShape(x.xShape, input.shape.slice(1))) {
      throw new DatasetMismatchError(`${raw.name} does not fit the model: input ${i + 1} '${input.name}' expects ${formatShape(input.shape)}, its file has ${formatShape([raw.samples, ...x.xShape])}. No adaptation is offered for a model with several inputs.`, []);
    }
    if (input.tokenIds) checkTokenIds(raw.name, x.x, x.xShape, input.tokenIds);
  });
}

/** Inputs of an Embedding must be token ids; the first value that is not one is named by sample and position. */
export function checkTokenIds(name: string, x: ArrayLike<number>, sampleShape: readonly number[], ids: NonNullable<Task['tokenIds']>): void {
  const per = product(sampleShape);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isInteger(v) && v >= 0 && v < ids.vocabulary) continue;
    const at: number[] = [];
    let rest = i % per;
    for (let a = sampleShape.length - 1; a >= 0; a--) {
      at.unshift(rest % sampleShape[a]!);
      rest = Math.floor(rest / sampleShape[a]!);
    }
    throw new DatasetError(
      `${name}: sample ${Math.floor(i / per)}, position [${at.join(', ')}] holds ${v}, which is not a token id of Embedding '${ids.layer}' (integers 0..${ids.vocabulary - 1}, its input_dim ${ids.vocabulary})`,
    );
  }
}

/** `key=value` options at the end of a CLI spec; the rest (which may hold ':' as in C:\) is the body. */
function splitOptions(text: string, keys: readonly string[]): { body: string; opts: Map<string, string> } {
  const parts = text.split(':');
  const opts = new Map<string, string>();
  while (parts.length > 0) {
    const m = /^([a-z]+)=(.*)$/.exec(parts[parts.length - 1]);
    if (!m || !keys.includes(m[1])) break;
    opts.set(m[1], m[2]);
    parts.pop();
  }
  return { body: parts.join(':'), opts };
}

function intOption(opts: Map<string, string>, key: string, text: string): number | undefined {
  const v = opts.get(key);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new DatasetError(`data spec '${text}': ${key}=${v} is not an integer`);
  return Number(v);
}

function pair(body: string, text: string, what: string): [string, string] {
  const files = body.split(',');
  if (files.length !== 2 || files.some((f) => f.trim() === '')) throw new DatasetError(`data spec '${text}': expected ${what}`);
  return [files[0].trim(), files[1].trim()];
}

const FORMS =
  "synthetic[:samples=N][:classes=K][:seed=S], fashion-mnist[:test][:limit=N], idx:IMAGES,LABELS[:limit=N], csv:PATH[:label=COL][:limit=N], npy:X.npy[+X2.npy...],Y.npy[:limit=N]";

/** Parses the CLI form of a dataset (see FORMS). */
export function parseDataSpec(text: string): DatasetSpec {
  const t = text.trim();
  const head = /^([a-z-]+)(?::|$)/.exec(t)?.[1] ?? '';
  const rest = t.slice(head.length + 1);
  switch (head) {
    case 'synthetic': {
      const { body, opts } = splitOptions(rest, ['samples', 'classes', 'seed', 'limit']);
      if (body !== '') throw new DatasetError(`data spec '${text}': unknown synthetic option '${body}' (samples, classes, seed, limit)`);
      const spec: DatasetSpec = { kind: 'synthetic' };
      for (const key of ['samples', 'classes', 'seed', 'limit'] as const) {
        const v = intOption(opts, key, text);
        if (v !== undefined) spec[key] = v;
      }
      return spec;
    }
    case 'fashion-mnist': {
      const { body, opts } = splitOptions(rest, ['limit']);
      if (body !== '' && body !== 'train' && body !== 'test') throw new DatasetError(`data spec '${text}': the split is 'train' or 'test', not '${body}'`);
      return fashionMnistSpec(body === 'test' ? 'test' : 'train', intOption(opts, 'limit', text));
    }
    case 'idx': {
      const { body, opts } = splitOptions(rest, ['limit']);
      const [images, labels] = pair(body, text, 'idx:IMAGES,LABELS');
      const limit = intOption(opts, 'limit', text);
      return { kind: 'idx', images, labels, ...(limit !== undefined ? { limit } : {}) };
    }
    case 'csv': {
      const { body, opts } = splitOptions(rest, ['label', 'limit']);
      if (body === '') throw new DatasetError(`data spec '${text}': expected csv:PATH`);
      const label = opts.get('label');
      const limit = intOption(opts, 'limit', text);
      return {
        kind: 'csv',
        path: body,
        ...(label !== undefined ? { label: /^-?\d+$/.test(label) ? Number(label) : label } : {}),
        ...(limit !== undefined ? { limit } : {}),
      };
    }
    case 'npy': {
      const { body, opts } = splitOptions(rest, ['limit']);
      const [x, y] = pair(body, text, 'npy:X.npy,Y.npy');
      const limit = intOption(opts, 'limit', text);
      // X1.npy+X2.npy: one x per input of a model with several. Split only at a '+' right after '.npy', so a
      // folder or file name with a '+' in it (runs/a+b/X1.npy, my+data.npy) stays one path.
      const xs = x.split(/(?<=\.npy)\+/i).map((p) => p.trim());
      const several = xs.length > 1 && xs.every((p) => /\.npy$/i.test(p));
      return { kind: 'npy', x: several ? xs[0]! : x, y, ...(several ? { moreX: xs.slice(1) } : {}), ...(limit !== undefined ? { limit } : {}) };
    }
    default:
      throw new DatasetError(`unknown data spec '${text}'; the forms are ${FORMS}`);
  }
}
