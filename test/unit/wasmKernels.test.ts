import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/trainer/backend';
import { conv2dFilterGrad, conv2dInputGrad, depthwiseFilterGrad, depthwiseInputGrad } from '../../src/trainer/kernels/convGrads';
import { mulberry32 } from '../../src/core/random';
import { TRAINING_KERNELS, WASM_GRADIENT_KERNELS, WASM_REPLACED_KERNELS, missingKernels, registerWasmGradientKernels, replacedUpstreamGradients, replacedUpstreamKernels } from '../../src/trainer/wasmKernels';

const TOL = 1e-4;
let worst = 0;

const rng = mulberry32;

function randomArray(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Runs `fn` with `backend` active and returns the values of the tensors it produces. */
function on(backend: string, fn: () => tf.Tensor[]): Float32Array[] {
  assert.ok(tf.setBackend(backend) !== undefined);
  assert.equal(tf.getBackend(), backend);
  return tf.tidy(() => fn().map((t) => t.dataSync() as Float32Array));
}

/** Largest difference relative to the reference's scale: max|a-b| / max|b|. */
function relDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

function assertClose(got: Float32Array[], want: Float32Array[], label: string): void {
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    const d = relDiff(g, want[i]);
    worst = Math.max(worst, d);
    assert.ok(Number.isFinite(d) && d <= TOL, `${label} [${i}]: relative difference ${d.toExponential(2)} > ${TOL}`);
  });
}

/** Spreads a [kh, kw, ...] filter to dilation d by inserting zeros: conv(x, f, dilation d) = conv(x, dilateFilter(f, d)). */
function dilateFilter(f: tf.Tensor4D, d: number): tf.Tensor4D {
  const [kh, kw, a, b] = f.shape;
  const spread = tf.reshape(tf.pad(tf.reshape(f, [kh, 1, kw, 1, a * b]), [[0, 0], [0, d - 1], [0, 0], [0, d - 1], [0, 0]]), [kh * d, kw * d, a, b]);
  return tf.slice(spread, [0, 0, 0, 0], [(kh - 1) * d + 1, (kw - 1) * d + 1, a, b]) as tf.Tensor4D;
}

/** The taps of a dilated filter's gradient that belong to the original filter. */
function undilate(g: tf.Tensor4D, d: number): tf.Tensor4D {
  return tf.stridedSlice(g, [0, 0, 0, 0], g.shape, [d, d, 1, 1]) as tf.Tensor4D;
}

/** Gradients of sum(f(inputs) * r) for a fixed random r, on wasm and cpu. */
function compareGrads(label: string, shapes: number[][], seed: number, f: (...xs: tf.Tensor[]) => tf.Tensor): void {
  const run = (): tf.Tensor[] => {
    const xs = shapes.map((s, i) => tf.tensor(randomArray(size(s), seed + i), s));
    const outShape = f(...xs).shape;
    const r = tf.tensor(randomArray(size(outShape), seed + 99), outShape);
    const grads = tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(f(...ys), r)) as tf.Scalar)(xs);
    return [f(...xs), ...grads];
  };
  assertClose(on('wasm', run), on('cpu', run), label);
}

