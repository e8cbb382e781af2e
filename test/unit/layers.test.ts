import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Shape } from '../../src/core/ir';
import { ShapeError } from '../../src/core/layerSpec';
import { layerSpecs, specFor } from '../../src/core/layers/catalog';

/**
 * The layer catalog against an independent reference: for every class tfjs-layers implements, a
 * one-layer tfjs model is built from the same snake_case config and input shapes, and its outputShape,
 * countParams() and trainable / non-trainable weight sizes are the expected values. Classes tfjs lacks
 * (MultiHeadAttention, Normalization, Subtract, GRU reset_after, grouped convs, ...) are checked
 * against worked hand computations from the Keras weight shapes, written out next to each number.
 */

type Config = Record<string, unknown>;
interface Case {
  cls: string;
  config: Config;
  inputs: Shape[];
}
interface Result {
  shapes: Shape[];
  trainable: number;
  nonTrainable: number;
}

const FIXTURES = '/work/shared/fixtures/models';
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const show = (c: Case): string => `${c.cls} ${JSON.stringify(c.config)} on ${JSON.stringify(c.inputs)}`;

/** A functional tfjs model: one InputLayer per input, then the layer under test. */
async function reference(c: Case): Promise<Result | { error: string }> {
  const inputs = c.inputs.map((s, i) => ({
    class_name: 'InputLayer',
    name: `in${i}`,
    config: { batch_input_shape: s, dtype: 'float32', sparse: false, name: `in${i}` },
    inbound_nodes: [],
  }));
  const layer = { class_name: c.cls, name: 'under_test', config: { ...c.config, name: 'under_test' }, inbound_nodes: [c.inputs.map((_s, i) => [`in${i}`, 0, 0, {}])] };
  const topology = {
    class_name: 'Model',
    config: { name: 'm', layers: [...inputs, layer], input_layers: c.inputs.map((_s, i) => [`in${i}`, 0, 0]), output_layers: [['under_test', 0, 0]] },
  };
  let model: tf.LayersModel;
  try {
    model = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  } catch (e) {
    return { error: (e as Error).message };
  }
  const l = model.getLayer('under_test');
  const out = l.outputShape as unknown;
  const shapes = (Array.isArray((out as unknown[])[0]) ? out : [out]) as Shape[];
  const r = {
    shapes: shapes.map((s) => [...s]),
    trainable: l.trainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0),
    nonTrainable: l.nonTrainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0),
  };
  assert.equal(r.trainable + r.nonTrainable, l.countParams(), `tfjs split vs countParams for ${show(c)}`);
  model.dispose();
  return r;
}

function ours(c: Case): Result | { error: string } {
  const spec = specFor(c.cls);
  assert.ok(spec, `no spec for ${c.cls}`);
  try {
    const shapes = spec.outputShapes(c.config, c.inputs);
    const p = spec.params(c.config, c.inputs);
    return { shapes, ...p };
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    return { error: e.message };
  }
}

/**
 * Ours must equal tfjs. Where ours refuses the inputs (ShapeError), tfjs must refuse them too or
 * produce an impossible shape (a dim <= 0: tfjs does not validate 'valid' convolutions up front).
 */
async function agree(c: Case): Promise<void> {
  const mine = ours(c);
  const ref = await reference(c);
  if ('error' in mine) {
    const impossible = !('error' in ref) && ref.shapes.some((s) => s.some((d) => d !== null && d <= 0));
    assert.ok('error' in ref || impossible, `ours refused ${show(c)} (${mine.error}) but tfjs gives ${JSON.stringify(ref)}`);
    return;
  }
  assert.ok(!('error' in ref), `tfjs refused ${show(c)}: ${'error' in ref ? ref.error : ''}`);
  assert.deepEqual(mine, ref, show(c));
}

function* grid<T extends Record<string, readonly unknown[]>>(axes: T): Generator<{ [K in keyof T]: T[K][number] }> {
  const keys = Object.keys(axes);
  const idx = keys.map(() => 0);
  for (;;) {
    yield Object.fromEntries(keys.map((k, i) => [k, axes[k]![idx[i]!]])) as { [K in keyof T]: T[K][number] };
    let i = 0;
    while (i < keys.length && ++idx[i]! === axes[keys[i]!]!.length) idx[i++] = 0;
    if (i === keys.length) return;
  }
}

/** A tfjs layer's input shapes (its single inbound node). */
const inputShapes = (l: tf.layers.Layer): Shape[] => {
  const input = l.input;
  return (Array.isArray(input) ? input : [input]).map((t) => [...t.shape]);
};

/** channels_last shape -> channels_first shape. */
const toFirst = (s: Shape): Shape => [s[0]!, s[s.length - 1]!, ...s.slice(1, -1)];

function throwsShape(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ShapeError && re.test(e.message));
}

before(async () => {
  await tf.setBackend('cpu');
});

