// Adaptations that make data fit a model: which ones are well defined (planFit), what each does to the
// per-sample shapes (adaptShapes) and to the values, in memory-bounded chunks (adaptImages); the error that
// offers them when the data does not fit (DatasetMismatchError).
import * as tf from '@tensorflow/tfjs';
import { DatasetError } from './errors';
import { fitsShape, formatShape, product, targetKind } from './task';
import type { Task } from './task';

export type Adaptation =
  | { kind: 'add-channel-axis' } // (H, W) -> (H, W, 1)
  | { kind: 'flatten' } // (...) -> (prod)
  | { kind: 'reshape'; to: number[] } // same element count, e.g. CSV rows of 784 -> (28, 28, 1)
  | { kind: 'resize'; to: [number, number] } // bilinear, half-pixel centres (TF 2 tf.image.resize)
  | { kind: 'pad'; to: [number, number] } // zeros around, centred
  | { kind: 'repeat-channels'; to: number } // 1 channel -> `to` identical channels
  | { kind: 'one-hot'; classes: number } // integer labels -> one-hot rows
  | { kind: 'keep-classes'; classes: number }; // drops the samples whose label is >= classes (before limit)

/**
 * The data does not fit the model. `offers` is the set of adaptations that together make it fit (empty
 * when no well-defined one does); `alternatives` are steps that may replace one of them (resize for pad).
 */
export class DatasetMismatchError extends DatasetError {
  readonly offers: Adaptation[];
  readonly alternatives: Adaptation[];
  constructor(message: string, offers: Adaptation[], alternatives: Adaptation[] = []) {
    super(message);
    this.name = 'DatasetMismatchError';
    this.offers = offers;
    this.alternatives = alternatives;
  }
}

/** What the loaders know about the labels: per-sample shape and value range. */
export interface LabelInfo {
  shape: number[];
  integer: boolean;
  min: number;
  max: number;
  /** Where the first non-integer label is and its value, when there is one. */
  nonInteger?: string;
}

/** 'non-integer labels (data.csv:7, label column 2 ('y') holds 0.5)'. */
const nonIntegerLabels = (y: LabelInfo): string => `non-integer labels${y.nonInteger ? ` (${y.nonInteger})` : ''}`;

export interface FitPlan {
  /** Steps that choose samples (keep-classes); they run before the others and before `limit` counts. */
  select: Adaptation[];
  /** Steps on the inputs, then on the labels, that make the data fit; meaningful only without problems. */
  input: Adaptation[];
  output: Adaptation[];
  /** Steps that can replace one of `input` (resize for pad and the reverse). */
  alternatives: Adaptation[];
  /** What no well-defined adaptation fixes, on the inputs and on the labels. */
  inputProblems: string[];
  outputProblems: string[];
  /** Per-sample label layout the loss wants, once the labels fit. */
  yShape?: number[];
}

const sameDims = (a: readonly number[], b: readonly (number | null)[]): boolean => fitsShape(a, b);

/** The adaptations that make (x, y) fit the task, or the problems no adaptation solves. */
export function planFit(x: number[], y: LabelInfo, task: Task): FitPlan {
  const plan: FitPlan = { select: [], input: [], output: [], alternatives: [], inputProblems: [], outputProblems: [] };
  planInput(x, task.inputShape.slice(1), plan);
  planOutput(y, task, plan);
  return plan;
}

