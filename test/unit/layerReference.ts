import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Shape } from '../../src/core/ir';
import { ShapeError } from '../../src/core/layerSpec';
import { specFor } from '../../src/core/layers/catalog';

/**
 * The layer catalog against an independent reference: for every class tfjs-layers implements, a
 * one-layer tfjs model is built from the same snake_case config and input shapes, and its outputShape,
 * countParams() and trainable / non-trainable weight sizes are the expected values. Classes tfjs lacks
 * (MultiHeadAttention, Normalization, Subtract, GRU reset_after, grouped convs, ...) are checked
 * against worked hand computations from the Keras weight shapes, written out next to each number.
 * This file is the reference and the comparison; layers.test.ts (settings grids), layerFixtures.test.ts (real
 * models) and layerHandCounts.test.ts (hand computations, ShapeErrors) use it.
 */

export type Config = Record<string, unknown>;
export interface Case {
  cls: string;
  config: Config;
  inputs: Shape[];
}
export interface Result {
  shapes: Shape[];
  trainable: number;
  nonTrainable: number;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
export const show = (c: Case): string => `${c.cls} ${JSON.stringify(c.config)} on ${JSON.stringify(c.inputs)}`;

/** A functional tfjs model: one InputLayer per input, then the layer under test. */
export async function reference(c: Case): Promise<Result | { error: string }> {
  const inputs = c.inputs.map((s, i) => ({
    class_name: 'InputLayer',
    name: `in${i}`,
    config: { batch_input_shape: s, dtype: 'float32', sparse: false, name: `in${i}` },
    inbound_nodes: [],
  }));
  const layer = { class_name: c.cls, name: 'under_test', config: { ...c.config, name: 'under_test' }, inbound_nodes: [c.inputs.map((_s, i) => [`in${i}`, 0, 0, {}])] };
  const topology = {
    class_name: 'Model',
    config: { name: 'm', layers: [...inputs, layer], input_layers: c.inputs.map((_s, i) => [`in${i}`, 0, 0]), output_layers: [['under_test', 0, 0]] },
  };
  let model: tf.LayersModel;
  try {
    model = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  } catch (e) {
    return { error: (e as Error).message };
  }
  const l = model.getLayer('under_test');
  const out = l.outputShape as unknown;
  const shapes = (Array.isArray((out as unknown[])[0]) ? out : [out]) as Shape[];
  const r = {
    shapes: shapes.map((s) => [...s]),
    trainable: l.trainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0),
    nonTrainable: l.nonTrainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0),
  };
  assert.equal(r.trainable + r.nonTrainable, l.countParams(), `tfjs split vs countParams for ${show(c)}`);
  model.dispose();
  return r;
}

export function ours(c: Case): Result | { error: string } {
  const spec = specFor(c.cls);
  assert.ok(spec, `no spec for ${c.cls}`);
  try {
    const shapes = spec.outputShapes(c.config, c.inputs);
    const p = spec.params(c.config, c.inputs);
    return { shapes, ...p };
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    return { error: e.message };
  }
}

/**
 * Ours must equal tfjs. Where ours refuses the inputs (ShapeError), tfjs must refuse them too or
 * produce an impossible shape (a dim <= 0: tfjs does not validate 'valid' convolutions up front).
 */
export async function agree(c: Case): Promise<void> {
  const mine = ours(c);
  const ref = await reference(c);
  if ('error' in mine) {
    const impossible = !('error' in ref) && ref.shapes.some((s) => s.some((d) => d !== null && d <= 0));
    assert.ok('error' in ref || impossible, `ours refused ${show(c)} (${mine.error}) but tfjs gives ${JSON.stringify(ref)}`);
    return;
  }
  assert.ok(!('error' in ref), `tfjs refused ${show(c)}: ${'error' in ref ? ref.error : ''}`);
  assert.deepEqual(mine, ref, show(c));
}

export function* grid<T extends Record<string, readonly unknown[]>>(axes: T): Generator<{ [K in keyof T]: T[K][number] }> {
  const keys = Object.keys(axes);
  const idx = keys.map(() => 0);
  for (;;) {
    yield Object.fromEntries(keys.map((k, i) => [k, axes[k]![idx[i]!]])) as { [K in keyof T]: T[K][number] };
    let i = 0;
    while (i < keys.length && ++idx[i]! === axes[keys[i]!]!.length) idx[i++] = 0;
    if (i === keys.length) return;
  }
}

/** A tfjs layer's input shapes (its single inbound node). */
export const inputShapes = (l: tf.layers.Layer): Shape[] => {
  const input = l.input;
  return (Array.isArray(input) ? input : [input]).map((t) => [...t.shape]);
};

/** channels_last shape -> channels_first shape. */
export const toFirst = (s: Shape): Shape => [s[0]!, s[s.length - 1]!, ...s.slice(1, -1)];

export function throwsShape(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ShapeError && re.test(e.message));
}
