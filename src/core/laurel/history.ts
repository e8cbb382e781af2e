import type { ResidualSite } from '../analysis/residuals';
import type { ModelGraph } from '../ir';

/**
 * PA's x_{i-1} ... x_{i-count}: the shortcut inputs (residual-stream states) of the closest earlier sites in
 * the same graph whose shape equals this site's. Earlier states of another shape (an earlier stage of a
 * conv net) cannot be added, so they are skipped (laurel-method §8.5); a short history is allowed (§8.3).
 */
export function previousActivations(site: ResidualSite, sites: ResidualSite[], graph: ModelGraph, count: number): { layer: string; callIndex: number; index: number }[] {
  return earlierSameShape(site, sites)
    .reverse()
    .slice(0, Math.max(0, count))
    .map((s) => {
      const n = graph.nodes.find((x) => x.id === s.shortcut.node)!;
      return { layer: n.layer, callIndex: n.callIndex, index: s.shortcut.index };
    });
}


/** What the history needs of a site: where it sits and its shape. */
export type HistorySite = Pick<ResidualSite, 'scope' | 'shape'>;

/** The earlier sites (in `sites` order) of the same graph whose shape equals `site`'s: its possible PA history. */
export function earlierSameShape<S extends HistorySite>(site: S, sites: readonly S[]): S[] {
  const key = JSON.stringify(site.shape);
  const scope = site.scope.join('/');
  return sites.slice(0, sites.indexOf(site)).filter((s) => s.scope.join('/') === scope && JSON.stringify(s.shape) === key);
}

/** PA terms that exist at a site for look-back k: x_i itself and up to k−1 earlier activations (§8.3). */
export function paTermsAt<S extends HistorySite>(site: S, sites: readonly S[], k: number): number {
  return Math.min(k, 1 + earlierSameShape(site, sites).length);
}
