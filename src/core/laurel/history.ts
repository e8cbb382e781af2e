import type { ResidualSite } from '../analysis/residuals';
import type { CallNode, ModelGraph } from '../ir';
import { hasPa } from './variants';
import type { VariantChoice } from './variants';

/** What the history needs of a site: where it sits and its shape. */
export type HistorySite = Pick<ResidualSite, 'scope' | 'shape'>;

/** Each site's same-graph, same-shape group (in `sites` order) and its place in it. */
interface Groups<S> {
  of: Map<S, { group: S[]; at: number }>;
}

/**
 * One pass over a site list, kept per list: asking for every site's history costs the list's length, not
 * its square (a 20,000-layer chain has thousands of sites of one shape).
 */
const groupCache = new WeakMap<readonly object[], Groups<object>>();

function groupsOf<S extends HistorySite>(sites: readonly S[]): Groups<S> {
  let g = groupCache.get(sites) as Groups<S> | undefined;
  // A list changed since it was grouped is grouped again.
  if (!g || g.of.size !== sites.length || g.of.get(sites[sites.length - 1]!)?.group.at(-1) !== sites[sites.length - 1]) {
    const byKey = new Map<string, S[]>();
    const of = new Map<S, { group: S[]; at: number }>();
    for (const s of sites) {
      const key = `${s.scope.join('/')}\u0000${JSON.stringify(s.shape)}`;
      let group = byKey.get(key);
      if (!group) byKey.set(key, (group = []));
      of.set(s, { group, at: group.length });
      group.push(s);
    }
    g = { of };
    groupCache.set(sites, g as Groups<object>);
  }
  return g;
}

/** The last `count` sites before `site` (in `sites` order) of its graph and shape, closest first. */
function closestEarlier<S extends HistorySite>(site: S, sites: readonly S[], count: number): S[] {
  const e = groupsOf(sites).of.get(site);
  if (!e || count <= 0) return [];
  return e.group.slice(Math.max(0, e.at - count), e.at).reverse();
}

/** How many sites before `site` share its graph and shape. */
function earlierCount<S extends HistorySite>(site: S, sites: readonly S[]): number {
  return groupsOf(sites).of.get(site)?.at ?? 0;
}

const nodeIndex = new WeakMap<ModelGraph, Map<string, CallNode>>();

/**
 * PA's x_{i-1} ... x_{i-count}: the shortcut inputs (residual-stream states) of the closest earlier sites in
 * the same graph whose shape equals this site's. Earlier states of another shape (an earlier stage of a
 * conv net) cannot be added, so they are skipped (laurel-method §8.5); a short history is allowed (§8.3).
 */
export function previousActivations(site: ResidualSite, sites: ResidualSite[], graph: ModelGraph, count: number): { layer: string; callIndex: number; index: number }[] {
  let nodes = nodeIndex.get(graph);
  if (!nodes) nodeIndex.set(graph, (nodes = new Map(graph.nodes.map((n) => [n.id, n]))));
  const byId = nodes;
  return closestEarlier(site, sites, count).map((s) => {
    const n = byId.get(s.shortcut.node)!;
    return { layer: n.layer, callIndex: n.callIndex, index: s.shortcut.index };
  });
}

/** The earlier sites (in `sites` order) of the same graph whose shape equals `site`'s: its possible PA history. */
export function earlierSameShape<S extends HistorySite>(site: S, sites: readonly S[]): S[] {
  return closestEarlier(site, sites, earlierCount(site, sites)).reverse();
}

/** PA terms that exist at a site for look-back k: x_i itself and up to k−1 earlier activations (§8.3). */
export function paTermsAt<S extends HistorySite>(site: S, sites: readonly S[], k: number): number {
  return Math.min(k, 1 + earlierCount(site, sites));
}

/** Normalisation layers a pre-norm block starts its branch with (Gemma's RMSNorm is Keras's LayerNormalization, rms_scaling included). */
const NORMS = new Set(['LayerNormalization', 'BatchNormalization', 'GroupNormalization', 'UnitNormalization', 'RMSNormalization']);

/**
 * The Gemma form's n at a pre-norm site: the output of the normalisation layer that the branch starts with, reading
 * the shortcut x itself (an identity site whose branch is norm → f). Gemma 3n reads its LAuReL block from that
 * pre-norm (laurel-method §7); null where the branch has no norm of its own (post-norm blocks, projections).
 */
export function preNormOf(site: ResidualSite, graph: ModelGraph): { layer: string; callIndex: number; index: number } | null {
  if (site.shortcutKind !== 'identity') return null;
  for (const n of readersOf(graph).get(`${site.fork.node}\u0000${site.fork.index}`) ?? []) {
    if (n.inputs.length !== 1 || !site.branchLayers.includes(n.layer)) continue;
    const layer = layerIndex(graph).get(n.layer);
    if (layer && NORMS.has(layer)) return { layer: n.layer, callIndex: n.callIndex, index: 0 };
  }
  return null;
}

/** Per graph, once: the calls reading each tensor, and each layer's class (every site's look-up is then local). */
const readers = new WeakMap<ModelGraph, Map<string, CallNode[]>>();
function readersOf(graph: ModelGraph): Map<string, CallNode[]> {
  let m = readers.get(graph);
  if (!m) {
    m = new Map();
    for (const n of graph.nodes) {
      for (const t of n.inputs) {
        const key = `${t.node}\u0000${t.index}`;
        const list = m.get(key);
        if (list) list.push(n);
        else m.set(key, [n]);
      }
    }
    readers.set(graph, m);
  }
  return m;
}
const classes = new WeakMap<ModelGraph, Map<string, string>>();
function layerIndex(graph: ModelGraph): Map<string, string> {
  let m = classes.get(graph);
  if (!m) classes.set(graph, (m = new Map(graph.layers.map((l) => [l.name, l.className]))));
  return m;
}

/** The inputs a LaurelResidual takes after f(x) and x: PA's earlier activations, the Gemma form's pre-norm n, or none. */
export function extraInputs(site: ResidualSite, sites: ResidualSite[], graph: ModelGraph, choice: VariantChoice): { layer: string; callIndex: number; index: number }[] {
  if (hasPa(choice.variant)) return previousActivations(site, sites, graph, choice.options.k - 1);
  if (choice.variant === 'gemma') {
    const n = preNormOf(site, graph);
    return n ? [n] : [];
  }
  return [];
}
