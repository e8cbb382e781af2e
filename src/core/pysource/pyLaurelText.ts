/**
 * The Python text an apply writes into a model's source: the LaurelResidual constructor (only options that
 * matter for the variant, D learned at the first call), its `__init__` line with the original text it
 * replaces, and the import block. Parsing reads back only what these functions write.
 */
import { DEFAULT_OPTIONS, hasLr, hasPa, hasRw, paModeOf, usesRank, VARIANTS } from '../laurel/variants';
import type { LrInit, PaMode, RwNorm, Variant, VariantChoice } from '../laurel/variants';

/** Imports laurel_residual.py from beside the model, in a package (`models.resnet`) or run from its folder. */
export const IMPORT_BLOCK = ['try:', '    from .laurel_residual import LaurelResidual', 'except ImportError:', '    from laurel_residual import LaurelResidual'];

export function importBlock(eol: string): string {
  return IMPORT_BLOCK.join(eol) + eol;
}

/**
 * `LaurelResidual(variant="rw+lr", rank=16)`; `axis=1` for NCHW feature maps (channels on axis 1). PA variants
 * write k (and pa_mode for a low-rank h); their earlier activations are gathered at run time (laurel_residual.py).
 */
export function laurelCtor(choice: VariantChoice, axis: 1 | -1 | null): string {
  const v = choice.variant;
  const o = choice.options;
  const args = [`variant="${v}"`];
  if (usesRank(choice)) args.push(`rank=${o.rank}`);
  if (hasPa(v)) args.push(`k=${o.k}`);
  if (hasPa(v) && v !== 'rw+lr+pa' && paModeOf(choice) !== DEFAULT_OPTIONS.paMode) args.push(`pa_mode="${paModeOf(choice)}"`);
  if (hasRw(v) && o.rwNorm !== DEFAULT_OPTIONS.rwNorm) args.push(`rw_norm="${o.rwNorm}"`);
  if (hasLr(v) && o.lrInit !== DEFAULT_OPTIONS.lrInit) args.push(`lr_init="${o.lrInit}"`);
  if (axis === 1) args.push('axis=1');
  return `LaurelResidual(${args.join(', ')})`;
}

export function initLine(indent: string, name: string, ctor: string, replaces: string, eol: string): string {
  return `${indent}self.${name} = ${ctor}  # laurel replaces: ${JSON.stringify(replaces)}${eol}`;
}

/** The variant and options of a `LaurelResidual(...)` call as laurelCtor writes it; null when not ours. */
export function parseLaurelCall(text: string): VariantChoice | null {
  const body = /^LaurelResidual\s*\(([^()]*)\)$/.exec(text.trim())?.[1];
  if (body === undefined) return null;
  const kw = new Map<string, string>();
  for (const part of body.split(',')) {
    const m = /^\s*(\w+)\s*=\s*("[^"]*"|'[^']*'|\d+)\s*$/.exec(part);
    if (!m?.[1] || !m[2]) {
      if (part.trim()) return null;
      continue;
    }
    kw.set(m[1], m[2].replace(/^["']|["']$/g, ''));
  }
  const variant = kw.get('variant') as Variant | undefined;
  if (!variant || !VARIANTS.includes(variant)) return null;
  // Only values laurelCtor writes: anything else is not ours (and never written back into the file).
  const allowed: Record<string, string[]> = { rw_norm: ['softmax', 'sigmoid-single', 'fixed'], lr_init: ['xavier', 'column-orthogonal'], pa_mode: ['identity', 'lowrank-shared', 'lowrank-per-j'] };
  for (const [key, values] of Object.entries(allowed)) if (kw.has(key) && !values.includes(kw.get(key)!)) return null;
  const int = (k: string, d: number): number => (kw.has(k) ? Number(kw.get(k)) : d);
  return {
    variant,
    options: {
      ...DEFAULT_OPTIONS,
      rank: int('rank', DEFAULT_OPTIONS.rank),
      k: int('k', DEFAULT_OPTIONS.k),
      rwNorm: (kw.get('rw_norm') as RwNorm | undefined) ?? DEFAULT_OPTIONS.rwNorm,
      lrInit: (kw.get('lr_init') as LrInit | undefined) ?? DEFAULT_OPTIONS.lrInit,
      paMode: (kw.get('pa_mode') as PaMode | undefined) ?? DEFAULT_OPTIONS.paMode,
    },
  };
}
