/**
 * What every layer emitter shares: the LayerCode it returns, the shape helpers and the activations as Python.
 */
import type { CallArgs, Shape } from '../../ir';
import type { ConfigReader } from '../../layers/configValues';
import { py } from './python';

/** How a Keras weight becomes the torch tensor (see `tfjs_to_torch` in the prelude). */
export type Layout = 'copy' | 'dense' | 'conv' | 'depthwise';

/**
 * Where a weight's Keras initializer is named: a key of the layer's own config, the same key in another config
 * (a wrapped layer's), or null for the module's own initial value (LaurelResidual).
 */
export type InitSource = string | null | { from: Record<string, unknown>; key: string };

export type WeightEntry = [string, string, Layout] | [string, string, Layout, InitSource];

export interface LayerCode {
  /** The submodule's constructor expression, for layers with weights or training state. */
  module?: string;
  /** The output as a Python expression of the submodule (`self.<attr>`) and the input variables. */
  call(self: string, inputs: string[], args?: CallArgs): string;
  /**
   * [Keras weight name, torch parameter or buffer name inside the submodule, layout, initializer source]. The
   * default source is the layer config's `<last part of the name, less '_kernel'>_initializer` (kernel_initializer,
   * depthwise_initializer, recurrent_initializer, gamma_initializer, ...).
   */
  weights?: WeightEntry[];
  /** The call returns a tuple of this many tensors (absent: one tensor). */
  outputs?: number;
  /**
   * The layout the call reads every input in and the layout of its output (absent: the file's, both). A layer
   * that runs natively on channels-first tensors (convolutions, pooling, batch norm, LAuReL on feature maps, and
   * elementwise layers whatever they are given) says so, and forward() moves axes only where a layer needs it.
   */
  layout?: { input: TensorLayout; output: TensorLayout };
}

/**
 * How forward() holds a tensor of the file: 'file' in the file's own axis order; 'cf' a channels-last tensor with
 * its last (channel) axis moved to axis 1 (NHWC held as NCHW, [B, T, C] as [B, C, T]), PyTorch's native layout
 * for convolutions, pooling and batch norm.
 */
export type TensorLayout = 'file' | 'cf';

export interface EmitContext {
  /** The code of a wrapped layer (TimeDistributed, Bidirectional), given by layerCode. */
  layer?: (className: string, config: Record<string, unknown>, inputs: (Shape | null)[], ctx: EmitContext) => LayerCode;
  /** Keras 3 files define hard_sigmoid as relu6(x + 3) / 6; Keras 2 and TF.js as clip(0.2 x + 0.5, 0, 1). */
  keras3: boolean;
  /** The keywords and flags of the layer's first call, where the file gives them. */
  call?: CallArgs;
  /** The layout of each input at the layer's first call (absent: all the file's). */
  layouts?: TensorLayout[];
}

export type Emitter = (c: ConfigReader, inputs: (Shape | null)[], ctx: EmitContext) => LayerCode;

/** The layer cannot be exported as configured; the message says why. */
export class UnsupportedLayer extends Error {
  override readonly name = 'UnsupportedLayer';
}

// ---------------------------------------------------------------------------------------------------------
// Shared pieces

export function single(inputs: (Shape | null)[], what = 'its input'): Shape {
  if (inputs.length !== 1) throw new UnsupportedLayer(`expected one input, got ${inputs.length}`);
  const s = inputs[0];
  if (!s) throw new UnsupportedLayer(`the shape of ${what} is unknown (an earlier layer could not be analysed)`);
  return s;
}

export function dim(s: Shape, axis: number, what: string): number {
  const d = s[axis < 0 ? s.length + axis : axis];
  if (typeof d !== 'number') throw new UnsupportedLayer(`its ${what} (axis ${axis} of [${s.map((x) => x ?? 'None').join(', ')}]) is unknown`);
  return d;
}

export const resolve = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** Where axis `axis` (>= 0) of a rank-`rank` tensor of the file is held in `layout`. */
export const heldAxis = (axis: number, rank: number, layout: TensorLayout): number => (layout === 'file' || axis === 0 ? axis : axis === rank - 1 ? 1 : axis + 1);

/** The layout of the layer's first input ('file' when not given). */
export const inputLayout = (ctx: EmitContext, i = 0): TensorLayout => ctx.layouts?.[i] ?? 'file';

/** An elementwise layer: its input's layout, kept. */
export const keepLayout = (ctx: EmitContext): { input: TensorLayout; output: TensorLayout } => ({ input: inputLayout(ctx), output: inputLayout(ctx) });

