// Training kernels for the wasm backend: those tfjs-backend-wasm 4.22 does not register (conv filter and
// depthwise backprops), one it gets wrong (MaxPoolGrad) and some it runs several times slower than the
// fast forward kernels they can be built from (Conv2DBackpropInput, Tile, transposed BatchMatMul), plus
// the Tile gradient; composed from wasm kernels (kernels/*.ts). They run entirely on the wasm backend:
// no CPU fallback.
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { conv2dFilterGrad, conv2dInputGrad, depthwiseFilterGrad, depthwiseInputGrad } from './kernels/convGrads';
import type { ConvPad, Pair, RoundingMode } from './kernels/convGrads';
import { matMulUntransposed } from './kernels/matMul';
import { runWithOps } from './kernels/opsKernel';
import { maxPoolInputGrad } from './kernels/poolGrads';
import { segmentSumByMatMul } from './kernels/segmentSum';
import { tileByBroadcast, tileGrad } from './kernels/tile';

const WASM = 'wasm';

/**
 * Kernels a conv-net training step needs (forward and backward of Conv2D, DepthwiseConv2D, pooling,
 * BatchNorm, Dense, ReLU, softmax cross-entropy, Adam/SGD updates). Used to report gaps.
 */
export const TRAINING_KERNELS: readonly string[] = [
  'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'FusedConv2D',
  'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'FusedDepthwiseConv2D',
  'MaxPool', 'MaxPoolGrad', 'AvgPool', 'AvgPoolGrad',
  'FusedBatchNorm', 'Rsqrt', 'Sum', 'Mean', 'Tile', 'Reshape', 'Transpose',
  'BatchMatMul', '_FusedMatMul', 'Relu', 'Step', 'Relu6', 'Select', 'Greater', 'Equal', 'LogicalAnd', 'LogicalOr', 'LogicalNot',
  'Softmax', 'Exp', 'Log', 'Max', 'Sub', 'Multiply', 'RealDiv', 'Add', 'AddN', 'Neg', 'Square', 'Sqrt',
  'PadV2', 'Slice', 'StridedSlice', 'Reverse', 'Cast', 'Fill', 'Maximum', 'Minimum', 'ClipByValue',
];

/** Kernel names in `required` that `backendName` has no kernel for. */
export function missingKernels(backendName: string, required: readonly string[] = TRAINING_KERNELS): string[] {
  const have = new Set(tf.getKernelsForBackend(backendName).map((k) => k.kernelName));
  return required.filter((k) => !have.has(k));
}

type Shape4 = [number, number, number, number];
interface ConvGradAttrs {
  strides: number | Pair;
  pad: ConvPad;
  dilations?: number | Pair;
  dimRoundingMode?: RoundingMode;
  dataFormat?: 'NHWC' | 'NCHW';
  filterShape: Shape4;
  inputShape: Shape4;
}

// Kernel attrs arrive as an untyped map; these are the fields tfjs-core's ops put there.
function convAttrs(attrs: NamedAttrMap | undefined): ConvGradAttrs {
  return (attrs ?? {}) as unknown as ConvGradAttrs;
}

/** The padding in NHWC order: explicit NCHW padding lists its axes as [N, C, H, W]. */
function nhwcPad(pad: ConvPad, nchw: boolean): ConvPad {
  return nchw && Array.isArray(pad) ? [pad[0], pad[2], pad[3], pad[1]] : pad;
}

const conv2DBackpropFilter: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = convAttrs(attrs);
  const nchw = a.dataFormat === 'NCHW';
  return runWithOps(backend as KernelBackend, [x, dy], (xt, dyt) => {
    // The composition works in NHWC; NCHW callers only need their activations transposed (the filter
    // layout is the same in both formats).
    const x4 = (nchw ? tf.transpose(xt, [0, 2, 3, 1]) : xt) as tf.Tensor4D;
    const dy4 = (nchw ? tf.transpose(dyt, [0, 2, 3, 1]) : dyt) as tf.Tensor4D;
    // Conv2DBackpropFilter carries no dilations: tfjs-core's Conv2D gradient only allows dilation 1.
    return conv2dFilterGrad(x4, dy4, a.filterShape, a.strides, nhwcPad(a.pad, nchw), 1, a.dimRoundingMode);
  });
};

