// "This stage": the run of residual sites around one site whose merges output the same shape, e.g. the
// blocks of one ResNet stage between two downsamplings. Shared by the graph view's menu and the host's Residuals view.
import type { GraphSite, GraphSnapshot } from './webviewProtocol';

export function stageOf(g: GraphSnapshot, siteId: string): GraphSite[] {
  const shapeOf = new Map(g.nodes.map((n) => [n.id, n.outputShape]));
  const i = g.sites.findIndex((s) => s.id === siteId);
  if (i === -1) return [];
  const shape = shapeOf.get(g.sites[i]!.node);
  if (shape === undefined || shape === '?') return [g.sites[i]!];
  let from = i;
  let to = i;
  while (from > 0 && shapeOf.get(g.sites[from - 1]!.node) === shape) from--;
  while (to + 1 < g.sites.length && shapeOf.get(g.sites[to + 1]!.node) === shape) to++;
  return g.sites.slice(from, to + 1);
}
