// The graph's geometry: node sizes from their text, then ELK's layered algorithm (top to bottom, orthogonal
// edges). DOM-free on purpose, so the layout smoke test runs this very code in Node.
import type { GraphNode, GraphSnapshot } from '../src/protocol/webviewProtocol';
import { formatCount } from './format';

/** Width in pixels of a line of text; `bold` for the node's name. */
export type Measure = (text: string, bold: boolean) => number;

// The subset of elkjs's JSON graph used here (elkjs/lib/elk-api.d.ts), declared locally so the root
// typecheck and the Node tests do not depend on elkjs's typings.
interface ElkPoint {
  x: number;
  y: number;
}
export interface ElkLabel {
  id?: string;
  text?: string;
  width?: number;
  height?: number;
  x?: number;
  y?: number;
}
export interface ElkExtendedEdge {
  id: string;
  sources: string[];
  targets: string[];
  labels?: ElkLabel[];
  layoutOptions?: Record<string, string>;
  sections?: { startPoint: ElkPoint; endPoint: ElkPoint; bendPoints?: ElkPoint[] }[];
}
export interface ElkNode {
  id: string;
  x?: number;
  y?: number;
  width?: number;
  height?: number;
  layoutOptions?: Record<string, string>;
  children?: ElkNode[];
  edges?: ElkExtendedEdge[];
  ports?: { id: string; x: number; y: number; width: number; height: number; layoutOptions?: Record<string, string> }[];
}
/** What layoutGraph needs of an ELK instance (`new ELK()` from elkjs/lib/elk.bundled.js). */
export interface ElkLike {
  layout(graph: ElkNode): Promise<ElkNode>;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface NodeLayout extends Box {
  node: GraphNode;
  /** The text lines drawn in the box: name, class · params, output shape (groups: name and class only). */
  lines: string[];
}

export interface EdgeLayout {
  id: string;
  /** The route, absolute, start to end, bends in between. */
  points: Point[];
  /** Where the edge's label sits (absolute), when labels were laid out: ELK keeps the room for it free of nodes. */
  label?: Box & { text: string };
}

export interface LayoutOptions {
  /** Write each tensor's shape on its edge (a residual edge that is switched carries its variant too). */
  edgeShapes?: boolean;
}

/**
 * The text on an edge: its shape when shapes are shown, a switched residual's variant always (so ELK keeps
 * room for it free of boxes and of other labels); undefined for none.
 */
export function edgeLabelText(shape: string | undefined, variant: string | undefined, shapes: boolean): string | undefined {
  const s = shapes && shape ? shape : undefined;
  return variant && s ? `${variant} · ${s}` : variant ?? s;
}

export const EDGE_LABEL = { height: 16, padX: 5 } as const;

export interface GraphLayout {
  nodes: Map<string, NodeLayout>;
  edges: Map<string, EdgeLayout>;
  width: number;
  height: number;
}

export const NODE = { lineHeight: 16, padX: 10, padY: 7, minWidth: 120, maxWidth: 300, groupTop: 40, groupPad: 14 } as const;

/** The three lines a node box shows. */
export function nodeLines(n: GraphNode): string[] {
  const params = n.params === null ? '? params' : n.params === 0 ? 'no params' : `${formatCount(n.params)} params`;
  return n.group ? [n.layer, `${n.className} · ${params}`] : [n.layer, `${n.className} · ${params}`, n.outputShape];
}

/** Cuts a line to fit `max` pixels, with an ellipsis. */
export function fit(text: string, max: number, bold: boolean, measure: Measure): string {
  if (measure(text, bold) <= max) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (measure(text.slice(0, mid) + '…', bold) <= max) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo) + '…';
}

export const ROOT_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.layered.spacing.nodeNodeBetweenLayers': '28',
  'elk.spacing.nodeNode': '24',
  'elk.spacing.edgeNode': '16',
  'elk.spacing.edgeEdge': '10',
  'elk.layered.spacing.edgeNodeBetweenLayers': '14',
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  'elk.layered.nodePlacement.bk.fixedAlignment': 'BALANCED',
  'elk.layered.crossingMinimization.strategy': 'LAYER_SWEEP',
  // Fewer crossing-minimisation sweeps than the default 7: about a third less time, no visible loss on ResNet/Inception.
  'elk.layered.thoroughness': '3',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.padding': '[top=20,left=20,bottom=20,right=20]',
};

/** A box's text lines (cut to fit) and size. */
export function boxOf(n: GraphNode, measure: Measure): { lines: string[]; width: number; height: number } {
  const inner = NODE.maxWidth - 2 * NODE.padX;
  const lines = nodeLines(n).map((t, i) => fit(t, inner, i === 0, measure));
  const width = Math.min(NODE.maxWidth, Math.max(NODE.minWidth, Math.ceil(Math.max(...lines.map((t, i) => measure(t, i === 0))) + 2 * NODE.padX)));
  return { lines, width, height: lines.length * NODE.lineHeight + 2 * NODE.padY };
}

