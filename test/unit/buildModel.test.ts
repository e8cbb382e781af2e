import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { kerasValue, toKerasTopology, toTfjsModelJson } from '../../src/core/export/kerasTopology';
import type { KerasLayerJson } from '../../src/core/export/kerasTopology';
import { previousActivations } from '../../src/core/laurel/history';
import { parsePlan, resolvePlan } from '../../src/core/laurel/planSpec';
import { openModel, planModel, plannedBytes } from '../../src/core/model';
import type { OpenModel } from '../../src/core/model';
import { buildModel, unsupportedLayers, UnsupportedModelError } from '../../src/laurel/buildModel';
import { registerLaurelLayers } from '../../src/laurel/laurelResidual';
import { fixturePath } from './fixturePath';

// The reference is tfjs itself: its countParams(), trainable weights and symbolic output shapes of the model
// it deserialised, compared with the core's own analysis. For Keras 1 and Keras 3 files tfjs cannot load the
// file, so this is the only independent check of the core's counts for them.

/** Every layers-model fixture tfjs has all the layers of (the Keras 3 transformer uses MultiHeadAttention). */
const BUILDABLE = [
  'tfjs-legacy-resnet50-tensorspace.json',
  'tfjs-legacy-mobilenetv2-nsfwjs.json',
  'tfjs-legacy-inceptionv3-tensorspace.json',
  'tfjs-browser-saved-lenet-tensorspace.json',
  'tfjs-official-e2e-sequential-embedding-gru.json',
  'keras1-resnet50-kerasjs.json',
  'keras1-inceptionv3-kerasjs.json',
  'keras-resnet18-custom-doubleencoded.json',
  'keras2-fc-densenet67-tiramisu-functional.json',
  'keras2-fc-densenet103-tiramisu-sequential-listconfig.json',
  'keras3-resnet1d-dotkeras-config.json',
];
const TRANSFORMER = 'keras3-transformer-encoder-opsAdd-dotkeras-config.json';
const MINI = 'resnet-mini.json';
const PLANNED = [MINI, 'keras-resnet18-custom-doubleencoded.json', 'keras3-resnet1d-dotkeras-config.json'];
const SPECS = ['all=rw', 'all=lr:r=8', 'all=rw+lr:r=4', 'all=pa:k=2', 'all=rw+lr+pa:r=4:k=3', 'all=gemma:r=4'];

/** examples/ sits in the repository; tests run from out/test/unit (bundled) or test/unit. */
function examplePath(file: string): string {
  const found = ['../../..', '../..'].map((up) => join(__dirname, up, 'examples', file)).find((p) => existsSync(p));
  if (!found) throw new Error(`examples/${file} not found above ${__dirname}`);
  return found;
}

const cache = new Map<string, OpenModel>();
function open(file: string): OpenModel {
  if (!cache.has(file)) cache.set(file, openModel(file, readFileSync(file === MINI ? examplePath(file) : fixturePath(file))));
  return cache.get(file)!;
}

const choicesFor = (m: OpenModel, spec: string) => resolvePlan(parsePlan(spec), m.sites);
const size = (ws: tf.LayerVariable[]): number => ws.reduce((a, w) => a + w.shape.reduce<number>((x, y) => x * (y ?? 0), 1), 0);
const outputShapes = (m: OpenModel) => m.doc.graph.outputs.map((t) => m.analysis.shapes.get(t.node)?.[t.index] ?? null);

async function counted<T>(model: tf.LayersModel, fn: (model: tf.LayersModel) => T): Promise<T> {
  try {
    return fn(model);
  } finally {
    model.dispose();
  }
}

/** The model JSON a tfjs loader reads from a written file: decoded once more when the file is a JSON string. */
function modelJsonOf(bytes: Uint8Array): { modelTopology: object } {
  let json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  if (typeof json === 'string') json = JSON.parse(json);
  return json.modelTopology ? json : { modelTopology: json };
}

