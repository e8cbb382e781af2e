/**
 * Reads the layer list of a model config into Layers, and keeps where each layer's inbound-node entries
 * are: JSON.parse's value for the usual layer (no node is made), nodes for what is unusual or wrong.
 * Nested models are built by `buildGraph`, passed in to avoid an import cycle.
 */
import type { Node } from 'jsonc-parser';
import { childPath, type JsonPath, type Layer, type ModelGraph } from '../ir';
import { canonicalLayer } from './canonicalConfig';
import { withoutPrototypes } from './fastTree';
import { entryRefs, valueEntryRefs, type RawRef } from './inboundRefs';
import { expectObject, expectString, fail, items, kind, pathOf, prop, stringProp, valueOf, type JsonSource } from './jsonSource';
import { NameIndex } from './nameIndex';
import { ValueNode } from './valueTree';

export const MODEL_CLASSES = new Set(['Model', 'Functional', 'Sequential']);

const own = (o: object, key: string): unknown => (Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const NO_ENTRIES: unknown[] = [];

/**
 * The layers of one list, in file order, and per layer where its calls are written. Arrays per list, not
 * an object per layer: everything the read makes lives until it ends, and the young-generation collector
 * copies what lives (an object per layer was a tenth of a large read's allocation).
 */
export class ReadLayers {
  readonly layers: Layer[];
  /** Each layer's index by name. */
  readonly byName: NameIndex;
  /**
   * Per layer, its calls: 1 for an InputLayer, else its inbound-node entries. Counted while the layer is
   * read (its objects in cache), so the graph's positions need no second pass over a large model's layers.
   */
  readonly callCount: Int32Array;
  /** Per layer read from the value, its inbound-node entries as JSON.parse made them; undefined for one read through nodes. */
  private readonly values: (unknown[] | undefined)[];
  /** The layers read through nodes: their object's node and entry nodes. */
  private readonly viaNodes = new Map<number, { node: Node; inbound: Node[] }>();

  /** `size`: how many layers the list has (arrays are made at their size, not grown). */
  constructor(
    private readonly list: Node,
    size: number,
  ) {
    this.layers = new Array(size);
    this.byName = new NameIndex(size);
    this.values = new Array(size);
    this.callCount = new Int32Array(size);
  }

  /** Layer i's object node (for errors: made when asked for). */
  node(i: number): Node {
    return this.viaNodes.get(i)?.node ?? ((this.list as unknown as ValueNode).item(i)! as unknown as Node);
  }

  /** Entry k of layer i as JSON.parse made it, where the layer was read from the value. */
  entryValue(i: number, k: number): unknown {
    return this.values[i]?.[k];
  }

  /** Entry k's node. */
  entry(i: number, k: number): Node {
    const v = this.viaNodes.get(i);
    return v ? v.inbound[k]! : ((this.list as unknown as ValueNode).item(i)!.prop('inbound_nodes')!.item(k) as unknown as Node);
  }

  /** The tensors entry k of layer i feeds into the call. */
  refs(src: JsonSource, i: number, k: number): RawRef[] {
    const v = this.viaNodes.get(i);
    return v ? entryRefs(src, v.inbound[k]!) : valueEntryRefs(src, this.values[i]![k], () => this.entry(i, k));
  }

  add(src: JsonSource, layer: Layer, i: number, values: unknown[] | undefined, nodes?: { node: Node; inbound: Node[] }): void {
    if (nodes) this.viaNodes.set(i, nodes);
    const first = this.byName.add(layer.name, i);
    if (first >= 0) {
      fail(src, prop(this.node(i), 'name') ?? this.node(i), `duplicate layer name "${layer.name}" (also layer ${first})`, 'unique layer names');
    }
    this.layers[i] = layer;
    this.values[i] = values;
    this.callCount[i] = layer.className === 'InputLayer' ? 1 : (values ?? nodes!.inbound).length;
  }
}

/** The layers of a list node, in file order; `each` is called after each layer is read (its objects still in cache). */
export function readLayers(src: JsonSource, list: Node, buildGraph: (src: JsonSource, model: Node) => ModelGraph, each?: (read: ReadLayers, i: number) => void): ReadLayers {
  // Paths are built from the list's, not looked up per node (getNodePath scans every sibling: quadratic).
  const listPath = pathOf(list);
  if (list instanceof ValueNode && list.type === 'array') {
    const n = (list.v as unknown[]).length;
    const out = new ReadLayers(list as unknown as Node, n);
    for (let i = 0; i < n; i++) {
      if (!readLayerValue(src, out, list, i, listPath)) readLayer(src, out, list.item(i)! as unknown as Node, list as unknown as Node, i, listPath, buildGraph);
      each?.(out, i);
    }
    return out;
  }
  const nodes = items(list);
  const out = new ReadLayers(list, nodes.length);
  nodes.forEach((n, i) => {
    readLayer(src, out, n, list, i, listPath, buildGraph);
    each?.(out, i);
  });
  return out;
}

function readLayer(src: JsonSource, out: ReadLayers, node: Node, parent: Node, i: number, parentPath: JsonPath, buildGraph: (src: JsonSource, model: Node) => ModelGraph): void {
  expectObject(src, node, parent, i, 'layer');
  const sourceClassName = expectString(src, prop(node, 'class_name'), node, 'class_name', 'layer class_name');
  const configNode = expectObject(src, prop(node, 'config'), node, 'config', `config of ${sourceClassName} layer`);
  const name = stringProp(node, 'name') ?? stringProp(configNode, 'name');
  if (name === undefined) fail(src, node, `${sourceClassName} layer has no name`, 'a string "name" on the layer or in its config');
  const raw = valueOf(configNode) as Record<string, unknown>;
  const { className, config } = canonicalLayer(sourceClassName, raw);
  const layer: Layer = { name, className, sourceClassName, config, trainable: typeof raw.trainable === 'boolean' ? raw.trainable : true, path: childPath(parentPath, i) };
  if (MODEL_CLASSES.has(sourceClassName)) layer.subgraph = buildGraph(src, node);
  const inboundNode = prop(node, 'inbound_nodes');
  if (inboundNode && inboundNode.type !== 'array') fail(src, inboundNode, `inbound_nodes of ${name} is ${kind(inboundNode)}`, 'a JSON array');
  out.add(src, layer, i, undefined, { node, inbound: inboundNode ? items(inboundNode) : [] });
}

/**
 * readLayer on JSON.parse's value, making no node: the same checks and the same Layer. False where
 * the node way must read it (a nested model) or refuse it with its place.
 */
function readLayerValue(src: JsonSource, out: ReadLayers, list: ValueNode, i: number, parentPath: JsonPath): boolean {
  const l = (list.v as unknown[])[i];
  if (!isObject(l)) return false;
  const sourceClassName = own(l, 'class_name');
  const raw = own(l, 'config');
  if (typeof sourceClassName !== 'string' || !isObject(raw) || MODEL_CLASSES.has(sourceClassName)) return false;
  const ownName = own(l, 'name');
  const name = typeof ownName === 'string' ? ownName : own(raw, 'name');
  const inbound = own(l, 'inbound_nodes');
  if (typeof name !== 'string' || (inbound !== undefined && !Array.isArray(inbound))) return false;
  withoutPrototypes(raw);
  const { className, config } = canonicalLayer(sourceClassName, raw);
  const layer: Layer = { name, className, sourceClassName, config, trainable: typeof raw.trainable === 'boolean' ? raw.trainable : true, path: childPath(parentPath, i) };
  out.add(src, layer, i, (inbound as unknown[] | undefined) ?? NO_ENTRIES);
  return true;
}