describe('layer catalog vs tfjs-layers', () => {
  it('Conv1D: padding valid/same/causal, strides, dilation, bias, unknown lengths', async () => {
    for (const g of grid({
      input: [[null, 20, 3], [4, 9, 5], [null, null, 2], [null, 3, 1]] as Shape[],
      kernel_size: [1, 3, [5]],
      strides: [1, 2, [3]],
      padding: ['valid', 'same', 'causal'],
      dilation_rate: [1, 2],
      use_bias: [true, false],
    })) {
      if (g.dilation_rate !== 1 && g.strides !== 1) continue; // tfjs refuses that pair
      const { input, ...config } = g;
      const c = { cls: 'Conv1D', config: { filters: 7, ...config }, inputs: [input] };
      if (g.padding !== 'causal') {
        await agree(c);
        continue;
      }
      // tfjs' Conv1D.computeOutputShape treats 'causal' like 'valid' (and its CPU backend cannot run it),
      // so tfjs gives the params only. Keras' causal conv pads (k-1)*d zeros on the left, then runs a
      // 'valid' conv: (L + (k-1)d - ((k-1)d + 1)) // s + 1 = ceil(L / s).
      const ref = await reference(c);
      assert.ok(!('error' in ref));
      const mine = ours(c) as Result;
      assert.deepEqual([mine.trainable, mine.nonTrainable], [ref.trainable, ref.nonTrainable], show(c));
      const k = typeof g.kernel_size === 'number' ? g.kernel_size : g.kernel_size[0]!;
      const st = typeof g.strides === 'number' ? g.strides : g.strides[0]!;
      const span = (k - 1) * g.dilation_rate;
      const len = input[1] === null ? null : Math.floor((input[1]! + span - (span + 1)) / st) + 1;
      assert.deepEqual(mine.shapes, [[input[0]!, len, 7]], show(c));
    }
    // Causal with an unknown length stays unknown.
    assert.deepEqual(specFor('Conv1D')!.outputShapes({ filters: 7, kernel_size: 3, padding: 'causal' }, [[null, null, 2]]), [[null, null, 7]]);
  });

  it('Conv2D: both data formats, valid/same, strides, dilation, rectangular kernels', async () => {
    for (const g of grid({
      input: [[null, 32, 32, 3], [2, 7, 9, 5], [null, null, null, 4], [null, 4, 4, 1]] as Shape[],
      kernel_size: [1, 3, [3, 5]],
      strides: [1, [2, 3]],
      padding: ['valid', 'same'],
      dilation_rate: [1, [2, 1]],
      data_format: ['channels_last', 'channels_first'],
    })) {
      if (g.dilation_rate !== 1 && g.strides !== 1) continue;
      const { input, ...config } = g;
      const shape = g.data_format === 'channels_first' ? toFirst(input) : input;
      await agree({ cls: 'Conv2D', config: { filters: 6, use_bias: true, ...config }, inputs: [shape] });
    }
  });

  it('Conv3D and Conv3DTranspose', async () => {
    for (const padding of ['valid', 'same']) {
      await agree({ cls: 'Conv3D', config: { filters: 4, kernel_size: [3, 2, 1], strides: [1, 2, 2], padding }, inputs: [[null, 8, 9, 10, 3]] });
      await agree({ cls: 'Conv3DTranspose', config: { filters: 4, kernel_size: [3, 2, 1], strides: [1, 2, 2], padding }, inputs: [[null, 8, 9, 10, 3]] });
    }
  });

  it('DepthwiseConv2D: depth_multiplier, strides, data formats', async () => {
    for (const g of grid({
      input: [[null, 28, 28, 8], [null, 5, 6, 3]] as Shape[],
      kernel_size: [3, [1, 5]],
      depth_multiplier: [1, 3],
      strides: [1, 2],
      padding: ['valid', 'same'],
      data_format: ['channels_last', 'channels_first'],
      use_bias: [true, false],
    })) {
      const { input, ...config } = g;
      await agree({ cls: 'DepthwiseConv2D', config, inputs: [g.data_format === 'channels_first' ? toFirst(input) : input] });
    }
  });

  it('SeparableConv2D', async () => {
    for (const g of grid({ depth_multiplier: [1, 2], strides: [1, 2], padding: ['valid', 'same'], use_bias: [true, false], data_format: ['channels_last', 'channels_first'] })) {
      const input: Shape = [null, 15, 11, 6];
      await agree({ cls: 'SeparableConv2D', config: { filters: 10, kernel_size: 3, ...g }, inputs: [g.data_format === 'channels_first' ? toFirst(input) : input] });
    }
  });

  it('Conv2DTranspose: valid/same, strides, kernels, data formats', async () => {
    for (const g of grid({
      input: [[null, 7, 7, 16], [null, null, 5, 3]] as Shape[],
      kernel_size: [1, 2, 3, [4, 2]],
      strides: [1, 2, [3, 1]],
      padding: ['valid', 'same'],
      data_format: ['channels_last', 'channels_first'],
    })) {
      const { input, ...config } = g;
      await agree({ cls: 'Conv2DTranspose', config: { filters: 5, ...config }, inputs: [g.data_format === 'channels_first' ? toFirst(input) : input] });
    }
  });

  it('Dense on the last axis of rank 2..4 inputs', async () => {
    for (const input of [[null, 10], [3, 10], [null, 5, 7], [null, null, 4, 9]] as Shape[]) {
      for (const use_bias of [true, false]) await agree({ cls: 'Dense', config: { units: 13, use_bias }, inputs: [input] });
    }
  });

  it('Embedding with and without input_length', async () => {
    await agree({ cls: 'Embedding', config: { input_dim: 100, output_dim: 20 }, inputs: [[null, 10]] });
    await agree({ cls: 'Embedding', config: { input_dim: 50, output_dim: 8, input_length: 12 }, inputs: [[null, null]] });
    await agree({ cls: 'Embedding', config: { input_dim: 7, output_dim: 3 }, inputs: [[null, 4, 5]] });
  });

  it('BatchNormalization: axis, center, scale (moving statistics non-trainable)', async () => {
    for (const g of grid({ axis: [-1, 1, 3], center: [true, false], scale: [true, false] })) {
      await agree({ cls: 'BatchNormalization', config: g, inputs: [[null, 8, 5, 6]] });
    }
    await agree({ cls: 'BatchNormalization', config: {}, inputs: [[null, 12]] });
  });

  it('LayerNormalization: axis (int and list), center, scale', async () => {
    for (const g of grid({ axis: [-1, 1, [1, 2], [-2, -1]], center: [true, false], scale: [true, false] })) {
      await agree({ cls: 'LayerNormalization', config: g, inputs: [[null, 4, 6, 10]] });
    }
  });

  it('SimpleRNN, GRU (reset_after false), LSTM: return_sequences, return_state, use_bias', async () => {
    for (const g of grid({
      cls: ['SimpleRNN', 'GRU', 'LSTM'],
      input: [[null, 10, 3], [2, null, 8]] as Shape[],
      return_sequences: [false, true],
      return_state: [false, true],
      use_bias: [true, false],
    })) {
      const { cls, input, ...config } = g;
      await agree({ cls, config: { units: 5, ...config }, inputs: [input] });
    }
  });

  it('Bidirectional over LSTM/GRU: merge modes, return_sequences, return_state', async () => {
    for (const g of grid({
      inner: ['LSTM', 'GRU', 'SimpleRNN'],
      merge_mode: ['concat', 'sum', 'mul', 'ave', null],
      return_sequences: [false, true],
      return_state: [false, true],
    })) {
      const layer = { class_name: g.inner, config: { units: 6, return_sequences: g.return_sequences, return_state: g.return_state, name: 'inner' } };
      await agree({ cls: 'Bidirectional', config: { layer, merge_mode: g.merge_mode }, inputs: [[null, 12, 4]] });
    }
  });

  it('TimeDistributed(Dense) and TimeDistributed(Conv2D)', async () => {
    await agree({ cls: 'TimeDistributed', config: { layer: { class_name: 'Dense', config: { units: 3, name: 'd' } } }, inputs: [[null, 7, 5]] });
    await agree({ cls: 'TimeDistributed', config: { layer: { class_name: 'Conv2D', config: { filters: 4, kernel_size: 3, name: 'c' } } }, inputs: [[null, 5, 9, 9, 2]] });
  });

  it('Max/AveragePooling1D/2D/3D: pool_size, strides, padding, data formats', async () => {
    for (const g of grid({
      cls: ['MaxPooling1D', 'AveragePooling1D'],
      input: [[null, 17, 3], [null, null, 2], [null, 2, 4]] as Shape[],
      pool_size: [2, 3, [4]],
      strides: [null, 1, 2],
      padding: ['valid', 'same'],
    })) {
      const { cls, input, ...config } = g;
      await agree({ cls, config, inputs: [input] });
    }
    for (const g of grid({
      cls: ['MaxPooling2D', 'AveragePooling2D'],
      input: [[null, 17, 12, 3], [null, null, 9, 2]] as Shape[],
      pool_size: [2, [3, 2]],
      strides: [null, 1, [2, 3]],
      padding: ['valid', 'same'],
      data_format: ['channels_last', 'channels_first'],
    })) {
      const { cls, input, ...config } = g;
      await agree({ cls, config, inputs: [g.data_format === 'channels_first' ? toFirst(input) : input] });
    }
    for (const cls of ['MaxPooling3D', 'AveragePooling3D']) {
      await agree({ cls, config: { pool_size: [2, 3, 1], padding: 'same' }, inputs: [[null, 5, 7, 9, 2]] });
    }
  });

  it('Global pooling 1D/2D, both data formats', async () => {
    // (tfjs' 1-D global pooling has no data_format: channels_first 1-D is checked by hand below.)
    for (const cls of ['GlobalAveragePooling1D', 'GlobalMaxPooling1D']) {
      await agree({ cls, config: {}, inputs: [[null, 20, 128]] });
      await agree({ cls, config: {}, inputs: [[3, null, 7]] });
    }
    for (const cls of ['GlobalAveragePooling2D', 'GlobalMaxPooling2D']) {
      await agree({ cls, config: {}, inputs: [[null, 7, 7, 2048]] });
      await agree({ cls, config: { data_format: 'channels_first' }, inputs: [[null, 64, null, null]] });
    }
  });

  it('ZeroPadding2D, Cropping2D, UpSampling2D: int, pair and pair-of-pairs forms', async () => {
    for (const padding of [undefined, 3, [1, 2], [[1, 2], [3, 4]]]) {
      for (const data_format of ['channels_last', 'channels_first']) {
        const input: Shape = [null, 10, 11, 3];
        const config = padding === undefined ? { data_format } : { padding, data_format };
        await agree({ cls: 'ZeroPadding2D', config, inputs: [data_format === 'channels_first' ? toFirst(input) : input] });
      }
    }
    // (tfjs requires `cropping`; the Keras default is checked by hand below.)
    for (const cropping of [0, 2, [1, 3], [[1, 2], [0, 4]], [[5, 4], [0, 0]]]) {
      const config = { cropping };
      await agree({ cls: 'Cropping2D', config, inputs: [[null, 10, 11, 3]] });
      await agree({ cls: 'Cropping2D', config: { ...config, data_format: 'channels_first' }, inputs: [[null, 3, 10, 11]] });
    }
    // (tfjs reads only the list form of `size`; an int size is checked by hand below.)
    for (const size of [undefined, [3, 3], [2, 4]]) {
      const config = size === undefined ? {} : { size };
      await agree({ cls: 'UpSampling2D', config, inputs: [[null, 5, 6, 2]] });
      await agree({ cls: 'UpSampling2D', config: { ...config, data_format: 'channels_first' }, inputs: [[null, 2, 5, null]] });
    }
  });

  it('activations (PReLU owns weights)', async () => {
    for (const cls of ['Activation', 'ReLU', 'LeakyReLU', 'ELU', 'Softmax', 'ThresholdedReLU']) {
      const config = cls === 'Activation' ? { activation: 'relu' } : {};
      await agree({ cls, config, inputs: [[null, 5, 7, 3]] });
    }
    for (const shared_axes of [undefined, 1, [1, 2], [3]]) {
      const config = shared_axes === undefined ? {} : { shared_axes };
      await agree({ cls: 'PReLU', config, inputs: [[null, 5, 7, 3]] });
    }
  });

  it('elementwise merges: equal shapes, broadcasting 1s, nulls, mismatches', async () => {
    const pairs: Shape[][] = [
      [[null, 56, 56, 64], [null, 56, 56, 64]],
      [[null, 56, 56, 64], [null, 56, 56, 256]],
      [[null, 4, 1], [null, 4, 5]],
      [[null, 4, 5], [null, 5]],
      [[null, null, 5], [null, 7, 5]],
      [[2, 3], [null, 3]],
      [[null, 8], [null, 8], [null, 8]],
      [[null, 8], [null, 8], [null, 9]],
    ];
    for (const cls of ['Add', 'Multiply', 'Average', 'Maximum', 'Minimum']) {
      for (const inputs of pairs) await agree({ cls, config: {}, inputs });
    }
  });

  it('Concatenate: axis, nulls, mismatches', async () => {
    const cases: [Shape[], number][] = [
      [[[null, 8, 8, 3], [null, 8, 8, 5]], -1],
      [[[null, 8, 8, 3], [null, 8, 4, 3]], 2],
      [[[null, 8, 8, 3], [null, 8, 4, 3]], -1],
      [[[null, 8, 8, 3], [null, 8, 8, 5], [null, 8, 8, 1]], 3],
      [[[null, 6, 3], [null, null, 3]], 1],
      [[[null, 6, 3], [null, 6]], -1],
    ];
    for (const [inputs, axis] of cases) await agree({ cls: 'Concatenate', config: { axis }, inputs });
  });

  it('Reshape (with -1), Flatten, Permute, RepeatVector', async () => {
    // tfjs leaves -1 unresolved when any dim is null, the batch included (Keras looks past the batch):
    // the tfjs reference gets a known batch; the null cases are checked by hand below.
    for (const [input, target_shape] of [
      [[2, 4, 6], [24]],
      [[2, 4, 6], [-1, 3]],
      [[2, 4, 6], [2, -1, 4]],
      [[2, 4, 6], [5, -1]],
      [[2, 4, 6], [5, 5]],
    ] as [Shape, number[]][]) {
      await agree({ cls: 'Reshape', config: { target_shape }, inputs: [input] });
    }
    // (tfjs refuses an unknown non-batch dim; Keras gives null: checked by hand below.)
    for (const input of [[null, 7, 7, 2048], [null, 3, 4], [5, 2, 3, 4]] as Shape[]) await agree({ cls: 'Flatten', config: {}, inputs: [input] });
    for (const dims of [[2, 1], [1, 2]]) await agree({ cls: 'Permute', config: { dims }, inputs: [[null, 5, 9]] });
    await agree({ cls: 'Permute', config: { dims: [3, 1, 2] }, inputs: [[null, 5, 9, 4]] });
    await agree({ cls: 'RepeatVector', config: { n: 4 }, inputs: [[null, 9]] });
  });

  it('dropout, noise, masking, rescaling and resizing layers', async () => {
    for (const [cls, config] of [
      ['Dropout', { rate: 0.5 }],
      ['SpatialDropout1D', { rate: 0.2 }],
      ['GaussianNoise', { stddev: 0.1 }],
      ['GaussianDropout', { rate: 0.1 }],
      ['AlphaDropout', { rate: 0.1 }],
      ['Masking', { mask_value: 0 }],
    ] as [string, Config][]) {
      await agree({ cls, config, inputs: [[null, 6, 4]] });
    }
    await agree({ cls: 'Rescaling', config: { scale: 1 / 255, offset: 0 }, inputs: [[null, 32, 32, 3]] });
  });
});