describe('buildModel: the IR as a trainable tf.LayersModel', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  describe('plain models: tfjs counts and shapes equal the core analysis', () => {
    for (const file of BUILDABLE) {
      it(file, async () => {
        const m = open(file);
        assert.deepEqual(m.analysis.unknownLayers, []);
        await counted(await buildModel(m), (model) => {
          assert.equal(model.countParams(), m.params.total, 'countParams');
          assert.equal(size(model.trainableWeights), m.params.trainable, 'trainable weights');
          assert.equal(size(model.nonTrainableWeights), m.params.nonTrainable, 'non-trainable weights');
          assert.deepEqual(
            model.outputs.map((o) => o.shape),
            outputShapes(m),
          );
          assert.equal(model.layers.filter((l) => l.getClassName() === 'LaurelResidual').length, m.sites.filter((s) => s.current.variant !== 'plain').length);
        });
      });
    }

    it(`${TRANSFORMER}: a clear error naming the MultiHeadAttention layers (tfjs 4.22 registers no such class)`, async () => {
      assert.ok(!('MultiHeadAttention' in tf.serialization.SerializationMap.getMap().classNameMap));
      await assert.rejects(buildModel(open(TRANSFORMER)), (e: unknown) => {
        assert.ok(e instanceof UnsupportedModelError);
        assert.match(e.message, /^cannot train: layer 'multi_head_attention' is MultiHeadAttention, which TensorFlow\.js does not provide/);
        assert.deepEqual(
          e.layers.map((l) => l.name),
          ['multi_head_attention', 'multi_head_attention_1'],
        );
        return true;
      });
    });
  });

  it('unsupportedLayers names settings tfjs would silently ignore and helpers it lacks', () => {
    const layer = (class_name: string, config: Record<string, unknown>): KerasLayerJson => ({ class_name, name: `${class_name.toLowerCase()}_1`, config, inbound_nodes: [] });
    const topo = {
      class_name: 'Model' as const,
      config: {
        name: 't',
        input_layers: [],
        output_layers: [],
        layers: [
          layer('Conv2D', { filters: 8, kernel_size: [3, 3], groups: 2 }),
          layer('ReLU', { negative_slope: 0.1 }),
          layer('Dense', { units: 4, activation: 'leaky_relu' }),
          layer('Dense', { units: 4, kernel_regularizer: { class_name: 'OrthogonalRegularizer', config: {} } }),
          layer('GlobalAveragePooling1D', { keepdims: true }),
          layer('Dense', { units: 4, activation: 'hard_sigmoid', kernel_initializer: 'glorot_uniform' }),
        ],
      },
    };
    assert.deepEqual(
      unsupportedLayers(topo).map((l) => l.reason),
      [
        'is Conv2D with groups=2, which TensorFlow.js does not support',
        'is ReLU with negative_slope=0.1, threshold=0, which TensorFlow.js does not support',
        "uses activation 'leaky_relu', which TensorFlow.js does not provide",
        'uses kernel regularizer OrthogonalRegularizer, which TensorFlow.js does not provide',
        'is GlobalAveragePooling1D with keepdims=true, which TensorFlow.js does not support',
      ],
    );
  });

  describe('plans: countParams() = the core total + the plan cost', () => {
    for (const file of PLANNED) {
      for (const spec of SPECS) {
        it(`${file} ${spec}`, async () => {
          const m = open(file);
          assert.ok(m.sites.length > 0);
          const added = planModel(m, spec).cost.addedParams;
          assert.ok(added > 0);
          await counted(await buildModel(m, choicesFor(m, spec)), (model) => {
            assert.equal(model.countParams(), m.params.total + added);
            assert.equal(size(model.trainableWeights), m.params.trainable + added);
            assert.deepEqual(
              model.outputs.map((o) => o.shape),
              outputShapes(m),
            );
            assert.equal(model.layers.filter((l) => l.getClassName() === 'LaurelResidual').length, m.sites.length);
          });
        });
      }
    }

    it('keras1-resnet50-kerasjs.json (Merge mode=sum sites) all=rw+lr:r=8', async () => {
      const m = open('keras1-resnet50-kerasjs.json');
      const spec = 'all=rw+lr:r=8';
      await counted(await buildModel(m, choicesFor(m, spec)), (model) => assert.equal(model.countParams(), m.params.total + planModel(m, spec).cost.addedParams));
    });

    it('PA layers get the earlier activations history.ts picks as extra inputs, f(x) and x first', () => {
      const m = open(MINI);
      const k = 3;
      const topo = toKerasTopology(m, choicesFor(m, `all=rw+lr+pa:r=4:k=${k}`));
      const byName = new Map(topo.config.layers.map((l) => [l.name, l]));
      let withHistory = 0;
      for (const site of m.sites) {
        const layer = byName.get(site.merge)!;
        assert.equal(layer.class_name, 'LaurelResidual');
        const history = previousActivations(site, m.sites, m.doc.graph, k - 1);
        const refs = layer.inbound_nodes[0]!.map((r) => `${r[0]}:${r[1]}:${r[2]}`);
        const node = m.doc.graph.nodes.find((n) => n.id === site.node)!;
        assert.deepEqual(refs, [...node.inputs.map((t) => `${t.node}:0:${t.index}`), ...history.map((h) => `${h.layer}:${h.callIndex}:${h.index}`)]);
        assert.equal(layer.config['branch_index'], site.branchIndex);
        assert.equal(layer.config['shortcut_index'], site.shortcutIndex);
        if (history.length) withHistory++;
      }
      assert.ok(withHistory > 0, 'some site has an earlier activation of its shape');
    });
  });

  describe('files', () => {
    // laurel apply writes these; tfjs must load them once LaurelResidual is registered.
    for (const file of [MINI, 'keras-resnet18-custom-doubleencoded.json', 'tfjs-legacy-mobilenetv2-nsfwjs.json']) {
      for (const spec of ['all=rw+lr:r=8', 'all=rw+lr+pa:r=4:k=3']) {
        it(`the file laurel apply writes (${file}, ${spec}) loads with tf.loadLayersModel, same countParams`, async () => {
          const m = open(file);
          const planned = planModel(m, spec);
          registerLaurelLayers();
          const json = modelJsonOf(plannedBytes(m, planned));
          const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology }));
          await counted(model, () => assert.equal(model.countParams(), m.params.total + planned.cost.addedParams));
          await counted(await buildModel(m, choicesFor(m, spec)), (built) => assert.equal(built.countParams(), model.countParams()));
        });
      }
    }

    it('a Keras 3 file written with LaurelResidual layers builds as written, changed, and back to plain', async () => {
      const m = open('keras3-resnet1d-dotkeras-config.json');
      const written = openModel('resnet1d-laurel.json', plannedBytes(m, planModel(m, 'all=rw+lr:r=8')));
      assert.ok(written.sites.every((s) => s.current.variant === 'rw+lr'));
      const cases: [string | undefined, number][] = [
        [undefined, m.params.total + planModel(m, 'all=rw+lr:r=8').cost.addedParams],
        ['all=pa:k=2', m.params.total + planModel(m, 'all=pa:k=2').cost.addedParams],
        ['all=plain', m.params.total],
      ];
      for (const [spec, total] of cases) {
        const choices = spec ? choicesFor(written, spec) : undefined;
        const model = await buildModel(written, choices);
        await counted(model, () => {
          assert.equal(model.countParams(), total, spec ?? 'as written');
          const laurel = model.layers.filter((l) => l.getClassName() === 'LaurelResidual').length;
          assert.equal(laurel, spec === 'all=plain' ? 0 : m.sites.length);
        });
      }
    });

    it('toTfjsModelJson: a model.json tfjs loads and the core reads back with the same sites and counts', async () => {
      const m = open(MINI);
      const spec = 'all=rw+lr+pa:r=4:k=3';
      const added = planModel(m, spec).cost.addedParams;
      const json = toTfjsModelJson(m, choicesFor(m, spec));
      assert.equal(json.format, 'layers-model');
      assert.equal(json.convertedBy, 'LAuReL Studio');
      assert.deepEqual(json.weightsManifest, []);
      const text = JSON.stringify(json, null, 2);
      registerLaurelLayers();
      const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: JSON.parse(text).modelTopology }));
      await counted(model, () => assert.equal(model.countParams(), m.params.total + added));
      const again = openModel('exported.json', new TextEncoder().encode(text));
      assert.equal(again.doc.format, 'tfjs-layers-model');
      assert.equal(again.params.total, m.params.total + added);
      assert.deepEqual(
        again.sites.map((s) => [s.id, s.branchIndex, s.shortcutIndex, s.current.variant, s.current.options.rank, s.current.options.k]),
        m.sites.map((s) => [s.id, s.branchIndex, s.shortcutIndex, 'rw+lr+pa', 4, 3]),
      );
    });
  });

  describe('Keras 3 and op-level spellings', () => {
    it('the transformer topology: ops-level adds are Add, dtype policies and initialisers are tfjs values', () => {
      const topo = toKerasTopology(open(TRANSFORMER));
      const byName = new Map(topo.config.layers.map((l) => [l.name, l]));
      assert.deepEqual(byName.get('add_15'), {
        class_name: 'Add',
        name: 'add_15',
        config: { name: 'add_15' },
        inbound_nodes: [
          [
            ['multi_head_attention', 0, 0, {}],
            ['dense_3', 0, 0, {}],
          ],
        ],
      });
      const dense = byName.get('dense_3')!.config;
      assert.equal(dense['dtype'], 'float32');
      assert.deepEqual(dense['kernel_initializer'], { class_name: 'GlorotUniform', config: { seed: null } });
      assert.deepEqual(byName.get('input_layer_2')!.config['batch_input_shape'], [null, 20, 1]);
      assert.ok(!JSON.stringify(topo).includes('"module"'), 'no Keras 3 module keys left');
      assert.ok(!JSON.stringify(topo).includes('registered_name'));
    });

    it('a tf.keras TFOpLambda add (y passed by keyword) becomes Add, or LaurelResidual under a plan', async () => {
      // x + dense(x) as tf.keras 2.x serialises `x + y` written between tensors.
      const model = {
        class_name: 'Functional',
        config: {
          name: 'oplambda',
          layers: [
            { class_name: 'InputLayer', name: 'x', config: { name: 'x', batch_input_shape: [null, 6], dtype: 'float32' }, inbound_nodes: [] },
            { class_name: 'Dense', name: 'f', config: { name: 'f', units: 6 }, inbound_nodes: [[['x', 0, 0, {}]]] },
            {
              class_name: 'TFOpLambda',
              name: 'tf.__operators__.add',
              config: { name: 'tf.__operators__.add', trainable: true, dtype: 'float32', function: '__operators__.add' },
              inbound_nodes: [['f', 0, 0, { y: ['x', 0, 0], name: null }]],
            },
          ],
          input_layers: [['x', 0, 0]],
          output_layers: [['tf.__operators__.add', 0, 0]],
        },
        keras_version: '2.11.0',
        backend: 'tensorflow',
      };
      const m = openModel('oplambda.json', new TextEncoder().encode(JSON.stringify(model)));
      assert.equal(m.sites.length, 1);
      const add = toKerasTopology(m).config.layers[2]!;
      assert.deepEqual(add, {
        class_name: 'Add',
        name: 'tf.__operators__.add',
        config: { name: 'tf.__operators__.add', trainable: true, dtype: 'float32' },
        inbound_nodes: [
          [
            ['f', 0, 0, {}],
            ['x', 0, 0, {}],
          ],
        ],
      });
      await counted(await buildModel(m), (built) => assert.equal(built.countParams(), 42));
      await counted(await buildModel(m, choicesFor(m, 'all=rw+lr:r=2')), (built) => {
        assert.equal(built.countParams(), 42 + 2 * 2 * 6 + 2);
        assert.equal(built.layers[2]!.getClassName(), 'LaurelResidual');
      });
    });

    it('kerasValue: policies, function activations, L1/L2, Lecun initialisers', () => {
      assert.equal(kerasValue({ module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null }), 'float32');
      assert.equal(kerasValue({ class_name: 'Policy', config: { name: 'mixed_float16' } }), 'float32');
      assert.equal(kerasValue({ module: 'keras.activations', class_name: 'function', config: 'silu', registered_name: 'function' }, 'activation'), 'swish');
      assert.deepEqual(kerasValue({ module: 'keras.regularizers', class_name: 'L2', config: { l2: 0.001 }, registered_name: null }), {
        class_name: 'L1L2',
        config: { l1: 0, l2: 0.001 },
      });
      assert.deepEqual(kerasValue({ class_name: 'LecunNormal', config: { seed: 3 } }), { class_name: 'LeCunNormal', config: { seed: 3 } });
    });
  });

  describe('nested models', () => {
    // input(8) -> block -> block -> dense(3), block = input(8) -> dense(8) -> add(dense, input): a nested
    // functional model called twice (shared weights), frozen in the second variant.
    const nested = (trainable: boolean): Uint8Array => {
      const ref = (name: string, node = 0) => [name, node, 0, {}];
      const block = {
        class_name: 'Functional',
        name: 'block',
        config: {
          name: 'block',
          trainable,
          layers: [
            { class_name: 'InputLayer', name: 'block_in', config: { name: 'block_in', batch_input_shape: [null, 8], dtype: 'float32' }, inbound_nodes: [] },
            { class_name: 'Dense', name: 'inner', config: { name: 'inner', units: 8, activation: 'relu' }, inbound_nodes: [[ref('block_in')]] },
            { class_name: 'Add', name: 'add', config: { name: 'add' }, inbound_nodes: [[ref('inner'), ref('block_in')]] },
          ],
          input_layers: [['block_in', 0, 0]],
          output_layers: [['add', 0, 0]],
        },
        inbound_nodes: [[ref('x')], [ref('block', 0)]],
      };
      const model = {
        class_name: 'Functional',
        config: {
          name: 'outer',
          layers: [
            { class_name: 'InputLayer', name: 'x', config: { name: 'x', batch_input_shape: [null, 8], dtype: 'float32' }, inbound_nodes: [] },
            block,
            { class_name: 'Dense', name: 'head', config: { name: 'head', units: 3 }, inbound_nodes: [[ref('block', 1)]] },
          ],
          input_layers: [['x', 0, 0]],
          output_layers: [['head', 0, 0]],
        },
      };
      return new TextEncoder().encode(JSON.stringify(model));
    };

    for (const trainable of [true, false]) {
      it(`are flattened with shared calls (${trainable ? 'trainable' : 'frozen'}); a plan reaches their sites`, async () => {
        const m = openModel('nested.json', nested(trainable));
        assert.equal(m.params.total, 72 + 27);
        assert.deepEqual(
          m.sites.map((s) => s.id),
          ['block/add'],
        );
        const topo = toKerasTopology(m);
        const inner = topo.config.layers.find((l: KerasLayerJson) => l.name === 'block_inner')!;
        assert.deepEqual(inner.inbound_nodes, [[['x', 0, 0, {}]], [['block_add', 0, 0, {}]]]);
        for (const spec of [undefined, 'all=rw+lr:r=2']) {
          const added = spec ? planModel(m, spec).cost.addedParams : 0;
          await counted(await buildModel(m, spec ? choicesFor(m, spec) : undefined), (model) => {
            assert.equal(model.countParams(), m.params.total + added);
            assert.equal(size(model.trainableWeights), m.params.trainable + (trainable ? added : 0));
            assert.deepEqual(model.outputs[0]!.shape, [null, 3]);
          });
        }
      });
    }
  });

  it('trains: 2 steps of fit on random data of an RW+LR resnet-mini give a finite loss and move the LAuReL weights', async () => {
    const m = open(MINI);
    const model = await buildModel(m, choicesFor(m, 'all=rw+lr:r=4'));
    try {
      const up = model.weights.find((w) => w.originalName.endsWith('lr_up'))!;
      assert.equal(tf.tidy(() => tf.abs(up.read()).max().dataSync()[0]), 0, 'B starts at zero');
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
      // tfjs-cpu's Conv2DBackpropFilter is slow (the trainer brings faster kernels): 2 steps of 1 example.
      const [n, out] = [2, model.outputs[0]!.shape[1] as number];
      const x = tf.randomNormal([n, 28, 28, 1], 0, 1, 'float32', 1);
      const y = tf.randomNormal([n, out], 0, 1, 'float32', 2);
      const history = await model.fit(x, y, { epochs: 1, batchSize: n / 2, shuffle: false, verbose: 0 });
      tf.dispose([x, y]);
      const loss = history.history['loss']![0] as number;
      assert.ok(Number.isFinite(loss), `loss ${loss}`);
      assert.ok(tf.tidy(() => tf.abs(up.read()).max().dataSync()[0]!) > 0, 'B moved');
    } finally {
      model.dispose();
    }
  });
});
