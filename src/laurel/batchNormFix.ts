/**
 * tfjs-layers' BatchNormalization reads `gamma` and `beta` unconditionally in its training path
 * (`normalizeBatchInTraining(input, this.gamma.read(), this.beta.read(), ...)`), but creates no such weight
 * when the file says scale=false or center=false, so training throws "Cannot read properties of undefined
 * (reading 'read')". Keras's InceptionV3 writes scale=false on every BatchNormalization. A stand-in whose
 * read() gives a constant of ones (gamma) or zeros (beta) makes tfjs do what Keras does, no scale or no
 * offset: a constant is no weight (the parameter count stays the file's) and gets no gradient. (A null
 * would do for the forward pass, but the FusedBatchNorm kernel saves its inputs for the backward pass.)
 */
import * as tf from '@tensorflow/tfjs';

/** read() of a constant shaped like the layer's moving mean (one value per channel). */
const constant = (movingMean: { read(): tf.Tensor }, value: 0 | 1) => ({ read: (): tf.Tensor => tf.fill(movingMean.read().shape, value) });

/** Installs the stand-ins on every BatchNormalization of the model (nested models included); returns how many. */
export function fixBatchNormWithoutWeights(model: tf.LayersModel | tf.layers.Layer): number {
  let fixed = 0;
  const visit = (layer: tf.layers.Layer): void => {
    const inner = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
    if (Array.isArray(inner)) inner.forEach(visit);
    const wrapped = (layer as unknown as { layer?: tf.layers.Layer }).layer;
    if (wrapped) visit(wrapped);
    if (layer.getClassName() !== 'BatchNormalization') return;
    const bn = layer as unknown as { gamma?: unknown; beta?: unknown; movingMean?: { read(): tf.Tensor } };
    if (!bn.movingMean) return;
    if (bn.gamma == null) {
      bn.gamma = constant(bn.movingMean, 1);
      fixed++;
    }
    if (bn.beta == null) {
      bn.beta = constant(bn.movingMean, 0);
      fixed++;
    }
  };
  visit(model as tf.layers.Layer);
  return fixed;
}
