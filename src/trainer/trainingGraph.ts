/**
 * What a run trains: one output of the model (files may expose many: the tensorspace models list every
 * intermediate tensor), and, for an output that is a feature map rather than a prediction, a head added
 * for training only (global average pooling + Dense(K, softmax)). The result is the model as an OpenModel
 * again (same document, same residual sites, another graph), so both engines build it unchanged; the
 * head's layers are marked synthetic and never reach the file. Pure: no tfjs, the CLI checks with it.
 */
import { analyze, shapeOf, totalParams } from '../core/analysis/analyze';
import type { GraphAnalysis } from '../core/analysis/analyze';
import type { CallNode, Layer, ModelGraph, Shape, TensorRef } from '../core/ir';
import { layerByName } from '../core/ir';
import type { OpenModel } from '../core/model';
import { formatShape } from './data/task';

export interface HeadSpec {
  classes: number;
}

export interface TrainingOutput {
  /** The layer that produces it (the name `--output` takes). */
  name: string;
  shape: Shape | null;
  /** Its position among the model's outputs, and how many there are. */
  index: number;
  of: number;
}

export interface TrainingModel {
  model: OpenModel;
  output: TrainingOutput;
  head?: HeadSpec;
  /** One line for the run log: which output trains, and the head. */
  description: string;
}

export class TrainingOutputError extends Error {
  override readonly name = 'TrainingOutputError';
}

/** Activations that make an output a prediction (class probabilities), whatever its shape. */
const PREDICTING = new Set(['softmax', 'sigmoid', 'log_softmax']);
/** Layers that pass a feature map or vector on without making a prediction of it. */
const PASS_THROUGH = new Set(['Activation', 'ReLU', 'LeakyReLU', 'ELU', 'PReLU', 'Dropout', 'SpatialDropout2D', 'BatchNormalization', 'LayerNormalization', 'GaussianNoise', 'GaussianDropout']);
const POOLED = new Set(['GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalAveragePooling3D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D', 'GlobalMaxPooling3D', 'Flatten']);

/** Every output of the model, by the layer that produces it. */
export function modelOutputs(m: OpenModel): TrainingOutput[] {
  const g = m.doc.graph;
  return g.outputs.map((t, index) => ({ name: g.nodes.find((n) => n.id === t.node)!.layer, shape: shapeOf(m.analysis, t), index, of: g.outputs.length }));
}

/** The model's inputs: the layer and the shape of each, in the model's order (the data give one array per input). */
export interface ModelInput {
  name: string;
  shape: Shape | null;
}

export function modelInputs(m: OpenModel): ModelInput[] {
  const g = m.doc.graph;
  return g.inputs.map((t) => ({ name: g.nodes.find((n) => n.id === t.node)?.layer ?? t.node, shape: shapeOf(m.analysis, t) }));
}

/** The call that produces a tensor, looking inside nested models, with the analysis that shaped it. */
function producer(a: GraphAnalysis, t: TensorRef): { layer: Layer; node: CallNode; a: GraphAnalysis } {
  const node = a.graph.nodes.find((n) => n.id === t.node)!;
  const layer = layerByName(a.graph).get(node.layer)!;
  const sub = a.nested.get(layer.name);
  if (sub) return producer(sub, sub.graph.outputs[t.index] ?? sub.graph.outputs[0]!);
  return { layer, node, a };
}

const activationOf = (l: Layer): string | undefined => (l.className === 'Softmax' ? 'softmax' : typeof l.config['activation'] === 'string' ? (l.config['activation'] as string).toLowerCase() : undefined);

/** The activation that makes a tensor (looking inside nested models): what the training loss is chosen by. */
export function outputActivation(m: OpenModel, t: TensorRef): string | undefined {
  return activationOf(producer(m.analysis, t).layer);
}

/**
 * Why an output is a feature map, or undefined when it reads as a prediction: a softmax / sigmoid makes
 * a prediction; a Dense (logits, regression) too; per-position outputs over the input's own positions are
 * dense predictions (segmentation, tagging). Left: a downsampled map (7×7×1280), or a vector straight
 * from global pooling or Flatten.
 */
