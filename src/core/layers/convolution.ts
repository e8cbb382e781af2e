import type { Shape } from '../ir';
import { ShapeError } from '../layerSpec';
import type { LayerSpec } from '../layerSpec';
import type { ConfigReader } from './configValues';
import { convLength, deconvLength, fmt, known, layout, product, single, spec, trainable } from './shapes';

type Kind = 'conv' | 'depthwise' | 'separable' | 'transpose';

interface Geometry {
  input: Shape;
  channel: number;
  spatial: readonly number[];
  inChannels: number | null;
  kernel: number[];
  strides: number[];
  dilation: number[];
  padding: string;
}

const PADDINGS_1D = ['valid', 'same', 'causal'] as const;
const PADDINGS = ['valid', 'same'] as const;

/** The call's geometry, made once per reader: the output shape and the weights both read it. */
function geometry(cls: string, c: ConfigReader, inputs: Shape[], n: number, kind: Kind): Geometry {
  if (c.memo?.inputs !== inputs) c.memo = { inputs, value: makeGeometry(cls, c, inputs, n, kind) };
  return c.memo.value as Geometry;
}

function makeGeometry(cls: string, c: ConfigReader, inputs: Shape[], n: number, kind: Kind): Geometry {
  const input = single(cls, inputs, n + 2, n + 2);
  const { channel, spatial } = layout(c.dataFormat(), n + 2);
  // 'causal' exists for 1-D convolutions only; transposed convolutions take valid/same.
  const paddings = n === 1 && kind !== 'transpose' ? PADDINGS_1D : PADDINGS;
  return {
    input,
    channel,
    spatial,
    inChannels: input[channel] ?? null,
    kernel: c.ints('kernel_size', n),
    strides: c.ints('strides', n, 1),
    dilation: c.ints('dilation_rate', n, 1),
    padding: c.oneOf('padding', paddings, 'valid'),
  };
}

/** Output channels, checking the channel count the weights need. */
function outChannels(cls: string, c: ConfigReader, g: Geometry, kind: Kind): number {
  const cin = known(cls, g.input, g.channel, 'channel dimension');
  if (kind === 'depthwise') return cin * c.int('depth_multiplier', 1);
  const filters = c.int('filters');
  if (kind === 'conv') {
    const groups = c.int('groups', 1);
    if (cin % groups !== 0 || filters % groups !== 0) {
      throw new ShapeError(`${cls}: ${cin} input channels and ${filters} filters with groups=${groups}; expected both divisible by groups`);
    }
  }
  return filters;
}

function convSpec(cls: string, n: number, kind: Kind): LayerSpec {
  return spec(
    cls,
    (c, inputs) => {
      const g = geometry(cls, c, inputs, n, kind);
      const out = g.input.slice();
      out[g.channel] = outChannels(cls, c, g, kind);
      if (kind === 'transpose') {
        const op = c.has('output_padding') ? c.ints('output_padding', n, undefined, 0) : null;
        g.spatial.forEach((ax, i) => {
          if (op && op[i]! >= g.strides[i]!) {
            throw new ShapeError(`${cls}: output_padding ${op[i]} on spatial axis ${i} is not smaller than the stride ${g.strides[i]}; expected output_padding < strides`);
          }
          out[ax] = deconvLength(g.input[ax]!, g.kernel[i]!, g.padding, op ? op[i]! : null, g.strides[i]!, g.dilation[i]!);
        });
        return [out];
      }
      g.spatial.forEach((ax, i) => {
        const len = convLength(g.input[ax]!, g.kernel[i]!, g.padding, g.strides[i]!, g.dilation[i]!);
        if (len !== null && len < 1) {
          const span = (g.kernel[i]! - 1) * g.dilation[i]! + 1;
          throw new ShapeError(
            `${cls}: input ${fmt(g.input)} is too small: spatial axis ${ax} has ${g.input[ax]} but the kernel spans ${span} ` +
              `(kernel_size ${g.kernel[i]}, dilation_rate ${g.dilation[i]}) with 'valid' padding; expected at least ${span}`,
          );
        }
        out[ax] = len;
      });
      return [out];
    },
    (c, inputs) => {
      const g = geometry(cls, c, inputs, n, kind);
      const cin = known(cls, g.input, g.channel, 'channel dimension');
      const k = product(g.kernel);
      const bias = c.bool('use_bias', true);
      switch (kind) {
        case 'conv': {
          const filters = c.int('filters');
          return trainable(k * (cin / c.int('groups', 1)) * filters + (bias ? filters : 0));
        }
        case 'transpose': {
          const filters = c.int('filters');
          return trainable(k * cin * filters + (bias ? filters : 0));
        }
        case 'depthwise': {
          const out = cin * c.int('depth_multiplier', 1);
          return trainable(k * out + (bias ? out : 0));
        }
        case 'separable': {
          // Depthwise kernel (k, cin, dm), pointwise kernel (1, cin*dm, filters), bias (filters).
          const mid = cin * c.int('depth_multiplier', 1);
          const filters = c.int('filters');
          return trainable(k * mid + mid * filters + (bias ? filters : 0));
        }
      }
    },
  );
}

export const convolutionSpecs: Record<string, LayerSpec> = {
  Conv1D: convSpec('Conv1D', 1, 'conv'),
  Conv2D: convSpec('Conv2D', 2, 'conv'),
  Conv3D: convSpec('Conv3D', 3, 'conv'),
  DepthwiseConv1D: convSpec('DepthwiseConv1D', 1, 'depthwise'),
  DepthwiseConv2D: convSpec('DepthwiseConv2D', 2, 'depthwise'),
  SeparableConv1D: convSpec('SeparableConv1D', 1, 'separable'),
  SeparableConv2D: convSpec('SeparableConv2D', 2, 'separable'),
  Conv1DTranspose: convSpec('Conv1DTranspose', 1, 'transpose'),
  Conv2DTranspose: convSpec('Conv2DTranspose', 2, 'transpose'),
  Conv3DTranspose: convSpec('Conv3DTranspose', 3, 'transpose'),
};
