import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { PaMode, RwNorm, Variant, VariantOptions } from '../../src/core/laurel/variants';
import type { LaurelResidual } from '../../src/laurel/laurelResidual';

// What laurelLayers.test.ts and laurelNumerics.test.ts check the TF.js LaurelResidual layer against.
// Expected values below come from plain-JS loops over Float32Arrays (a hand reference), never from the layer.

export const DENSE = [2, 5, 8];
export const NHWC = [2, 4, 4, 6];
export const RW_NORMS: RwNorm[] = ['softmax', 'sigmoid-single', 'fixed'];
export const PA_MODES: PaMode[] = ['identity', 'lowrank-shared', 'lowrank-per-j'];
export const isPa = (v: Variant): boolean => v.endsWith('pa');

let seed = 1;
export const rand = (shape: number[], scale = 1): tf.Tensor => tf.randomUniform(shape, -scale, scale, 'float32', seed++);

/** f, x and (for PA) `history` previous activations, all of `shape`. */
export function inputsFor(v: Variant, shape: number[], history = 2): tf.Tensor[] {
  return Array.from({ length: isPa(v) ? 2 + history : 2 }, () => rand(shape));
}

export function symbolicModel(layer: LaurelResidual, shape: number[], count: number): tf.LayersModel {
  const ins = Array.from({ length: count }, () => tf.input({ shape: shape.slice(1) }));
  return tf.model({ inputs: ins, outputs: layer.apply(ins) as tf.SymbolicTensor });
}

export function weightNamed(layer: tf.layers.Layer, name: string): tf.LayerVariable {
  const w = layer.weights.find((v) => v.originalName.split('/').pop() === name);
  assert.ok(w, `weight ${name} in ${layer.weights.map((v) => v.originalName).join(', ')}`);
  return w;
}

/** Sets the named weights (others get random values) and returns every weight's values by short name. */
export function setWeights(layer: tf.layers.Layer, given: Record<string, number[]> = {}): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  const values = layer.weights.map((w) => {
    const name = w.originalName.split('/').pop() as string;
    const t = given[name] ? tf.tensor(given[name] as number[], w.shape as number[]) : rand(w.shape as number[], 0.5);
    out[name] = t.dataSync() as Float32Array;
    return t;
  });
  layer.setWeights(values);
  tf.dispose(values);
  return out;
}

// ---- hand reference on rows of width D -------------------------------------------------------------
export type Vec = Float32Array;
export const data = (t: tf.Tensor): Vec => t.dataSync() as Float32Array;
const zip = (a: Vec, b: Vec, fn: (x: number, y: number) => number): Vec => a.map((x, i) => fn(x, b[i] as number));
export const plus = (a: Vec, b: Vec): Vec => zip(a, b, (x, y) => x + y);
export const scale = (a: Vec, s: number): Vec => a.map((x) => x * s);

/** Rows of x [n, din] times W [din, dout], by loops. */
function matRows(x: Vec, din: number, w: Vec, dout: number): Vec {
  const n = x.length / din;
  const out = new Float32Array(n * dout);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < dout; o++) {
      let s = 0;
      for (let c = 0; c < din; c++) s += (x[i * din + c] as number) * (w[c * dout + o] as number);
      out[i * dout + o] = s;
    }
  return out;
}
const lowRankRef = (x: Vec, a: Vec, b: Vec, D: number, r: number): Vec => matRows(matRows(x, D, a, r), r, b, D);
function rmsNormRef(x: Vec, w: Vec, D: number): Vec {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length / D; i++) {
    let ms = 0;
    for (let c = 0; c < D; c++) ms += (x[i * D + c] as number) ** 2;
    const inv = 1 / Math.sqrt(ms / D + 1e-6);
    for (let c = 0; c < D; c++) out[i * D + c] = (x[i * D + c] as number) * inv * (w[c] as number);
  }
  return out;
}

/** The method's equations (laurel-method §2, our §7 adaptation) evaluated by hand. */
export function reference(v: Variant, o: VariantOptions, w: Record<string, Vec>, ins: Vec[], D: number): Vec {
  const [f, x, ...prev] = ins as [Vec, Vec, ...Vec[]];
  const r = o.rank;
  if (v === 'plain') return plus(f, x);
  if (v === 'gemma') {
    const u = rmsNormRef(x, new Float32Array(D).fill(1), D); // the scale-free stand-in for Gemma's pre-norm
    const n = rmsNormRef(lowRankRef(u, w['lr_down']!, w['lr_up']!, D, r), w['gemma_norm_scale']!, D);
    return scale(plus(plus(f, x), plus(u, n)), Math.SQRT1_2);
  }
  let g = x;
  if (v === 'lr' || v === 'rw+lr') g = plus(x, lowRankRef(x, w['lr_down']!, w['lr_up']!, D, r));
  if (isPa(v)) {
    const mode = v === 'rw+lr+pa' ? 'lowrank-per-j' : o.paMode;
    [x, ...prev].forEach((h, j) => {
      const sfx = mode === 'lowrank-per-j' ? `_${j}` : '';
      const hx = mode === 'identity' ? h : lowRankRef(h, w[`pa_down${sfx}`]!, w[`pa_up${sfx}`]!, D, r);
      g = plus(g, scale(hx, w['pa_gamma']![j]!));
    });
  }
  if (!v.startsWith('rw')) return plus(f, g);
  let alpha = Math.SQRT1_2;
  let beta = Math.SQRT1_2;
  if (o.rwNorm === 'softmax') {
    const [l0, l1] = w['rw_logits']! as unknown as [number, number];
    alpha = Math.exp(l0) / (Math.exp(l0) + Math.exp(l1));
    beta = 1 - alpha;
  } else if (o.rwNorm === 'sigmoid-single') {
    alpha = 1 / (1 + Math.exp(-w['rw_theta']![0]!));
    beta = 1 - alpha;
  }
  return plus(scale(f, alpha), scale(g, beta));
}

export function assertClose(actual: Vec, expected: Vec, tol = 1e-4, what = ''): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    assert.ok(Math.abs(a - e) <= tol * (1 + Math.abs(e)), `${what} [${i}]: ${a} vs ${e}`);
  }
}

export const opts = (o: Partial<VariantOptions> = {}): VariantOptions => ({
  rank: 3,
  k: 3,
  rwNorm: 'softmax',
  lrInit: 'xavier',
  paMode: 'lowrank-shared',
  ...o,
});
