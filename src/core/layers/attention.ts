import type { CallArgs, Shape } from '../ir';
import { ShapeError } from '../layerSpec';
import type { LayerSpec } from '../layerSpec';
import type { ConfigReader } from './configValues';
import { checkInputs, fmt, known, product, spec } from './shapes';

const CLS = 'MultiHeadAttention';

/** What each input of a MultiHeadAttention call is. Positional: query, value, key (Keras 2 and 3 agree up to key). */
export type AttentionRole = 'query' | 'value' | 'key' | 'attention_mask' | 'query_mask' | 'value_mask' | 'key_mask';
const POSITIONAL: readonly AttentionRole[] = ['query', 'value', 'key'];
const KEYWORDS = new Set<string>(['query', 'value', 'key', 'attention_mask', 'query_mask', 'value_mask', 'key_mask']);

/**
 * The role of each input, from the keywords the file passed them by (tf.keras writes every argument after
 * the first as a keyword; Keras 3 keeps positional ones in `args`). Masks given positionally are refused:
 * Keras 2 and Keras 3 disagree on what the fourth positional argument is.
 */
export function attentionRoles(count: number, call?: CallArgs): AttentionRole[] {
  const roles: AttentionRole[] = [];
  let positional = 0;
  for (let i = 0; i < count; i++) {
    const key = call?.keys[i] ?? null;
    if (key === null) {
      const role = POSITIONAL[positional++];
      if (!role) throw new ShapeError(`${CLS}: input ${i + 1} is positional argument ${positional}; expected query, value and key positionally and masks by keyword (attention_mask=...)`);
      roles.push(role);
    } else if (!KEYWORDS.has(key)) {
      throw new ShapeError(`${CLS}: input ${i + 1} is passed as '${key}'; expected one of ${[...KEYWORDS].join(', ')}`);
    } else roles.push(key as AttentionRole);
  }
  const twice = roles.find((r, i) => roles.indexOf(r) !== i);
  if (twice) throw new ShapeError(`${CLS}: '${twice}' is given twice`);
  if (!roles.includes('query') || !roles.includes('value')) throw new ShapeError(`${CLS}: got ${count} input(s) (${roles.join(', ') || 'none'}); expected at least query and value`);
  return roles;
}

/** The call's causal flag (use_causal_mask=True, Keras >= 2.10), false when absent. */
export function causalMask(call?: CallArgs): boolean {
  const v = call?.flags['use_causal_mask'];
  if (v === undefined || v === null || v === false) return false;
  if (v === true) return true;
  throw new ShapeError(`${CLS}: use_causal_mask is ${JSON.stringify(v)}; expected true or false`);
}

/** Query, value and key (key defaults to value), checked against each other and against the masks the call passes. */
function qkv(inputs: Shape[], call?: CallArgs): { query: Shape; value: Shape; key: Shape } {
  checkInputs(CLS, inputs);
  const roles = attentionRoles(inputs.length, call);
  const of = (r: AttentionRole): Shape | undefined => inputs[roles.indexOf(r)];
  const query = of('query')!;
  const value = of('value')!;
  const key = of('key') ?? value;
  for (const [name, s] of [['query', query], ['value', value], ['key', key]] as const) {
    if (s.length < 3) throw new ShapeError(`${CLS}: ${name} shape ${fmt(s)} has rank ${s.length}; expected rank >= 3 ([batch, ..., features])`);
  }
  // Keras: all dims of value and key but the last must agree.
  const mismatch = value.length !== key.length || value.slice(1, -1).some((d, i) => d !== null && key[i + 1] !== null && d !== key[i + 1]);
  if (mismatch) throw new ShapeError(`${CLS}: value shape ${fmt(value)} and key shape ${fmt(key)} differ before the last axis; expected them equal`);
  causalMask(call);
  // Masks over the sequence axes: attention_mask [B, T, S], query_mask [B, T], value / key masks [B, S] (broadcast dims of 1 allowed).
  const T = query.slice(1, -1);
  const S = value.slice(1, -1);
  const expect: Partial<Record<AttentionRole, Shape>> = { attention_mask: [null, ...T, ...S], query_mask: [null, ...T], value_mask: [null, ...S], key_mask: [null, ...S] };
  for (const [role, want] of Object.entries(expect) as [AttentionRole, Shape][]) {
    const m = of(role);
    if (!m) continue;
    const fits = m.length === want.length && m.every((d, i) => i === 0 || d === null || d === 1 || want[i] === null || d === want[i]);
    if (!fits) throw new ShapeError(`${CLS}: ${role} shape ${fmt(m)} does not fit query ${fmt(query)} and value ${fmt(value)}; expected ${fmt(want)}`);
  }
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
  (c, inputs, call) => {
    const { query } = qkv(inputs, call);
    c.int('num_heads');
    c.int('key_dim');
    return [[...query.slice(0, -1), ...outputDims(c, query)]];
  },
  (c, inputs, call) => {
    const { query, value, key } = qkv(inputs, call);
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
