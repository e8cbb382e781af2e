// SVG drawing of a laid-out graph. Every model-provided string goes in through textContent.
import type { GraphSite, GraphSnapshot } from '../src/protocol/webviewProtocol';
import { formatCount } from './format';
import { NODE } from './layout';
import type { Box, GraphLayout, Point } from './layout';

const SVG = 'http://www.w3.org/2000/svg';

export function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, parent?: Element): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  parent?.appendChild(el);
  return el;
}

export const pathData = (pts: Point[]): string => pts.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');

export interface Rendered {
  /** The residual edge groups by edge id (focusable, clickable); `dataset.site` names the site (a .py line has one edge per instance). */
  residuals: Map<string, SVGGElement>;
  /** Node groups by node id. */
  nodes: Map<string, SVGGElement>;
}

function defs(svg: SVGSVGElement): void {
  const d = svgEl('defs', {}, svg);
  for (const kind of ['plain', 'residual', 'switched', 'selected']) {
    const m = svgEl('marker', { id: `arrow-${kind}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse', markerUnits: 'userSpaceOnUse' }, d);
    svgEl('path', { d: 'M0 0 L10 5 L0 10 z', class: `arrowhead arrowhead-${kind}` }, m);
  }
}

/** A shape (or variant · shape) written on an edge, in the room ELK kept for it. */
function edgeLabel(parent: Element, box: Box & { text: string }, cls: string): void {
  const g = svgEl('g', { class: cls, transform: `translate(${box.x} ${box.y})` }, parent);
  svgEl('rect', { width: box.width, height: box.height, rx: box.height / 2 }, g);
  svgEl('text', { x: box.width / 2, y: box.height / 2 + 4, 'text-anchor': 'middle' }, g).textContent = box.text;
}

/** Draws the graph into `root` (the pan/zoom group), replacing what was there. */
export function renderGraph(svg: SVGSVGElement, root: SVGGElement, g: GraphSnapshot, l: GraphLayout): Rendered {
  if (!svg.querySelector('defs')) defs(svg);
  root.replaceChildren();
  const groups = svgEl('g', { class: 'groups' }, root);
  const edges = svgEl('g', { class: 'edges' }, root);
  const nodes = svgEl('g', { class: 'nodes' }, root);
  const residualLayer = svgEl('g', { class: 'residuals' }, root);
  const sites = new Map<string, GraphSite>(g.sites.map((s) => [s.id, s]));
  const out: Rendered = { residuals: new Map(), nodes: new Map() };

  for (const n of l.nodes.values()) {
    const grp = svgEl('g', { class: n.node.group ? 'group' : 'node', transform: `translate(${n.x} ${n.y})` }, n.node.group ? groups : nodes);
    grp.dataset.id = n.node.id;
    const cls = [n.node.group ? 'group-box' : 'node-box'];
    if (n.node.residualSite) cls.push('merge');
    if (n.node.className === 'LaurelResidual') cls.push('laurel');
    if (n.node.params === null) cls.push('unknown');
    if (n.node.id.startsWith('collapsed:') || (n.node.folded && !n.node.group)) cls.push('folded');
    svgEl('rect', { class: cls.join(' '), width: n.width, height: n.height, rx: 4 }, grp);
    n.lines.forEach((text, i) => {
      const t = svgEl('text', { x: NODE.padX, y: NODE.padY + NODE.lineHeight * i + 12, class: i === 0 ? 'name' : i === 1 ? 'cls' : 'shape' }, grp);
      t.textContent = text;
    });
    const title = svgEl('title', {}, grp);
    const p = n.node;
    title.textContent = `${p.layer} (${p.className})\noutput ${p.outputShape}\nparams ${formatCount(p.params)} (trainable ${formatCount(p.trainable)}, non-trainable ${formatCount(p.nonTrainable)})${p.note ? `\n${p.note}` : ''}`;
    out.nodes.set(p.id, grp);
  }

  for (const e of g.edges) {
    const route = l.edges.get(e.id);
    if (!route || route.points.length < 2) continue;
    if (!e.residual) {
      const path = svgEl('path', { class: 'edge', d: pathData(route.points), 'marker-end': 'url(#arrow-plain)' }, edges);
      svgEl('title', {}, path).textContent = `${e.from} → ${e.to} ${e.shape}`;
      if (route.label) edgeLabel(edges, route.label, 'edge-label');
      continue;
    }
    const site = sites.get(e.residual);
    if (!site) continue;
    const switched = site.current.variant !== 'plain';
    const grp = svgEl('g', { class: `residual${switched ? ' switched' : ''}`, tabindex: 0, role: 'button' }, residualLayer);
    grp.dataset.site = site.id;
    const width = site.widths ? [...new Set(site.widths)].join('/') : site.width ?? 'unknown';
    grp.setAttribute('aria-label', `Residual ${site.merge}: ${site.current.label}, ${site.kindText ?? site.kind} shortcut, width ${width}. Enter chooses a variant, Space selects.`);
    const d = pathData(route.points);
    svgEl('path', { class: 'residual-hit', d }, grp);
    svgEl('path', { class: 'residual-line', d, 'marker-end': `url(#arrow-${switched ? 'switched' : 'residual'})` }, grp);
    svgEl('title', {}, grp).textContent = `residual ${site.id}: ${site.current.label} · ${site.kind} shortcut ${e.from} → ${e.to} ${e.shape}`;
    // A switched edge's label was laid out by ELK (layout.ts), in room kept free of boxes and other labels.
    if (route.label) edgeLabel(grp, route.label, switched ? 'variant-label' : 'edge-label residual-shape');
    out.residuals.set(e.id, grp);
  }
  return out;
}
