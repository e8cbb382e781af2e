import type { ResidualSite } from '../analysis/residuals';
import type { ModelGraph } from '../ir';

/**
 * PA's x_{i-1} ... x_{i-count}: the shortcut inputs (residual-stream states) of the closest earlier sites in
 * the same graph whose shape equals this site's. Earlier states of another shape (an earlier stage of a
 * conv net) cannot be added, so they are skipped (laurel-method §8.5); a short history is allowed (§8.3).
 */
export function previousActivations(site: ResidualSite, sites: ResidualSite[], graph: ModelGraph, count: number): { layer: string; callIndex: number; index: number }[] {
  const key = JSON.stringify(site.shape);
  const earlier = sites.slice(0, sites.indexOf(site)).filter((s) => s.scope.join('/') === site.scope.join('/') && JSON.stringify(s.shape) === key);
  return earlier
    .reverse()
    .slice(0, Math.max(0, count))
    .map((s) => {
      const n = graph.nodes.find((x) => x.id === s.shortcut.node)!;
      return { layer: n.layer, callIndex: n.callIndex, index: s.shortcut.index };
    });
}

