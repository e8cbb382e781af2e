import type { Shape } from '../ir';
import { ShapeError } from '../layerSpec';
import type { LayerSpec } from '../layerSpec';
import type { ConfigReader } from './configValues';
import { checkInputs, fmt, known, product, spec } from './shapes';

const CLS = 'MultiHeadAttention';

/** Inputs are [query, value] or [query, value, key]; key defaults to value (Keras call signature order). */
function qkv(inputs: Shape[]): { query: Shape; value: Shape; key: Shape } {
  checkInputs(CLS, inputs);
  if (inputs.length < 2 || inputs.length > 3) throw new ShapeError(`${CLS}: got ${inputs.length} inputs; expected [query, value] or [query, value, key]`);
  const [query, value] = inputs as [Shape, Shape];
  const key = inputs[2] ?? value;
  for (const [name, s] of [['query', query], ['value', value], ['key', key]] as const) {
    if (s.length < 3) throw new ShapeError(`${CLS}: ${name} shape ${fmt(s)} has rank ${s.length}; expected rank >= 3 ([batch, ..., features])`);
  }
  // Keras: all dims of value and key but the last must agree.
  const mismatch = value.length !== key.length || value.slice(1, -1).some((d, i) => d !== null && key[i + 1] !== null && d !== key[i + 1]);
  if (mismatch) throw new ShapeError(`${CLS}: value shape ${fmt(value)} and key shape ${fmt(key)} differ before the last axis; expected them equal`);
  return { query, value, key };
}

/** output_shape: null (the query's last dim), an int, or a list of ints (Keras 2 and 3 alike). */
function outputDims(c: ConfigReader, query: Shape): number[] {
  const raw = c.raw('output_shape');
  if (raw === undefined || raw === null) return [known(CLS, query, query.length - 1, 'last dimension of query')];
  if (typeof raw === 'number') return [c.int('output_shape')];
  if (Array.isArray(raw) && raw.length > 0 && raw.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 1)) return raw as number[];
  return c.fail('output_shape', 'null, a positive integer, or a list of positive integers');
}

/**
 * Four EinsumDense projections: query, key and value map their last dim to (num_heads, key_dim |
 * value_dim) with a (num_heads, dim) bias; the output maps (num_heads, value_dim) to output_shape
 * with an output_shape bias. value_dim defaults to key_dim.
 */
const mha = spec(
  CLS,
  (c, inputs) => {
    const { query } = qkv(inputs);
    c.int('num_heads');
    c.int('key_dim');
    return [[...query.slice(0, -1), ...outputDims(c, query)]];
  },
  (c, inputs) => {
    const { query, value, key } = qkv(inputs);
    const heads = c.int('num_heads');
    const keyDim = c.int('key_dim');
    const valueDim = c.has('value_dim') ? c.int('value_dim') : keyDim;
    const bias = c.bool('use_bias', true);
    const last = (s: Shape, name: string): number => known(CLS, s, s.length - 1, `last dimension of ${name}`);
    const proj = (inDim: number, dim: number): number => inDim * heads * dim + (bias ? heads * dim : 0);
    const out = product(outputDims(c, query));
    return {
      trainable: proj(last(query, 'query'), keyDim) + proj(last(key, 'key'), keyDim) + proj(last(value, 'value'), valueDim) + heads * valueDim * out + (bias ? out : 0),
      nonTrainable: 0,
    };
  },
);

export const attentionSpecs: Record<string, LayerSpec> = { MultiHeadAttention: mha };
