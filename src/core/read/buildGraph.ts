/**
 * Builds the call graph of a model object ({class_name, config}): functional models from their
 * inbound nodes, Sequential models as a chain, nested models recursively.
 */
import type { Node } from 'jsonc-parser';
import { callId, type CallNode, type JsonPath, type Layer, type ModelGraph, type TensorRef } from '../ir';
import { canonicalLayer, opLambdaClass } from './canonicalConfig';
import { entryFlags, entryRefs, type RawRef } from './inboundRefs';
import { entries, expectArray, expectObject, expectString, fail, indexValue, items, kind, pathOf, prop, stringProp, valueOf, type JsonSource } from './jsonSource';
import { syntheticInput } from './syntheticInput';
import { topoSort } from './topoSort';

const MODEL_CLASSES = new Set(['Model', 'Functional', 'Sequential']);
/** Layers whose call's keyword arguments the analysis and the exports read. */
const CALL_ARGS_CLASSES = new Set(['MultiHeadAttention']);

interface ReadLayer {
  layer: Layer;
  node: Node;
  /** The inbound-node entries (functional models only). */
  inbound: Node[];
}

export function buildGraph(src: JsonSource, model: Node): ModelGraph {
  const className = expectString(src, prop(model, 'class_name'), model, 'class_name', 'model class_name');
  const config = prop(model, 'config');
  if (!config) fail(src, model, `model ${className} has no config`, 'a config object', [...pathOf(model), 'config']);
  if (config.type === 'array' || className === 'Sequential') return sequential(src, model, className, config);
  const configObj = expectObject(src, config, model, 'config', 'model config');
  if (className === 'Model' || className === 'Functional' || prop(configObj, 'input_layers')) return functional(src, className, configObj);
  return fail(src, prop(model, 'class_name')!, `class ${className} is not a model`, 'Model, Functional or Sequential (a layers model)');
}

function readLayer(src: JsonSource, node: Node, parent: Node, i: number, parentPath: JsonPath): ReadLayer {
  expectObject(src, node, parent, i, 'layer');
  const sourceClassName = expectString(src, prop(node, 'class_name'), node, 'class_name', 'layer class_name');
  const configNode = expectObject(src, prop(node, 'config'), node, 'config', `config of ${sourceClassName} layer`);
  const name = stringProp(node, 'name') ?? stringProp(configNode, 'name');
  if (name === undefined) fail(src, node, `${sourceClassName} layer has no name`, 'a string "name" on the layer or in its config');
  const raw = valueOf(configNode) as Record<string, unknown>;
  const { className, config } = canonicalLayer(sourceClassName, raw);
  const layer: Layer = { name, className, sourceClassName, config, trainable: typeof raw.trainable === 'boolean' ? raw.trainable : true, path: [...parentPath, i] };
  if (MODEL_CLASSES.has(sourceClassName)) layer.subgraph = buildGraph(src, node);
  const inboundNode = prop(node, 'inbound_nodes');
  if (inboundNode && inboundNode.type !== 'array') fail(src, inboundNode, `inbound_nodes of ${name} is ${kind(inboundNode)}`, 'a JSON array');
  return { layer, node, inbound: inboundNode ? items(inboundNode) : [] };
}

function readLayers(src: JsonSource, list: Node): ReadLayer[] {
  const out: ReadLayer[] = [];
  const seen = new Map<string, number>();
  // Paths are built from the list's, not looked up per node (getNodePath scans every sibling: quadratic).
  const listPath = pathOf(list);
  items(list).forEach((n, i) => {
    const r = readLayer(src, n, list, i, listPath);
    const first = seen.get(r.layer.name);
    if (first !== undefined) fail(src, prop(n, 'name') ?? n, `duplicate layer name "${r.layer.name}" (also layer ${first})`, 'unique layer names');
    seen.set(r.layer.name, i);
    out.push(r);
  });
  return out;
}

