import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { graphIndex, type GraphIndex } from '../../src/core/graphIndex';
import type { ModelGraph } from '../../src/core/ir';
import { readModel } from '../../src/core/read/readModel';
import { synthModelText } from '../../bench/synthModels';
import { fixturePath } from './fixturePath';

/** The index the reader handed over, against the one made from the graph's names (a new nodes array is not cached). */
function assertSameIndex(g: ModelGraph, where: string): void {
  const primed: GraphIndex = graphIndex(g);
  const named: GraphIndex = graphIndex({ ...g, nodes: [...g.nodes] });
  assert.notEqual(primed, named, `${where}: the reader's index was not used`);
  assert.deepEqual([...primed.inputStart], [...named.inputStart], `${where}: where each call's inputs start`);
  assert.deepEqual([...primed.inputCalls], [...named.inputCalls], `${where}: input positions`);
  assert.deepEqual([...primed.layerAt], [...named.layerAt], `${where}: layers of calls`);
  assert.deepEqual([...primed.outputAt], [...named.outputAt], `${where}: calls of the outputs`);
  g.nodes.forEach((n, i) => assert.equal(primed.position(n.id), i, `${where}: position of ${n.id}`));
  for (const id of ['no such layer', `${g.nodes[0]!.id}#1`, `${g.nodes[0]!.id}#01`, '#1']) assert.equal(primed.position(id), named.position(id), `${where}: position of '${id}'`);
  for (const l of g.layers) if (l.subgraph) assertSameIndex(l.subgraph, `${where}/${l.name}`);
}

describe('graphIndex: the reader\'s positions equal those found from names', () => {
  const dir = dirname(fixturePath('tfjs-legacy-resnet50-tensorspace.json'));
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') || f.endsWith('.keras'));
  it('has fixtures to check', () => assert.ok(files.length >= 10, `${files.length} fixtures in ${dir}`));
  for (const file of files) {
    it(file, () => {
      let doc;
      try {
        doc = readModel(file, readFileSync(`${dir}/${file}`));
      } catch {
        return; // fixtures of read errors are tested elsewhere
      }
      assertSameIndex(doc.graph, file);
    });
  }

  it('a shared layer called twice: ids with #k resolve to their calls', () => {
    const model = JSON.parse(synthModelText({ layers: 40, block: 'dense' })) as { config: { layers: unknown[]; output_layers: unknown[] } };
    const layers = model.config.layers as { name: string }[];
    const last = layers.at(-1)!.name;
    // A Dense called on two earlier tensors (so the file is in order), its two outputs summed.
    layers.push({ class_name: 'Dense', name: 'shared', config: { name: 'shared', units: 32 }, inbound_nodes: [[[last, 0, 0, {}]], [['b0_add', 0, 0, {}]]] } as never);
    layers.push({ class_name: 'Add', name: 'sum', config: { name: 'sum' }, inbound_nodes: [[['shared', 0, 0, {}], ['shared', 1, 0, {}]]] } as never);
    model.config.output_layers = [['sum', 0, 0]];
    const doc = readModel('shared.json', new TextEncoder().encode(JSON.stringify(model)));
    assert.deepEqual(doc.graph.nodes.slice(-3).map((n) => n.id), ['shared', 'shared#1', 'sum']);
    assertSameIndex(doc.graph, 'shared.json');
    assert.equal(graphIndex(doc.graph).position('shared#1'), doc.graph.nodes.length - 2);
    assert.equal(graphIndex(doc.graph).position('shared#2'), undefined);
  });
});
