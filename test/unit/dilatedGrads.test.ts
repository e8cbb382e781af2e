import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../src/core/random';
import { selectBackend } from '../../src/trainer/backend';

// The reference for a dilated kernel w is the same convolution with w spread out explicitly (zeros between its
// taps) at dilation 1, whose gradients are tfjs-core's own: dx equal, and dw = that gradient at the taps.

function random(shape: number[], seed: number): tf.Tensor {
  const r = mulberry32(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1), shape);
}

/** [kh, kw, a, b] → [(kh-1)dh+1, (kw-1)dw+1, a, b] with zeros between the taps. */
function spread(w: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  const [kh, kw, a, b] = w.shape;
  const out = tf.buffer([(kh - 1) * dh + 1, (kw - 1) * dw + 1, a, b]);
  const v = w.arraySync();
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let p = 0; p < a; p++) for (let q = 0; q < b; q++) out.set(v[i]![j]![p]![q]!, i * dh, j * dw, p, q);
  return out.toTensor() as tf.Tensor4D;
}

/** The gradient of the spread kernel at the taps: back to [kh, kw, a, b]. */
function gather(g: tf.Tensor4D, kh: number, kw: number, dh: number, dw: number): tf.Tensor {
  return tf.stack(Array.from({ length: kh }, (_, i) => tf.stack(Array.from({ length: kw }, (__, j) => g.slice([i * dh, j * dw, 0, 0], [1, 1, -1, -1]).squeeze([0, 1])))));
}

function maxRel(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.equal(x.length, y.length);
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return diff / scale;
}

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
const cases: { x: [number, number, number, number]; k: [number, number]; d: [number, number]; pad: Pad }[] = [
  { x: [2, 9, 9, 3], k: [3, 3], d: [2, 2], pad: 'same' },
  { x: [2, 10, 8, 3], k: [3, 3], d: [2, 2], pad: 'valid' },
  { x: [1, 11, 12, 2], k: [3, 2], d: [3, 2], pad: 'same' },
  { x: [2, 12, 7, 2], k: [2, 3], d: [4, 1], pad: 'valid' },
  { x: [1, 9, 10, 2], k: [3, 3], d: [2, 3], pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [3, 1, 16, 4], k: [1, 3], d: [1, 4], pad: 'same' }, // Conv1D's shape: [B, 1, T, C], dilation along T
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`dilated convolution gradients (${backend})`, function () {
    before(async function () {
      const b = await selectBackend(backend);
      assert.equal(b.name, backend);
    });

    for (const c of cases) {
      const label = `x ${c.x.join('×')} k ${c.k.join('×')} dilation ${c.d.join(',')} pad ${JSON.stringify(c.pad)}`;

      it(`conv2d: ${label}`, function () {
        tf.tidy(() => {
          const x = random(c.x, 1) as tf.Tensor4D;
          const w = random([...c.k, c.x[3], 5], 2) as tf.Tensor4D;
          const y = tf.conv2d(x, w, 1, c.pad, 'NHWC', c.d);
          const dy = random(y.shape, 3);
          const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, c.pad, 'NHWC', c.d))([x, w], dy);
          const ws = spread(w, c.d[0], c.d[1]);
          assert.ok(maxRel(tf.conv2d(x, ws, 1, c.pad), y) < 1e-5, 'the spread kernel is the same convolution');
          const [rx, rws] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, c.pad))([x, ws], dy);
          assert.deepEqual(dx!.shape, x.shape);
          assert.deepEqual(dw!.shape, w.shape);
          assert.ok(maxRel(dx!, rx!) < 1e-5, `dx ${maxRel(dx!, rx!)}`);
          assert.ok(maxRel(dw!, gather(rws as tf.Tensor4D, c.k[0], c.k[1], c.d[0], c.d[1])) < 1e-5, 'dw');
        });
      });

      it(`depthwiseConv2d: ${label}`, function () {
        tf.tidy(() => {
          const x = random(c.x, 4) as tf.Tensor4D;
          const w = random([...c.k, c.x[3], 2], 5) as tf.Tensor4D;
          const pad = c.pad === 'same' || c.pad === 'valid' ? c.pad : 'valid'; // depthwise takes no explicit pads
          const y = tf.depthwiseConv2d(x, w, 1, pad, 'NHWC', c.d);
          const dy = random(y.shape, 6);
          const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad, 'NHWC', c.d))([x, w], dy);
          const ws = spread(w, c.d[0], c.d[1]);
          const [rx, rws] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad))([x, ws], dy);
          assert.ok(maxRel(dx!, rx!) < 1e-5, `dx ${maxRel(dx!, rx!)}`);
          assert.ok(maxRel(dw!, gather(rws as tf.Tensor4D, c.k[0], c.k[1], c.d[0], c.d[1])) < 1e-5, 'dw');
        });
      });
    }

    it('a model with dilated Conv1D and Conv2D layers trains (model.fit), and the undilated gradient is unchanged', async function () {
      const seq = tf.sequential();
      seq.add(tf.layers.conv1d({ inputShape: [32, 3], filters: 8, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu' }));
      seq.add(tf.layers.conv1d({ filters: 8, kernelSize: 3, dilationRate: 4, padding: 'same', activation: 'relu' }));
      seq.add(tf.layers.reshape({ targetShape: [32, 8, 1] }));
      seq.add(tf.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'valid', activation: 'relu' }));
      seq.add(tf.layers.flatten());
      seq.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
      seq.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
      const x = random([64, 32, 3], 7);
      const labels = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => (x.slice([i, 0, 0], [1, 8, 1]).sum().arraySync() as number) > 0 ? 1 : 0), 'int32'), 2);
      const h = await seq.fit(x, labels, { epochs: 8, batchSize: 16, verbose: 0, shuffle: false });
      const losses = h.history['loss'] as number[];
      assert.ok(losses.every(Number.isFinite));
      assert.ok(losses[losses.length - 1]! < losses[0]!, `loss ${losses[0]} -> ${losses[losses.length - 1]}`);
      tf.dispose([x, labels]);
      seq.dispose();
      // Dilation 1 (here with stride 2) still takes tfjs-core's gradient: the backprop kernels' values exactly.
      tf.tidy(() => {
        const a = random([2, 7, 7, 2], 8) as tf.Tensor4D;
        const b = random([3, 3, 2, 3], 9) as tf.Tensor4D;
        const dy = random(tf.conv2d(a, b, 2, 'same').shape, 10);
        const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 2, 'same'))([a, b], dy);
        const attrs = { strides: [2, 2], pad: 'same', dataFormat: 'NHWC' };
        const ra = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: b }, { ...attrs, inputShape: a.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
        const rb = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: a, dy }, { ...attrs, filterShape: b.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
        assert.deepEqual(Array.from(ga!.dataSync()), Array.from(ra.dataSync()));
        assert.deepEqual(Array.from(gb!.dataSync()), Array.from(rb.dataSync()));
      });
    });
  });
}
