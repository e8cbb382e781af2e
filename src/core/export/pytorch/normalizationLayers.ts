/**
 * LayerNormalization (Keras 3 rms_scaling too), GroupNormalization, UnitNormalization, the preprocessing
 * Normalization (adapted on the training data when the file gives no statistics), and the image preprocessing
 * layers Resizing and CenterCrop, AlphaDropout, as PyTorch (keras_layers.py).
 */
import { channelsLast, dim, elementwise, fn, inputLayout, num, resolve, single, tuple, UnsupportedLayer } from './emit';
import type { Emitter, WeightEntry } from './emit';
import { py, pyCall, pyFloat } from './python';

/** The sorted, non-negative axes of a config's `axis` (an int or a list). */
function axesOf(c: Parameters<Emitter>[0], rank: number, dflt: number[]): number[] {
  return [...new Set((c.axes('axis', dflt) ?? dflt).map((a) => resolve(a, rank)))].sort((a, b) => a - b);
}

const layerNorm: Emitter = (c, inputs) => {
  const input = single(inputs);
  const rms = c.bool('rms_scaling', false);
  const axes = axesOf(c, input.length, [-1]);
  const shape = axes.map((a) => dim(input, a, 'normalised size'));
  const center = c.bool('center', true) && !rms;
  const scale = c.bool('scale', true) || rms;
  const module = pyCall('LayerNormTF', [shape.length === 1 ? String(shape[0]) : tuple(shape), tuple(axes)], {
    eps: pyFloat(num(c, 'epsilon', 1e-3)),
    center: center ? undefined : 'False',
    scale: scale ? undefined : 'False',
    rms_scaling: rms ? 'True' : undefined,
  });
  const weights: WeightEntry[] = [];
  if (scale) weights.push(['gamma', 'weight', 'copy']);
  if (center) weights.push(['beta', 'bias', 'copy']);
  return { module, call: (self, [x]) => `${self}(${x})`, weights };
};

const groupNorm: Emitter = (c, inputs) => {
  const input = single(inputs);
  const axis = resolve(c.int('axis', -1, -Infinity), input.length);
  const channels = dim(input, axis, 'channel count');
  const groups = c.int('groups', 32, -1);
  if (groups !== -1 && channels % groups !== 0) throw new UnsupportedLayer(`${channels} channels do not split into ${groups} groups`);
  const center = c.bool('center', true);
  const scale = c.bool('scale', true);
  const module = pyCall('GroupNormTF', [String(channels), String(groups)], {
    axis: String(axis),
    eps: pyFloat(num(c, 'epsilon', 1e-3)),
    center: center ? undefined : 'False',
    scale: scale ? undefined : 'False',
  });
  const weights: WeightEntry[] = [];
  if (scale) weights.push(['gamma', 'weight', 'copy']);
  if (center) weights.push(['beta', 'bias', 'copy']);
  return { module, call: (self, [x]) => `${self}(${x})`, weights };
};

/** A number or a list of numbers from the config, for mean / variance. */
function stats(c: Parameters<Emitter>[0], key: string): number | number[] | undefined {
  const v = c.raw(key);
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return v;
  const flat = Array.isArray(v) ? (v as unknown[]).flat(8) : null;
  if (flat && flat.every((x) => typeof x === 'number')) return flat as number[];
  throw new UnsupportedLayer(`${key} ${JSON.stringify(v).slice(0, 80)} is not a number or a list of numbers`);
}

