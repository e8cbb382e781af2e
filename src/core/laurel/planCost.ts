import type { ResidualSite } from '../analysis/residuals';
import { instanceCost, variantLabel } from './variants';
import type { InstanceCost, VariantChoice } from './variants';

export interface SiteCost extends InstanceCost {
  site: string;
  merge: string;
  width: number | null;
  choice: VariantChoice;
  label: string;
  /** params / plain-model params × 100. */
  percent: number;
  /** Per example: per-position figures × positions (null when a spatial size is free). */
  macs: number | null;
  activations: number | null;
}

export interface PlanCost {
  /** Parameters of the model with every residual plain. */
  baseParams: number;
  addedParams: number;
  percent: number;
  macs: number | null;
  activations: number | null;
  sites: SiteCost[];
  /** Sites whose width is unknown, so their cost could not be counted. */
  uncounted: string[];
}

/** What pricing needs of a site (a .py model passes one per instance of a line, all with the line's id). */
export type CostSite = Pick<ResidualSite, 'id' | 'merge' | 'width' | 'positions' | 'current'>;

/**
 * What a set of choices adds to the plain model. `modelParams` is the model as analysed (which may
 * already hold LAuReL layers); their current cost is taken off to get the plain base.
 */
export function costPlan(sites: CostSite[], choices: Map<string, VariantChoice>, modelParams: number): PlanCost {
  const current = sites.reduce((sum, s) => sum + (s.width === null ? 0 : instanceCost(s.current, s.width).params), 0);
  const baseParams = modelParams - current;
  const pct = (n: number): number => (baseParams > 0 ? (n / baseParams) * 100 : 0);
  const out: PlanCost = { baseParams, addedParams: 0, percent: 0, macs: 0, activations: 0, sites: [], uncounted: [] };
  for (const s of sites) {
    const choice = choices.get(s.id) ?? s.current;
    if (s.width === null) {
      if (choice.variant !== 'plain') out.uncounted.push(s.id);
      continue;
    }
    const c = instanceCost(choice, s.width);
    const macs = s.positions === null ? null : c.macsPerPosition * s.positions;
    const activations = s.positions === null ? null : c.activationsPerPosition * s.positions;
    out.sites.push({ site: s.id, merge: s.merge, width: s.width, choice, label: variantLabel(choice), ...c, percent: pct(c.params), macs, activations });
    out.addedParams += c.params;
    out.macs = out.macs === null || macs === null ? (c.macsPerPosition ? null : out.macs) : out.macs + macs;
    out.activations = out.activations === null || activations === null ? (c.activationsPerPosition ? null : out.activations) : out.activations + activations;
  }
  out.percent = pct(out.addedParams);
  return out;
}
