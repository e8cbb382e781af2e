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
  ReLU: identitySpec('ReLU'),
  LeakyReLU: identitySpec('LeakyReLU'),
  ELU: identitySpec('ELU'),
  ThresholdedReLU: identitySpec('ThresholdedReLU'),
  Softmax: identitySpec('Softmax'),
  PReLU: prelu,
};
