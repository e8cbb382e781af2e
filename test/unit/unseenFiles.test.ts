import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { toPyTorch } from '../../src/core/export/pytorch';
import { buildModel } from '../../src/laurel/buildModel';
import { ModelError } from '../../src/core/errors';
import { openModel, planModel, plannedBytes } from '../../src/core/model';
import { call, check, inputLayer, kerasModel, parityHooks } from './pytorchParity';
import { fixturePath } from './fixturePath';

// Real files fetched from public repositories that earlier fixtures did not cover (test/fixtures/models/SOURCES.md),
// each with the failure it showed before the fix.

const SEQ2SEQ = 'tfjs-seq2seq-lstm-initial-state-tfjs-examples.json';
const HYBRID = 'keras2.13-efficientnetb0-transformer-hybrid.json';
const VARIANTS = ['rw', 'lr:r=4', 'pa', 'rw+lr:r=4', 'rw+pa', 'rw+lr+pa:r=4', 'gemma:r=4'];

describe('real files not seen before', function () {
  this.timeout(300_000);
  parityHooks('laurel-unseen-');

  describe(`${SEQ2SEQ}: a decoder LSTM called with initial_state=[h, c] of the encoder (3 inputs)`, () => {
    it("reads without a problem and counts Keras's weights (it was 'LSTM: got 3 inputs', the decoder left out)", () => {
      const m = openModel(SEQ2SEQ, readFileSync(fixturePath(SEQ2SEQ)));
      assert.deepEqual(m.analysis.problems, []);
      // LSTM: 4 gates × units × (features + units + 1); encoder 81 features, decoder 108; Dense 256 → 108.
      // tfjs countParams() of the same file gives 747,628 too (not run here: its orthogonal initializer takes minutes).
      const lstm = (features: number) => 4 * 256 * (features + 256 + 1);
      assert.equal(m.params.total, lstm(81) + lstm(108) + 256 * 108 + 108);
      assert.equal(m.params.total, 747_628);
      const bytes = readFileSync(fixturePath(SEQ2SEQ));
      assert.ok(Buffer.from(plannedBytes(m, planModel(m, 'all=plain'))).equals(bytes));
    });

    it("exports to PyTorch passing the encoder's states to the decoder (pytorchFixtures runs it)", () => {
      const m = openModel(SEQ2SEQ, readFileSync(fixturePath(SEQ2SEQ)));
      const { code, unsupported } = toPyTorch(m);
      assert.deepEqual(unsupported, []);
      assert.match(code, /lstm_2 = self\.lstm_2\(input_2, \[lstm_1\[1\], lstm_1\[2\]\]\)/);
    });
  });

  describe(`${HYBRID}: tf.keras 2.13 JSON with Keras 3-style module keys, EfficientNetB0 + a transformer block`, () => {
    const m = () => openModel(HYBRID, readFileSync(fixturePath(HYBRID)));

    it('counts what its parts count by Keras (EfficientNetB0 without top 4,049,571 + the head)', () => {
      const model = m();
      assert.deepEqual(model.analysis.problems, []);
      assert.deepEqual(model.analysis.unknownLayers, []);
      const mha = 3 * (1280 * 4 * 128 + 4 * 128) + 4 * 128 * 1280 + 1280;
      const dense = (i: number, o: number) => i * o + o;
      const head = mha + 2 * 2 * 1280 + dense(1280, 512) + dense(512, 1280) + dense(1280, 512) + dense(512, 8);
      assert.equal(model.params.total, 4_049_571 + head);
      assert.equal(model.params.total, 8_651_435);
    });

    it('finds the 9 MBConv identity adds and the 2 post-norm transformer adds', () => {
      const sites = m().sites;
      assert.equal(sites.length, 11);
      assert.ok(sites.every((s) => s.shortcutKind === 'identity'));
      assert.deepEqual(sites.filter((s) => s.width === 1280).map((s) => s.id), ['add_6', 'add_7']);
    });
  });

  for (const file of [HYBRID, SEQ2SEQ]) {
    it(`${file}: every variant is written, read back with its price, and plain restores the bytes`, () => {
      const bytes = readFileSync(fixturePath(file));
      const model = openModel(file, bytes);
      for (const v of model.sites.length ? VARIANTS : []) {
        const planned = planModel(model, `all=${v}`);
        const again = openModel(file, plannedBytes(model, planned));
        assert.deepEqual(again.analysis.problems, [], v);
        assert.equal(again.params.total, model.params.total + planned.cost.addedParams, v);
        assert.ok(Buffer.from(plannedBytes(again, planModel(again, 'all=plain'))).equals(bytes), `${v}: plain restores every byte`);
      }
    });
  }

  it("a Git LFS pointer committed as model.keras (Akash3951/Pneumonia_Detection's) is named as one, not as malformed JSON", () => {
    const pointer = 'version https://git-lfs.github.com/spec/v1\noid sha256:67b488ead2c4bff088e0642b9db25c2057403c6bb1d2c21dec642ce4ab710d4f\nsize 137445137\n';
    assert.throws(
      () => openModel('model.keras', new TextEncoder().encode(pointer)),
      (e: unknown) => e instanceof ModelError && /^model\.keras: this is a Git LFS pointer, not the model.*git lfs pull/.test(e.message),
    );
  });

  it("tf.keras 2.10's SeparableConv2D config (with its Conv base's kernel_* keys, which tfjs refuses) builds in TF.js", async () => {
    // The layer as tf.keras 2.10 writes it (Emmyvictor/Eyes_Diseases model_architecture.json, not kept: no licence).
    const glorot = { class_name: 'GlorotUniform', config: { seed: null } };
    const sep = {
      filters: 16, kernel_size: [3, 3], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], groups: 1,
      activation: 'relu', use_bias: true, kernel_initializer: glorot, bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null,
      depth_multiplier: 1, depthwise_initializer: glorot, pointwise_initializer: glorot, depthwise_regularizer: null,
      pointwise_regularizer: null, depthwise_constraint: null, pointwise_constraint: null,
    };
    const m = kerasModel('separable-tfkeras210', [inputLayer('x', [null, 12, 12, 3]), call('SeparableConv2D', 'separable_conv2d', sep, ['x'])], ['x'], 'separable_conv2d');
    const model = await buildModel(m);
    try {
      assert.equal(model.countParams(), m.params.total);
      assert.equal(m.params.total, 3 * 9 + 3 * 16 + 16);
    } finally {
      model.dispose();
    }
  });

  it("a model file committed mid-merge (AnshSharma2521/Multimodal-Emotion-Recognition's) names the conflict at its line", () => {
    const text = '<<<<<<< HEAD\n{"class_name": "Functional", "config": {}}\n=======\n{"class_name": "Functional", "config": {"name": "m"}}\n>>>>>>> main\n';
    assert.throws(() => openModel('model_architecture.json', new TextEncoder().encode(text)), (e: unknown) => e instanceof ModelError && e.message.startsWith("model_architecture.json:1:1: an unresolved merge conflict (a '<<<<<<<' line)"));
    const inside = '{"class_name": "Sequential",\n<<<<<<< HEAD\n"config": []\n=======\n"config": {}\n>>>>>>> x\n}';
    assert.throws(() => openModel('m.json', new TextEncoder().encode(inside)), (e: unknown) => e instanceof ModelError && e.message.startsWith('m.json:2:1: an unresolved merge conflict'));
  });

  describe('initial_state on every recurrent class, checked against TF.js', () => {
    const model = (cls: string, states: number, wrap: boolean) => {
      const rnn = { units: 6, return_sequences: true };
      const layer = wrap ? { layer: { class_name: cls, config: { name: 'inner', ...rnn } }, merge_mode: 'concat' } : rnn;
      const stateNames = Array.from({ length: states * (wrap ? 2 : 1) }, (_, i) => `s${i}`);
      return kerasModel(
        `${wrap ? 'bi' : ''}${cls}-initial-state`,
        [
          inputLayer('seq', [null, 5, 3]),
          inputLayer('ctx', [null, 4]),
          ...stateNames.map((n) => call('Dense', n, { units: 6, activation: 'tanh' }, ['ctx'])),
          call(wrap ? 'Bidirectional' : cls, 'rnn', layer, ['seq', ...stateNames]),
        ],
        ['seq', 'ctx'],
        'rnn',
      );
    };
    for (const [cls, states] of [['SimpleRNN', 1], ['GRU', 1], ['LSTM', 2]] as const) {
      for (const wrap of [false, true]) {
        it(`${wrap ? 'Bidirectional ' : ''}${cls}`, async () => {
          const m = model(cls, states, wrap);
          assert.deepEqual(m.analysis.problems, []);
          await check(m, 'all=plain');
        });
      }
    }

    it('a wrong number of state tensors or a state of the wrong width is a located problem, not a count', () => {
      const wrongCount = kerasModel('lstm-one-state', [inputLayer('seq', [null, 5, 3]), inputLayer('h', [null, 6]), call('LSTM', 'rnn', { units: 6 }, ['seq', 'h'])], ['seq', 'h'], 'rnn');
      assert.match(wrongCount.analysis.problems.map((p) => p.message).join('\n'), /LSTM: got 2 inputs; expected 1 \(the sequence\) or 3/);
      const wrongWidth = kerasModel('gru-wide-state', [inputLayer('seq', [null, 5, 3]), inputLayer('h', [null, 7]), call('GRU', 'rnn', { units: 6 }, ['seq', 'h'])], ['seq', 'h'], 'rnn');
      assert.match(wrongWidth.analysis.problems.map((p) => p.message).join('\n'), /GRU: initial state 0 has shape \[null,7\]; expected \[batch, 6\]/);
    });
  });
});
