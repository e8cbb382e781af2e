import { ModelError } from '../errors';
import type { SourceLocation } from '../errors';
import type { Layer, ModelDocument, ModelGraph, Shape, TensorRef } from '../ir';
import { layerByName } from '../ir';
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
  /** Output shapes per call node id; null where they could not be inferred. */
  shapes: Map<string, Shape[] | null>;
  layers: Map<string, LayerInfo>;
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
  const a: GraphAnalysis = {
    graph,
    scope,
    shapes: new Map(),
    layers: new Map(),
    params: { trainable: 0, nonTrainable: 0 },
    unknownLayers: [],
    problems: [],
    nested: new Map(),
  };
  const layers = layerByName(graph);
  const where = (layer: Layer): SourceLocation => locate(doc, layer.path);
  // Calls by position (the nodes come topologically sorted): shapes and liveness by index, not by string key.
  const index = new Map<string, number>();
  graph.nodes.forEach((n, i) => index.set(n.id, i));
  const outs: (Shape[] | null)[] = new Array(graph.nodes.length).fill(null);
  const shapeAt = (t: TensorRef): Shape | null => {
    const i = index.get(t.node);
    return (i === undefined ? null : outs[i]?.[t.index]) ?? null;
  };

  for (const layer of graph.layers) {
    if (layer.subgraph) {
      const sub = analyzeGraph(doc, layer.subgraph, [...scope, layer.name]);
      a.nested.set(layer.name, sub);
      a.unknownLayers.push(...sub.unknownLayers);
      a.problems.push(...sub.problems);
    }
  }

  graph.nodes.forEach((node, n) => {
    const layer = layers.get(node.layer)!;
    const inputs = node.inputs.map(shapeAt);
    for (const t of node.inputs) {
      const dangling = missingTensor(a, t);
      if (!dangling) continue;
      a.problems.push(new ModelError(`layer '${layer.name}' (${layer.sourceClassName}) call ${node.callIndex}: ${dangling}`, locate(doc, node.path ?? layer.path)));
      break;
    }
    let shapes: Shape[] | null = null;
    let params: ParamCount | null = null;
    let note: string | undefined;
    const sub = a.nested.get(layer.name);
    if (sub) {
      shapes = sub.graph.outputs.map((t) => sub.shapes.get(t.node)?.[t.index] ?? null).every((s) => s) ? sub.graph.outputs.map((t) => sub.shapes.get(t.node)![t.index]!) : null;
      params = sub.unknownLayers.length ? null : sub.params;
      if (!params) note = 'contains layers of unknown class';
    } else {
      const spec = specOf(layer.className);
      if (!spec) {
        note = `unknown layer class '${layer.sourceClassName}'`;
        if (node.callIndex === 0) a.unknownLayers.push({ name: layer.name, className: layer.sourceClassName, scope });
      } else if (inputs.some((s) => s === null)) {
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
    a.shapes.set(node.id, shapes);
    outs[n] = shapes;
    // Weights belong to the layer: count them at its first call only (shared layers reuse them).
    if (node.callIndex === 0) {
      if (params && !layer.trainable) {
        params = { trainable: 0, nonTrainable: params.trainable + params.nonTrainable };
      }
      a.layers.set(layer.name, note === undefined ? { layer, params } : { layer, params, note });
      if (params) {
        a.params.trainable += params.trainable;
        a.params.nonTrainable += params.nonTrainable;
      }
    }
  });
  for (const t of graph.outputs) {
    const dangling = missingTensor(a, t);
    if (!dangling) continue;
    const producer = layers.get(graph.nodes[index.get(t.node) ?? -1]?.layer ?? '');
    // The producer's path is [..., 'config', 'layers', i]: the outputs are listed beside its layers.
    a.problems.push(new ModelError(`model output: ${dangling}`, locate(doc, producer ? [...producer.path.slice(0, -2), 'output_layers'] : [])));
  }
  for (const layer of graph.layers) {
    if (!a.layers.has(layer.name)) a.layers.set(layer.name, { layer, params: null, note: 'never called in the graph' });
  }
  leaveOutDeadLayers(doc, a, index);
  return a;
}

/**
 * Keras and TF.js build a functional model from the calls between its inputs and outputs: a layer none of
 * whose calls leads to an output is not part of it. Its weights leave the totals, and it is a located
 * problem (the file says more than the model has), so the totals match what Keras and TF.js count.
 */
function leaveOutDeadLayers(doc: ModelDocument, a: GraphAnalysis, index: Map<string, number>): void {
  const nodes = a.graph.nodes;
  const live = new Uint8Array(nodes.length);
  const stack: number[] = [];
  const reach = (t: TensorRef): void => {
    const k = index.get(t.node);
    if (k !== undefined && !live[k]) {
      live[k] = 1;
      stack.push(k);
    }
  };
  a.graph.outputs.forEach(reach);
  while (stack.length) nodes[stack.pop()!]!.inputs.forEach(reach);
  const called = new Set<string>();
  const liveLayers = new Set<string>();
  nodes.forEach((n, i) => {
    called.add(n.layer);
    if (live[i]) liveLayers.add(n.layer);
  });
  for (const layer of a.graph.layers) {
    if (layer.className === 'InputLayer' || !called.has(layer.name) || liveLayers.has(layer.name)) continue;
    const info = a.layers.get(layer.name)!;
    const weights = info.params ? info.params.trainable + info.params.nonTrainable : 0;
    if (info.params) {
      a.params.trainable -= info.params.trainable;
      a.params.nonTrainable -= info.params.nonTrainable;
    }
    a.layers.set(layer.name, { layer, params: null, note: 'leads to no model output: not part of the model' });
    const uncounted = weights ? ` (its ${weights.toLocaleString('en-US')} weights are not counted)` : '';
    a.problems.push(new ModelError(`layer '${layer.name}' (${layer.sourceClassName}) leads to no model output: Keras and TF.js leave it out of the model${uncounted}`, locate(doc, layer.path)));
  }
}

/**
 * Why tensor `t` does not exist, when its call's outputs are known: a reference to output 99 of a one-output
 * layer must not pass as an unknown shape (the counts after it would silently drop out of the total).
 */
function missingTensor(a: GraphAnalysis, t: TensorRef): string | undefined {
  const outs = a.shapes.get(t.node);
  if (!outs || t.index < outs.length) return undefined;
  return `it reads tensor ${t.index} of '${t.node}', which has ${outs.length === 1 ? 'one output (tensor 0)' : `${outs.length} outputs (tensors 0 to ${outs.length - 1})`}`;
}

export const totalParams = (p: ParamCount): number => p.trainable + p.nonTrainable;

/** Output shape of a tensor, looked up in an analysis. */
export function shapeOf(a: GraphAnalysis, t: { node: string; index: number }): Shape | null {
  return a.shapes.get(t.node)?.[t.index] ?? null;
}
