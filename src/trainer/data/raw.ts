// Data as the readers return it, before tensors: row-major float32 with the sample count first.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { LabelInfo } from './adapt';
import { DatasetError } from './errors';
import { product } from './task';

export interface RawData {
  name: string;
  samples: number;
  x: Float32Array;
  /** Per-sample shape of x. */
  xShape: number[];
  y: Float32Array;
  /** Per-sample shape of y ([] for one label per sample). */
  yShape: number[];
  /** What the reader did to the values, in words (scaling, limiting). */
  notes: string[];
  /** A model with several inputs: one array per input, in the model's order (x and xShape are the first's). */
  inputs?: { x: Float32Array; xShape: number[] }[];
  /** Where sample i's label is in the file ('data.csv:7, label column 2 (\'y\')'), for messages. */
  labelAt?: (sample: number) => string;
}

export function labelInfo(y: Float32Array, shape: number[], labelAt?: (sample: number) => string): LabelInfo {
  let integer = true;
  let min = Infinity;
  let max = -Infinity;
  let first = -1;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v < min) min = v;
    if (v > max) max = v;
    if (integer && !Number.isInteger(v)) {
      integer = false;
      first = i;
    }
  }
  const info: LabelInfo = { shape, integer, min: y.length ? min : 0, max: y.length ? max : 0 };
  if (first >= 0) {
    const sample = Math.floor(first / Math.max(1, product(shape)));
    info.nonInteger = `${labelAt ? labelAt(sample) : `sample ${sample}`} holds ${y[first]}`;
  }
  return info;
}

/** The file's bytes, gunzipped when they start with the gzip magic (whatever the name says). */
export function readBytes(path: string, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError(`${what} ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes);
    } catch (e) {
      throw new DatasetError(`${what} ${path}: the gzip data is damaged or truncated (${(e as Error).message})`);
    }
  }
  return bytes;
}

/** A sample limit from a spec: undefined = all; otherwise a positive integer. */
export function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Infinity;
  if (!Number.isInteger(limit) || limit < 1) throw new DatasetError(`limit must be a positive integer, got ${limit}`);
  return limit;
}

export function limitNote(kept: number, total: number): string[] {
  return kept < total ? [`kept the first ${kept} of ${total} samples`] : [];
}

const count = (n: number): string => n.toLocaleString('en-US');

/**
 * The samples whose label is below `classes`, in order, then the first `limit` of them: a limit asks for
 * that many samples to train on, so it counts after the filter.
 */
export function keepClasses(raw: RawData, classes: number, limit = Infinity): RawData {
  if (product(raw.yShape) !== 1) throw new DatasetError(`keep-classes=${classes} needs one label per sample, ${raw.name} has labels of (${raw.yShape.join(', ')})`);
  const rows: number[] = [];
  for (let i = 0; i < raw.samples && rows.length < limit; i++) if (raw.y[i] < classes) rows.push(i);
  let matching = rows.length;
  for (let i = (rows.at(-1) ?? -1) + 1; i < raw.samples; i++) if (raw.y[i] < classes) matching++;
  if (rows.length === 0) throw new DatasetError(`keep-classes=${classes}: ${raw.name} has no sample with a label in 0..${classes - 1}`);
  const pick = (from: Float32Array, shape: number[]): Float32Array => {
    const size = product(shape);
    const out = new Float32Array(rows.length * size);
    rows.forEach((r, k) => out.set(from.subarray(r * size, (r + 1) * size), k * size));
    return out;
  };
  const y = new Float32Array(rows.length);
  rows.forEach((r, k) => (y[k] = raw.y[r]));
  const notes = [...raw.notes, `kept classes 0..${classes - 1}: ${count(matching)} of ${count(raw.samples)} samples`, ...limitNote(rows.length, matching)];
  // A model with several inputs keeps the same samples of every input.
  const inputs = raw.inputs?.map((i) => ({ x: pick(i.x, i.xShape), xShape: i.xShape }));
  return { ...raw, samples: rows.length, x: inputs ? inputs[0]!.x : pick(raw.x, raw.xShape), ...(inputs ? { inputs } : {}), y, notes };
}
