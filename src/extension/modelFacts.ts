/**
 * Facts about an opened model that the lenses, pickers and commands share: where each residual's layer
 * object is in the model text, the plan the file holds now, what a choice would add. Pure: no `vscode`.
 */
import type { ResidualSite } from '../core/analysis/residuals';
import { layerByName } from '../core/ir';
import type { ModelGraph } from '../core/ir';
import { costPlan } from '../core/laurel/planCost';
import type { PlanCost } from '../core/laurel/planCost';
import type { VariantChoice } from '../core/laurel/variants';
import { nodeAt } from '../core/locate';
import type { OpenModel } from '../core/model';

export interface TextSpan {
  offset: number;
  length: number;
}

function graphOf(g: ModelGraph, scope: string[]): ModelGraph | undefined {
  let cur: ModelGraph | undefined = g;
  for (const name of scope) cur = cur && layerByName(cur).get(name)?.subgraph;
  return cur;
}

/** The span of a residual's merge layer object ({class_name, config, ...}) in the model text. */
export function siteSpan(m: OpenModel, site: ResidualSite): TextSpan | undefined {
  const layer = graphOf(m.doc.graph, site.scope)?.layers.find((l) => l.name === site.merge);
  const node = layer && nodeAt(m.doc, layer.path);
  return node ? { offset: node.offset, length: node.length } : undefined;
}

/** The span of the model object itself. */
export function modelSpan(m: OpenModel): TextSpan {
  const node = nodeAt(m.doc, m.doc.modelPath);
  return node ? { offset: node.offset, length: node.length } : { offset: 0, length: m.doc.text.length };
}

/** The innermost residual whose layer object contains a model-text offset (the cursor). */
export function siteAtOffset(m: OpenModel, offset: number): ResidualSite | undefined {
  let best: { site: ResidualSite; length: number } | undefined;
  for (const site of m.sites) {
    const span = siteSpan(m, site);
    if (span && offset >= span.offset && offset <= span.offset + span.length && (!best || span.length < best.length)) {
      best = { site, length: span.length };
    }
  }
  return best?.site;
}

/** What the file holds now: each site's current variant, costed against the plain model. */
export function currentCost(m: OpenModel): PlanCost {
  return costPlan(m.sites, new Map(m.sites.map((s) => [s.id, s.current])), m.params.total);
}

/** The cost if `choice` replaced the current variant at `siteIds` (every site when omitted). */
export function costWith(m: OpenModel, choice: VariantChoice, siteIds?: readonly string[]): PlanCost {
  const ids = new Set(siteIds ?? m.sites.map((s) => s.id));
  return costPlan(m.sites, new Map(m.sites.map((s) => [s.id, ids.has(s.id) ? choice : s.current])), m.params.total);
}

/** Added parameters of a plan compared with what the file holds now. */
export function deltaParams(m: OpenModel, plan: PlanCost): number {
  return plan.addedParams - currentCost(m).addedParams;
}
