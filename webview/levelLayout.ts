// Layout level by level: each open group's content is laid out on its own (its open groups first, as boxes of
// their laid-out size), and a level whose input did not change is not laid out again. Unfolding a group lays
// out that group and the levels around it (each as small as a level of a folded graph), not the whole graph,
// as ELK's one hierarchical layout of everything shown would. An edge that crosses a group's border is drawn
// in pieces that meet at a port: inside, it starts (or ends) at an invisible point on the group's first (last)
// layer; outside, at a port fixed at that point's x on the group's top (bottom) border. DOM-free.
import type { GraphSnapshot } from '../src/protocol/webviewProtocol';
import { boxOf, EDGE_LABEL, edgeLabelText, NODE, ROOT_OPTIONS } from './layout';
import type { EdgeLayout, ElkExtendedEdge, ElkLike, ElkNode, GraphLayout, LayoutOptions, Measure, NodeLayout, Point } from './layout';

type Port = { x: number; key: string };
/** One level laid out: positions relative to the level's origin. */
interface LevelResult {
  width: number;
  height: number;
  nodes: Map<string, Point>;
  /** Routes by piece id. */
  routes: Map<string, { points: Point[]; label?: { x: number; y: number; width: number; height: number } }>;
  /** Where pieces enter (from above) and leave (below), by the source they carry. */
  ins: Port[];
  outs: Port[];
}
interface Piece {
  id: string;
  from: string;
  to: string;
  residual: boolean;
  label?: { text: string; width: number };
}

const IN = '\u0000in:';
const OUT = '\u0000out:';
const port = (group: string, kind: 'i' | 'o', src: string): string => `${group}\u0000${kind}\u0000${src}`;

export class LevelLayout {
  /** Per level: the ELK input it was laid out from (as text) and the result. */
  private readonly cache = new Map<string, { key: string; result: LevelResult }>();
  /** Levels laid out by the last call (the rest came from the cache): for the status line and the tests. */
  laidOut: string[] = [];
  /** Levels of the last call. */
  levels = 0;

