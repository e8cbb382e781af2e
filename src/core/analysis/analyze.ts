import { ModelError } from '../errors';
import type { SourceLocation } from '../errors';
import type { Layer, ModelDocument, ModelGraph, Shape, TensorRef } from '../ir';
import { callPath } from '../ir';
import { graphIndex, type GraphIndex } from '../graphIndex';
import { LAUREL_CLASS } from '../laurel/laurelConfig';
import { laurelSpec } from '../laurel/laurelSpec';
import { specFor } from '../layers/catalog';
import { ShapeError } from '../layerSpec';
import type { LayerSpec, ParamCount } from '../layerSpec';
import { locate } from '../locate';

export interface LayerInfo {
  layer: Layer;
  /** Null when the count cannot be known: an unknown class, or input shapes that could not be inferred. */
  params: ParamCount | null;
  /** Why params is null. */
  note?: string;
}

export interface UnknownLayer {
  name: string;
  className: string;
  /** Nested model names from the top, empty at the top level. */
  scope: string[];
}

export interface GraphAnalysis {
  graph: ModelGraph;
  scope: string[];
  /** Output shapes per call, by position in `graph.nodes`; null where they could not be inferred. */
  outputs: (Shape[] | null)[];
  /** Per layer, by position in `graph.layers`. */
  layerInfo: LayerInfo[];
  /**
   * `outputs` by call node id and `layerInfo` by layer name (in the order of the layers' first calls, then
   * the layers never called). Maps made on first use: the analysis, the residual finder and the lenses work
   * by position, and two string-keyed maps of every call were half of a large model's analysis (each insert
   * probes a table of tens of thousands of entries and compares strings scattered over the heap).
   */
  readonly shapes: Map<string, Shape[] | null>;
  readonly layers: Map<string, LayerInfo>;
  /** Sum over the layers whose count is known (nested models included). */
  params: ParamCount;
  unknownLayers: UnknownLayer[];
  /** Shape errors and the like, each located in the file. */
  problems: ModelError[];
  nested: Map<string, GraphAnalysis>;
}

function specOf(className: string): LayerSpec | undefined {
  return className === LAUREL_CLASS ? laurelSpec : specFor(className);
}

/** Shapes and exact parameter counts for every call and layer of a model, nested models included. */
export function analyze(doc: ModelDocument): GraphAnalysis {
  return analyzeGraph(doc, doc.graph, []);
}

