import type { ResidualSite } from '../analysis/residuals';
import { paTermsAt } from './history';
import type { HistorySite } from './history';
import { hasPa, instanceCost, variantLabel } from './variants';
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

/**
 * What pricing needs of a site (a .py model passes one per instance of a line, all with the line's id).
 * PA is priced for the terms that exist: with `scope` and `shape` the history is counted among `sites`
 * (without them, k terms); the file's current PA layer has `inputCount` − 1 terms.
 */
export type CostSite = Pick<ResidualSite, 'id' | 'merge' | 'width' | 'positions' | 'current'> &
  Partial<Pick<ResidualSite, 'scope' | 'shape' | 'inputCount'>> & {
    /** An earlier call of the same module (a .py block called twice): its weights and PA terms, counted there. */
    shares?: CostSite;
  };

/** PA terms of `choice` at `site`: what the file holds (`current`), or what applying it would wire. */
export function paTermsOf(site: CostSite, sites: readonly CostSite[], choice: VariantChoice, current = false): number {
  const k = choice.options.k;
  if (!hasPa(choice.variant)) return k;
  if (site.shares) return paTermsOf(site.shares, sites, choice, current);
  if (current && site.inputCount !== undefined) return Math.max(1, Math.min(k, site.inputCount - 1));
  if (site.scope === undefined || site.shape === undefined) return k;
  return paTermsAt(site as HistorySite, sites as readonly HistorySite[], k);
}

/** The cost of `choice` at `site` of width D, with PA's terms as they exist there. */
export function siteCost(site: CostSite, sites: readonly CostSite[], choice: VariantChoice, D: number, current = false): InstanceCost {
  return instanceCost(choice, D, paTermsOf(site, sites, choice, current));
}

/**
 * What a set of choices adds to the plain model. `modelParams` is the model as analysed (which may
 * already hold LAuReL layers); their current cost is taken off to get the plain base.
 */
export function costPlan(sites: CostSite[], choices: Map<string, VariantChoice>, modelParams: number): PlanCost {
  const current = sites.reduce((sum, s) => sum + (s.width === null || s.shares ? 0 : siteCost(s, sites, s.current, s.width, true).params), 0);
  const baseParams = modelParams - current;
  const pct = (n: number): number => (baseParams > 0 ? (n / baseParams) * 100 : 0);
  const out: PlanCost = { baseParams, addedParams: 0, percent: 0, macs: 0, activations: 0, sites: [], uncounted: [] };
  for (const s of sites) {
    const choice = choices.get(s.id) ?? s.current;
    if (s.width === null) {
      if (choice.variant !== 'plain') out.uncounted.push(s.id);
      continue;
    }
    const own = siteCost(s, sites, choice, s.width, choice === s.current);
    const c = s.shares ? { ...own, params: 0 } : own;
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
