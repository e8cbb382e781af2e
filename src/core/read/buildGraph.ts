/**
 * Builds the call graph of a model object ({class_name, config}): functional models from their
 * inbound nodes, Sequential models as a chain, nested models recursively.
 */
import type { Node } from 'jsonc-parser';
import { primeGraphIndex } from '../graphIndex';
import { callId, type CallNode, type ModelGraph, type TensorRef } from '../ir';
import { CallTable } from './callTable';
import type { RawRef } from './inboundRefs';
import { entries, expectArray, expectObject, expectString, fail, indexValue, items, kind, pathOf, prop, stringProp, valueOf, type JsonSource } from './jsonSource';
import { readLayers, type ReadLayers } from './readLayers';
import { syntheticInput } from './syntheticInput';
import { topoSort } from './topoSort';

export function buildGraph(src: JsonSource, model: Node): ModelGraph {
  const className = expectString(src, prop(model, 'class_name'), model, 'class_name', 'model class_name');
  const config = prop(model, 'config');
  if (!config) fail(src, model, `model ${className} has no config`, 'a config object', [...pathOf(model), 'config']);
  if (config.type === 'array' || className === 'Sequential') return sequential(src, model, className, config);
  const configObj = expectObject(src, config, model, 'config', 'model config');
  if (className === 'Model' || className === 'Functional' || prop(configObj, 'input_layers')) return functional(src, className, configObj);
  return fail(src, prop(model, 'class_name')!, `class ${className} is not a model`, 'Model, Functional or Sequential (a layers model)');
}

function functional(src: JsonSource, className: string, config: Node): ModelGraph {
  const list = expectArray(src, prop(config, 'layers'), config, 'layers', 'layers');
  // Calls made while the layers are read where the file allows, else once all are read (callTable.ts).
  let fused: CallTable | undefined;
  const read = readLayers(src, list, buildGraph, (r, i) => {
    if (i === 0) fused = CallTable.whileReading(src, r);
    if (fused && !fused.layer(i, false)) fused = undefined;
  });
  const table = fused ?? CallTable.afterRead(src, read);
  const { layers } = read;
  const count = read.callCount;
  const nodes = table.nodes;
  const { inputStart, inputCalls, layerAt } = table.rows();
  // The id is made of the layer's own name string, so later lookups by id compare one string object.
  const resolve = (ref: RawRef): TensorRef => ({ node: callId(layers[table.layerOf(ref, true)]!.name, ref.nodeIndex), index: ref.tensorIndex });
  uniqueCallIds(src, nodes, read, count);
  // A file in order (every input an earlier call: Keras writes them so) is its own topological order.
  let inOrder = true;
  for (let k = 0; k < nodes.length && inOrder; k++) for (let e = inputStart[k]!; e < inputStart[k + 1]!; e++) if (inputCalls[e]! >= k) inOrder = false;
  const inputs = ioRefs(src, config, 'input_layers');
  const outputs = ioRefs(src, config, 'output_layers');
  const graph: ModelGraph = {
    name: stringProp(config, 'name') ?? className,
    className,
    layers,
    nodes: inOrder ? nodes : sorted(src, nodes, read),
    inputs: inputs.map(resolve),
    outputs: outputs.map(resolve),
  };
  if (inOrder) {
    const outputAt = Int32Array.from(outputs, (ref) => table.start[table.layerOf(ref, true)]! + ref.nodeIndex);
    primeGraphIndex(graph, { inputStart, inputCalls, layerAt, outputAt });
  }
  return graph;
}

/**
 * Call k > 0 of layer 'a' is 'a#k': a layer literally named 'a#1' would be mistaken for it, so it is refused.
 * (First-call ids are the layer names, unique already; two later-call ids never meet: 'a#k' names a and k.)
 */
function uniqueCallIds(src: JsonSource, nodes: CallNode[], read: ReadLayers, count: Int32Array): void {
  for (const n of nodes) {
    if (n.callIndex === 0) continue;
    const i = read.byName.get(n.id);
    if (i === undefined || count[i] === 0) continue;
    fail(src, prop(read.node(i), 'name') ?? read.node(i), `layer name "${read.layers[i]!.name}" is also the name of call ${n.callIndex} of layer "${n.layer}"`, 'layer names that are not <another layer>#<call number>');
  }
}

/** input_layers / output_layers: a list of [name, node, tensor], one bare triple (Keras 3), or a dict of them. */
function ioRefs(src: JsonSource, config: Node, key: string): RawRef[] {
  const node = prop(config, key);
  if (!node) fail(src, config, `functional model without ${key}`, `a list of [layer_name, node_index, tensor_index] at "${key}"`, [...pathOf(config), key]);
  const out: RawRef[] = [];
  const visit = (n: Node): void => {
    const [name, ni, ti] = items(n);
    if (n.type === 'array' && name?.type === 'string') {
      const nodeIndex = indexValue(ni);
      const tensorIndex = indexValue(ti);
      if (nodeIndex === undefined || tensorIndex === undefined) fail(src, n, `malformed entry in ${key}`, '[layer_name, node_index, tensor_index]');
      out.push({ layer: name.value as string, nodeIndex, tensorIndex, at: n });
    } else if (n.type === 'array') items(n).forEach(visit);
    else if (n.type === 'object') entries(n).forEach(([, v]) => visit(v));
    else fail(src, n, `${key} holds ${kind(n)}`, '[layer_name, node_index, tensor_index]');
  };
  visit(node);
  return out;
}

function sequential(src: JsonSource, model: Node, className: string, config: Node): ModelGraph {
  const list = config.type === 'array' ? config : expectArray(src, prop(expectObject(src, config, model, 'config', 'Sequential config'), 'layers'), config, 'layers', 'Sequential layers');
  const layers = readLayers(src, list, buildGraph).layers;
  if (layers.length === 0) fail(src, list, 'Sequential model without layers', 'at least one layer');
  if (layers[0]!.className !== 'InputLayer') layers.unshift(syntheticInput(layers[0]!, config.type === 'object' ? valueOf(config) : undefined, new Set(layers.map((l) => l.name))));
  const nodes: CallNode[] = layers.map((l, i) => ({ id: callId(l.name, 0), layer: l.name, callIndex: 0, inputs: i === 0 ? [] : [{ node: callId(layers[i - 1]!.name, 0), index: 0 }] }));
  return {
    name: (config.type === 'object' ? stringProp(config, 'name') : undefined) ?? stringProp(model, 'name') ?? className,
    className,
    layers,
    nodes,
    inputs: [{ node: nodes[0]!.id, index: 0 }],
    outputs: [{ node: nodes[nodes.length - 1]!.id, index: 0 }],
  };
}

function sorted(src: JsonSource, nodes: CallNode[], read: ReadLayers): CallNode[] {
  const result = topoSort(nodes);
  if ('order' in result) return result.order;
  const ids = result.cycle.map((n) => n.id);
  // Name every layer of a short cycle; elide the middle of a long one.
  const names = ids.length <= 16 ? ids : [...ids.slice(0, 8), `... ${ids.length - 12} more ...`, ...ids.slice(-4)];
  return fail(src, read.node(read.byName.get(result.cycle[0]!.layer)!), `the layers form a cycle: ${[...names, ids[0]].join(' -> ')}`, 'an acyclic graph (each call uses tensors of earlier calls)');
}