function planInput(s: number[], m: (number | null)[], plan: FitPlan): void {
  if (fitsShape(s, m)) return;
  const mFixed = m.every((d): d is number => d !== null);
  if (m.length === 1) {
    if (s.length > 1 && (m[0] === null || product(s) === m[0])) plan.input.push({ kind: 'flatten' });
    else plan.inputProblems.push(`no well-defined adaptation turns ${product(s)} values per sample into ${m[0]}`);
    return;
  }
  if (s.length === 1 && mFixed && product(m) === s[0]) {
    plan.input.push({ kind: 'reshape', to: m });
    return;
  }
  let cur = s;
  if (m.length === 3 && cur.length === 2) {
    plan.input.push({ kind: 'add-channel-axis' });
    cur = [...cur, 1];
  }
  if (m.length !== 3 || cur.length !== 3) {
    plan.inputProblems.push(`no well-defined adaptation turns samples of ${formatShape(s)} into ${formatShape(m)}`);
    return;
  }
  const to: [number, number] = [m[0] ?? cur[0], m[1] ?? cur[1]];
  if (to[0] !== cur[0] || to[1] !== cur[1]) {
    const resize: Adaptation = { kind: 'resize', to };
    const canPad = to[0] >= cur[0] && to[1] >= cur[1];
    // A thin border keeps the pixels as they are (MNIST 28 -> LeNet's 32); a large change needs resampling.
    const smallBorder = canPad && to[0] - cur[0] <= cur[0] / 4 && to[1] - cur[1] <= cur[1] / 4;
    if (smallBorder) {
      plan.input.push({ kind: 'pad', to });
      plan.alternatives.push(resize);
    } else {
      plan.input.push(resize);
      if (canPad) plan.alternatives.push({ kind: 'pad', to });
    }
  }
  const channels = m[2];
  if (channels !== null && channels !== cur[2]) {
    if (cur[2] === 1) plan.input.push({ kind: 'repeat-channels', to: channels });
    else plan.inputProblems.push(`no well-defined adaptation turns ${cur[2]} channels into ${channels}`);
  }
}

function planOutput(y: LabelInfo, task: Task, plan: FitPlan): void {
  const out = task.outputShape.slice(1);
  const width = out[out.length - 1];
  const positions = out.slice(0, -1);
  const kind = targetKind(task);
  const ys = y.shape;
  const onePerPosition = sameDims(ys, positions) || sameDims(ys, [...positions, 1]);
  // Labels shaped like the output already are targets (one-hot rows, regression vectors).
  if (!onePerPosition) {
    if (sameDims(ys, out)) plan.yShape = ys;
    else {
      const labels = ys.length === 0 ? 'one label per sample' : `labels of ${formatShape(ys)} per sample`;
      plan.outputProblems.push(`${labels} match neither the output's ${formatShape(out)} per sample nor one label per output position`);
    }
    return;
  }
  const labelShape = [...ys.slice(0, positions.length), 1];
  const classIndices = y.integer && y.min >= 0;
  const range = `labels ${y.min}..${y.max}`;
  if (kind === 'regression') {
    if (width === 1 || width === null) plan.yShape = labelShape;
    else plan.outputProblems.push(`the model outputs ${width} values per sample, the data has one label`);
    return;
  }
  if (kind === 'binary') {
    if (classIndices && y.max <= 1 && (width === 1 || width === null)) plan.yShape = labelShape;
    else plan.outputProblems.push(`a binary output needs 0/1 labels of width 1; the data has ${range}, the output width is ${width}`);
    return;
  }
  if (!classIndices) {
    plan.outputProblems.push(`class labels must be non-negative integers; the data has ${y.integer ? range : nonIntegerLabels(y)}`);
    return;
  }
  if (width === null || (y.max + 1 > width && positions.length > 0)) {
    // Per-position labels: dropping whole samples for one bad position is not well defined.
    plan.outputProblems.push(`the labels have ${y.max + 1} classes (${range}), the model outputs ${width ?? 'an unknown number of'} classes`);
    return;
  }
  if (y.max + 1 > width) {
    // More classes than outputs: offered, never applied unasked (it drops data); widening the model is the other way.
    plan.select.push({ kind: 'keep-classes', classes: width });
  }
  if (kind === 'sparse') {
    plan.yShape = labelShape;
    return;
  }
  plan.output.push({ kind: 'one-hot', classes: width });
  plan.yShape = [...ys.slice(0, positions.length), width];
}

/** True when the plan has nothing left to do: the data fits as it is. */
export const fitsAsIs = (plan: FitPlan): boolean =>
  plan.select.length + plan.input.length + plan.output.length + plan.inputProblems.length + plan.outputProblems.length === 0 && plan.yShape !== undefined;

