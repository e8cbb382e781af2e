import { ShapeError } from '../layerSpec';
import type { LayerSpec, ParamCount } from '../layerSpec';
import type { ConfigReader } from './configValues';
import { fmt, known, single, spec } from './shapes';

/**
 * Keras 3 LoRA (`lora_rank` in the config): the full matrix is frozen (non-trainable) and two trainable
 * factors (rows x rank) and (rank x cols) are added; the bias stays trainable.
 */
function withLora(c: ConfigReader, rows: number, cols: number, bias: number): ParamCount {
  const rank = c.optInt('lora_rank');
  if (rank === null) return { trainable: rows * cols + bias, nonTrainable: 0 };
  return { trainable: rank * (rows + cols) + bias, nonTrainable: rows * cols };
}

/** Dense acts on the last axis of an input of any rank >= 2. */
const dense = spec(
  'Dense',
  (c, inputs) => {
    const s = single('Dense', inputs, 2);
    known('Dense', s, s.length - 1, 'last dimension');
    const out = s.slice();
    out[out.length - 1] = c.int('units');
    return [out];
  },
  (c, inputs) => {
    const s = inputs[0]!;
    const units = c.int('units');
    return withLora(c, known('Dense', s, s.length - 1, 'last dimension'), units, c.bool('use_bias', true) ? units : 0);
  },
);

/** Embedding appends output_dim; a known input_length fills unknown sequence dims (as tfjs and Keras 2 do). */
const embedding = spec(
  'Embedding',
  (c, inputs) => {
    const s = single('Embedding', inputs, 1);
    const outDim = c.int('output_dim');
    c.int('input_dim');
    if (!c.has('input_length')) return [[...s, outDim]];
    const raw = c.raw('input_length');
    const lens: unknown[] = Array.isArray(raw) ? raw : [raw];
    if (lens.length !== s.length - 1 || !lens.every((l) => l === null || (typeof l === 'number' && Number.isInteger(l) && l >= 1))) {
      c.fail('input_length', `null, an integer, or a list of ${s.length - 1} (one per non-batch axis of input ${fmt(s)})`);
    }
    const mid = s.slice(1).map((d, i) => {
      const l = lens[i] as number | null;
      if (l !== null && d !== null && l !== d) {
        throw new ShapeError(`Embedding: input_length ${JSON.stringify(raw)} does not fit input shape ${fmt(s)}; expected the sequence dims to match`);
      }
      return l ?? d;
    });
    return [[s[0]!, ...mid, outDim]];
  },
  (c) => withLora(c, c.int('input_dim'), c.int('output_dim'), 0),
);

export const denseSpecs: Record<string, LayerSpec> = { Dense: dense, Embedding: embedding };
