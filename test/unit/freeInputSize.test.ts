import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { freeInputSize } from '../../src/core/analysis/freeInputSize';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { fixBatchNormWithoutWeights } from '../../src/laurel/batchNormFix';
import { buildModel } from '../../src/laurel/buildModel';
import { FREE_DIM, generateSynthetic } from '../../src/trainer/data/synthetic';
import { planRun, taskOf } from '../../src/trainer/runSpec';
import { trainingModel } from '../../src/trainer/trainingGraph';
import { fixturePath } from './fixturePath';

const open = (file: string): OpenModel => openModel(file, readFileSync(fixturePath(file)));
const fromJson = (name: string, json: unknown): OpenModel => openModel(name, new TextEncoder().encode(JSON.stringify(json)));
const sizeOf = (m: OpenModel, preferred = FREE_DIM) => freeInputSize(m.doc, m.analysis, preferred);

/** The Keras 1 Inception v3 (keras.js) with its declared 299×299 input made free, as tensorspace's export has it. */
function kerasInceptionFree(): OpenModel {
  const json = JSON.parse(readFileSync(fixturePath('keras1-inceptionv3-kerasjs.json'), 'utf8')) as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
  const input = json.config.layers.find((l) => l.class_name === 'InputLayer')!;
  assert.deepEqual(input.config['batch_input_shape'], [null, 299, 299, 3]);
  input.config['batch_input_shape'] = [null, null, null, 3];
  return fromJson('inception-free.json', json);
}

/** x -> MaxPool(k, strides k) -> UpSampling(k) -> Concatenate with x: only multiples of k line up. */
function poolUpConcat(k: number): OpenModel {
  const layer = (cls: string, name: string, config: Record<string, unknown>, inputs: string[]) => ({ class_name: cls, name, config: { name, ...config }, inbound_nodes: [inputs.map((i) => [i, 0, 0, {}])] });
  const layers = [
    { class_name: 'InputLayer', name: 'x', config: { name: 'x', batch_input_shape: [null, null, null, 2] }, inbound_nodes: [] },
    layer('MaxPooling2D', 'pool', { pool_size: [k, k], strides: [k, k], padding: 'valid' }, ['x']),
    layer('UpSampling2D', 'up', { size: [k, k] }, ['pool']),
    layer('Concatenate', 'cat', { axis: -1 }, ['x', 'up']),
    layer('GlobalAveragePooling2D', 'gap', {}, ['cat']),
    layer('Dense', 'out', { units: 3, activation: 'softmax' }, ['gap']),
  ];
  return fromJson(`pool-up-${k}.json`, { class_name: 'Model', keras_version: '2.13.1', config: { name: 'm', layers, input_layers: [['x', 0, 0]], output_layers: [['out', 0, 0]] } });
}

describe('the size synthetic data gives a free input: the smallest the layers accept', () => {
  it("tensorspace's Inception v3 (free 2-D input) gets 75×75, Keras's documented minimum for InceptionV3; 74 is refused by its stem", () => {
    const m = open('tfjs-legacy-inceptionv3-tensorspace.json');
    const free = sizeOf(m)!;
    assert.deepEqual([free.size, free.axes, free.searched], [75, [1, 2], true]);
    // Starting at 74 still finds 75; starting at 75 needs no search; the fixed analysis has concrete shapes.
    assert.equal(sizeOf(m, 74)!.size, 75);
    assert.equal(sizeOf(m, 75)!.searched, false);
    assert.equal(free.analysis.problems.length, 0);
    assert.ok([...free.analysis.shapes.values()].every((s) => s !== null && s.every((sh) => sh.slice(1).every((d) => d !== null && d >= 1))));
  });

  it('Keras Inception v3 with its input made free gives the same 75; as read (299×299) it has no free axis', () => {
    assert.equal(sizeOf(kerasInceptionFree())!.size, 75);
    assert.equal(sizeOf(open('keras1-inceptionv3-kerasjs.json')), undefined);
  });

  it('the other tensorspace files declare their sizes: nothing to choose', () => {
    for (const f of ['tfjs-legacy-resnet50-tensorspace.json', 'tfjs-browser-saved-lenet-tensorspace.json']) assert.equal(sizeOf(open(f)), undefined, f);
  });

  it('acceptance is not monotonic: a pool/upsample/concatenate model takes the next multiple of its stride, not the first size past its kernel', () => {
    assert.deepEqual([sizeOf(poolUpConcat(5))!.size, sizeOf(poolUpConcat(5))!.searched], [35, true]);
    assert.deepEqual([sizeOf(poolUpConcat(4))!.size, sizeOf(poolUpConcat(4))!.searched], [32, false]);
  });

  it('the task carries the size and why; synthetic data is generated at it and says so once for both axes', () => {
    const task = taskOf(trainingModel(open('tfjs-legacy-inceptionv3-tensorspace.json')).model);
    assert.equal(task.freeSize?.size, 75);
    const d = generateSynthetic({ samples: 2, seed: 1 }, task, 2 ** 30);
    assert.deepEqual(d.xShape, [75, 75, 3]);
    assert.match(d.notes.join('; '), /input axes 1, 2 are free; generated with 75 \(the model does not accept 32; 75 is the smallest size its layers accept\)/);
    assert.equal(taskOf(trainingModel(open('tfjs-legacy-resnet50-tensorspace.json')).model).freeSize, undefined);
  });
});