const conv2DBackpropInput: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = convAttrs(attrs);
  const nchw = a.dataFormat === 'NCHW';
  const [b, d1, d2, d3] = a.inputShape;
  const xShape: Shape4 = nchw ? [b, d2, d3, d1] : a.inputShape;
  return runWithOps(backend as KernelBackend, [dy, filter], (dyt, ft) => {
    const dy4 = (nchw ? tf.transpose(dyt, [0, 2, 3, 1]) : dyt) as tf.Tensor4D;
    // tfjs-core passes no dilations here (its Conv2D gradient needs dilation 1); honour them if given.
    const dx = conv2dInputGrad(xShape, dy4, ft as tf.Tensor4D, a.strides, nhwcPad(a.pad, nchw), a.dilations ?? 1, a.dimRoundingMode);
    return nchw ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
  });
};

const depthwiseBackpropFilter: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = convAttrs(attrs);
  return runWithOps(backend as KernelBackend, [x, dy], (xt, dyt) =>
    depthwiseFilterGrad(xt as tf.Tensor4D, dyt as tf.Tensor4D, a.filterShape, a.strides, a.pad, a.dilations ?? 1, a.dimRoundingMode));
};

const depthwiseBackpropInput: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = convAttrs(attrs);
  return runWithOps(backend as KernelBackend, [dy, filter], (dyt, ft) =>
    depthwiseInputGrad(a.inputShape, dyt as tf.Tensor4D, ft as tf.Tensor4D, a.strides, a.pad, a.dilations ?? 1, a.dimRoundingMode));
};

interface PoolGradAttrs {
  filterSize: number | Pair;
  strides: number | Pair;
  pad: 'same' | 'valid' | number;
  dimRoundingMode?: RoundingMode;
}

const maxPoolGrad: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, input, output } = inputs as { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
  const a = (attrs ?? {}) as unknown as PoolGradAttrs;
  return runWithOps(backend as KernelBackend, [dy, input, output], (dyt, xt, yt) =>
    maxPoolInputGrad(dyt as tf.Tensor4D, xt as tf.Tensor4D, yt as tf.Tensor4D, a.filterSize, a.strides, a.pad, a.dimRoundingMode));
};

const tile: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const { reps } = attrs as unknown as { reps: number[] };
  return runWithOps(backend as KernelBackend, [x], (xt) => tileByBroadcast(xt, reps));
};

const unsortedSegmentSum: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = (attrs ?? {}) as unknown as { numSegments: number };
  return runWithOps(backend as KernelBackend, [x, segmentIds], (xt, ids) => segmentSumByMatMul(xt, ids, numSegments));
};

const batchMatMul: KernelFunc = (args) => {
  const upstream = replacedUpstreamKernels().get(tf.BatchMatMul);
  if (!upstream) throw new Error('the wasm BatchMatMul kernel this one wraps is not registered');
  const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
  // Untransposed products are what the upstream kernel does fast; the transposes re-enter here as those.
  if (!transposeA && !transposeB) return upstream.kernelFunc(args);
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  return runWithOps(args.backend as KernelBackend, [a, b], (at, bt) => matMulUntransposed(at, bt, Boolean(transposeA), Boolean(transposeB)));
};

/** Kernels tfjs-backend-wasm 4.22 does not have; registered unless a kernel of that name exists. */
export const WASM_MISSING_KERNELS: readonly KernelConfig[] = [
  { kernelName: tf.Conv2DBackpropFilter, backendName: WASM, kernelFunc: conv2DBackpropFilter },
  { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, backendName: WASM, kernelFunc: depthwiseBackpropFilter },
  { kernelName: tf.DepthwiseConv2dNativeBackpropInput, backendName: WASM, kernelFunc: depthwiseBackpropInput },
  { kernelName: tf.UnsortedSegmentSum, backendName: WASM, kernelFunc: unsortedSegmentSum },
];

/**
 * Kernels tfjs-backend-wasm 4.22 has but computes wrongly (MaxPoolGrad, checked against the cpu backend)
 * or slowly (Conv2DBackpropInput: a scalar loop where the forward conv uses XNNPACK; Tile: a per-element
 * index loop; BatchMatMul with transposed operands); replaced. Measured with bench/profileStep.ts.
 */
export const WASM_REPLACED_KERNELS: readonly KernelConfig[] = [
  { kernelName: tf.MaxPoolGrad, backendName: WASM, kernelFunc: maxPoolGrad },
  { kernelName: tf.Conv2DBackpropInput, backendName: WASM, kernelFunc: conv2DBackpropInput },
  { kernelName: tf.Tile, backendName: WASM, kernelFunc: tile },
  // Re-runs the upstream setup (its wasm function binding) should the backend be initialised again.
  { kernelName: tf.BatchMatMul, backendName: WASM, kernelFunc: batchMatMul, setupFunc: (b) => replacedUpstreamKernels().get(tf.BatchMatMul)?.setupFunc?.(b) },
];

