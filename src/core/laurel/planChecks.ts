/**
 * A plan checked against the model it is for: values no engine can build are refused (PlanError), senseless
 * ones and entries that change nothing are warned about. The parser (planSpec.ts) checks only the text.
 */
import { paTermsAt } from './history';
import type { HistorySite } from './history';
import { hasLr, hasPa, paModeOf } from './variants';
import type { VariantChoice } from './variants';

/** What the checks need of a site; sites without shapes (PyTorch sources) get the checks that need none. */
export interface CheckedSite {
  id: string;
  width?: number | null;
  scope?: string[];
  shape?: HistorySite['shape'];
}

/** The largest tensor (elements) the engines allocate: tfjs and TF index elements with int32. */
export const MAX_WEIGHT_ELEMENTS = 2 ** 31 - 1;

/** The entry's text and the sites it sets, in plan order. */
export interface ResolvedEntry {
  text: string;
  choice: VariantChoice;
  /** k written in the entry: a default k longer than the history is by design (laurel-method §8.3), not a slip. */
  kGiven: boolean;
  sites: string[];
}

/** Low-rank maps of size D×r: LR's A and B, Gemma's, PA's shared or per-j pairs. */
const usesRank = (c: VariantChoice): boolean => hasLr(c.variant) || (hasPa(c.variant) && paModeOf(c) !== 'identity');

const listed = (ids: string[]): string => (ids.length <= 3 ? ids.join(', ') : `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more`);

/** Throws a message for the first value no engine can build; returns the warnings. */
export function checkPlan(entries: ResolvedEntry[], sites: CheckedSite[], winner: Map<string, ResolvedEntry>): string[] {
  const byId = new Map(sites.map((s) => [s.id, s]));
  const warnings: string[] = [];
  // PA's history needs every site's shape and scope (read models have them; PyTorch sources do not).
  const historic = sites.every((s) => s.shape !== undefined && s.scope !== undefined) ? (sites as (CheckedSite & HistorySite)[]) : undefined;
  for (const e of entries) {
    const hit = e.sites.map((id) => byId.get(id)!);
    const { rank, k } = e.choice.options;
    // Values are checked even where a later entry overrides them; only entries that count get value warnings.
    const noEffect = e.sites.length > 0 && e.sites.every((id) => winner.get(id) !== e);
    if (noEffect) {
      const later = [...new Set(e.sites.map((id) => winner.get(id)!.text))];
      warnings.push(`'${e.text}' has no effect: ${later.map((t) => `'${t}'`).join(', ')} ${later.length === 1 ? 'sets' : 'set'} every site it names`);
    }
    const warn = (w: string): void => void (noEffect || warnings.push(w));
    if (usesRank(e.choice)) {
      const widths = hit.filter((s) => typeof s.width === 'number');
      const huge = widths.find((s) => rank * s.width! > MAX_WEIGHT_ELEMENTS);
      if (huge) {
        throw new Error(
          `'${e.text}': r=${rank} at ${huge.id} (D=${huge.width}) needs a ${huge.width}×${rank} weight of ${(rank * huge.width!).toLocaleString('en-US')} elements; ` +
            `no engine allocates more than ${MAX_WEIGHT_ELEMENTS.toLocaleString('en-US')} (r must be at most ${Math.floor(MAX_WEIGHT_ELEMENTS / huge.width!)} there)`,
        );
      }
      const full = widths.filter((s) => rank >= s.width!);
      if (full.length) {
        warn(`'${e.text}': r=${rank} is not below D at ${listed(full.map((s) => `${s.id} (D=${s.width})`))}: the low-rank map is full rank there and costs more than a D×D matrix`);
      }
    }
    if (hasPa(e.choice.variant)) {
      if (hit.length && e.kGiven && k > sites.length) throw new Error(`'${e.text}': k=${k}, but the model has ${sites.length} residual site(s): PA can look back over at most ${sites.length} activation(s)`);
      if (historic && hit.length && e.kGiven) {
        const most = Math.max(...hit.map((s) => paTermsAt(s as CheckedSite & HistorySite, historic, k)));
        if (most < k) warn(`'${e.text}': k=${k}, but at most ${most} activation(s) of the same shape exist at ${listed(e.sites)} (x_i and the residuals before it); k=${most} builds the same model`);
      }
    }
  }
  return warnings;
}
