// Max-pool gradient from forward ops. tfjs-backend-wasm 4.22 registers MaxPoolGrad, but its result is
// wrong when a window's values are negative (dy lands on the wrong element or is dropped), which happens
// whenever pooling is not preceded by ReLU; wasmKernels.ts replaces it with this.
import * as tf from '@tensorflow/tfjs';
import { insertZeros, padOrCrop } from './opsKernel';
import type { Pair, RoundingMode } from './convGrads';

/**
 * Rows i, i+s, ..., i+(n-1)s of axis 1 (or columns, axis 2) using Slice and Reshape only: the wasm
 * StridedSlice kernel is several times slower than Slice. `x` must extend to i + n*s on that axis.
 */
function strided(x: tf.Tensor4D, axis: 1 | 2, start: number, n: number, s: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (axis === 1) {
    const rows = tf.slice(x, [0, start, 0, 0], [b, n * s, w, c]);
    return s === 1 ? rows : (tf.reshape(tf.slice(tf.reshape(rows, [b, n, s, w * c]), [0, 0, 0, 0], [b, n, 1, w * c]), [b, n, w, c]) as tf.Tensor4D);
  }
  const cols = tf.slice(x, [0, 0, start, 0], [b, h, n * s, c]);
  return s === 1 ? cols : (tf.reshape(tf.slice(tf.reshape(cols, [b * h, n, s, c]), [0, 0, 0, 0], [b * h, n, 1, c]), [b, h, n, c]) as tf.Tensor4D);
}

/**
 * dL/dx of maxPool: each output's dy goes to the first position (row-major within the window) holding
 * the window's maximum, as TF and the tfjs CPU backend do. Padding is filled with -Infinity so it never
 * wins. Non-overlapping windows (stride = filter size, the usual 2x2/2) take a reshape-only path; others
 * compare the input at every window offset with the pooled output and scatter dy back.
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
    const top = info.padInfo.top;
    const left = info.padInfo.left;

    if (sh === kh && sw === kw) {
      const xc = padOrCrop(x, [[0, 0], [top, oh * kh - top - h], [left, ow * kw - left - w], [0, 0]], -Infinity);
      // [B*oh, kh, ow, kw, C] -> [B*oh, ow, C, kh*kw]: one window per row of the last axis.
      const windows = tf.reshape(tf.transpose(tf.reshape(xc, [b * oh, kh, ow, kw, c]), [0, 2, 4, 1, 3]), [b * oh, ow, c, kh * kw]);
      // Arithmetic instead of comparisons: wasm's broadcasting Equal is ~15x slower than Sub. Every
      // element is <= its window max, so 1 + sign(v - max) is 1 exactly at the maxima and 0 elsewhere;
      // along the window, cumsum = 1 only up to the first hit, so relu(2 - cumsum) keeps just that one.
      const hit = tf.add(tf.sign(tf.sub(windows, tf.reshape(y, [b * oh, ow, c, 1]))), 1);
      const first = tf.mul(hit, tf.relu(tf.sub(2, tf.cumsum(hit, 3))));
      const routed = tf.mul(first, tf.reshape(dy, [b * oh, ow, c, 1]));
      const back = tf.reshape(tf.transpose(tf.reshape(routed, [b * oh, ow, c, kh, kw]), [0, 3, 1, 4, 2]), [b, oh * kh, ow * kw, c]) as tf.Tensor4D;
      return padOrCrop(back, [[0, 0], [-top, h - (oh * kh - top)], [-left, w - (ow * kw - left)], [0, 0]]);
    }

    const spanH = (oh - 1) * sh + 1;
    const spanW = (ow - 1) * sw + 1;
    const needH = spanH + kh - 1;
    const needW = spanW + kw - 1;
    // Read extent for the slice/reshape trick: offset (kh-1) plus oh full strides.
    const readH = kh - 1 + oh * sh;
    const readW = kw - 1 + ow * sw;
    const xp = padOrCrop(x, [[0, 0], [top, readH - top - h], [left, readW - left - w], [0, 0]], -Infinity);
    let taken: tf.Tensor | null = null;
    let dxp: tf.Tensor4D | null = null;
    for (let i = 0; i < kh; i++) {
      const rows = strided(xp, 1, i, oh, sh);
      for (let j = 0; j < kw; j++) {
        const patch = strided(rows, 2, j, ow, sw);
        const hit = tf.equal(patch, y);
        const first: tf.Tensor = taken ? tf.logicalAnd(hit, tf.logicalNot(taken)) : hit;
        taken = taken ? tf.logicalOr(taken, first) : first;
        const routed = tf.mul(dy, tf.cast(first, dy.dtype)) as tf.Tensor4D;
        const placed = padOrCrop(insertZeros(routed, sh, sw), [[0, 0], [i, needH - i - spanH], [j, needW - j - spanW], [0, 0]]);
        dxp = (dxp ? tf.add(dxp, placed) : placed) as tf.Tensor4D;
      }
    }
    return padOrCrop(dxp as tf.Tensor4D, [[0, 0], [-top, h - (needH - top)], [-left, w - (needW - left)], [0, 0]]);
  });
}
