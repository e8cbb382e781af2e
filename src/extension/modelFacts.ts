/**
 * Facts about an opened model that the lenses, pickers and commands share: where each residual's layer
 * object is in the model text, the plan the file holds now, what a choice would add. Pure: no `vscode`.
 */
import type { ResidualSite } from '../core/analysis/residuals';
import { costPlan } from '../core/laurel/planCost';
import type { PlanCost } from '../core/laurel/planCost';
import { capRank, usesRank } from '../core/laurel/variants';

export { capRank, usesRank };
import type { VariantChoice } from '../core/laurel/variants';
import { nodeAt } from '../core/locate';
import type { OpenModel } from '../core/model';
import type { TextSpan } from './textPositions';
import { layerSpan } from './unknownLayers';

/** The span of a residual's merge layer object ({class_name, config, ...}) in the model text. */
export function siteSpan(m: OpenModel, site: ResidualSite): TextSpan | undefined {
  return layerSpan(m, site.scope, site.merge);
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

/** The sites (by id) where `choice` would be capped, with the rank each gets. */
export function rankCaps(m: OpenModel, choice: VariantChoice, siteIds?: readonly string[]): { siteId: string; width: number; rank: number }[] {
  const ids = new Set(siteIds ?? m.sites.map((s) => s.id));
  return m.sites
    .filter((s) => ids.has(s.id) && s.width !== null && capRank(choice, s.width) !== choice)
    .map((s) => ({ siteId: s.id, width: s.width!, rank: capRank(choice, s.width).options.rank }));
}

/** 'r=16 ≥ D at 2 residuals (D=8, 9): r=4 there'; '' when nothing is capped. */
export function capText(choice: VariantChoice, caps: ReturnType<typeof rankCaps>): string {
  if (!caps.length) return '';
  const widths = [...new Set(caps.map((c) => c.width))].sort((a, b) => a - b);
  const ranks = [...new Set(caps.map((c) => c.rank))].sort((a, b) => a - b);
  return `r=${choice.options.rank} ≥ D at ${caps.length} residual${caps.length === 1 ? '' : 's'} (D=${widths.join(', ')}): capped to r=${ranks.join('/')} (⌊D/2⌋) there`;
}

/** The cost if `choice` (rank-capped per site) replaced the current variant at `siteIds` (every site when omitted). */
export function costWith(m: OpenModel, choice: VariantChoice, siteIds?: readonly string[]): PlanCost {
  const ids = new Set(siteIds ?? m.sites.map((s) => s.id));
  return costPlan(m.sites, new Map(m.sites.map((s) => [s.id, ids.has(s.id) ? capRank(choice, s.width) : s.current])), m.params.total);
}

/** Added parameters of a plan compared with what the file holds now. */
export function deltaParams(m: OpenModel, plan: PlanCost): number {
  return plan.addedParams - currentCost(m).addedParams;
}
