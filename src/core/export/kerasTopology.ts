/**
 * A model as a Keras-2-style functional topology built from the IR (canonical classes and configs, not the
 * file text), with a LAuReL plan applied. TensorFlow.js's `modelFromJSON` builds it, and written out it is
 * a Keras JSON / TF.js model.json other tools load.
 *
 * Nested models are flattened: their layers join the outer graph, named `<model>_<layer>` (made unique),
 * with the nested model's inputs wired to the tensors its call received. tfjs counts a nested model's own
 * internal node as node 0 while Keras does not, so a nested topology cannot mean the same to both loaders;
 * a flat one does. A nested model called several times gives each inner layer one call per outer call.
 */
import type { ResidualSite } from '../analysis/residuals';
import type { CallArgs, CallNode, Layer, ModelGraph, TensorRef } from '../ir';
import { callId, layerByName, tensorKey } from '../ir';
import { fromLayerConfig, LAUREL_CLASS, toFileConfig } from '../laurel/laurelConfig';
import { extraInputs } from '../laurel/history';
import type { VariantChoice } from '../laurel/variants';
import type { OpenModel } from '../model';
import { canonicalLayer } from '../read/canonicalConfig';

/** [layer name, node index, tensor index, kwargs]: one input of one call. */
export type KerasInboundRef = [string, number, number, Record<string, unknown>];
/** [layer name, node index, tensor index]: a model input or output. */
export type KerasTensorRef = [string, number, number];

export interface KerasLayerJson {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  /** One entry per call of the layer, in node-index order. */
  inbound_nodes: KerasInboundRef[][];
}

export interface KerasTopology {
  class_name: 'Model';
  config: {
    name: string;
    layers: KerasLayerJson[];
    input_layers: KerasTensorRef[];
    output_layers: KerasTensorRef[];
  };
}

export interface TfjsModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: 'LAuReL Studio';
  modelTopology: KerasTopology & { keras_version: string; backend: string };
  weightsManifest: [];
}

/** The Keras 2 version the emitted vocabulary follows, written when the source file is Keras 1 or 3. */
const KERAS2_VERSION = '2.15.0';

const MERGE_CLASSES = new Set(['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Concatenate', 'Dot']);
/** Keys a merge layer keeps when its source was an op (TFOpLambda, Keras 3 ops) or a Keras 1 Merge. */
const MERGE_KEYS = ['name', 'trainable', 'dtype', 'axis', 'axes', 'normalize'];
const DTYPE_POLICIES = new Set(['DTypePolicy', 'FloatDTypePolicy', 'Policy']);
/** Keras spellings tfjs registers under another name. */
const CLASS_ALIASES: Readonly<Record<string, string>> = { LecunNormal: 'LeCunNormal', LecunUniform: 'LeCunUniform' };
const ACTIVATION_ALIASES: Readonly<Record<string, string>> = { silu: 'swish' };
/** Keys an InputLayer alone needs: the emitted graph always has InputLayers, so other layers drop them. */
const SEPARABLE = new Set(['SeparableConv1D', 'SeparableConv2D']);
const INPUT_KEYS = ['batch_input_shape', 'input_shape', 'batch_size', 'batch_shape'];

const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = <T>(table: Readonly<Record<string, T>>, key: string): T | undefined => (Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined);

const sameChoice = (a: VariantChoice, b: VariantChoice): boolean =>
  a.variant === b.variant && (a.variant === 'plain' || JSON.stringify(a.options) === JSON.stringify(b.options));

/**
 * A config value in the vocabulary tfjs and Keras 2 read: Keras 3 objects lose module / registered_name,
 * dtype policies become their dtype name, Keras 3 function-serialised activations their name, L1 / L2
 * regularisers L1L2 (the only one tfjs registers), Lecun* initialisers tfjs' LeCun* spelling.
 */
