// A learnable synthetic task for any model shape, deterministic for a seed on every backend (our own
// PRNG, no tf random ops). Inputs are standard normal; targets are:
//   - outputs per position with the input's positions (dense: one position; sequences: per token):
//     logits[p] = x[p] · W, W of (D_in, K), a fixed random linear map;
//   - one label for a whole image or sequence, classification: the class is drawn uniformly and the
//     sample carries that class's texture (a fixed random 3×…×3×D tile repeated over the positions) on
//     top of the noise. Balanced, and learnable by dense, conv + pooling and recurrent models alike
//     (a pooled linear map would collapse to the sign of one number for single-channel images);
//   - one target for a whole input, regression or binary: logits = pooled(x) · W, pooled(x) = the sum
//     of x over positions / sqrt(positions).
// An input that feeds an Embedding gets token ids drawn uniformly from [0, vocabulary); the targets are
// computed as above from a fixed standard normal value per id (classes then by projection, not texture).
// Classification takes the argmax over the first `classes` logits, binary logits > 0, regression the
// logits themselves (unit variance).
// A model with several inputs gets one array per input, each fitted to its input's shape (token ids for an
// Embedding's). The targets follow the main input as above (the one nearest the output: a seq2seq decoder's);
// every other input adds pooled(x_j) · W_j, its own fixed map, so the targets depend on all inputs (a decoder
// must use the encoder's states), except textured classes, where the other inputs are noise.
import { mulberry32 } from '../../core/random';
import { DatasetMismatchError } from './adapt';
import { DatasetError } from './errors';
import { checkLimit, limitNote } from './raw';
import type { RawData } from './raw';
import { formatBytes, formatShape, product, targetKind } from './task';
import type { Task, TaskInput } from './task';

/** A free (null) length in the model's input, e.g. a variable sequence length, is generated as this. */
export const FREE_DIM = 32;
export const DEFAULT_SAMPLES = 1024;
/** Texture strength against unit noise: clearly learnable, not trivial at the first step. */
const TEXTURE_AMPLITUDE = 0.5;

export interface SyntheticOptions {
  samples?: number;
  classes?: number;
  seed?: number;
  limit?: number;
}


/** Standard normal draws (Box-Muller, both values used). */
export function normals(seed: number): () => number {
  const u = mulberry32(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - u())); // 1 - u in (0, 1]: no log(0)
    const theta = 2 * Math.PI * u();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

function fixDims(shape: (number | null)[], what: string, free: string[], size?: Task['freeSize']): number[] {
  const axes = shape.flatMap((d, i) => (d === null ? [i + 1] : []));
  if (axes.length) free.push(`${what} ${axes.length > 1 ? `axes ${axes.join(', ')} are` : `axis ${axes[0]} is`} free; generated with ${size ? `${size.size}${size.why ? ` (${size.why})` : ''}` : FREE_DIM}`);
  return shape.map((d) => d ?? size?.size ?? FREE_DIM);
}

const sameNullable = (a: (number | null)[], b: (number | null)[]): boolean => a.length === b.length && a.every((d, i) => d === null || b[i] === null || d === b[i]);

/** One input's samples beside the main one: its own fixed map W into the logits, and its values and features. */
interface OtherInput {
  shape: number[];
  D: number;
  P: number;
  W: Float32Array;
  ids?: { vocabulary: number; layer: string };
  idValue: Float32Array;
  xRand: () => number;
  idRand: () => number;
  x: Float32Array;
  pooled: Float64Array;
}

/** The streams of input j (not the main one): apart from the main input's, which keep a one-input model's data as they were. */
const streamSeed = (seed: number, j: number, k: number): number => (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(j * 8 + k, 0x85ebca6b)) >>> 0;

