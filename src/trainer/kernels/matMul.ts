// tfjs-backend-wasm's BatchMatMul is fast (XNNPACK-like) only for untransposed operands; with
// transposeA/transposeB, which every Dense backward pass uses (dW = x^T dy, dx = dy W^T), it is ~10x
// slower than transposing explicitly first. The wasm Transpose is a cheap copy next to the product.
import * as tf from '@tensorflow/tfjs';

/** The last two axes swapped. */
export function swapLastTwo(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return tf.transpose(t, perm);
}

/** matMul(a, b, transposeA, transposeB) as an untransposed product of explicitly transposed operands. */
export function matMulUntransposed(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  return tf.matMul(transposeA ? swapLastTwo(a) : a, transposeB ? swapLastTwo(b) : b);
}