describe('wasm gradient kernels', function () {
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

  describe('tile and matMul', function () {
    // Repetition patterns of LayerNormalization ([B,T,1] x [1,1,C], [1,1,C] x [B,T,1]) and BatchNorm's
    // gradient ([1,1,1,C] x [B,H,W,1]), plus general ones: the 8-run [2,2,2,2] x [2,2,2,2] exceeds the
    // broadcast rank and takes the concat path.
    const tiles: Array<[number[], number[]]> = [
      [[4, 3, 1], [1, 1, 5]], [[1, 1, 6], [4, 3, 1]], [[1, 1, 1, 5], [2, 4, 3, 1]], [[7], [3]], [[3, 4], [2, 5]],
      [[2, 3, 2, 3], [2, 1, 2, 1]], [[2, 2, 2, 2], [2, 2, 2, 2]], [[2, 3], [1, 1]], [[2, 1, 3, 2], [1, 3, 2, 2]],
    ];
    for (const [shape, reps] of tiles) {
      it(`tile [${shape}] x [${reps}] and its gradient match cpu`, function () {
        compareGrads('tile', [shape], 900 + shape.length, (x) => tf.tile(x, reps));
      });
    }

    it('tile keeps int32 and bool values, -0, NaN and Infinity', function () {
      const run = () => [
        tf.tile(tf.tensor2d([[1, -2], [3, 4]], [2, 2], 'int32'), [3, 2]),
        tf.cast(tf.tile(tf.tensor2d([[1, 0, 1]], [1, 3], 'bool'), [2, 2]), 'float32'),
        tf.tile(tf.tensor3d([-0, NaN, Infinity, -Infinity], [1, 1, 4]), [2, 3, 1]),
      ];
      const got = on('wasm', run);
      const want = on('cpu', run);
      got.forEach((g, i) => assert.deepEqual(Array.from(g), Array.from(want[i]!)));
      assert.ok(Object.is(got[2]![4], -0), '-0 stays -0');
    });

    it('the cpu backend keeps the tfjs-core Tile gradient', function () {
      assert.ok(tf.setBackend('cpu'));
      const slices = (): number => {
        let count = 0;
        const original = tf.getKernel('Slice', 'cpu')!;
        tf.unregisterKernel('Slice', 'cpu');
        tf.registerKernel({ ...original, kernelFunc: (args) => (count++, original.kernelFunc(args)) });
        try {
          tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.tile(x, [3, 2])))(tf.ones([2, 2])).dataSync());
        } finally {
          tf.unregisterKernel('Slice', 'cpu');
          tf.registerKernel(original);
        }
        return count;
      };
      assert.equal(slices(), 6, 'one slice per repetition, as tfjs-core does');
    });

    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      it(`matMul transposeA=${ta} transposeB=${tb} and its gradients match cpu (rank 2, 3; broadcast batch forward)`, function () {
        const m = (r: number, c: number, t: boolean): number[] => (t ? [c, r] : [r, c]);
        compareGrads('matMul 2d', [m(6, 5, ta), m(5, 7, tb)], 950, (a, b) => tf.matMul(a, b, ta, tb));
        compareGrads('matMul 3d', [[3, ...m(4, 5, ta)], [3, ...m(5, 2, tb)]], 951, (a, b) => tf.matMul(a, b, ta, tb));
        // Forward only: tfjs-core's BatchMatMul gradient does not reduce broadcast batch axes (any backend).
        const run = () => [tf.matMul(tf.tensor3d(randomArray(20, 952), [1, ...m(4, 5, ta)] as [number, number, number]), tf.tensor3d(randomArray(30, 953), [2, ...m(5, 3, tb)] as [number, number, number]), ta, tb)];
        assertClose(on('wasm', run), on('cpu', run), 'matMul broadcast');
      });
    }

    it('fused matMul with bias and relu (the Dense path) matches cpu', function () {
      compareGrads('fused matMul', [[8, 6], [6, 5], [5]], 960, (a, b, bias) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation: 'relu' }));
    });

    it('layer normalization on [B, T, C] (tiled moments and scale) matches cpu', function () {
      compareGrads('layerNorm', [[4, 5, 6]], 970, (x) => {
        const layer = tf.layers.layerNormalization({ axis: -1 });
        return layer.apply(x) as tf.Tensor;
      });
    });
  });

  describe('pooling, batch norm, dense', function () {
    // Stride = size takes the reshape path (with -Infinity padding for 'same' on odd sizes, cropping for 'valid').
    for (const [k, s, pad] of [[2, 2, 'valid'], [2, 2, 'same'], [3, 3, 'valid'], [3, 3, 'same'], [3, 2, 'same'], [3, 1, 'same'], [2, 1, 'valid']] as Array<[number, number, 'same' | 'valid']>) {
      it(`maxPool and avgPool k${k} s${s} ${pad} match cpu`, function () {
        compareGrads('maxPool', [[2, 9, 8, 3]], 500 + k * 10 + s, (x) => tf.maxPool(x as tf.Tensor4D, k, s, pad));
        compareGrads('avgPool', [[2, 9, 8, 3]], 600 + k * 10 + s, (x) => tf.avgPool(x as tf.Tensor4D, k, s, pad));
      });
    }

    it('maxPool gradient routes ties to the first maximum, like cpu (ReLU zeros)', function () {
      compareGrads('maxPool ties', [[2, 8, 8, 4]], 520, (x) => tf.maxPool(tf.relu(tf.sub(x, 0.6)) as tf.Tensor4D, 2, 2, 'same'));
      compareGrads('maxPool ties overlapping', [[2, 7, 7, 2]], 521, (x) => tf.maxPool(tf.round(tf.mul(x, 2)) as tf.Tensor4D, 3, 2, 'same'));
    });

    it('the upstream wasm MaxPoolGrad is wrong for negative windows (why it is replaced)', function () {
      const original = replacedUpstreamKernels().get('MaxPoolGrad');
      assert.ok(original, 'the upstream kernel was kept');
      const ours = tf.getKernel('MaxPoolGrad', 'wasm') as tf.KernelConfig;
      const run = () => {
        const x = tf.neg(tf.add(tf.tensor4d(randomArray(2 * 6 * 6 * 2, 530), [2, 6, 6, 2]), 2));
        return [tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(x)];
      };
      const want = on('cpu', run);
      tf.unregisterKernel('MaxPoolGrad', 'wasm');
      tf.registerKernel(original);
      let upstreamDiff: number;
      try {
        upstreamDiff = relDiff(on('wasm', run)[0], want[0]);
      } finally {
        tf.unregisterKernel('MaxPoolGrad', 'wasm');
        tf.registerKernel(ours);
      }
      // If a tfjs-backend-wasm upgrade fixes it, this fails: then drop the replacement.
      assert.ok(upstreamDiff > 0.1, `upstream MaxPoolGrad now agrees with cpu (${upstreamDiff})`);
      assertClose(on('wasm', run), want, 'maxPool negative');
    });

    it('activations used in conv nets match cpu', function () {
      const acts: Array<[string, (x: tf.Tensor) => tf.Tensor]> = [
        ['elu', tf.elu], ['selu', tf.selu], ['leakyRelu', (x) => tf.leakyRelu(x, 0.1)], ['relu6', tf.relu6],
        ['sigmoid', tf.sigmoid], ['tanh', tf.tanh], ['softplus', tf.softplus],
      ];
      for (const [name, fn] of acts) compareGrads(name, [[3, 17]], 540, (x) => fn(tf.mul(x, 4)));
      compareGrads('prelu', [[3, 17], [17]], 541, (x, a) => tf.prelu(tf.mul(x, 4), a));
    });

    it('separableConv2d, conv2dTranspose and resizeBilinear match cpu', function () {
      compareGrads('separable', [[2, 9, 9, 3], [3, 3, 3, 2], [1, 1, 6, 5]], 560, (x, dw, pw) =>
        tf.separableConv2d(x as tf.Tensor4D, dw as tf.Tensor4D, pw as tf.Tensor4D, 2, 'same'));
      compareGrads('conv2dTranspose', [[2, 5, 5, 4], [3, 3, 3, 4]], 561, (x, f) =>
        tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, [2, 10, 10, 3], 2, 'same'));
      // Square only: the cpu ResizeBilinearGrad (4.22) returns H and W swapped for non-square images.
      compareGrads('resizeBilinear', [[2, 5, 5, 3]], 562, (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [9, 9]));
    });

    it('batch norm with batch statistics matches cpu', function () {
      compareGrads('batchNorm', [[4, 5, 5, 3], [3], [3]], 700, (x, gamma, beta) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
      });
    });

    it('batch norm with moving statistics matches cpu', function () {
      compareGrads('batchNorm moving', [[3, 4, 4, 5], [5], [5], [5], [5]], 710, (x, mean, v, beta, gamma) =>
        tf.batchNorm(x, mean, tf.add(tf.abs(v), 0.5), beta, gamma, 1e-3));
    });

    it('dense + relu + softmax cross-entropy matches cpu', function () {
      compareGrads('dense', [[6, 10], [10, 7], [7]], 800, (x, w, b) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32'), 7), tf.relu(tf.add(tf.matMul(x, w), b))));
    });
  });

  it('does not leak tensors or wasm buffers', function () {
    tf.setBackend('wasm');
    // With IS_TEST the engine checks every kernel for buffers it leaves behind.
    tf.env().set('IS_TEST', true);
    try {
      const x = tf.tensor4d(randomArray(2 * 8 * 8 * 3, 1), [2, 8, 8, 3]);
      const f = tf.tensor4d(randomArray(3 * 3 * 3 * 6, 2), [3, 3, 3, 6]);
      const df = tf.tensor4d(randomArray(3 * 3 * 3 * 2, 3), [3, 3, 3, 2]);
      const step = () => tf.tidy(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
          const sum = tf.add(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), tf.depthwiseConv2d(a as tf.Tensor4D, c as tf.Tensor4D, 2, 'same'));
          // Tile (broadcast and reps-all-one paths) and transposed matMuls go through our kernels too.
          const tiled = tf.add(tf.sum(tf.tile(c, [1, 1, 1, 2])), tf.sum(tf.tile(c, [1, 1, 1, 1])));
          const w2 = tf.reshape(b, [27, 6]);
          const products = tf.sum(tf.matMul(w2, w2, true, false));
          return tf.add(tf.sum(tf.maxPool(sum as tf.Tensor4D, 2, 2, 'valid')), tf.add(tiled, products)) as tf.Scalar;
        })([x, f, df]);
        g.forEach((t) => t.dataSync());
      });
      step();
      const before = { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
      for (let i = 0; i < 5; i++) step();
      assert.deepEqual({ tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() }, before);
      // The inputs survive (their buffers were borrowed, not freed, by the composed kernels).
      assert.equal(x.dataSync().length, 2 * 8 * 8 * 3);
      tf.dispose([x, f, df]);
    } finally {
      tf.env().set('IS_TEST', false);
    }
  });

  describe('training a tiny conv net with model.fit', function () {
    function buildModel(): tf.Sequential {
      const model = tf.sequential();
      model.add(tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
      model.add(tf.layers.batchNormalization());
      model.add(tf.layers.activation({ activation: 'relu' }));
      model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      model.add(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
      model.add(tf.layers.flatten());
      model.add(tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
      model.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy' });
      return model;
    }

    async function train(backend: string, weights: Float32Array[] | null, epochs: number) {
      await tf.setBackend(backend);
      const model = buildModel();
      if (weights) model.setWeights(model.getWeights().map((w, i) => tf.tensor(weights[i], w.shape)));
      const initial = model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
      const n = 16;
      const x = tf.tensor4d(randomArray(n * 12 * 12 * 3, 900), [n, 12, 12, 3]);
      const labels = Array.from({ length: n }, (_, i) => i % 4);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 4);
      const history = await model.fit(x, y, { epochs, batchSize: n, shuffle: false, verbose: 0 });
      const after1 = model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
      tf.dispose([x, y]);
      model.dispose();
      return { losses: history.history.loss as number[], initial, after: after1 };
    }

    it('loss falls on wasm and step 1 matches cpu', async function () {
      tf.env().set('IS_TEST', false);
      const cpu1 = await train('cpu', null, 1);
      const wasm1 = await train('wasm', cpu1.initial, 1);
      // Same initial weights, one full-batch SGD step: losses and updated weights agree. (The conv has
      // no bias: before BatchNorm its gradient is zero up to rounding, which no relative test can compare.)
      assert.ok(Math.abs(wasm1.losses[0] - cpu1.losses[0]) <= 1e-4 * Math.abs(cpu1.losses[0]), `step-1 loss wasm ${wasm1.losses[0]} vs cpu ${cpu1.losses[0]}`);
      assertClose(wasm1.after, cpu1.after, 'weights after one step');
      const wasm = await train('wasm', cpu1.initial, 8);
      console.log(`      wasm losses: ${wasm.losses.map((l) => l.toFixed(4)).join(' ')}`);
      assert.ok(wasm.losses[wasm.losses.length - 1] < wasm.losses[0] * 0.9, 'loss falls');
      tf.env().set('IS_TEST', true);
    });
  });
});