export function generateSynthetic(opts: SyntheticOptions, task: Task, maxBytes: number): RawData & { classes?: number } {
  const seed = opts.seed ?? 0;
  const samples = Math.min(opts.samples ?? DEFAULT_SAMPLES, checkLimit(opts.limit));
  if (!Number.isInteger(samples) || samples < 1) throw new DatasetError(`synthetic samples must be a positive integer, got ${opts.samples}`);
  if (!Number.isInteger(seed)) throw new DatasetError(`synthetic seed must be an integer, got ${seed}`);
  const several = task.inputs && task.inputs.length > 1 ? task.inputs : undefined;
  const mainIndex = several ? (task.mainInput ?? 0) : 0;
  const main = several ? several[mainIndex]! : { name: 'input', shape: task.inputShape, ...(task.tokenIds ? { tokenIds: task.tokenIds } : {}) };
  const label = (i: number): string => (several ? `input '${several[i]!.name}'` : 'input');
  const inModel = main.shape.slice(1);
  const outModel = task.outputShape.slice(1);
  if (inModel.length === 0 || outModel.length === 0 || several?.some((t) => t.shape.length < 2)) {
    const ins = several ? several.map((t) => formatShape(t.shape)).join(', ') : formatShape(task.inputShape);
    throw new DatasetError(`synthetic data needs per-sample input and output axes; the model has input ${ins}, output ${formatShape(task.outputShape)}`);
  }
  const notes: string[] = [];
  // Each input's free axes at the generated size, noted in the model's input order.
  const fixed = several ? several.map((t, j) => fixDims(t.shape.slice(1), label(j), notes, task.freeSize)) : [fixDims(inModel, label(0), notes, task.freeSize)];
  const inShape = fixed[mainIndex]!;
  const inPos = inModel.slice(0, -1);
  const outPos = outModel.slice(0, -1);
  // The output's shape at the generated input size, when the model's analysis gave it (a stride-32 detector
  // maps a free 32×32 input to a 1×1 grid: its free output axes are not the input's).
  const outAtSize = task.freeSize?.outputShape?.slice(1);
  const concreteOut = outAtSize && outAtSize.length === outModel.length && outAtSize.every((d) => d !== null) ? (outAtSize as number[]) : undefined;
  const perPosition = concreteOut ? sameNullable(inShape.slice(0, -1), concreteOut.slice(0, -1)) : sameNullable(inPos, outPos);
  // Output positions follow the input's where they match (a free length is the same free length).
  const outShape = perPosition ? [...inShape.slice(0, -1), outModel[outModel.length - 1] ?? 1] : (concreteOut ?? fixDims(outModel, 'output', notes));
  const kind = targetKind(task);
  const width = outShape[outShape.length - 1];
  const classifies = kind === 'categorical' || kind === 'sparse';
  const classes = classifies ? (opts.classes ?? width) : kind === 'binary' ? 2 : undefined;
  if (classifies && (classes === undefined || !Number.isInteger(classes) || classes < 2 || classes > width)) {
    const msg = `synthetic classes=${opts.classes}: the model outputs ${formatShape(task.outputShape)}, so 2..${width} classes fit`;
    throw classes !== undefined && classes > width ? new DatasetMismatchError(msg, []) : new DatasetError(msg);
  }
  const D = inShape[inShape.length - 1];
  const P = product(inShape.slice(0, -1));
  const outPositions = product(outShape.slice(0, -1));
  const K = classifies ? classes! : width; // logits per output position
  const yShape = kind === 'categorical' ? outShape : [...outShape.slice(0, -1), kind === 'regression' ? width : 1];
  const cols = perPosition ? K : outPositions * K;
  const others = (several ?? []).flatMap((t, j) => (j === mainIndex ? [] : [otherInput(t, fixed[j]!, cols, samples, seed, j)]));
  const bytes = 4 * samples * (product(inShape) + product(yShape) + others.reduce((a, o) => a + o.D * o.P, 0));
  if (bytes > maxBytes) throw new DatasetError(`synthetic data of ${samples} samples would take ${formatBytes(bytes)}, over the ${formatBytes(maxBytes)} cap; lower samples or limit`);

  // Separate streams: the task (W) does not change with the sample count, and samples are a prefix.
  const wRand = normals(seed * 2 + 1);
  const xRand = normals(seed * 2 + 2);
  const W = new Float32Array(D * cols);
  for (let i = 0; i < W.length; i++) W[i] = wRand() / Math.sqrt(D);

  // Class textures: a 3×…×3 tile (smaller where an axis is shorter) of D values per class, repeated.
  const posDims = inShape.slice(0, -1);
  const tileDims = posDims.map((d) => Math.min(d, 3));
  const tileSize = product(tileDims) * D;
  const ids = main.tokenIds;
  const textured = classifies && !perPosition && !ids;
  const tiles = new Float32Array(textured ? K * tileSize : 0);
  for (let i = 0; i < tiles.length; i++) tiles[i] = wRand();
  const tileIndex = new Int32Array(textured ? P : 0);
  for (let p = 0; p < tileIndex.length; p++) {
    let rest = p;
    let index = 0;
    let stride = 1;
    for (let a = posDims.length - 1; a >= 0; a--) {
      index += ((rest % posDims[a]!) % tileDims[a]!) * stride;
      rest = Math.floor(rest / posDims[a]!);
      stride *= tileDims[a]!;
    }
    tileIndex[p] = index;
  }
  const labelRand = mulberry32(seed * 2 + 3);
  const idRand = mulberry32(seed * 2 + 4);
  const idValue = new Float32Array(ids ? ids.vocabulary : 0);
  const valueRand = normals(seed * 2 + 5);
  for (let i = 0; i < idValue.length; i++) idValue[i] = valueRand();

  const inSize = product(inShape);
  const ySize = product(yShape);
  const x = new Float32Array(samples * inSize);
  // What the targets are computed from: x itself, or each token id's fixed value.
  const feats = ids ? new Float32Array(samples * inSize) : x;
  const y = new Float32Array(samples * ySize);
  const logits = new Float64Array(cols);
  const pooled = new Float64Array(D);
  const extra = new Float64Array(cols);
  const emit = (row: Float64Array, from: number, at: number): void => {
    // Writes one output position's target from row[from .. from+K) at y[at ..].
    if (kind === 'regression') for (let k = 0; k < K; k++) y[at + k] = row[from + k];
    else if (kind === 'binary') y[at] = row[from] > 0 ? 1 : 0;
    else {
      let best = 0;
      for (let k = 1; k < K; k++) if (row[from + k] > row[from + best]) best = k;
      if (kind === 'sparse') y[at] = best;
      else y[at + best] = 1;
    }
  };
  const project = (src: ArrayLike<number>, offset: number): void => {
    logits.fill(0);
    for (let d = 0; d < D; d++) {
      const v = src[offset + d];
      for (let c = 0; c < cols; c++) logits[c] += v * W[d * cols + c];
    }
  };
  const yStep = ySize / outPositions;
  for (let s = 0; s < samples; s++) {
    const base = s * inSize;
    if (ids) {
      for (let i = 0; i < inSize; i++) {
        const id = Math.floor(idRand() * ids.vocabulary);
        x[base + i] = id;
        feats[base + i] = idValue[id]!;
      }
    } else for (let i = 0; i < inSize; i++) x[base + i] = xRand();
    if (perPosition) {
      if (others.length) drawOthers(others, s, extra);
      for (let p = 0; p < P; p++) {
        project(feats, base + p * D);
        if (others.length) addScaled(logits, extra, others.length);
        emit(logits, 0, s * ySize + p * yStep);
      }
    } else if (textured) {
      if (others.length) drawOthers(others, s, extra); // noise beside the main input's texture
      const c = Math.floor(labelRand() * K);
      const t = c * tileSize;
      for (let p = 0; p < P; p++) {
        const tp = tileIndex[p]! * D;
        for (let d = 0; d < D; d++) x[base + p * D + d] += TEXTURE_AMPLITUDE * tiles[t + tp + d]!;
      }
      logits.fill(0);
      for (let p = 0; p < outPositions; p++) logits[p * K + c] = 1;
      for (let p = 0; p < outPositions; p++) emit(logits, p * K, s * ySize + p * yStep);
    } else {
      pooled.fill(0);
      for (let p = 0; p < P; p++) for (let d = 0; d < D; d++) pooled[d] += feats[base + p * D + d]!;
      for (let d = 0; d < D; d++) pooled[d] /= Math.sqrt(P);
      project(pooled, 0);
      if (others.length) {
        drawOthers(others, s, extra);
        addScaled(logits, extra, others.length);
      }
      for (let p = 0; p < outPositions; p++) emit(logits, p * K, s * ySize + p * yStep);
    }
  }
  notes.push(...limitNote(samples, opts.samples ?? DEFAULT_SAMPLES));
  if (ids) notes.push(`token ids in [0, ${ids.vocabulary}) for Embedding '${ids.layer}'`);
  for (const o of others) if (o.ids) notes.push(`token ids in [0, ${o.ids.vocabulary}) for Embedding '${o.ids.layer}'`);
  const name = `synthetic seed=${seed}${classes !== undefined ? ` classes=${classes}` : ''}`;
  if (!several) return { name, samples, x, xShape: inShape, y, yShape, notes, classes };
  // One array per input in the model's order; x is the first's (what the data checks compare with inputShape).
  const inputs = several.map((_, j) => (j === mainIndex ? { x, xShape: inShape } : { x: others[j < mainIndex ? j : j - 1]!.x, xShape: others[j < mainIndex ? j : j - 1]!.shape }));
  notes.push(`${several.length} inputs; the targets follow ${label(mainIndex)}${perPosition ? ' position by position' : ''}${textured ? ' (the others are noise)' : ' and the pooled values of the others'}`);
  return { name, samples, x: inputs[0]!.x, xShape: inputs[0]!.xShape, inputs, y, yShape, notes, classes };
}

