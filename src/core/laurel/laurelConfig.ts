import { DEFAULT_OPTIONS, VARIANTS } from './variants';
import type { LrInit, PaMode, RwNorm, Variant, VariantChoice, VariantOptions } from './variants';

/**
 * The `laurel` object that write-back puts in a LaurelResidual layer's config, in the file's snake_case:
 * {variant, rank, k, rw_norm, lr_init, pa_mode, branch_index, shortcut_index, replaces}.
 * `replaces` is the class the layer stood in for ('Add', 'Merge', ...), so a revert can restore it.
 */
export interface LaurelFileConfig {
  variant: Variant;
  rank: number;
  k: number;
  rw_norm: RwNorm;
  lr_init: LrInit;
  pa_mode: PaMode;
  branch_index: number;
  shortcut_index: number;
  replaces: string;
}

export const LAUREL_CLASS = 'LaurelResidual';

export function toFileConfig(choice: VariantChoice, branchIndex: number, shortcutIndex: number, replaces: string): LaurelFileConfig {
  const o = choice.options;
  return {
    variant: choice.variant,
    rank: o.rank,
    k: o.k,
    rw_norm: o.rwNorm,
    lr_init: o.lrInit,
    pa_mode: o.paMode,
    branch_index: branchIndex,
    shortcut_index: shortcutIndex,
    replaces,
  };
}

const oneOf = <T extends string>(v: unknown, allowed: readonly T[], dflt: T): T =>
  typeof v === 'string' && (allowed as readonly string[]).includes(v) ? (v as T) : dflt;
const posInt = (v: unknown, dflt: number): number => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : dflt);

/** The variant a LaurelResidual config describes; the `laurel` object wins over top-level keys. */
export function fromLayerConfig(config: Record<string, unknown>): { choice: VariantChoice; branchIndex: number; shortcutIndex: number; replaces: string } {
  const nested = config['laurel'];
  const c: Record<string, unknown> = nested && typeof nested === 'object' && !Array.isArray(nested) ? { ...config, ...(nested as object) } : config;
  const options: VariantOptions = {
    rank: posInt(c['rank'], DEFAULT_OPTIONS.rank),
    k: posInt(c['k'], DEFAULT_OPTIONS.k),
    rwNorm: oneOf(c['rw_norm'], ['softmax', 'sigmoid-single', 'fixed'] as const, DEFAULT_OPTIONS.rwNorm),
    lrInit: oneOf(c['lr_init'], ['xavier', 'column-orthogonal'] as const, DEFAULT_OPTIONS.lrInit),
    paMode: oneOf(c['pa_mode'], ['identity', 'lowrank-shared', 'lowrank-per-j'] as const, DEFAULT_OPTIONS.paMode),
  };
  const branchIndex = typeof c['branch_index'] === 'number' ? (c['branch_index'] as number) : 0;
  const shortcutIndex = typeof c['shortcut_index'] === 'number' ? (c['shortcut_index'] as number) : 1 - branchIndex;
  return {
    choice: { variant: oneOf(c['variant'], VARIANTS, 'plain'), options },
    branchIndex,
    shortcutIndex,
    replaces: typeof c['replaces'] === 'string' ? (c['replaces'] as string) : 'Add',
  };
}