/** Lays the snapshot out with the given ELK instance (elk.bundled in both the webview and Node). */
export async function layoutGraph(elk: ElkLike, g: GraphSnapshot, measure: Measure, opts: LayoutOptions = {}): Promise<GraphLayout> {
  const lines = new Map<string, string[]>();
  const elkNodes = new Map<string, ElkNode>();
  // Edges that cross a nested model's border need one layout over all levels; flat graphs skip that cost.
  const nested = g.nodes.some((n) => n.group);
  const rootOptions: Record<string, string> = { ...ROOT_OPTIONS };
  if (nested) rootOptions['elk.hierarchyHandling'] = 'INCLUDE_CHILDREN';
  if (opts.edgeShapes || g.sites.some((s) => s.current.variant !== 'plain')) {
    rootOptions['elk.edgeLabels.placement'] = 'CENTER';
    rootOptions['elk.spacing.edgeLabel'] = '2';
  }
  const root: ElkNode = { id: '__root', layoutOptions: rootOptions, children: [], edges: [] };
  const sites = new Map(g.sites.map((s) => [s.id, s]));
  const parentOf = new Map<string, string | undefined>();
  for (const n of g.nodes) {
    parentOf.set(n.id, n.parent);
    const box = boxOf(n, measure);
    lines.set(n.id, box.lines);
    const width = box.width;
    const en: ElkNode = { id: n.id, width, height: box.height };
    if (n.group) {
      en.children = [];
      en.edges = [];
      en.layoutOptions = { 'elk.padding': `[top=${NODE.groupTop},left=${NODE.groupPad},bottom=${NODE.groupPad},right=${NODE.groupPad}]` };
      delete en.height; // sized by its content
      en.width = width;
    }
    elkNodes.set(n.id, en);
  }
  for (const n of g.nodes) {
    const container = n.parent === undefined ? root : elkNodes.get(n.parent) ?? root;
    container.children!.push(elkNodes.get(n.id)!);
  }
  // An edge lives in the lowest common ancestor of its ends; its coordinates are relative to that node.
  const ancestors = (id: string): string[] => {
    const out: string[] = [];
    for (let p = parentOf.get(id); p !== undefined; p = parentOf.get(p)) out.push(p);
    return out;
  };
  const edgeContainer = new Map<string, string | undefined>();
  for (const e of g.edges) {
    const fromUp = ancestors(e.from);
    const toUp = new Set(ancestors(e.to));
    // An edge into a group's own call (from outside) or out of it belongs above the group.
    const lca = fromUp.find((a) => toUp.has(a) && a !== e.from && a !== e.to);
    const container = lca === undefined ? root : elkNodes.get(lca)!;
    edgeContainer.set(e.id, lca);
    const ee: ElkExtendedEdge = { id: e.id, sources: [e.from], targets: [e.to] };
    if (e.residual) ee.layoutOptions = { 'elk.layered.priority.straightness': '0', 'elk.layered.priority.direction': '0' };
    else ee.layoutOptions = { 'elk.layered.priority.straightness': '10' };
    const site = e.residual ? sites.get(e.residual) : undefined;
    const variant = site && site.current.variant !== 'plain' ? site.current.label : undefined;
    const text = edgeLabelText(e.shape, variant, opts.edgeShapes === true);
    if (text !== undefined) {
      ee.labels = [{ id: `${e.id}#label`, text, width: Math.ceil(measure(text, variant !== undefined) + 2 * EDGE_LABEL.padX), height: EDGE_LABEL.height }];
    }
    container.edges!.push(ee);
  }

  const out = await elk.layout(root);

  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const nodes = new Map<string, NodeLayout>();
  const offsets = new Map<string | undefined, Point>([[undefined, { x: 0, y: 0 }]]);
  const visit = (en: ElkNode, dx: number, dy: number): void => {
    for (const c of en.children ?? []) {
      const x = dx + (c.x ?? 0);
      const y = dy + (c.y ?? 0);
      const node = byId.get(c.id);
      if (node) nodes.set(c.id, { node, x, y, width: c.width ?? 0, height: c.height ?? 0, lines: lines.get(c.id)! });
      offsets.set(c.id, { x, y });
      visit(c, x, y);
    }
  };
  visit(out, 0, 0);
  const edges = new Map<string, EdgeLayout>();
  const collect = (en: ElkNode): void => {
    for (const e of en.edges ?? []) {
      const off = offsets.get(edgeContainer.get(e.id)) ?? { x: 0, y: 0 };
      const points: Point[] = [];
      for (const s of e.sections ?? []) {
        points.push(s.startPoint, ...(s.bendPoints ?? []), s.endPoint);
      }
      const layout: EdgeLayout = { id: e.id, points: points.map((p) => ({ x: p.x + off.x, y: p.y + off.y })) };
      const lab = e.labels?.[0];
      if (lab && lab.x !== undefined && lab.y !== undefined) layout.label = { x: lab.x + off.x, y: lab.y + off.y, width: lab.width ?? 0, height: lab.height ?? 0, text: lab.text ?? '' };
      edges.set(e.id, layout);
    }
    for (const c of en.children ?? []) collect(c);
  };
  collect(out);
  return { nodes, edges, width: out.width ?? 0, height: out.height ?? 0 };
}
