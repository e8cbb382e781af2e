// Data as the readers return it, before tensors: row-major float32 with the sample count first.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { LabelInfo } from './adapt';
import { DatasetError } from './errors';

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
}

export function labelInfo(y: Float32Array, shape: number[]): LabelInfo {
  let integer = true;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v < min) min = v;
    if (v > max) max = v;
    if (integer && !Number.isInteger(v)) integer = false;
  }
  return { shape, integer, min: y.length ? min : 0, max: y.length ? max : 0 };
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
