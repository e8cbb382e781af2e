import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../src/core/random';
import { selectBackend } from '../../src/trainer/backend';

// The wasm gradient kernels against tfjs's cpu backend (wasmKernels.test.ts, wasmKernelOps.test.ts): values on
// both backends, the relative difference, and the describe hooks that switch to wasm and back.

const TOL = 1e-4;
let worst = 0;

const rng = mulberry32;

export function randomArray(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Runs `fn` with `backend` active and returns the values of the tensors it produces. */
export function on(backend: string, fn: () => tf.Tensor[]): Float32Array[] {
  assert.ok(tf.setBackend(backend) !== undefined);
  assert.equal(tf.getBackend(), backend);
  return tf.tidy(() => fn().map((t) => t.dataSync() as Float32Array));
}

/** Largest difference relative to the reference's scale: max|a-b| / max|b|. */
export function relDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

export function assertClose(got: Float32Array[], want: Float32Array[], label: string): void {
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    const d = relDiff(g, want[i]);
    worst = Math.max(worst, d);
    assert.ok(Number.isFinite(d) && d <= TOL, `${label} [${i}]: relative difference ${d.toExponential(2)} > ${TOL}`);
  });
}

/** Spreads a [kh, kw, ...] filter to dilation d by inserting zeros: conv(x, f, dilation d) = conv(x, dilateFilter(f, d)). */
export function dilateFilter(f: tf.Tensor4D, d: number): tf.Tensor4D {
  const [kh, kw, a, b] = f.shape;
  const spread = tf.reshape(tf.pad(tf.reshape(f, [kh, 1, kw, 1, a * b]), [[0, 0], [0, d - 1], [0, 0], [0, d - 1], [0, 0]]), [kh * d, kw * d, a, b]);
  return tf.slice(spread, [0, 0, 0, 0], [(kh - 1) * d + 1, (kw - 1) * d + 1, a, b]) as tf.Tensor4D;
}

/** The taps of a dilated filter's gradient that belong to the original filter. */
export function undilate(g: tf.Tensor4D, d: number): tf.Tensor4D {
  return tf.stridedSlice(g, [0, 0, 0, 0], g.shape, [d, d, 1, 1]) as tf.Tensor4D;
}

/** Gradients of sum(f(inputs) * r) for a fixed random r, on wasm and cpu. */
export function compareGrads(label: string, shapes: number[][], seed: number, f: (...xs: tf.Tensor[]) => tf.Tensor): void {
  const run = (): tf.Tensor[] => {
    const xs = shapes.map((s, i) => tf.tensor(randomArray(size(s), seed + i), s));
    const outShape = f(...xs).shape;
    const r = tf.tensor(randomArray(size(outShape), seed + 99), outShape);
    const grads = tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(f(...ys), r)) as tf.Scalar)(xs);
    return [f(...xs), ...grads];
  };
  assertClose(on('wasm', run), on('cpu', run), label);
}

/** A describe's hooks: wasm (with our kernels) before its tests, the previous backend back after, the worst difference logged. */
export function onWasm(): void {
  let previous: string;

  before(async function () {
    previous = tf.getBackend();
    await tf.ready();
    await selectBackend('wasm');
  });

  after(async function () {
    console.log(`      max relative gradient difference wasm vs cpu: ${worst.toExponential(2)}`);
    if (previous) await tf.setBackend(previous);
  });
}
