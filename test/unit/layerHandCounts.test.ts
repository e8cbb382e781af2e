import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Shape } from '../../src/core/ir';
import { ShapeError } from '../../src/core/layerSpec';
import { layerSpecs, specFor } from '../../src/core/layers/catalog';
import { fixturePath } from './fixturePath';
import type { Config } from './layerReference';
import { throwsShape } from './layerReference';

describe('layer catalog vs hand computations (classes or options tfjs lacks)', () => {
  const run = (cls: string, config: Config, inputs: Shape[]) => {
    const s = specFor(cls)!;
    return { shapes: s.outputShapes(config, inputs), ...s.params(config, inputs) };
  };

  it('MultiHeadAttention: the Keras 3 fixture config', () => {
    const doc = JSON.parse(readFileSync(fixturePath('keras3-transformer-encoder-opsAdd-dotkeras-config.json'), 'utf8')) as { config: { layers: { class_name: string; config: Config }[] } };
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
