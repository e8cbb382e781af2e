import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { VARIANTS } from '../../src/core/laurel/variants';
import { ColumnOrthogonal } from '../../src/laurel/initializers';
import { LaurelResidual, registerLaurelLayers } from '../../src/laurel/laurelResidual';
import { DENSE, NHWC, PA_MODES, assertClose, data, inputsFor, isPa, opts, plus, rand, reference, scale, setWeights, symbolicModel, weightNamed } from './laurelLayerReference';

// The TF.js LaurelResidual layer's values against the hand reference of laurelLayerReference.ts, alone and in models.

describe('LaurelResidual (tfjs layer): numerics and models', () => {
  before(async () => {
    await tf.setBackend('cpu');
    registerLaurelLayers();
  });

  describe('numerics against hand computation', () => {
    const D = 8;

    it('LR at step 0 (B = 0) equals f + x, dense and NHWC', () => {
      for (const shape of [DENSE, NHWC]) {
        const layer = new LaurelResidual({ variant: 'lr', rank: 4 });
        const [f, x] = inputsFor('lr', shape) as [tf.Tensor, tf.Tensor];
        const y = layer.apply([f, x]) as tf.Tensor;
        assert.ok(data(layer.weights[0]!.read()).some((a) => a !== 0), 'A is not zero');
        assert.ok(data(weightNamed(layer, 'lr_up').read()).every((b) => b === 0), 'B starts at zero');
        assertClose(data(y), plus(data(f), data(x)), 1e-6);
      }
    });

    it('RW with equal logits gives 0.5 f + 0.5 x; sigmoid θ = 0 the same; fixed gives (f + x)/√2', () => {
      const [f, x] = inputsFor('rw', DENSE) as [tf.Tensor, tf.Tensor];
      const half = plus(scale(data(f), 0.5), scale(data(x), 0.5));
      const soft = new LaurelResidual({ variant: 'rw' });
      soft.apply([f, x]);
      soft.setWeights([tf.tensor1d([0.7, 0.7])]);
      assertClose(data(soft.apply([f, x]) as tf.Tensor), half);
      assertClose(data(new LaurelResidual({ variant: 'rw', rwNorm: 'sigmoid-single' }).apply([f, x]) as tf.Tensor), half);
      const fixed = new LaurelResidual({ variant: 'rw', rwNorm: 'fixed' }).apply([f, x]) as tf.Tensor;
      assertClose(data(fixed), scale(plus(data(f), data(x)), Math.SQRT1_2));
      // logits [ln 3, 0]: α = 3/4, β = 1/4.
      soft.setWeights([tf.tensor1d([Math.log(3), 0])]);
      assertClose(data(soft.apply([f, x]) as tf.Tensor), plus(scale(data(f), 0.75), scale(data(x), 0.25)));
    });

    it('PA identity with γ = 1 equals f + x + Σ x_{i-j}, also with a short history', () => {
      const [f, x, p1, p2] = inputsFor('pa', NHWC) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const layer = new LaurelResidual({ variant: 'pa', k: 3, paMode: 'identity' });
      const full = layer.apply([f, x, p1, p2]) as tf.Tensor;
      // j = 0 is x_i itself, so x appears twice.
      assertClose(data(full), plus(plus(plus(plus(data(f), data(x)), data(x)), data(p1)), data(p2)));
      const short = layer.apply([f, x, p1]) as tf.Tensor;
      assertClose(data(short), plus(plus(plus(data(f), data(x)), data(x)), data(p1)));
      const none = layer.apply([f, x]) as tf.Tensor;
      assertClose(data(none), plus(plus(data(f), data(x)), data(x)));
      assert.throws(() => layer.apply([f, x, p1, p2, p2]), /takes 2 to 4 inputs .*got 5/);
    });

    it('LR with set weights equals x + x·A·B + f by explicit matrix products', () => {
      const r = 2;
      const a = [1, 0, 0, 1, 1, 1, -1, 0, 0.5, 0.5, 0, 2, 0, 0, 1, -1]; // [8, 2]
      const b = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, -1, 0, 1, 0, -1, 0, 1, 0]; // [2, 8]
      const x = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]]);
      const f = tf.tensor2d([[0, 0, 0, 0, 1, 1, 1, 1]]);
      const layer = new LaurelResidual({ variant: 'lr', rank: r });
      layer.apply([f, x]);
      setWeights(layer, { lr_down: a, lr_up: b });
      // x·A = [1 + 3 - 4 + 2.5 + 8, 2 + 3 + 2.5 + 12 - 8] = [10.5, 11.5]; (x·A)·B[c] = 10.5·B[0,c] + 11.5·B[1,c].
      const xa = [10.5, 11.5];
      const xab = Array.from({ length: 8 }, (_, c) => xa[0]! * b[c]! + xa[1]! * b[8 + c]!);
      const want = [1, 2, 3, 4, 5, 6, 7, 8].map((xi, c) => xi + xab[c]! + (c >= 4 ? 1 : 0));
      assertClose(data(layer.apply([f, x]) as tf.Tensor), Float32Array.from(want));
    });

    it('Gemma with known weights matches a hand RMSNorm', () => {
      const r = 1;
      const x = tf.tensor2d([[1, -1, 2, 0, 0, 1, 0, 3]]);
      const f = tf.tensor2d([[1, 1, 1, 1, 1, 1, 1, 1]]);
      const layer = new LaurelResidual({ variant: 'gemma', rank: r });
      layer.apply([f, x]);
      const a = [1, 0, 0, 0, 0, 0, 0, 0]; // u·A = u[0]
      const b = [2, 0, 0, 0, 0, 0, 0, -2]; // u·A·B = [2u0, 0, ..., -2u0]; mean square = u0²
      const w = [1, 1, 1, 1, 1, 1, 1, 0.5];
      setWeights(layer, { lr_down: a, lr_up: b, gemma_norm_scale: w });
      const xs = [1, -1, 2, 0, 0, 1, 0, 3];
      const u = xs.map((xi) => xi / Math.sqrt(16 / 8 + 1e-6)); // n = x/rms(x): mean square of x is 16/8
      const inv = 1 / Math.sqrt(u[0]! ** 2 + 1e-6);
      const n = [2 * u[0]! * inv, 0, 0, 0, 0, 0, 0, -2 * u[0]! * inv * 0.5];
      const want = xs.map((xi, c) => (1 + xi + u[c]! + n[c]!) * Math.SQRT1_2);
      assertClose(data(layer.apply([f, x]) as tf.Tensor), Float32Array.from(want), 1e-5);
    });

    it('Gemma starts with a non-zero B and unit norm scale', () => {
      const layer = new LaurelResidual({ variant: 'gemma', rank: 4 });
      layer.build([
        [null, D],
        [null, D],
      ]);
      assert.ok(data(weightNamed(layer, 'lr_up').read()).some((b) => b !== 0));
      assert.ok(data(weightNamed(layer, 'gemma_norm_scale').read()).every((s) => s === 1));
    });

    it('column-orthogonal A is 1/sqrt(r·D) where i mod r == j', () => {
      const layer = new LaurelResidual({ variant: 'lr', rank: 3, lrInit: 'column-orthogonal' });
      layer.build([
        [null, D],
        [null, D],
      ]);
      const a = data(weightNamed(layer, 'lr_down').read());
      for (let i = 0; i < D; i++)
        for (let j = 0; j < 3; j++) assert.equal(a[i * 3 + j], i % 3 === j ? Math.fround(1 / Math.sqrt(24)) : 0, `A[${i},${j}]`);
      assert.throws(() => new ColumnOrthogonal().apply([4]), /expected a 2-D shape/);
    });

    for (const v of VARIANTS)
      for (const shape of [DENSE, NHWC])
        for (const o of v === 'pa' || v === 'rw+pa' ? PA_MODES.map((paMode) => opts({ paMode, rwNorm: 'sigmoid-single' })) : [opts()])
          it(`${v}${isPa(v) ? ` (${v === 'rw+lr+pa' ? 'per-j pairs' : o.paMode})` : ''} with random weights on [${shape}] follows its equation`, () => {
            const layer = new LaurelResidual({ variant: v, ...o });
            const ins = inputsFor(v, shape);
            layer.apply(ins);
            const w = setWeights(layer);
            const want = reference(v, o, w, ins.map(data), shape[shape.length - 1]!);
            assertClose(data(layer.apply(ins) as tf.Tensor), want, 1e-4, v);
          });

    it('honours branch_index / shortcut_index', () => {
      const [f, x, p] = inputsFor('rw+pa', DENSE, 1) as [tf.Tensor, tf.Tensor, tf.Tensor];
      const o = opts({ paMode: 'identity', k: 2 });
      const layer = new LaurelResidual({ variant: 'rw+pa', ...o, branchIndex: 2, shortcutIndex: 0 });
      layer.apply([x, p, f]);
      const w = setWeights(layer);
      assertClose(data(layer.apply([x, p, f]) as tf.Tensor), reference('rw+pa', o, w, [data(f), data(x), data(p)], 8));
    });
  });

  describe('models', () => {
    for (const v of VARIANTS)
      for (const shape of [DENSE, NHWC])
        it(`${v} on [${shape}]: toJSON -> modelFromJSON keeps config and outputs; predict leaks nothing`, async () => {
          const o = opts({ rwNorm: v === 'rw' ? 'sigmoid-single' : 'softmax' });
          const layer = new LaurelResidual({ variant: v, ...o, name: 'laurel_site' });
          const ins = inputsFor(v, shape);
          const model = symbolicModel(layer, shape, ins.length);
          setWeights(layer);
          const json = model.toJSON(null, false) as Parameters<typeof tf.models.modelFromJSON>[0];
          const loaded = await tf.models.modelFromJSON(json);
          const twin = loaded.getLayer('laurel_site');
          assert.ok(twin instanceof LaurelResidual);
          assert.deepEqual(twin.getConfig(), layer.getConfig());
          assert.equal(twin.countParams(), layer.countParams());
          loaded.setWeights(model.getWeights());
          const y0 = model.predict(ins) as tf.Tensor;
          const y1 = loaded.predict(ins) as tf.Tensor;
          assertClose(data(y1), data(y0), 1e-6);
          tf.dispose([y0, y1]);

          const before = tf.memory().numTensors;
          tf.dispose(model.predict(ins) as tf.Tensor);
          assert.equal(tf.memory().numTensors, before, 'tensors leaked by predict');
          tf.dispose(layer.apply(ins) as tf.Tensor);
          assert.equal(tf.memory().numTensors, before, 'tensors leaked by an eager call');
          tf.dispose(ins);
        });

    it('a file config with snake_case keys and a nested laurel object loads', async () => {
      const layer = new LaurelResidual({ variant: 'rw', name: 'site' });
      const model = symbolicModel(layer, DENSE, 2);
      const json = model.toJSON(null, false) as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
      const entry = json.config.layers.find((l) => l.class_name === 'LaurelResidual');
      assert.ok(entry);
      assert.equal(entry.config['rw_norm'], 'softmax', 'snake_case on disk');
      entry.config['laurel'] = { variant: 'rw+lr', rank: 2, rw_norm: 'sigmoid-single', lr_init: 'column-orthogonal' };
      const loaded = await tf.models.modelFromJSON(json as unknown as Parameters<typeof tf.models.modelFromJSON>[0]);
      const twin = loaded.getLayer('site') as LaurelResidual;
      assert.deepEqual(
        { ...twin.settings },
        { variant: 'rw+lr', rank: 2, k: 3, rwNorm: 'sigmoid-single', lrInit: 'column-orthogonal', paMode: 'identity', branchIndex: 0, shortcutIndex: 1 },
      );
      assert.equal(twin.countParams(), 2 * 2 * 8 + 1);
    });

    for (const v of VARIANTS.filter((v) => v !== 'plain'))
      it(`${v}: a tiny fit moves every weight and lowers the loss`, async () => {
        const o = opts({ k: 3, rank: 2, paMode: v === 'pa' ? 'lowrank-per-j' : v === 'rw+pa' ? 'lowrank-shared' : 'identity' });
        const layer = new LaurelResidual({ variant: v, ...o });
        const shape = [16, 6];
        const ins = inputsFor(v, shape);
        const model = symbolicModel(layer, shape, ins.length);
        const target = rand(shape, 2);
        model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
        const start = layer.weights.map((w) => data(w.read()).slice());
        const hist = await model.fit(ins, target, { epochs: 12, batchSize: 16, verbose: 0, shuffle: false });
        const loss = hist.history['loss'] as number[];
        assert.ok(loss[loss.length - 1]! < loss[0]!, `loss ${loss[0]} -> ${loss[loss.length - 1]}`);
        layer.weights.forEach((w, i) => {
          const moved = data(w.read()).some((val, n) => val !== start[i]![n]);
          assert.ok(moved, `${w.originalName} did not change`);
        });
        for (const w of layer.weights.filter((w) => /(lr|pa)_up/.test(w.originalName)))
          assert.ok(data(w.read()).some((b) => b !== 0), `${w.originalName} is still zero`);
      });

    it('a conv model with two LAuReL sites trains one epoch and reloads from JSON', async () => {
      const input = tf.input({ shape: [4, 4, 6] });
      const conv = (t: tf.SymbolicTensor, name: string): tf.SymbolicTensor =>
        tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name }).apply(t) as tf.SymbolicTensor;
      const x1 = new LaurelResidual({ variant: 'rw+lr', rank: 2, name: 'site1' }).apply([conv(input, 'conv1'), input]) as tf.SymbolicTensor;
      // The second site looks back at the block input x0 as x_{i-1}.
      const x2 = new LaurelResidual({ variant: 'rw+lr+pa', rank: 2, k: 2, name: 'site2' }).apply([
        conv(x1, 'conv2'),
        x1,
        input,
      ]) as tf.SymbolicTensor;
      const pooled = tf.layers.globalAveragePooling2d({}).apply(x2) as tf.SymbolicTensor;
      const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(pooled) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: out });
      assert.equal(model.getLayer('site1').countParams(), 2 * 2 * 6 + 2);
      assert.equal(model.getLayer('site2').countParams(), 2 * 2 * 2 * 6 + 2 + 2);
      model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
      const xs = rand([8, 4, 4, 6]);
      const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
      const hist = await model.fit(xs, ys, { epochs: 1, batchSize: 4, verbose: 0 });
      assert.ok(Number.isFinite(hist.history['loss']![0] as number));

      const loaded = await tf.models.modelFromJSON(model.toJSON(null, false) as Parameters<typeof tf.models.modelFromJSON>[0]);
      loaded.setWeights(model.getWeights());
      const y0 = model.predict(xs) as tf.Tensor;
      const y1 = loaded.predict(xs) as tf.Tensor;
      assertClose(data(y1), data(y0), 1e-6);
      assert.deepEqual(loaded.getLayer('site2').getConfig(), model.getLayer('site2').getConfig());
    });
  });
});