/** The layout several same-shaped inputs meet in: theirs when they agree, else channels-first where all are feature maps. */
export function commonLayout(inputs: (Shape | null)[], ctx: EmitContext): TensorLayout {
  const ls = inputs.map((_, i) => inputLayout(ctx, i));
  if (ls.every((l) => l === ls[0])) return ls[0] ?? 'file';
  const rank = inputs[0]?.length ?? 0;
  return rank >= 3 && inputs.every((s) => s?.length === rank) ? 'cf' : 'file';
}

/**
 * Python that moves a tensor from one layout to the other. Into channels-first it is made contiguous: a moved
 * NHWC tensor is NCHW in torch's channels_last memory format, which the convolutions would keep through the whole
 * network (on the CPU, torch 1.13: a ResNet-18 step 22% slower than on contiguous NCHW).
 */
export const relayout = (x: string, from: TensorLayout, to: TensorLayout): string =>
  from === to ? x : to === 'cf' ? `${x}.movedim(-1, 1).contiguous()` : `${x}.movedim(1, -1)`;

/** The call of `code` on tensors in the file's layout (a wrapper such as TimeDistributed calls it so). */
export const fileLayoutCall = (code: LayerCode, self: string, xs: string[]): string =>
  relayout(code.call(self, xs.map((x) => relayout(x, 'file', code.layout?.input ?? 'file'))), code.layout?.output ?? 'file', 'file');
export const allOnes = (v: number[]): boolean => v.every((x) => x === 1);
export const tuple = (v: number[]): string => py(v);
export const channelsLast = (c: ConfigReader): boolean => c.dataFormat() === 'channels_last';
/** torch momentum (weight of the new batch statistic) from Keras momentum (weight of the old running value). */
export const torchMomentum = (keras: number): number => Number((1 - keras).toPrecision(12));

const ACTIVATIONS: Readonly<Record<string, (x: string, ctx: EmitContext, dim: number) => string>> = {
  linear: (x) => x,
  relu: (x) => `F.relu(${x})`,
  relu6: (x) => `F.relu6(${x})`,
  sigmoid: (x) => `torch.sigmoid(${x})`,
  tanh: (x) => `torch.tanh(${x})`,
  softmax: (x, _ctx, dim) => `torch.softmax(${x}, dim=${dim})`,
  logsoftmax: (x, _ctx, dim) => `torch.log_softmax(${x}, dim=${dim})`,
  // TF.js 'gelu' and Keras' default are the exact (erf) form; TF.js 'gelu_new' is the tanh approximation.
  gelu: (x) => `F.gelu(${x})`,
  gelunew: (x) => `F.gelu(${x}, approximate="tanh")`,
  swish: (x) => `F.silu(${x})`,
  silu: (x) => `F.silu(${x})`,
  elu: (x) => `F.elu(${x})`,
  selu: (x) => `F.selu(${x})`,
  softplus: (x) => `F.softplus(${x})`,
  softsign: (x) => `F.softsign(${x})`,
  mish: (x) => `F.mish(${x})`,
  exponential: (x) => `torch.exp(${x})`,
  hardsigmoid: (x, ctx) => (ctx.keras3 ? `F.hardsigmoid(${x})` : `tf_hard_sigmoid(${x})`),
  hardsilu: (x) => `F.hardswish(${x})`,
  hardswish: (x) => `F.hardswish(${x})`,
  leakyrelu: (x) => `F.leaky_relu(${x}, 0.2)`,
};

/** `name` applied to the expression x ('relu', 'hardSigmoid', 'gelu_new', null = linear); softmax over `dim`, the channels. */
export function activation(name: unknown, x: string, ctx: EmitContext, dim = -1): string {
  if (name === null || name === undefined) return x;
  if (typeof name !== 'string') throw new UnsupportedLayer(`its activation ${JSON.stringify(name)} is not a built-in one`);
  const fn = ACTIVATIONS[name.toLowerCase().replace(/_/g, '')];
  if (!fn) throw new UnsupportedLayer(`its activation '${name}' has no PyTorch equivalent here`);
  return fn(x, ctx, dim);
}

export const withActivation =
  (c: ConfigReader, ctx: EmitContext, dim = -1) =>
  (expr: string): string =>
    activation(c.raw('activation'), expr, ctx, dim);


/** A finite number or the default when absent; a string, NaN or an infinity is an error naming the key, never the default. */
export const num = (c: ConfigReader, key: string, dflt: number): number => c.num(key, dflt);
export const fn = (f: (x: string) => string): LayerCode => ({ call: (_self, [x]) => f(x!) });
/** An elementwise layer without weights: any layout, kept. */
export const elementwise = (f: (x: string) => string, ctx: EmitContext): LayerCode => ({ ...fn(f), layout: keepLayout(ctx) });
