/**
 * Gradients of dilated convolutions, which tfjs-core refuses on every backend ("dilation rates greater than 1
 * are not yet supported in gradients"), so a model with a dilated Conv1D/Conv2D/DepthwiseConv2D could not train.
 *
 * The gradients of a dilated conv are computed by convGrads.ts, which writes them with forward ops only (a
 * conv of the input with dy for the filter, a conv of the zero-stuffed dy with the flipped filter at the
 * forward dilation for the input), so they run on every backend; wasm already trains on them. Dilation 1
 * keeps tfjs-core's own gradient.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { conv2dFilterGrad, conv2dInputGrad, depthwiseFilterGrad, depthwiseInputGrad } from './convGrads';
import type { ConvPad, Pair, RoundingMode } from './convGrads';

const OURS = Symbol.for('laurel-studio.dilatedConvGradient');
const UPSTREAM = Symbol.for('laurel-studio.dilatedConvGradient.upstream');

const isOne = (v: number | number[] | null | undefined): boolean => v == null || (typeof v === 'number' ? v === 1 : v.every((x) => x === 1));

interface ConvAttrs {
  strides: number | Pair;
  pad: ConvPad;
  dilations?: number | Pair | null;
  dataFormat?: string;
  dimRoundingMode?: RoundingMode;
}

/** dx and dfilter of a dilated NHWC convolution, from the forward-op gradients in convGrads.ts. */
const DILATED: Record<string, (dy: Tensor4D, x: Tensor4D, filter: Tensor4D, a: ConvAttrs) => Record<string, () => Tensor>> = {
  [tf.Conv2D]: (dy, x, filter, a) => ({
    x: () => conv2dInputGrad(x.shape, dy, filter, a.strides, a.pad, a.dilations ?? 1, a.dimRoundingMode),
    filter: () => conv2dFilterGrad(x, dy, filter.shape, a.strides, a.pad, a.dilations ?? 1, a.dimRoundingMode),
  }),
  [tf.DepthwiseConv2dNative]: (dy, x, filter, a) => ({
    x: () => depthwiseInputGrad(x.shape, dy, filter, a.strides, a.pad, a.dilations ?? 1, a.dimRoundingMode),
    filter: () => depthwiseFilterGrad(x, dy, filter.shape, a.strides, a.pad, a.dilations ?? 1, a.dimRoundingMode),
  }),
};

function upstreamGradients(): Map<string, GradConfig> {
  const g = globalThis as unknown as Record<symbol, Map<string, GradConfig> | undefined>;
  return (g[UPSTREAM] ??= new Map());
}

function gradFuncFor(kernelName: string): GradConfig['gradFunc'] {
  const f: GradConfig['gradFunc'] = (dy, saved, attrs) => {
    const upstream = upstreamGradients().get(kernelName)!;
    const a = attrs as unknown as ConvAttrs;
    // Dilation 1, or what tfjs-core rejects anyway (NCHW, stride and dilation both above 1): its own gradient and messages.
    if (isOne(a.dilations) || a.dataFormat === 'NCHW' || !isOne(a.strides)) return upstream.gradFunc(dy, saved, attrs);
    const [x, filter] = saved as [Tensor4D, Tensor4D];
    return DILATED[kernelName]!(dy as Tensor4D, x, filter, a);
  };
  Object.defineProperty(f, OURS, { value: true });
  return f;
}

/** Lets Conv2D and DepthwiseConv2dNative with dilation > 1 train, on every backend. Idempotent. */
export function registerDilatedConvGradients(): string[] {
  const done: string[] = [];
  for (const kernelName of Object.keys(DILATED)) {
    const current = tf.getGradient(kernelName);
    if (!current || (current.gradFunc as unknown as Record<symbol, unknown>)[OURS] === true) continue;
    upstreamGradients().set(kernelName, current);
    tf.registerGradient({ ...current, gradFunc: gradFuncFor(kernelName) });
    done.push(kernelName);
  }
  return done;
}
