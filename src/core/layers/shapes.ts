import type { CallArgs, Dim, Shape } from '../ir';
import { ShapeError } from '../layerSpec';
import type { LayerSpec, ParamCount } from '../layerSpec';
import { ConfigReader } from './configValues';
import type { Config } from './configValues';

export const fmt = (s: Shape): string => `[${s.map((d) => (d === null ? 'null' : String(d))).join(',')}]`;

export const trainable = (n: number): ParamCount => ({ trainable: n, nonTrainable: 0 });
export const NO_PARAMS: ParamCount = { trainable: 0, nonTrainable: 0 };

export const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Product of dims, null when any is unknown. */
export const dimProduct = (dims: readonly Dim[]): Dim => (dims.some((d) => d === null) ? null : product(dims as number[]));

// Index loops, no closure: every call of every layer is checked.
function isShape(s: unknown): s is Shape {
  if (!Array.isArray(s)) return false;
  for (let i = 0; i < s.length; i++) {
    const d: unknown = s[i];
    if (d !== null && !(typeof d === 'number' && Number.isInteger(d) && d >= 0)) return false;
  }
  return true;
}

/** Checks the input list itself, so that later code can index shapes without guarding. */
export function checkInputs(cls: string, inputs: unknown): Shape[] {
  if (!Array.isArray(inputs)) throw new ShapeError(`${cls}: inputs are ${String(inputs)}; expected a list of shapes`);
  for (let i = 0; i < inputs.length; i++) {
    const s: unknown = inputs[i];
    if (!isShape(s)) throw new ShapeError(`${cls}: input ${i} has shape ${JSON.stringify(s) ?? String(s)}; expected a list of non-negative integers or null`);
  }
  return inputs as Shape[];
}

/** The one input of a single-input layer, of rank in [minRank, maxRank] (batch included). */
export function single(cls: string, inputs: Shape[], minRank = 1, maxRank = Infinity): Shape {
  checkInputs(cls, inputs);
  if (inputs.length !== 1) throw new ShapeError(`${cls}: got ${inputs.length} inputs; expected exactly 1`);
  const s = inputs[0]!;
  if (s.length < minRank || s.length > maxRank) {
    const want = minRank === maxRank ? `${minRank}` : maxRank === Infinity ? `at least ${minRank}` : `${minRank} to ${maxRank}`;
    throw new ShapeError(`${cls}: input shape ${fmt(s)} has rank ${s.length}; expected rank ${want} (batch included)`);
  }
  return s;
}

/** A dimension the weights depend on: it must be known. */
export function known(cls: string, s: Shape, axis: number, what: string): number {
  const d = s[axis];
  if (d === null || d === undefined) throw new ShapeError(`${cls}: the ${what} (axis ${axis}) of input ${fmt(s)} is unknown; expected a number to size the weights`);
  return d;
}

/** A possibly negative axis resolved against a rank. */
export function resolveAxis(cls: string, axis: number, rank: number, key = 'axis'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`${cls}: ${key} ${axis} is out of range for an input of rank ${rank}; expected -${rank} to ${rank - 1}`);
  return a;
}

/** Keras conv_utils.conv_output_length; 'causal' keeps the length like 'same'. */
export function convLength(len: Dim, kernel: number, padding: string, stride: number, dilation: number): Dim {
  if (len === null) return null;
  const dilated = (kernel - 1) * dilation + 1;
  const out = padding === 'valid' ? len - dilated + 1 : padding === 'full' ? len + dilated - 1 : len;
  return Math.floor((out + stride - 1) / stride);
}

/** Keras conv_utils.deconv_output_length. */
export function deconvLength(len: Dim, kernel: number, padding: string, outputPadding: number | null, stride: number, dilation: number): Dim {
  if (len === null) return null;
  const k = kernel + (kernel - 1) * (dilation - 1);
  if (outputPadding === null) {
    if (padding === 'valid') return len * stride + Math.max(k - stride, 0);
    if (padding === 'full') return len * stride - (stride + k - 2);
    return len * stride;
  }
  const pad = padding === 'same' ? Math.floor(k / 2) : padding === 'valid' ? 0 : k - 1;
  return (len - 1) * stride + k - 2 * pad + outputPadding;
}

export interface Layout {
  readonly channel: number;
  readonly spatial: readonly number[];
}

/** Made once per format and rank (every conv, pooling and padding call of a model asks). */
const layouts = { channels_last: [] as Layout[], channels_first: [] as Layout[] };

/** Layout of a channels_last / channels_first tensor of `spatial` spatial dims. */
export function layout(format: 'channels_last' | 'channels_first', rank: number): Layout {
  const known = layouts[format][rank];
  if (known) return known;
  const n = Math.max(0, rank - 2);
  const made: Layout =
    format === 'channels_first'
      ? Object.freeze({ channel: 1, spatial: Object.freeze(Array.from({ length: n }, (_, i) => i + 2)) })
      : Object.freeze({ channel: rank - 1, spatial: Object.freeze(Array.from({ length: n }, (_, i) => i + 1)) });
  if (rank >= 0 && rank <= 8 && Number.isInteger(rank)) layouts[format][rank] = made;
  return made;
}

/** A spec from two functions over a config reader; the reader is built once per call. */
export function spec(
  cls: string,
  outputShapes: (c: ConfigReader, inputs: Shape[], call?: CallArgs) => Shape[],
  params: (c: ConfigReader, inputs: Shape[], call?: CallArgs) => ParamCount = () => NO_PARAMS,
): LayerSpec {
  return {
    outputShapes: (config: Config, inputs: Shape[], call?: CallArgs) => outputShapes(new ConfigReader(cls, config), checkInputs(cls, inputs), call),
    params: (config: Config, inputs: Shape[], call?: CallArgs) => {
      const c = new ConfigReader(cls, config);
      const ins = checkInputs(cls, inputs);
      // Weights only exist for inputs the layer accepts: validate the shapes first.
      outputShapes(c, ins, call);
      return params(c, ins, call);
    },
    shapesAndParams: (config: Config, inputs: Shape[], call?: CallArgs) => {
      const c = new ConfigReader(cls, config);
      const ins = checkInputs(cls, inputs);
      const shapes = outputShapes(c, ins, call);
      return { shapes, params: params(c, ins, call) };
    },
  };
}

/**
 * Layers whose output has the input's shape and that own no weights (activations, dropout, noise). `check`
 * validates the settings later steps use (a dropout rate the exporters write), so a bad one is a located problem.
 */
export const identitySpec = (cls: string, check?: (c: ConfigReader) => void): LayerSpec =>
  spec(cls, (c, inputs) => {
    check?.(c);
    return [single(cls, inputs).slice()];
  });
