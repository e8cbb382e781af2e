import type { Shape } from '../ir';
import { ShapeError } from '../layerSpec';
import type { LayerSpec } from '../layerSpec';
import type { ConfigReader, NumRange } from './configValues';
import { known, product, resolveAxis, single, spec } from './shapes';

/** Sizes of the axes a per-feature weight spans (all must be known), e.g. the channels for BatchNormalization. */
function featureSize(cls: string, c: ConfigReader, s: Shape, key: string, dflt: number[] | null): number {
  const axes = c.axes(key, dflt) ?? [];
  // One feature axis (the usual case): no lists or set made per layer.
  if (axes.length === 1) {
    const a = resolveAxis(cls, axes[0]!, s.length, key);
    if (a === 0 && cls !== 'Normalization') throw new ShapeError(`${cls}: ${key} ${JSON.stringify(c.raw(key))} includes the batch axis; expected feature axes only`);
    return known(cls, s, a, `normalized axis ${a}`);
  }
  const resolved = axes.map((a) => resolveAxis(cls, a, s.length, key));
  if (new Set(resolved).size !== resolved.length) c.fail(key, 'distinct axes');
  // An empty list normalises nothing (Keras and TF.js refuse it); only Normalization reads none as 'all'.
  if (resolved.length === 0 && cls !== 'Normalization') c.fail(key, 'at least one axis');
  if (resolved.includes(0) && cls !== 'Normalization') throw new ShapeError(`${cls}: ${key} ${JSON.stringify(c.raw(key))} includes the batch axis; expected feature axes only`);
  return product(resolved.map((a) => known(cls, s, a, `normalized axis ${a}`)));
}

const sameShape = (cls: string) => (_c: ConfigReader, inputs: Shape[]) => [single(cls, inputs, 2).slice()];

const EPSILON: NumRange = { above: 0 };
const MOMENTUM: NumRange = { min: 0, max: 1 };

/** epsilon (> 0: it keeps 1/sqrt(var + eps) finite) and, for BatchNormalization, momentum in [0, 1]. */
const withSettings = (cls: string, momentum = false) => {
  const same = sameShape(cls);
  return (c: ConfigReader, inputs: Shape[]): Shape[] => {
    c.num('epsilon', 1e-3, EPSILON);
    if (momentum) c.num('momentum', 0.99, MOMENTUM);
    return same(c, inputs);
  };
};

/** gamma and beta are trainable; the moving mean and variance are not (tfjs and Keras agree). */
const batchNorm = spec('BatchNormalization', withSettings('BatchNormalization', true), (c, inputs) => {
  const n = featureSize('BatchNormalization', c, inputs[0]!, 'axis', [-1]);
  return { trainable: (c.bool('scale', true) ? n : 0) + (c.bool('center', true) ? n : 0), nonTrainable: 2 * n };
});

/** Keras 3 rms_scaling keeps gamma only, whatever center says. */
const layerNorm = spec('LayerNormalization', withSettings('LayerNormalization'), (c, inputs) => {
  const n = featureSize('LayerNormalization', c, inputs[0]!, 'axis', [-1]);
  const rms = c.bool('rms_scaling', false);
  return { trainable: (c.bool('scale', true) || rms ? n : 0) + (c.bool('center', true) && !rms ? n : 0), nonTrainable: 0 };
});

/** GroupNormalization: gamma and beta over the channel axis, which the groups must divide. */
const groupNorm = spec('GroupNormalization', withSettings('GroupNormalization'), (c, inputs) => {
  const s = inputs[0]!;
  const axis = resolveAxis('GroupNormalization', c.int('axis', -1, -Infinity), s.length);
  const ch = known('GroupNormalization', s, axis, 'channel dimension');
  const groups = c.int('groups', 32, -1);
  if (groups !== -1 && (groups < 1 || ch % groups !== 0)) throw new ShapeError(`GroupNormalization: ${ch} channels with groups=${groups}; expected channels divisible by groups`);
  return { trainable: (c.bool('scale', true) ? ch : 0) + (c.bool('center', true) ? ch : 0), nonTrainable: 0 };
});

/**
 * Keras preprocessing Normalization: without `mean`/`variance` in the config, build() adds non-trainable
 * mean and variance over the kept axes plus a scalar `count` (Keras counts it: 2n + 1). With them, the
 * statistics are constants, not weights.
 */
const normalization = spec('Normalization', sameShape('Normalization'), (c, inputs) => {
  if (c.has('mean') && c.has('variance')) return { trainable: 0, nonTrainable: 0 };
  const n = featureSize('Normalization', c, inputs[0]!, 'axis', [-1]);
  return { trainable: 0, nonTrainable: 2 * n + 1 };
});

export const normalizationSpecs: Record<string, LayerSpec> = {
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  GroupNormalization: groupNorm,
  Normalization: normalization,
  UnitNormalization: spec('UnitNormalization', sameShape('UnitNormalization')),
};
