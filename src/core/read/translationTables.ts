/**
 * Spelling tables that map older class names and config keys onto the Keras 2 vocabulary the layer
 * catalog uses. Sources: Keras 2's legacy interfaces (keras/legacy/interfaces.py) and tf.keras'
 * TFOpLambda `function` names.
 */

/** A table entry, ignoring what objects inherit (a key may be 'constructor' or 'toString'). */
export function lookup<T>(table: Readonly<Record<string, T>>, key: unknown): T | undefined {
  return typeof key === 'string' && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/** Keras 1 class -> Keras 2 class (Merge is decided by its mode, see MERGE_MODE_CLASS). */
export const KERAS1_CLASS: Readonly<Record<string, string>> = {
  Convolution1D: 'Conv1D',
  Convolution2D: 'Conv2D',
  Convolution3D: 'Conv3D',
  AtrousConvolution1D: 'Conv1D',
  AtrousConvolution2D: 'Conv2D',
  Deconvolution2D: 'Conv2DTranspose',
  SeparableConvolution2D: 'SeparableConv2D',
};

/** Keras 1 `Merge` mode -> Keras 2 merge layer. Other modes (cos, a lambda) stay `Merge`. */
export const MERGE_MODE_CLASS: Readonly<Record<string, string>> = {
  sum: 'Add',
  concat: 'Concatenate',
  mul: 'Multiply',
  ave: 'Average',
  max: 'Maximum',
  dot: 'Dot',
};

/** Keras 1 Merge keys with no Keras 2 meaning once the mode has picked the class. */
export const MERGE_ONLY_KEYS: readonly string[] = ['mode', 'mode_type', 'output_shape', 'output_shape_type', 'output_mask', 'output_mask_type', 'arguments', 'node_indices', 'tensor_indices'];

/** Keras 1 `dim_ordering` value -> Keras 2 `data_format`. */
export const DIM_ORDERING: Readonly<Record<string, string>> = { tf: 'channels_last', th: 'channels_first' };

const WEIGHTS = {
  init: 'kernel_initializer',
  W_regularizer: 'kernel_regularizer',
  b_regularizer: 'bias_regularizer',
  W_constraint: 'kernel_constraint',
  b_constraint: 'bias_constraint',
  bias: 'use_bias',
};
const SPATIAL = { border_mode: 'padding', dim_ordering: 'data_format' };
const CONV = { ...WEIGHTS, ...SPATIAL, nb_filter: 'filters', subsample: 'strides', atrous_rate: 'dilation_rate' };
// Keras 2's legacy separable_conv2d_args_preprocessor: one Keras 1 `init` sets both kernels' initialisers;
// the depthwise / pointwise regularisers and constraints already carry their Keras 2 names.
const SEPARABLE = { ...CONV, init: ['depthwise_initializer', 'pointwise_initializer'] };
const POOL_1D = { border_mode: 'padding', pool_length: 'pool_size', stride: 'strides' };
const RNN = {
  ...WEIGHTS,
  output_dim: 'units',
  inner_init: 'recurrent_initializer',
  inner_activation: 'recurrent_activation',
  U_regularizer: 'recurrent_regularizer',
  U_constraint: 'recurrent_constraint',
  dropout_W: 'dropout',
  dropout_U: 'recurrent_dropout',
};
const DATA_FORMAT = { dim_ordering: 'data_format' };

/** Keras 1 config key -> Keras 2 key (or keys), by (Keras 2) class. Applied only where no new key is present. */
export const KERAS1_KEYS: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>> = {
  Conv1D: { ...CONV, filter_length: 'kernel_size', subsample_length: 'strides' },
  Conv2D: CONV,
  Conv3D: CONV,
  Conv2DTranspose: CONV,
  SeparableConv2D: SEPARABLE,
  Dense: { ...WEIGHTS, output_dim: 'units' },
  MaxPooling1D: POOL_1D,
  AveragePooling1D: POOL_1D,
  MaxPooling2D: SPATIAL,
  AveragePooling2D: SPATIAL,
  MaxPooling3D: SPATIAL,
  AveragePooling3D: SPATIAL,
  GlobalAveragePooling2D: DATA_FORMAT,
  GlobalMaxPooling2D: DATA_FORMAT,
  GlobalAveragePooling3D: DATA_FORMAT,
  GlobalMaxPooling3D: DATA_FORMAT,
  ZeroPadding2D: DATA_FORMAT,
  ZeroPadding3D: DATA_FORMAT,
  UpSampling2D: DATA_FORMAT,
  UpSampling3D: DATA_FORMAT,
  Cropping2D: DATA_FORMAT,
  Cropping3D: DATA_FORMAT,
  Dropout: { p: 'rate' },
  SpatialDropout1D: { p: 'rate' },
  SpatialDropout2D: { p: 'rate', ...DATA_FORMAT },
  SpatialDropout3D: { p: 'rate', ...DATA_FORMAT },
  BatchNormalization: { beta_init: 'beta_initializer', gamma_init: 'gamma_initializer' },
  Embedding: { init: 'embeddings_initializer', W_regularizer: 'embeddings_regularizer', W_constraint: 'embeddings_constraint' },
  SimpleRNN: RNN,
  GRU: RNN,
  LSTM: RNN,
};

/** Keras 1 keys renamed on every layer. */
export const KERAS1_COMMON_KEYS: Readonly<Record<string, string>> = { input_dtype: 'dtype' };

/** Keras 1 keys whose Keras 2 value is a 1-element list (Conv1D / Pooling1D). */
export const KERAS1_WRAP_1D: readonly string[] = ['filter_length', 'subsample_length', 'pool_length', 'stride'];

/** tf.keras 2.x `TFOpLambda` function -> the merge layer it computes when it joins two tensors. */
export const OP_LAMBDA_CLASS: Readonly<Record<string, string>> = {
  'math.add': 'Add',
  '__operators__.add': 'Add',
  'math.multiply': 'Multiply',
  '__operators__.mul': 'Multiply',
  'math.subtract': 'Subtract',
  '__operators__.sub': 'Subtract',
  'math.maximum': 'Maximum',
  'math.minimum': 'Minimum',
};
