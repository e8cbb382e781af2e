import { checkPlan } from './planChecks';
import type { CheckedSite, ResolvedEntry } from './planChecks';
import { DEFAULT_OPTIONS, VARIANTS } from './variants';
import type { LrInit, PaMode, RwNorm, Variant, VariantChoice, VariantOptions } from './variants';

/**
 * A plan names which residual sites get which variant. Its text form:
 *
 *   spec   := entry (',' entry)*
 *   entry  := [target '='] variant (':' option)*        (no target means 'all')
 *   target := 'all' | a site id or merge layer name, '*' matching any characters
 *   option := 'r=' int | 'k=' int | 'norm=' softmax|sigmoid-single|fixed
 *           | 'init=' xavier|column-orthogonal | 'pa=' identity|lowrank-shared|lowrank-per-j
 *
 * Examples: `all=rw+lr:r=16`, `rw`, `add_1=lr:r=8,add_2=pa:k=2`, `plain`. Later entries win.
 */
export interface PlanEntry {
  target: string;
  choice: VariantChoice;
}

export interface Plan {
  spec: string;
  entries: PlanEntry[];
  /** Each entry as written (for messages). */
  texts?: string[];
  /** The options each entry writes itself (the others are defaults). */
  given?: (keyof VariantOptions)[][];
}

export class PlanError extends Error {
  override readonly name = 'PlanError';
}

/** r and k are sizes: int32 like every tensor dimension. */
export const MAX_PLAN_INT = 2 ** 31 - 1;

/** A positive integer written in decimal digits ('16'; not '1e9', '0x10', '16.0' or '') up to MAX_PLAN_INT. */
export function planInt(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= MAX_PLAN_INT ? n : undefined;
}

const RW_NORMS: readonly RwNorm[] = ['softmax', 'sigmoid-single', 'fixed'];
const LR_INITS: readonly LrInit[] = ['xavier', 'column-orthogonal'];
const PA_MODES: readonly PaMode[] = ['identity', 'lowrank-shared', 'lowrank-per-j'];

export function parsePlan(spec: string, defaults: VariantOptions = DEFAULT_OPTIONS): Plan {
  const entries: PlanEntry[] = [];
  const texts: string[] = [];
  const givens: (keyof VariantOptions)[][] = [];
  const text = spec.trim();
  if (!text) throw new PlanError('empty plan; expected for example `all=rw+lr:r=16`');
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const eq = part.indexOf('=');
    const colon = part.indexOf(':');
    const hasTarget = eq !== -1 && (colon === -1 || eq < colon);
    const target = hasTarget ? part.slice(0, eq).trim() : 'all';
    const [variantText = '', ...opts] = (hasTarget ? part.slice(eq + 1) : part).split(':');
    const variant = variantText.trim().toLowerCase().replace(/^gemma3n$/, 'gemma') as Variant;
    if (!target) throw new PlanError(`'${part}': the site name before '=' is empty`);
    if (!VARIANTS.includes(variant)) throw new PlanError(`'${part}': unknown variant '${variantText}'; expected one of ${VARIANTS.join(', ')}`);
    const options: VariantOptions = { ...defaults };
    const given: (keyof VariantOptions)[] = [];
    for (const opt of opts) {
      const [key = '', value = ''] = opt.split('=').map((s) => s.trim());
      const int = (): number => {
        const n = planInt(value);
        if (n === undefined) throw new PlanError(`'${part}': ${key} must be a positive integer, got '${value}' (decimal digits, at most ${MAX_PLAN_INT})`);
        return n;
      };
      const pick = <T extends string>(allowed: readonly T[]): T => {
        if (!(allowed as readonly string[]).includes(value)) throw new PlanError(`'${part}': ${key} must be one of ${allowed.join(', ')}, got '${value}'`);
        return value as T;
      };
      if (key === 'r' || key === 'rank') given.push('rank');
      if (key === 'k') given.push('k');
      if (key === 'r' || key === 'rank') options.rank = int();
      else if (key === 'k') options.k = int();
      else if (key === 'norm') options.rwNorm = pick(RW_NORMS);
      else if (key === 'init') options.lrInit = pick(LR_INITS);
      else if (key === 'pa') options.paMode = pick(PA_MODES);
      else throw new PlanError(`'${part}': unknown option '${key}'; expected r, k, norm, init or pa`);
    }
    entries.push({ target, choice: { variant, options } });
    texts.push(part);
    givens.push(given);
  }
  return { spec: text, entries, texts, given: givens };
}