function functional(src: JsonSource, className: string, config: Node): ModelGraph {
  const list = expectArray(src, prop(config, 'layers'), config, 'layers', 'layers');
  const read = readLayers(src, list);
  const callCount = new Map(read.map((r) => [r.layer.name, r.layer.className === 'InputLayer' ? 1 : r.inbound.length]));
  const resolve = (ref: RawRef): TensorRef => {
    const count = callCount.get(ref.layer);
    if (count === undefined) fail(src, ref.at, `reference to layer "${ref.layer}", which the model does not have`, 'the name of a layer in config.layers');
    if (ref.nodeIndex >= count) {
      fail(src, ref.at, `reference to call node ${ref.nodeIndex} of layer "${ref.layer}", which has ${count} call node(s)`, `a node index below ${count}`);
    }
    return { node: callId(ref.layer, ref.nodeIndex), index: ref.tensorIndex };
  };

  const nodes: CallNode[] = [];
  for (const { layer, inbound } of read) {
    if (layer.className === 'InputLayer') {
      nodes.push({ id: callId(layer.name, 0), layer: layer.name, callIndex: 0, inputs: [] });
      continue;
    }
    inbound.forEach((entry, k) => {
      const refs = entryRefs(src, entry);
      const inputs = refs.map(resolve);
      if (k === 0 && layer.sourceClassName === 'TFOpLambda') layer.className = opLambdaClass(layer.config, inputs.length) ?? layer.className;
      // A nested model's call feeds its tensors to the subgraph's inputs, one for one.
      const expected = layer.subgraph?.inputs.length;
      if (expected !== undefined && inputs.length !== expected) {
        fail(src, entry, `call ${k} of nested model "${layer.name}" passes ${inputs.length} tensor(s)`, `${expected}, one for each of its inputs`);
      }
      const node: CallNode = { id: callId(layer.name, k), layer: layer.name, callIndex: k, inputs, path: [...layer.path, 'inbound_nodes', k] };
      // Keyword inputs and flags are kept where a layer's meaning depends on them (MultiHeadAttention's masks).
      if (CALL_ARGS_CLASSES.has(layer.className)) {
        const flags = entryFlags(entry);
        if (refs.some((r) => r.key !== undefined) || Object.keys(flags).length) node.args = { keys: refs.map((r) => r.key ?? null), flags };
      }
      nodes.push(node);
    });
  }
  uniqueCallIds(src, nodes, read);
  return {
    name: stringProp(config, 'name') ?? className,
    className,
    layers: read.map((r) => r.layer),
    nodes: sorted(src, nodes, read),
    inputs: ioRefs(src, config, 'input_layers').map(resolve),
    outputs: ioRefs(src, config, 'output_layers').map(resolve),
  };
}

/** Call k > 0 of layer 'a' is 'a#k': a layer literally named 'a#1' would be mistaken for it, so it is refused. */
function uniqueCallIds(src: JsonSource, nodes: CallNode[], read: ReadLayer[]): void {
  const seen = new Map<string, CallNode>();
  for (const n of nodes) {
    const other = seen.get(n.id);
    if (other) {
      const layer = read.find((r) => r.layer.name === (other.callIndex === 0 ? other : n).layer)!;
      fail(src, prop(layer.node, 'name') ?? layer.node, `layer name "${layer.layer.name}" is also the name of call ${Math.max(n.callIndex, other.callIndex)} of layer "${(other.callIndex === 0 ? n : other).layer}"`, 'layer names that are not <another layer>#<call number>');
    }
    seen.set(n.id, n);
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
  const read = readLayers(src, list);
  if (read.length === 0) fail(src, list, 'Sequential model without layers', 'at least one layer');
  const layers = read.map((r) => r.layer);
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

function sorted(src: JsonSource, nodes: CallNode[], read: ReadLayer[]): CallNode[] {
  const result = topoSort(nodes);
  if ('order' in result) return result.order;
  const ids = result.cycle.map((n) => n.id);
  // Name every layer of a short cycle; elide the middle of a long one.
  const names = ids.length <= 16 ? ids : [...ids.slice(0, 8), `... ${ids.length - 12} more ...`, ...ids.slice(-4)];
  const first = read.find((r) => r.layer.name === result.cycle[0]!.layer)!;
  return fail(src, first.node, `the layers form a cycle: ${[...names, ids[0]].join(' -> ')}`, 'an acyclic graph (each call uses tensors of earlier calls)');
}