export const WASM_GRADIENT_KERNELS: readonly KernelConfig[] = [...WASM_MISSING_KERNELS, ...WASM_REPLACED_KERNELS];

export interface WasmKernelRegistration {
  /** Missing kernels registered by this call. */
  registered: string[];
  /** Upstream kernels unregistered and replaced by ours in this call. */
  replaced: string[];
  /** Kernels left alone: ours from an earlier call, or (for missing ones) a newer tfjs-backend-wasm's own. */
  present: string[];
  /** Gradient functions whose wasm path was replaced by this call (their other backends keep tfjs-core's). */
  gradients: string[];
}

// The kernel registry is global, but this module may be loaded more than once (each esbuild bundle has
// its own copy). So "is this kernel ours" is a mark on the function, and the replaced upstream kernels
// are kept on the global object, both under Symbol.for keys that every copy shares.
const OURS = Symbol.for('laurel-studio.wasmGradientKernel');
const UPSTREAM = Symbol.for('laurel-studio.wasmUpstreamKernels');
const UPSTREAM_GRADIENTS = Symbol.for('laurel-studio.upstreamGradients');

function isOurs(config: KernelConfig | undefined): boolean {
  return config != null && (config.kernelFunc as unknown as Record<symbol, unknown>)[OURS] === true;
}

for (const config of [conv2DBackpropFilter, conv2DBackpropInput, depthwiseBackpropFilter, depthwiseBackpropInput, maxPoolGrad, tile, batchMatMul, unsortedSegmentSum]) {
  Object.defineProperty(config, OURS, { value: true });
}

/** The tfjs-backend-wasm kernels we replaced, kept so tests can show why (and notice an upstream fix). */
export function replacedUpstreamKernels(): Map<string, KernelConfig> {
  const g = globalThis as unknown as Record<symbol, Map<string, KernelConfig> | undefined>;
  return (g[UPSTREAM] ??= new Map());
}

/** The tfjs-core gradients whose wasm path we replaced, kept so other backends still use them. */
export function replacedUpstreamGradients(): Map<string, GradConfig> {
  const g = globalThis as unknown as Record<symbol, Map<string, GradConfig> | undefined>;
  return (g[UPSTREAM_GRADIENTS] ??= new Map());
}

/**
 * Gradient functions are registered per kernel name for all backends, so ours dispatch: the composed
 * version while wasm is active, tfjs-core's own otherwise (the cpu reference stays untouched).
 */
function tileGradFunc(dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap): Record<string, () => Tensor> {
  const upstream = replacedUpstreamGradients().get(tf.Tile);
  if (tf.getBackend() !== WASM && upstream) return upstream.gradFunc(dy, saved, attrs) as Record<string, () => Tensor>;
  const { reps } = attrs as unknown as { reps: number[] };
  return { x: () => tileGrad(dy as Tensor, saved[0]!.shape, reps) };
}
Object.defineProperty(tileGradFunc, OURS, { value: true });

export const WASM_GRADIENTS: readonly GradConfig[] = [{ kernelName: tf.Tile, inputsToSave: ['x'], gradFunc: tileGradFunc }];

/** Registers the missing wasm gradient kernels and replaces the broken or slow ones. Idempotent. */
export function registerWasmGradientKernels(): WasmKernelRegistration {
  const result: WasmKernelRegistration = { registered: [], replaced: [], present: [], gradients: [] };
  for (const config of WASM_MISSING_KERNELS) {
    if (tf.getKernel(config.kernelName, WASM) != null) {
      result.present.push(config.kernelName);
    } else {
      tf.registerKernel(config);
      result.registered.push(config.kernelName);
    }
  }
  for (const config of WASM_REPLACED_KERNELS) {
    const current = tf.getKernel(config.kernelName, WASM);
    if (isOurs(current)) {
      result.present.push(config.kernelName);
      continue;
    }
    if (current != null) {
      replacedUpstreamKernels().set(config.kernelName, current);
      tf.unregisterKernel(config.kernelName, WASM);
    }
    tf.registerKernel(config);
    result.replaced.push(config.kernelName);
  }
  for (const config of WASM_GRADIENTS) {
    const current = tf.getGradient(config.kernelName);
    if ((current?.gradFunc as unknown as Record<symbol, unknown> | undefined)?.[OURS] === true) continue;
    if (current) replacedUpstreamGradients().set(config.kernelName, current);
    tf.registerGradient(config);
    result.gradients.push(config.kernelName);
  }
  return result;
}
