/**
 * The LAuReL variants, their options and the exact cost of one instance at width D.
 * Equations and formulas: shared/docs/laurel-method.md (§2, §4, §7, §8); the choices the paper leaves
 * open are options here with the documented defaults.
 */

export type Variant = 'plain' | 'rw' | 'lr' | 'pa' | 'rw+lr' | 'rw+pa' | 'rw+lr+pa' | 'gemma';

export const VARIANTS: readonly Variant[] = ['plain', 'rw', 'lr', 'pa', 'rw+lr', 'rw+pa', 'rw+lr+pa', 'gemma'];

/** How RW's α and β are derived (laurel-method §8.1). Parameters: 2, 1, 0. */
export type RwNorm = 'softmax' | 'sigmoid-single' | 'fixed';
/** Initialiser of the down-projection A (laurel-method §2.2). The up-projection B starts at zero. */
export type LrInit = 'xavier' | 'column-orthogonal';
/** PA's h: the identity, one low-rank map shared by the k look-backs, or one pair per look-back (Eq. 6). */
export type PaMode = 'identity' | 'lowrank-shared' | 'lowrank-per-j';

export interface VariantOptions {
  /** Low-rank size r (LR, low-rank PA, Gemma). */
  rank: number;
  /** Previous activations PA looks back over (the sum runs j = 0 .. k-1). */
  k: number;
  rwNorm: RwNorm;
  lrInit: LrInit;
  /** PA's h for 'pa' and 'rw+pa'. 'rw+lr+pa' always uses per-j pairs (Eq. 6). */
  paMode: PaMode;
}

export const DEFAULT_OPTIONS: VariantOptions = {
  rank: 16,
  k: 3,
  rwNorm: 'softmax',
  lrInit: 'xavier',
  paMode: 'identity',
};

export interface VariantChoice {
  variant: Variant;
  options: VariantOptions;
}

export const hasRw = (v: Variant): boolean => v.startsWith('rw');
export const hasLr = (v: Variant): boolean => v === 'lr' || v === 'rw+lr' || v === 'rw+lr+pa' || v === 'gemma';
export const hasPa = (v: Variant): boolean => v.endsWith('pa');

/** The h used by the PA sum of this variant. */
export function paModeOf(c: VariantChoice): PaMode {
  return c.variant === 'rw+lr+pa' ? 'lowrank-per-j' : c.options.paMode;
}

/** Whether a choice has a low-rank term (its cost and meaning depend on the rank r). */
export const usesRank = (c: VariantChoice): boolean => hasLr(c.variant) || (hasPa(c.variant) && paModeOf(c) !== 'identity');

/**
 * A rank at or above the width D is no longer low-rank (B·A could be any D×D map, at ≥ 2D² parameters): the
 * extension offers and applies r = max(1, ⌊D/2⌋) at such a site instead. The same choice when it does not apply.
 */
export function capRank(choice: VariantChoice, width: number | null): VariantChoice {
  if (width === null || !usesRank(choice) || choice.options.rank < width) return choice;
  return { ...choice, options: { ...choice.options, rank: Math.max(1, Math.floor(width / 2)) } };
}

export const rwParams = (norm: RwNorm): number => (norm === 'softmax' ? 2 : norm === 'sigmoid-single' ? 1 : 0);

/** Cost of one LAuReL instance at a site of width D. Counts are per position (per pixel or token). */
export interface InstanceCost {
  /** Added parameters, exact. */
  params: number;
  /** Extra multiply-adds per position in the forward pass. */
  macsPerPosition: number;
  /** Extra activation elements per position kept for the backward pass (or held for PA). */
  activationsPerPosition: number;
}

/**
 * The exact parameter count and the per-position work of one instance.
 *
 * Parameters (laurel-method §4): RW 2 (softmax) / 1 / 0; LR 2rD; PA identity k, shared low-rank 2rD + k,
 * per-j 2rkD + k; combinations add up; Gemma 3n 2rD + D (the post-LAuReL RMSNorm scale). PA counts the
 * terms that exist at the site: `paTerms` = 1 + the earlier activations it gets, at most k (§8.3: the first
 * sites of a stage have a short history, and no γ_j or A_j, B_j is made for a term that is never summed).
 *
 * Work, counted as one multiply(-add) per element operation on activations: RW scales both branches (2D);
 * a rank-r pair costs 2rD; each PA term is scaled by γ (D per term, k terms); Gemma's RMSNorm costs 3D
 * (square, normalise, scale) and the 1/√2 average D.
 *
 * Activation memory (elements per position): the intermediates autodiff keeps. RW keeps the two scaled
 * branches (2D); a rank-r pair keeps its r-wide hidden and its D-wide output (r + D); PA holds k earlier
 * activations (kD, laurel-method §6); Gemma keeps the pair (r + D), the normalised output (D) and the sum (D).
 */
export function instanceCost(choice: VariantChoice, D: number, paTerms: number = choice.options.k): InstanceCost {
  const { variant: v, options: o } = choice;
  const r = o.rank;
  const k = Math.max(1, Math.min(o.k, paTerms));
  if (v === 'plain') return { params: 0, macsPerPosition: 0, activationsPerPosition: 0 };
  if (v === 'gemma') {
    return { params: 2 * r * D + D, macsPerPosition: 2 * r * D + 4 * D, activationsPerPosition: r + 3 * D };
  }
  let params = 0;
  let macs = 0;
  let acts = 0;
  if (hasRw(v)) {
    params += rwParams(o.rwNorm);
    macs += 2 * D;
    acts += 2 * D;
  }
  if (hasLr(v) && !hasPa(v)) {
    params += 2 * r * D;
    macs += 2 * r * D;
    acts += r + D;
  }
  if (hasPa(v)) {
    const mode = paModeOf(choice);
    params += k;
    macs += k * D;
    acts += k * D;
    if (mode === 'lowrank-shared') {
      params += 2 * r * D;
      macs += k * 2 * r * D;
      acts += k * (r + D);
    } else if (mode === 'lowrank-per-j') {
      params += 2 * r * k * D;
      macs += k * 2 * r * D;
      acts += k * (r + D);
    }
  }
  return { params, macsPerPosition: macs, activationsPerPosition: acts };
}

/** A short label such as 'RW+LR r=16' or 'PA k=3 (identity)'. */
export function variantLabel(c: VariantChoice): string {
  const v = c.variant;
  if (v === 'plain') return 'plain';
  const parts = [v === 'gemma' ? 'Gemma3n' : v.toUpperCase()];
  if (hasLr(v) || (hasPa(v) && paModeOf(c) !== 'identity')) parts.push(`r=${c.options.rank}`);
  if (hasPa(v)) parts.push(`k=${c.options.k}`);
  return parts.join(' ');
}
