// Helpers for kernels that are composed from public tf ops. Inside a kernel function the engine's
// active backend is the one the kernel is registered for, so every op below dispatches to that
// backend's own kernels (wasm here); nothing is copied to another backend. Ops run while a kernel is
// executing are not recorded on the gradient tape (engine kernelDepth > 0).
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, Tensor, TensorInfo } from '@tensorflow/tfjs';

/** Runs `fn` on tensors wrapping the kernel inputs and hands its result back as the kernel output. */
export function runWithOps(backend: KernelBackend, inputs: TensorInfo[], fn: (...ts: Tensor[]) => Tensor): TensorInfo {
  const engine = tf.engine();
  const out = tf.tidy(() => {
    const wrapped = inputs.map((info) => {
      // The wrapper is disposed by tidy, which drops one backend reference: take one for it first,
      // otherwise the caller's input buffer would be freed.
      backend.incRef(info.dataId);
      return engine.makeTensorFromTensorInfo(info, backend);
    });
    return fn(...wrapped);
  });
  // The engine adopts the returned TensorInfo as a new tensor; keep the buffer alive across the
  // disposal of our handle so the kernel neither leaks nor frees its own output.
  backend.incRef(out.dataId);
  const result: TensorInfo = { dataId: out.dataId, shape: out.shape.slice(), dtype: out.dtype };
  out.dispose();
  return result;
}

/** Pads (positive amounts, with `value`) or crops (negative amounts) each axis of `x`; `amounts[i] = [before, after]`. */
export function padOrCrop<T extends Tensor>(x: T, amounts: Array<[number, number]>, value = 0): T {
  const begin = amounts.map(([b]) => Math.max(0, -b));
  const size = amounts.map(([b, a], i) => x.shape[i] - Math.max(0, -b) - Math.max(0, -a));
  const needsCrop = begin.some((v) => v > 0) || size.some((v, i) => v !== x.shape[i]);
  const cropped = needsCrop ? (tf.slice(x, begin, size) as T) : x;
  const pads = amounts.map(([b, a]) => [Math.max(0, b), Math.max(0, a)] as [number, number]);
  return pads.some(([b, a]) => b > 0 || a > 0) ? (tf.pad(cropped, pads, value) as T) : cropped;
}

/** Inserts `stride - 1` zeros between neighbouring rows/columns of an NHWC tensor (a strided scatter). */
export function insertZeros(x: tf.Tensor4D, strideH: number, strideW: number): tf.Tensor4D {
  if (strideH === 1 && strideW === 1) return x;
  const [b, h, w, c] = x.shape;
  const spread = tf.pad(tf.reshape(x, [b, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, strideH - 1], [0, 0], [0, strideW - 1], [0, 0]]);
  const dense = tf.reshape(spread, [b, h * strideH, w * strideW, c]);
  // Drop the trailing zeros after the last row/column: length is (n - 1) * stride + 1.
  return tf.slice(dense as tf.Tensor4D, [0, 0, 0, 0], [b, (h - 1) * strideH + 1, (w - 1) * strideW + 1, c]);
}
