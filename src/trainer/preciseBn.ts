/**
 * BatchNorm statistics recomputed at the current weights ("precise BN", Wu & Johnson 2021).
 *
 * Keras / tfjs keep moving statistics as an exponential average (momentum 0.99: roughly the last 100 steps)
 * of batch statistics taken under older weights. With Adam at 1e-3 the weights move enough in 100 steps that
 * these lag: resnet-mini on Fashion-MNIST scored 0.31–0.76 by seed with the moving statistics and 0.80 with
 * batch statistics after 675 steps. At each epoch end, before validating and saving, both engines replace
 * them with an equal-weight average over up to `PRECISE_BN_SAMPLES` training samples (the PyTorch engine in
 * src/python/laurel_train_steps.py, PreciseBn).
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../core/random';
import { sampleCount, sliceInputs } from './data/inputs';
import type { Inputs } from './data/inputs';

export const PRECISE_BN_SAMPLES = 2048;

/** tfjs-layers' BatchNormalization fields used here (the class is not exported by @tensorflow/tfjs). */
interface BatchNormLike {
  momentum: number;
  weights: tf.LayerVariable[];
}

function batchNorms(model: tf.LayersModel): BatchNormLike[] {
  return model.layers.filter((l) => l.getClassName() === 'BatchNormalization') as unknown as BatchNormLike[];
}

/**
 * Sets every BatchNormalization's moving mean and variance to the mean of the batch statistics of the first
 * `samples` rows of `x` (in batches of `batchSize`, training mode) at the current weights. Returns how many
 * layers were updated (0: nothing to do).
 */
export function recomputeBatchNormStats(model: tf.LayersModel, x: Inputs, samples: number, batchSize: number): number {
  const bns = batchNorms(model);
  const n = Math.min(samples, sampleCount(x));
  if (bns.length === 0 || n === 0) return 0;
  const momentum = bns.map((b) => b.momentum);
  // Dropout in training mode draws from Math.random: a stream of its own here, so the seeded run's stream
  // (the next epoch's shuffle, which the PyTorch engine replays) is not advanced.
  const random = Math.random;
  Math.random = mulberry32(0x5eed);
  try {
    tf.tidy(() => {
      for (const b of bns) {
        for (const w of b.weights) {
          if (/moving_mean$/.test(w.originalName)) w.write(tf.zerosLike(w.read()));
          else if (/moving_variance$/.test(w.originalName)) w.write(tf.onesLike(w.read()));
        }
      }
    });
    for (let i = 0, start = 0; start < n; i++, start += batchSize) {
      // Keras' convention: moving = moving·momentum + batch·(1 − momentum); 1 − 1/(i+1) makes a plain mean.
      for (const b of bns) b.momentum = 1 - 1 / (i + 1);
      tf.tidy(() => {
        const xb = sliceInputs(x, start, Math.min(batchSize, n - start));
        model.apply(xb, { training: true });
      });
    }
  } finally {
    Math.random = random;
    bns.forEach((b, i) => (b.momentum = momentum[i]!));
  }
  return bns.length;
}