/** tfjs layer models read from the fixtures: every layer's own input shapes, config as written in the file. */
describe('layer catalog vs tfjs on the real fixture models', () => {
  const files: [string, (d: Config) => Config][] = [
    ['tfjs-legacy-resnet50-tensorspace.json', (d) => d['modelTopology'] as Config],
    ['tfjs-legacy-mobilenetv2-nsfwjs.json', (d) => d['modelTopology'] as Config],
    ['tfjs-legacy-inceptionv3-tensorspace.json', (d) => d['modelTopology'] as Config],
    ['tfjs-browser-saved-lenet-tensorspace.json', (d) => d['modelTopology'] as Config],
    ['tfjs-official-e2e-sequential-embedding-gru.json', (d) => d['modelTopology'] as Config],
    ['keras2-fc-densenet67-tiramisu-functional.json', (d) => d],
    ['keras2-fc-densenet103-tiramisu-sequential-listconfig.json', (d) => d],
    // Keras 2.11 writes class 'Functional'; tfjs knows the same topology as 'Model'.
    ['keras-resnet18-custom-doubleencoded.json', (d) => ({ ...d, class_name: 'Model' })],
  ];
  for (const [file, topology] of files) {
    it(file, async () => {
      let doc = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Config | string;
      if (typeof doc === 'string') doc = JSON.parse(doc) as Config; // the file holds the model JSON as a JSON string
      const topo = topology(doc);
      const model = await tf.models.modelFromJSON({ modelTopology: topo } as unknown as tf.io.ModelJSON);
      // Raw configs from the file, by layer name (Sequential configs are a list or {layers}).
      const raw = new Map<string, { class_name: string; config: Config }>();
      const walk = (o: unknown): void => {
        if (Array.isArray(o)) o.forEach(walk);
        else if (o && typeof o === 'object') {
          const r = o as Record<string, unknown>;
          const cfg = r['config'] as Config | undefined;
          if (typeof r['class_name'] === 'string' && cfg && typeof cfg === 'object' && typeof cfg['name'] === 'string' && !raw.has(cfg['name'])) {
            raw.set(cfg['name'], { class_name: r['class_name'], config: cfg });
          }
          Object.values(r).forEach(walk);
        }
      };
      walk(topo);
      let checked = 0;
      for (const l of model.layers) {
        const entry = raw.get(l.name);
        assert.ok(entry, `no config for ${l.name}`);
        const spec = specFor(entry.class_name);
        assert.ok(spec, `${file}: class ${entry.class_name} missing from the catalog`);
        const isInput = entry.class_name === 'InputLayer';
        const inputs = isInput ? [] : inputShapes(l);
        const out = l.outputShape as unknown;
        const expected = (Array.isArray((out as unknown[])[0]) ? out : [out]) as Shape[];
        const what = `${file} ${l.name} (${entry.class_name}) on ${JSON.stringify(inputs)}`;
        assert.deepEqual(spec.outputShapes(entry.config, inputs), expected.map((s) => [...s]), what);
        const p = spec.params(entry.config, inputs);
        // The spec counts as if trainable; the caller (like tfjs) moves a frozen layer's weights across.
        const frozen = entry.config['trainable'] === false;
        assert.deepEqual(
          frozen ? { trainable: 0, nonTrainable: p.trainable + p.nonTrainable } : p,
          {
            trainable: l.trainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0),
            nonTrainable: l.nonTrainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0),
          },
          what,
        );
        checked++;
      }
      assert.ok(checked > 1, `${file}: no layers checked`);
      model.dispose();
    });
  }

  it('the resnet50 fixture: every Conv2D / BatchNormalization / Dense config, with totals tfjs agrees on', async () => {
    const doc = JSON.parse(readFileSync(join(FIXTURES, 'tfjs-legacy-resnet50-tensorspace.json'), 'utf8')) as Config;
    const model = await tf.models.modelFromJSON({ modelTopology: doc['modelTopology'] } as unknown as tf.io.ModelJSON);
    const counts = new Map<string, number>();
    let trainableSum = 0;
    let nonTrainableSum = 0;
    const layers = ((doc['modelTopology'] as Config)['model_config'] as { config: { layers: { class_name: string; config: Config; name: string }[] } }).config.layers;
    for (const entry of layers) {
      const l = model.getLayer(entry.name);
      const inputs = entry.class_name === 'InputLayer' ? [] : inputShapes(l);
      const p = specFor(entry.class_name)!.params(entry.config, inputs);
      assert.notEqual(entry.config['trainable'], false);
      trainableSum += p.trainable;
      nonTrainableSum += p.nonTrainable;
      counts.set(entry.class_name, (counts.get(entry.class_name) ?? 0) + 1);
    }
    // SOURCES.md: 53 Conv2D, 53 BatchNormalization, 1 Dense; the totals are tfjs' own for the whole model.
    assert.equal(counts.get('Conv2D'), 53);
    assert.equal(counts.get('BatchNormalization'), 53);
    assert.equal(counts.get('Dense'), 1);
    const tfTrainable = model.trainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0);
    assert.equal(trainableSum + nonTrainableSum, model.countParams());
    assert.equal(trainableSum, tfTrainable);
    // The Keras ResNet50 (with top) summary: 25,636,712 total, 53,120 non-trainable.
    assert.equal(trainableSum + nonTrainableSum, 25636712);
    assert.equal(nonTrainableSum, 53120);
    model.dispose();
  });
});

