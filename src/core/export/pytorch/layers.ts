/**
 * What each Keras layer class becomes in PyTorch: the submodule (when it has weights or training state), the
 * forward() expression, and where its TF.js weights go. Semantics follow TF.js / Keras on the file's own layout.
 */
import { fromLayerConfig } from '../../laurel/laurelConfig';
import { hasLr, hasPa, hasRw, paModeOf } from '../../laurel/variants';
import { ConfigReader } from '../../layers/configValues';
import type { Shape } from '../../ir';
import { activation, allOnes, channelsLast, commonLayout, dim, elementwise, fn, heldAxis, inputLayout, keepLayout, num, resolve, single, torchMomentum, tuple, UnsupportedLayer, withActivation } from './emit';
import type { EmitContext, Emitter, LayerCode, Layout, TensorLayout, WeightEntry } from './emit';
import { NORMALIZATION_EMITTERS } from './normalizationLayers';
import { py, pyCall, pyFloat } from './python';
import { SEQUENCE_EMITTERS } from './sequenceLayers';

export { activation, UnsupportedLayer } from './emit';
export type { EmitContext, InitSource, LayerCode, Layout, TensorLayout, WeightEntry } from './emit';

// ---------------------------------------------------------------------------------------------------------
// Convolutions

type ConvKind = 'conv' | 'depthwise' | 'separable' | 'transpose';

/**
 * TF's 'same' padding of each spatial axis as [before, after] (an odd total puts the extra pixel after), fixed at
 * export where it can be: always at stride 1 (it does not depend on the size), else where the size is known; null
 * where it must be computed from the actual input.
 */
