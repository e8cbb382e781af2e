import type { Shape } from '../ir';
import type { LayerSpec } from '../layerSpec';
import type { ConfigReader } from './configValues';
import { identitySpec, spec } from './shapes';

const isDims = (v: unknown): v is Shape => Array.isArray(v) && v.every((d) => d === null || (typeof d === 'number' && Number.isInteger(d) && d >= 0));

/**
 * InputLayer declares its shape: batch_input_shape (Keras 1/2, tfjs), batch_shape (Keras 3), or
 * input_shape / shape without the batch (plus an optional batch_size).
 */
function declared(c: ConfigReader): Shape {
  for (const key of ['batch_input_shape', 'batch_shape']) {
    if (c.has(key)) {
      const v = c.raw(key);
      if (!isDims(v) || v.length < 1) c.fail(key, 'a list of non-negative integers or null, batch first');
      return v.slice();
    }
  }
  for (const key of ['input_shape', 'shape']) {
    if (c.has(key)) {
      const v = c.raw(key);
      if (!isDims(v)) c.fail(key, 'a list of non-negative integers or null, batch excluded');
      return [c.optInt('batch_size'), ...v];
    }
  }
  return c.fail('batch_input_shape', 'a declared input shape (batch_input_shape, batch_shape, input_shape or shape)');
}

/** Keras requires the rate; tf.nn.dropout's range: a rate of 1 would scale the kept values by 1/0. */
const rate = (c: ConfigReader): void => void c.num('rate', undefined, { min: 0, below: 1 });

/** Keras Dropout: noise_shape is null or one entry per input axis, each null or a positive integer. */
function dropout(c: ConfigReader): void {
  rate(c);
  const ns = c.raw('noise_shape');
  if (ns !== undefined && ns !== null && !(Array.isArray(ns) && ns.every((d) => d === null || (Number.isInteger(d) && (d as number) >= 1)))) {
    c.fail('noise_shape', 'null or a list of positive integers or nulls');
  }
}

/** A number or a list of numbers (Rescaling's scale and offset broadcast over the last axis). */
function numbers(c: ConfigReader, key: string): void {
  const v = c.raw(key);
  if (!Array.isArray(v)) c.num(key, 0);
  else if (!v.every((x) => typeof x === 'number' && Number.isFinite(x))) c.fail(key, 'a finite number or a list of finite numbers');
}

export const coreSpecs: Record<string, LayerSpec> = {
  // An input layer is never called on tensors: whatever inputs a reader passes are ignored.
  InputLayer: spec('InputLayer', (c) => [declared(c)]),
  Dropout: identitySpec('Dropout', dropout),
  SpatialDropout1D: identitySpec('SpatialDropout1D', rate),
  SpatialDropout2D: identitySpec('SpatialDropout2D', rate),
  SpatialDropout3D: identitySpec('SpatialDropout3D', rate),
  GaussianNoise: identitySpec('GaussianNoise', (c) => void c.num('stddev', undefined, { min: 0 })),
  GaussianDropout: identitySpec('GaussianDropout', rate),
  AlphaDropout: identitySpec('AlphaDropout', rate),
  ActivityRegularization: identitySpec('ActivityRegularization', (c) => {
    c.num('l1', 0, { min: 0 });
    c.num('l2', 0, { min: 0 });
  }),
  Masking: identitySpec('Masking', (c) => void c.num('mask_value', 0)),
  Identity: identitySpec('Identity'),
  Rescaling: identitySpec('Rescaling', (c) => {
    numbers(c, 'scale');
    numbers(c, 'offset');
  }),
};
