/** Tensor ops on the last axis, from public tf ops only so every backend (cpu, wasm, tfjs-node) runs them. */
import * as tf from '@tensorflow/tfjs';

/** Gemma 3n's RMSNorm epsilon (laurel-method §7). */
export const RMS_EPS = 1e-6;

/**
 * (x·A)·B over the last axis of x [..., D], with A [D, r] and B [r, D]. The leading axes are flattened so
 * dense [B, T, D] and NHWC [B, H, W, C] tensors share one path: a pair of bias-free 1×1 convolutions.
 */
export function lowRank(x: tf.Tensor, down: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const d = x.shape[x.rank - 1] as number;
  const flat = tf.reshape(x, [-1, d]);
  return tf.reshape(tf.matMul(tf.matMul(flat, down as tf.Tensor2D), up as tf.Tensor2D), x.shape);
}

/** x / sqrt(mean(x², last axis) + eps): RMS normalisation without a learned scale. */
export function rmsUnit(x: tf.Tensor, eps: number = RMS_EPS): tf.Tensor {
  return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)));
}

/** x / sqrt(mean(x², last axis) + eps) · w, with w [D] (Gemma 3n: the scale multiplies directly). */
export function rmsNorm(x: tf.Tensor, scale: tf.Tensor, eps: number = RMS_EPS): tf.Tensor {
  const meanSquare = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), scale);
}
