/**
 * The `laurel.*` settings as typed values, read through a getter so that this stays free of `vscode`.
 * Invalid values fall back to the defaults rather than failing a lens.
 */
import { DEFAULT_OPTIONS, VARIANTS } from '../core/laurel/variants';
import type { LrInit, PaMode, RwNorm, Variant, VariantOptions } from '../core/laurel/variants';

/** `(key) => value` for keys below `laurel.` (vscode's WorkspaceConfiguration.get). */
export type SettingGetter = (key: string) => unknown;

export const BACKENDS = ['auto', 'wasm', 'cpu', 'tfjs-node', 'tfjs-node-gpu'] as const;
export type BackendSetting = (typeof BACKENDS)[number];

const oneOf = <T extends string>(v: unknown, allowed: readonly T[], dflt: T): T =>
  typeof v === 'string' && (allowed as readonly string[]).includes(v) ? (v as T) : dflt;
const posInt = (v: unknown, dflt: number): number => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : dflt);

export function readVariantOptions(get: SettingGetter): VariantOptions {
  return {
    rank: posInt(get('rank'), DEFAULT_OPTIONS.rank),
    k: posInt(get('paK'), DEFAULT_OPTIONS.k),
    rwNorm: oneOf<RwNorm>(get('rwNorm'), ['softmax', 'sigmoid-single', 'fixed'], DEFAULT_OPTIONS.rwNorm),
    lrInit: oneOf<LrInit>(get('lrInit'), ['xavier', 'column-orthogonal'], DEFAULT_OPTIONS.lrInit),
    paMode: oneOf<PaMode>(get('paMode'), ['identity', 'lowrank-shared', 'lowrank-per-j'], DEFAULT_OPTIONS.paMode),
  };
}

export function readDefaultVariant(get: SettingGetter): Variant {
  return oneOf(get('defaultVariant'), VARIANTS, 'rw+lr');
}

export function readBackend(get: SettingGetter): BackendSetting {
  return oneOf(get('backend'), BACKENDS, 'auto');
}

export const readCodeLensEnabled = (get: SettingGetter): boolean => get('codeLens.enabled') !== false;

/** `laurel.training.*`: the budget of Train and Compare. */
export interface TrainingSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Keep at most this many samples of the data set (0: all). */
  sampleLimit: number;
}

export const TRAINING_DEFAULTS: TrainingSettings = { epochs: 1, batchSize: 32, learningRate: 1e-3, sampleLimit: 2048 };

export function readTrainingSettings(get: SettingGetter): TrainingSettings {
  const lr = get('training.learningRate');
  const limit = get('training.sampleLimit');
  return {
    epochs: posInt(get('training.epochs'), TRAINING_DEFAULTS.epochs),
    batchSize: posInt(get('training.batchSize'), TRAINING_DEFAULTS.batchSize),
    learningRate: typeof lr === 'number' && Number.isFinite(lr) && lr > 0 ? lr : TRAINING_DEFAULTS.learningRate,
    sampleLimit: typeof limit === 'number' && Number.isInteger(limit) && limit >= 0 ? limit : TRAINING_DEFAULTS.sampleLimit,
  };
}

/** `laurel.training.engine` and `laurel.pythonPath`: which engine trains, and the Python for PyTorch. */
export function readEngineSettings(get: SettingGetter): { engine: 'auto' | 'tfjs' | 'pytorch'; python?: string } {
  const e = get('training.engine');
  const py = get('pythonPath');
  const engine = e === 'tfjs' || e === 'pytorch' ? e : 'auto';
  return typeof py === 'string' && py.trim() ? { engine, python: py.trim() } : { engine };
}

/**
 * `laurel.training.output` (the output to train, by its layer; '' the last) and `laurel.training.headClasses`
 * (a training-only classifier after a feature-map output; 0 none).
 */
export function readOutputSettings(get: SettingGetter): { output?: string; head?: { classes: number } } {
  const o = get('training.output');
  const k = get('training.headClasses');
  return {
    ...(typeof o === 'string' && o.trim() ? { output: o.trim() } : {}),
    ...(typeof k === 'number' && Number.isInteger(k) && k > 0 ? { head: { classes: k } } : {}),
  };
}

/** `laurel.dataset`: a data spec used for every model that has no dataset of its own; '' asks. */
export const readDatasetSetting = (get: SettingGetter): string => {
  const v = get('dataset');
  return typeof v === 'string' ? v.trim() : '';
};
