import type { Dim } from '../ir';
import { ShapeError } from '../layerSpec';
import type { LayerSpec } from '../layerSpec';
import { dimProduct, fmt, layout, single, spec } from './shapes';

/** Reshape: target_shape excludes the batch; one -1 takes what is left (null when the input has unknown dims). */
const reshape = spec('Reshape', (c, inputs) => {
  const s = single('Reshape', inputs, 1);
  const raw = c.raw('target_shape');
  if (!Array.isArray(raw) || !raw.every((d) => d === null || (typeof d === 'number' && Number.isInteger(d) && d >= -1))) {
    c.fail('target_shape', 'a list of non-negative integers with at most one -1');
  }
  const target = (raw as (number | null)[]).map((d) => (d === null ? -1 : d));
  const free = target.flatMap((d, i) => (d === -1 ? [i] : []));
  if (free.length > 1) c.fail('target_shape', 'at most one -1');
  const total = dimProduct(s.slice(1));
  const fixed = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out: Dim[] = [s[0]!, ...target];
  const wrong = (): never => {
    throw new ShapeError(`Reshape: input ${fmt(s)} has ${total} values per sample, which target_shape ${JSON.stringify(raw)} cannot hold; expected a shape with ${total} values`);
  };
  if (free.length === 1) {
    if (total === null) out[free[0]! + 1] = null;
    else {
      if (fixed === 0 || total % fixed !== 0) wrong();
      out[free[0]! + 1] = total / fixed;
    }
  } else if (total !== null && total !== fixed) wrong();
  return [out];
});

/** Flatten: [batch, prod(rest)], null when any is unknown; a rank-1 input becomes [batch, 1] (tf.keras). */
const flatten = spec('Flatten', (_c, inputs) => {
  const s = single('Flatten', inputs, 1);
  return [[s[0]!, dimProduct(s.slice(1))]];
});

/** Permute: `dims` is a permutation of 1..rank-1 (the batch stays first). */
const permute = spec('Permute', (c, inputs) => {
  const s = single('Permute', inputs, 2);
  const dims = c.raw('dims');
  const n = s.length - 1;
  const ok = Array.isArray(dims) && dims.length === n && [...dims].sort((a, b) => a - b).every((d, i) => d === i + 1);
  if (!ok) c.fail('dims', `a permutation of 1..${n} for input ${fmt(s)}`);
  return [[s[0]!, ...(dims as number[]).map((d) => s[d]!)]];
});

const repeatVector = spec('RepeatVector', (c, inputs) => {
  const s = single('RepeatVector', inputs, 2, 2);
  return [[s[0]!, c.int('n'), s[1]!]];
});

/** ZeroPadding / Cropping: add or remove [before, after] on each spatial axis. */
function padCrop(cls: string, n: number, key: 'padding' | 'cropping', dflt: number): LayerSpec {
  return spec(cls, (c, inputs) => {
    const s = single(cls, inputs, n + 2, n + 2);
    const { spatial } = layout(c.dataFormat(), n + 2);
    const amounts = c.pairs(key, n, dflt);
    const out = s.slice();
    spatial.forEach((ax, i) => {
      const [b, a] = amounts[i]!;
      const d = s[ax]!;
      if (d === null) return;
      if (key === 'padding') out[ax] = d + b + a;
      else if (d - b - a < 1) {
        throw new ShapeError(`${cls}: cropping ${b}+${a} on spatial axis ${ax} leaves nothing of input ${fmt(s)}; expected a total crop below ${d}`);
      } else out[ax] = d - b - a;
    });
    return [out];
  });
}

function upSampling(cls: string, n: number): LayerSpec {
  return spec(cls, (c, inputs) => {
    const s = single(cls, inputs, n + 2, n + 2);
    const { spatial } = layout(n === 1 ? 'channels_last' : c.dataFormat(), n + 2);
    const size = c.ints('size', n, 2);
    const out = s.slice();
    spatial.forEach((ax, i) => {
      const d = s[ax]!;
      out[ax] = d === null ? null : d * size[i]!;
    });
    return [out];
  });
}

/** Resizing / CenterCrop: the two image axes of a batch of images become height x width. */
function resize(cls: string): LayerSpec {
  return spec(cls, (c, inputs) => {
    const s = single(cls, inputs, 4, 4);
    const { spatial } = layout(c.dataFormat(), 4);
    const out = s.slice();
    out[spatial[0]!] = c.int('height');
    out[spatial[1]!] = c.int('width');
    return [out];
  });
}

export const reshapingSpecs: Record<string, LayerSpec> = {
  Reshape: reshape,
  Flatten: flatten,
  Permute: permute,
  RepeatVector: repeatVector,
  // Keras defaults: padding 1 everywhere; cropping 1 for 1-D and 3-D but 0 for 2-D.
  ZeroPadding1D: padCrop('ZeroPadding1D', 1, 'padding', 1),
  ZeroPadding2D: padCrop('ZeroPadding2D', 2, 'padding', 1),
  ZeroPadding3D: padCrop('ZeroPadding3D', 3, 'padding', 1),
  Cropping1D: padCrop('Cropping1D', 1, 'cropping', 1),
  Cropping2D: padCrop('Cropping2D', 2, 'cropping', 0),
  Cropping3D: padCrop('Cropping3D', 3, 'cropping', 1),
  UpSampling1D: upSampling('UpSampling1D', 1),
  UpSampling2D: upSampling('UpSampling2D', 2),
  UpSampling3D: upSampling('UpSampling3D', 3),
  Resizing: resize('Resizing'),
  CenterCrop: resize('CenterCrop'),
};
