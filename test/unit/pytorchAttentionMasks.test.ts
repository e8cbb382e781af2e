import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { toKerasTopology } from '../../src/core/export/kerasTopology';
import { toPyTorch } from '../../src/core/export/pytorch';
import { openModel } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { fixturePath } from './fixturePath';
import { inputLayer, kerasModel, parityHooks, runWith } from './pytorchParity';

// MultiHeadAttention's masks as the file passes them: tf.keras writes every argument after the query as a
// keyword in the first reference's kwargs (value=, key=, attention_mask=, use_causal_mask=), Keras 3 keeps
// positional arguments in `args` and keywords in `kwargs`. TF.js has no MultiHeadAttention, so the PyTorch
// form is checked against a NumPy transcription of Keras's formula with its mask (scores + (1 - mask) * -1e9).

const STRICT = 1e-5;
const fromJson = (name: string, json: unknown): OpenModel => openModel(name, new TextEncoder().encode(JSON.stringify(json)));

/** Keras's attention in NumPy for the weights `w` of a layer with `heads` heads; mask [B, T, S] of 0/1 or None. */
const REFERENCE = [
  'def keras_mha(q, v, k, w, heads, key_dim, mask):',
  '    B, T, S = q.shape[0], q.shape[1], v.shape[1]',
  '    out = np.zeros((B, T, w["attention_output/kernel"].shape[-1]))',
  '    for b in range(B):',
  '        for h in range(heads):',
  '            qh = (q[b] @ w["query/kernel"][:, h] + w["query/bias"][h]) / math.sqrt(key_dim)',
  '            kh = k[b] @ w["key/kernel"][:, h] + w["key/bias"][h]',
  '            vh = v[b] @ w["value/kernel"][:, h] + w["value/bias"][h]',
  '            s = qh @ kh.T',
  '            if mask is not None:',
  '                s = s + (1.0 - mask[b]) * -1e9',
  '            p = np.exp(s - s.max(-1, keepdims=True)); p /= p.sum(-1, keepdims=True)',
  '            out[b] += (p @ vh) @ w["attention_output/kernel"][h]',
  '        out[b] += w["attention_output/bias"]',
  '    return out',
  'def weights(shapes):',
  '    return {n: rng.normal(size=s).astype(np.float32) for n, s in shapes.items()}',
  'def run(model, *xs):',
  '    with torch.no_grad():',
  '        return model(*[torch.tensor(t, dtype=torch.float32) for t in xs]).numpy()',
].join('\n');

const MHA = { num_heads: 2, key_dim: 3, value_dim: 2, output_shape: null, use_bias: true, dropout: 0.0, attention_axes: null };
/** (2 heads, key_dim 3, value_dim 2) on a query of width 6 and a value (and key) of width 3: Keras's count. */
const MHA_PARAMS = 6 * 2 * 3 + 2 * 3 + (3 * 2 * 3 + 2 * 3) + (3 * 2 * 2 + 2 * 2) + 2 * 2 * 6 + 6;

/** tf.keras: mha(q, v, attention_mask=m), the keywords written in the file in the order attention_mask, value. */
function keras2Masked(): OpenModel {
  const attn = { class_name: 'MultiHeadAttention', name: 'attn', config: { name: 'attn', ...MHA }, inbound_nodes: [[['q', 0, 0, { attention_mask: ['m', 0, 0], value: ['v', 0, 0] }]]] };
  return kerasModel('masked', [inputLayer('q', [null, 4, 6]), inputLayer('v', [null, 5, 3]), inputLayer('m', [null, 4, 5]), attn], ['q', 'v', 'm'], 'attn');
}

