// Max-pool gradient from forward ops. tfjs-backend-wasm 4.22 registers MaxPoolGrad, but its result is
// wrong when a window's values are negative (it routes dy to the window's first element or drops it),
// which happens whenever pooling is not preceded by ReLU; this replaces it.
import * as tf from '@tensorflow/tfjs';
import { insertZeros, padOrCrop } from './opsKernel';
import type { Pair, RoundingMode } from './convGrads';

/**
 * dL/dx of maxPool: each output's dy goes to the first position (row-major within the window) holding
 * the window's maximum, as TF and the tfjs CPU backend do. For every window offset we compare the strided
 * input samples with the pooled output, keep only the first hit per window, and scatter dy back by zero
 * insertion and shifting. Padding never wins: it is filled with -Infinity.
 */
export function maxPoolInputGrad(
  dy: tf.Tensor4D,
  x: tf.Tensor4D,
  y: tf.Tensor4D,
  filterSize: number | Pair,
  strides: number | Pair,
  pad: 'same' | 'valid' | number,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computePool2DInfo(x.shape, filterSize, strides, 1, pad, dimRoundingMode);
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const [b, h, w, c] = x.shape;
    const spanH = (oh - 1) * sh + 1;
    const spanW = (ow - 1) * sw + 1;
    const needH = spanH + kh - 1;
    const needW = spanW + kw - 1;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const xp = padOrCrop(x, [[0, 0], [top, needH - top - h], [left, needW - left - w], [0, 0]], -Infinity);
    let taken: tf.Tensor4D | null = null;
    let dxp: tf.Tensor4D | null = null;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const patch = tf.stridedSlice(xp, [0, i, j, 0], [b, i + spanH, j + spanW, c], [1, sh, sw, 1]) as tf.Tensor4D;
        const hit = tf.equal(patch, y);
        const first = (taken ? tf.logicalAnd(hit, tf.logicalNot(taken)) : hit) as tf.Tensor4D;
        taken = (taken ? tf.logicalOr(taken, first) : first) as tf.Tensor4D;
        const routed = tf.mul(dy, tf.cast(first, dy.dtype)) as tf.Tensor4D;
        const placed = padOrCrop(insertZeros(routed, sh, sw), [[0, 0], [i, needH - i - spanH], [j, needW - j - spanW], [0, 0]]);
        dxp = (dxp ? tf.add(dxp, placed) : placed) as tf.Tensor4D;
      }
    }
    return padOrCrop(dxp as tf.Tensor4D, [[0, 0], [-top, h - (needH - top)], [-left, w - (needW - left)], [0, 0]]);
  });
}
