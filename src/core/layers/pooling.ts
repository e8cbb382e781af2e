import type { Shape } from '../ir';
import { ShapeError } from '../layerSpec';
import type { LayerSpec } from '../layerSpec';
import { convLength, fmt, layout, single, spec } from './shapes';

/** Max/AveragePooling: pool_size defaults to 2 per axis, strides default to pool_size. */
function poolSpec(cls: string, n: number): LayerSpec {
  return spec(cls, (c, inputs) => {
    const s = single(cls, inputs, n + 2, n + 2);
    const { spatial } = layout(c.dataFormat(), n + 2);
    const pool = c.ints('pool_size', n, 2);
    const strides = c.has('strides') ? c.ints('strides', n) : pool;
    const padding = c.oneOf('padding', ['valid', 'same'], 'valid');
    const out = s.slice();
    spatial.forEach((ax, i) => {
      const len = convLength(s[ax]!, pool[i]!, padding, strides[i]!, 1);
      if (len !== null && len < 1) {
        throw new ShapeError(`${cls}: input ${fmt(s)} is too small: spatial axis ${ax} has ${s[ax]} but pool_size is ${pool[i]} with 'valid' padding; expected at least ${pool[i]}`);
      }
      out[ax] = len;
    });
    return [out];
  });
}

/** Global pooling drops the spatial axes (keeps them as 1 with keepdims). */
function globalSpec(cls: string, n: number): LayerSpec {
  return spec(cls, (c, inputs) => {
    const s = single(cls, inputs, n + 2, n + 2);
    const { channel, spatial } = layout(c.dataFormat(), n + 2);
    if (c.bool('keepdims', false)) return [s.map((d, i) => (spatial.includes(i) ? 1 : d))];
    return [[s[0]!, s[channel]!] as Shape];
  });
}

export const poolingSpecs: Record<string, LayerSpec> = {
  MaxPooling1D: poolSpec('MaxPooling1D', 1),
  MaxPooling2D: poolSpec('MaxPooling2D', 2),
  MaxPooling3D: poolSpec('MaxPooling3D', 3),
  AveragePooling1D: poolSpec('AveragePooling1D', 1),
  AveragePooling2D: poolSpec('AveragePooling2D', 2),
  AveragePooling3D: poolSpec('AveragePooling3D', 3),
  GlobalMaxPooling1D: globalSpec('GlobalMaxPooling1D', 1),
  GlobalMaxPooling2D: globalSpec('GlobalMaxPooling2D', 2),
  GlobalMaxPooling3D: globalSpec('GlobalMaxPooling3D', 3),
  GlobalAveragePooling1D: globalSpec('GlobalAveragePooling1D', 1),
  GlobalAveragePooling2D: globalSpec('GlobalAveragePooling2D', 2),
  GlobalAveragePooling3D: globalSpec('GlobalAveragePooling3D', 3),
};
