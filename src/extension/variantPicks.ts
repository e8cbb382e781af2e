/**
 * Quick-pick items for choosing a variant, each with what it would add to the model. Pure: no `vscode`.
 */
import { deltaText, thousands } from '../report/figures';
import { hasPa, VARIANTS, variantLabel } from '../core/laurel/variants';
import type { Variant, VariantChoice, VariantOptions } from '../core/laurel/variants';
import type { OpenModel } from '../core/model';
import { capText, costWith, currentCost, rankCaps, usesRank } from './modelFacts';

export interface VariantPick {
  label: string;
  description: string;
  detail: string;
  variant: Variant;
}

const DETAIL: Record<Variant, string> = {
  plain: 'y = f(x) + x: the residual as the file had it',
  rw: 'Learned weights: y = α·f(x) + β·x',
  lr: 'Low-rank: y = f(x) + x + B·A·x (rank r, B starts at zero)',
  pa: 'Previous activations: y = f(x) + x + Σ_j γ_j·h(x_{i−j}) over the last k residual inputs (j = 0 is x itself)',
  'rw+lr': 'RW and LR together: y = α·f(x) + β·(x + B·A·x)',
  'rw+pa': 'RW and PA together',
  'rw+lr+pa': 'RW, LR and PA together (per-look-back low-rank pairs, Eq. 6)',
  gemma: 'The Gemma 3n form: (f(x) + x)/√2 + (n + RMSNorm(n·A·B))/√2, n = the branch\'s own pre-norm output where the block has one (as Gemma), else x/rms(x)',
};

/** Whether a choice's cost depends on the rank r, and on PA's look-back k. */
export { usesRank };
export const usesK = (c: VariantChoice): boolean => hasPa(c.variant);

/**
 * One item per variant (plain last, as a revert) for `siteIds` (all sites when omitted); the description
 * is the change in parameters from what the file holds now. The preferred variant comes first.
 */
export function variantPicks(m: OpenModel, options: VariantOptions, preferred: Variant, siteIds?: readonly string[]): VariantPick[] {
  const base = currentCost(m).baseParams;
  const ids = new Set(siteIds ?? m.sites.map((s) => s.id));
  // Plain is offered (last) only where there is something to revert.
  const revertible = m.sites.some((s) => ids.has(s.id) && s.current.variant !== 'plain');
  const order = [preferred, ...VARIANTS.filter((v) => v !== preferred && v !== 'plain'), ...(preferred !== 'plain' && revertible ? ['plain' as const] : [])];
  const n = ids.size;
  return order.map((variant) => {
    const choice = { variant, options };
    const plan = costWith(m, choice, siteIds);
    const delta = plan.addedParams - currentCost(m).addedParams;
    const where = `${n} residual${n === 1 ? '' : 's'}`;
    const unknown = plan.uncounted.length ? ` (${plan.uncounted.length} of unknown width not counted)` : '';
    const capped = capText(choice, rankCaps(m, choice, siteIds));
    return {
      label: variant === 'plain' ? 'plain' : `${capped ? '$(warning) ' : ''}${variantLabel(choice)}`,
      description: `${deltaText(delta, base)} params on ${where}${unknown} → ${thousands(base + plan.addedParams)} total`,
      detail: capped ? `${capped}. ${DETAIL[variant]}` : DETAIL[variant],
      variant,
    };
  });
}

/** A positive integer typed into an input box, or the message saying what is wrong. */
export function checkPositiveInt(text: string, name: string): string | undefined {
  const n = Number(text.trim());
  return Number.isInteger(n) && n >= 1 ? undefined : `${name} must be a positive integer`;
}
