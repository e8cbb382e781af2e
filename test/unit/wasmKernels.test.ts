import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { conv2dFilterGrad, conv2dInputGrad, depthwiseFilterGrad, depthwiseInputGrad } from '../../src/trainer/kernels/convGrads';
import { TRAINING_KERNELS, WASM_GRADIENT_KERNELS, WASM_REPLACED_KERNELS, missingKernels, registerWasmGradientKernels, replacedUpstreamGradients, replacedUpstreamKernels } from '../../src/trainer/wasmKernels';
import { assertClose, compareGrads, dilateFilter, on, onWasm, randomArray, size, undilate } from './wasmGradCheck';

// tfjs-backend-wasm with our gradient kernels (src/trainer/kernels): which it supplies, and conv2d / depthwise
// gradients equal to the cpu backend's (wasmKernelOps.test.ts: the other kernels, leaks, training).

describe('wasm gradient kernels', function () {
  onWasm();

  it('supplies exactly the training kernels tfjs-backend-wasm lacks', function () {
    const supplied = WASM_GRADIENT_KERNELS.map((k) => k.kernelName).sort();
    assert.deepEqual(supplied, ['BatchMatMul', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'MaxPoolGrad', 'Tile', 'UnsortedSegmentSum']);
    const mark = Symbol.for('laurel-studio.wasmGradientKernel');
    for (const k of WASM_GRADIENT_KERNELS) {
      const fn = tf.getKernel(k.kernelName, 'wasm')?.kernelFunc as unknown as Record<symbol, unknown>;
      assert.equal(fn[mark], true, `${k.kernelName} is ours`);
    }
    assert.deepEqual(missingKernels('wasm'), []);
    // Everything the list names is a real kernel (the cpu backend has all of them).
    assert.deepEqual(missingKernels('cpu', TRAINING_KERNELS), []);
    for (const k of supplied) assert.ok(tf.getKernel(k, 'cpu'), `${k} exists on cpu`);
  });

  it('UnsortedSegmentSum (the Gather gradient of an Embedding) equals cpu, ids out of range dropped', function () {
    const run = (): tf.Tensor[] => {
      const table = tf.tensor(randomArray(12 * 5, 7), [12, 5]);
      const ids = tf.tensor2d([[3, 0, 11, 3], [7, 3, 0, 2]], [2, 4], 'int32');
      const r = tf.tensor(randomArray(2 * 4 * 5, 8), [2, 4, 5]);
      const [g] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), r)) as tf.Scalar)([table]);
      const direct = tf.unsortedSegmentSum(tf.tensor(randomArray(6 * 3, 9), [6, 3]), tf.tensor1d([2, -1, 0, 2, 5, 9], 'int32'), 4);
      return [g!, direct];
    };
    assertClose(on('wasm', run), on('cpu', run), 'unsortedSegmentSum');
  });

  it('registers idempotently', function () {
    const again = registerWasmGradientKernels();
    assert.deepEqual(again.registered, []);
    assert.deepEqual(again.replaced, []);
    assert.deepEqual(again.gradients, []);
    assert.equal(again.present.length, WASM_GRADIENT_KERNELS.length);
    const mark = Symbol.for('laurel-studio.wasmGradientKernel');
    assert.equal((tf.getGradient('Tile')?.gradFunc as unknown as Record<symbol, unknown>)[mark], true, 'the Tile gradient is ours');
    assert.ok(replacedUpstreamGradients().get('Tile'), 'the tfjs-core Tile gradient was kept for other backends');
  });

  it('replaced exactly the upstream MaxPoolGrad, Conv2DBackpropInput, Tile and BatchMatMul, and kept them', function () {
    assert.deepEqual(WASM_REPLACED_KERNELS.map((k) => k.kernelName).sort(), ['BatchMatMul', 'Conv2DBackpropInput', 'MaxPoolGrad', 'Tile']);
    const mark = Symbol.for('laurel-studio.wasmGradientKernel');
    for (const k of WASM_REPLACED_KERNELS) {
      const upstream = replacedUpstreamKernels().get(k.kernelName);
      assert.ok(upstream, `${k.kernelName}: the upstream kernel was kept`);
      assert.notEqual((upstream.kernelFunc as unknown as Record<symbol, unknown>)[mark], true, `${k.kernelName}: kept kernel is upstream's`);
    }
  });

  describe('conv2d', function () {
    const cases: Array<{ b: number; h: number; w: number; cin: number; cout: number; k: [number, number]; s: number | [number, number]; pad: 'same' | 'valid' | number }> = [];
    for (const s of [1, 2] as const) {
      for (const pad of ['same', 'valid'] as const) {
        for (const k of [[1, 1], [2, 2], [3, 3], [5, 3]] as Array<[number, number]>) {
          cases.push({ b: 2, h: 9, w: 8, cin: 3, cout: 4, k, s, pad });
        }
      }
    }
    cases.push({ b: 3, h: 8, w: 8, cin: 1, cout: 2, k: [3, 3], s: [2, 1], pad: 'same' });
    cases.push({ b: 2, h: 7, w: 10, cin: 5, cout: 3, k: [4, 4], s: 2, pad: 'same' });
    cases.push({ b: 2, h: 7, w: 7, cin: 2, cout: 3, k: [3, 3], s: 2, pad: 1 });
    cases.push({ b: 1, h: 16, w: 16, cin: 8, cout: 16, k: [3, 3], s: 2, pad: 'same' });

    cases.forEach((c, i) => {
      it(`grads match cpu: b${c.b} ${c.h}x${c.w}x${c.cin} k${c.k.join('x')}x${c.cout} stride ${c.s} pad ${c.pad}`, function () {
        compareGrads('conv2d', [[c.b, c.h, c.w, c.cin], [c.k[0], c.k[1], c.cin, c.cout]], 100 + i * 7, (x, f) =>
          tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad));
      });
    });

    it('explicit padding matches cpu', function () {
      const pad: tf.backend_util.ExplicitPadding = [[0, 0], [1, 2], [0, 1], [0, 0]];
      compareGrads('conv2d explicit', [[2, 8, 9, 3], [3, 3, 3, 4]], 5, (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, pad));
    });

    it('fused conv2d with bias and relu (the layers path) matches cpu', function () {
      compareGrads('fused conv2d', [[2, 8, 8, 3], [3, 3, 3, 4], [4]], 11, (x, f, bias) =>
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 2, pad: 'same', bias, activation: 'relu' }));
    });

    // tfjs-core's Conv2D gradient rejects dilations > 1 on every backend, so the dilated filter gradient
    // is checked directly: conv with dilation d equals conv with the zero-dilated filter, whose cpu
    // gradient sampled every d-th tap is the reference.
    for (const [pad, d, k] of [['same', 2, 3], ['valid', 2, 3], ['same', 2, 2], ['valid', 3, 2]] as Array<['same' | 'valid', number, number]>) {
      it(`dilated filter gradient matches cpu: dilation ${d} k${k} ${pad}`, function () {
        const xs = [2, 11, 10, 3];
        const fs = [k, k, 3, 4];
        const make = () => ({ x: tf.tensor4d(randomArray(size(xs), 7), xs as [number, number, number, number]), f: tf.tensor4d(randomArray(size(fs), 8), fs as [number, number, number, number]) });
        const got = on('wasm', () => {
          const { x, f } = make();
          const y = tf.conv2d(x, f, 1, pad, 'NHWC', d);
          const dy = tf.tensor4d(randomArray(y.size, 9), y.shape);
          return [conv2dFilterGrad(x, dy, fs as [number, number, number, number], 1, pad, d)];
        });
        const want = on('cpu', () => {
          const { x, f } = make();
          const fd = dilateFilter(f, d);
          const y = tf.conv2d(x, fd, 1, pad);
          const dy = tf.tensor4d(randomArray(y.size, 9), y.shape);
          const g = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, w as tf.Tensor4D, 1, pad), dy)))(fd);
          return [undilate(g as tf.Tensor4D, d)];
        });
        assertClose(got, want, `dilated conv2d filter d${d}`);
      });
    }

    // Explicit NCHW padding lists [N, C, H, W]: the kernel reorders it for its NHWC composition.
    for (const [pad, dyShape] of [['same', [2, 4, 4, 4]], [[[0, 0], [0, 0], [1, 2], [0, 1]], [2, 4, 5, 3]]] as Array<[tf.backend_util.ExplicitPadding | 'same', number[]]>) {
      it(`matches cpu for NCHW data when run as a kernel (pad ${JSON.stringify(pad)})`, function () {
        const xs = [2, 3, 8, 7];
        const run = () => {
          const x = tf.tensor4d(randomArray(size(xs), 21), xs as [number, number, number, number]);
          const dy = tf.tensor4d(randomArray(size(dyShape), 22), dyShape as [number, number, number, number]);
          return [tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [2, 2], pad, dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] } as unknown as tf.NamedAttrMap) as tf.Tensor];
        };
        // The cpu kernel has NCHW too; our kernel transposes to NHWC.
        assertClose(on('wasm', run), on('cpu', run), 'conv2d filter NCHW');
      });
    }

    // The composed Conv2DBackpropInput called as a kernel, against the cpu backend's own kernel with the
    // same attrs: strides 1/2/(2,1), 'same'/'valid'/explicit/numeric padding, kernels 1-5, batch 1-3.
    describe('Conv2DBackpropInput kernel', function () {
      type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
      const backpropInput = (xShape: number[], dy: tf.Tensor, f: tf.Tensor, attrs: Record<string, unknown>): tf.Tensor =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { inputShape: xShape, ...attrs } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const outShape = (xShape: number[], fShape: number[], strides: number | [number, number], pad: Pad, dilations: number, nchw = false): number[] => {
        const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], fShape as [number, number, number, number], strides, dilations, pad, undefined, false, nchw ? 'channelsFirst' : 'channelsLast');
        return info.outShape;
      };
      const explicit: tf.backend_util.ExplicitPadding = [[0, 0], [1, 2], [0, 1], [0, 0]];
      const grid: Array<{ b: number; k: number; s: number | [number, number]; pad: Pad }> = [];
      let n = 0;
      for (const s of [1, 2, [2, 1]] as Array<number | [number, number]>) {
        for (const pad of ['same', 'valid', explicit] as Pad[]) {
          for (const k of [1, 2, 3, 4, 5]) grid.push({ b: 1 + (n++ % 3), k, s, pad });
        }
      }
      grid.push({ b: 2, k: 3, s: 2, pad: 1 }, { b: 3, k: 4, s: [1, 2], pad: 'same' }, { b: 1, k: 5, s: 3, pad: 'same' });
      grid.forEach((c, i) => {
        it(`b${c.b} k${c.k} stride ${c.s} pad ${JSON.stringify(c.pad)}`, function () {
          const xShape = [c.b, 9, 8, 3];
          const fShape = [c.k, c.k, 3, 4];
          const yShape = outShape(xShape, fShape, c.s, c.pad, 1);
          const run = () => [backpropInput(xShape, tf.tensor(randomArray(size(yShape), 1000 + i), yShape), tf.tensor(randomArray(size(fShape), 2000 + i), fShape), { strides: c.s, pad: c.pad, dataFormat: 'NHWC' })];
          assertClose(on('wasm', run), on('cpu', run), `conv2d input grad k${c.k} s${c.s} ${JSON.stringify(c.pad)}`);
        });
      });

      for (const [s, pad] of [[1, 'same'], [2, 'same'], [2, 'valid'], [2, [[0, 0], [0, 0], [1, 2], [0, 1]]]] as Array<[number, Pad]>) {
        it(`NCHW stride ${s} pad ${JSON.stringify(pad)}`, function () {
          const xShape = [2, 3, 8, 7];
          const fShape = [3, 3, 3, 4];
          const yShape = outShape(xShape, fShape, s, pad, 1, true);
          const run = () => [backpropInput(xShape, tf.tensor(randomArray(size(yShape), 31), yShape), tf.tensor(randomArray(size(fShape), 32), fShape), { strides: s, pad, dataFormat: 'NCHW' })];
          assertClose(on('wasm', run), on('cpu', run), `conv2d input grad NCHW s${s}`);
        });
      }

      // The cpu kernel ignores dilations; the reference is its dilation-1 result with the zero-dilated filter.
      for (const [d, k, s, pad] of [[2, 3, 1, 'same'], [2, 3, 1, 'valid'], [2, 2, 1, 'same'], [2, 5, 1, 'same'], [2, 3, 2, 'same'], [3, 2, 1, 'valid']] as Array<[number, number, number, Pad]>) {
        it(`dilation ${d} k${k} stride ${s} ${pad}`, function () {
          const xShape: [number, number, number, number] = [2, 11, 10, 3];
          const fShape: [number, number, number, number] = [k, k, 3, 4];
          const yShape = outShape(xShape, fShape, s, pad, d) as [number, number, number, number];
          const dy = () => tf.tensor4d(randomArray(size(yShape), 51), yShape);
          const f = () => tf.tensor4d(randomArray(size(fShape), 52), fShape);
          const got = on('wasm', () => [backpropInput(xShape, dy(), f(), { strides: s, pad, dilations: d, dataFormat: 'NHWC' }), conv2dInputGrad(xShape, dy(), f(), s, pad, d)]);
          const want = on('cpu', () => {
            const ref = backpropInput(xShape, dy(), dilateFilter(f(), d), { strides: s, pad, dataFormat: 'NHWC' });
            return [ref, ref];
          });
          assertClose(got, want, `conv2d input grad dilation ${d}`);
        });
      }
    });
  });

  describe('depthwiseConv2d', function () {
    const cases: Array<{ b: number; h: number; c: number; m: number; k: number; s: number; pad: 'same' | 'valid' }> = [];
    for (const s of [1, 2]) for (const pad of ['same', 'valid'] as const) for (const k of [1, 3, 4]) cases.push({ b: 2, h: 9, c: 3, m: 1, k, s, pad });
    cases.push({ b: 3, h: 8, c: 2, m: 3, k: 3, s: 2, pad: 'same' });
    cases.push({ b: 2, h: 7, c: 4, m: 2, k: 5, s: 1, pad: 'valid' });
    cases.forEach((c, i) => {
      it(`grads match cpu: b${c.b} ${c.h}x${c.h}x${c.c} k${c.k} x${c.m} stride ${c.s} pad ${c.pad}`, function () {
        compareGrads('depthwise', [[c.b, c.h, c.h + 1, c.c], [c.k, c.k, c.c, c.m]], 300 + i * 5, (x, f) =>
          tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad));
      });
    });

    // tfjs-core rejects depthwise gradients with dilation > 1, and the cpu backprop kernels ignore
    // dilation in their loops, so the reference is the dilation-1 gradient through the zero-dilated filter.
    for (const [pad, d, k, m] of [['same', 2, 3, 1], ['valid', 2, 3, 2], ['same', 3, 2, 2]] as Array<['same' | 'valid', number, number, number]>) {
      it(`dilation ${d} k${k} x${m} backprop helpers match cpu (${pad})`, function () {
        const xs: [number, number, number, number] = [2, 10, 9, 3];
        const fs: [number, number, number, number] = [k, k, 3, m];
        const inputs = () => ({ x: tf.tensor4d(randomArray(size(xs), 41), xs), f: tf.tensor4d(randomArray(size(fs), 42), fs) });
        const got = on('wasm', () => {
          const { x, f } = inputs();
          const y = tf.depthwiseConv2d(x, f, 1, pad, 'NHWC', d);
          const dy = tf.tensor4d(randomArray(y.size, 43), y.shape);
          return [y, depthwiseFilterGrad(x, dy, fs, 1, pad, d), depthwiseInputGrad(xs, dy, f, 1, pad, d)];
        });
        const want = on('cpu', () => {
          const { x, f } = inputs();
          const fd = dilateFilter(f, d);
          const y = tf.depthwiseConv2d(x, fd, 1, pad);
          const dy = tf.tensor4d(randomArray(y.size, 43), y.shape);
          const [gx, gf] = tf.grads((a: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, pad), dy)))([x, fd]);
          return [y, undilate(gf as tf.Tensor4D, d), gx];
        });
        assertClose(got, want, `depthwise dilation ${d} ${pad}`);
      });
    }
  });
});
