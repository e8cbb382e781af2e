import type { Shape } from '../ir';
import type { LayerSpec } from '../layerSpec';
import type { ConfigReader } from './configValues';
import { ShapeError } from '../layerSpec';
import { checkInputs, fmt, known, single, spec, trainable } from './shapes';

interface Cell {
  /** Gate blocks: 1 for SimpleRNN, 3 for GRU, 4 for LSTM. */
  gates: number;
  /** State tensors returned with return_state: LSTM has h and c. */
  states: number;
}

const CELLS: Record<string, Cell> = {
  SimpleRNN: { gates: 1, states: 1 },
  GRU: { gates: 3, states: 1 },
  LSTM: { gates: 4, states: 2 },
};

/**
 * The sequence input [batch, time, features] of a recurrent call. Keras writes `initial_state=[h(, c)]` as
 * further inputs of the call (`copies` sets of `states` tensors: 2 for a Bidirectional), each [batch, units].
 */
export function rnnSequence(cls: string, inputs: Shape[], states: number, units: number, copies = 1): Shape {
  checkInputs(cls, inputs);
  const extra = inputs.length - 1;
  if (extra !== 0 && extra !== states * copies) {
    throw new ShapeError(`${cls}: got ${inputs.length} inputs; expected 1 (the sequence) or ${1 + states * copies} (the sequence and initial_state: ${states * copies} state tensors)`);
  }
  inputs.slice(1).forEach((st, i) => {
    if (st.length !== 2 || (st[1] !== null && st[1] !== units)) {
      throw new ShapeError(`${cls}: initial state ${i} has shape ${fmt(st)}; expected [batch, ${units}] (units)`);
    }
  });
  return single(cls, inputs.slice(0, 1), 3, 3);
}

/** Output, then the states when return_state is set. Input is [batch, time, features] (and initial states). */
export function rnnOutputs(cls: string, c: ConfigReader, inputs: Shape[], states: number, copies = 1): Shape[] {
  const units = c.int('units');
  const s = rnnSequence(cls, inputs, states, units, copies);
  known(cls, s, 2, 'feature dimension');
  const out: Shape = c.bool('return_sequences', false) ? [s[0]!, s[1]!, units] : [s[0]!, units];
  if (!c.bool('return_state', false)) return [out];
  return [out, ...Array.from({ length: states }, (): Shape => [s[0]!, units])];
}

function rnnSpec(cls: string): LayerSpec {
  const cell = CELLS[cls]!;
  return spec(
    cls,
    (c, inputs) => rnnOutputs(cls, c, inputs, cell.states),
    (c, inputs) => {
      const features = known(cls, inputs[0]!, 2, 'feature dimension');
      const units = c.int('units');
      const g = cell.gates * units;
      // kernel (features, g) + recurrent_kernel (units, g); GRU with reset_after keeps two biases (2, g).
      // A config without reset_after means false: Keras 1, standalone Keras 2 before 2.3 and tfjs all lack it.
      const biases = cls === 'GRU' && c.bool('reset_after', false) ? 2 : 1;
      return trainable(features * g + units * g + (c.bool('use_bias', true) ? biases * g : 0));
    },
  );
}

export const recurrentSpecs: Record<string, LayerSpec> = {
  SimpleRNN: rnnSpec('SimpleRNN'),
  GRU: rnnSpec('GRU'),
  LSTM: rnnSpec('LSTM'),
};
