// A dataset's x: one tensor, or one per model input (in the model's order) for a model with several. tfjs's
// fit, evaluate and apply take either; these helpers slice, count and free both alike.
import * as tf from '@tensorflow/tfjs';

export type Inputs = tf.Tensor | tf.Tensor[];

export const inputList = (x: Inputs): tf.Tensor[] => (Array.isArray(x) ? x : [x]);

/** The samples in x (its first axis; every input has the same count). */
export const sampleCount = (x: Inputs): number => inputList(x)[0]?.shape[0] ?? 0;

/** Samples [begin, begin + size) of every input (size absent: to the end). New tensors: the caller disposes them. */
export function sliceInputs(x: Inputs, begin: number, size?: number): Inputs {
  const cut = (t: tf.Tensor): tf.Tensor => (size === undefined ? t.slice(begin) : t.slice(begin, size));
  return Array.isArray(x) ? x.map(cut) : cut(x);
}

/** Elements over all inputs (the data's bytes are 4 × this). */
export const inputElements = (x: Inputs): number => inputList(x).reduce((s, t) => s + t.size, 0);

/** What a model takes from a dataset: its one x, or every input's tensor for a model with several. */
export const xOf = (d: { x: tf.Tensor; inputs?: tf.Tensor[] }): Inputs => d.inputs ?? d.x;

/** The dataset fields for `x`: `x` alone, or the first as `x` and all as `inputs`. */
export const asData = (x: Inputs): { x: tf.Tensor; inputs?: tf.Tensor[] } => (Array.isArray(x) ? { x: x[0]!, inputs: x } : { x });