export function kerasValue(v: unknown, key?: string): unknown {
  if (Array.isArray(v)) return v.map((x) => kerasValue(x));
  if (typeof v === 'string' && (key === 'activation' || key === 'recurrent_activation')) return own(ACTIVATION_ALIASES, v) ?? v;
  if (!isDict(v)) return v;
  const cls = v['class_name'];
  if (typeof cls === 'string' && 'config' in v) {
    const config = v['config'];
    if (DTYPE_POLICIES.has(cls) && isDict(config) && typeof config['name'] === 'string') return dtypeName(config['name']);
    if (cls === 'function' && typeof config === 'string') return kerasValue(config, key);
    const inner = isDict(config) ? (kerasValue(config) as Record<string, unknown>) : config;
    if ((cls === 'L1' || cls === 'L2') && isDict(inner)) {
      const amount = inner[cls.toLowerCase()] ?? 0.01;
      return { class_name: 'L1L2', config: { l1: cls === 'L1' ? amount : 0, l2: cls === 'L2' ? amount : 0 } };
    }
    return { class_name: own(CLASS_ALIASES, cls) ?? cls, config: inner };
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (k !== 'shared_object_id') out[k] = kerasValue(x, k);
  return out;
}

/** Mixed-precision policies keep float32 variables; the emitted model computes in float32 too. */
const dtypeName = (name: string): string => (name.startsWith('mixed_') ? 'float32' : name);

/** A layer's config for the topology: translated values, its emitted name, inherited trainability. */
function layerConfig(layer: Layer, name: string, trainable: boolean): Record<string, unknown> {
  let config = kerasValue(layer.config) as Record<string, unknown>;
  const fromOp = layer.sourceClassName !== layer.className;
  if (MERGE_CLASSES.has(layer.className) && fromOp) config = Object.fromEntries(Object.entries(config).filter(([k]) => MERGE_KEYS.includes(k)));
  if (layer.className !== 'InputLayer') for (const k of INPUT_KEYS) delete config[k];
  // tf.keras 2.x writes its Conv base's kernel_* keys into separable convolutions too (unused there: the
  // weights are depthwise and pointwise); tfjs refuses a SeparableConv config that has them.
  if (SEPARABLE.has(layer.className)) for (const k of ['kernel_initializer', 'kernel_regularizer', 'kernel_constraint']) delete config[k];
  // Wrappers hold a whole layer object, written in the file's own (possibly Keras 1 / 3) vocabulary.
  for (const k of ['layer', 'backward_layer']) {
    const inner = config[k];
    if (isDict(inner) && typeof inner['class_name'] === 'string' && isDict(inner['config'])) {
      const c = canonicalLayer(inner['class_name'], inner['config']);
      config[k] = { class_name: c.className, config: kerasValue(c.config) };
    }
  }
  config['name'] = name;
  if (!trainable) config['trainable'] = false;
  return config;
}

/** The config of a LaurelResidual standing in for an add-merge. */
function laurelConfig(name: string, choice: VariantChoice, branchIndex: number, shortcutIndex: number, source: Layer, trainable: boolean): Record<string, unknown> {
  // The same keys write-back puts in files, less `replaces` (only a revert needs it).
  const { replaces: _replaces, ...laurel } = toFileConfig(choice, branchIndex, shortcutIndex, source.className);
  const config: Record<string, unknown> = { name, trainable: trainable && source.trainable, ...laurel };
  if (typeof source.config['dtype'] === 'string') config['dtype'] = dtypeName(source.config['dtype']);
  return config;
}

/** How a layer is emitted: as written, or as the merge a plan makes of it. */
type LayerPlan =
  | { kind: 'keep' }
  | { kind: 'add' }
  | { kind: 'laurel'; choice: VariantChoice };

interface Emitter {
  m: OpenModel;
  choices: Map<string, VariantChoice>;
  /** Sites by `scope|node id`. */
  sites: Map<string, ResidualSite>;
  /** Emitted layers by their emitted name, in output order. */
  entries: Map<string, KerasLayerJson>;
  /** Emitted name by `scope|layer name`. */
  names: Map<string, string>;
  plans: Map<string, LayerPlan>;
  /** False for emitted layers inside a frozen nested model. */
  trainable: Map<string, boolean>;
}

const scopeKey = (scope: string[], name: string): string => `${scope.join('/')}|${name}`;

/**
 * The functional topology of `m` with each residual site given its choice (by site id; sites absent from
 * `choices` keep what the file has). A non-plain choice makes the merge a LaurelResidual with the site's
 * branch / shortcut indices and, for PA, the earlier activations as extra inputs; plain makes it an Add.
 */
export function toKerasTopology(m: OpenModel, choices: Map<string, VariantChoice> = new Map()): KerasTopology {
  const e: Emitter = {
    m,
    choices,
    sites: new Map(m.sites.map((s) => [scopeKey(s.scope, s.node), s])),
    entries: new Map(),
    names: new Map(),
    plans: new Map(),
    trainable: new Map(),
  };
  const g = m.doc.graph;
  const taken = new Set(g.layers.map((l) => l.name));
  declare(e, g, [], true, taken);
  const outputs = emit(e, g, [], 0, null);
  const layers = [...e.entries.values()].filter((l) => l.class_name === 'InputLayer' || l.inbound_nodes.length > 0);
  // A top-level InputLayer's only node is the one it makes itself.
  const inputs = g.inputs.map((t) => {
    const name = e.names.get(scopeKey([], g.nodes.find((n) => n.id === t.node)!.layer))!;
    return [name, 0, t.index] as KerasTensorRef;
  });
  return {
    class_name: 'Model',
    config: { name: g.name, layers, input_layers: inputs, output_layers: outputs.map((r) => [r[0], r[1], r[2]]) },
  };
}

/** The topology as a TF.js `model.json` (no weights): what "export to TF.js / Keras JSON" writes. */
export function toTfjsModelJson(m: OpenModel, choices?: Map<string, VariantChoice>): TfjsModelJson {
  const v = m.doc.kerasVersion;
  return {
    format: 'layers-model',
    generatedBy: v ? `keras v${v}` : m.doc.fileName,
    convertedBy: 'LAuReL Studio',
    modelTopology: { ...toKerasTopology(m, choices), keras_version: v?.startsWith('2.') ? v : KERAS2_VERSION, backend: 'tensorflow' },
    weightsManifest: [],
  };
}

/** Creates the emitted layer entries (file order, nested layers in place of their model) and their plans. */
function declare(e: Emitter, g: ModelGraph, scope: string[], trainable: boolean, taken: Set<string>): void {
  for (const layer of g.layers) {
    if (layer.subgraph) {
      declare(e, layer.subgraph, [...scope, layer.name], trainable && layer.trainable, taken);
      continue;
    }
    // A nested model's inputs become the tensors its call receives.
    if (scope.length && layer.className === 'InputLayer') continue;
    let name = layer.name;
    if (scope.length) {
      const base = [...scope, layer.name].join('_');
      name = base;
      for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
      taken.add(name);
    }
    e.names.set(scopeKey(scope, layer.name), name);
    const plan = layerPlan(e, g, scope, layer);
    e.plans.set(scopeKey(scope, layer.name), plan);
    e.trainable.set(name, trainable);
    let entry: KerasLayerJson;
    if (plan.kind === 'keep') {
      entry = { class_name: layer.className, name, config: layerConfig(layer, name, trainable), inbound_nodes: [] };
    } else if (plan.kind === 'add') {
      const config: Record<string, unknown> = { name, trainable: trainable && layer.trainable };
      if (typeof layer.config['dtype'] === 'string') config['dtype'] = dtypeName(layer.config['dtype']);
      entry = { class_name: 'Add', name, config, inbound_nodes: [] };
    } else {
      // Indices are filled per call (they are the same for every call of a layer: see layerPlan).
      entry = { class_name: LAUREL_CLASS, name, config: {}, inbound_nodes: [] };
    }
    e.entries.set(name, entry);
  }
}

/** The sites of a layer's calls and what the plan makes of the layer. Shared merges must agree. */
function layerPlan(e: Emitter, g: ModelGraph, scope: string[], layer: Layer): LayerPlan {
  const calls = g.nodes.filter((n) => n.layer === layer.name);
  const sites = calls.map((n) => e.sites.get(scopeKey(scope, n.id)));
  const chosen = sites.map((s) => (s ? (e.choices.get(s.id) ?? s.current) : undefined));
  const first = chosen.find((c) => c !== undefined);
  if (!first) return { kind: 'keep' };
  const site = sites.find((s) => s)!;
  let plan: LayerPlan;
  if (first.variant === 'plain') plan = layer.className === LAUREL_CLASS ? { kind: 'add' } : { kind: 'keep' };
  else plan = layer.className === LAUREL_CLASS && sameChoice(first, site.current) ? { kind: 'keep' } : { kind: 'laurel', choice: first };
  const mixed = chosen.some((c) => (c === undefined ? plan.kind !== 'keep' : !sameChoice(c, first)));
  if (mixed) {
    const where = [...scope, layer.name].join('/');
    throw new Error(`layer '${where}' is called ${calls.length} times and its calls would need different residual variants; a shared merge layer takes one`);
  }
  return plan;
}

type FlatRef = KerasTensorRef;

/**
 * Emits the calls of graph `g` (one instance of it: `instance` counts the calls of the nested models around
 * it) and returns its outputs. `bound` holds the tensors fed to a nested graph's inputs.
 */
function emit(e: Emitter, g: ModelGraph, scope: string[], instance: number, bound: FlatRef[] | null): FlatRef[] {
  const layers = layerByName(g);
  const callCount = new Map<string, number>();
  for (const n of g.nodes) callCount.set(n.layer, (callCount.get(n.layer) ?? 0) + 1);
  const tensors = new Map<string, FlatRef>();
  const callOf = new Map<string, { name: string; index: number }>();
  const resolve = (t: TensorRef): FlatRef => {
    const direct = tensors.get(tensorKey(t));
    if (direct) return direct;
    const c = callOf.get(t.node);
    if (!c) throw new Error(`internal: tensor ${tensorKey(t)} of '${[...scope, g.name].join('/')}' used before its call`);
    return [c.name, c.index, t.index];
  };

  for (const node of g.nodes) {
    const layer = layers.get(node.layer)!;
    if (layer.className === 'InputLayer') {
      if (bound) {
        const i = g.inputs.findIndex((t) => t.node === node.id);
        const ref = bound[i];
        if (!ref) throw new Error(`nested model '${scope.join('/')}': its input '${layer.name}' is not fed by the call`);
        tensors.set(tensorKey({ node: node.id, index: 0 }), ref);
      } else {
        callOf.set(node.id, { name: e.names.get(scopeKey(scope, layer.name))!, index: 0 });
      }
      continue;
    }
    if (layer.subgraph) {
      const inner = instance * callCount.get(layer.name)! + node.callIndex;
      const outs = emit(e, layer.subgraph, [...scope, layer.name], inner, node.inputs.map(resolve));
      outs.forEach((r, i) => tensors.set(tensorKey({ node: node.id, index: i }), r));
      continue;
    }
    const name = e.names.get(scopeKey(scope, layer.name))!;
    const entry = e.entries.get(name)!;
    const index = instance * callCount.get(layer.name)! + node.callIndex;
    callOf.set(node.id, { name, index });
    const plan = e.plans.get(scopeKey(scope, layer.name))!;
    const inputs = plan.kind === 'keep' ? node.inputs.map(resolve) : mergeInputs(e, g, scope, node, layer, entry, plan, resolve);
    entry.inbound_nodes[index] = node.args && plan.kind === 'keep' ? keywordRefs(inputs, node.args) : inputs.map((r) => [r[0], r[1], r[2], {}]);
  }
  return g.outputs.map(resolve);
}

/**
 * A call that passed inputs by keyword (MultiHeadAttention's value=, attention_mask=) or flags
 * (use_causal_mask=True), written as tf.keras writes it: the positional inputs as references, the keyword
 * tensors ([name, node, tensor]) and flags in the first reference's kwargs.
 */
function keywordRefs(inputs: KerasTensorRef[], args: CallArgs): KerasInboundRef[] {
  const kwargs: Record<string, unknown> = { ...args.flags };
  const positional: KerasTensorRef[] = [];
  // tf.keras needs a first positional argument: a call that named every input passes its query positionally.
  const first = args.keys.some((k) => k === null) ? -1 : Math.max(0, args.keys.indexOf('query'));
  inputs.forEach((r, i) => {
    const key = args.keys[i] ?? null;
    if (key === null || i === first) positional.push(r);
    else kwargs[key] = [r[0], r[1], r[2]];
  });
  return positional.map((r, i) => [r[0], r[1], r[2], i === 0 ? kwargs : {}]);
}

/** Inputs of a merge the plan rewrites: f(x) and x in their original order, then PA's earlier activations. */
function mergeInputs(
  e: Emitter,
  g: ModelGraph,
  scope: string[],
  node: CallNode,
  layer: Layer,
  entry: KerasLayerJson,
  plan: Exclude<LayerPlan, { kind: 'keep' }>,
  resolve: (t: TensorRef) => FlatRef,
): FlatRef[] {
  const site = e.sites.get(scopeKey(scope, node.id));
  if (!site) throw new Error(`layer '${[...scope, layer.name].join('/')}': call ${node.callIndex} is not a residual, so it cannot become ${plan.kind === 'add' ? 'Add' : LAUREL_CLASS}`);
  // A LaurelResidual in the file may carry earlier activations: keep only f(x) and x.
  const [bi, si] = layer.className === LAUREL_CLASS ? [fromLayerConfig(layer.config).branchIndex, fromLayerConfig(layer.config).shortcutIndex] : [site.branchIndex, site.shortcutIndex];
  const base = node.inputs.length === 2 && layer.className !== LAUREL_CLASS ? node.inputs : node.inputs.filter((_, i) => i === bi || i === si);
  const refs = base.map(resolve);
  if (plan.kind === 'add') return refs;
  const branchIndex = bi < si ? 0 : 1;
  const choice = plan.choice;
  entry.config = laurelConfig(entry.name, choice, branchIndex, 1 - branchIndex, layer, e.trainable.get(entry.name)!);
  // PA's earlier activations, or the Gemma form's pre-norm n where the branch starts with its own norm.
  const extra = extraInputs(site, e.m.sites, g, choice);
  return [...refs, ...extra.map((h) => resolve({ node: callId(h.layer, h.callIndex), index: h.index }))];
}
