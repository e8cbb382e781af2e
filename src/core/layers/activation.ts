import { ShapeError } from '../layerSpec';
import type { LayerSpec } from '../layerSpec';
import { identitySpec, known, product, single, spec, trainable } from './shapes';

/**
 * PReLU learns one alpha per element of the non-batch shape, except along `shared_axes` (1-based,
 * batch excluded as in Keras: param_shape[i - 1] = 1).
 */
const prelu = spec(
  'PReLU',
  (_c, inputs) => [single('PReLU', inputs, 2).slice()],
  (c, inputs) => {
    const s = inputs[0]!;
    const shared = c.axes('shared_axes', []) ?? [];
    for (const a of shared) {
      if (a < 1 || a >= s.length) throw new ShapeError(`PReLU: shared_axes ${JSON.stringify(c.raw('shared_axes'))} has axis ${a}; expected axes 1 to ${s.length - 1} for input of rank ${s.length}`);
    }
    const dims = s.slice(1).map((_d, i) => (shared.includes(i + 1) ? 1 : known('PReLU', s, i + 1, 'non-shared dimension')));
    return trainable(product(dims));
  },
);

export const activationSpecs: Record<string, LayerSpec> = {
  Activation: identitySpec('Activation'),
  // Keras' own checks: max_value, negative_slope >= 0 (ReLU), alpha / negative_slope >= 0 (LeakyReLU), theta >= 0.
  ReLU: identitySpec('ReLU', (c) => {
    c.num('max_value', 0, { min: 0 });
    c.num('negative_slope', 0, { min: 0 });
    c.num('threshold', 0);
  }),
  LeakyReLU: identitySpec('LeakyReLU', (c) => {
    c.num('alpha', 0.3, { min: 0 });
    c.num('negative_slope', 0.3, { min: 0 });
  }),
  ELU: identitySpec('ELU', (c) => void c.num('alpha', 1)),
  ThresholdedReLU: identitySpec('ThresholdedReLU', (c) => void c.num('theta', 1, { min: 0 })),
  Softmax: identitySpec('Softmax'),
  PReLU: prelu,
};
