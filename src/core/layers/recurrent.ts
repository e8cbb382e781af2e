import type { Shape } from '../ir';
import type { LayerSpec } from '../layerSpec';
import type { ConfigReader } from './configValues';
import { known, single, spec, trainable } from './shapes';

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

/** Output, then the states when return_state is set. Input is [batch, time, features]. */
export function rnnOutputs(cls: string, c: ConfigReader, inputs: Shape[], states: number): Shape[] {
  const s = single(cls, inputs, 3, 3);
  known(cls, s, 2, 'feature dimension');
  const units = c.int('units');
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
