import type { LayerSpec } from '../layerSpec';
import { activationSpecs } from './activation';
import { attentionSpecs } from './attention';
import { convolutionSpecs } from './convolution';
import { coreSpecs } from './core';
import { denseSpecs } from './dense';
import { mergeSpecs } from './merge';
import { normalizationSpecs } from './normalization';
import { poolingSpecs } from './pooling';
import { recurrentSpecs } from './recurrent';
import { reshapingSpecs } from './reshaping';
import { wrapperSpecs } from './wrappers';

const specs = new Map<string, LayerSpec>();

/** Layer specs keyed by canonical Keras 2 / tfjs class name (Lambda and custom layers are not knowable). */
export const layerSpecs: ReadonlyMap<string, LayerSpec> = specs;

export function specFor(className: string): LayerSpec | undefined {
  return specs.get(className);
}

for (const family of [
  coreSpecs,
  activationSpecs,
  convolutionSpecs,
  denseSpecs,
  normalizationSpecs,
  recurrentSpecs,
  attentionSpecs,
  poolingSpecs,
  mergeSpecs,
  reshapingSpecs,
  // Wrappers look their inner layer up in this same catalog.
  wrapperSpecs(specFor),
]) {
  for (const [name, s] of Object.entries(family)) specs.set(name, s);
}
