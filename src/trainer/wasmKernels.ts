// Gradient kernels for the wasm backend: those tfjs-backend-wasm 4.22 does not register (conv filter and
// depthwise backprops) and one it gets wrong (MaxPoolGrad), composed from forward kernels it does have
// (kernels/convGrads.ts, kernels/poolGrads.ts). They run entirely on the wasm backend: no CPU fallback.
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { conv2dFilterGrad, depthwiseFilterGrad, depthwiseInputGrad } from './kernels/convGrads';
import type { ConvPad, Pair, RoundingMode } from './kernels/convGrads';
import { runWithOps } from './kernels/opsKernel';
import { maxPoolInputGrad } from './kernels/poolGrads';

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
    return conv2dFilterGrad(x4, dy4, a.filterShape, a.strides, a.pad, 1, a.dimRoundingMode);
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

/** Kernels tfjs-backend-wasm 4.22 does not have; registered unless a kernel of that name exists. */
export const WASM_MISSING_KERNELS: readonly KernelConfig[] = [
  { kernelName: tf.Conv2DBackpropFilter, backendName: WASM, kernelFunc: conv2DBackpropFilter },
  { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, backendName: WASM, kernelFunc: depthwiseBackpropFilter },
  { kernelName: tf.DepthwiseConv2dNativeBackpropInput, backendName: WASM, kernelFunc: depthwiseBackpropInput },
];

/** Kernels tfjs-backend-wasm 4.22 has but computes wrongly (checked against the cpu backend); replaced. */
export const WASM_REPLACED_KERNELS: readonly KernelConfig[] = [
  { kernelName: tf.MaxPoolGrad, backendName: WASM, kernelFunc: maxPoolGrad },
];

export const WASM_GRADIENT_KERNELS: readonly KernelConfig[] = [...WASM_MISSING_KERNELS, ...WASM_REPLACED_KERNELS];

export interface WasmKernelRegistration {
  /** Missing kernels registered by this call. */
  registered: string[];
  /** Upstream kernels unregistered and replaced by ours in this call. */
  replaced: string[];
  /** Kernels left alone: ours from an earlier call, or (for missing ones) a newer tfjs-backend-wasm's own. */
  present: string[];
}

// The kernel registry is global, but this module may be loaded more than once (each esbuild bundle has
// its own copy). So "is this kernel ours" is a mark on the function, and the replaced upstream kernels
// are kept on the global object, both under Symbol.for keys that every copy shares.
const OURS = Symbol.for('laurel-studio.wasmGradientKernel');
const UPSTREAM = Symbol.for('laurel-studio.wasmUpstreamKernels');

function isOurs(config: KernelConfig | undefined): boolean {
  return config != null && (config.kernelFunc as unknown as Record<symbol, unknown>)[OURS] === true;
}

for (const config of [conv2DBackpropFilter, depthwiseBackpropFilter, depthwiseBackpropInput, maxPoolGrad]) {
  Object.defineProperty(config, OURS, { value: true });
}

/** The tfjs-backend-wasm kernels we replaced, kept so tests can show why (and notice an upstream fix). */
export function replacedUpstreamKernels(): Map<string, KernelConfig> {
  const g = globalThis as unknown as Record<symbol, Map<string, KernelConfig> | undefined>;
  return (g[UPSTREAM] ??= new Map());
}

/** Registers the missing wasm gradient kernels and replaces the broken ones. Idempotent. */
export function registerWasmGradientKernels(): WasmKernelRegistration {
  const result: WasmKernelRegistration = { registered: [], replaced: [], present: [] };
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
  return result;
}
