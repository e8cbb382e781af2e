/**
 * MultiHeadAttention, SimpleRNN / GRU / LSTM, Bidirectional and TimeDistributed as PyTorch (the modules of
 * src/python/keras_sequence.py). Weights keep Keras's names and shapes, so their layout is 'copy'.
 */
import type { CallArgs, Shape } from '../../ir';
import { attentionRoles, causalMask } from '../../layers/attention';
import type { AttentionRole } from '../../layers/attention';
import { ShapeError } from '../../layerSpec';
import { ConfigReader } from '../../layers/configValues';
import { activation, dim, fileLayoutCall, single, UnsupportedLayer } from './emit';
import type { EmitContext, Emitter, LayerCode, WeightEntry } from './emit';
import { py, pyCall, pyFloat } from './python';

const rate = (c: ConfigReader, key: string): number | undefined => {
  const v = c.raw(key);
  return typeof v === 'number' && v > 0 ? v : undefined;
};

// ---------------------------------------------------------------------------------------------------------
// MultiHeadAttention

/** The roles of a call's inputs; a ShapeError (bad keywords) becomes the export's UnsupportedLayer. */
function roles(count: number, call: CallArgs | undefined): AttentionRole[] {
  try {
    return attentionRoles(count, call);
  } catch (e) {
    if (e instanceof ShapeError) throw new UnsupportedLayer(e.message.replace(/^MultiHeadAttention: /, ''));
    throw e;
  }
}

const multiHeadAttention: Emitter = (c, inputs, ctx) => {
  const first = roles(inputs.length, ctx.call);
  const of = (r: AttentionRole): Shape | null | undefined => inputs[first.indexOf(r)];
  const [q, v] = [of('query'), of('value')];
  const k = of('key') ?? v;
  if (!q || !v || !k) throw new UnsupportedLayer('the shape of its query, key or value is unknown');
  const axes = c.raw('attention_axes');
  if (axes !== null && axes !== undefined) {
    // Keras's default attends over every axis between batch and features; a list naming exactly those is the same.
    const list = (typeof axes === 'number' ? [axes] : (axes as unknown[])).map((a) => (typeof a === 'number' && a < 0 ? a + q.length : a));
    const middle = Array.from({ length: q.length - 2 }, (_, i) => i + 1);
    if (list.length !== middle.length || list.some((a, i) => a !== middle[i])) {
      throw new UnsupportedLayer(`attention_axes ${JSON.stringify(axes)} on a rank-${q.length} query (only attention over all axes between batch and features, the sequence axis of [B, T, D])`);
    }
  }
  const heads = c.int('num_heads');
  const keyDim = c.int('key_dim');
  const valueDim = c.has('value_dim') && c.raw('value_dim') !== null ? c.int('value_dim') : keyDim;
  const outRaw = c.raw('output_shape');
  const outShape = outRaw === null || outRaw === undefined ? undefined : typeof outRaw === 'number' ? [c.int('output_shape')] : c.ints('output_shape', (outRaw as unknown[]).length);
  const bias = c.bool('use_bias', true);
  const module = pyCall('MultiHeadAttentionTF', [String(dim(q, -1, 'query width')), String(dim(k, -1, 'key width')), String(dim(v, -1, 'value width')), String(heads), String(keyDim)], {
    value_dim: valueDim === keyDim ? undefined : String(valueDim),
    output_shape: outShape ? py(outShape) : undefined,
    use_bias: bias ? undefined : 'False',
    dropout: rate(c, 'dropout') !== undefined ? pyFloat(rate(c, 'dropout')!) : undefined,
  });
  const weights: WeightEntry[] = [];
  for (const [keras, torch] of [['query', 'query'], ['key', 'key'], ['value', 'value'], ['attention_output', 'output']] as const) {
    weights.push([`${keras}/kernel`, `${torch}_kernel`, 'copy', 'kernel_initializer']);
    if (bias) weights.push([`${keras}/bias`, `${torch}_bias`, 'copy', 'bias_initializer']);
  }
  // Keras's call: query, value, key, the masks, use_causal_mask; each call passes what the file's call passes.
  const call = (self: string, xs: string[], args?: CallArgs): string => {
    const named = roles(xs.length, args).map((r, i) => `${r}=${xs[i]}`);
    if (causalMask(args)) named.push('use_causal_mask=True');
    return `${self}(${named.join(', ')})`;
  };
  return { module, call, weights };
};

