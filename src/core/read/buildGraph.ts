/**
 * Builds the call graph of a model object ({class_name, config}): functional models from their
 * inbound nodes, Sequential models as a chain, nested models recursively.
 */
import type { Node } from 'jsonc-parser';
import { primeGraphIndex } from '../graphIndex';
import { callId, type CallNode, type JsonPath, type Layer, type ModelGraph, type TensorRef } from '../ir';
import { canonicalLayer, opLambdaClass } from './canonicalConfig';
import { withoutPrototypes } from './fastTree';
import { entryFlags, entryRefs, isPlainRef, valueEntryRefs, type RawRef } from './inboundRefs';
import { entries, expectArray, expectObject, expectString, fail, indexValue, items, kind, pathOf, prop, stringProp, valueOf, type JsonSource } from './jsonSource';
import { syntheticInput } from './syntheticInput';
import { topoSort } from './topoSort';
import { ValueNode } from './valueTree';

const MODEL_CLASSES = new Set(['Model', 'Functional', 'Sequential']);
/** Layers whose call's keyword arguments the analysis and the exports read. */
const CALL_ARGS_CLASSES = new Set(['MultiHeadAttention']);

interface ReadLayer {
  layer: Layer;
  /** The layer object's node (for errors: made when asked for). */
  node(): Node;
  /** How many inbound-node entries (calls) the layer has. */
  calls: number;
  /** Inbound-node entry k's node. */
  entry(k: number): Node;
  /** The tensors entry k feeds into the call. */
  refs(src: JsonSource, k: number): RawRef[];
  /** Entry k as JSON.parse made it, where the layer was read from the value. */
  entryValue(k: number): unknown;
}

/** A layer read through nodes (the general way: nested models, and anything to refuse with its place). */
function nodeLayer(layer: Layer, node: Node, inbound: Node[]): ReadLayer {
  return { layer, node: () => node, calls: inbound.length, entry: (k) => inbound[k]!, refs: (src, k) => entryRefs(src, inbound[k]!), entryValue: () => undefined };
}

/** A layer read from JSON.parse's value: its nodes are made only for an error or an unusual entry. */
class ValueLayer implements ReadLayer {
  constructor(
    readonly layer: Layer,
    private readonly list: ValueNode,
    private readonly i: number,
    private readonly inbound: unknown[],
  ) {}

  get calls(): number {
    return this.inbound.length;
  }

  node(): Node {
    return this.list.item(this.i)! as unknown as Node;
  }

  entry(k: number): Node {
    return (this.list.item(this.i)!.prop('inbound_nodes')!.item(k) as unknown as Node);
  }

  refs(src: JsonSource, k: number): RawRef[] {
    return valueEntryRefs(src, this.inbound[k], () => this.entry(k));
  }

  entryValue(k: number): unknown {
    return this.inbound[k];
  }
}

const own = (o: object, key: string): unknown => (Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const NO_ENTRIES: unknown[] = [];

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
  return nodeLayer(layer, node, inboundNode ? items(inboundNode) : []);
}

/**
 * readLayer on JSON.parse's value, making no node: the same checks and the same Layer. Undefined where
 * the node way must read it (a nested model) or refuse it with its place.
 */
function readLayerValue(list: ValueNode, i: number, parentPath: JsonPath): ReadLayer | undefined {
  const l = (list.v as unknown[])[i];
  if (!isObject(l)) return undefined;
  const sourceClassName = own(l, 'class_name');
  const raw = own(l, 'config');
  if (typeof sourceClassName !== 'string' || !isObject(raw) || MODEL_CLASSES.has(sourceClassName)) return undefined;
  const ownName = own(l, 'name');
  const name = typeof ownName === 'string' ? ownName : own(raw, 'name');
  const inbound = own(l, 'inbound_nodes');
  if (typeof name !== 'string' || (inbound !== undefined && !Array.isArray(inbound))) return undefined;
  withoutPrototypes(raw);
  const { className, config } = canonicalLayer(sourceClassName, raw);
  const layer: Layer = { name, className, sourceClassName, config, trainable: typeof raw.trainable === 'boolean' ? raw.trainable : true, path: [...parentPath, i] };
  return new ValueLayer(layer, list, i, (inbound as unknown[] | undefined) ?? NO_ENTRIES);
}

