// The loss a model trains with and the labels that go with it, from the output's description: the same
// choice for both engines (the PyTorch engine has no TF.js model, only the OutputHead).
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from './data/loadDataset';

interface LossChoice {
  name: string;
  loss: string | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor);
  classifier: boolean;
}

/** What the loss and the labels depend on: the trained output's last axis and the activation that makes it. */
export interface OutputHead {
  units: number | null;
  /** Lower case ('softmax' for a Softmax layer); undefined when the layer has none. */
  activation: string | undefined;
}

export function outputHead(model: tf.LayersModel): OutputHead {
  const shape = model.outputs[0]!.shape;
  const layer = model.outputs[0]?.sourceLayer;
  const act = layer?.getClassName() === 'Softmax' ? 'softmax' : layer?.getConfig().activation;
  return { units: shape[shape.length - 1] ?? null, activation: typeof act === 'string' ? act.toLowerCase() : undefined };
}

/** Cross-entropy with accuracy for classifiers (softmax, single sigmoid, or logits with class labels), else MSE. */
export function chooseLoss(model: tf.LayersModel, classes: number | undefined): LossChoice {
  return lossFor(outputHead(model), classes);
}

/** chooseLoss from the output's description (the PyTorch engine has no TF.js model). */
export function lossFor(head: OutputHead, classes: number | undefined): LossChoice {
  const { units, activation: act } = head;
  if (act === 'softmax') return { name: 'categoricalCrossentropy', loss: 'categoricalCrossentropy', classifier: true };
  if (act === 'sigmoid' && units === 1) return { name: 'binaryCrossentropy', loss: 'binaryCrossentropy', classifier: true };
  if ((act === undefined || act === 'linear') && classes !== undefined && classes > 1 && units === classes) {
    return { name: 'softmaxCrossEntropyFromLogits', loss: (t, p) => tf.losses.softmaxCrossEntropy(t, p), classifier: true };
  }
  return { name: 'meanSquaredError', loss: 'meanSquaredError', classifier: false };
}

/** Integer labels become one-hot when the model has one output unit per class; else y as it is. */
export function prepareLabels(model: tf.LayersModel, data: Dataset): tf.Tensor {
  return labelsFor(outputHead(model), data);
}

/** prepareLabels from the output's description. */
export function labelsFor(head: OutputHead, data: Dataset): tf.Tensor {
  const units = head.units;
  const classes = data.classes ?? (typeof units === 'number' ? units : undefined);
  const y = data.y;
  const looksLikeIndices = y.rank === 1 || (y.rank === 2 && y.shape[1] === 1);
  if (classes && classes > 1 && units === classes && looksLikeIndices) {
    return tf.tidy(() => tf.oneHot(tf.cast(tf.reshape(y, [-1]), 'int32'), classes).toFloat());
  }
  return y;
}

/** NaN or Inf in a tensor: a diverged run says whether its data or labels hold them. */
export function hasNonFinite(t: tf.Tensor): boolean {
  return tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(t))).dataSync()[0] === 1);
}