export function featureMapReason(m: OpenModel, t: TensorRef): string | undefined {
  const shape = shapeOf(m.analysis, t);
  if (!shape) return undefined;
  let p = producer(m.analysis, t);
  for (let steps = 0; ; steps++) {
    const act = activationOf(p.layer);
    if (act && PREDICTING.has(act)) return undefined;
    if (!PASS_THROUGH.has(p.layer.className) || steps > 32 || p.node.inputs.length !== 1) break;
    p = producer(p.a, p.node.inputs[0]!);
  }
  if (shape.length === 2) return POOLED.has(p.layer.className) ? `a pooled feature vector from ${p.layer.className} '${p.layer.name}' (no classifier head)` : undefined;
  const input = m.doc.graph.inputs[0] && shapeOf(m.analysis, m.doc.graph.inputs[0]);
  const samePositions = input && input.length === shape.length && input.slice(1, -1).every((d, i) => d === null || shape[i + 1] === null || d === shape[i + 1]);
  if (samePositions) return undefined;
  return `a feature map from ${p.layer.className} '${p.layer.name}' (no classifier head)`;
}

function pick(m: OpenModel, name: string | undefined): { ref: TensorRef; out: TrainingOutput } {
  const outs = modelOutputs(m);
  const g = m.doc.graph;
  if (outs.length === 0) throw new TrainingOutputError(`${m.doc.fileName}: the model has no outputs`);
  if (name === undefined) return { ref: g.outputs[outs.length - 1]!, out: outs[outs.length - 1]! };
  const i = outs.findIndex((o) => o.name === name);
  if (i < 0) {
    const listed = outs.slice(-8).map((o) => `'${o.name}' ${o.shape ? formatShape(o.shape) : '(shape unknown)'}`);
    const more = outs.length > 8 ? `${outs.length - 8} more before them, ` : '';
    throw new TrainingOutputError(`--output '${name}': ${m.doc.fileName} has no output of that name; its outputs are ${more}${listed.join(', ')}`);
  }
  return { ref: g.outputs[i]!, out: outs[i]! };
}

/** The calls the output depends on (and the model's inputs), with the layers they call. */
function prune(g: ModelGraph, ref: TensorRef): ModelGraph {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const keep = new Set<string>(g.inputs.map((t) => t.node));
  const todo = [ref.node];
  while (todo.length) {
    const id = todo.pop()!;
    if (keep.has(id) && id !== ref.node) continue;
    keep.add(id);
    for (const t of byId.get(id)?.inputs ?? []) if (!keep.has(t.node)) todo.push(t.node);
  }
  const nodes = g.nodes.filter((n) => keep.has(n.id));
  const called = new Set(nodes.map((n) => n.layer));
  return { ...g, layers: g.layers.filter((l) => called.has(l.name)), nodes, outputs: [ref] };
}

const POOL_FOR_RANK: Readonly<Record<number, string>> = { 3: 'GlobalAveragePooling1D', 4: 'GlobalAveragePooling2D', 5: 'GlobalAveragePooling3D' };