// ---------------------------------------------------------------------------------------------------------
// Recurrent layers

const CELLS: Record<string, string> = { SimpleRNN: 'simple_rnn', GRU: 'gru', LSTM: 'lstm' };

/** A Python callable for an activation name (`lambda v: ...`), or the torch function itself. */
function activationFn(name: unknown, ctx: EmitContext): string {
  const expr = activation(name ?? 'linear', 'v', ctx);
  const direct: Record<string, string> = { 'torch.tanh(v)': 'torch.tanh', 'torch.sigmoid(v)': 'torch.sigmoid', 'F.relu(v)': 'F.relu' };
  return direct[expr] ?? `lambda v: ${expr}`;
}

/** The RecurrentTF constructor for a SimpleRNN / GRU / LSTM config (go_backwards flipped for a Bidirectional's backward copy). */
function recurrentModule(cls: string, c: ConfigReader, input: Shape, ctx: EmitContext, flipDirection = false): { module: string; returnSequences: boolean; states: number } {
  const cell = CELLS[cls]!;
  if (c.bool('stateful', false)) throw new UnsupportedLayer('stateful=true (state carried between batches) is not supported');
  if (input.length !== 3) throw new UnsupportedLayer(`expected a [batch, time, features] input, got rank ${input.length}`);
  const returnSequences = c.bool('return_sequences', false);
  const returnState = c.bool('return_state', false);
  const backwards = c.bool('go_backwards', false) !== flipDirection;
  // tf.keras writes recurrent_activation; TF.js and Keras 1 default to hard_sigmoid, Keras 2.3+ and 3 to sigmoid.
  const recAct = c.raw('recurrent_activation') ?? (ctx.keras3 ? 'sigmoid' : 'hard_sigmoid');
  const module = pyCall('RecurrentTF', [py(cell), String(dim(input, -1, 'feature count')), String(c.int('units'))], {
    activation: activationFn(c.raw('activation') ?? 'tanh', ctx),
    recurrent_activation: cell === 'simple_rnn' ? undefined : activationFn(recAct, ctx),
    use_bias: c.bool('use_bias', true) ? undefined : 'False',
    return_sequences: returnSequences ? 'True' : undefined,
    return_state: returnState ? 'True' : undefined,
    go_backwards: backwards ? 'True' : undefined,
    reset_after: cell === 'gru' && c.bool('reset_after', false) ? 'True' : undefined,
    dropout: rate(c, 'dropout') !== undefined ? pyFloat(rate(c, 'dropout')!) : undefined,
    recurrent_dropout: rate(c, 'recurrent_dropout') !== undefined ? pyFloat(rate(c, 'recurrent_dropout')!) : undefined,
  });
  return { module, returnSequences, states: returnState ? (cell === 'lstm' ? 2 : 1) : 0 };
}

/** A recurrent call: the sequence, then Keras's initial_state tensors (the call's further inputs; the catalog checked their count and shapes). */
const recurrentCall = (self: string, [x, ...states]: string[]): string => (states.length ? `${self}(${x}, [${states.join(', ')}])` : `${self}(${x})`);

const RNN_WEIGHTS: [string, string][] = [
  ['kernel', 'kernel'],
  ['recurrent_kernel', 'recurrent_kernel'],
  ['bias', 'bias'],
];

function rnnWeights(c: ConfigReader, prefix = '', torchPrefix = '', from?: Record<string, unknown>): WeightEntry[] {
  const names = c.bool('use_bias', true) ? RNN_WEIGHTS : RNN_WEIGHTS.slice(0, 2);
  return names.map(([k, t]): WeightEntry => {
    const key = k === 'kernel' ? 'kernel_initializer' : k === 'recurrent_kernel' ? 'recurrent_initializer' : 'bias_initializer';
    return [`${prefix}${k}`, `${torchPrefix}${t}`, 'copy', from ? { from, key } : key];
  });
}

const recurrent =
  (cls: string): Emitter =>
  (c, inputs, ctx) => {
    const { module, states } = recurrentModule(cls, c, single(inputs.slice(0, 1)), ctx);
    // Keras LSTM's unit_forget_bias: the forget gate's bias starts at one (keras_init.py's "lstm_bias").
    const weights = rnnWeights(c);
    return { module, call: recurrentCall, weights: unitForgetBias(cls, c, weights), ...(states ? { outputs: 1 + states } : {}) };
  };