/** The shapes after each step, with what it did in words; throws when a step does not apply. */
export function adaptShapes(
  steps: readonly Adaptation[],
  x: number[],
  y: LabelInfo,
): { x: number[]; y: LabelInfo; described: string[] } {
  const described: string[] = [];
  let cur = x;
  let labels = y;
  const fail = (step: Adaptation, why: string): never => {
    throw new DatasetError(`adaptation ${formatAdaptation(step)} does not apply: ${why}`);
  };
  for (const step of steps) {
    const before = cur;
    switch (step.kind) {
      case 'add-channel-axis':
        cur = [...cur, 1];
        described.push(`added a channel axis: ${formatShape(before)} -> ${formatShape(cur)}`);
        break;
      case 'flatten':
        cur = [product(cur)];
        described.push(`flattened ${formatShape(before)} -> ${formatShape(cur)}`);
        break;
      case 'reshape':
        if (product(step.to) !== product(cur)) fail(step, `${formatShape(cur)} has ${product(cur)} values, ${formatShape(step.to)} has ${product(step.to)}`);
        cur = [...step.to];
        described.push(`reshaped ${formatShape(before)} -> ${formatShape(cur)}`);
        break;
      case 'resize':
      case 'pad': {
        if (cur.length !== 3) fail(step, `it needs images (H, W, C), the samples are ${formatShape(cur)}${cur.length === 2 ? ' (add a channel axis first)' : ''}`);
        if (step.kind === 'pad' && (step.to[0] < cur[0] || step.to[1] < cur[1])) fail(step, `padding cannot shrink ${cur[0]}×${cur[1]}`);
        cur = [step.to[0], step.to[1], cur[2]];
        const how = step.kind === 'pad' ? 'zero-padded (centred)' : 'resized (bilinear)';
        described.push(`${how} ${before[0]}×${before[1]} -> ${cur[0]}×${cur[1]}`);
        break;
      }
      case 'repeat-channels':
        if (cur.length < 1 || cur[cur.length - 1] !== 1) fail(step, `it needs one channel, the samples are ${formatShape(cur)}`);
        cur = [...cur.slice(0, -1), step.to];
        described.push(`repeated the single channel ${step.to} times: ${formatShape(before)} -> ${formatShape(cur)}`);
        break;
      case 'keep-classes':
        // Shapes only: the counts are known once the samples are chosen (loadDataset says them).
        if (!labels.integer || labels.min < 0 || labels.shape.some((d) => d !== 1)) {
          fail(step, `it needs one non-negative integer label per sample, the data has ${labels.integer ? `labels ${labels.min}..${labels.max}` : nonIntegerLabels(labels)} of ${formatShape(labels.shape)}`);
        }
        if (labels.min >= step.classes) fail(step, `every label is ${labels.min} or more, no sample would be left`);
        labels = { ...labels, max: Math.min(labels.max, step.classes - 1) };
        described.push(`kept classes 0..${step.classes - 1}`);
        break;
      case 'one-hot': {
        if (!labels.integer || labels.min < 0 || labels.max >= step.classes) {
          const hint = labels.integer && labels.min >= 0 ? ` (keep-classes=${step.classes} first keeps only those samples)` : '';
          fail(step, `it needs integer labels in 0..${step.classes - 1}, the data has ${labels.integer ? `${labels.min}..${labels.max}` : nonIntegerLabels(labels)}${hint}`);
        }
        const base = labels.shape[labels.shape.length - 1] === 1 ? labels.shape.slice(0, -1) : labels.shape;
        labels = { shape: [...base, step.classes], integer: true, min: 0, max: 1 };
        described.push(`one-hot encoded integer labels into ${step.classes} classes`);
        break;
      }
    }
    if (cur.some((d) => !Number.isInteger(d) || d < 1)) fail(step, `it gives the shape ${formatShape(cur)}`);
  }
  return { x: cur, y: labels, described };
}

/** CLI form: 'resize=96x96', 'repeat-channels=3', 'one-hot=10', 'keep-classes=8', 'flatten', ... */
export function formatAdaptation(a: Adaptation): string {
  switch (a.kind) {
    case 'resize':
    case 'pad':
    case 'reshape':
      return `${a.kind}=${a.to.join('x')}`;
    case 'repeat-channels':
      return `${a.kind}=${a.to}`;
    case 'one-hot':
    case 'keep-classes':
      return `${a.kind}=${a.classes}`;
    default:
      return a.kind;
  }
}

