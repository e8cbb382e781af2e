import type { GraphAnalysis } from '../core/analysis/analyze';
import type { Shape } from '../core/ir';
import { layerByName } from '../core/ir';
import { costPlan, paTermsOf } from '../core/laurel/planCost';
import { DEFAULT_OPTIONS, variantLabel } from '../core/laurel/variants';
import type { VariantOptions } from '../core/laurel/variants';
import type { OpenModel } from '../core/model';
import { unknownLayerText } from './unknownLayers';
import type { GraphEdge, GraphNode, GraphSite, GraphSnapshot } from '../protocol/webviewProtocol';

// Pure: the panel sends this over postMessage and the tests run it in plain Node, so no `vscode` here.

/** '(?, 56, 56, 256)'; '?' for a shape that could not be inferred. */
export function shapeText(shape: Shape | null | undefined): string {
  return shape ? `(${shape.map((d) => (d === null ? '?' : String(d))).join(', ')})` : '?';
}

/** Edge id of input `index` of node `to`: the shortcut edge of a site is `edgeId(site.id, site.shortcutIndex)`. */
export const edgeId = (to: string, index: number): string => `${to}:in${index}`;

const baseName = (file: string): string => file.split(/[\\/]/).pop() || file;

/**
 * A snapshot as the webview receives it: UTF-8 JSON. VS Code's postMessage moves bytes as a buffer, where a
 * JSON text would be escaped into the message's own JSON on the host's thread (12 MB: ~300 ms measured).
 */
export const snapshotBytes = (g: GraphSnapshot): Uint8Array => new TextEncoder().encode(JSON.stringify(g));

/**
 * The graph view's picture of an analysed model: calls, tensors, residual sites and their prices.
 * `options` are what a switch applies besides the menu's rank and k (pass the user's settings).
 */
export function graphSnapshot(m: OpenModel, options: VariantOptions = DEFAULT_OPTIONS): GraphSnapshot {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  walk(m.analysis, [], undefined, nodes, edges);

  const nodeIds = new Set(nodes.map((n) => n.id));
  const plan = costPlan(m.sites, new Map(), m.params.total);
  const base = plan.baseParams;
  const sites: GraphSite[] = m.sites.map((s) => {
    // No per-variant prices: the menu prices each row live from the width and the PA terms (webview/format.ts).
    return {
      id: s.id,
      merge: s.merge,
      node: s.id,
      edge: edgeId(s.id, s.shortcutIndex),
      width: s.width,
      kind: s.shortcutKind,
      current: { variant: s.current.variant, rank: s.current.options.rank, k: s.current.options.k, label: variantLabel(s.current) },
      paTerms: paTermsOf(s, m.sites, { variant: 'pa', options: { ...options, k: Number.MAX_SAFE_INTEGER } }),
      // branchLayers names layers; their first calls are the nodes (a shared layer's later call is not folded).
      branchNodes: s.branchLayers.map((l) => [...s.scope, l].join('/')).filter((id) => nodeIds.has(id)),
    };
  });
  // A '?' says why: the layers of unknown class the missing count follows from.
  if (m.analysis.unknownLayers.length) {
    const culprits = `layers of unknown class: ${unknownLayerText(m.analysis.unknownLayers)}`;
    for (const n of nodes) if (n.params === null && !n.note?.startsWith('unknown layer class')) n.note = `${n.note ?? 'parameters unknown'} (${culprits})`;
  }
  const siteByNode = new Map(sites.map((s) => [s.node, s]));
  for (const n of nodes) {
    const s = siteByNode.get(n.id);
    if (s) n.residualSite = s.id;
  }
  const shortcutEdges = new Map(sites.map((s) => [s.edge, s.id]));
  for (const e of edges) {
    const s = shortcutEdges.get(e.id);
    if (s) e.residual = s;
  }

  const doc = m.doc;
  return {
    title: baseName(doc.fileName),
    name: doc.graph.name,
    format: doc.container === 'plain' ? doc.format : `${doc.format} (${doc.container})`,
    params: { ...m.params },
    lowerBound: m.analysis.unknownLayers.length > 0,
    nodes,
    edges,
    sites,
    options: { ...options },
    planDelta: { baseParams: base, addedParams: plan.addedParams, percent: plan.percent, switched: m.sites.filter((s) => s.current.variant !== 'plain').length },
    problems: m.analysis.problems.map((p) => p.message),
  };
}

const MAX_VALUE_CHARS = 160;
const MAX_KEYS = 40;

/** A layer's config for the properties panel: every key but the name, each value as compact JSON, cut short. */
export function configPairs(config: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(config)) {
    if (k === 'name' || v === undefined) continue;
    if (out.length === MAX_KEYS) {
      out.push(['…', `${Object.keys(config).length - 1 - MAX_KEYS} more keys`]);
      break;
    }
    const text = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
    out.push([k, text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text]);
  }
  return out;
}

/** Calls of one graph, then (right after its call node) the calls of each nested model as a group. */
function walk(a: GraphAnalysis, scope: string[], parent: string | undefined, nodes: GraphNode[], edges: GraphEdge[]): void {
  const layers = layerByName(a.graph);
  const scoped = (id: string): string => [...scope, id].join('/');
  for (const call of a.graph.nodes) {
    const layer = layers.get(call.layer)!;
    const info = a.layers.get(call.layer);
    const first = call.callIndex === 0;
    // Weights belong to the layer: a later call of a shared layer adds none.
    const p = first ? info?.params ?? null : { trainable: 0, nonTrainable: 0 };
    const shapes = a.shapes.get(call.id);
    const id = scoped(call.id);
    const nested = first ? a.nested.get(layer.name) : undefined;
    const node: GraphNode = {
      id,
      layer: layer.name,
      className: layer.className,
      outputShape: shapes ? shapes.map(shapeText).join(' | ') : '?',
      params: p ? p.trainable + p.nonTrainable : null,
      trainable: p ? p.trainable : null,
      nonTrainable: p ? p.nonTrainable : null,
    };
    if (parent !== undefined) node.parent = parent;
    if (nested) node.group = true;
    if (first && info?.note !== undefined) node.note = info.note;
    if (first) node.config = configPairs(layer.config);
    nodes.push(node);
    call.inputs.forEach((t, i) => {
      edges.push({ id: edgeId(id, i), from: scoped(t.node), to: id, shape: shapeText(a.shapes.get(t.node)?.[t.index]) });
    });
    if (nested) walk(nested, [...scope, layer.name], id, nodes, edges);
  }
}
