/**
 * Layers of a class LAuReL does not know (custom layers, Keras 3 layers the catalog lacks): what the lens,
 * the Residuals view, the diagnostics and the hover say about them. Pure: no `vscode` (unit-tested).
 */
import type { UnknownLayer } from '../core/analysis/analyze';
import type { Layer, ModelGraph } from '../core/ir';
import { layerByName } from '../core/ir';
import { nodeAt } from '../core/locate';
import type { OpenModel } from '../core/model';
import type { TextSpan } from './textPositions';

const qualified = (u: { name: string; scope: string[] }): string => [...u.scope, u.name].join('/');

/** 'encoder (MyEncoder), decoder (MyDecoder)', at most `max` named, then 'and N more'. */
export function unknownLayerText(unknown: readonly UnknownLayer[], max = 4): string {
  const named = unknown.slice(0, max).map((u) => `${qualified(u)} (${u.className})`);
  return unknown.length > max ? `${named.join(', ')} and ${unknown.length - max} more` : named.join(', ');
}

/** Layers by name, once per graph (the lenses look up every residual's layer: a search each would be quadratic). */
const byName = new WeakMap<ModelGraph, Map<string, Layer>>();
function layersOf(g: ModelGraph): Map<string, Layer> {
  if (!byName.has(g)) byName.set(g, layerByName(g));
  return byName.get(g)!;
}

function graphOf(g: ModelGraph, scope: readonly string[]): ModelGraph | undefined {
  let cur: ModelGraph | undefined = g;
  for (const name of scope) cur = cur && layersOf(cur).get(name)?.subgraph;
  return cur;
}

/** The span of a layer object ({class_name, config, ...}) in the model text, by scope and name. */
export function layerSpan(m: OpenModel, scope: readonly string[], name: string): TextSpan | undefined {
  const g = graphOf(m.doc.graph, scope);
  const layer = g && layersOf(g).get(name);
  const node = layer && nodeAt(m.doc, layer.path);
  return node ? { offset: node.offset, length: node.length } : undefined;
}

/**
 * The span of layer `name`: in nested model `scope` when given, else the first layer of that name from the
 * top graph down, nested models in order (how a graph view names a layer it shows).
 */
export function findLayerSpan(m: OpenModel, name: string, scope?: readonly string[]): TextSpan | undefined {
  if (scope) return layerSpan(m, scope, name);
  const find = (g: ModelGraph): Layer | undefined => layersOf(g).get(name) ?? g.layers.reduce<Layer | undefined>((hit, l) => hit ?? (l.subgraph && find(l.subgraph)), undefined);
  const layer = find(m.doc.graph);
  const node = layer && nodeAt(m.doc, layer.path);
  return node ? { offset: node.offset, length: node.length } : undefined;
}

export interface UnknownLayerProblem {
  layer: string;
  className: string;
  /** Where the layer object is in the model text; undefined when it could not be found. */
  span: TextSpan | undefined;
  message: string;
}

/** One warning per layer of unknown class, naming class and layer and what it costs the analysis. */
export function unknownLayerProblems(m: OpenModel): UnknownLayerProblem[] {
  return m.analysis.unknownLayers.map((u) => ({
    layer: qualified(u),
    className: u.className,
    span: layerSpan(m, u.scope, u.name),
    message:
      `Layer '${qualified(u)}' has class '${u.className}', which LAuReL does not know (a custom layer?): its parameters and ` +
      `output shape are unknown, so are the shapes and counts after it, and residual connections inside it cannot be seen.`,
  }));
}

/**
 * Why a layer's parameter count is unknown ('?'), for a hover over that layer: the analysis note, and the
 * layers of unknown class that caused it. Undefined when the layer's count is known or no layer is there.
 */
export function unknownCountAt(m: OpenModel, offset: number): { span: TextSpan; text: string } | undefined {
  let best: { span: TextSpan; text: string } | undefined;
  const visit = (g: ModelGraph, scope: string[]): void => {
    for (const layer of g.layers) {
      if (layer.subgraph) visit(layer.subgraph, [...scope, layer.name]);
      const span = layerSpan(m, scope, layer.name);
      if (!span || offset < span.offset || offset > span.offset + span.length || (best && best.span.length <= span.length)) continue;
      const info = nestedAnalysis(m, scope)?.layers.get(layer.name);
      if (!info || info.params !== null) continue;
      const culprits = m.analysis.unknownLayers.length ? ` Layers of unknown class in this model: ${unknownLayerText(m.analysis.unknownLayers)}.` : '';
      best = { span, text: `${qualified({ name: layer.name, scope })}: parameters ? (unknown): ${info.note ?? 'not analysed'}.${culprits}` };
    }
  };
  visit(m.doc.graph, []);
  return best;
}

function nestedAnalysis(m: OpenModel, scope: readonly string[]): OpenModel['analysis'] | undefined {
  let a: OpenModel['analysis'] | undefined = m.analysis;
  for (const name of scope) a = a?.nested.get(name);
  return a;
}
