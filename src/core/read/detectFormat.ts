/**
 * Finds the model object ({class_name, config}) in a parsed file and names the format, by content.
 */
import type { Node } from 'jsonc-parser';
import type { Container, ModelFormat } from '../ir';
import { fail, items, kind, pathOf, prop, stringProp, type JsonSource } from './jsonSource';
import { ValueNode } from './valueTree';

const isDict = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface Detected {
  format: ModelFormat;
  model: Node;
  kerasVersion?: string;
}

const GRAPH_MODEL = 'this is a TF.js graph model (TensorFlow ops, not Keras layers); LAuReL Studio reads layers models';
const LAYERS_MODEL = 'a layers model: Keras to_json, a .keras archive, or a TF.js layers-model model.json';

export function detectFormat(src: JsonSource, container: Container, archiveKerasVersion?: string): Detected {
  const root = src.root;
  if (root.type !== 'object') fail(src, root, `not a model: the file holds ${kind(root)}`, 'a JSON object with class_name and config, or a TF.js model.json with modelTopology');

  const format = prop(root, 'format');
  if (format?.type === 'string' && format.value === 'graph-model') fail(src, format, GRAPH_MODEL, LAYERS_MODEL);

  const topology = prop(root, 'modelTopology');
  if (topology) {
    if (topology.type !== 'object') fail(src, topology, `modelTopology is ${kind(topology)}`, 'a JSON object');
    if (prop(topology, 'node')) fail(src, topology, GRAPH_MODEL, LAYERS_MODEL);
    // Old layout: {keras_version, backend, model_config: {class_name, config}}; new: the model itself.
    const model = prop(topology, 'model_config') ?? topology;
    requireModelObject(src, model, 'modelTopology');
    return { format: 'tfjs-layers-model', model, kerasVersion: stringProp(topology, 'keras_version') ?? stringProp(root, 'keras_version') };
  }

  requireModelObject(src, root, 'the file');
  const kerasVersion = stringProp(root, 'keras_version') ?? archiveKerasVersion;
  if (container === 'keras-zip') return { format: 'keras3-archive', model: root, kerasVersion };
  return { format: isKeras3(root) ? 'keras3-config' : 'keras-json', model: root, kerasVersion };
}

function requireModelObject(src: JsonSource, node: Node, where: string): void {
  if (node.type !== 'object') fail(src, node, `not a model: ${where} holds ${kind(node)}`, 'a JSON object with class_name and config');
  const cls = prop(node, 'class_name');
  const config = prop(node, 'config');
  if (!cls || !config) {
    const keys = (node.children ?? []).map((p) => p.children?.[0]?.value).filter((k) => typeof k === 'string').slice(0, 8);
    fail(src, node, `not a model: ${where} has no ${!cls ? 'class_name' : 'config'} (keys: ${keys.join(', ') || 'none'})`, 'a Keras model object {class_name, config} or a TF.js model.json {modelTopology}', pathOf(node));
  }
}

/** Keras 3 writes `module` / `registered_name` on objects and {args, kwargs} inbound nodes. */
function isKeras3(model: Node): boolean {
  if (prop(model, 'module') || prop(model, 'registered_name')) return true;
  const config = prop(model, 'config');
  const layers = config?.type === 'array' ? config : config && prop(config, 'layers');
  const first = layers instanceof ValueNode ? layers.item(0) : layers ? items(layers)[0] : undefined;
  if (!first) return false;
  if (prop(first, 'module') || prop(first, 'registered_name')) return true;
  // The first layer with inbound entries says how all of them are written (Keras 3 writes every one as a
  // dict, Keras 2 as lists); a scan of every layer was one more pass over a large model's whole parse.
  // Read from JSON.parse's value where there is one (a node per layer and entry would cost as much as the read).
  if (layers instanceof ValueNode) {
    for (const l of layers.v as unknown[]) {
      const inbound = isDict(l) && Object.hasOwn(l, 'inbound_nodes') ? l['inbound_nodes'] : undefined;
      if (Array.isArray(inbound) && inbound.length) return isDict(inbound[0]);
    }
    return false;
  }
  for (const l of items(layers!)) {
    const inbound = prop(l, 'inbound_nodes');
    const first = inbound ? items(inbound)[0] : undefined;
    if (first) return first.type === 'object';
  }
  return false;
}