function analyzeGraph(doc: ModelDocument, graph: ModelGraph, scope: string[]): GraphAnalysis {
  // Calls by position (the nodes come topologically sorted): shapes and liveness by index, not by string key.
  const index = graphIndex(graph);
  const outs: (Shape[] | null)[] = new Array(graph.nodes.length).fill(null);
  const infos: LayerInfo[] = new Array(graph.layers.length);
  const a = withMaps({ graph, scope, outputs: outs, layerInfo: infos, params: { trainable: 0, nonTrainable: 0 }, unknownLayers: [], problems: [], nested: new Map() });
  const where = (layer: Layer): SourceLocation => locate(doc, layer.path);
  /** Layers whose first call has been counted. */
  const counted = new Uint8Array(graph.layers.length);

  // A nested model is analysed where its layer is first met (a pass over every layer to find them first
  // reads each layer object once more, and on a large model each of those reads is a cache miss).
  const nestedOf = (layer: Layer): GraphAnalysis => {
    let sub = a.nested.get(layer.name);
    if (!sub) {
      sub = analyzeGraph(doc, layer.subgraph!, [...scope, layer.name]);
      a.nested.set(layer.name, sub);
      a.unknownLayers.push(...sub.unknownLayers);
      a.problems.push(...sub.problems);
    }
    return sub;
  };

  const { inputStart, inputCalls, layerAt } = index;
  for (let n = 0; n < graph.nodes.length; n++) {
    const node = graph.nodes[n]!;
    const layer = graph.layers[layerAt[n]!]!;
    const first = inputStart[n]!;
    const inputs: (Shape | null)[] = new Array(node.inputs.length);
    let known = true;
    let dangling: string | undefined;
    for (let j = 0; j < inputs.length; j++) {
      const p = inputCalls[first + j]!;
      const t = node.inputs[j]!;
      if ((inputs[j] = (p < 0 ? null : outs[p]?.[t.index]) ?? null) !== null) continue;
      known = false;
      dangling ??= p < 0 ? undefined : missingTensor(outs[p], t);
    }
    if (dangling) a.problems.push(new ModelError(`layer '${layer.name}' (${layer.sourceClassName}) call ${node.callIndex}: ${dangling}`, locate(doc, callPath(layer, node) ?? layer.path)));
    let shapes: Shape[] | null = null;
    let params: ParamCount | null = null;
    let note: string | undefined;
    const sub = layer.subgraph ? nestedOf(layer) : undefined;
    if (sub) {
      const subOuts = graphIndex(sub.graph).outputAt;
      const got = sub.graph.outputs.map((t, o) => sub.outputs[subOuts[o]!]?.[t.index] ?? null);
      shapes = got.every((s) => s) ? (got as Shape[]) : null;
      params = sub.unknownLayers.length ? null : sub.params;
      if (!params) note = 'contains layers of unknown class';
    } else {
      const spec = specOf(layer.className);
      if (!spec) {
        note = `unknown layer class '${layer.sourceClassName}'`;
        if (node.callIndex === 0) a.unknownLayers.push({ name: layer.name, className: layer.sourceClassName, scope });
      } else if (!known) {
        note = 'input shape unknown (an earlier layer could not be analysed)';
      } else {
        try {
          if (spec.shapesAndParams) ({ shapes, params } = spec.shapesAndParams(layer.config, inputs as Shape[], node.args));
          else {
            shapes = spec.outputShapes(layer.config, inputs as Shape[], node.args);
            params = spec.params(layer.config, inputs as Shape[], node.args);
          }
        } catch (e) {
          if (!(e instanceof ShapeError)) throw e;
          note = e.message;
          a.problems.push(new ModelError(`layer '${layer.name}' (${layer.sourceClassName}): ${e.message}`, where(layer)));
          shapes = null;
          params = null;
        }
      }
    }
    if (shapes) shapes = sharedShapes(shapes, inputs, inputs.length ? outs[inputCalls[first]!] : undefined);
    outs[n] = shapes;
    // Weights belong to the layer: count them at its first call only (shared layers reuse them).
    if (node.callIndex === 0) {
      counted[layerAt[n]!] = 1;
      if (params && !layer.trainable) {
        params = { trainable: 0, nonTrainable: params.trainable + params.nonTrainable };
      }
      infos[layerAt[n]!] = note === undefined ? { layer, params } : { layer, params, note };
      if (params) {
        a.params.trainable += params.trainable;
        a.params.nonTrainable += params.nonTrainable;
      }
    }
  }
  for (let o = 0; o < graph.outputs.length; o++) {
    const t = graph.outputs[o]!;
    const dangling = missingTensor(outs[index.outputAt[o]!], t);
    if (!dangling) continue;
    const producer = graph.layers[index.layerAt[index.outputAt[o]!] ?? -1];
    // The producer's path is [..., 'config', 'layers', i]: the outputs are listed beside its layers.
    a.problems.push(new ModelError(`model output: ${dangling}`, locate(doc, producer ? [...producer.path.slice(0, -2), 'output_layers'] : [])));
  }
  graph.layers.forEach((layer, l) => {
    if (counted[l]) return;
    if (layer.subgraph) nestedOf(layer);
    infos[l] = { layer, params: null, note: 'never called in the graph' };
  });
  leaveOutDeadLayers(doc, a, index);
  return a;
}

/**
 * Keras and TF.js build a functional model from the calls between its inputs and outputs: a layer none of
 * whose calls leads to an output is not part of it. Its weights leave the totals, and it is a located
 * problem (the file says more than the model has), so the totals match what Keras and TF.js count.
 */
