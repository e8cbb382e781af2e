import type { CallArgs, Shape } from './ir';

/** Weights a layer creates, split as tfjs splits `trainableWeights` / `nonTrainableWeights`. */
export interface ParamCount {
  trainable: number;
  nonTrainable: number;
}

/**
 * What the analysis needs to know about one layer class. Configs are canonical snake_case Keras 2
 * configs (readers translate Keras 1 and Keras 3 spellings). Input shapes include the batch dimension.
 * Both functions throw {@link ShapeError} when the inputs do not fit the layer.
 */
export interface LayerSpec {
  /** `call`: the keywords the file passed the inputs by, for the layers whose meaning depends on them. */
  outputShapes(config: Record<string, unknown>, inputs: Shape[], call?: CallArgs): Shape[];
  /** Weight count for these input shapes, assuming the layer is trainable (the caller applies `trainable: false`). */
  params(config: Record<string, unknown>, inputs: Shape[], call?: CallArgs): ParamCount;
  /** Both at once, checking the config and inputs once (the analysis asks for both of every layer). */
  shapesAndParams?(config: Record<string, unknown>, inputs: Shape[], call?: CallArgs): { shapes: Shape[]; params: ParamCount };
}

/** The inputs do not fit the layer; the message says what was given and what was expected. */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}