describe('a free-size input whose output grid is smaller (a stride-4 detector head)', () => {
  it('synthetic targets take the output shape at the generated size (8×8 for 32×32), and a TF.js step trains on them', async () => {
    const layer = (cls: string, name: string, config: Record<string, unknown>, inputs: string[]) => ({ class_name: cls, name, config: { name, ...config }, inbound_nodes: [inputs.map((i) => [i, 0, 0, {}])] });
    const layers = [
      { class_name: 'InputLayer', name: 'x', config: { name: 'x', batch_input_shape: [null, null, null, 3] }, inbound_nodes: [] },
      layer('MaxPooling2D', 'p1', { pool_size: [2, 2], strides: [2, 2], padding: 'valid' }, ['x']),
      layer('MaxPooling2D', 'p2', { pool_size: [2, 2], strides: [2, 2], padding: 'valid' }, ['p1']),
      layer('Conv2D', 'head', { filters: 5, kernel_size: [1, 1], strides: [1, 1], padding: 'same', activation: 'linear' }, ['p2']),
    ];
    const m = fromJson('grid.json', { class_name: 'Model', keras_version: '2.13.1', config: { name: 'grid', layers, input_layers: [['x', 0, 0]], output_layers: [['head', 0, 0]] } });
    const task = taskOf(m);
    assert.deepEqual(task.outputShape, [null, null, null, 5]);
    assert.deepEqual(task.freeSize, { size: 32, outputShape: [null, 8, 8, 5] });
    const d = generateSynthetic({ samples: 2, seed: 1 }, task, 2 ** 30);
    assert.deepEqual([d.xShape, d.yShape], [[32, 32, 3], [8, 8, 5]]);
    assert.match(d.notes.join('; '), /input axes 1, 2 are free; generated with 32(;|$)/);
    await tf.setBackend('cpu');
    const built = await buildModel(m);
    try {
      built.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
      const x = tf.tensor(d.x, [2, 32, 32, 3]);
      const y = tf.tensor(d.y, [2, 8, 8, 5]);
      const h = await built.fit(x, y, { epochs: 1 });
      assert.ok(Number.isFinite(h.history['loss']![0] as number));
      tf.dispose([x, y]);
    } finally {
      built.dispose();
    }
  });
});

describe('the memory estimate of a free-size input is priced at the size of the data', () => {
  it("tensorspace's Inception v3: every call counted at 75×75 and at 299×299 (more), none without a size; a shape that does not fit falls back", () => {
    const m = trainingModel(open('tfjs-legacy-inceptionv3-tensorspace.json')).model;
    const memory = planRun(m).memory!;
    const free = memory('pytorch', 1, 'adam', 0);
    assert.ok(free.uncounted > 300, `${free.uncounted}`);
    const at75 = memory('pytorch', 1, 'adam', 0, [[75, 75, 3]]);
    const at299 = memory('pytorch', 1, 'adam', 0, [[299, 299, 3]]);
    assert.deepEqual([at75.uncounted, at299.uncounted], [0, 0]);
    assert.ok(at299.activationBytesPerExample > 10 * at75.activationBytesPerExample, `${at75.activationBytesPerExample} ${at299.activationBytesPerExample}`);
    assert.equal(memory('pytorch', 1, 'adam', 0, [[75, 75, 4]]).uncounted, free.uncounted); // 4 channels: not this model's input
    assert.equal(memory('pytorch', 1, 'adam', 0, [[40, 40, 3]]).uncounted, free.uncounted); // too small: a new problem
  });
});

describe("TF.js BatchNormalization without gamma or beta (Keras's scale=False / center=False) trains", () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('a training step normalises with the batch statistics and no scale / offset, and adds no weight', async () => {
    const x = tf.input({ shape: [3, 2] });
    const bn = tf.layers.batchNormalization({ scale: false, center: false, epsilon: 1e-3 });
    const dense = tf.layers.dense({ units: 2, useBias: false });
    const model = tf.model({ inputs: x, outputs: bn.apply(dense.apply(x)) as tf.SymbolicTensor });
    try {
      assert.equal(fixBatchNormWithoutWeights(model), 2);
      assert.equal(model.countParams(), 4 + 4); // the dense kernel, the moving mean and variance
      const input = tf.tensor3d([[[1, 2], [3, -4], [5, 0]], [[0, 1], [2, 2], [-1, 6]]]);
      const [got] = await Promise.all([(bn.apply(input, { training: true }) as tf.Tensor).array()]);
      // NumPy's formula: (x - mean) / sqrt(var + eps) per channel over batch and positions (biased variance).
      const flat = (await input.array()).flat();
      const want = [0, 1].map((c) => {
        const v = flat.map((p) => p[c]!);
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
        return { mean, sd: Math.sqrt(variance + 1e-3) };
      });
      (got as number[][][]).flat().forEach((p, i) => p.forEach((value, c) => assert.ok(Math.abs(value - (flat[i]![c]! - want[c]!.mean) / want[c]!.sd) < 1e-5, `${i},${c}`)));
      model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
      const h = await model.fit(input, tf.zerosLike(input), { epochs: 1, batchSize: 2 });
      assert.ok(Number.isFinite(h.history['loss']![0] as number));
      tf.dispose(input);
    } finally {
      model.dispose();
    }
  });

  it("buildModel installs it: tensorspace's Inception v3 (scale=False everywhere) builds with the file's parameter count", async () => {
    const m = trainingModel(open('tfjs-legacy-inceptionv3-tensorspace.json')).model;
    const built = await buildModel(m);
    try {
      assert.equal(built.countParams(), m.params.total);
      assert.equal(fixBatchNormWithoutWeights(built), 0); // already done
    } finally {
      built.dispose();
    }
  });
});
