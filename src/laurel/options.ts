/**
 * Reading, validating and writing the settings of a LaurelResidual layer.
 *
 * Settings arrive in three spellings: camelCase (the TS Args, and what tfjs's modelFromJSON passes after it
 * converts a file's keys), snake_case (a Keras config read as-is) and a nested `laurel: {...}` object (how
 * write-back stores the choice in a file). Per key, the nested object wins over the flat keys, because
 * write-back edits the nested object while flat keys may be stale copies written by an earlier save.
 */
import { DEFAULT_OPTIONS, VARIANTS } from '../core/laurel/variants';
import type { LrInit, PaMode, RwNorm, Variant, VariantChoice, VariantOptions } from '../core/laurel/variants';

export const RW_NORMS: readonly RwNorm[] = ['softmax', 'sigmoid-single', 'fixed'];
export const LR_INITS: readonly LrInit[] = ['xavier', 'column-orthogonal'];
export const PA_MODES: readonly PaMode[] = ['identity', 'lowrank-shared', 'lowrank-per-j'];

/** The resolved settings of one layer. */
export interface LaurelSettings extends VariantOptions {
  variant: Variant;
  /** Position of f(x) in the input list. */
  branchIndex: number;
  /** Position of x_i in the input list. */
  shortcutIndex: number;
}

/** A setting is invalid (named like tfjs-layers' ValueError so callers can treat both alike). */
export class LaurelValueError extends Error {
  override readonly name = 'ValueError';
}

/** Used when neither the nested object nor the flat keys give a value; plain is the project's default site. */
export const DEFAULT_SETTINGS: LaurelSettings = { variant: 'plain', ...DEFAULT_OPTIONS, branchIndex: 0, shortcutIndex: 1 };

const SNAKE: Record<keyof LaurelSettings, string> = {
  variant: 'variant',
  rank: 'rank',
  k: 'k',
  rwNorm: 'rw_norm',
  lrInit: 'lr_init',
  paMode: 'pa_mode',
  branchIndex: 'branch_index',
  shortcutIndex: 'shortcut_index',
};

type Dict = Record<string, unknown>;

const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

function lookup(dict: Dict, key: keyof LaurelSettings): unknown {
  const camel = dict[key];
  return camel !== undefined && camel !== null ? camel : (dict[SNAKE[key]] ?? undefined);
}

function pick(flat: Dict, nested: Dict, key: keyof LaurelSettings): unknown {
  return lookup(nested, key) ?? lookup(flat, key) ?? DEFAULT_SETTINGS[key];
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], key: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new LaurelValueError(`LaurelResidual: invalid ${key} ${JSON.stringify(value)}; expected one of ${allowed.join(', ')}`);
}

function integer(value: unknown, min: number, key: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min) return value;
  throw new LaurelValueError(`LaurelResidual: invalid ${key} ${JSON.stringify(value)}; expected an integer >= ${min}`);
}

/** Resolves and validates the settings in a layer config (any of the three spellings, see the file comment). */
export function resolveSettings(config: Dict): LaurelSettings {
  const raw = config['laurel'];
  if (raw !== undefined && raw !== null && !isDict(raw)) {
    throw new LaurelValueError(`LaurelResidual: invalid laurel ${JSON.stringify(raw)}; expected an object of settings`);
  }
  const nested = raw ?? {};
  const s: LaurelSettings = {
    variant: oneOf(pick(config, nested, 'variant'), VARIANTS, 'variant'),
    rank: integer(pick(config, nested, 'rank'), 1, 'rank'),
    k: integer(pick(config, nested, 'k'), 1, 'k'),
    rwNorm: oneOf(pick(config, nested, 'rwNorm'), RW_NORMS, 'rw_norm'),
    lrInit: oneOf(pick(config, nested, 'lrInit'), LR_INITS, 'lr_init'),
    paMode: oneOf(pick(config, nested, 'paMode'), PA_MODES, 'pa_mode'),
    branchIndex: integer(pick(config, nested, 'branchIndex'), 0, 'branch_index'),
    shortcutIndex: integer(pick(config, nested, 'shortcutIndex'), 0, 'shortcut_index'),
  };
  if (s.branchIndex === s.shortcutIndex) {
    throw new LaurelValueError(`LaurelResidual: branch_index and shortcut_index are both ${s.branchIndex}; they must differ`);
  }
  return s;
}

/** The settings as the snake_case keys of a Keras layer config. */
export function settingsToConfig(s: LaurelSettings): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const key of Object.keys(SNAKE) as (keyof LaurelSettings)[]) out[SNAKE[key]] = s[key];
  return out;
}

/** The settings as the core's {variant, options} pair (for paModeOf and instanceCost). */
export function choiceOf(s: LaurelSettings): VariantChoice {
  const { variant, rank, k, rwNorm, lrInit, paMode } = s;
  return { variant, options: { rank, k, rwNorm, lrInit, paMode } };
}
