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
  // One pass when groups come before what they hold (every snapshot lists them so), else a walk up per node.
  const shown = new Map<string, string>();
  for (const n of g.nodes) {
    const p = n.parent;
    const up = p === undefined ? n.id : shown.get(p);
    shown.set(n.id, up === undefined ? visibleBox(byId, folded, n.id) : p === undefined ? up : up !== p ? up : folded.has(p) ? p : n.id);
  }
  const residualsIn = new Map<string, Set<string>>();
  const linesIn = new Map<string, Set<number>>();
  for (const n of g.nodes) {
    const box = shown.get(n.id)!;
    if (!folded.has(box)) continue;
    if (n.residualSite && box !== n.id) residualsIn.set(box, (residualsIn.get(box) ?? new Set()).add(n.residualSite));
    if (n.lines) {
      const set = linesIn.get(box) ?? linesIn.set(box, new Set()).get(box)!;
      for (const l of n.lines) set.add(l);
    }
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
    const lines = linesIn.get(n.id) ?? new Set();
    // A handful are named; a run of hundreds of blocks is counted.
    const inside = sites && (sites.size <= 3 ? `residual ${[...sites].join(', ')}` : `${sites.size} residuals`);
    const box1: GraphNode = { ...n, outputShape: `${outShape.get(n.id) ?? '?'}${inside ? ` · ${inside}` : ''}`, folded: true, lines: [...lines].sort((a, b) => a - b) };
    delete box1.group;
    if (sites) box1.note = `${n.note ? `${n.note}; ` : ''}folded; ${g.origin === 'trace' ? 'residual lines' : 'residuals'} inside: ${[...sites].slice(0, 20).join(', ')}${sites.size > 20 ? ` and ${sites.size - 20} more` : ''} (double-click to unfold)`;
    else box1.note = `${n.note ? `${n.note}; ` : ''}folded (double-click to unfold)`;
    nodes.push(box1);
  }
  return { ...g, nodes, edges };
}