/** Keras 3 `.keras` configs record every tensor's shape (`__keras_tensor__`): the reference for shapes. */
describe('layer catalog vs the shapes Keras 3 recorded', () => {
  interface KTensor {
    shape: Shape;
    history: [string, number, number];
  }
  const tensors = (o: unknown, out: KTensor[] = []): KTensor[] => {
    if (Array.isArray(o)) o.forEach((x) => tensors(x, out));
    else if (o && typeof o === 'object') {
      const r = o as Record<string, unknown>;
      if (r['class_name'] === '__keras_tensor__') {
        const c = r['config'] as { shape: Shape; keras_history: [string, number, number] };
        out.push({ shape: c.shape, history: c.keras_history });
      } else Object.values(r).forEach((x) => tensors(x, out));
    }
    return out;
  };
  for (const file of ['keras3-resnet1d-dotkeras-config.json', 'keras3-transformer-encoder-opsAdd-dotkeras-config.json']) {
    it(file, async () => {
      const doc = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as { config: { layers: { class_name: string; name: string; config: Config; inbound_nodes: unknown }[] } };
      const layers = doc.config.layers;
      const produced = new Map<string, Shape>();
      for (const l of layers) for (const t of tensors(l.inbound_nodes)) produced.set(`${t.history[0]}:${t.history[2]}`, t.shape);
      let checked = 0;
      for (const l of layers) {
        const spec = specFor(l.class_name);
        assert.ok(spec, `${file}: ${l.class_name} missing from the catalog`);
        const inputs = tensors(l.inbound_nodes).map((t) => t.shape);
        const expected = produced.get(`${l.name}:0`);
        if (!expected) continue; // a model output: no consumer recorded its shape
        assert.deepEqual(spec.outputShapes(l.config, inputs)[0], expected, `${file} ${l.name}`);
        checked++;
        // Where tfjs has the class, its param count for the same config (dtype policy objects aside).
        if (tf.serialization.SerializationMap.getMap().classNameMap[l.class_name] && l.class_name !== 'InputLayer') {
          const config = { ...l.config };
          delete config['dtype'];
          const ref = await reference({ cls: l.class_name, config, inputs });
          assert.ok(!('error' in ref), `${file} ${l.name}: tfjs refused: ${'error' in ref ? ref.error : ''}`);
          const p = spec.params(l.config, inputs);
          assert.deepEqual([p.trainable, p.nonTrainable], [ref.trainable, ref.nonTrainable], `${file} ${l.name} params`);
        }
      }
      assert.ok(checked > 10);
    });
  }
});

