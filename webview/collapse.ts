// "Collapse blocks": each residual block's branch path f(x) folds into one box, so a ResNet reads as its
// chain of blocks and their shortcuts. DOM-free (tested in Node).
import type { GraphEdge, GraphNode, GraphSnapshot } from '../src/protocol/webviewProtocol';

export const COLLAPSED_PREFIX = 'collapsed:';

/**
 * The snapshot with the branch of every foldable site replaced by one node `collapsed:<site id>`. A branch
 * folds only when it is a clean single-entry single-exit region: no node of it is another site's merge
 * or already folded, and its edges to the outside go only from the fork and to the merge.
 */
export function collapseBlocks(g: GraphSnapshot, expanded: ReadonlySet<string> = new Set()): GraphSnapshot {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const merges = new Set(g.sites.map((s) => s.node));
  const owner = new Map<string, string>(); // folded node id -> summary id
  const summaries: GraphNode[] = [];
  // Edges by end, built once: per site, only the edges of its branch are looked at.
  const edgeIndex = new Map(g.edges.map((e, i) => [e, i]));
  const into = new Map<string, GraphEdge[]>();
  const outOf = new Map<string, GraphEdge[]>();
  for (const e of g.edges) {
    if (!into.has(e.to)) into.set(e.to, []);
    into.get(e.to)!.push(e);
    if (!outOf.has(e.from)) outOf.set(e.from, []);
    outOf.get(e.from)!.push(e);
  }
  for (const s of g.sites) {
    if (expanded.has(s.id) || s.branchNodes.length < 2) continue;
    const set = new Set(s.branchNodes);
    if (s.branchNodes.some((id) => merges.has(id) || owner.has(id) || byId.get(id)?.group || !byId.has(id))) continue;
    // In edge order, as a filter of g.edges would give them.
    const order = (es: GraphEdge[]): GraphEdge[] => es.sort((a, b) => edgeIndex.get(a)! - edgeIndex.get(b)!);
    const ins = order(s.branchNodes.flatMap((id) => (into.get(id) ?? []).filter((e) => !set.has(e.from))));
    const outs = order(s.branchNodes.flatMap((id) => (outOf.get(id) ?? []).filter((e) => !set.has(e.to))));
    const forks = new Set(ins.map((e) => e.from));
    if (forks.size !== 1 || outs.some((e) => e.to !== s.node)) continue;
    const members = s.branchNodes.map((id) => byId.get(id)!);
    const parent = byId.get(s.node)!.parent;
    if (members.some((m) => m.parent !== parent)) continue;
    const id = COLLAPSED_PREFIX + s.id;
    const sum = (f: (n: GraphNode) => number | null): number | null => members.reduce<number | null>((a, n) => (a === null || f(n) === null ? null : a + f(n)!), 0);
    const last = members.find((m) => outs.some((e) => e.from === m.id)) ?? members.at(-1)!;
    const node: GraphNode = {
      id,
      layer: `${s.merge} block`,
      className: `${members.length} layers`,
      outputShape: last.outputShape,
      params: sum((n) => n.params),
      trainable: sum((n) => n.trainable),
      nonTrainable: sum((n) => n.nonTrainable),
      note: members.map((m) => m.layer).join(', '),
    };
    if (parent !== undefined) node.parent = parent;
    summaries.push(node);
    for (const m of members) owner.set(m.id, id);
  }
  if (summaries.length === 0) return g;
  const summaryById = new Map(summaries.map((x) => [x.id, x]));

  const nodes: GraphNode[] = [];
  const placed = new Set<string>();
  for (const n of g.nodes) {
    const o = owner.get(n.id);
    if (o === undefined) nodes.push(n);
    else if (!placed.has(o)) {
      placed.add(o);
      nodes.push(summaryById.get(o)!);
    }
  }
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  for (const e of g.edges) {
    const from = owner.get(e.from) ?? e.from;
    const to = owner.get(e.to) ?? e.to;
    if (from === to) continue; // inside a folded branch
    // Several edges into or out of one fold become one (the residual edge always stays itself).
    const key = e.residual ? e.id : `${from}->${to}`;
    if (seen.has(key)) continue;
    seen.add(key);
    edges.push(from === e.from && to === e.to ? e : { ...e, id: owner.has(e.to) || owner.has(e.from) ? `${e.id}~` : e.id, from, to });
  }
  return { ...g, nodes, edges };
}
