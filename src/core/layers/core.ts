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

export const coreSpecs: Record<string, LayerSpec> = {
  // An input layer is never called on tensors: whatever inputs a reader passes are ignored.
  InputLayer: spec('InputLayer', (c) => [declared(c)]),
  Dropout: identitySpec('Dropout'),
  SpatialDropout1D: identitySpec('SpatialDropout1D'),
  SpatialDropout2D: identitySpec('SpatialDropout2D'),
  SpatialDropout3D: identitySpec('SpatialDropout3D'),
  GaussianNoise: identitySpec('GaussianNoise'),
  GaussianDropout: identitySpec('GaussianDropout'),
  AlphaDropout: identitySpec('AlphaDropout'),
  ActivityRegularization: identitySpec('ActivityRegularization'),
  Masking: identitySpec('Masking'),
  Identity: identitySpec('Identity'),
  Rescaling: identitySpec('Rescaling'),
};