export function samePads(sizes: Shape, kernel: number[], strides: number[], dilation: number[]): [number, number][] | null {
  const pads: [number, number][] = [];
  for (let i = 0; i < kernel.length; i++) {
    const [n, k, s, d] = [sizes[i], kernel[i]!, strides[i]!, dilation[i]!];
    let total: number;
    if (s === 1) total = (k - 1) * d;
    else if (typeof n === 'number') total = Math.max((Math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0);
    else return null;
    pads.push([Math.floor(total / 2), total - Math.floor(total / 2)]);
  }
  return pads;
}

/**
 * The padding keywords of a conv module: symmetric pads are the torch ConvNd's own `padding` (no copy of the input),
 * asymmetric ones `tf_padding` pairs (one F.pad), and 'same' where the input size is unknown at export.
 */
function paddingArgs(pads: [number, number][] | null, dynamicSame: boolean): { padding?: string; tf_padding?: string } {
  if (dynamicSame) return { tf_padding: py('same') };
  if (!pads || pads.every(([b, a]) => b === 0 && a === 0)) return {};
  if (pads.every(([b, a]) => b === a)) return { padding: tuple(pads.map(([b]) => b)) };
  return { tf_padding: py(pads) };
}

/** Convolutions read and give channels-first tensors (a channels_last file's are moved there; channels_first ones already are). */
function conv(n: 1 | 2 | 3, kind: ConvKind): Emitter {
  return (c, inputs, ctx) => {
    const input = single(inputs);
    const last = channelsLast(c);
    const held = last ? 'cf' : 'file';
    const cin = dim(input, last ? -1 : 1, 'channel count');
    const kernel = c.ints('kernel_size', n);
    const strides = c.ints('strides', n, 1);
    const dilation = c.ints('dilation_rate', n, 1);
    const padding = c.oneOf('padding', n === 1 && kind !== 'transpose' ? ['valid', 'same', 'causal'] : ['valid', 'same'], 'valid');
    const bias = c.bool('use_bias', true);
    const spatial = last ? input.slice(1, -1) : input.slice(2);
    // The depthwise part of a separable conv pads; its 1x1 pointwise part never does.
    const pads = padding === 'causal' ? [[(kernel[0]! - 1) * dilation[0]!, 0] as [number, number]] : padding === 'same' ? samePads(spatial, kernel, strides, dilation) : null;
    const pad = kind === 'transpose' ? { tf_padding: padding === 'valid' ? undefined : py(padding) } : paddingArgs(pads, padding === 'same' && !pads);
    const common = {
      stride: allOnes(strides) ? undefined : tuple(strides),
      dilation: allOnes(dilation) ? undefined : tuple(dilation),
    };
    const biasWeight: [string, string, Layout][] = bias ? [['bias', 'bias', 'copy']] : [];
    const act = withActivation(c, ctx, 1);
    const call = (self: string, [x]: string[]): string => act(`${self}(${x})`);
    const layout = { input: held, output: held } as const;
    const cls = `Conv${n}dTF`;
    switch (kind) {
      case 'conv': {
        const groups = c.int('groups', 1);
        const module = pyCall(cls, [String(cin), String(c.int('filters')), tuple(kernel)], { ...common, groups: groups > 1 ? String(groups) : undefined, bias: bias ? undefined : 'False', ...pad });
        return { module, call, layout, weights: [['kernel', 'weight', 'conv'], ...biasWeight] };
      }
      case 'depthwise': {
        const out = cin * c.int('depth_multiplier', 1);
        const module = pyCall(cls, [String(cin), String(out), tuple(kernel)], { ...common, groups: String(cin), bias: bias ? undefined : 'False', ...pad });
        return { module, call, layout, weights: [['depthwise_kernel', 'weight', 'depthwise'], ...biasWeight] };
      }
      case 'separable': {
        if (n === 3) throw new UnsupportedLayer('3-D separable convolutions are not a Keras layer');
        const m = c.int('depth_multiplier', 1);
        const module = pyCall('SeparableConvTF', [String(n), String(cin), String(c.int('filters')), tuple(kernel)], {
          depth_multiplier: m === 1 ? undefined : String(m),
          ...common,
          bias: bias ? undefined : 'False',
          ...pad,
        });
        const weights: [string, string, Layout][] = [
          ['depthwise_kernel', 'depthwise.weight', 'depthwise'],
          ['pointwise_kernel', 'pointwise.weight', 'conv'],
        ];
        if (bias) weights.push(['bias', 'pointwise.bias', 'copy']);
        return { module, call, layout, weights };
      }
      case 'transpose': {
        const op = c.has('output_padding') ? c.ints('output_padding', n, undefined, 0) : null;
        const module = pyCall('ConvTransposeTF', [String(n), String(cin), String(c.int('filters')), tuple(kernel), tuple(strides), tuple(dilation)], {
          bias: bias ? undefined : 'False',
          ...pad,
          output_padding: op ? tuple(op) : undefined,
        });
        return { module, call, layout, weights: [['kernel', 'weight', 'conv'], ...biasWeight] };
      }
    }
  };
}

// ---------------------------------------------------------------------------------------------------------
// Core, normalisation, activations

const dense: Emitter = (c, inputs, ctx) => {
  const input = single(inputs);
  const bias = c.bool('use_bias', true);
  const module = pyCall('nn.Linear', [String(dim(input, -1, 'input width')), String(c.int('units'))], { bias: bias ? undefined : 'False' });
  const act = withActivation(c, ctx);
  return { module, call: (self, [x]) => act(`${self}(${x})`), weights: [['kernel', 'weight', 'dense'], ...(bias ? ([['bias', 'bias', 'copy']] as [string, string, Layout][]) : [])] };
};

const batchNorm: Emitter = (c, inputs, ctx) => {
  const input = single(inputs);
  const axes = c.axes('axis', [-1]) ?? [-1];
  if (axes.length !== 1) throw new UnsupportedLayer(`it normalises over ${axes.length} axes; one is supported`);
  if (c.bool('renorm', false)) throw new UnsupportedLayer('batch renormalisation (renorm=true) is not supported');
  const axis = resolve(axes[0]!, input.length);
  const center = c.bool('center', true);
  const scale = c.bool('scale', true);
  const eps = typeof c.raw('epsilon') === 'number' ? (c.raw('epsilon') as number) : 1e-3;
  const momentum = typeof c.raw('momentum') === 'number' ? (c.raw('momentum') as number) : 0.99;
  // On a channels-first tensor the channel axis is torch's own (1): F.batch_norm reads it without moving axes.
  const held = heldAxis(axis, input.length, inputLayout(ctx));
  const module = pyCall('BatchNormTF', [String(dim(input, axis, 'feature count'))], {
    axis: held === 1 ? undefined : String(held),
    eps: pyFloat(eps),
    momentum: pyFloat(torchMomentum(momentum)),
    center: center ? undefined : 'False',
    scale: scale ? undefined : 'False',
  });
  const weights: [string, string, Layout][] = [];
  if (scale) weights.push(['gamma', 'weight', 'copy']);
  if (center) weights.push(['beta', 'bias', 'copy']);
  weights.push(['moving_mean', 'running_mean', 'copy'], ['moving_variance', 'running_var', 'copy']);
  return { module, call: (self, [x]) => `${self}(${x})`, weights, layout: keepLayout(ctx) };
};

const embedding: Emitter = (c) => ({
  module: pyCall('nn.Embedding', [String(c.int('input_dim')), String(c.int('output_dim'))]),
  call: (self, [x]) => `${self}(${x}.long())`,
  weights: [['embeddings', 'weight', 'copy']],
});

const prelu: Emitter = (c, inputs) => {
  const input = single(inputs);
  const shared = new Set(c.axes('shared_axes', []) ?? []);
  const shape = input.slice(1).map((_, i) => (shared.has(i + 1) ? 1 : dim(input, i + 1, 'size')));
  return { module: pyCall('PReLUTF', [tuple(shape)]), call: (self, [x]) => `${self}(${x})`, weights: [['alpha', 'alpha', 'copy']] };
};

const relu: Emitter = (c, _inputs, ctx) => {
  const max = c.raw('max_value');
  const slope = num(c, 'negative_slope', 0);
  const threshold = num(c, 'threshold', 0);
  if (typeof max !== 'number' && max !== null && max !== undefined) throw new UnsupportedLayer(`max_value ${JSON.stringify(max)} is not a number`);
  if (slope === 0 && threshold === 0) {
    if (typeof max !== 'number') return elementwise((x) => `F.relu(${x})`, ctx);
    return elementwise((x) => (max === 6 ? `F.relu6(${x})` : `torch.clamp(F.relu(${x}), max=${pyFloat(max)})`), ctx);
  }
  return elementwise((x) => pyCall('tf_relu', [x], { negative_slope: pyFloat(slope), max_value: typeof max === 'number' ? pyFloat(max) : undefined, threshold: pyFloat(threshold) }), ctx);
};

const softmaxLayer: Emitter = (c, inputs, ctx) => {
  const axes = c.axes('axis', [-1]) ?? [-1];
  if (axes.length !== 1) throw new UnsupportedLayer('softmax over several axes is not supported');
  const rank = single(inputs).length;
  return elementwise((x) => `torch.softmax(${x}, dim=${inputLayout(ctx) === 'file' ? axes[0] : heldAxis(resolve(axes[0]!, rank), rank, 'cf')})`, ctx);
};

/** Dropout with the noise shape as the tensor is held (the layout of the input). */
function dropoutCode(c: ConfigReader, noiseShape: (number | null)[] | null, ctx: EmitContext): LayerCode {
  const rate = num(c, 'rate', 0);
  if (!noiseShape) return { module: pyCall('nn.Dropout', [pyFloat(rate)]), call: (self, [x]) => `${self}(${x})`, layout: keepLayout(ctx) };
  const n = noiseShape.length;
  const fileAxis = [0, n - 1, ...Array.from({ length: n - 2 }, (_, j) => j + 1)];
  const held = inputLayout(ctx) === 'file' ? noiseShape : noiseShape.map((_, i) => noiseShape[fileAxis[i]!] ?? null);
  return elementwise((x) => `tf_dropout(${x}, ${pyFloat(rate)}, ${py(held)}, self.training)`, ctx);
}

const dropout: Emitter = (c, _inputs, ctx) => {
  const ns = c.raw('noise_shape');
  if (ns !== null && ns !== undefined && !(Array.isArray(ns) && ns.every((d) => d === null || typeof d === 'number'))) throw new UnsupportedLayer(`noise_shape ${JSON.stringify(ns)}`);
  return dropoutCode(c, (ns as (number | null)[] | null | undefined) ?? null, ctx);
};

const spatialDropout =
  (n: number): Emitter =>
  (c, _inputs, ctx) => {
    // One mask value per (example, channel), shared over the spatial axes.
    const ones = Array.from({ length: n }, () => 1);
    return dropoutCode(c, channelsLast(c) ? [null, ...ones, null] : [null, null, ...ones], ctx);
  };

const rescaling: Emitter = (c, _inputs, ctx) => {
  const v = (key: string, dflt: number): string => {
    const x = c.raw(key) ?? dflt;
    if (typeof x === 'number') return pyFloat(x);
    if (Array.isArray(x) && x.every((e) => typeof e === 'number')) return `torch.tensor(${py(x)})`;
    throw new UnsupportedLayer(`${key} ${JSON.stringify(x)}`);
  };
  const scale = v('scale', 1);
  const offset = v('offset', 0);
  const f = (x: string): string => (offset === '0.0' ? `${x} * ${scale}` : `${x} * ${scale} + ${offset}`);
  // Per-channel scales broadcast over the last axis: only in the file's layout.
  return scale.startsWith('torch') || offset.startsWith('torch') ? fn(f) : elementwise(f, ctx);
};

// ---------------------------------------------------------------------------------------------------------
// Merges, reshaping, pooling

/** Elementwise merges of same-shaped tensors: in whatever layout they share. */
const merge =
  (f: (xs: string[]) => string): Emitter =>
  (_c, inputs, ctx) => {
    const l = commonLayout(inputs, ctx);
    return { call: (_self, xs) => f(xs), layout: { input: l, output: l } };
  };

const chain = (op: string, xs: string[]): string => xs.slice(1).reduce((acc, x) => `${op}(${acc}, ${x})`, xs[0]!);

/** Spatial axes of an (n+2)-D tensor in the layer's data format, as the tensor is held (a channels-first one: 2...). */
const spatialAxes = (c: ConfigReader, n: number, layout: TensorLayout = 'file'): number[] => Array.from({ length: n }, (_, i) => (channelsLast(c) && layout === 'file' ? 1 + i : 2 + i));

/** A spatial layer (padding, cropping, upsampling) runs in whatever layout it is given. */
const spatial = (code: (axes: number[]) => LayerCode) => (c: ConfigReader, n: number, ctx: EmitContext): LayerCode => ({ ...code(spatialAxes(c, n, inputLayout(ctx))), layout: keepLayout(ctx) });

const zeroPadding =
  (n: number): Emitter =>
  (c, _inputs, ctx) => {
    const pads = c.pairs('padding', n, 1);
    return spatial((axes) => {
      // F.pad lists (before, after) from the last axis backwards.
      const rank = n + 2;
      const flat: number[] = [];
      for (let a = rank - 1; a >= 1; a--) {
        const i = axes.indexOf(a);
        flat.push(...(i >= 0 ? pads[i]! : [0, 0]));
      }
      while (flat.length && flat[flat.length - 1] === 0 && flat[flat.length - 2] === 0) flat.splice(-2);
      return fn((x) => `F.pad(${x}, ${tuple(flat)})`);
    })(c, n, ctx);
  };

const cropping =
  (n: number): Emitter =>
  (c, _inputs, ctx) => {
    const crops = c.pairs('cropping', n, 0);
    return spatial((axes) => {
      const last = Math.max(...axes);
      const parts = Array.from({ length: last + 1 }, (_, a) => {
        const i = axes.indexOf(a);
        if (i < 0) return ':';
        const [b, e] = crops[i]!;
        return `${b || ''}:${e ? -e : ''}`;
      });
      return fn((x) => `${x}[${parts.join(', ')}]`);
    })(c, n, ctx);
  };

const upSampling =
  (n: number): Emitter =>
  (c, _inputs, ctx) => {
    if (n > 1 && c.oneOf('interpolation', ['nearest', 'bilinear', 'bicubic', 'area', 'lanczos3', 'lanczos5', 'gaussian', 'mitchellcubic'], 'nearest') !== 'nearest') {
      throw new UnsupportedLayer(`interpolation '${String(c.raw('interpolation'))}' (only nearest is exported)`);
    }
    const sizes = n === 1 ? [c.int('size', 2)] : c.ints('size', n, 2);
    return spatial((axes) => fn((x) => axes.reduce((acc, a, i) => (sizes[i] === 1 ? acc : `${acc}.repeat_interleave(${sizes[i]}, dim=${a})`), x)))(c, n, ctx);
  };

/** Pooling reads and gives channels-first tensors; TF's 'same' pads are fixed at export where the size allows. */
const pooling =
  (n: number, kind: 'max' | 'avg'): Emitter =>
  (c, inputs) => {
    const size = c.ints('pool_size', n, 2);
    const strides = c.has('strides') ? c.ints('strides', n) : size;
    const padding = c.oneOf('padding', ['valid', 'same'], 'valid');
    const last = channelsLast(c);
    const input = single(inputs);
    const pads = padding === 'same' ? samePads(last ? input.slice(1, -1) : input.slice(2), size, strides, size.map(() => 1)) : null;
    const how = padding === 'valid' ? py('valid') : pads ? py(pads) : py('same');
    const held = last ? 'cf' : 'file';
    return { ...fn((x) => pyCall('tf_pool', [x, py(kind), tuple(size), tuple(strides), how])), layout: { input: held, output: held } };
  };

const globalPooling =
  (n: number, op: 'mean' | 'amax'): Emitter =>
  (c, _inputs, ctx) => {
    const axes = spatialAxes(c, n, inputLayout(ctx));
    const keep = c.bool('keepdims', false);
    // Without keepdims the result is [B, C] in either layout.
    return { ...fn((x) => `${x}.${op}(dim=${tuple(axes)}${keep ? ', keepdim=True' : ''})`), layout: { input: inputLayout(ctx), output: keep ? inputLayout(ctx) : 'file' } };
  };

// ---------------------------------------------------------------------------------------------------------
// LAuReL

const laurel: Emitter = (c, inputs, ctx) => {
  const { choice, branchIndex, shortcutIndex } = fromLayerConfig(c.config);
  const x = inputs[shortcutIndex];
  if (!x) throw new UnsupportedLayer('the shape of its shortcut input is unknown');
  const v = choice.variant;
  const o = choice.options;
  const mode = hasPa(v) ? paModeOf(choice) : 'identity';
  const lowRank = v === 'gemma' || hasLr(v) || mode !== 'identity';
  // Only the low-rank maps and Gemma's norm scale need D.
  const width = lowRank ? dim(x, -1, 'width D') : (x.at(-1) ?? 0);
  // PA's terms at this site: x and the earlier activations wired in (fewer than k where the history is short).
  const terms = Math.min(o.k, inputs.length - 1);
  // On channels-first feature maps D is axis 1: LR's maps run as 1x1 convolutions, without moving axes.
  const layout = commonLayout(inputs, ctx);
  const module = pyCall('LaurelResidual', [String(width), py(v)], {
    rank: lowRank ? String(o.rank) : undefined,
    k: hasPa(v) ? String(o.k) : undefined,
    rw_norm: hasRw(v) ? py(o.rwNorm) : undefined,
    lr_init: lowRank ? py(o.lrInit) : undefined,
    pa_mode: hasPa(v) && v !== 'rw+lr+pa' ? py(o.paMode) : undefined,
    branch_index: branchIndex === 0 && shortcutIndex === 1 ? undefined : String(branchIndex),
    shortcut_index: branchIndex === 0 && shortcutIndex === 1 ? undefined : String(shortcutIndex),
    terms: hasPa(v) && terms < o.k ? String(terms) : undefined,
    axis: layout === 'cf' ? '1' : undefined,
  });
  // The same weights, in the same order, as LaurelResidual.build() in src/laurel/laurelResidual.ts.
  const names: string[] = [];
  if (hasRw(v) && o.rwNorm === 'softmax') names.push('rw_logits');
  if (hasRw(v) && o.rwNorm === 'sigmoid-single') names.push('rw_theta');
  if (v === 'gemma') names.push('lr_down', 'lr_up', 'gemma_norm_scale');
  else if (hasLr(v) && !hasPa(v)) names.push('lr_down', 'lr_up');
  if (hasPa(v)) {
    names.push('pa_gamma');
    if (mode === 'lowrank-shared') names.push('pa_down', 'pa_up');
    if (mode === 'lowrank-per-j') for (let j = 0; j < terms; j++) names.push(`pa_down_${j}`, `pa_up_${j}`);
  }
  return { module, call: (self, xs) => `${self}([${xs.join(', ')}])`, weights: names.map((n): WeightEntry => [n, n, 'copy', null]), layout: { input: layout, output: layout } };
};

// ---------------------------------------------------------------------------------------------------------

const identity: Emitter = (_c, _i, ctx) => elementwise((x) => x, ctx);

const concatenate: Emitter = (c, inputs, ctx) => {
  const l = commonLayout(inputs, ctx);
  const axis = c.int('axis', -1, -Infinity);
  const rank = inputs[0]?.length;
  if (l === 'cf' && rank !== undefined) return { call: (_s, xs) => `torch.cat([${xs.join(', ')}], dim=${heldAxis(resolve(axis, rank), rank, 'cf')})`, layout: { input: l, output: l } };
  return { call: (_s, xs) => `torch.cat([${xs.join(', ')}], dim=${axis})` };
};

export const EMITTERS: ReadonlyMap<string, Emitter> = new Map<string, Emitter>([
  ['Conv1D', conv(1, 'conv')],
  ['Conv2D', conv(2, 'conv')],
  ['Conv3D', conv(3, 'conv')],
  ['DepthwiseConv1D', conv(1, 'depthwise')],
  ['DepthwiseConv2D', conv(2, 'depthwise')],
  ['SeparableConv1D', conv(1, 'separable')],
  ['SeparableConv2D', conv(2, 'separable')],
  ['Conv1DTranspose', conv(1, 'transpose')],
  ['Conv2DTranspose', conv(2, 'transpose')],
  ['Conv3DTranspose', conv(3, 'transpose')],
  ['Dense', dense],
  ['BatchNormalization', batchNorm],
  ['Embedding', embedding],
  ['PReLU', prelu],
  ['Activation', (c, i, ctx) => elementwise((x) => activation(c.raw('activation'), x, ctx, inputLayout(ctx) === 'cf' && (i[0]?.length ?? 0) >= 3 ? 1 : -1), ctx)],
  ['ReLU', relu],
  ['LeakyReLU', (c, _i, ctx) => elementwise((x) => `F.leaky_relu(${x}, ${pyFloat(num(c, 'negative_slope', num(c, 'alpha', 0.3)))})`, ctx)],
  ['ELU', (c, _i, ctx) => elementwise((x) => (num(c, 'alpha', 1) === 1 ? `F.elu(${x})` : `F.elu(${x}, alpha=${pyFloat(num(c, 'alpha', 1))})`), ctx)],
  ['ThresholdedReLU', (c, _i, ctx) => elementwise((x) => `torch.where(${x} > ${pyFloat(num(c, 'theta', 1))}, ${x}, torch.zeros_like(${x}))`, ctx)],
  ['Softmax', softmaxLayer],
  ['Dropout', dropout],
  ['SpatialDropout1D', spatialDropout(1)],
  ['SpatialDropout2D', spatialDropout(2)],
  ['SpatialDropout3D', spatialDropout(3)],
  ['GaussianNoise', (c, _i, ctx) => elementwise((x) => `(${x} + torch.randn_like(${x}) * ${pyFloat(num(c, 'stddev', 0))} if self.training else ${x})`, ctx)],
  [
    'GaussianDropout',
    (c, _i, ctx) => {
      const rate = num(c, 'rate', 0);
      return elementwise((x) => `(${x} * (1 + torch.randn_like(${x}) * ${pyFloat(Math.sqrt(rate / (1 - rate)))}) if self.training else ${x})`, ctx);
    },
  ],
  // Its L1 / L2 penalty is a training loss, not part of the output.
  ['ActivityRegularization', identity],
  ['Identity', identity],
  ['Masking', (c) => fn((x) => `${x} * (${x} != ${pyFloat(num(c, 'mask_value', 0))}).any(-1, keepdim=True).to(${x}.dtype)`)],
  ['Rescaling', rescaling],
  ['Add', merge((xs) => xs.join(' + '))],
  ['Subtract', merge((xs) => `${xs[0]} - ${xs[1]}`)],
  ['Multiply', merge((xs) => xs.join(' * '))],
  ['Average', merge((xs) => `(${xs.join(' + ')}) / ${xs.length}`)],
  ['Maximum', merge((xs) => chain('torch.maximum', xs))],
  ['Minimum', merge((xs) => chain('torch.minimum', xs))],
  ['Concatenate', concatenate],
  ['Reshape', (c) => fn((x) => `${x}.reshape(${x}.shape[0], ${c.ints('target_shape', (c.raw('target_shape') as unknown[] | undefined)?.length ?? 0, undefined, -1).join(', ')})`)],
  // Keras flattens channels_first tensors in channels-last order.
  ['Flatten', (c) => fn((x) => (channelsLast(c) ? `torch.flatten(${x}, 1)` : `torch.flatten(${x}.movedim(1, -1), 1)`))],
  ['Permute', (c) => fn((x) => `${x}.permute(0, ${c.ints('dims', (c.raw('dims') as unknown[] | undefined)?.length ?? 0).join(', ')})`)],
  ['RepeatVector', (c) => fn((x) => `${x}.unsqueeze(1).repeat(1, ${c.int('n')}, 1)`)],
  ['ZeroPadding1D', zeroPadding(1)],
  ['ZeroPadding2D', zeroPadding(2)],
  ['ZeroPadding3D', zeroPadding(3)],
  ['Cropping1D', cropping(1)],
  ['Cropping2D', cropping(2)],
  ['Cropping3D', cropping(3)],
  ['UpSampling1D', upSampling(1)],
  ['UpSampling2D', upSampling(2)],
  ['UpSampling3D', upSampling(3)],
  ['MaxPooling1D', pooling(1, 'max')],
  ['MaxPooling2D', pooling(2, 'max')],
  ['MaxPooling3D', pooling(3, 'max')],
  ['AveragePooling1D', pooling(1, 'avg')],
  ['AveragePooling2D', pooling(2, 'avg')],
  ['AveragePooling3D', pooling(3, 'avg')],
  ['GlobalMaxPooling1D', globalPooling(1, 'amax')],
  ['GlobalMaxPooling2D', globalPooling(2, 'amax')],
  ['GlobalMaxPooling3D', globalPooling(3, 'amax')],
  ['GlobalAveragePooling1D', globalPooling(1, 'mean')],
  ['GlobalAveragePooling2D', globalPooling(2, 'mean')],
  ['GlobalAveragePooling3D', globalPooling(3, 'mean')],
  ['LaurelResidual', laurel],
  ...SEQUENCE_EMITTERS,
  ...NORMALIZATION_EMITTERS,
]);

/** The code of one layer, from its (topology) config and the input shapes of its first call. */
export function layerCode(className: string, config: Record<string, unknown>, inputs: (Shape | null)[], ctx: EmitContext): LayerCode {
  const emit = EMITTERS.get(className);
  if (!emit) throw new UnsupportedLayer(`${className} has no PyTorch export`);
  return emit(new ConfigReader(className, config), inputs, { ...ctx, layer: layerCode });
}
