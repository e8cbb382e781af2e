/**
 * What each Keras layer class becomes in PyTorch: the submodule (when it has weights or training state), the
 * forward() expression, and where its TF.js weights go. Semantics follow TF.js / Keras on the file's own layout.
 */
import { fromLayerConfig } from '../../laurel/laurelConfig';
import { hasLr, hasPa, hasRw, paModeOf } from '../../laurel/variants';
import { ConfigReader } from '../../layers/configValues';
import type { Shape } from '../../ir';
import { activation, allOnes, channelsLast, dim, fn, num, resolve, single, torchMomentum, tuple, UnsupportedLayer, withActivation } from './emit';
import type { EmitContext, Emitter, LayerCode, Layout, WeightEntry } from './emit';
import { NORMALIZATION_EMITTERS } from './normalizationLayers';
import { py, pyCall, pyFloat } from './python';
import { SEQUENCE_EMITTERS } from './sequenceLayers';

export { activation, UnsupportedLayer } from './emit';
export type { EmitContext, InitSource, LayerCode, Layout, WeightEntry } from './emit';

// ---------------------------------------------------------------------------------------------------------
// Convolutions

type ConvKind = 'conv' | 'depthwise' | 'separable' | 'transpose';

function conv(n: 1 | 2 | 3, kind: ConvKind): Emitter {
  return (c, inputs, ctx) => {
    const input = single(inputs);
    const last = channelsLast(c);
    const cin = dim(input, last ? -1 : 1, 'channel count');
    const kernel = c.ints('kernel_size', n);
    const strides = c.ints('strides', n, 1);
    const dilation = c.ints('dilation_rate', n, 1);
    const padding = c.oneOf('padding', n === 1 && kind !== 'transpose' ? ['valid', 'same', 'causal'] : ['valid', 'same'], 'valid');
    const bias = c.bool('use_bias', true);
    const common = {
      stride: allOnes(strides) ? undefined : tuple(strides),
      dilation: allOnes(dilation) ? undefined : tuple(dilation),
    };
    const tail = {
      bias: bias ? undefined : 'False',
      tf_padding: padding === 'valid' ? undefined : py(padding),
      channels_last: last ? undefined : 'False',
    };
    const biasWeight: [string, string, Layout][] = bias ? [['bias', 'bias', 'copy']] : [];
    const act = withActivation(c, ctx);
    const call = (self: string, [x]: string[]): string => act(`${self}(${x})`);
    const cls = `Conv${n}dTF`;
    switch (kind) {
      case 'conv': {
        const groups = c.int('groups', 1);
        const module = pyCall(cls, [String(cin), String(c.int('filters')), tuple(kernel)], { ...common, groups: groups > 1 ? String(groups) : undefined, ...tail });
        return { module, call, weights: [['kernel', 'weight', 'conv'], ...biasWeight] };
      }
      case 'depthwise': {
        const out = cin * c.int('depth_multiplier', 1);
        const module = pyCall(cls, [String(cin), String(out), tuple(kernel)], { ...common, groups: String(cin), ...tail });
        return { module, call, weights: [['depthwise_kernel', 'weight', 'depthwise'], ...biasWeight] };
      }
      case 'separable': {
        if (n === 3) throw new UnsupportedLayer('3-D separable convolutions are not a Keras layer');
        const m = c.int('depth_multiplier', 1);
        const module = pyCall('SeparableConvTF', [String(n), String(cin), String(c.int('filters')), tuple(kernel)], {
          depth_multiplier: m === 1 ? undefined : String(m),
          ...common,
          ...tail,
        });
        const weights: [string, string, Layout][] = [
          ['depthwise_kernel', 'depthwise.weight', 'depthwise'],
          ['pointwise_kernel', 'pointwise.weight', 'conv'],
        ];
        if (bias) weights.push(['bias', 'pointwise.bias', 'copy']);
        return { module, call, weights };
      }
      case 'transpose': {
        const op = c.has('output_padding') ? c.ints('output_padding', n, undefined, 0) : null;
        const module = pyCall('ConvTransposeTF', [String(n), String(cin), String(c.int('filters')), tuple(kernel), tuple(strides), tuple(dilation)], {
          ...tail,
          output_padding: op ? tuple(op) : undefined,
        });
        return { module, call, weights: [['kernel', 'weight', 'conv'], ...biasWeight] };
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

const batchNorm: Emitter = (c, inputs) => {
  const input = single(inputs);
  const axes = c.axes('axis', [-1]) ?? [-1];
  if (axes.length !== 1) throw new UnsupportedLayer(`it normalises over ${axes.length} axes; one is supported`);
  if (c.bool('renorm', false)) throw new UnsupportedLayer('batch renormalisation (renorm=true) is not supported');
  const axis = resolve(axes[0]!, input.length);
  const center = c.bool('center', true);
  const scale = c.bool('scale', true);
  const eps = typeof c.raw('epsilon') === 'number' ? (c.raw('epsilon') as number) : 1e-3;
  const momentum = typeof c.raw('momentum') === 'number' ? (c.raw('momentum') as number) : 0.99;
  const module = pyCall('BatchNormTF', [String(dim(input, axis, 'feature count'))], {
    axis: String(axis),
    eps: pyFloat(eps),
    momentum: pyFloat(torchMomentum(momentum)),
    center: center ? undefined : 'False',
    scale: scale ? undefined : 'False',
  });
  const weights: [string, string, Layout][] = [];
  if (scale) weights.push(['gamma', 'weight', 'copy']);
  if (center) weights.push(['beta', 'bias', 'copy']);
  weights.push(['moving_mean', 'running_mean', 'copy'], ['moving_variance', 'running_var', 'copy']);
  return { module, call: (self, [x]) => `${self}(${x})`, weights };
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

const relu: Emitter = (c) => {
  const max = c.raw('max_value');
  const slope = num(c, 'negative_slope', 0);
  const threshold = num(c, 'threshold', 0);
  if (typeof max !== 'number' && max !== null && max !== undefined) throw new UnsupportedLayer(`max_value ${JSON.stringify(max)} is not a number`);
  if (slope === 0 && threshold === 0) {
    if (typeof max !== 'number') return fn((x) => `F.relu(${x})`);
    return fn((x) => (max === 6 ? `F.relu6(${x})` : `torch.clamp(F.relu(${x}), max=${pyFloat(max)})`));
  }
  return fn((x) => pyCall('tf_relu', [x], { negative_slope: pyFloat(slope), max_value: typeof max === 'number' ? pyFloat(max) : undefined, threshold: pyFloat(threshold) }));
};

const softmaxLayer: Emitter = (c) => {
  const axes = c.axes('axis', [-1]) ?? [-1];
  if (axes.length !== 1) throw new UnsupportedLayer('softmax over several axes is not supported');
  return fn((x) => `torch.softmax(${x}, dim=${axes[0]})`);
};

function dropoutCode(c: ConfigReader, noiseShape: (number | null)[] | null): LayerCode {
  const rate = num(c, 'rate', 0);
  if (!noiseShape) return { module: pyCall('nn.Dropout', [pyFloat(rate)]), call: (self, [x]) => `${self}(${x})` };
  return fn((x) => `tf_dropout(${x}, ${pyFloat(rate)}, ${py(noiseShape)}, self.training)`);
}

const dropout: Emitter = (c) => {
  const ns = c.raw('noise_shape');
  if (ns !== null && ns !== undefined && !(Array.isArray(ns) && ns.every((d) => d === null || typeof d === 'number'))) throw new UnsupportedLayer(`noise_shape ${JSON.stringify(ns)}`);
  return dropoutCode(c, (ns as (number | null)[] | null | undefined) ?? null);
};

const spatialDropout =
  (n: number): Emitter =>
  (c) => {
    // One mask value per (example, channel), shared over the spatial axes.
    const ones = Array.from({ length: n }, () => 1);
    return dropoutCode(c, channelsLast(c) ? [null, ...ones, null] : [null, null, ...ones]);
  };

const rescaling: Emitter = (c) => {
  const v = (key: string, dflt: number): string => {
    const x = c.raw(key) ?? dflt;
    if (typeof x === 'number') return pyFloat(x);
    if (Array.isArray(x) && x.every((e) => typeof e === 'number')) return `torch.tensor(${py(x)})`;
    throw new UnsupportedLayer(`${key} ${JSON.stringify(x)}`);
  };
  const scale = v('scale', 1);
  const offset = v('offset', 0);
  return fn((x) => (offset === '0.0' ? `${x} * ${scale}` : `${x} * ${scale} + ${offset}`));
};

// ---------------------------------------------------------------------------------------------------------
// Merges, reshaping, pooling

const merge =
  (f: (xs: string[]) => string): Emitter =>
  () => ({ call: (_self, xs) => f(xs) });

const chain = (op: string, xs: string[]): string => xs.slice(1).reduce((acc, x) => `${op}(${acc}, ${x})`, xs[0]!);

/** Spatial axes of an (n+2)-D tensor in the layer's data format. */
const spatialAxes = (c: ConfigReader, n: number): number[] => Array.from({ length: n }, (_, i) => (channelsLast(c) ? 1 + i : 2 + i));

const zeroPadding =
  (n: number): Emitter =>
  (c) => {
    const pads = c.pairs('padding', n, 1);
    const axes = spatialAxes(c, n);
    // F.pad lists (before, after) from the last axis backwards.
    const rank = n + 2;
    const flat: number[] = [];
    for (let a = rank - 1; a >= 1; a--) {
      const i = axes.indexOf(a);
      flat.push(...(i >= 0 ? pads[i]! : [0, 0]));
    }
    while (flat.length && flat[flat.length - 1] === 0 && flat[flat.length - 2] === 0) flat.splice(-2);
    return fn((x) => `F.pad(${x}, ${tuple(flat)})`);
  };

const cropping =
  (n: number): Emitter =>
  (c) => {
    const crops = c.pairs('cropping', n, 0);
    const axes = spatialAxes(c, n);
    const last = Math.max(...axes);
    const parts = Array.from({ length: last + 1 }, (_, a) => {
      const i = axes.indexOf(a);
      if (i < 0) return ':';
      const [b, e] = crops[i]!;
      return `${b || ''}:${e ? -e : ''}`;
    });
    return fn((x) => `${x}[${parts.join(', ')}]`);
  };

const upSampling =
  (n: number): Emitter =>
  (c) => {
    if (n > 1 && c.oneOf('interpolation', ['nearest', 'bilinear', 'bicubic', 'area', 'lanczos3', 'lanczos5', 'gaussian', 'mitchellcubic'], 'nearest') !== 'nearest') {
      throw new UnsupportedLayer(`interpolation '${String(c.raw('interpolation'))}' (only nearest is exported)`);
    }
    const sizes = n === 1 ? [c.int('size', 2)] : c.ints('size', n, 2);
    const axes = spatialAxes(c, n);
    return fn((x) => axes.reduce((acc, a, i) => (sizes[i] === 1 ? acc : `${acc}.repeat_interleave(${sizes[i]}, dim=${a})`), x));
  };

const pooling =
  (n: number, kind: 'max' | 'avg'): Emitter =>
  (c) => {
    const size = c.ints('pool_size', n, 2);
    const strides = c.has('strides') ? c.ints('strides', n) : size;
    const padding = c.oneOf('padding', ['valid', 'same'], 'valid');
    const cl = channelsLast(c) ? undefined : 'False';
    return fn((x) => pyCall('tf_pool', [x, py(kind), tuple(size), tuple(strides), py(padding)], { channels_last: cl }));
  };

const globalPooling =
  (n: number, op: 'mean' | 'amax'): Emitter =>
  (c) => {
    const axes = spatialAxes(c, n);
    const keep = c.bool('keepdims', false);
    return fn((x) => `${x}.${op}(dim=${tuple(axes)}${keep ? ', keepdim=True' : ''})`);
  };

// ---------------------------------------------------------------------------------------------------------
// LAuReL

const laurel: Emitter = (c, inputs) => {
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
  const module = pyCall('LaurelResidual', [String(width), py(v)], {
    rank: lowRank ? String(o.rank) : undefined,
    k: hasPa(v) ? String(o.k) : undefined,
    rw_norm: hasRw(v) ? py(o.rwNorm) : undefined,
    lr_init: lowRank ? py(o.lrInit) : undefined,
    pa_mode: hasPa(v) && v !== 'rw+lr+pa' ? py(o.paMode) : undefined,
    branch_index: branchIndex === 0 && shortcutIndex === 1 ? undefined : String(branchIndex),
    shortcut_index: branchIndex === 0 && shortcutIndex === 1 ? undefined : String(shortcutIndex),
    terms: hasPa(v) && terms < o.k ? String(terms) : undefined,
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
  return { module, call: (self, xs) => `${self}([${xs.join(', ')}])`, weights: names.map((n): WeightEntry => [n, n, 'copy', null]) };
};

// ---------------------------------------------------------------------------------------------------------

const identity: Emitter = () => fn((x) => x);

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
  ['Activation', (c, _i, ctx) => fn((x) => activation(c.raw('activation'), x, ctx))],
  ['ReLU', relu],
  ['LeakyReLU', (c) => fn((x) => `F.leaky_relu(${x}, ${pyFloat(num(c, 'negative_slope', num(c, 'alpha', 0.3)))})`)],
  ['ELU', (c) => fn((x) => (num(c, 'alpha', 1) === 1 ? `F.elu(${x})` : `F.elu(${x}, alpha=${pyFloat(num(c, 'alpha', 1))})`))],
  ['ThresholdedReLU', (c) => fn((x) => `torch.where(${x} > ${pyFloat(num(c, 'theta', 1))}, ${x}, torch.zeros_like(${x}))`)],
  ['Softmax', softmaxLayer],
  ['Dropout', dropout],
  ['SpatialDropout1D', spatialDropout(1)],
  ['SpatialDropout2D', spatialDropout(2)],
  ['SpatialDropout3D', spatialDropout(3)],
  ['GaussianNoise', (c) => fn((x) => `(${x} + torch.randn_like(${x}) * ${pyFloat(num(c, 'stddev', 0))} if self.training else ${x})`)],
  [
    'GaussianDropout',
    (c) => {
      const rate = num(c, 'rate', 0);
      return fn((x) => `(${x} * (1 + torch.randn_like(${x}) * ${pyFloat(Math.sqrt(rate / (1 - rate)))}) if self.training else ${x})`);
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
  ['Concatenate', (c) => ({ call: (_s, xs) => `torch.cat([${xs.join(', ')}], dim=${c.int('axis', -1, -Infinity)})` })],
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
