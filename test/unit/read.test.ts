import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { zipSync } from 'fflate';
import { findNodeAtLocation, getNodeValue, parseTree, type Node } from 'jsonc-parser';
import { ModelError } from '../../src/core/errors';
import { callPath, fileLayers, type ModelDocument, type ModelGraph } from '../../src/core/ir';
import { readModel } from '../../src/core/read/readModel';
import { analyze } from '../../src/core/analysis/analyze';

// The test runs bundled from out/test/unit/read.test.js.
const FIXTURES = path.resolve(__dirname, '../../../../shared/fixtures/models');
const fixtureBytes = (file: string): Uint8Array => readFileSync(path.join(FIXTURES, file));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const readJson = (v: unknown, file = 'test.json'): ModelDocument => readModel(file, enc(JSON.stringify(v)));

/** The columns of shared/fixtures/models/SOURCES.md (concats from its 'adds' column notes). */
const SOURCES: { file: string; format: string; container: string; layers: number; adds: number; concats: number; outputs?: number; modelPath: (string | number)[]; version?: string }[] = [
  { file: 'tfjs-legacy-resnet50-tensorspace.json', format: 'tfjs-layers-model', container: 'plain', layers: 177, adds: 16, concats: 0, outputs: 72, modelPath: ['modelTopology', 'model_config'], version: '2.1.6' },
  { file: 'tfjs-legacy-mobilenetv2-nsfwjs.json', format: 'tfjs-layers-model', container: 'plain', layers: 162, adds: 10, concats: 0, modelPath: ['modelTopology', 'model_config'], version: '2.2.4' },
  { file: 'tfjs-legacy-inceptionv3-tensorspace.json', format: 'tfjs-layers-model', container: 'plain', layers: 313, adds: 0, concats: 15, outputs: 124, modelPath: ['modelTopology', 'model_config'], version: '2.2.4' },
  { file: 'tfjs-browser-saved-lenet-tensorspace.json', format: 'tfjs-layers-model', container: 'plain', layers: 10, adds: 0, concats: 0, outputs: 8, modelPath: ['modelTopology'], version: 'tfjs-layers 0.7.5' },
  { file: 'tfjs-official-e2e-sequential-embedding-gru.json', format: 'tfjs-layers-model', container: 'plain', layers: 2, adds: 0, concats: 0, modelPath: ['modelTopology'], version: 'tfjs-layers 0.0.0' },
  { file: 'keras1-resnet50-kerasjs.json', format: 'keras-json', container: 'plain', layers: 177, adds: 16, concats: 0, modelPath: [], version: '1.1.0' },
  { file: 'keras1-inceptionv3-kerasjs.json', format: 'keras-json', container: 'plain', layers: 220, adds: 0, concats: 15, modelPath: [], version: '1.1.0' },
  { file: 'keras-resnet18-custom-doubleencoded.json', format: 'keras-json', container: 'json-string', layers: 80, adds: 8, concats: 0, modelPath: [], version: '2.11.0' },
  { file: 'keras2-fc-densenet67-tiramisu-functional.json', format: 'keras-json', container: 'plain', layers: 301, adds: 0, concats: 5, modelPath: [], version: '2.0.2' },
  { file: 'keras2-fc-densenet103-tiramisu-sequential-listconfig.json', format: 'keras-json', container: 'plain', layers: 399, adds: 0, concats: 0, modelPath: [], version: '2.0.2' },
  { file: 'keras3-resnet1d-dotkeras-config.json', format: 'keras3-config', container: 'plain', layers: 27, adds: 3, concats: 0, modelPath: [] },
  { file: 'keras3-transformer-encoder-opsAdd-dotkeras-config.json', format: 'keras3-config', container: 'plain', layers: 20, adds: 4, concats: 0, modelPath: [] },
];

const count = (g: ModelGraph, cls: string): number => g.layers.filter((l) => l.className === cls).length;

