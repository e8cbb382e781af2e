import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { toPyTorch } from '../../src/core/export/pytorch';
import { EMITTERS } from '../../src/core/export/pytorch/layers';
import { layerSpecs } from '../../src/core/layers/catalog';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { call, check, inputLayer, kerasModel, parityHooks, parityWork, runWith } from './pytorchParity';

// PyTorch forms of the layers beyond plain conv nets: where TF.js has the layer, the exported module must give
// TF.js's outputs within 1e-5 on the same weights (pytorchParity.ts); where it does not (MultiHeadAttention,
// Normalization, GRU reset_after, rms_scaling), a NumPy transcription of Keras's documented formula is the reference.

const STRICT = 1e-5;

/** Recurrent layers in every mode TF.js has, both wrappers, LayerNormalization over two axes and AlphaDropout. */
function sequenceZoo(): OpenModel {
  const L = tf.layers;
  const ap = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => l.apply(x) as tf.SymbolicTensor;
  const x = tf.input({ shape: [6, 5], name: 'seq' });
  const a = ap(L.simpleRNN({ units: 4, returnSequences: true, activation: 'relu', name: 'srnn' }), x);
  const [lseq, lh, lc] = L.lstm({ units: 3, returnSequences: true, returnState: true, goBackwards: true, name: 'lstm_back' }).apply(a) as tf.SymbolicTensor[];
  let b = ap(L.bidirectional({ layer: L.gru({ units: 3, returnSequences: true, recurrentActivation: 'sigmoid', name: 'gru_in' }) as tf.RNN, mergeMode: 'concat', name: 'bi_concat' }), lseq!);
  const td = ap(L.timeDistributed({ layer: L.dense({ units: 6, activation: 'tanh', name: 'td_dense' }), name: 'td' }), b);
  b = ap(L.add({ name: 'residual' }), [b, td]);
  b = ap(L.layerNormalization({ axis: [-2, -1], epsilon: 1e-5, name: 'ln2' }), b);
  b = ap(L.alphaDropout({ rate: 0.2, name: 'alpha' }), b);
  const ave = ap(L.bidirectional({ layer: L.lstm({ units: 2, name: 'lstm_ave' }) as tf.RNN, mergeMode: 'ave', name: 'bi_ave' }), b);
  const mul = ap(L.bidirectional({ layer: L.simpleRNN({ units: 2, name: 'rnn_mul' }) as tf.RNN, mergeMode: 'mul', name: 'bi_mul' }), b);
  const sum = ap(L.flatten({ name: 'flat' }), ap(L.bidirectional({ layer: L.gru({ units: 2, returnSequences: true, name: 'gru_sum' }) as tf.RNN, mergeMode: 'sum', name: 'bi_sum' }), b));
  const h = ap(L.concatenate({ name: 'all' }), [ave, mul, sum, lh!, lc!]);
  const out = ap(L.dense({ units: 3, activation: 'softmax', name: 'head' }), h);
  const model = tf.model({ inputs: x, outputs: out, name: 'seqzoo' });
  const json = JSON.stringify({ format: 'layers-model', modelTopology: model.toJSON(undefined, false) });
  model.dispose();
  return openModel('seqzoo.json', new TextEncoder().encode(json));
}

