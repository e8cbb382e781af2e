/**
 * Builds the call graph of a model object ({class_name, config}): functional models from their
 * inbound nodes, Sequential models as a chain, nested models recursively.
 */
import type { Node } from 'jsonc-parser';
import { primeGraphIndex } from '../graphIndex';
import { callId, childPath, type CallNode, type ModelGraph, type TensorRef } from '../ir';
import { opLambdaClass } from './canonicalConfig';
import { entryFlags, isPlainRef, type RawRef } from './inboundRefs';
import { entries, expectArray, expectObject, expectString, fail, indexValue, items, kind, pathOf, prop, stringProp, valueOf, type JsonSource } from './jsonSource';
import { readLayers, type ReadLayers } from './readLayers';
import { syntheticInput } from './syntheticInput';
import { topoSort } from './topoSort';

/** Layers whose call's keyword arguments the analysis and the exports read. */
const CALL_ARGS_CLASSES = new Set(['MultiHeadAttention']);

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
  const read = readLayers(src, list, buildGraph);
  const { layers, byName } = read;
  // Calls go into `nodes` layer by layer, so call k of layer i is at start[i] + k: a reference's position
  // comes from one name lookup.
  const count = read.callCount;
  const start = new Int32Array(layers.length);
  let total = 0;
  for (let i = 0; i < layers.length; i++) {
    start[i] = total;
    total += count[i]!;
  }
  const layerOf = (ref: RawRef): number => {
    const i = byName.get(ref.layer);
    if (i === undefined) fail(src, ref.at, `reference to layer "${ref.layer}", which the model does not have`, 'the name of a layer in config.layers');
    if (ref.nodeIndex >= count[i]!) {
      fail(src, ref.at, `reference to call node ${ref.nodeIndex} of layer "${ref.layer}", which has ${count[i]} call node(s)`, `a node index below ${count[i]}`);
    }
    return i;
  };
  // The id is made of the layer's own name string, so later lookups by id compare one string object.
  const resolve = (ref: RawRef): TensorRef => ({ node: callId(layers[layerOf(ref)]!.name, ref.nodeIndex), index: ref.tensorIndex });

  // Input positions of every call, as the index keeps them (compressed rows: see graphIndex.ts).
  const inputStart = new Int32Array(total + 1);
  let inputCalls = new Int32Array(2 * total + 8);
  let used = 0;
  const at = (p: number): void => {
    if (used === inputCalls.length) {
      const grown = new Int32Array(2 * used);
      grown.set(inputCalls);
      inputCalls = grown;
    }
    inputCalls[used++] = p;
  };

  // One plain reference read straight from the value; false sends the entry the RawRef way, which reads
  // what is unusual and refuses (with its place) what is wrong.
  const plainInput = (r: unknown, inputs: TensorRef[], j: number): boolean => {
    if (!isPlainRef(r)) return false;
    const i = byName.get(r[0]);
    if (i === undefined || r[1] >= count[i]!) return false;
    at(start[i]! + r[1]);
    inputs[j] = { node: callId(layers[i]!.name, r[1]), index: r[2] };
    return true;
  };
  // Arrays are made at their size (one pushed onto grows to 17 slots). On undefined, no position is left recorded.
  const plainInputs = (e: unknown): TensorRef[] | undefined => {
    if (!Array.isArray(e)) return undefined;
    const mark = used;
    const one = typeof e[0] === 'string';
    const n = one ? 1 : e.length;
    const inputs: TensorRef[] = new Array(n);
    if (one ? plainInput(e, inputs, 0) : allPlain(e, inputs)) return inputs;
    used = mark;
    return undefined;
  };
  const allPlain = (e: unknown[], inputs: TensorRef[]): boolean => {
    for (let j = 0; j < e.length; j++) if (!plainInput(e[j], inputs, j)) return false;
    return true;
  };

  // At its size (grown by push, an array of 20,000 calls is copied a dozen times); `made` calls so far.
  const nodes: CallNode[] = new Array(total);
  let made = 0;
  const layerAt = new Int32Array(total);
  for (let li = 0; li < layers.length; li++) {
    const layer = layers[li]!;
    if (layer.className === 'InputLayer') {
      layerAt[made] = li;
      nodes[made++] = { id: callId(layer.name, 0), layer: layer.name, callIndex: 0, inputs: [] };
      inputStart[made] = used;
      continue;
    }
    for (let k = 0; k < count[li]!; k++) {
      let refs: RawRef[] | undefined;
      const raw = read.entryValue(li, k);
      let inputs = (raw === undefined ? undefined : plainInputs(raw)) ?? [];
      if (inputs.length === 0) {
        refs = read.refs(src, li, k);
        inputs = new Array(refs.length);
        for (let j = 0; j < refs.length; j++) {
          const ref = refs[j]!;
          const i = layerOf(ref);
          at(start[i]! + ref.nodeIndex);
          inputs[j] = { node: callId(layers[i]!.name, ref.nodeIndex), index: ref.tensorIndex };
        }
      }
      if (k === 0 && layer.sourceClassName === 'TFOpLambda') layer.className = opLambdaClass(layer.config, inputs.length) ?? layer.className;
      // A nested model's call feeds its tensors to the subgraph's inputs, one for one.
      const expected = layer.subgraph?.inputs.length;
      if (expected !== undefined && inputs.length !== expected) {
        fail(src, read.entry(li, k), `call ${k} of nested model "${layer.name}" passes ${inputs.length} tensor(s)`, `${expected}, one for each of its inputs`);
      }
      const node: CallNode = { id: callId(layer.name, k), layer: layer.name, callIndex: k, inputs, path: childPath(layer.path, 'inbound_nodes', k) };
      // Keyword inputs and flags are kept where a layer's meaning depends on them (MultiHeadAttention's masks);
      // a plain entry has neither.
      if (refs && CALL_ARGS_CLASSES.has(layer.className)) {
        const flags = entryFlags(read.entry(li, k));
        if (refs.some((r) => r.key !== undefined) || Object.keys(flags).length) node.args = { keys: refs.map((r) => r.key ?? null), flags };
      }
      layerAt[made] = li;
      nodes[made++] = node;
      inputStart[made] = used;
    }
  }
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
    const outputAt = Int32Array.from(outputs, (ref) => start[layerOf(ref)]! + ref.nodeIndex);
    primeGraphIndex(graph, { inputStart, inputCalls: inputCalls.slice(0, used), layerAt, outputAt });
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