/**
 * The plans of a comparison: ';' separates plans. `plain,rw` written as one would be a plan whose later
 * whole-model entry overrides the earlier, so several bare variants joined by ',' (no site targets) read as a
 * list of plans; `note` says so.
 */
export function splitPlans(text: string): { plans: string[]; note?: string } {
  const plans = text.split(';').map((p) => p.trim()).filter(Boolean);
  if (plans.length !== 1 || !plans[0]!.includes(',')) return { plans };
  let parsed: Plan;
  try {
    parsed = parsePlan(plans[0]!);
  } catch {
    return { plans };
  }
  const bare = parsed.texts ?? [];
  if (bare.length < 2 || bare.some((t) => /^[^:]*=/.test(t))) return { plans };
  return { plans: bare, note: `'${plans[0]}' read as ${bare.length} plans (',' between whole-model variants); ';' separates plans and ',' joins site choices within one` };
}

/** The plan's text form for one choice applied to all sites, e.g. `all=rw+lr:r=16`. */
export function choiceSpec(choice: VariantChoice, target = 'all'): string {
  const o = choice.options;
  const d = DEFAULT_OPTIONS;
  const opts = [
    o.rank !== d.rank ? `r=${o.rank}` : '',
    o.k !== d.k ? `k=${o.k}` : '',
    o.rwNorm !== d.rwNorm ? `norm=${o.rwNorm}` : '',
    o.lrInit !== d.lrInit ? `init=${o.lrInit}` : '',
    o.paMode !== d.paMode ? `pa=${o.paMode}` : '',
  ].filter(Boolean);
  return `${target}=${[choice.variant, ...opts].join(':')}`;
}

function matcher(target: string): (s: string) => boolean {
  if (target === 'all') return () => true;
  const re = new RegExp('^' + target.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return (s) => re.test(s);
}

/** Sites as a plan sees them: an id, the merge layer name, and the current variant. */
export interface PlanSite {
  id: string;
  merge: string;
  current: VariantChoice;
}

/** The choice for every site: the current one, overridden by the plan's entries in order. */
export function resolvePlan(plan: Plan, sites: (PlanSite & CheckedSite)[]): Map<string, VariantChoice> {
  return resolvePlanChecked(plan, sites).choices;
}

/**
 * resolvePlan with the plan checked against the sites (planChecks.ts): a PlanError for values no engine can
 * build (r·D beyond any tensor, k beyond the model's residuals), warnings for senseless values and entries
 * that later ones override entirely.
 */
export function resolvePlanChecked(plan: Plan, sites: (PlanSite & CheckedSite)[]): { choices: Map<string, VariantChoice>; warnings: string[] } {
  const out = new Map(sites.map((s) => [s.id, s.current]));
  const entries: ResolvedEntry[] = [];
  const winner = new Map<string, ResolvedEntry>();
  plan.entries.forEach((e, i) => {
    const match = matcher(e.target);
    const hit = sites.filter((s) => match(s.id) || match(s.merge));
    if (hit.length === 0 && e.target !== 'all') {
      const names = [...new Set(sites.map((s) => s.id))];
      throw new PlanError(`no residual site matches '${e.target}'; the sites are ${names.length ? names.join(', ') : '(none)'}`);
    }
    const entry = { text: plan.texts?.[i] ?? e.target, choice: e.choice, kGiven: plan.given?.[i]?.includes('k') ?? false, sites: [...new Set(hit.map((s) => s.id))] };
    entries.push(entry);
    for (const s of hit) {
      out.set(s.id, e.choice);
      winner.set(s.id, entry);
    }
  });
  try {
    return { choices: out, warnings: checkPlan(entries, sites, winner) };
  } catch (e) {
    if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError)) throw new PlanError(e.message);
    throw e;
  }
}
