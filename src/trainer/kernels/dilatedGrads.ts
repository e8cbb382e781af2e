/**
 * Gradients of dilated convolutions, which tfjs-core refuses on every backend ("dilation rates greater than 1
 * are not yet supported in gradients"), so a model with a dilated Conv1D/Conv2D/DepthwiseConv2D could not train.
 *
 * A dilated convolution is an undilated one on the input rearranged by space-to-batch (atrous convolution, as
 * tf.nn.atrous_conv2d computes it): y = batchToSpace(conv(spaceToBatch(x, d, pads), w), d, crops). Its
 * gradients are therefore the undilated backprop kernels on the rearranged tensors, rearranged back; every
 * backend has those kernels (wasm's come from wasmKernels.ts). Dilation 1 keeps tfjs-core's own gradient.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor, Tensor4D } from '@tensorflow/tfjs';

type Pair = [number, number];
type Pad = 'same' | 'valid' | number | number[][];

const OURS = Symbol.for('laurel-studio.dilatedConvGradient');
const UPSTREAM = Symbol.for('laurel-studio.dilatedConvGradient.upstream');

const pair = (v: number | number[] | null | undefined): Pair => (v == null ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0] ?? 1, v[1] ?? v[0] ?? 1]);

/** Base padding [before, after] of one spatial axis of a stride-1 conv, as tfjs computes it. */
function basePad(pad: Pad, axis: 0 | 1, kernel: number, dilation: number): Pair {
  if (pad === 'valid') return [0, 0];
  if (pad === 'same') {
    const total = (kernel - 1) * dilation; // stride 1: output size = input size
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }
  if (typeof pad === 'number') return [pad, pad];
  const p = pad[axis + 1] ?? [0, 0]; // explicit NHWC padding: [[0, 0], [top, bottom], [left, right], [0, 0]]
  return [p[0] ?? 0, p[1] ?? 0];
}

/** Space-to-batch paddings of x and batch-to-space crops of y for one axis (TF's required_space_to_batch_paddings). */
function rearrangement(size: number, pad: Pair, dilation: number): { pads: Pair; crops: Pair } {
  const extra = (dilation - ((size + pad[0] + pad[1]) % dilation)) % dilation;
  return { pads: [pad[0], pad[1] + extra], crops: [0, extra] };
}

interface Geometry {
  block: Pair;
  pads: [Pair, Pair];
  crops: [Pair, Pair];
}

function geometry(xShape: number[], kernel: Pair, dilations: Pair, pad: Pad): Geometry {
  const h = rearrangement(xShape[1]!, basePad(pad, 0, kernel[0], dilations[0]), dilations[0]);
  const w = rearrangement(xShape[2]!, basePad(pad, 1, kernel[1], dilations[1]), dilations[1]);
  return { block: dilations, pads: [h.pads, w.pads], crops: [h.crops, w.crops] };
}

/** dx and dfilter of a dilated stride-1 NHWC convolution, from the undilated backprop kernels named. */
function dilatedGrads(
  dy: Tensor4D,
  x: Tensor4D,
  filter: Tensor4D,
  dilations: Pair,
  pad: Pad,
  kernels: { input: string; filter: string; depthwise: boolean },
): Record<string, () => Tensor> {
  const g = geometry(x.shape, [filter.shape[0], filter.shape[1]], dilations, pad);
  const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', ...(kernels.depthwise ? { dilations: [1, 1] } : {}) };
  return {
    x: () =>
      tf.tidy(() => {
        const dc = tf.spaceToBatchND(dy, g.block, g.crops);
        const xsShape = [x.shape[0] * g.block[0] * g.block[1], (x.shape[1] + g.pads[0][0] + g.pads[0][1]) / g.block[0], (x.shape[2] + g.pads[1][0] + g.pads[1][1]) / g.block[1], x.shape[3]];
        const dxs = tf.engine().runKernel(kernels.input, { dy: dc, filter }, { ...attrs, inputShape: xsShape } as unknown as NamedAttrMap) as Tensor4D;
        return tf.batchToSpaceND(dxs, g.block, g.pads);
      }),
    filter: () =>
      tf.tidy(() => {
        const dc = tf.spaceToBatchND(dy, g.block, g.crops);
        const xs = tf.spaceToBatchND(x, g.block, g.pads);
        return tf.engine().runKernel(kernels.filter, { x: xs, dy: dc }, { ...attrs, filterShape: filter.shape } as unknown as NamedAttrMap) as Tensor;
      }),
  };
}

const KERNELS: Record<string, { input: string; filter: string; depthwise: boolean }> = {
  [tf.Conv2D]: { input: tf.Conv2DBackpropInput, filter: tf.Conv2DBackpropFilter, depthwise: false },
  [tf.DepthwiseConv2dNative]: { input: tf.DepthwiseConv2dNativeBackpropInput, filter: tf.DepthwiseConv2dNativeBackpropFilter, depthwise: true },
};

function upstreamGradients(): Map<string, GradConfig> {
  const g = globalThis as unknown as Record<symbol, Map<string, GradConfig> | undefined>;
  return (g[UPSTREAM] ??= new Map());
}

function gradFuncFor(kernelName: string): GradConfig['gradFunc'] {
  const f: GradConfig['gradFunc'] = (dy, saved, attrs) => {
    const upstream = upstreamGradients().get(kernelName)!;
    const a = attrs as unknown as { dilations?: number | number[] | null; strides?: number | number[] | null; pad: Pad; dataFormat?: string };
    const dilations = pair(a.dilations);
    const strides = pair(a.strides);
    // Dilation 1, or what tfjs-core rejects anyway (NCHW, stride and dilation both above 1): its own gradient and messages.
    if ((dilations[0] === 1 && dilations[1] === 1) || a.dataFormat === 'NCHW' || strides[0] !== 1 || strides[1] !== 1) return upstream.gradFunc(dy, saved, attrs);
    const [x, filter] = saved as [Tensor4D, Tensor4D];
    return dilatedGrads(dy as Tensor4D, x, filter, dilations, a.pad, KERNELS[kernelName]!);
  };
  Object.defineProperty(f, OURS, { value: true });
  return f;
}

/** Lets Conv2D and DepthwiseConv2dNative with dilation > 1 train, on every backend. Idempotent. */
export function registerDilatedConvGradients(): string[] {
  const done: string[] = [];
  for (const kernelName of Object.keys(KERNELS)) {
    const current = tf.getGradient(kernelName);
    if (!current || (current.gradFunc as unknown as Record<symbol, unknown>)[OURS] === true) continue;
    upstreamGradients().set(kernelName, current);
    tf.registerGradient({ ...current, gradFunc: gradFuncFor(kernelName) });
    done.push(kernelName);
  }
  return done;
}