describe('layer catalog vs hand computations (classes or options tfjs lacks)', () => {
  const run = (cls: string, config: Config, inputs: Shape[]) => {
    const s = specFor(cls)!;
    return { shapes: s.outputShapes(config, inputs), ...s.params(config, inputs) };
  };

  it('MultiHeadAttention: the Keras 3 fixture config', () => {
    const doc = JSON.parse(readFileSync(join(FIXTURES, 'keras3-transformer-encoder-opsAdd-dotkeras-config.json'), 'utf8')) as { config: { layers: { class_name: string; config: Config }[] } };
    const mhaLayers = doc.config.layers.filter((l) => l.class_name === 'MultiHeadAttention');
    assert.equal(mhaLayers.length, 2);
    // num_heads 4, key_dim = value_dim = 32, query = value = [null,20,128], use_bias:
    // query/key/value kernels 128*4*32 = 16384 each + biases 4*32 = 128 each -> 3 * 16512;
    // output kernel (4, 32, 128) = 16384 + bias 128 = 16512. Total 4 * 16512 = 66048.
    for (const l of mhaLayers) {
      assert.deepEqual(run('MultiHeadAttention', l.config, [[null, 20, 128], [null, 20, 128]]), { shapes: [[null, 20, 128]], trainable: 66048, nonTrainable: 0 });
    }
  });

  it('MultiHeadAttention: distinct query/value/key widths, value_dim, output_shape, use_bias', () => {
    const q: Shape = [null, 10, 16];
    const v: Shape = [null, 7, 24];
    const k: Shape = [null, 7, 8];
    const base = { num_heads: 2, key_dim: 5, value_dim: 3 };
    // query 16*2*5 + 2*5 = 170; key 8*2*5 + 10 = 90; value 24*2*3 + 2*3 = 150; output (2,3,16) + 16 = 112 -> 522.
    assert.deepEqual(run('MultiHeadAttention', base, [q, v, k]), { shapes: [[null, 10, 16]], trainable: 522, nonTrainable: 0 });
    // Without bias: 160 + 80 + 144 + 96 = 480.
    assert.deepEqual(run('MultiHeadAttention', { ...base, use_bias: false }, [q, v, k]).trainable, 480);
    // output_shape [4, 6]: output kernel (2, 3, 4, 6) = 144 + bias 24 = 168 -> 170 + 90 + 150 + 168 = 578.
    assert.deepEqual(run('MultiHeadAttention', { ...base, output_shape: [4, 6] }, [q, v, k]), { shapes: [[null, 10, 4, 6]], trainable: 578, nonTrainable: 0 });
    // output_shape 12 (an int): output (2, 3, 12) + 12 = 84 -> 494. No key: key takes value's width 24: 24*10+10 = 250.
    assert.deepEqual(run('MultiHeadAttention', { ...base, output_shape: 12 }, [q, v]), { shapes: [[null, 10, 12]], trainable: 170 + 250 + 150 + 84, nonTrainable: 0 });
    // value_dim missing -> key_dim (5): value 24*2*5 + 10 = 250; output (2,5,16)+16 = 176; key = value -> 250.
    assert.equal(run('MultiHeadAttention', { num_heads: 2, key_dim: 5 }, [q, v]).trainable, 170 + 250 + 250 + 176);
    throwsShape(() => run('MultiHeadAttention', base, [q]), /got 1 input\(s\) \(query\); expected at least query and value/);
    throwsShape(() => run('MultiHeadAttention', base, [q, v, [null, 6, 8]]), /value shape \[null,7,24\] and key shape \[null,6,8\] differ/);
  });

  it('Normalization (Keras preprocessing): mean, variance and count are non-trainable', () => {
    // TensorFlow's "Basic regression" tutorial: a Normalization adapted to 9 features shows
    // 19 non-trainable params = mean (9) + variance (9) + count (1).
    assert.deepEqual(run('Normalization', { axis: -1 }, [[null, 9]]), { shapes: [[null, 9]], trainable: 0, nonTrainable: 19 });
    // Keras 3 config spelling (axis as a list, mean/variance null); image: per-channel stats 2*3 + 1.
    assert.deepEqual(run('Normalization', { axis: [-1], mean: null, variance: null, invert: false }, [[null, 32, 32, 3]]).nonTrainable, 7);
    // axis [1, 2] keeps a 4x5 grid: 2*20 + 1.
    assert.equal(run('Normalization', { axis: [1, 2] }, [[null, 4, 5, 3]]).nonTrainable, 41);
    // axis null: scalar statistics, 1 + 1 + 1.
    assert.equal(run('Normalization', { axis: null }, [[null, 4, 5]]).nonTrainable, 3);
    // mean and variance given: constants, no weights.
    assert.deepEqual(run('Normalization', { axis: -1, mean: [1, 2, 3], variance: [1, 1, 1] }, [[null, 3]]).nonTrainable, 0);
  });

  it('GRU with reset_after true (tf.keras 2 / Keras 3 default, which tfjs lacks)', () => {
    // Keras GRUCell: kernel (20, 3*4) = 240, recurrent (4, 12) = 48, bias (2, 12) = 24 -> 312,
    // against 300 with reset_after false (bias (12,)), the weights manifest of the tfjs e2e fixture.
    assert.equal(run('GRU', { units: 4, reset_after: true }, [[null, 10, 20]]).trainable, 312);
    assert.equal(run('GRU', { units: 4, reset_after: false }, [[null, 10, 20]]).trainable, 240 + 48 + 12);
    assert.equal(run('GRU', { units: 4 }, [[null, 10, 20]]).trainable, 300);
  });

  it('Conv2D groups', () => {
    // 16 channels in 4 groups: kernel (3, 3, 16/4, 32) = 1152 + bias 32.
    assert.deepEqual(run('Conv2D', { filters: 32, kernel_size: 3, groups: 4 }, [[null, 8, 8, 16]]), { shapes: [[null, 6, 6, 32]], trainable: 1184, nonTrainable: 0 });
    // Keras 3 Conv1D spelling from the fixture: lists for kernel_size/strides/dilation_rate, groups 1.
    // kernel (7, 1, 32) = 224 + 32; 'same' with stride 2 on 20 steps: ceil(20 / 2) = 10.
    assert.deepEqual(run('Conv1D', { filters: 32, kernel_size: [7], strides: [2], padding: 'same', dilation_rate: [1], groups: 1 }, [[null, 20, 1]]), { shapes: [[null, 10, 32]], trainable: 256, nonTrainable: 0 });
    throwsShape(() => run('Conv2D', { filters: 32, kernel_size: 3, groups: 3 }, [[null, 8, 8, 16]]), /16 input channels and 32 filters with groups=3/);
  });

  it('1-D separable, depthwise and transposed convs; Group/UnitNormalization; Bidirectional GRU reset_after', () => {
    // SeparableConv1D, 4 channels, kernel 3, depth_multiplier 2, 8 filters: depthwise (3, 4, 2) = 24,
    // pointwise (1, 8, 8) = 64, bias 8 -> 96; 'valid' on 10 steps: 10 - 3 + 1 = 8.
    assert.deepEqual(run('SeparableConv1D', { filters: 8, kernel_size: 3, depth_multiplier: 2 }, [[null, 10, 4]]), { shapes: [[null, 8, 8]], trainable: 96, nonTrainable: 0 });
    // DepthwiseConv1D, depth_multiplier 3: kernel (5, 4, 3) = 60 + bias 12; causal keeps 10 steps.
    assert.deepEqual(run('DepthwiseConv1D', { kernel_size: 5, depth_multiplier: 3, padding: 'causal' }, [[null, 10, 4]]), { shapes: [[null, 10, 12]], trainable: 72, nonTrainable: 0 });
    // Conv1DTranspose, kernel 4, stride 2, 'valid' on 10: 10*2 + max(4 - 2, 0) = 22; kernel (4, 5, 3) = 60 + 5.
    assert.deepEqual(run('Conv1DTranspose', { filters: 5, kernel_size: 4, strides: 2 }, [[null, 10, 3]]), { shapes: [[null, 22, 5]], trainable: 65, nonTrainable: 0 });
    // GroupNormalization(groups=4) over 16 channels: gamma 16 + beta 16; 6 groups do not divide 16.
    assert.equal(run('GroupNormalization', { groups: 4, axis: -1 }, [[null, 8, 8, 16]]).trainable, 32);
    throwsShape(() => run('GroupNormalization', { groups: 6 }, [[null, 8, 8, 16]]), /16 channels with groups=6/);
    assert.deepEqual(run('UnitNormalization', { axis: -1 }, [[null, 7]]), { shapes: [[null, 7]], trainable: 0, nonTrainable: 0 });
    // Bidirectional(GRU(4, reset_after=True)) on 20 features: two GRUs of 312 (see above); concat -> 8 units.
    const layer = { class_name: 'GRU', config: { units: 4, reset_after: true } };
    assert.deepEqual(run('Bidirectional', { layer, merge_mode: 'concat' }, [[null, 10, 20]]), { shapes: [[null, 8]], trainable: 624, nonTrainable: 0 });
    // backward_layer with its own size: 312 + GRU(2, reset_after) = 6*(20+2) + 2*6 = 144.
    const backward_layer = { class_name: 'GRU', config: { units: 2, reset_after: true, go_backwards: true } };
    assert.equal(run('Bidirectional', { layer, backward_layer, merge_mode: 'concat' }, [[null, 10, 20]]).trainable, 456);
    throwsShape(() => run('Bidirectional', { layer }, [[null, 20]]), /^Bidirectional: layer GRU: input shape \[null,20\] has rank 2; expected rank 3/);
  });

  it('Conv2DTranspose output_padding (Keras deconv_output_length)', () => {
    // same, kernel 3, stride 2, output_padding 1 on 5: pad = 3 // 2 = 1 -> (5-1)*2 + 3 - 2 + 1 = 10.
    assert.deepEqual(run('Conv2DTranspose', { filters: 4, kernel_size: 3, strides: 2, padding: 'same', output_padding: 1 }, [[null, 5, 5, 2]]).shapes, [[null, 10, 10, 4]]);
    // valid, output_padding 0: (5-1)*2 + 3 = 11.
    assert.deepEqual(run('Conv2DTranspose', { filters: 4, kernel_size: 3, strides: 2, output_padding: 0 }, [[null, 5, 5, 2]]).shapes, [[null, 11, 11, 4]]);
    throwsShape(() => run('Conv2DTranspose', { filters: 4, kernel_size: 3, strides: 2, output_padding: 2 }, [[null, 5, 5, 2]]), /output_padding 2 .* not smaller than the stride 2/);
  });

  it('Subtract (two inputs only), ZeroPadding1D, Cropping1D, UpSampling1D, SpatialDropout2D', () => {
    assert.deepEqual(run('Subtract', {}, [[null, 4, 5], [null, 4, 1]]).shapes, [[null, 4, 5]]);
    throwsShape(() => run('Subtract', {}, [[null, 4], [null, 4], [null, 4]]), /Subtract: got 3 input\(s\); expected 2/);
    // padding 2 each side: 10 + 4; (1, 3): 10 + 1 + 3; default 1 each side: 12.
    assert.deepEqual(run('ZeroPadding1D', { padding: 2 }, [[null, 10, 3]]).shapes, [[null, 14, 3]]);
    assert.deepEqual(run('ZeroPadding1D', { padding: [1, 3] }, [[null, 10, 3]]).shapes, [[null, 14, 3]]);
    assert.deepEqual(run('ZeroPadding1D', {}, [[null, 10, 3]]).shapes, [[null, 12, 3]]);
    assert.deepEqual(run('Cropping1D', {}, [[null, 10, 3]]).shapes, [[null, 8, 3]]);
    assert.deepEqual(run('UpSampling1D', { size: 3 }, [[null, 10, 3]]).shapes, [[null, 30, 3]]);
    assert.deepEqual(run('SpatialDropout2D', { rate: 0.1 }, [[null, 8, 8, 3]]), { shapes: [[null, 8, 8, 3]], trainable: 0, nonTrainable: 0 });
  });

  it('Keras behaviour where tfjs differs: 1-D channels_first global pooling, Concatenate nulls, Reshape -1, Cropping2D default', () => {
    // tf.keras GlobalAveragePooling1D(data_format='channels_first') on [batch, features, steps] -> [batch, features].
    assert.deepEqual(run('GlobalAveragePooling1D', { data_format: 'channels_first' }, [[null, 128, 20]]).shapes, [[null, 128]]);
    // tf.keras Concatenate skips null dims when checking the other axes; dims off the axis come from the first input.
    assert.deepEqual(run('Concatenate', { axis: 3 }, [[null, null, 8, 3], [null, 8, 8, 5], [null, 8, 8, 1]]).shapes, [[null, null, 8, 9]]);
    // Keras Reshape: with only the batch unknown, -1 resolves (24 / 3 = 8); with an unknown inner dim it is null.
    assert.deepEqual(run('Reshape', { target_shape: [-1, 3] }, [[null, 4, 6]]).shapes, [[null, 8, 3]]);
    assert.deepEqual(run('Reshape', { target_shape: [-1, 2] }, [[null, null, 6]]).shapes, [[null, null, 2]]);
    throwsShape(() => run('Reshape', { target_shape: [5, -1] }, [[null, 4, 6]]), /24 values per sample/);
    // Flatten with an unknown inner dim: [batch, None] in Keras (tfjs refuses it).
    assert.deepEqual(run('Flatten', {}, [[null, null, 4]]).shapes, [[null, null]]);
    // UpSampling2D with an int size: Keras normalize_tuple(3) = (3, 3) -> 5*3, 6*3.
    assert.deepEqual(run('UpSampling2D', { size: 3 }, [[null, 5, 6, 2]]).shapes, [[null, 15, 18, 2]]);
    // Resizing / CenterCrop set the image axes to (height, width) (tfjs' computeOutputShape drops the batch).
    assert.deepEqual(run('Resizing', { height: 20, width: 24 }, [[null, 32, 30, 3]]), { shapes: [[null, 20, 24, 3]], trainable: 0, nonTrainable: 0 });
    assert.deepEqual(run('CenterCrop', { height: 20, width: 24, data_format: 'channels_first' }, [[null, 3, 32, 30]]).shapes, [[null, 3, 20, 24]]);
    // Cropping2D's Keras default crops nothing: ((0, 0), (0, 0)).
    assert.deepEqual(run('Cropping2D', {}, [[null, 10, 11, 3]]).shapes, [[null, 10, 11, 3]]);
  });

  it('global pooling keepdims (Keras 2.6+ / Keras 3)', () => {
    assert.deepEqual(run('GlobalAveragePooling2D', { keepdims: true }, [[null, 7, 9, 5]]).shapes, [[null, 1, 1, 5]]);
    assert.deepEqual(run('GlobalMaxPooling2D', { keepdims: true, data_format: 'channels_first' }, [[null, 5, 7, 9]]).shapes, [[null, 5, 1, 1]]);
    assert.deepEqual(run('GlobalAveragePooling1D', { keepdims: true }, [[null, 20, 128]]).shapes, [[null, 1, 128]]);
  });

  it('InputLayer: Keras 2 batch_input_shape, Keras 3 batch_shape, input_shape + batch_size', () => {
    assert.deepEqual(run('InputLayer', { batch_input_shape: [null, 224, 224, 3] }, []).shapes, [[null, 224, 224, 3]]);
    assert.deepEqual(run('InputLayer', { batch_shape: [null, 20, 1], dtype: 'float32', sparse: false }, []).shapes, [[null, 20, 1]]);
    assert.deepEqual(run('InputLayer', { input_shape: [5], batch_size: 8 }, []).shapes, [[8, 5]]);
    throwsShape(() => run('InputLayer', {}, []), /InputLayer: config 'batch_input_shape' .* expected a declared input shape/);
  });

  it('LayerNormalization rms_scaling (Keras 3) and Dense / Embedding lora_rank', () => {
    // rms_scaling keeps gamma (128) only.
    assert.equal(run('LayerNormalization', { axis: [-1], rms_scaling: true }, [[null, 20, 128]]).trainable, 128);
    // Dense 16 -> 8 with lora_rank 2: frozen kernel 128; trainable A (16, 2) + B (2, 8) + bias 8 = 56.
    assert.deepEqual(run('Dense', { units: 8, lora_rank: 2 }, [[null, 16]]), { shapes: [[null, 8]], trainable: 56, nonTrainable: 128 });
    // Embedding 100 x 20 with lora_rank 4: frozen 2000; A (100, 4) + B (4, 20) = 480.
    assert.deepEqual(run('Embedding', { input_dim: 100, output_dim: 20, lora_rank: 4 }, [[null, 10]]).trainable, 480);
  });
});