function unique(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/** The graph with one output, and the head layers after it when asked. */
function trainingGraphOf(m: OpenModel, ref: TensorRef, shape: Shape | null, head: HeadSpec | undefined): ModelGraph {
  const g = prune(m.doc.graph, ref);
  if (!head) return g;
  if (!shape || shape.length < 2 || shape.length > 5) throw new TrainingOutputError(`--head: the output's shape ${shape ? formatShape(shape) : 'is unknown'}; a head pools a (None, ..., C) output of rank 2 to 5`);
  const taken = new Set(g.layers.map((l) => l.name));
  const at = m.doc.modelPath;
  const layers: Layer[] = [];
  const nodes: CallNode[] = [];
  let input = ref;
  const pool = POOL_FOR_RANK[shape.length];
  if (pool) {
    const name = unique('laurel_head_pool', taken);
    layers.push({ name, className: pool, sourceClassName: pool, config: { name, trainable: true, data_format: 'channels_last' }, trainable: true, path: at, synthetic: true });
    nodes.push({ id: name, layer: name, callIndex: 0, inputs: [input] });
    input = { node: name, index: 0 };
  }
  const dense = unique('laurel_head_dense', taken);
  const config = {
    name: dense,
    trainable: true,
    units: head.classes,
    activation: 'softmax',
    use_bias: true,
    kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
    bias_initializer: { class_name: 'Zeros', config: {} },
    kernel_regularizer: null,
    bias_regularizer: null,
    activity_regularizer: null,
    kernel_constraint: null,
    bias_constraint: null,
  };
  layers.push({ name: dense, className: 'Dense', sourceClassName: 'Dense', config, trainable: true, path: at, synthetic: true });
  nodes.push({ id: dense, layer: dense, callIndex: 0, inputs: [input] });
  return { ...g, layers: [...g.layers, ...layers], nodes: [...g.nodes, ...nodes], outputs: [{ node: dense, index: 0 }] };
}

/**
 * The model a run trains: `output` (a layer name; default the last output) and, for a feature-map output,
 * `head` (required there: without it the run would invent one class per channel).
 */
export function trainingModel(m: OpenModel, opts: { output?: string; head?: HeadSpec } = {}): TrainingModel {
  const { ref, out } = pick(m, opts.output);
  const file = m.doc.fileName;
  const which = out.of > 1 ? `output '${out.name}' ${out.shape ? formatShape(out.shape) : ''}${opts.output === undefined ? `, the last of ${out.of} outputs (--output NAME picks another)` : ` (${out.index + 1} of ${out.of})`}` : `output '${out.name}' ${out.shape ? formatShape(out.shape) : ''}`;
  const reason = featureMapReason(m, ref);
  if (reason && !opts.head) {
    throw new TrainingOutputError(
      `${file}: ${which} is ${reason}; trained against labels it would make one class of each of its ${out.shape?.[out.shape.length - 1] ?? '?'} channels. ` +
        `Add a classifier for training only with --head classes=K (global average pooling + Dense(K, softmax); not written to the model file)${out.of > 1 ? ', or train another output with --output NAME' : ''}`,
    );
  }
  if (opts.head && (!Number.isInteger(opts.head.classes) || opts.head.classes < 1)) throw new TrainingOutputError(`--head classes must be a positive integer, got ${opts.head.classes}`);
  if (out.of === 1 && !opts.head) return { model: m, output: out, description: `training ${which}` };
  const graph = trainingGraphOf(m, ref, out.shape, opts.head);
  const doc = { ...m.doc, graph };
  const analysis = analyze(doc);
  const p = analysis.params;
  // Sites the pruned graph still calls (a nested model's sites go with the model's layer).
  const calls = new Set(graph.nodes.map((n) => n.id));
  const layers = new Set(graph.layers.map((l) => l.name));
  const sites = m.sites.filter((site) => (site.scope.length ? layers.has(site.scope[0]!) : calls.has(site.node)));
  const model: OpenModel = { doc, analysis, sites, params: { total: totalParams(p), trainable: p.trainable, nonTrainable: p.nonTrainable } };
  const headParams = graph.layers.filter((l) => l.synthetic && l.name.startsWith('laurel_head_')).reduce((n, l) => n + ((p) => (p ? p.trainable + p.nonTrainable : 0))(analysis.layers.get(l.name)?.params), 0);
  const head = opts.head ? `; head for training only: ${POOL_FOR_RANK[out.shape?.length ?? 0] ?? 'no pooling'} + Dense(${opts.head.classes}, softmax), ${headParams.toLocaleString('en-US')} params, not written to the model file` : '';
  return { model, output: out, ...(opts.head ? { head: opts.head } : {}), description: `training ${which}${head}` };
}

/** `--head classes=K` as the CLI and settings write it. */
export function parseHead(text: string): HeadSpec {
  const m = /^\s*classes\s*=\s*(\d+)\s*$/.exec(text);
  if (!m || Number(m[1]) < 1) throw new TrainingOutputError(`--head takes classes=K (K a positive integer), got '${text}'`);
  return { classes: Number(m[1]) };
}
