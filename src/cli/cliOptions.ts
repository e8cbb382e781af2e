/** What the `laurel` commands share about their arguments. */
import { MAX_PLAN_INT, planInt } from '../core/laurel/planSpec';
import { DEFAULT_OPTIONS } from '../core/laurel/variants';
import type { VariantOptions } from '../core/laurel/variants';

/** A command line that cannot mean anything (exit code 2, the usage follows). */
export class UsageError extends Error {}

/** --rank and --k over the default variant options. */
export function variantOptions(values: { rank?: string | undefined; k?: string | undefined }): VariantOptions {
  const int = (name: string, v: string | undefined, d: number): number => {
    if (v === undefined) return d;
    const n = planInt(v);
    if (n === undefined) throw new UsageError(`--${name} must be a positive integer, got '${v}' (decimal digits, at most ${MAX_PLAN_INT})`);
    return n;
  };
  return { ...DEFAULT_OPTIONS, rank: int('rank', values.rank, DEFAULT_OPTIONS.rank), k: int('k', values.k, DEFAULT_OPTIONS.k) };
}

/** The options `inspect` and `apply` take for Keras files and .py sources alike. */
export const PLAN_OPTIONS = {
  plan: { type: 'string' },
  json: { type: 'boolean' },
  rank: { type: 'string' },
  k: { type: 'string' },
  out: { type: 'string', short: 'o' },
} as const;