function leaveOutDeadLayers(doc: ModelDocument, a: GraphAnalysis, index: GraphIndex): void {
  const nodes = a.graph.nodes;
  const live = new Uint8Array(nodes.length);
  const stack: number[] = [];
  const reach = (k: number | undefined): void => {
    if (k !== undefined && k >= 0 && !live[k]) {
      live[k] = 1;
      stack.push(k);
    }
  };
  for (const k of index.outputAt) reach(k);
  while (stack.length) {
    const k = stack.pop()!;
    for (let e = index.inputStart[k]!; e < index.inputStart[k + 1]!; e++) reach(index.inputCalls[e]);
  }
  // Per layer: 1 called, 2 called by a live call.
  const state = new Uint8Array(a.graph.layers.length);
  nodes.forEach((_, i) => {
    const l = index.layerAt[i]!;
    if (l >= 0) state[l] = Math.max(state[l]!, live[i] ? 2 : 1);
  });
  a.graph.layers.forEach((layer, l) => {
    // The state first: it is a typed array, the layer object a cache miss on a large model.
    if (state[l] !== 1 || layer.className === 'InputLayer') return;
    const info = a.layerInfo[l]!;
    const weights = info.params ? info.params.trainable + info.params.nonTrainable : 0;
    if (info.params) {
      a.params.trainable -= info.params.trainable;
      a.params.nonTrainable -= info.params.nonTrainable;
    }
    a.layerInfo[l] = { layer, params: null, note: 'leads to no model output: not part of the model' };
    const uncounted = weights ? ` (its ${weights.toLocaleString('en-US')} weights are not counted)` : '';
    a.problems.push(new ModelError(`layer '${layer.name}' (${layer.sourceClassName}) leads to no model output: Keras and TF.js leave it out of the model${uncounted}`, locate(doc, layer.path)));
  });
}

/**
 * `shapes`, or an equal list the analysis keeps already: a call's one output of its first input's shape
 * (activations, normalizations, adds, same-size dense and conv layers) reuses that input's list, or its
 * shape in a new list. Values are never changed in place, and one list per call was about a seventh of
 * what a read keeps (the young-generation collector copies all of it).
 */
function sharedShapes(shapes: Shape[], inputs: (Shape | null)[], producer: Shape[] | null | undefined): Shape[] {
  const x = inputs[0];
  if (shapes.length !== 1 || !x || !sameDims(shapes[0]!, x)) return shapes;
  return producer?.length === 1 && producer[0] === x ? producer : [x];
}

function sameDims(a: Shape, b: Shape): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Why tensor `t` does not exist, when its call's outputs are known: a reference to output 99 of a one-output
 * layer must not pass as an unknown shape (the counts after it would silently drop out of the total).
 */
function missingTensor(outs: Shape[] | null | undefined, t: TensorRef): string | undefined {
  if (!outs || t.index < outs.length) return undefined;
  return `it reads tensor ${t.index} of '${t.node}', which has ${outs.length === 1 ? 'one output (tensor 0)' : `${outs.length} outputs (tensors 0 to ${outs.length - 1})`}`;
}

export const totalParams = (p: ParamCount): number => p.trainable + p.nonTrainable;

/** Output shape of a tensor, looked up in an analysis. */
export function shapeOf(a: GraphAnalysis, t: { node: string; index: number }): Shape | null {
  const k = graphIndex(a.graph).position(t.node);
  return (k === undefined ? undefined : a.outputs[k]?.[t.index]) ?? null;
}

type Unmapped = Omit<GraphAnalysis, 'shapes' | 'layers'>;

/** Replaces a lazy map with its value: later reads are a plain property's. */
function settle<T>(a: GraphAnalysis, key: 'shapes' | 'layers', value: Map<string, T>): Map<string, T> {
  Object.defineProperty(a, key, { value, enumerable: true, configurable: true, writable: false });
  return value;
}

/**
 * The getters are made once, here: every analysis then shares one hidden class (getters made per object
 * gave each its own, and the reads of every analysis field went megamorphic: small models read 15% slower).
 */
const LAZY_MAPS: PropertyDescriptorMap = {
  shapes: {
    enumerable: true,
    configurable: true,
    get(this: GraphAnalysis) {
      return settle(this, 'shapes', new Map(this.graph.nodes.map((n, k) => [n.id, this.outputs[k] ?? null])));
    },
  },
  layers: {
    enumerable: true,
    configurable: true,
    get(this: GraphAnalysis) {
      const { graph, layerInfo } = this;
      const layerAt = graphIndex(graph).layerAt;
      const m = new Map<string, LayerInfo>();
      for (let k = 0; k < graph.nodes.length; k++) {
        const l = layerAt[k]!;
        if (graph.nodes[k]!.callIndex === 0 && l >= 0 && layerInfo[l]) m.set(graph.layers[l]!.name, layerInfo[l]!);
      }
      layerInfo.forEach((info, l) => info && !m.has(graph.layers[l]!.name) && m.set(graph.layers[l]!.name, info));
      return settle(this, 'layers', m);
    },
  },
};

/** `shapes` and `layers` as maps made on first read (a structured clone reads them too, so a copy has them). */
const withMaps = (base: Unmapped): GraphAnalysis => Object.defineProperties(base, LAZY_MAPS) as GraphAnalysis;