describe('layer catalog: ShapeErrors say what was given and what was expected', () => {
  const s = (cls: string) => specFor(cls)!;

  it('merges report the disagreeing shapes', () => {
    throwsShape(() => s('Add').outputShapes({}, [[null, 56, 56, 64], [null, 56, 56, 256]]), /^Add: input shapes \[null,56,56,64\] and \[null,56,56,256\] differ; expected/);
    throwsShape(() => s('Add').outputShapes({}, [[null, 4]]), /Add: got 1 input\(s\); expected at least 2/);
    throwsShape(() => s('Concatenate').outputShapes({ axis: -1 }, [[null, 8, 8, 3], [null, 8, 4, 3]]), /Concatenate: input shapes \[null,8,8,3\], \[null,8,4,3\] do not fit axis -1/);
  });

  it('convolutions and pooling on too-small inputs', () => {
    throwsShape(() => s('Conv2D').outputShapes({ filters: 2, kernel_size: 5 }, [[null, 3, 3, 1]]), /Conv2D: input \[null,3,3,1\] is too small.*expected at least 5/);
    throwsShape(() => s('Conv1D').outputShapes({ filters: 2, kernel_size: 3, dilation_rate: 4 }, [[null, 8, 1]]), /spans 9.*expected at least 9/);
    throwsShape(() => s('MaxPooling2D').outputShapes({ pool_size: 3 }, [[null, 2, 9, 1]]), /MaxPooling2D: input \[null,2,9,1\] is too small/);
    // Same padding never shrinks below 1.
    assert.deepEqual(s('Conv2D').outputShapes({ filters: 2, kernel_size: 5, padding: 'same' }, [[null, 3, 3, 1]]), [[null, 3, 3, 2]]);
  });

  it('ranks, unknown weight dims, and input counts', () => {
    throwsShape(() => s('Conv2D').outputShapes({ filters: 2, kernel_size: 3 }, [[null, 8, 3]]), /Conv2D: input shape \[null,8,3\] has rank 3; expected rank 4/);
    throwsShape(() => s('Dense').params({ units: 3 }, [[null, 4, null]]), /Dense: the last dimension \(axis 2\) of input \[null,4,null\] is unknown/);
    throwsShape(() => s('Dense').outputShapes({ units: 3 }, [[null, 4], [null, 4]]), /Dense: got 2 inputs; expected exactly 1/);
    throwsShape(() => s('LSTM').outputShapes({ units: 3 }, [[null, 4]]), /LSTM: input shape \[null,4\] has rank 2; expected rank 3/);
    throwsShape(() => s('Reshape').outputShapes({ target_shape: [5, 5] }, [[null, 4, 6]]), /Reshape: input \[null,4,6\] has 24 values per sample/);
    throwsShape(() => s('BatchNormalization').params({ axis: 3 }, [[null, 8, 8]]), /axis 3 is out of range for an input of rank 3/);
  });

  it('odd configs give ShapeErrors, never TypeErrors, for every class', () => {
    const odd: unknown[] = ['x', -3, 1.5, {}, [], [null], [1, 'a'], true, { class_name: 'Nope', config: {} }, Number.NaN];
    const keys = [
      'filters', 'kernel_size', 'strides', 'padding', 'data_format', 'dilation_rate', 'groups', 'depth_multiplier', 'use_bias', 'output_padding',
      'units', 'axis', 'center', 'scale', 'pool_size', 'keepdims', 'size', 'cropping', 'target_shape', 'dims', 'n', 'num_heads', 'key_dim',
      'value_dim', 'output_shape', 'layer', 'backward_layer', 'merge_mode', 'shared_axes', 'batch_input_shape', 'batch_shape', 'input_shape',
      'input_length', 'input_dim', 'output_dim', 'height', 'width', 'return_sequences', 'return_state', 'reset_after', 'lora_rank', 'mean', 'rms_scaling',
    ];
    const inputSets: Shape[][] = [[], [[null]], [[null, 4]], [[null, 6, 4]], [[null, 8, 8, 4]], [[null, 8, 8, 4], [null, 8, 8, 4]], [[null, 6, 4], [null, 6, 4]], [[null, 4, 4, 4, 4]]];
    const base: Config = { filters: 2, kernel_size: 3, units: 3, target_shape: [-1], dims: [1], n: 2, num_heads: 2, key_dim: 2, input_dim: 5, output_dim: 2, height: 2, width: 2, layer: { class_name: 'Dense', config: { units: 2 } } };
    const configs: unknown[] = [{}, base, null, [], 'x'];
    for (const key of keys) for (const v of odd) configs.push({ ...base, [key]: v });
    let calls = 0;
    for (const [cls, spec] of layerSpecs) {
      for (const config of configs) {
        for (const inputs of inputSets) {
          for (const fn of [spec.outputShapes, spec.params]) {
            calls++;
            try {
              fn(config as Config, inputs);
            } catch (e) {
              assert.ok(e instanceof ShapeError, `${cls} ${JSON.stringify(config)} on ${JSON.stringify(inputs)} threw ${(e as Error).name}: ${(e as Error).message}`);
              assert.match(e.message, new RegExp(`^${cls}: `));
            }
          }
        }
      }
    }
    assert.ok(calls > 10000);
  });

  it('the catalog lists the classes the fixtures use and leaves Lambda out', () => {
    for (const cls of ['InputLayer', 'Conv1D', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose', 'Dense', 'BatchNormalization', 'LayerNormalization', 'Normalization', 'Embedding', 'MultiHeadAttention', 'GRU', 'LSTM', 'SimpleRNN', 'Bidirectional', 'Add', 'Concatenate', 'Rescaling', 'ReLU', 'Softmax']) {
      assert.ok(layerSpecs.has(cls), cls);
    }
    assert.equal(specFor('Lambda'), undefined);
    assert.equal(specFor('TFOpLambda'), undefined);
  });
});