/** Checks every invariant the IR promises, independent of the file. */
function checkGraph(doc: ModelDocument, g: ModelGraph, root: Node): void {
  const ids = new Set(g.nodes.map((n) => n.id));
  assert.equal(ids.size, g.nodes.length, 'call ids are unique');
  const layerNames = new Set(g.layers.map((l) => l.name));
  assert.equal(layerNames.size, g.layers.length, 'layer names are unique');
  const seen = new Set<string>();
  for (const n of g.nodes) {
    assert.ok(layerNames.has(n.layer));
    for (const t of n.inputs) assert.ok(seen.has(t.node), `${n.id} uses ${t.node} before it is computed`);
    seen.add(n.id);
    const at = callPath(g.layers.find((l) => l.name === n.layer)!, n);
    if (at) assert.equal(findNodeAtLocation(root, at)?.type, getEntryType(doc), `call path ${at.join('/')}`);
  }
  for (const t of [...g.inputs, ...g.outputs]) assert.ok(ids.has(t.node), `graph io ${t.node}`);
  for (const l of fileLayers(g)) {
    const obj = findNodeAtLocation(root, l.path);
    assert.ok(obj, `layer path of ${l.name}`);
    assert.equal(getNodeValue(findNodeAtLocation(root, [...l.path, 'class_name'])!), l.sourceClassName);
    if (l.subgraph) checkGraph(doc, l.subgraph, root);
  }
}
const getEntryType = (doc: ModelDocument): string => (doc.format.startsWith('keras3') ? 'object' : 'array');

describe('readModel: the real fixtures (SOURCES.md)', () => {
  it('finds the fixtures folder from the bundled test', () => {
    assert.ok(readFileSync(path.join(FIXTURES, 'SOURCES.md'), 'utf8').includes('| file |'));
  });

  for (const s of SOURCES) {
    it(`${s.file}: ${s.format}, ${s.layers} layers, ${s.adds} adds`, () => {
      const doc = readModel(s.file, fixtureBytes(s.file));
      assert.equal(doc.format, s.format);
      assert.equal(doc.container, s.container);
      assert.equal(fileLayers(doc.graph).length, s.layers);
      assert.equal(count(doc.graph, 'Add'), s.adds);
      assert.equal(count(doc.graph, 'Concatenate'), s.concats);
      assert.deepEqual(doc.modelPath, s.modelPath);
      assert.equal(doc.kerasVersion, s.version);
      if (s.outputs) assert.equal(doc.graph.outputs.length, s.outputs);
      const root = parseTree(doc.text)!;
      const model = findNodeAtLocation(root, doc.modelPath)!;
      assert.ok(findNodeAtLocation(model, ['class_name']) && findNodeAtLocation(model, ['config']));
      checkGraph(doc, doc.graph, root);
    });
  }

  it('tfjs-graphmodel-mobilenetv2-nsfwjs.json: says it is a graph model, with a location', () => {
    assert.throws(
      () => readModel('graph.json', fixtureBytes('tfjs-graphmodel-mobilenetv2-nsfwjs.json')),
      (e: unknown) => e instanceof ModelError && /graph model/.test(e.message) && /layers model/.test(e.message) && /\$\.format/.test(e.message) && e.where.line === 1,
    );
  });

  it('keeps the decoded inner JSON as the text of a doubly encoded file', () => {
    const bytes = fixtureBytes('keras-resnet18-custom-doubleencoded.json');
    const doc = readModel('r18.json', bytes);
    assert.equal(doc.text, JSON.parse(new TextDecoder().decode(bytes)));
    assert.equal(doc.bytes, bytes);
  });

  it('translates Keras 1 layers to the Keras 2 vocabulary', () => {
    const g = readModel('k1.json', fixtureBytes('keras1-resnet50-kerasjs.json')).graph;
    const byName = new Map(g.layers.map((l) => [l.name, l]));
    const conv1 = byName.get('conv1')!;
    assert.equal(conv1.className, 'Conv2D');
    assert.equal(conv1.sourceClassName, 'Convolution2D');
    // The file: nb_filter 64, nb_row/nb_col 7, subsample [2,2], border_mode valid, dim_ordering tf, bias true.
    assert.deepEqual(
      { f: conv1.config.filters, k: conv1.config.kernel_size, s: conv1.config.strides, p: conv1.config.padding, d: conv1.config.data_format, b: conv1.config.use_bias },
      { f: 64, k: [7, 7], s: [2, 2], p: 'valid', d: 'channels_last', b: true },
    );
    for (const old of ['nb_filter', 'nb_row', 'nb_col', 'subsample', 'border_mode', 'dim_ordering', 'bias']) assert.ok(!(old in conv1.config), old);
    assert.deepEqual(byName.get('zeropadding2d_1')!.config.padding, [
      [3, 3],
      [3, 3],
    ]);
    assert.equal(byName.get('fc1000')!.config.units, 1000);
    assert.equal(byName.get('input_1')!.config.dtype, 'float32');
    const merge = byName.get('merge_1')!;
    assert.deepEqual([merge.className, merge.sourceClassName], ['Add', 'Merge']);
    assert.deepEqual(g.nodes.find((n) => n.id === 'merge_1')!.inputs, [
      { node: 'bn2a_branch2c', index: 0 },
      { node: 'bn2a_branch1', index: 0 },
    ]);
    assert.equal(byName.get('bn_conv1')!.config.axis, 3);

    const inc = readModel('k1i.json', fixtureBytes('keras1-inceptionv3-kerasjs.json')).graph;
    const mixed0 = inc.layers.find((l) => l.name === 'mixed0')!;
    assert.equal(mixed0.className, 'Concatenate');
    assert.equal(mixed0.config.axis, 3);
    assert.ok(!('mode' in mixed0.config));
    assert.equal(inc.nodes.find((n) => n.id === 'mixed0')!.inputs.length, 4);
  });

  it('reads Keras 3 tensors in args order and its spellings', () => {
    const g = readModel('k3.json', fixtureBytes('keras3-transformer-encoder-opsAdd-dotkeras-config.json')).graph;
    const add = g.layers.find((l) => l.name === 'add_15')!;
    assert.equal(add.className, 'Add');
    assert.deepEqual(g.nodes.find((n) => n.id === 'add_15')!.inputs, [
      { node: 'multi_head_attention', index: 0 },
      { node: 'dense_3', index: 0 },
    ]);
    const input = g.layers[0]!;
    assert.deepEqual(input.config.batch_input_shape, [null, 20, 1]);
    assert.equal(g.layers.find((l) => l.name === 'dense_3')!.config.dtype, 'float32');
  });

  it('adds a synthetic InputLayer to a Sequential with a bare list config', () => {
    const g = readModel('d103.json', fixtureBytes('keras2-fc-densenet103-tiramisu-sequential-listconfig.json')).graph;
    assert.equal(g.layers.length, 400);
    const input = g.layers[0]!;
    assert.equal(input.synthetic, true);
    assert.equal(input.className, 'InputLayer');
    assert.deepEqual(input.config.batch_input_shape, [null, 224, 224, 3]);
    assert.equal(input.name, `${g.layers[1]!.name}_input`);
    assert.deepEqual(g.nodes[1]!.inputs, [{ node: input.name, index: 0 }]);
    assert.deepEqual(g.outputs, [{ node: g.layers[399]!.name, index: 0 }]);
  });
});

