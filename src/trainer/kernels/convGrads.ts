// Convolution gradients written with forward ops only (conv2d, depthwiseConv2d, pad, slice, transpose,
// reshape, sum, reverse), so they run on any backend that has the forward kernels. All tensors NHWC.
import * as tf from '@tensorflow/tfjs';
import { insertZeros, padOrCrop } from './opsKernel';

export type Pair = [number, number];
export type ConvPad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
export type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;

/**
 * The input cut or zero-padded to exactly the rows and columns the forward pass read:
 * (oh-1)*sh + (kh-1)*dh + 1 of them. Extra 'same' padding at the far end is never read; a too-short input
 * (possible with 'ceil' rounding) is padded with zeros like the CPU kernel.
 */
function readExtent(x: tf.Tensor4D, info: tf.backend_util.Conv2DInfo, filterShape: [number, number, number, number]): tf.Tensor4D {
  const [kh, kw] = filterShape;
  const [, h, w] = x.shape;
  const needH = (info.outHeight - 1) * info.strideHeight + (kh - 1) * info.dilationHeight + 1;
  const needW = (info.outWidth - 1) * info.strideWidth + (kw - 1) * info.dilationWidth + 1;
  const { top, left } = info.padInfo;
  return padOrCrop(x, [[0, 0], [top, needH - top - h], [left, needW - left - w], [0, 0]]);
}

/**
 * dL/dW of conv2d(x, W). The filter gradient is itself a convolution: the padded input with channels
 * moved to the batch axis (and batch to channels), filtered by dy (spatial dims as the kernel, batch as
 * its input channels), with the forward stride as dilation and the forward dilation as stride. Output is
 * exactly [KH, KW] once the padded input is cut to the extent the forward pass read, so no slicing of the
 * result is needed; TF's asymmetric 'same' split comes from computeConv2DInfo.
 */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | Pair,
  pad: ConvPad,
  dilations: number | Pair = 1,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, dilations, pad, dimRoundingMode, false, 'channelsLast');
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const xp = readExtent(x, info, filterShape);
    const xt = tf.transpose(xp, [3, 1, 2, 0]); // [C, needH, needW, B]
    const f = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, B, O]
    // tfjs requires strides or dilations to be 1; the forward op had the same constraint, swapped here.
    const g = tf.conv2d(xt, f, [dh, dw], 'valid', 'NHWC', [sh, sw]); // [C, kh, kw, O]
    return tf.transpose(g, [1, 2, 0, 3]);
  });
}

/**
 * dL/dW of depthwiseConv2d(x, W) with W [KH, KW, C, M]. Same idea as conv2dFilterGrad, but channels must
 * not mix: batch and channels are folded into C*B depthwise channels, dy supplies one [oh, ow] kernel per
 * (c, b) for each multiplier m, and the batch is summed afterwards.
 */
export function depthwiseFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | Pair,
  pad: ConvPad,
  dilations: number | Pair = 1,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, dilations, pad, dimRoundingMode, true, 'channelsLast');
    const [kh, kw, c, m] = filterShape;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight: oh, outWidth: ow } = info;
    const b = x.shape[0];
    const xp = readExtent(x, info, filterShape);
    const [, needH, needW] = xp.shape;
    const xFold: tf.Tensor4D = tf.reshape(tf.transpose(xp, [1, 2, 3, 0]), [1, needH, needW, c * b]); // channel index c*B+b
    const dyFold = tf.reshape(tf.transpose(tf.reshape(dy, [b, oh, ow, c, m]), [1, 2, 3, 0, 4]), [oh, ow, c * b, m]);
    const g = tf.depthwiseConv2d(xFold, dyFold as tf.Tensor4D, [dh, dw], 'valid', 'NHWC', [sh, sw]); // [1, kh, kw, C*B*M]
    return tf.sum(tf.reshape(g, [kh, kw, c, b, m]), 3) as tf.Tensor4D;
  });
}

/**
 * dy scattered onto the input grid (s-1 zeros between samples) and padded by (k-1)*d - padBefore before and
 * the rest after (cropped where negative): dx[p] = sum_k up[p + top - k*d] * W[k] is then a stride-1
 * correlation of this with the spatially flipped filter at the forward dilation.
 */
function spreadForInputGrad(dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo, kh: number, kw: number): tf.Tensor4D {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, inHeight: h, inWidth: w } = info;
  const up = insertZeros(dy, sh, sw); // [B, (oh-1)*sh+1, (ow-1)*sw+1, channels]
  const before = (kh - 1) * dh - info.padInfo.top;
  const beforeW = (kw - 1) * dw - info.padInfo.left;
  const afterH = h + (kh - 1) * dh - before - up.shape[1];
  const afterW = w + (kw - 1) * dw - beforeW - up.shape[2];
  return padOrCrop(up, [[0, 0], [before, afterH], [beforeW, afterW], [0, 0]]);
}

/**
 * dL/dx of depthwiseConv2d(x, W): scatter dy back onto the input grid (zeros between strided samples),
 * then correlate with the spatially flipped filter at the forward dilation, and sum the multiplier.
 */
export function depthwiseInputGrad(
  xShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: number | Pair,
  pad: ConvPad,
  dilations: number | Pair = 1,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(xShape, filter.shape, strides, dilations, pad, dimRoundingMode, true, 'channelsLast');
    const [kh, kw, c, m] = filter.shape;
    const { dilationHeight: dh, dilationWidth: dw } = info;
    const [b, h, w] = xShape;
    const upP = spreadForInputGrad(dy, info, kh, kw); // [B, H + (kh-1)*dh, W + (kw-1)*dw, C*M]
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]);
    const g = tf.depthwiseConv2d(upP, flipped as tf.Tensor4D, 1, 'valid', 'NHWC', [dh, dw]); // [B, H, W, C*M]
    return m === 1 ? g : (tf.sum(tf.reshape(g, [b, h, w, c, m]), 4) as tf.Tensor4D);
  });
}

/**
 * dL/dx of conv2d(x, W) as one forward conv, so it runs on XNNPACK like the forward pass (the wasm
 * backend's own Conv2DBackpropInput is a scalar loop, ~8x slower than the forward conv): scatter dy
 * onto the input grid (s-1 zeros between samples), pad by (k-1)*d - padBefore before and the rest after
 * (cropping where negative), and correlate with the spatially flipped filter, in/out channels swapped.
 */
export function conv2dInputGrad(
  xShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: number | Pair,
  pad: ConvPad,
  dilations: number | Pair = 1,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(xShape, filter.shape, strides, dilations, pad, dimRoundingMode, false, 'channelsLast');
    const [kh, kw] = filter.shape;
    const { dilationHeight: dh, dilationWidth: dw } = info;
    const upP = spreadForInputGrad(dy, info, kh, kw); // [B, H + (kh-1)*dh, W + (kw-1)*dw, O]
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [kh, kw, O, C]
    return tf.conv2d(upP, flipped, 1, 'valid', 'NHWC', [dh, dw]); // [B, H, W, C]
  });
}
