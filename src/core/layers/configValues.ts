import { ShapeError } from '../layerSpec';

export type Config = Record<string, unknown>;

const show = (v: unknown): string => {
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : `${v} (a number beyond the range of a double)`;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
};

/**
 * The largest size (units, filters, kernel, ...) read from a config: TF's and tfjs's shape dims are int32.
 * Larger values (1e20 parses as an integer) would price weights no engine can build, so they are refused.
 */
export const MAX_SIZE = 2 ** 31 - 1;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= MAX_SIZE;

/**
 * Every item an int >= min. Loops here and constants below, not closures and literals made per call: each
 * read of each layer's config runs them, and what a large model's analysis allocates sets how often the
 * young-generation collector copies the model being read.
 */
function allInts(v: unknown[], min: number): boolean {
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!isInt(x) || x < min) return false;
  }
  return true;
}

const DATA_FORMATS = ['channels_last', 'channels_first'] as const;

/** Bounds of a float config value; `below` and `above` are exclusive. */
export interface NumRange {
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

const rangeText = (r: NumRange): string => {
  const lo = r.above !== undefined ? `> ${r.above}` : r.min !== undefined ? `>= ${r.min}` : '';
  const hi = r.below !== undefined ? `< ${r.below}` : r.max !== undefined ? `<= ${r.max}` : '';
  return ['a finite number', [lo, hi].filter(Boolean).join(' and ')].filter(Boolean).join(' ');
};

const inRange = (v: number, r: NumRange): boolean =>
  Number.isFinite(v) && !(r.min !== undefined && v < r.min) && !(r.max !== undefined && v > r.max) && !(r.above !== undefined && v <= r.above) && !(r.below !== undefined && v >= r.below);

const intText = (min: number): string => (min === -Infinity ? `an integer of magnitude <= ${MAX_SIZE}` : `an integer >= ${min} and <= ${MAX_SIZE}`);

/**
 * Reads one layer's config the way Keras does: a missing or null key takes the Keras default, an int
 * and a one-element list are interchangeable where Keras accepts both. Anything else is a ShapeError
 * (never a TypeError), because the analysis reports ShapeErrors per layer and crashes on the rest.
 */
export class ConfigReader {
  /** What a spec derives once per call and reads twice (a convolution's geometry), with the inputs it is for. */
  memo?: { inputs: unknown; value: unknown };

  constructor(
    readonly cls: string,
    readonly config: Config,
  ) {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw new ShapeError(`${cls}: config is ${show(config)}; expected an object`);
    }
  }

  fail(key: string, expected: string): never {
    throw new ShapeError(`${this.cls}: config '${key}' is ${show(this.config[key])}; expected ${expected}`);
  }

  has(key: string): boolean {
    return this.config[key] !== undefined && this.config[key] !== null;
  }

  raw(key: string): unknown {
    return this.config[key];
  }

  /** An integer >= min; `dflt` undefined means the key is required. */
  int(key: string, dflt?: number, min = 1): number {
    let v = this.config[key];
    // Messages are made only for a failure (building them per read was a tenth of a large model's analysis).
    if (v === undefined || v === null) {
      if (dflt === undefined) this.fail(key, `${intText(min)} (required)`);
      return dflt;
    }
    if (Array.isArray(v) && v.length === 1) v = v[0];
    if (!isInt(v) || v < min) this.fail(key, intText(min));
    return v;
  }

  /**
   * A finite number within `range` (a float setting: dropout rate, epsilon, slope); a missing or null key takes
   * `dflt` (undefined: required). A string such as "0.5", NaN, or 1e400 (read as Infinity) is an error, not a default.
   */
  num(key: string, dflt: number | undefined, range: NumRange = {}): number {
    const v = this.config[key];
    if (v === undefined || v === null) {
      if (dflt === undefined) this.fail(key, `${rangeText(range)} (required)`);
      return dflt;
    }
    if (typeof v !== 'number' || !inRange(v, range)) this.fail(key, rangeText(range));
    return v;
  }