/** Keras 3: mha(x, x, use_causal_mask=True), as Keras 3.8 writes a call (args, kwargs with null masks). */
function keras3Causal(): OpenModel {
  const tensor = { class_name: '__keras_tensor__', config: { shape: [null, 5, 6], dtype: 'float32', keras_history: ['x', 0, 0] } };
  const layers = [
    { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 5, 6], dtype: 'float32', sparse: false, name: 'x' }, registered_name: null, name: 'x', inbound_nodes: [] },
    {
      module: 'keras.layers',
      class_name: 'MultiHeadAttention',
      config: { name: 'attn', trainable: true, num_heads: 2, key_dim: 3, value_dim: 2, dropout: 0.0, use_bias: true, output_shape: null, attention_axes: [1] },
      registered_name: null,
      name: 'attn',
      inbound_nodes: [{ args: [tensor, tensor], kwargs: { query_mask: null, value_mask: null, use_causal_mask: true } }],
    },
  ];
  return fromJson('causal.json', { module: 'keras.src.models.functional', class_name: 'Functional', config: { name: 'causal', trainable: true, layers, input_layers: [['x', 0, 0]], output_layers: [['attn', 0, 0]] }, registered_name: 'Functional' });
}

describe('MultiHeadAttention masks from the file: the PyTorch form honours them', function () {
  this.timeout(300_000);
  parityHooks('laurel-pytorch-masks-');

  it('tf.keras attention_mask= (written before value=): roles by keyword, the count unchanged, PyTorch = NumPy with the mask', () => {
    const m = keras2Masked();
    assert.deepEqual(m.analysis.problems.map((p) => p.message), []);
    assert.deepEqual(m.doc.graph.nodes.find((n) => n.layer === 'attn')!.args, { keys: [null, 'attention_mask', 'value'], flags: {} });
    assert.equal(m.params.total, MHA_PARAMS);
    assert.match(toPyTorch(m).code, /= self\.attn\(query=\w+, attention_mask=\w+, value=\w+\)/);
    const r = runWith(
      m,
      [
        REFERENCE,
        'model = ex.Masked().eval()',
        'w = weights({"query/kernel": (6, 2, 3), "query/bias": (2, 3), "key/kernel": (3, 2, 3), "key/bias": (2, 3), "value/kernel": (3, 2, 2), "value/bias": (2, 2), "attention_output/kernel": (2, 2, 6), "attention_output/bias": (6,)})',
        'ex.load_tfjs_weights(model, {"attn/" + n: a for n, a in w.items()})',
        'q, v = rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 5, 3))',
        // Every query keeps at least one key (a fully masked row is not compared: float32 and float64 differ there).
        'mask = (rng.uniform(size=(2, 4, 5)) < 0.5).astype(np.float32); mask[:, :, 0] = 1',
        'got = run(model, q, v, mask)',
        'want = keras_mha(q, v, v, w, 2, 3, mask)',
        'print(json.dumps({"diff": float(np.abs(got - want).max()), "scale": float(np.abs(want).max()), "masked_out": float(np.abs(keras_mha(q, v, v, w, 2, 3, None) - want).max()), "count": sum(p.numel() for p in model.parameters())}))',
      ].join('\n'),
    );
    assert.equal(r['count'], MHA_PARAMS);
    assert.ok((r['diff'] as number) <= STRICT * Math.max(1, r['scale'] as number), JSON.stringify(r));
    assert.ok((r['masked_out'] as number) > 1e-2, `the mask changes the output: ${JSON.stringify(r)}`);
  });

  it('Keras 3 use_causal_mask=True: PyTorch = NumPy with the lower triangle; the flag reaches every call of the real encoder', () => {
    const m = keras3Causal();
    assert.deepEqual(m.analysis.problems.map((p) => p.message), []);
    assert.deepEqual(m.doc.graph.nodes.find((n) => n.layer === 'attn')!.args?.flags, { query_mask: null, value_mask: null, use_causal_mask: true });
    assert.match(toPyTorch(m).code, /self\.attn\(query=x, value=x, use_causal_mask=True\)/);
    const r = runWith(
      m,
      [
        REFERENCE,
        'model = ex.Causal().eval()',
        'w = weights({"query/kernel": (6, 2, 3), "query/bias": (2, 3), "key/kernel": (6, 2, 3), "key/bias": (2, 3), "value/kernel": (6, 2, 2), "value/bias": (2, 2), "attention_output/kernel": (2, 2, 6), "attention_output/bias": (6,)})',
        'ex.load_tfjs_weights(model, {"attn/" + n: a for n, a in w.items()})',
        'x = rng.normal(size=(3, 5, 6))',
        'tril = np.broadcast_to(np.tril(np.ones((5, 5))), (3, 5, 5))',
        'got = run(model, x)',
        'want = keras_mha(x, x, x, w, 2, 3, tril)',
        'print(json.dumps({"diff": float(np.abs(got - want).max()), "scale": float(np.abs(want).max()), "masked_out": float(np.abs(keras_mha(x, x, x, w, 2, 3, None) - want).max())}))',
      ].join('\n'),
    );
    assert.ok((r['diff'] as number) <= STRICT * Math.max(1, r['scale'] as number), JSON.stringify(r));
    assert.ok((r['masked_out'] as number) > 1e-2, JSON.stringify(r));

    // The real Keras 3 encoder, its two calls switched to causal in the file: both exported calls say so.
    const text = readFileSync(fixturePath('keras3-transformer-encoder-opsAdd-dotkeras-config.json'), 'utf8').replace(/"value_mask": null\}/g, '"value_mask": null, "use_causal_mask": true}');
    const encoder = openModel('encoder-causal.json', new TextEncoder().encode(text));
    assert.equal(encoder.params.total, openModel('encoder.json', readFileSync(fixturePath('keras3-transformer-encoder-opsAdd-dotkeras-config.json'))).params.total);
    assert.equal(toPyTorch(encoder).code.match(/use_causal_mask=True\)/g)?.length, 2);
  });

  it('the Keras JSON export writes the call as tf.keras does, and reading it back gives the same roles and count', () => {
    const m = keras2Masked();
    const topo = toKerasTopology(m);
    const attn = topo.config.layers.find((l) => l.name === 'attn')!;
    assert.deepEqual(attn.inbound_nodes, [[['q', 0, 0, { attention_mask: ['m', 0, 0], value: ['v', 0, 0] }]]]);
    const again = fromJson('again.json', { ...topo, keras_version: '2.13.1', backend: 'tensorflow' });
    assert.deepEqual(again.doc.graph.nodes.find((n) => n.layer === 'attn')!.args, { keys: [null, 'attention_mask', 'value'], flags: {} });
    assert.equal(again.params.total, MHA_PARAMS);
  });

  it('masks passed positionally, an unknown keyword, or a mask of the wrong shape are located problems that say what is expected', () => {
    const ref = (name: string, kw: Record<string, unknown> = {}) => [name, 0, 0, kw];
    const layer = (inbound: unknown[]) => ({ class_name: 'MultiHeadAttention', name: 'attn', config: { name: 'attn', ...MHA }, inbound_nodes: [inbound] });
    const inputs = [inputLayer('q', [null, 4, 6]), inputLayer('v', [null, 5, 3]), inputLayer('m', [null, 4, 5]), inputLayer('bad', [null, 5, 4])];
    const problems = (inbound: unknown[]) => kerasModel('p', [...inputs, layer(inbound)], ['q', 'v', 'm', 'bad'], 'attn').analysis.problems.map((p) => p.message).join('\n');
    assert.match(problems([ref('q'), ref('v'), ref('v'), ref('m')]), /input 4 is positional argument 4; expected query, value and key positionally and masks by keyword/);
    assert.match(problems([ref('q', { value: ['v', 0, 0], mask: ['m', 0, 0] })]), /input 3 is passed as 'mask'; expected one of query, value, key, attention_mask/);
    assert.match(problems([ref('q', { value: ['v', 0, 0], attention_mask: ['bad', 0, 0] })]), /attention_mask shape \[null,5,4\] does not fit query \[null,4,6\] and value \[null,5,3\]; expected \[null,4,5\]/);
    assert.match(problems([ref('q', { value: ['v', 0, 0], use_causal_mask: 'yes' })]), /use_causal_mask is "yes"; expected true or false/);
  });
});