describe('PyTorch forms of sequence and normalisation layers', function () {
  this.timeout(300_000);
  parityHooks('laurel-pytorch-layers-');

  it('every layer class the core counts has a PyTorch form', () => {
    assert.deepEqual([...layerSpecs.keys()].filter((c) => c !== 'InputLayer' && !EMITTERS.has(c)), []);
  });

  it('SimpleRNN, LSTM (go_backwards, return_state), GRU, Bidirectional (concat, ave, mul, sum), TimeDistributed, LayerNormalization over two axes: TF.js outputs within 1e-5', async () => {
    const m = sequenceZoo();
    assert.deepEqual(m.analysis.unknownLayers, []);
    await check(m, 'all=plain', STRICT);
    await check(m, 'all=rw+lr:r=2', STRICT);
  });

  it('Keras 1 SeparableConvolution2D (nb_filter, border_mode, subsample, depth_multiplier): TF.js outputs within 1e-5', async () => {
    const sep = { nb_filter: 5, nb_row: 3, nb_col: 3, border_mode: 'same', subsample: [2, 2], depth_multiplier: 2, bias: true, activation: 'relu', init: 'glorot_uniform', dim_ordering: 'tf' };
    const layers = [
      { class_name: 'InputLayer', config: { name: 'img', batch_input_shape: [null, 7, 7, 3], input_dtype: 'float32' }, name: 'img', inbound_nodes: [] },
      { class_name: 'SeparableConvolution2D', config: { name: 'sep', ...sep }, name: 'sep', inbound_nodes: [[['img', 0, 0]]] },
      { class_name: 'Flatten', config: { name: 'flat' }, name: 'flat', inbound_nodes: [[['sep', 0, 0]]] },
      { class_name: 'Dense', config: { name: 'out', output_dim: 4, activation: 'softmax', init: 'glorot_uniform', bias: true }, name: 'out', inbound_nodes: [[['flat', 0, 0]]] },
    ];
    const json = { class_name: 'Model', keras_version: '1.2.2', config: { name: 'k1sep', layers, input_layers: [['img', 0, 0]], output_layers: [['out', 0, 0]] } };
    const m = openModel('k1sep.json', new TextEncoder().encode(JSON.stringify(json)));
    assert.deepEqual(m.analysis.unknownLayers, []);
    const code = toPyTorch(m).code;
    // Keras 1's `init` names both kernels' initializer.
    assert.match(code, /"sep\/depthwise_kernel": "glorot_uniform"/);
    assert.match(code, /"sep\/pointwise_kernel": "glorot_uniform"/);
    await check(m, 'all=plain', STRICT);
  });

  it('SeparableConv1D (no TF.js form) = SeparableConv2D on a height-1 image with the same weights (itself TF.js-checked)', () => {
    const sep = { filters: 4, depth_multiplier: 2, padding: 'same', use_bias: true, activation: 'linear' };
    const one = kerasModel('sep1', [inputLayer('x', [null, 9, 3]), call('SeparableConv1D', 'sep', { ...sep, kernel_size: [3], strides: [2] }, ['x'])], ['x'], 'sep');
    const two = kerasModel('sep2', [inputLayer('x', [null, 1, 9, 3]), call('SeparableConv2D', 'sep', { ...sep, kernel_size: [1, 3], strides: [1, 2] }, ['x'])], ['x'], 'sep');
    const other = join(parityWork.dir, 'sep2.py');
    writeFileSync(other, toPyTorch(two).code);
    const r = runWith(
      one,
      [
        'spec2 = importlib.util.spec_from_file_location("two", ' + JSON.stringify(other) + ')',
        'ex2 = importlib.util.module_from_spec(spec2)',
        'spec2.loader.exec_module(ex2)',
        'a, b = ex.Sep1().eval(), ex2.Sep2().eval()',
        'dw, pw, bias = rng.normal(size=(3, 3, 2)), rng.normal(size=(1, 6, 4)), rng.normal(size=(4,))',
        'ex.load_tfjs_weights(a, {"sep/depthwise_kernel": dw, "sep/pointwise_kernel": pw, "sep/bias": bias})',
        'ex2.load_tfjs_weights(b, {"sep/depthwise_kernel": dw[None], "sep/pointwise_kernel": pw[None], "sep/bias": bias})',
        'x = torch.tensor(rng.normal(size=(2, 9, 3)), dtype=torch.float32)',
        'with torch.no_grad():',
        '    ya, yb = a(x), b(x[:, None])[:, 0]',
        'print(json.dumps({"shape": list(ya.shape), "diff": float((ya - yb).abs().max())}))',
      ].join('\n'),
    );
    assert.deepEqual(r['shape'], [2, 5, 4]);
    assert.ok((r['diff'] as number) < 1e-6, JSON.stringify(r));
  });

  it("MultiHeadAttention = Keras's formula in NumPy (separate key input, value_dim != key_dim, output_shape, no attention to other heads)", () => {
    const mha = { num_heads: 2, key_dim: 3, value_dim: 5, output_shape: 8, use_bias: true, dropout: 0.0, attention_axes: null };
    const m = kerasModel('mha', [inputLayer('q', [null, 4, 6]), inputLayer('v', [null, 7, 4]), inputLayer('k', [null, 7, 3]), call('MultiHeadAttention', 'attn', mha, ['q', 'v', 'k'])], ['q', 'v', 'k'], 'attn');
    const r = runWith(
      m,
      [
        'model = ex.Mha().eval()',
        'shapes = {"query/kernel": (6, 2, 3), "query/bias": (2, 3), "key/kernel": (3, 2, 3), "key/bias": (2, 3), "value/kernel": (4, 2, 5), "value/bias": (2, 5), "attention_output/kernel": (2, 5, 8), "attention_output/bias": (8,)}',
        'w = {n: rng.normal(size=s).astype(np.float32) for n, s in shapes.items()}',
        'ex.load_tfjs_weights(model, {"attn/" + n: a for n, a in w.items()})',
        'q, v, k = rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 7, 4)), rng.normal(size=(2, 7, 3))',
        'with torch.no_grad():',
        '    got = model(*[torch.tensor(t, dtype=torch.float32) for t in (q, v, k)]).numpy()',
        // Keras: each head h projects, scores = (q_h / sqrt(key_dim)) . k_h, softmax over keys, times v_h; the heads' outputs
        // are projected together by the [heads, value_dim, out] kernel.
        'want = np.zeros((2, 4, 8))',
        'for b in range(2):',
        '    acc = np.zeros((4, 8))',
        '    for h in range(2):',
        '        qh = (q[b] @ w["query/kernel"][:, h] + w["query/bias"][h]) / math.sqrt(3)',
        '        kh = k[b] @ w["key/kernel"][:, h] + w["key/bias"][h]',
        '        vh = v[b] @ w["value/kernel"][:, h] + w["value/bias"][h]',
        '        s = qh @ kh.T',
        '        p = np.exp(s - s.max(-1, keepdims=True)); p /= p.sum(-1, keepdims=True)',
        '        acc += (p @ vh) @ w["attention_output/kernel"][h]',
        '    want[b] = acc + w["attention_output/bias"]',
        'print(json.dumps({"diff": float(np.abs(got - want).max()), "scale": float(np.abs(want).max()), "count": sum(p.numel() for p in model.parameters())}))',
      ].join('\n'),
    );
    assert.equal(r['count'], m.params.total);
    assert.ok((r['diff'] as number) <= STRICT * Math.max(1, r['scale'] as number), JSON.stringify(r));
  });

  it('BatchNormalization with one value per channel while training (batch 1 over a 1x1 map, Inception v3 at 75x75) = Keras: beta out, statistics moved', () => {
    const m = kerasModel('bn1', [inputLayer('x', [null, 1, 1, 3]), call('BatchNormalization', 'bn', { axis: -1, momentum: 0.9, epsilon: 1e-3 }, ['x'])], ['x'], 'bn');
    const r = runWith(
      m,
      [
        'model = ex.Bn1().train()',
        'w = {"gamma": rng.normal(size=3), "beta": rng.normal(size=3), "moving_mean": rng.normal(size=3), "moving_variance": rng.uniform(0.5, 2, size=3)}',
        'ex.load_tfjs_weights(model, {"bn/" + n: a.astype(np.float32) for n, a in w.items()})',
        'x = torch.tensor(rng.normal(size=(1, 1, 1, 3)), dtype=torch.float32, requires_grad=True)',
        'y = model(x)',
        'y.sum().backward()',
        // Keras / TF.js: mean = x, variance = 0, so (x - mean) * rsqrt(eps) * gamma + beta = beta; moving = 0.9 moving + 0.1 batch.
        'bn = model.bn',
        'print(json.dumps({"out": float(np.abs(y.detach().numpy().reshape(3) - w["beta"]).max()), "grad": float(x.grad.abs().max()),',
        '  "mean": float(np.abs(bn.running_mean.numpy() - (0.9 * w["moving_mean"] + 0.1 * x.detach().numpy().reshape(3))).max()),',
        '  "var": float(np.abs(bn.running_var.numpy() - 0.9 * w["moving_variance"]).max())}))',
      ].join('\n'),
    );
    for (const k of ['out', 'grad', 'mean', 'var']) assert.ok((r[k] as number) < 1e-6, JSON.stringify(r));
  });

  it('Normalization: mean / variance from the config, or adapted on the data as Keras adapt() computes them (2n + 1 weights)', () => {
    const fixed = kerasModel('norm_fixed', [inputLayer('x', [null, 5, 3]), call('Normalization', 'norm', { axis: -1, mean: [0.5, -1, 2], variance: [4, 0.25, 1e-20] }, ['x'])], ['x'], 'norm');
    const r = runWith(
      fixed,
      [
        'model = ex.NormFixed().eval()',
        'x = rng.normal(size=(2, 5, 3))',
        'with torch.no_grad():',
        '    got = model(torch.tensor(x, dtype=torch.float32)).numpy()',
        // Keras: (x - mean) / max(sqrt(variance), epsilon 1e-7).
        'want = (x - np.array([0.5, -1, 2])) / np.maximum(np.sqrt([4, 0.25, 1e-20]), 1e-7)',
        'print(json.dumps({"diff": float(np.abs(got - want).max() / np.abs(want).max())}))',
      ].join('\n'),
    );
    assert.ok((r['diff'] as number) < STRICT, JSON.stringify(r));
    assert.equal(fixed.params.total, 0);

    const adapted = kerasModel('norm_adapt', [inputLayer('x', [null, 4, 3]), call('Dense', 'd', { units: 3, use_bias: true }, ['x']), call('Normalization', 'norm', { axis: -1 }, ['d'])], ['x'], 'norm');
    const a = runWith(
      adapted,
      [
        'model = ex.NormAdapt().eval()',
        'data = torch.tensor(rng.normal(1.0, 3.0, size=(40, 4, 3)), dtype=torch.float32)',
        'names = ex.adapt_normalization(model, lambda: ((data[i:i + 16],) for i in range(0, 40, 16)))',
        'with torch.no_grad():',
        '    h = model.d(data).double().numpy().reshape(-1, 3)',
        '    y = model(data).double().numpy().reshape(-1, 3)',
        'n = model.norm',
        'print(json.dumps({"names": names, "mean": float(np.abs(n.adapt_mean.numpy() - h.mean(0)).max()), "var": float(np.abs(n.adapt_variance.numpy() / h.var(0) - 1).max()),',
        '  "count": float(n.adapt_count), "out_mean": float(np.abs(y.mean(0)).max()), "out_std": float(np.abs(y.std(0) - 1).max()), "weights": ex.count_weights(model)}))',
      ].join('\n'),
    );
    assert.deepEqual(a['names'], ['norm']);
    assert.ok((a['mean'] as number) < 1e-5 && (a['var'] as number) < 1e-5, JSON.stringify(a));
    assert.equal(a['count'], 160);
    assert.ok((a['out_mean'] as number) < 1e-5 && (a['out_std'] as number) < 1e-5, JSON.stringify(a));
    assert.equal(a['weights'], adapted.params.total); // 12 (dense) + 2 * 3 + 1
  });

  it('GRU reset_after and LayerNormalization rms_scaling = their Keras formulas in NumPy', () => {
    const m = kerasModel(
      'gru_rms',
      [
        inputLayer('x', [null, 5, 4]),
        call('GRU', 'gru', { units: 3, reset_after: true, return_sequences: true, activation: 'tanh', recurrent_activation: 'sigmoid' }, ['x']),
        call('LayerNormalization', 'rms', { axis: -1, epsilon: 1e-3, rms_scaling: true, center: true, scale: true }, ['gru']),
      ],
      ['x'],
      'rms',
    );
    const r = runWith(
      m,
      [
        'model = ex.GruRms().eval()',
        'w = {"gru/kernel": rng.normal(size=(4, 9)), "gru/recurrent_kernel": rng.normal(size=(3, 9)), "gru/bias": rng.normal(size=(2, 9)), "rms/gamma": rng.normal(size=(3,))}',
        'ex.load_tfjs_weights(model, {n: a.astype(np.float32) for n, a in w.items()})',
        'x = rng.normal(size=(2, 5, 4))',
        'with torch.no_grad():',
        '    got = model(torch.tensor(x, dtype=torch.float32)).numpy()',
        'sig = lambda v: 1 / (1 + np.exp(-v))',
        'W, U, b = w["gru/kernel"], w["gru/recurrent_kernel"], w["gru/bias"]',
        'h, hs = np.zeros((2, 3)), []',
        'for t in range(5):',
        '    xz, xr, xh = np.split(x[:, t] @ W + b[0], 3, axis=-1)',
        '    rz, rr, rh = np.split(h @ U + b[1], 3, axis=-1)',
        '    z, r = sig(xz + rz), sig(xr + rr)',
        '    h = z * h + (1 - z) * np.tanh(xh + r * rh)',
        '    hs.append(h)',
        'seq = np.stack(hs, 1)',
        'want = seq / np.sqrt(seq.var(-1, keepdims=True) + 1e-3) * w["rms/gamma"]',
        'print(json.dumps({"diff": float(np.abs(got - want).max()), "scale": float(np.abs(want).max()), "count": ex.count_weights(model)}))',
      ].join('\n'),
    );
    assert.equal(r['count'], m.params.total); // 4*9 + 3*9 + 2*9 + 3 (gamma only)
    assert.ok((r['diff'] as number) <= STRICT * Math.max(1, r['scale'] as number), JSON.stringify(r));
  });
});
