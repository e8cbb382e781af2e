import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ModelError } from '../../src/core/errors';
import { graphIndex } from '../../src/core/graphIndex';
import type { ModelGraph } from '../../src/core/ir';
import { readModel } from '../../src/core/read/readModel';
import { fixturePath } from './fixturePath';

// The reader makes a file's calls while it reads the layers (callTable.ts) and, where the file references a
// later layer or has an entry to refuse, again once all are read. Both ways must give the same graph, and the
// index the reader hands over must be the one the names give.

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Functional fixtures (plain JSON), of every spelling: Keras 1, 2 with kwargs, Keras 3, TF.js. */
const FIXTURES = [
  'keras1-resnet50-kerasjs.json',
  'keras2-fc-densenet67-tiramisu-functional.json',
  'keras3-transformer-encoder-opsAdd-dotkeras-config.json',
  'keras3-resnet1d-dotkeras-config.json',
  'tfjs-legacy-resnet50-tensorspace.json',
  'tfjs-legacy-inceptionv3-tensorspace.json',
];

/** The same model with its layer list reversed: its first layer uses later ones, so no call is made while reading. */
function reversed(text: string, modelPath: (string | number)[]): Uint8Array {
  const v = JSON.parse(text) as Record<string, unknown>;
  const model = modelPath.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], v) as { config: { layers: unknown[] } };
  model.config.layers.reverse();
  return enc(JSON.stringify(v));
}

/** Each call as its id, call index, inputs by id and keyword arguments: what does not depend on the file's order. */
function calls(g: ModelGraph): Map<string, unknown> {
  return new Map(g.nodes.map((n) => [n.id, { callIndex: n.callIndex, layer: n.layer, inputs: n.inputs, args: n.args }]));
}

/** The index from the names alone (a copy of the nodes array is not the one the reader primed). */
const fromNames = (g: ModelGraph) => graphIndex({ ...g, nodes: [...g.nodes] });

describe('the call table: calls made while reading, or after', () => {
  for (const file of FIXTURES) {
    it(`${file}: the same calls either way, and the reader's index is the names' index`, () => {
      const doc = readModel(file, readFileSync(fixturePath(file)));
      const other = readModel(file, reversed(doc.text, doc.modelPath));
      assert.deepEqual(calls(other.graph), calls(doc.graph));
      assert.deepEqual(other.graph.outputs, doc.graph.outputs);
      const primed = graphIndex(doc.graph);
      const names = fromNames(doc.graph);
      assert.notEqual(primed, names);
      for (const k of ['inputStart', 'inputCalls', 'layerAt', 'outputAt'] as const) assert.deepEqual(primed[k], names[k], k);
    });
  }

  it('shared layers (several calls) and a graph that grows past the table: positions by call', () => {
    const input = { class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 4] }, inbound_nodes: [] };
    const shared = { class_name: 'Dense', name: 'd', config: { name: 'd', units: 4 }, inbound_nodes: [[['in', 0, 0, {}]], [['d', 0, 0, {}]], [['d', 1, 0, {}]]] };
    const add = { class_name: 'Add', name: 'add', config: { name: 'add' }, inbound_nodes: [[['d', 2, 0, {}], ['d', 0, 0, {}]]] };
    const model = { class_name: 'Model', config: { name: 'm', layers: [input, shared, add], input_layers: [['in', 0, 0]], output_layers: [['add', 0, 0]] } };
    const g = readModel('m.json', enc(JSON.stringify(model))).graph;
    assert.deepEqual(
      g.nodes.map((n) => n.id),
      ['in', 'd', 'd#1', 'd#2', 'add'],
    );
    const index = graphIndex(g);
    assert.deepEqual([...index.inputCalls], [0, 1, 2, 3, 1]);
    assert.deepEqual([...index.layerAt], [0, 1, 1, 1, 2]);
    for (const k of ['inputStart', 'inputCalls', 'layerAt', 'outputAt'] as const) assert.deepEqual(index[k], fromNames(g)[k], k);
  });

  it("refuses what is wrong in the same order as before: a duplicate name after a malformed entry is the reader's first word", () => {
    const layer = (name: string, inbound: unknown) => ({ class_name: 'Dense', name, config: { name, units: 2 }, inbound_nodes: inbound });
    const layers = [
      { class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 2] }, inbound_nodes: [] },
      layer('a', [[['in', 'zero', 0]]]),
      layer('b', [[['a', 0, 0, {}]]]),
      layer('a', [[['b', 0, 0, {}]]]),
    ];
    const model = { class_name: 'Model', config: { name: 'm', layers, input_layers: [['in', 0, 0]], output_layers: [['b', 0, 0]] } };
    assert.throws(
      () => readModel('m.json', enc(JSON.stringify(model))),
      (e: unknown) => e instanceof ModelError && /duplicate layer name "a"/.test(e.message),
    );
    layers.pop();
    assert.throws(
      () => readModel('m.json', enc(JSON.stringify(model))),
      (e: unknown) => e instanceof ModelError && /malformed tensor reference/.test(e.message) && e.where.path?.join('.') === 'config.layers.1.inbound_nodes.0.0',
    );
  });
});