describe('readModel: small hand-written models', () => {
  const input = (name: string, shape: (number | null)[]) => ({ class_name: 'InputLayer', name, config: { name, batch_input_shape: shape, dtype: 'float32' }, inbound_nodes: [] });
  const conv = (name: string, from: string) => ({ class_name: 'Conv2D', name, config: { name, filters: 4, kernel_size: [3, 3], padding: 'same' }, inbound_nodes: [[[from, 0, 0, {}]]] });
  const functional = (layers: unknown[], inputs: unknown = [['input_1', 0, 0]], outputs: unknown = [[(layers[layers.length - 1] as { name: string }).name, 0, 0]]) => ({
    class_name: 'Functional',
    config: { name: 'model', layers, input_layers: inputs, output_layers: outputs },
    keras_version: '2.15.0',
  });
  /** A Model layer (a nested model): its first layer is its input, its last its output. */
  const nested = (name: string, layers: { name: string }[], inbound: unknown[]) => ({
    class_name: 'Model',
    name,
    config: { name, layers, input_layers: [[layers[0]!.name, 0, 0]], output_layers: [[layers[layers.length - 1]!.name, 0, 0]] },
    inbound_nodes: inbound,
  });

  it('TFOpLambda math.add with its second operand in kwargs is an Add of two tensors', () => {
    const lambda = { class_name: 'TFOpLambda', name: 'tf.math.add', config: { name: 'tf.math.add', trainable: true, dtype: 'float32', function: 'math.add' }, inbound_nodes: [['conv2d', 0, 0, { y: ['input_1', 0, 0], name: null }]] };
    const doc = readJson(functional([input('input_1', [null, 8, 8, 4]), conv('conv2d', 'input_1'), lambda]));
    assert.equal(doc.format, 'keras-json');
    assert.equal(doc.kerasVersion, '2.15.0');
    const l = doc.graph.layers[2]!;
    assert.deepEqual([l.className, l.sourceClassName], ['Add', 'TFOpLambda']);
    const call = doc.graph.nodes.find((n) => n.layer === 'tf.math.add')!;
    assert.deepEqual(call.inputs, [
      { node: 'conv2d', index: 0 },
      { node: 'input_1', index: 0 },
    ]);
    assert.deepEqual(callPath(l, call), ['config', 'layers', 2, 'inbound_nodes', 0]);
  });

  it('TFOpLambda __operators__.add with a constant stays a TFOpLambda; multiply maps to Multiply', () => {
    const plusOne = { class_name: 'TFOpLambda', name: 'tf.__operators__.add', config: { name: 'tf.__operators__.add', function: '__operators__.add' }, inbound_nodes: [['conv2d', 0, 0, { y: 1.0, name: null }]] };
    const mul = { class_name: 'TFOpLambda', name: 'tf.math.multiply', config: { name: 'tf.math.multiply', function: 'math.multiply' }, inbound_nodes: [['tf.__operators__.add', 0, 0, { y: ['conv2d', 0, 0], name: null }]] };
    const g = readJson(functional([input('input_1', [null, 8, 8, 4]), conv('conv2d', 'input_1'), plusOne, mul])).graph;
    assert.equal(g.layers[2]!.className, 'TFOpLambda');
    assert.equal(g.layers[3]!.className, 'Multiply');
  });

  it('Keras 3 ops-level Add, a bare [name, 0, 0] for input_layers, and nested args', () => {
    const kt = (layer: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 4], dtype: 'float32', keras_history: [layer, 0, 0] } });
    const model = {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      registered_name: 'Functional',
      config: {
        name: 'f',
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', registered_name: null, name: 'x', config: { batch_shape: [null, 4], name: 'x' }, inbound_nodes: [] },
          { module: 'keras.layers', class_name: 'Dense', registered_name: null, name: 'd', config: { name: 'd', units: 4, trainable: false }, inbound_nodes: [{ args: [kt('x')], kwargs: {} }] },
          { module: 'keras.src.ops.numpy', class_name: 'Add', registered_name: 'Add', name: 'add', config: { name: 'add' }, inbound_nodes: [{ args: [kt('d')], kwargs: { y: kt('x') } }] },
          { module: 'keras.layers', class_name: 'Concatenate', registered_name: null, name: 'cat', config: { name: 'cat', axis: -1 }, inbound_nodes: [{ args: [[kt('add'), { nested: [kt('d')] }]], kwargs: { z: kt('x') } }] },
        ],
        input_layers: ['x', 0, 0],
        output_layers: ['cat', 0, 0],
      },
    };
    const doc = readJson(model);
    assert.equal(doc.format, 'keras3-config');
    assert.equal(doc.kerasVersion, undefined);
    const g = doc.graph;
    assert.deepEqual(g.inputs, [{ node: 'x', index: 0 }]);
    assert.deepEqual(g.outputs, [{ node: 'cat', index: 0 }]);
    assert.equal(count(g, 'Add'), 1);
    assert.equal(g.layers[1]!.trainable, false);
    assert.equal(g.layers[2]!.trainable, true);
    assert.deepEqual(g.nodes.find((n) => n.id === 'add')!.inputs.map((t) => t.node), ['d', 'x']);
    assert.deepEqual(g.nodes.find((n) => n.id === 'cat')!.inputs.map((t) => t.node), ['add', 'd', 'x']);
  });

  it('Sequential with a bare list config and no InputLayer', () => {
    const doc = readJson({
      class_name: 'Sequential',
      keras_version: '2.0.2',
      config: [
        { class_name: 'Dense', config: { name: 'dense_1', units: 8, input_dim: 3 } },
        { class_name: 'Dense', config: { name: 'dense_2', units: 2 } },
      ],
    });
    const g = doc.graph;
    assert.deepEqual(
      g.layers.map((l) => [l.name, l.className, !!l.synthetic]),
      [
        ['dense_1_input', 'InputLayer', true],
        ['dense_1', 'Dense', false],
        ['dense_2', 'Dense', false],
      ],
    );
    assert.deepEqual(g.layers[0]!.config.batch_input_shape, [null, 3]);
    assert.deepEqual(
      g.nodes.map((n) => [n.id, n.inputs.map((t) => t.node)]),
      [
        ['dense_1_input', []],
        ['dense_1', ['dense_1_input']],
        ['dense_2', ['dense_1']],
      ],
    );
    assert.deepEqual(g.layers[1]!.path, ['config', 0]);
  });

  it('Sequential {name, layers} whose first layer is an InputLayer gets no synthetic input', () => {
    const g = readJson({ class_name: 'Sequential', config: { name: 'seq', layers: [input('in', [null, 3]), { class_name: 'Dense', config: { name: 'd', units: 1 } }] } }).graph;
    assert.equal(g.name, 'seq');
    assert.equal(g.layers.length, 2);
    assert.ok(g.layers.every((l) => !l.synthetic));
  });

  it('a nested model and a shared layer called twice', () => {
    const add = { class_name: 'Add', name: 'block_add', config: { name: 'block_add' }, inbound_nodes: [[['block_conv', 0, 0, {}], ['block_in', 0, 0, {}]]] };
    const inner = nested('block', [input('block_in', [null, 8, 8, 4]), conv('block_conv', 'block_in'), add], [[['input_1', 0, 0, {}]], [['block', 0, 0, {}]]]);
    const out = { class_name: 'Add', name: 'out', config: { name: 'out' }, inbound_nodes: [[['block', 1, 0, {}], ['input_1', 0, 0, {}]]] };
    const g = readJson(functional([input('input_1', [null, 8, 8, 4]), inner, out])).graph;
    const twoTensors = { ...inner, inbound_nodes: [[['input_1', 0, 0, {}], ['input_1', 0, 0, {}]]] };
    assert.throws(() => readJson(functional([input('input_1', [null, 8, 8, 4]), twoTensors])), /nested model "block" passes 2 tensor\(s\); expected 1/);
    const block = g.layers[1]!;
    assert.equal(block.subgraph?.layers.length, 3);
    assert.equal(count(block.subgraph!, 'Add'), 1);
    assert.deepEqual(block.subgraph!.inputs, [{ node: 'block_in', index: 0 }]);
    assert.deepEqual(
      g.nodes.map((n) => [n.id, n.callIndex, n.inputs.map((t) => t.node)]),
      [
        ['input_1', 0, []],
        ['block', 0, ['input_1']],
        ['block#1', 1, ['block']],
        ['out', 0, ['block#1', 'input_1']],
      ],
    );
  });

  it('a nested model called nowhere is still analysed: its unknown layers named, its layer "never called"', () => {
    const mystery = { class_name: 'MyBlock', name: 'mystery', config: { name: 'mystery' }, inbound_nodes: [[['spare_in', 0, 0, {}]]] };
    const spare = nested('spare', [input('spare_in', [null, 8, 8, 4]), mystery], []);
    const a = analyze(readJson(functional([input('input_1', [null, 8, 8, 4]), spare, conv('c', 'input_1')])));
    assert.ok(a.nested.has('spare'));
    assert.deepEqual(a.unknownLayers, [{ name: 'mystery', className: 'MyBlock', scope: ['spare'] }]);
    assert.equal(a.layerInfo[1]!.note, 'never called in the graph');
  });

  it('Keras 3: a Sequential nested in a Functional, shaped by build_input_shape', () => {
    const kt = (layer: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 4], dtype: 'float32', keras_history: [layer, 0, 0] } });
    const seq = {
      module: 'keras',
      class_name: 'Sequential',
      registered_name: null,
      name: 'head',
      config: { name: 'head', trainable: true, dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null }, layers: [{ module: 'keras.layers', class_name: 'Dense', config: { name: 'h1', units: 3 }, registered_name: null }], build_input_shape: [null, 4] },
      inbound_nodes: [{ args: [kt('x')], kwargs: { training: false } }],
    };
    const doc = readJson({
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: { name: 'f', layers: [{ module: 'keras.layers', class_name: 'InputLayer', name: 'x', config: { batch_shape: [null, 4], name: 'x' }, inbound_nodes: [] }, seq], input_layers: [['x', 0, 0]], output_layers: [['head', 0, 0]] },
    });
    const head = doc.graph.layers[1]!;
    assert.equal(head.config.dtype, 'float32');
    const sub = head.subgraph!;
    assert.deepEqual(
      sub.layers.map((l) => [l.name, !!l.synthetic]),
      [
        ['h1_input', true],
        ['h1', false],
      ],
    );
    assert.deepEqual(sub.layers[0]!.config.batch_input_shape, [null, 4]);
    assert.deepEqual(doc.graph.nodes.find((n) => n.id === 'head')!.inputs, [{ node: 'x', index: 0 }]);
  });

  it('sorts calls written out of order', () => {
    const g = readJson(functional([conv('c2', 'c1'), input('input_1', [null, 4, 4, 1]), conv('c1', 'input_1')])).graph;
    assert.deepEqual(
      g.nodes.map((n) => n.id),
      ['input_1', 'c1', 'c2'],
    );
  });

  it('reads a .keras zip: config.json is the model, metadata.json gives the version', () => {
    const config = fixtureBytes('keras3-resnet1d-dotkeras-config.json');
    const zip = zipSync({ 'metadata.json': enc('{"keras_version": "3.6.0", "date_saved": "2024-11-01@10:00:00"}'), 'config.json': config, 'model.weights.h5': new Uint8Array([0x89, 0x48, 0x44, 0x46]) });
    const doc = readModel('resnet_model.keras', zip);
    assert.equal(doc.format, 'keras3-archive');
    assert.equal(doc.container, 'keras-zip');
    assert.equal(doc.kerasVersion, '3.6.0');
    assert.equal(doc.text, new TextDecoder().decode(config));
    assert.equal(doc.bytes, zip);
    assert.equal(fileLayers(doc.graph).length, 27);
    assert.equal(count(doc.graph, 'Add'), 3);
  });

  it('detects by content: a .keras name on plain JSON and a BOM', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...fixtureBytes('tfjs-official-e2e-sequential-embedding-gru.json')]);
    const doc = readModel('model.keras', bytes);
    assert.equal(doc.format, 'tfjs-layers-model');
    assert.equal(doc.container, 'plain');
    assert.ok(doc.text.startsWith('{'));
    assert.equal(doc.graph.layers[0]!.synthetic, true);
    assert.deepEqual(doc.graph.layers[0]!.config.batch_input_shape, [null, 10]);
  });

  it('class names and keys that are Object.prototype members are plain strings', () => {
    const odd = { class_name: 'constructor', name: 'toString', config: { name: 'toString', constructor: 1, mode: 'constructor' }, inbound_nodes: [[['input_1', 0, 0, {}]]] };
    const merge = { class_name: 'Merge', name: 'm', config: { name: 'm', mode: 'toString' }, inbound_nodes: [[['input_1', 0, 0], ['toString', 0, 0]]] };
    const g = readJson(functional([input('input_1', [null, 2]), odd, merge])).graph;
    assert.deepEqual(
      g.layers.map((l) => l.className),
      ['InputLayer', 'constructor', 'Merge'],
    );
    // The parsed config itself, without a prototype: 'constructor' and 'toString' are only its own keys.
    assert.equal(Object.getPrototypeOf(g.layers[1]!.config), null);
    assert.deepEqual({ ...g.layers[1]!.config }, odd.config);
  });

  it('reads a LaurelResidual layer like any layer', () => {
    const laurel = { class_name: 'LaurelResidual', name: 'laurel_1', config: { name: 'laurel_1', variant: 'rw', bias: true }, inbound_nodes: [[['conv2d', 0, 0, {}], ['input_1', 0, 0, {}]]] };
    const l = readJson(functional([input('input_1', [null, 8, 8, 4]), conv('conv2d', 'input_1'), laurel])).graph.layers[2]!;
    assert.equal(l.className, 'LaurelResidual');
    assert.deepEqual({ ...l.config }, laurel.config);
  });
});