  async layout(elk: ElkLike, g: GraphSnapshot, measure: Measure, opts: LayoutOptions = {}): Promise<GraphLayout> {
    this.laidOut = [];
    const byId = new Map(g.nodes.map((n) => [n.id, n]));
    const kids = new Map<string | undefined, string[]>();
    for (const n of g.nodes) (kids.get(n.parent) ?? kids.set(n.parent, []).get(n.parent)!).push(n.id);
    const chain = (id: string): (string | undefined)[] => {
      const out: (string | undefined)[] = [];
      for (let p = byId.get(id)?.parent; ; p = byId.get(p)?.parent) {
        out.push(p);
        if (p === undefined) return out;
      }
    };
    // Every edge as pieces, each in the level it crosses.
    const pieces = new Map<string | undefined, Map<string, Piece>>();
    const routeOf = new Map<string, { level: string | undefined; piece: string }[]>();
    const sites = new Map(g.sites.map((s) => [s.id, s]));
    const labels = opts.edgeShapes || g.sites.some((s) => s.current.variant !== 'plain');
    const add = (level: string | undefined, p: Piece): void => {
      const m = pieces.get(level) ?? pieces.set(level, new Map()).get(level)!;
      if (!m.has(p.id)) m.set(p.id, p);
    };
    for (const e of g.edges) {
      const up = chain(e.from);
      const down = chain(e.to);
      const lca = up.find((c) => down.includes(c));
      const route: { level: string | undefined; piece: string }[] = [];
      let end = e.from;
      for (const c of up) {
        if (c === lca) break;
        const to = `${OUT}${e.from}`;
        add(c, { id: `${end}>${to}`, from: end, to, residual: false });
        route.push({ level: c, piece: `${end}>${to}` });
        end = port(c!, 'o', e.from);
      }
      const below = down.slice(0, down.indexOf(lca)).reverse(); // from the child of lca down to e.to's parent
      let level = lca;
      for (const h of below) {
        const to = port(h!, 'i', e.from);
        add(level, { id: `${end}>${to}`, from: end, to, residual: false });
        route.push({ level, piece: `${end}>${to}` });
        end = `${IN}${e.from}`;
        level = h;
      }
      const site = e.residual ? sites.get(e.residual) : undefined;
      const variant = site && site.current.variant !== 'plain' ? site.current.label : undefined;
      const text = labels ? edgeLabelText(e.shape, variant, opts.edgeShapes === true) : undefined;
      const last: Piece = { id: e.id, from: end, to: e.to, residual: !!e.residual };
      if (text !== undefined) last.label = { text, width: Math.ceil(measure(text, variant !== undefined) + 2 * EDGE_LABEL.padX) };
      add(level, last);
      route.push({ level, piece: e.id });
      routeOf.set(e.id, route);
    }

    const results = new Map<string | undefined, LevelResult>();
    const boxes = new Map<string, { lines: string[]; width: number; height: number }>();
    const levelOf = async (c: string | undefined): Promise<void> => {
      for (const k of kids.get(c) ?? []) if (kids.has(k)) await levelOf(k);
      const children: ElkNode[] = [];
      for (const id of kids.get(c) ?? []) {
        const n = byId.get(id)!;
        const box = boxOf(n, measure);
        boxes.set(id, box);
        const inner = results.get(id);
        if (!inner) {
          children.push({ id, width: box.width, height: box.height });
          continue;
        }
        // An open group: its laid-out size, its ports where its pieces meet the inside.
        const ports = [
          ...inner.ins.map((p) => ({ id: port(id, 'i', p.key), x: p.x, y: 0, width: 0, height: 0, layoutOptions: { 'elk.port.side': 'NORTH' } })),
          ...inner.outs.map((p) => ({ id: port(id, 'o', p.key), x: p.x, y: inner.height, width: 0, height: 0, layoutOptions: { 'elk.port.side': 'SOUTH' } })),
        ];
        children.push({ id, width: Math.max(box.width, inner.width), height: inner.height, ports, layoutOptions: { 'elk.portConstraints': 'FIXED_POS' } });
      }
      const edges: ElkExtendedEdge[] = [];
      const ends = new Set<string>();
      for (const p of pieces.get(c)?.values() ?? []) {
        const ee: ElkExtendedEdge = { id: p.id, sources: [p.from], targets: [p.to] };
        ee.layoutOptions = p.residual ? { 'elk.layered.priority.straightness': '0', 'elk.layered.priority.direction': '0' } : { 'elk.layered.priority.straightness': '10' };
        if (p.label) ee.labels = [{ id: `${p.id}#label`, text: p.label.text, width: p.label.width, height: EDGE_LABEL.height }];
        edges.push(ee);
        ends.add(p.from).add(p.to);
      }
      // The invisible points where pieces enter and leave this group.
      for (const id of ends) {
        if (id.startsWith(IN)) children.unshift({ id, width: 2, height: 2, layoutOptions: { 'elk.layered.layering.layerConstraint': 'FIRST_SEPARATE' } });
        else if (id.startsWith(OUT)) children.push({ id, width: 2, height: 2, layoutOptions: { 'elk.layered.layering.layerConstraint': 'LAST_SEPARATE' } });
      }
      const options: Record<string, string> = { ...ROOT_OPTIONS };
      if (c !== undefined) options['elk.padding'] = `[top=${NODE.groupTop},left=${NODE.groupPad},bottom=${NODE.groupPad},right=${NODE.groupPad}]`;
      if (labels) {
        options['elk.edgeLabels.placement'] = 'CENTER';
        options['elk.spacing.edgeLabel'] = '2';
      }
      const input: ElkNode = { id: c ?? '__root', layoutOptions: options, children, edges };
      const key = JSON.stringify(input);
      const hit = this.cache.get(c ?? '');
      if (hit?.key === key) return void results.set(c, hit.result);
      const out = await elk.layout(input);
      this.laidOut.push(c ?? '');
      const result = levelResult(out);
      this.cache.set(c ?? '', { key, result });
      results.set(c, result);
    };
    await levelOf(undefined);
    this.levels = results.size;

    // Absolute positions: each level's origin is its group's place in the level above.
    const nodes = new Map<string, NodeLayout>();
    const origin = new Map<string | undefined, Point>([[undefined, { x: 0, y: 0 }]]);
    const place = (c: string | undefined): void => {
      const o = origin.get(c)!;
      const r = results.get(c)!;
      for (const id of kids.get(c) ?? []) {
        const p = r.nodes.get(id)!;
        const inner = results.get(id);
        const box = boxes.get(id)!;
        const at = { x: o.x + p.x, y: o.y + p.y };
        nodes.set(id, { node: byId.get(id)!, ...at, width: inner ? Math.max(box.width, inner.width) : box.width, height: inner ? inner.height : box.height, lines: box.lines });
        if (inner) {
          origin.set(id, at);
          place(id);
        }
      }
    };
    place(undefined);
    const edges = new Map<string, EdgeLayout>();
    for (const [id, route] of routeOf) {
      const points: Point[] = [];
      let label: EdgeLayout['label'];
      for (const { level, piece } of route) {
        const o = origin.get(level)!;
        const r = results.get(level)!.routes.get(piece);
        if (!r) continue;
        for (const p of r.points) points.push({ x: p.x + o.x, y: p.y + o.y });
        if (r.label && piece === id) label = { x: r.label.x + o.x, y: r.label.y + o.y, width: r.label.width, height: r.label.height, text: '' };
      }
      const e: EdgeLayout = { id, points };
      if (label) {
        const p = pieces.get(route.at(-1)!.level)!.get(id)!;
        e.label = { ...label, text: p.label!.text };
      }
      edges.set(id, e);
    }
    const root = results.get(undefined)!;
    return { nodes, edges, width: root.width, height: root.height };
  }
}

function levelResult(out: ElkNode): LevelResult {
  const nodes = new Map<string, Point>();
  const ins: Port[] = [];
  const outs: Port[] = [];
  for (const c of out.children ?? []) {
    const p = { x: c.x ?? 0, y: c.y ?? 0 };
    if (c.id.startsWith(IN)) ins.push({ key: c.id.slice(IN.length), x: p.x + (c.width ?? 0) / 2 });
    else if (c.id.startsWith(OUT)) outs.push({ key: c.id.slice(OUT.length), x: p.x + (c.width ?? 0) / 2 });
    else nodes.set(c.id, p);
  }
  const routes: LevelResult['routes'] = new Map();
  for (const e of out.edges ?? []) {
    const points: Point[] = [];
    for (const s of e.sections ?? []) points.push(s.startPoint, ...(s.bendPoints ?? []), s.endPoint);
    const lab = e.labels?.[0];
    routes.set(e.id, lab && lab.x !== undefined && lab.y !== undefined ? { points, label: { x: lab.x, y: lab.y, width: lab.width ?? 0, height: lab.height ?? 0 } } : { points });
  }
  return { width: out.width ?? 0, height: out.height ?? 0, nodes, routes, ins, outs };
}