/** Parses 'auto' or a comma list in the form formatAdaptation writes. */
export function parseAdaptations(text: string): Adaptation[] | 'auto' {
  if (text.trim() === 'auto') return 'auto';
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((item): Adaptation => {
      const [kind, value] = item.split('=', 2) as [string, string | undefined];
      const dims = (): number[] => {
        const d = (value ?? '').split('x').map(Number);
        if (value === undefined || d.some((n) => !Number.isInteger(n) || n < 1)) throw new DatasetError(`adaptation '${item}': expected ${kind}=AxB`);
        return d;
      };
      const count = (): number => {
        const n = Number(value);
        if (value === undefined || !Number.isInteger(n) || n < 1) throw new DatasetError(`adaptation '${item}': expected ${kind}=N`);
        return n;
      };
      const pair = (): [number, number] => {
        const d = dims();
        if (d.length !== 2) throw new DatasetError(`adaptation '${item}': expected ${kind}=HxW`);
        return [d[0], d[1]];
      };
      switch (kind) {
        case 'add-channel-axis':
        case 'flatten':
          return { kind };
        case 'reshape':
          return { kind, to: dims() };
        case 'resize':
        case 'pad':
          return { kind, to: pair() };
        case 'repeat-channels':
          return { kind, to: count() };
        case 'one-hot':
        case 'keep-classes':
          return { kind, classes: count() };
        default:
          throw new DatasetError(`unknown adaptation '${item}' (known: add-channel-axis, flatten, reshape=AxB.., resize=HxW, pad=HxW, repeat-channels=N, one-hot=N, keep-classes=N)`);
      }
    });
}

/** Steps that change values (the others only relabel the shape of the same row-major buffer). */
export const computes = (a: Adaptation): boolean => a.kind === 'resize' || a.kind === 'pad' || a.kind === 'repeat-channels';

/** Chunk budget: each tidy holds a few tensors of this size at most. */
const CHUNK_BYTES = 32 * 1024 * 1024;

/**
 * Applies the input steps to `n` samples of per-sample shape `shape`, `chunk` samples at a time inside
 * tf.tidy, writing into one buffer of the adapted size (the only full-size allocation).
 */
export function adaptImages(data: Float32Array, n: number, shape: number[], steps: readonly Adaptation[], outShape: number[]): Float32Array {
  const inSize = product(shape);
  const outSize = product(outShape);
  const out = new Float32Array(n * outSize);
  const chunk = Math.max(1, Math.floor(CHUNK_BYTES / (4 * Math.max(inSize, outSize))));
  for (let start = 0; start < n; start += chunk) {
    const b = Math.min(chunk, n - start);
    const values = tf.tidy(() => {
      let cur = shape;
      let t: tf.Tensor = tf.tensor(data.subarray(start * inSize, (start + b) * inSize), [b, ...shape]);
      for (const step of steps) {
        switch (step.kind) {
          case 'add-channel-axis':
            cur = [...cur, 1];
            break;
          case 'flatten':
            cur = [product(cur)];
            break;
          case 'reshape':
            cur = step.to;
            break;
          case 'resize':
            t = tf.image.resizeBilinear(t.reshape([b, ...cur]) as tf.Tensor4D, step.to, false, true);
            cur = [step.to[0], step.to[1], cur[2]];
            break;
          case 'pad': {
            const [dh, dw] = [step.to[0] - cur[0], step.to[1] - cur[1]];
            const top = Math.floor(dh / 2);
            const left = Math.floor(dw / 2);
            t = tf.pad(t.reshape([b, ...cur]), [[0, 0], [top, dh - top], [left, dw - left], [0, 0]]);
            cur = [step.to[0], step.to[1], cur[2]];
            break;
          }
          case 'repeat-channels':
            // reps: 1 for the batch and every axis but the last (the single channel).
            t = tf.tile(t.reshape([b, ...cur]), [1, ...cur.slice(0, -1).map(() => 1), step.to]);
            cur = [...cur.slice(0, -1), step.to];
            break;
          case 'one-hot':
          case 'keep-classes':
            break; // labels and sample choice; see loadDataset
        }
      }
      return t.reshape([b, ...cur]);
    });
    out.set(values.dataSync(), start * outSize);
    values.dispose();
  }
  return out;
}