/** LSTM with unit_forget_bias (Keras's default): the bias initializer is wrapped so the forget gate starts at 1. */
function unitForgetBias(cls: string, c: ConfigReader, weights: WeightEntry[], from?: Record<string, unknown>): WeightEntry[] {
  if (cls !== 'LSTM' || !c.bool('use_bias', true) || !c.bool('unit_forget_bias', true)) return weights;
  const inner = (from ?? c.config)['bias_initializer'] ?? 'zeros';
  const wrapped = { lstm_bias: { class_name: 'LSTMUnitForgetBias', config: { units: c.int('units'), initializer: inner } } };
  return weights.map((w): WeightEntry => (w[0].endsWith('bias') ? [w[0], w[1], w[2], { from: wrapped, key: 'lstm_bias' }] : w));
}

// ---------------------------------------------------------------------------------------------------------
// Wrappers

const bidirectional: Emitter = (c, inputs, ctx) => {
  const input = single(inputs.slice(0, 1));
  const fwd = c.layer('layer')!;
  const bwd = c.layer('backward_layer', false);
  if (!(fwd.className in CELLS) || (bwd && !(bwd.className in CELLS))) throw new UnsupportedLayer(`wraps ${fwd.className}${bwd ? ` / ${bwd.className}` : ''}; SimpleRNN, GRU or LSTM are supported`);
  const rf = new ConfigReader(fwd.className, fwd.config);
  const bc = bwd ?? fwd;
  const rb = new ConfigReader(bc.className, bc.config);
  const f = recurrentModule(fwd.className, rf, input, ctx);
  // Keras's backward copy is the forward config with go_backwards flipped; an explicit backward_layer is used as written.
  const b = recurrentModule(bc.className, rb, input, ctx, !bwd);
  const modeRaw = c.raw('merge_mode');
  const mode = modeRaw === null ? null : c.oneOf('merge_mode', ['concat', 'sum', 'mul', 'ave'], 'concat');
  const module = pyCall('BidirectionalTF', [f.module, b.module], { merge_mode: mode === 'concat' ? undefined : py(mode) });
  const fName = `forward_${String(fwd.config['name'] ?? fwd.className.toLowerCase())}/`;
  const bName = `backward_${String(bc.config['name'] ?? bc.className.toLowerCase())}/`;
  const weights = [
    ...unitForgetBias(fwd.className, rf, rnnWeights(rf, fName, 'forward_layer.', fwd.config), fwd.config),
    ...unitForgetBias(bc.className, rb, rnnWeights(rb, bName, 'backward_layer.', bc.config), bc.config),
  ];
  const outputs = (mode === null ? 2 : 1) + f.states + b.states;
  return { module, call: recurrentCall, weights, ...(outputs > 1 ? { outputs } : {}) };
};

const timeDistributed: Emitter = (c, inputs, ctx) => {
  const input = single(inputs);
  const inner = c.layer('layer')!;
  if (!ctx.layer) throw new Error('internal: TimeDistributed needs the layer emitters');
  // The wrapper reads and gives the file's layout; the wrapped layer's call moves axes itself where it needs to.
  const code: LayerCode = ctx.layer(inner.className, inner.config, [[input[0]!, ...input.slice(2)]], { ...ctx, layouts: undefined });
  if (code.outputs) throw new UnsupportedLayer(`wraps ${inner.className} with several outputs`);
  // Keras names the wrapped layer's weights under the wrapper: time_distributed/kernel.
  const weights = (code.weights ?? []).map(([k, t, layout, src]): WeightEntry => [k, t, layout, src === null ? null : typeof src === 'object' && src ? src : { from: inner.config, key: src ?? `${k.split('/').pop()!.replace(/(.)_kernel$/, '$1')}_initializer` }]);
  return {
    ...(code.module ? { module: code.module } : {}),
    call: (self, [x]) => `time_distributed(${x}, lambda t: ${fileLayoutCall(code, self, ['t'])})`,
    weights,
  };
};

export const SEQUENCE_EMITTERS: [string, Emitter][] = [
  ['MultiHeadAttention', multiHeadAttention],
  ['SimpleRNN', recurrent('SimpleRNN')],
  ['GRU', recurrent('GRU')],
  ['LSTM', recurrent('LSTM')],
  ['Bidirectional', bidirectional],
  ['TimeDistributed', timeDistributed],
];
