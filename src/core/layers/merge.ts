import type { Dim, Shape } from '../ir';
import { ShapeError } from '../layerSpec';
import type { LayerSpec } from '../layerSpec';
import { checkInputs, fmt, resolveAxis, spec } from './shapes';

/**
 * Keras _Merge._compute_elemwise_op_output_shape on the non-batch dims: right-aligned, a 1 broadcasts,
 * null against anything gives null, other unequal sizes are an error.
 */
function broadcast(a: Shape, b: Shape): Shape | null {
  if (a.length < b.length) return broadcast(b, a);
  const lead = a.length - b.length;
  const out: Dim[] = a.slice(0, lead);
  // Index loops: an iterator and a pair per dimension were most of an Add's cost on a large model.
  for (let k = 0; k < b.length; k++) {
    const i = a[lead + k]!;
    const j = b[k]!;
    if (i === null || j === null) out.push(null);
    else if (i === 1) out.push(j);
    else if (j === 1 || i === j) out.push(i);
    else return null;
  }
  return out;
}

function allEqual(inputs: Shape[]): boolean {
  const a = inputs[0]!;
  for (let i = 1; i < inputs.length; i++) {
    const b = inputs[i]!;
    if (b === a) continue;
    if (b.length !== a.length) return false;
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  }
  return true;
}

function elementwise(cls: string, exactly?: number): LayerSpec {
  return spec(cls, (_c, inputs) => {
    checkInputs(cls, inputs);
    if (exactly !== undefined ? inputs.length !== exactly : inputs.length < 2) {
      throw new ShapeError(`${cls}: got ${inputs.length} input(s); expected ${exactly ?? 'at least 2'}`);
    }
    inputs.forEach((s, i) => {
      if (s.length < 1) throw new ShapeError(`${cls}: input ${i} has shape ${fmt(s)}; expected a batch dimension`);
    });
    // Equal shapes (a residual's two inputs): the output is that shape, with no broadcast lists made.
    if (allEqual(inputs)) return [inputs[0]!.slice()];
    let out = inputs[0]!.slice(1);
    for (let i = 1; i < inputs.length; i++) {
      const s = inputs[i]!;
      const next = broadcast(out, s.slice(1));
      if (!next) {
        const before = i === 1 ? `input shapes ${fmt(inputs[0]!)}` : `input shapes ${inputs.slice(0, i).map(fmt).join(', ')} (broadcast to ${fmt([null, ...out])})`;
        throw new ShapeError(`${cls}: ${before} and ${fmt(s)} differ; expected equal shapes (or dims of 1 that broadcast)`);
      }
      out = next;
    }
    // The batch is known only when every input that knows it agrees on one value.
    let batch: number | null | undefined;
    for (const s of inputs) {
      const d = s[0];
      if (d === null || d === undefined) continue;
      batch = batch === undefined || batch === d ? d : null;
    }
    out.unshift(batch ?? null);
    return [out];
  });
}

/** Concatenate: same rank, equal dims off the axis (null matches anything); the axis dims add up. */
const concatenate = spec('Concatenate', (c, inputs) => {
  const cls = 'Concatenate';
  checkInputs(cls, inputs);
  if (inputs.length < 2) throw new ShapeError(`${cls}: got ${inputs.length} input(s); expected at least 2`);
  const first = inputs[0]!;
  const rank = first.length;
  const bad = (): never => {
    throw new ShapeError(`${cls}: input shapes ${inputs.map(fmt).join(', ')} do not fit axis ${String(c.raw('axis') ?? -1)}; expected equal rank and equal dims except on the concat axis`);
  };
  if (inputs.some((s) => s.length !== rank)) bad();
  const axis = resolveAxis(cls, c.int('axis', -1, -Infinity), rank);
  if (axis === 0) bad();
  for (let d = 0; d < rank; d++) {
    if (d === axis) continue;
    const sizes = new Set(inputs.map((s) => s[d]).filter((x) => x !== null));
    if (sizes.size > 1) bad();
  }
  // As Keras: dims off the axis come from the first input; the axis is null if any input's is.
  const out = first.slice();
  out[axis] = inputs.some((s) => s[axis] === null) ? null : inputs.reduce((n, s) => n + (s[axis] as number), 0);
  return [out];
});

export const mergeSpecs: Record<string, LayerSpec> = {
  Add: elementwise('Add'),
  Subtract: elementwise('Subtract', 2),
  Multiply: elementwise('Multiply'),
  Average: elementwise('Average'),
  Maximum: elementwise('Maximum'),
  Minimum: elementwise('Minimum'),
  Concatenate: concatenate,
};
