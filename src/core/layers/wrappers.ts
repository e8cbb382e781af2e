import type { Shape } from '../ir';
import { ShapeError } from '../layerSpec';
import type { LayerSpec } from '../layerSpec';
import type { ConfigReader } from './configValues';
import { single, spec } from './shapes';

type Lookup = (className: string) => LayerSpec | undefined;

/** The wrapped layer's spec; its ShapeErrors are prefixed with the wrapper's class so messages say where. */
function inner(cls: string, c: ConfigReader, key: string, lookup: Lookup, required = true): { spec: LayerSpec; config: Record<string, unknown> } | null {
  const l = c.layer(key, required);
  if (!l) return null;
  const s = lookup(l.className);
  if (!s) throw new ShapeError(`${cls}: wrapped layer class '${l.className}' is not known; expected a layer class the catalog lists`);
  const prefixed =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    (...a: A): R => {
      try {
        return fn(...a);
      } catch (e) {
        if (e instanceof ShapeError) throw new ShapeError(`${cls}: ${key} ${e.message}`);
        throw e;
      }
    };
  return { spec: { outputShapes: prefixed(s.outputShapes), params: prefixed(s.params) }, config: l.config };
}

/**
 * A Bidirectional call's inputs for each direction: Keras splits `initial_state` in half, the forward
 * layer's states first (an odd count is left whole, so the wrapped layer names the mismatch).
 */
function directionInputs(inputs: Shape[]): [Shape[], Shape[]] {
  const states = inputs.length - 1;
  if (states <= 0 || states % 2 !== 0) return [inputs, inputs];
  return [[inputs[0]!, ...inputs.slice(1, 1 + states / 2)], [inputs[0]!, ...inputs.slice(1 + states / 2)]];
}

/**
 * Bidirectional: a forward copy of `layer` and a backward one (`backward_layer` when given), each with
 * its own weights. Outputs: the merged output (two outputs when merge_mode is null), then the forward
 * states and the backward states when return_state is set (as tfjs and Keras order them).
 */
function bidirectional(lookup: Lookup): LayerSpec {
  const cls = 'Bidirectional';
  const modes = ['concat', 'sum', 'mul', 'ave'] as const;
  return spec(
    cls,
    (c, inputs) => {
      const fwd = inner(cls, c, 'layer', lookup)!;
      const shapes = fwd.spec.outputShapes(fwd.config, directionInputs(inputs)[0]);
      const out = shapes[0]!.slice();
      const states = shapes.slice(1);
      const mode = c.raw('merge_mode') === null ? null : c.oneOf('merge_mode', modes, 'concat');
      let merged: Shape[];
      if (mode === 'concat') {
        const last = out[out.length - 1];
        merged = [[...out.slice(0, -1), last === null || last === undefined ? null : 2 * last]];
      } else merged = mode === null ? [out, out.slice()] : [out];
      return [...merged, ...states, ...states.map((s) => s.slice())];
    },
    (c, inputs) => {
      const fwd = inner(cls, c, 'layer', lookup)!;
      const bwd = inner(cls, c, 'backward_layer', lookup, false) ?? fwd;
      const [fi, bi] = directionInputs(inputs);
      const f = fwd.spec.params(fwd.config, fi);
      const b = bwd.spec.params(bwd.config, bi);
      return { trainable: f.trainable + b.trainable, nonTrainable: f.nonTrainable + b.nonTrainable };
    },
  );
}

/** TimeDistributed applies `layer` to every step of axis 1; the weights are the inner layer's. */
function timeDistributed(lookup: Lookup): LayerSpec {
  const cls = 'TimeDistributed';
  const step = (inputs: Shape[]): { s: Shape; perStep: Shape } => {
    const s = single(cls, inputs, 3);
    return { s, perStep: [s[0]!, ...s.slice(2)] };
  };
  return spec(
    cls,
    (c, inputs) => {
      const l = inner(cls, c, 'layer', lookup)!;
      const { s, perStep } = step(inputs);
      return l.spec.outputShapes(l.config, [perStep]).map((o) => [o[0]!, s[1]!, ...o.slice(1)]);
    },
    (c, inputs) => {
      const l = inner(cls, c, 'layer', lookup)!;
      return l.spec.params(l.config, [step(inputs).perStep]);
    },
  );
}

export function wrapperSpecs(lookup: Lookup): Record<string, LayerSpec> {
  return { Bidirectional: bidirectional(lookup), TimeDistributed: timeDistributed(lookup) };
}
