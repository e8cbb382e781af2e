/**
 * Translates a layer's class and config into the canonical Keras 2 spelling: Keras 1 names and keys
 * (Convolution2D, nb_filter, border_mode, Merge modes, ...) and Keras 3 spellings (batch_shape,
 * DTypePolicy objects). Keys already in Keras 2 spelling are never overwritten; unknown keys are kept.
 */
import {
  DIM_ORDERING,
  KERAS1_CLASS,
  KERAS1_COMMON_KEYS,
  KERAS1_KEYS,
  KERAS1_WRAP_1D,
  MERGE_MODE_CLASS,
  MERGE_ONLY_KEYS,
  OP_LAMBDA_CLASS,
  lookup,
} from './translationTables';

export interface CanonicalLayer {
  className: string;
  config: Record<string, unknown>;
}

const isNumberList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');

export function canonicalLayer(sourceClass: string, source: Record<string, unknown>): CanonicalLayer {
  let className = lookup(KERAS1_CLASS, sourceClass) ?? sourceClass;
  // The parsed config itself (a copy per layer was a tenth of the read): every step below that changes
  // something makes a new object.
  let config = source;
  const mergeClass = sourceClass === 'Merge' ? lookup(MERGE_MODE_CLASS, config.mode) : undefined;
  if (mergeClass) {
    className = mergeClass;
    config = mergeConfig(className, config);
  }
  config = renameKeras1Keys(className, config);
  if (className === 'ZeroPadding2D' && isNumberList(config.padding)) config = { ...config, padding: padding2d(config.padding) };
  return { className, config: keras3Spellings(config) };
}

/** tf.keras' TFOpLambda is an add/multiply/... merge when it joins two or more tensors. */
export function opLambdaClass(config: Record<string, unknown>, tensorInputs: number): string | undefined {
  return tensorInputs >= 2 ? lookup(OP_LAMBDA_CLASS, config.function) : undefined;
}

function mergeConfig(className: string, config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (MERGE_ONLY_KEYS.includes(k)) continue;
    if (k === 'concat_axis') {
      if (className === 'Concatenate') out.axis = v;
    } else if (k === 'dot_axes') {
      if (className === 'Dot') out.axes = v;
    } else out[k] = v;
  }
  return out;
}

/** Keras 1 kernel sizes (nb_row and kernel_dim1 start the list; the others are read with them). */
const KERNEL_DIMS = ['nb_row', 'nb_col', 'kernel_dim1', 'kernel_dim2', 'kernel_dim3'];

/** Every key some Keras 1 table renames: a config with none of them (Keras 2 and 3) is kept as it is, at one lookup a key. */
let keras1Keys: Set<string> | undefined;
function anyKeras1Key(config: Record<string, unknown>): boolean {
  keras1Keys ??= new Set([...Object.values(KERAS1_KEYS).flatMap((t) => Object.keys(t)), ...Object.keys(KERAS1_COMMON_KEYS), ...KERNEL_DIMS]);
  for (const k in config) if (keras1Keys.has(k)) return true;
  return false;
}

function renameKeras1Keys(className: string, config: Record<string, unknown>): Record<string, unknown> {
  // Keras 2 and 3 configs have no key to rename: keep the object (this runs for every layer of the file).
  if (!anyKeras1Key(config)) return config;
  const table = lookup(KERAS1_KEYS, className) ?? {};
  const hasConvTable = 'nb_filter' in table;
  let renames = false;
  for (const k in config) if (lookup(table, k) !== undefined || lookup(KERAS1_COMMON_KEYS, k) !== undefined || (hasConvTable && KERNEL_DIMS.includes(k))) renames = true;
  if (!renames) return config;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    // Keras 1 splits the kernel size over nb_row/nb_col (kernel_dim1..3 in 3-D).
    if (hasConvTable && (k === 'nb_row' || k === 'kernel_dim1') && !('kernel_size' in config)) {
      out.kernel_size = k === 'nb_row' ? [v, config.nb_col] : [v, config.kernel_dim2, config.kernel_dim3];
      continue;
    }
    if (hasConvTable && KERNEL_DIMS.includes(k) && !('kernel_size' in config)) continue;
    const renamed = lookup(table, k) ?? lookup(KERAS1_COMMON_KEYS, k);
    const targets = renamed === undefined ? [] : typeof renamed === 'string' ? [renamed] : renamed;
    const to = targets[0];
    const format = k === 'dim_ordering' ? lookup(DIM_ORDERING, v) : undefined;
    if (to === undefined || targets.some((t) => t in config || t in out)) {
      out[k] = v;
    } else if (targets.length > 1) {
      for (const t of targets) out[t] = v;
    } else if (k === 'dim_ordering') {
      // 'default' defers to keras.json, which the file does not carry: keep it unrenamed.
      if (format) out[to] = format;
      else out[k] = v;
    } else {
      out[to] = KERAS1_WRAP_1D.includes(k) && typeof v === 'number' ? [v] : v;
    }
  }
  return out;
}

/** Keras 1 ZeroPadding2D: [rows, cols] pads symmetrically; [top, bottom, left, right] does not. */
function padding2d(p: number[]): unknown {
  if (p.length === 2) return [
    [p[0], p[0]],
    [p[1], p[1]],
  ];
  if (p.length === 4) return [
    [p[0], p[1]],
    [p[2], p[3]],
  ];
  return p;
}

function keras3Spellings(config: Record<string, unknown>): Record<string, unknown> {
  if ('batch_shape' in config && !('batch_input_shape' in config)) {
    config = Object.fromEntries(Object.entries(config).map(([k, v]) => [k === 'batch_shape' ? 'batch_input_shape' : k, v]));
  }
  const dtype = config.dtype;
  if (dtype && typeof dtype === 'object' && !Array.isArray(dtype)) {
    const name = (dtype as { config?: { name?: unknown } }).config?.name;
    if (typeof name === 'string') config = { ...config, dtype: name };
  }
  return config;
}
