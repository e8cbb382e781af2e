// UnsortedSegmentSum from wasm forward ops: the gradient of Gather (an Embedding's lookup) scatters dy
// back onto the table rows with it, and tfjs-backend-wasm 4.22 has no such kernel. A one-hot of the ids
// [N, segments] times dy [N, rest] is the sum per segment, in one (XNNPACK) matrix product; ids outside
// [0, segments) get an all-zero row and drop out, as the kernel's contract says.
import * as tf from '@tensorflow/tfjs';

export function segmentSumByMatMul(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  const n = segmentIds.size;
  const rest = x.shape.slice(segmentIds.rank);
  const width = rest.reduce((a, b) => a * b, 1);
  const oneHot = tf.cast(tf.oneHot(tf.reshape(tf.cast(segmentIds, 'int32'), [n]), numSegments), x.dtype);
  const sums = tf.matMul(oneHot as tf.Tensor2D, tf.reshape(x, [n, width]) as tf.Tensor2D, true, false);
  return tf.reshape(sums, [numSegments, ...rest]);
}