function otherInput(t: TaskInput, shape: number[], cols: number, samples: number, seed: number, j: number): OtherInput {
  const D = shape[shape.length - 1]!;
  const P = product(shape.slice(0, -1));
  const wRand = normals(streamSeed(seed, j, 1));
  const W = new Float32Array(D * cols);
  for (let i = 0; i < W.length; i++) W[i] = wRand() / Math.sqrt(D);
  const valueRand = normals(streamSeed(seed, j, 5));
  const idValue = new Float32Array(t.tokenIds ? t.tokenIds.vocabulary : 0);
  for (let i = 0; i < idValue.length; i++) idValue[i] = valueRand();
  return { shape, D, P, W, ...(t.tokenIds ? { ids: t.tokenIds } : {}), idValue, xRand: normals(streamSeed(seed, j, 2)), idRand: mulberry32(streamSeed(seed, j, 4)), x: new Float32Array(samples * D * P), pooled: new Float64Array(D) };
}

/** Draws sample s of every other input and sums pooled(x_j) · W_j into `extra`. */
function drawOthers(others: OtherInput[], s: number, extra: Float64Array): void {
  extra.fill(0);
  for (const o of others) {
    const size = o.D * o.P;
    const base = s * size;
    const pooled = o.pooled.fill(0);
    for (let i = 0; i < size; i++) {
      let feat: number;
      if (o.ids) {
        const id = Math.floor(o.idRand() * o.ids.vocabulary);
        o.x[base + i] = id;
        feat = o.idValue[id]!;
      } else feat = o.x[base + i] = o.xRand();
      pooled[i % o.D] += feat;
    }
    const cols = extra.length;
    for (let d = 0; d < o.D; d++) {
      const v = pooled[d]! / Math.sqrt(o.P);
      for (let c = 0; c < cols; c++) extra[c] += v * o.W[d * cols + c]!;
    }
  }
}

/** logits + extra, scaled back to unit variance (each of the 1 + others terms has about unit variance). */
function addScaled(logits: Float64Array, extra: Float64Array, others: number): void {
  const scale = 1 / Math.sqrt(1 + others);
  for (let c = 0; c < logits.length; c++) logits[c] = (logits[c]! + extra[c]!) * scale;
}