/** The layers in file order, and each one's index by name. */
function readLayers(src: JsonSource, list: Node): { read: ReadLayer[]; byName: Map<string, number> } {
  const out: ReadLayer[] = [];
  const seen = new Map<string, number>();
  // Paths are built from the list's, not looked up per node (getNodePath scans every sibling: quadratic).
  const listPath = pathOf(list);
  const add = (r: ReadLayer, i: number): void => {
    const first = seen.get(r.layer.name);
    if (first !== undefined) fail(src, prop(r.node(), 'name') ?? r.node(), `duplicate layer name "${r.layer.name}" (also layer ${first})`, 'unique layer names');
    seen.set(r.layer.name, i);
    out.push(r);
  };
  if (list instanceof ValueNode && list.type === 'array') {
    const n = (list.v as unknown[]).length;
    for (let i = 0; i < n; i++) add(readLayerValue(list, i, listPath) ?? readLayer(src, list.item(i)! as unknown as Node, list as unknown as Node, i, listPath), i);
  } else items(list).forEach((n, i) => add(readLayer(src, n, list, i, listPath), i));
  return { read: out, byName: seen };
}

function functional(src: JsonSource, className: string, config: Node): ModelGraph {
  const list = expectArray(src, prop(config, 'layers'), config, 'layers', 'layers');
  const { read, byName } = readLayers(src, list);
  // Calls go into `nodes` layer by layer, so call k of layer i is at start[i] + k: a reference's position
  // comes from one name lookup.
  const count = new Int32Array(read.length);
  const start = new Int32Array(read.length);
  let total = 0;
  read.forEach((r, i) => {
    count[i] = r.layer.className === 'InputLayer' ? 1 : r.calls;
    start[i] = total;
    total += count[i]!;
  });
  const layerOf = (ref: RawRef): number => {
    const i = byName.get(ref.layer);
    if (i === undefined) fail(src, ref.at, `reference to layer "${ref.layer}", which the model does not have`, 'the name of a layer in config.layers');
    if (ref.nodeIndex >= count[i]!) {
      fail(src, ref.at, `reference to call node ${ref.nodeIndex} of layer "${ref.layer}", which has ${count[i]} call node(s)`, `a node index below ${count[i]}`);
    }
    return i;
  };
  // The id is made of the layer's own name string, so later lookups by id compare one string object.
  const resolve = (ref: RawRef): TensorRef => ({ node: callId(read[layerOf(ref)]!.layer.name, ref.nodeIndex), index: ref.tensorIndex });

  // One plain reference read straight from the value; false sends the entry the RawRef way, which reads
  // what is unusual and refuses (with its place) what is wrong.
  // Arrays are made at their size (one pushed onto grows to 17 slots).
  const plainInput = (r: unknown, inputs: TensorRef[], at: number[], j: number): boolean => {
    if (!isPlainRef(r)) return false;
    const i = byName.get(r[0]);
    if (i === undefined || r[1] >= count[i]!) return false;
    at[j] = start[i]! + r[1];
    inputs[j] = { node: callId(read[i]!.layer.name, r[1]), index: r[2] };
    return true;
  };
  const plainInputs = (e: unknown): { inputs: TensorRef[]; at: number[] } | undefined => {
    if (!Array.isArray(e)) return undefined;
    const one = typeof e[0] === 'string';
    const n = one ? 1 : e.length;
    const inputs: TensorRef[] = new Array(n);
    const at: number[] = new Array(n);
    if (one) return plainInput(e, inputs, at, 0) ? { inputs, at } : undefined;
    for (let j = 0; j < n; j++) if (!plainInput(e[j], inputs, at, j)) return undefined;
    return { inputs, at };
  };

  const nodes: CallNode[] = [];
  const inputsAt: number[][] = [];
  const layerAt = new Int32Array(total);
  for (let li = 0; li < read.length; li++) {
    const r = read[li]!;
    const layer = r.layer;
    if (layer.className === 'InputLayer') {
      layerAt[nodes.length] = li;
      inputsAt.push([]);
      nodes.push({ id: callId(layer.name, 0), layer: layer.name, callIndex: 0, inputs: [] });
      continue;
    }
    for (let k = 0; k < r.calls; k++) {
      let refs: RawRef[] | undefined;
      const raw = r.entryValue(k);
      const plain = raw === undefined ? undefined : plainInputs(raw);
      let inputs = plain?.inputs ?? [];
      let at = plain?.at ?? [];
      if (inputs.length === 0) {
        refs = r.refs(src, k);
        inputs = [];
        at = [];
        for (const ref of refs) {
          const i = layerOf(ref);
          at.push(start[i]! + ref.nodeIndex);
          inputs.push({ node: callId(read[i]!.layer.name, ref.nodeIndex), index: ref.tensorIndex });
        }
      }
      if (k === 0 && layer.sourceClassName === 'TFOpLambda') layer.className = opLambdaClass(layer.config, inputs.length) ?? layer.className;
      // A nested model's call feeds its tensors to the subgraph's inputs, one for one.
      const expected = layer.subgraph?.inputs.length;
      if (expected !== undefined && inputs.length !== expected) {
        fail(src, r.entry(k), `call ${k} of nested model "${layer.name}" passes ${inputs.length} tensor(s)`, `${expected}, one for each of its inputs`);
      }
      const node: CallNode = { id: callId(layer.name, k), layer: layer.name, callIndex: k, inputs, path: [...layer.path, 'inbound_nodes', k] };
      // Keyword inputs and flags are kept where a layer's meaning depends on them (MultiHeadAttention's masks);
      // a plain entry has neither.
      if (refs && CALL_ARGS_CLASSES.has(layer.className)) {
        const flags = entryFlags(r.entry(k));
        if (refs.some((r) => r.key !== undefined) || Object.keys(flags).length) node.args = { keys: refs.map((r) => r.key ?? null), flags };
      }
      layerAt[nodes.length] = li;
      inputsAt.push(at);
      nodes.push(node);
    }
  }
  uniqueCallIds(src, nodes, read, byName, count);
  // A file in order (every input an earlier call: Keras writes them so) is its own topological order.
  const inOrder = inputsAt.every((at, i) => at.every((p) => p < i));
  const graph: ModelGraph = {
    name: stringProp(config, 'name') ?? className,
    className,
    layers: read.map((r) => r.layer),
    nodes: inOrder ? nodes : sorted(src, nodes, read),
    inputs: ioRefs(src, config, 'input_layers').map(resolve),
    outputs: ioRefs(src, config, 'output_layers').map(resolve),
  };
  if (inOrder) {
    // A call id is a layer's name (its first call) or 'name#k' (call k > 0); ids are unique (checked above).
    const position = (id: string): number | undefined => {
      const i = byName.get(id);
      if (i !== undefined && count[i]! > 0) return start[i];
      const h = id.lastIndexOf('#');
      const j = h > 0 ? byName.get(id.slice(0, h)) : undefined;
      const k = Number(id.slice(h + 1));
      return j !== undefined && k > 0 && k < count[j]! && String(k) === id.slice(h + 1) ? start[j]! + k : undefined;
    };
    primeGraphIndex(graph, inputsAt, layerAt, position);
  }
  return graph;
}

/**
 * Call k > 0 of layer 'a' is 'a#k': a layer literally named 'a#1' would be mistaken for it, so it is refused.
 * (First-call ids are the layer names, unique already; two later-call ids never meet: 'a#k' names a and k.)
 */
function uniqueCallIds(src: JsonSource, nodes: CallNode[], read: ReadLayer[], byName: Map<string, number>, count: Int32Array): void {
  for (const n of nodes) {
    if (n.callIndex === 0) continue;
    const i = byName.get(n.id);
    if (i === undefined || count[i] === 0) continue;
    const layer = read[i]!;
    fail(src, prop(layer.node(), 'name') ?? layer.node(), `layer name "${layer.layer.name}" is also the name of call ${n.callIndex} of layer "${n.layer}"`, 'layer names that are not <another layer>#<call number>');
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
  const { read } = readLayers(src, list);
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
  return fail(src, first.node(), `the layers form a cycle: ${[...names, ids[0]].join(' -> ')}`, 'an acyclic graph (each call uses tensors of earlier calls)');
}
