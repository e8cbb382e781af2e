import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Shape } from '../../src/core/ir';
import { specFor } from '../../src/core/layers/catalog';
import type { Config, Result } from './layerReference';
import { agree, grid, ours, reference, show, toFirst } from './layerReference';

// Every class tfjs-layers implements, over grids of its settings: the catalog's shapes and weight counts equal a
// one-layer tfjs model's (layerReference.ts).

describe('layer catalog vs tfjs-layers', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

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
