import type { Shape } from '../ir';
import { ShapeError } from '../layerSpec';
import type { LayerSpec } from '../layerSpec';
import { fromLayerConfig } from './laurelConfig';
import { instanceCost } from './variants';

const same = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === null || b[i] === null || d === b[i]);

/** Shapes and weights of a LaurelResidual layer: every input (branch, shortcut, PA history) has the shortcut's shape. */
export const laurelSpec: LayerSpec = {
  outputShapes(config, inputs) {
    const { branchIndex, shortcutIndex } = fromLayerConfig(config);
    const shortcut = inputs[shortcutIndex];
    if (inputs.length < 2 || !shortcut || !inputs[branchIndex]) {
      throw new ShapeError(`LaurelResidual: expected the branch (input ${branchIndex}) and the shortcut (input ${shortcutIndex}), got ${inputs.length} input(s)`);
    }
    inputs.forEach((s, i) => {
      if (!same(s, shortcut)) throw new ShapeError(`LaurelResidual: input ${i} has shape ${JSON.stringify(s)}, expected the shortcut's ${JSON.stringify(shortcut)}`);
    });
    return [shortcut.map((d, i) => d ?? inputs.find((s) => s[i] !== null)?.[i] ?? null)];
  },
  params(config, inputs) {
    const { choice, shortcutIndex } = fromLayerConfig(config);
    const D = inputs[shortcutIndex]?.at(-1);
    if (typeof D !== 'number') throw new ShapeError('LaurelResidual: the width (last dimension) of the shortcut is unknown');
    // PA makes a term for x_i and each earlier activation it is given (inputs beyond f(x) and x).
    return { trainable: instanceCost(choice, D, inputs.length - 1).params, nonTrainable: 0 };
  },
};