const normalization: Emitter = (c, inputs) => {
  const input = single(inputs);
  const axes = axesOf(c, input.length, [-1]).filter((a) => a !== 0);
  const shape = axes.map((a) => dim(input, a, 'normalised size'));
  const mean = stats(c, 'mean');
  const variance = stats(c, 'variance');
  if ((mean === undefined) !== (variance === undefined)) throw new UnsupportedLayer('the config gives only one of mean and variance');
  const size = shape.reduce((a, b) => a * b, 1);
  for (const [k, v] of [['mean', mean], ['variance', variance]] as const) {
    if (Array.isArray(v) && v.length !== size && v.length !== 1) throw new UnsupportedLayer(`${k} has ${v.length} values for ${size} features`);
  }
  const asTensor = (v: number | number[]): string => (Array.isArray(v) ? `torch.tensor(${py(v.length === 1 ? v[0] : v)}).reshape(${shape.length ? tuple(shape) : '()'})` : pyFloat(v));
  const module = pyCall('NormalizationTF', [shape.length ? tuple(shape) : '()', tuple(axes)], {
    mean: mean === undefined ? undefined : asTensor(Array.isArray(mean) && mean.length === 1 ? mean[0]! : mean),
    variance: variance === undefined ? undefined : asTensor(Array.isArray(variance) && variance.length === 1 ? variance[0]! : variance),
    invert: c.bool('invert', false) ? 'True' : undefined,
  });
  // Without statistics in the config, Keras has mean, variance and count weights; a file's weights load into them.
  const weights: WeightEntry[] = mean === undefined ? [['mean', 'adapt_mean', 'copy', null], ['variance', 'adapt_variance', 'copy', null], ['count', 'adapt_count', 'copy', null]] : [];
  return { module, call: (self, [x]) => `${self}(${x})`, weights };
};

const unitNorm: Emitter = (c, inputs) => {
  const input = single(inputs);
  const axes = axesOf(c, input.length, [-1]);
  return fn((x) => `unit_norm(${x}, ${tuple(axes)})`);
};

const resizing: Emitter = (c) => {
  if (c.bool('crop_to_aspect_ratio', false)) throw new UnsupportedLayer('crop_to_aspect_ratio=true is not supported');
  if (c.bool('pad_to_aspect_ratio', false)) throw new UnsupportedLayer('pad_to_aspect_ratio=true is not supported');
  const interp = c.oneOf('interpolation', ['bilinear', 'nearest', 'bicubic', 'area', 'lanczos3', 'lanczos5', 'gaussian', 'mitchellcubic', 'lanczos'], 'bilinear');
  // TF's bicubic uses a = -0.5, torch's -0.75; area and the others have no torch form with TF's sampling.
  if (interp !== 'bilinear' && interp !== 'nearest') throw new UnsupportedLayer(`interpolation '${interp}' (bilinear and nearest are supported)`);
  const mode = interp === 'nearest' ? 'nearest-exact' : 'bilinear';
  // F.interpolate reads channels-first images: a channels_last file's are held so.
  const held = channelsLast(c) ? 'cf' : 'file';
  return { ...fn((x) => pyCall('tf_resize', [x, String(c.int('height')), String(c.int('width')), py(mode)])), layout: { input: held, output: held } };
};

const centerCrop: Emitter = (c, inputs, ctx) => {
  const input = single(inputs);
  const last = channelsLast(c);
  const [h, w] = [c.int('height'), c.int('width')];
  const [hIn, wIn] = last ? [input[1], input[2]] : [input[2], input[3]];
  if (typeof hIn !== 'number' || typeof wIn !== 'number' || hIn < h || wIn < w) {
    throw new UnsupportedLayer(`a ${hIn ?? '?'}x${wIn ?? '?'} input cropped to ${h}x${w}: only crops of known, larger images are supported (Keras resizes smaller ones)`);
  }
  // The height axis as the tensor is held: 1 in a channels-last file's own layout, else 2.
  const hAxis = last && inputLayout(ctx) === 'file' ? 1 : 2;
  return elementwise((x) => pyCall('center_crop', [x, String(h), String(w)], { h_axis: hAxis === 1 ? undefined : '2' }), ctx);
};

export const NORMALIZATION_EMITTERS: [string, Emitter][] = [
  ['LayerNormalization', layerNorm],
  ['GroupNormalization', groupNorm],
  ['Normalization', normalization],
  ['UnitNormalization', unitNorm],
  ['Resizing', resizing],
  ['CenterCrop', centerCrop],
  ['AlphaDropout', (c, _i, ctx) => elementwise((x) => `F.alpha_dropout(${x}, ${pyFloat(num(c, 'rate', 0))}, self.training)`, ctx)],
];