  /** An integer or null (e.g. Embedding input_length). */
  optInt(key: string, min = 1): number | null {
    return this.has(key) ? this.int(key, undefined, min) : null;
  }

  /** n integers >= min: an int is repeated n times (Keras normalize_tuple). */
  ints(key: string, n: number, dflt?: number | number[], min = 1): number[] {
    let v = this.config[key];
    if (v === undefined || v === null) {
      if (dflt === undefined) this.fail(key, `an integer or a list of ${n} integers (required)`);
      v = dflt;
    }
    const expected = (): string => `an integer >= ${min} and <= ${MAX_SIZE}, or a list of ${n} such integers`;
    if (isInt(v)) {
      if (v < min) this.fail(key, expected());
      return new Array<number>(n).fill(v);
    }
    if (Array.isArray(v) && v.length === n && allInts(v, min)) return v as number[];
    if (n > 1 && Array.isArray(v) && v.length === 1 && isInt(v[0]) && v[0] >= min) return new Array<number>(n).fill(v[0] as number);
    return this.fail(key, expected());
  }

  /**
   * Per-side amounts (ZeroPadding, Cropping): an int (all sides), n ints (symmetric per axis), or n pairs.
   * Returns n [before, after] pairs.
   */
  pairs(key: string, n: number, dflt: number): [number, number][] {
    const v = this.has(key) ? this.config[key] : dflt;
    const expected = `an integer >= 0, a list of ${n} integers, or a list of ${n} [before, after] pairs`;
    const nonNeg = (x: unknown): x is number => isInt(x) && x >= 0;
    if (nonNeg(v)) return Array.from({ length: n }, () => [v, v]);
    if (!Array.isArray(v)) return this.fail(key, expected);
    // 1-D layers take a single (left, right) pair.
    if (n === 1 && v.length === 2 && v.every(nonNeg)) return [[v[0], v[1]]];
    if (v.length !== n) return this.fail(key, expected);
    return v.map((x): [number, number] => {
      if (nonNeg(x)) return [x, x];
      if (Array.isArray(x) && x.length === 2 && x.every(nonNeg)) return [x[0], x[1]];
      if (Array.isArray(x) && x.length === 1 && nonNeg(x[0])) return [x[0], x[0]];
      return this.fail(key, expected);
    });
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.config[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], dflt: T): T {
    const v = this.config[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string') this.fail(key, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
    const lower = v.toLowerCase();
    for (let i = 0; i < allowed.length; i++) if (allowed[i] === lower) return allowed[i]!;
    return this.fail(key, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }

  /** Keras' data_format; tfjs writes channelsLast-style names in some files, so both spellings are read. */
  dataFormat(): 'channels_last' | 'channels_first' {
    const v = this.config['data_format'];
    if (v === 'channelsLast') return 'channels_last';
    if (v === 'channelsFirst') return 'channels_first';
    return this.oneOf('data_format', DATA_FORMATS, 'channels_last');
  }

  /** An axis or a list of axes (as written: may be negative; resolved against a rank later). */
  axes(key: string, dflt: number[] | null): number[] | null {
    const v = this.config[key];
    if (v === undefined) return dflt;
    if (v === null) return null;
    if (isInt(v)) return [v];
    if (Array.isArray(v) && v.every(isInt)) return v as number[];
    return this.fail(key, 'an integer axis or a list of integer axes');
  }

  /** A nested {class_name, config} object (Bidirectional's layer, TimeDistributed's layer). */
  layer(key: string, required = true): { className: string; config: Config } | null {
    const v = this.config[key];
    if (v === undefined || v === null) {
      if (required) this.fail(key, 'a layer object {class_name, config} (required)');
      return null;
    }
    if (typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const cfg = o['config'];
      if (typeof o['class_name'] === 'string' && cfg !== null && typeof cfg === 'object' && !Array.isArray(cfg)) {
        return { className: o['class_name'], config: cfg as Config };
      }
    }
    return this.fail(key, 'a layer object {class_name, config}');
  }
}
