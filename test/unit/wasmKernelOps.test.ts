import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { replacedUpstreamKernels } from '../../src/trainer/wasmKernels';
import { assertClose, compareGrads, on, onWasm, randomArray, relDiff } from './wasmGradCheck';

// tfjs-backend-wasm with our gradient kernels: tile, matMul, pooling, batch norm and dense gradients equal to the cpu
// backend's, no leaked buffers, and a small conv net trained by model.fit alike.

describe('wasm gradient kernels: tile, matMul, pooling, batch norm, dense, leaks, model.fit', function () {
  onWasm();

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
