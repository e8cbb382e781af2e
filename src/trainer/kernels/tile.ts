// Tile and its gradient from broadcasting ops. tfjs-backend-wasm's Tile is a per-element index loop
// (~40 ms to spread a [1,1,1,16] BatchNorm scale over [32,28,28,16]), and tfjs-core's Tile gradient adds
// one slice of dy per repetition: LayerNormalization tiles its [B,T,1] moments and [1,1,C] scale, so one
// prenorm-mixer step ran ~10,000 Slice+Add kernels. Both become one broadcast Mul or one Sum here.
import * as tf from '@tensorflow/tfjs';

interface TileAxis {
  size: number;
  /** True: a run of repetitions (x has extent 1 there); false: a run of x's own axes. */
  tiled: boolean;
}

/**
 * The tile as alternating runs of repeated and copied axes: axis i of extent d repeated r times is
 * [r (tiled), d] in the output's row-major order. Neighbouring runs of the same kind are merged so that
 * the broadcast stays within XNNPACK's 6 dimensions in every practical case.
 */
export function tileAxes(shape: readonly number[], reps: readonly number[]): TileAxis[] {
  const out: TileAxis[] = [];
  const push = (size: number, tiled: boolean): void => {
    if (size === 1) return;
    const last = out[out.length - 1];
    if (last && last.tiled === tiled) last.size *= size;
    else out.push({ size, tiled });
  };
  shape.forEach((d, i) => {
    push(reps[i]!, true);
    push(d, false);
  });
  return out;
}

const MAX_BROADCAST_RANK = 6;

/** tf.tile(x, reps) without the Tile kernel: x times ones, broadcast over the repeated axes. */
export function tileByBroadcast(x: tf.Tensor, reps: readonly number[]): tf.Tensor {
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  if (outShape.some((d) => d === 0)) return tf.zeros(outShape, x.dtype);
  const axes = tileAxes(x.shape, reps);
  if (axes.every((a) => !a.tiled)) return tf.reshape(x, outShape);
  if (x.dtype === 'float32' && axes.length <= MAX_BROADCAST_RANK) {
    // Multiplying by 1 is exact (keeps -0, NaN and Inf), unlike adding 0.
    const xs = tf.reshape(x, axes.map((a) => (a.tiled ? 1 : a.size)));
    const ones = tf.ones(axes.map((a) => (a.tiled ? a.size : 1)));
    return tf.reshape(tf.mul(xs, ones), outShape);
  }
  // Other dtypes or deeper patterns: one Concat of copies per repeated axis (a memcpy per block).
  let y = x;
  reps.forEach((r, i) => {
    if (r === 1) return;
    const pre = y.shape.slice(0, i).reduce((a, b) => a * b, 1);
    const block = tf.reshape(y, [pre, 1, y.size / pre]);
    const shape = y.shape.slice();
    shape[i]! *= r;
    y = tf.reshape(tf.concat(new Array<tf.Tensor>(r).fill(block), 1), shape);
  });
  return y;
}

/** dL/dx of tf.tile(x, reps): dy summed over the repetitions, as one Sum. */
export function tileGrad(dy: tf.Tensor, xShape: readonly number[], reps: readonly number[]): tf.Tensor {
  const axes = tileAxes(xShape, reps);
  const summed = axes.flatMap((a, i) => (a.tiled ? [i] : []));
  if (summed.length === 0) return tf.reshape(dy, xShape as number[]);
  return tf.reshape(tf.sum(tf.reshape(dy, axes.map((a) => a.size)), summed), xShape as number[]);
}
