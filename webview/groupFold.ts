// Folding nested groups (the nn.Module calls of a .py model): a folded group is drawn as one box, its edges
// to the outside end at that box. DOM-free (tested in Node).
import type { GraphEdge, GraphNode, GraphSnapshot } from '../src/protocol/webviewProtocol';

/** The groups folded now: those the snapshot folds at first, with the user's toggles applied. */
export function foldedGroups(g: GraphSnapshot, toggled: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const n of g.nodes) if (n.group && !!n.folded !== toggled.has(n.id)) out.add(n.id);
  return out;
}

/** The box that shows node `id` when `folded` groups are folded: its outermost folded ancestor, or itself. */
export function visibleBox(byId: ReadonlyMap<string, GraphNode>, folded: ReadonlySet<string>, id: string): string {
  let shown = id;
  for (let p: string | undefined = id; p !== undefined; p = byId.get(p)?.parent) if (folded.has(p)) shown = p;
  return shown;
}

/**
 * The snapshot with every folded group as one box (its name, class and parameters; its output shape and the
 * residuals inside on the third line). A residual edge whose merge is folded away becomes a plain edge there.
 */
export function foldGroups(g: GraphSnapshot, folded: ReadonlySet<string>): GraphSnapshot {
  if (folded.size === 0) return g;
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const shown = new Map(g.nodes.map((n) => [n.id, visibleBox(byId, folded, n.id)]));
  const residualsIn = new Map<string, Set<string>>();
  for (const n of g.nodes) {
    const box = shown.get(n.id)!;
    if (n.residualSite && box !== n.id) residualsIn.set(box, (residualsIn.get(box) ?? new Set()).add(n.residualSite));
  }
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const outShape = new Map<string, string>();
  const seen = new Set<string>();
  for (const e of g.edges) {
    const from = shown.get(e.from) ?? e.from;
    const to = shown.get(e.to) ?? e.to;
    if (from === to) continue; // inside a folded group
    if (from !== e.from && !outShape.has(from)) outShape.set(from, e.shape);
    if (e.residual && to === e.to) {
      edges.push(from === e.from ? e : { ...e, from });
      continue;
    }
    const key = `${from}->${to}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const plain: GraphEdge = from === e.from && to === e.to ? { ...e } : { ...e, id: `${e.id}~`, from, to };
    delete plain.residual;
    edges.push(plain);
  }
  for (const n of g.nodes) {
    const box = shown.get(n.id)!;
    if (box !== n.id) continue;
    if (!folded.has(n.id)) {
      nodes.push(n);
      continue;
    }
    const sites = residualsIn.get(n.id);
    const lines = new Set(n.lines ?? []);
    for (const m of g.nodes) if (shown.get(m.id) === n.id) for (const l of m.lines ?? []) lines.add(l);
    const box1: GraphNode = { ...n, outputShape: `${outShape.get(n.id) ?? '?'}${sites ? ` · residual ${[...sites].join(', ')}` : ''}`, folded: true, lines: [...lines].sort((a, b) => a - b) };
    delete box1.group;
    if (sites) box1.note = `${n.note ? `${n.note}; ` : ''}folded; residual lines inside: ${[...sites].join(', ')} (double-click to unfold)`;
    else box1.note = `${n.note ? `${n.note}; ` : ''}folded (double-click to unfold)`;
    nodes.push(box1);
  }
  return { ...g, nodes, edges };
}
